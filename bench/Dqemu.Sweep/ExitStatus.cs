namespace Dqemu.Sweep;

/// <summary>The sweep's exit statuses (README and --help say the same).</summary>
internal static class ExitStatus
{
    /// <summary>Every run ran and matched its reference.</summary>
    public const int Ok = 0;
    /// <summary>At least one run failed, timed out, was skipped or did not match its reference.</summary>
    public const int RunFailed = 1;
    /// <summary>Bad options or a bad manifest: nothing was run.</summary>
    public const int BadInput = 2;
    /// <summary>A tool or binary is missing (qemu-aarch64, ./dqemu-native, a PARSEC binary or its inputs): nothing was run.</summary>
    public const int Missing = 3;
}

/// <summary>A bad command line; the message is the one line printed (exit <see cref="ExitStatus.BadInput"/>).</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>A missing tool or binary; the message names it and how to get it (exit <see cref="ExitStatus.Missing"/>).</summary>
internal sealed class MissingException(string message) : Exception(message);
