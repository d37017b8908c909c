using System.Runtime.InteropServices;
using System.Text;
using static Tmds.Linux.LibC;

namespace Dqemu.Runtime;

/// <summary>What --binfmt does: print the entry (default), register it, or remove it.</summary>
public enum BinfmtAction { Print, Register, Unregister }

/// <summary>--binfmt and its companions --binfmt-flags, --binfmt-interpreter, --binfmt-name.</summary>
public sealed class BinfmtRequest
{
    public BinfmtAction Action { get; set; } = BinfmtAction.Print;
    /// <summary>binfmt_misc flags in qemu-binfmt-conf.sh's order (see <see cref="BinfmtEntry.NormalizeFlags"/>).</summary>
    public string Flags { get; set; } = "";
    /// <summary>Absolute path of the interpreter; null: this dqemu-native binary.</summary>
    public string? Interpreter { get; set; }
    public string Name { get; set; } = BinfmtEntry.DefaultName;

    public static BinfmtAction? ParseAction(string word) => word switch
    {
        "print" => BinfmtAction.Print,
        "register" => BinfmtAction.Register,
        "unregister" => BinfmtAction.Unregister,
        _ => null,
    };
}

/// <summary>
/// The binfmt_misc entry that makes the kernel run AArch64 ELF files through dqemu-native: the same magic and mask
/// as qemu-binfmt-conf.sh's aarch64 entry (only the name and the interpreter differ), written to
/// /proc/sys/fs/binfmt_misc/register. The kernel tries entries in the order they were registered, so with
/// qemu's entry registered first qemu runs the files (disable one: echo 0 > /proc/sys/fs/binfmt_misc/NAME).
/// </summary>
public static class BinfmtEntry
{
    public const string DefaultName = "dqemu-aarch64";
    public const string Directory = "/proc/sys/fs/binfmt_misc";

    /// <summary>
    /// The first 20 bytes of an AArch64 executable: e_ident (\x7fELF, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, OS ABI,
    /// ABI version, padding), e_type ET_EXEC (2, little-endian) and e_machine EM_AARCH64 (183 = 0xb7).
    /// </summary>
    private static readonly byte[] Magic =
        [0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0xb7, 0];

    /// <summary>Every bit counts but the OS ABI byte (any: Linux binaries carry 0 or 3) and e_type's low bit
    /// (ET_EXEC 2 or ET_DYN 3: static-pie and PIE executables run too).</summary>
    private static readonly byte[] Mask =
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff];

    /// <summary>":name:M::magic:mask:interpreter:flags", the line written to the register file.</summary>
    public static string Text(string name, string interpreter, string flags) =>
        $":{name}:M::{Escape(Magic)}:{Escape(Mask)}:{interpreter}:{flags}";

    /// <summary>Bytes as binfmt_misc reads them: letters as they are (qemu's "\x7fELF"), anything else as \xNN
    /// (a ':' would end the field, and the kernel decodes \x escapes).</summary>
    private static string Escape(byte[] bytes)
    {
        var sb = new StringBuilder(bytes.Length * 4);
        foreach (byte b in bytes)
            if (b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z') sb.Append((char)b);
            else sb.Append($"\\x{b:x2}");
        return sb.ToString();
    }

    /// <summary>
    /// Flags from the letters P (preserve argv[0]), O (open the binary: the interpreter gets its fd), C (credentials
    /// from the binary; implies O, as the kernel has it) and F (fix the interpreter at registration: works in
    /// containers and chroots), in qemu-binfmt-conf.sh's order: OC, F, P.
    /// </summary>
    public static string NormalizeFlags(string letters)
    {
        foreach (char c in letters)
            if (c is not ('P' or 'O' or 'C' or 'F'))
                throw new FatalException(ExitCodes.Usage, $"--binfmt-flags takes the letters P, O, C and F, not '{letters}'");
        var sb = new StringBuilder();
        if (letters.Contains('O') || letters.Contains('C')) sb.Append('O');
        if (letters.Contains('C')) sb.Append('C');
        if (letters.Contains('F')) sb.Append('F');
        if (letters.Contains('P')) sb.Append('P');
        return sb.ToString();
    }

    /// <summary>A name the register file takes (it becomes a file name in binfmt_misc's directory).</summary>
    public static string CheckName(string name)
    {
        if (name.Length == 0 || name.Length > 64 || name is "." or ".." or "register" or "status"
            || name.Any(c => c is ':' or '/' || char.IsControl(c) || c > 0x7e || c == ' '))
            throw new FatalException(ExitCodes.Usage, $"--binfmt-name: '{name}' cannot name a binfmt_misc entry");
        return name;
    }

    /// <summary>Runs a --binfmt request; returns the exit status.</summary>
    public static int Run(BinfmtRequest r, TextWriter stdout)
    {
        string interpreter = r.Interpreter ?? Environment.ProcessPath
            ?? throw new FatalException(ExitCodes.Internal, "cannot tell this binary's path: give --binfmt-interpreter");
        if (!Path.IsPathRooted(interpreter) || interpreter.Contains(':') || interpreter.Any(char.IsControl))
            throw new FatalException(ExitCodes.Usage, $"--binfmt-interpreter needs an absolute path without ':', not '{interpreter}'");
        string text = Text(r.Name, interpreter, r.Flags);
        switch (r.Action)
        {
            case BinfmtAction.Print:
                stdout.WriteLine(text);
                return 0;
            case BinfmtAction.Register:
                if (!File.Exists(interpreter))
                    throw new FatalException(ExitCodes.NoInput, $"{interpreter}: no such file (the interpreter to register)");
                RequireMounted();
                if (File.Exists(Path.Combine(Directory, r.Name)))
                    throw new FatalException(ExitCodes.NoPermission, $"binfmt_misc entry {r.Name} is already registered (--binfmt unregister first)");
                WriteControl(Path.Combine(Directory, "register"), text, r.Name);
                stdout.WriteLine($"registered {Path.Combine(Directory, r.Name)}: {text}");
                return 0;
            default:
                RequireMounted();
                string entry = Path.Combine(Directory, r.Name);
                if (!File.Exists(entry))
                    throw new FatalException(ExitCodes.NoPermission, $"binfmt_misc entry {r.Name} is not registered");
                WriteControl(entry, "-1", r.Name);
                stdout.WriteLine($"unregistered {entry}");
                return 0;
        }
    }

    private static void RequireMounted()
    {
        if (!File.Exists(Path.Combine(Directory, "register")))
            throw new FatalException(ExitCodes.NoPermission,
                $"binfmt_misc is not mounted at {Directory} (as root: mount -t binfmt_misc binfmt_misc {Directory})");
    }

    /// <summary>One write(2) of <paramref name="text"/> to a binfmt_misc control file, its errno told in words.</summary>
    private static unsafe void WriteControl(string file, string text, string name)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        int fd;
        fixed (byte* p = Encoding.UTF8.GetBytes(file + "\0")) fd = open(p, O_WRONLY | O_CLOEXEC);
        long n = -1;
        int e = 0;
        if (fd >= 0)
        {
            fixed (byte* b = bytes) n = write(fd, b, bytes.Length);
            if (n < 0) e = errno;
            close(fd);
        }
        else e = errno;
        if (n == bytes.Length) return;
        throw new FatalException(ExitCodes.NoPermission,
            e == EACCES || e == EPERM ? $"{file}: permission denied (registering a binfmt_misc entry needs root)"
            : e == EEXIST ? $"binfmt_misc entry {name} is already registered (--binfmt unregister first)"
            : e == EINVAL ? $"{file}: the kernel refused the entry as invalid"
            : $"{file}: {(e == 0 ? "short write" : Marshal.GetPInvokeErrorMessage(e))}");
    }
}

/// <summary>
/// What binfmt_misc told this process when it started it (the auxiliary vector): flag P (AT_FLAGS bit 0,
/// Linux 5.12 and later) means argv is [dqemu-native, full path, original argv[0], args...]; flag O opens the
/// binary as fd AT_EXECFD, which dqemu-native closes (the guest gets the fds a native run would) and opens the file
/// by its path instead.
/// </summary>
public static class BinfmtLaunch
{
    private const ulong AtExecFd = 2, AtFlags = 8, AtFlagsPreserveArgv0 = 1;

    public static bool PreserveArgv0 { get; private set; }

    /// <summary>Reads /proc/self/auxv once, early in Main; closes the AT_EXECFD descriptor.</summary>
    public static void Init()
    {
        byte[] auxv;
        try { auxv = File.ReadAllBytes("/proc/self/auxv"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
        for (int i = 0; i + 16 <= auxv.Length; i += 16)
        {
            ulong type = BitConverter.ToUInt64(auxv, i), value = BitConverter.ToUInt64(auxv, i + 8);
            if (type == AtFlags) PreserveArgv0 = (value & AtFlagsPreserveArgv0) != 0;
            else if (type == AtExecFd && value > 2 && value < int.MaxValue) close((int)value);
        }
    }
}
