namespace Dqemu.Runtime;

/// <summary>The emulator's own exit statuses (below 128, so they never look like a guest killed by a signal).</summary>
public static class ExitCodes
{
    public const int Usage = 64;          // bad command line (EX_USAGE)
    public const int NoInput = 66;        // guest file missing or unreadable (EX_NOINPUT)
    public const int BadElf = 65;         // not an ELF, truncated or malformed (EX_DATAERR)
    public const int WrongArch = 67;      // an ELF for another machine or class
    public const int Config = 78;         // bad cluster.toml (EX_CONFIG)
    public const int Internal = 70;       // an emulator fault (EX_SOFTWARE)
    public const int Unavailable = 69;    // a node could not be reached or died (EX_UNAVAILABLE)
    public const int NoListen = 71;       // -g: the port for gdb cannot be listened on (in use, not allowed; EX_OSERR)
    public const int CantCreate = 73;     // an output file the options ask for cannot be created (EX_CANTCREAT): -D, --perf-map
    public const int NoPermission = 77;   // binfmt_misc refused: not root, not mounted, already (or not) registered (EX_NOPERM)
}

/// <summary>An error that ends the emulator with one line on stderr and a documented status.</summary>
public sealed class FatalException : Exception
{
    public int ExitCode { get; }
    public FatalException(int exitCode, string message) : base(message) => ExitCode = exitCode;
}
