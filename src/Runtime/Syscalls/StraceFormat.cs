using System.Runtime.InteropServices;
using System.Text;
using Dqemu.Runtime.Memory;

namespace Dqemu.Runtime.Syscalls;

/// <summary>
/// --strace lines as qemu-aarch64 7.2 prints them ("PID name(args) = result"), so scripts written for its output
/// read ours: the common calls decode their arguments as qemu does (paths quoted, AT_FDCWD, open/mmap/prot flags,
/// SEEK_*; buffers as qemu's 32-bit "%#x"), every other call shows six decimal arguments as qemu's default; errors
/// are "-1 errno=N (text)"; brk, mmap and mremap return hex addresses; exit and exit_group have no result.
/// </summary>
public static class StraceFormat
{
    private delegate void ArgFormat(StringBuilder sb, GuestSpace mem, ulong[] a);

    private static readonly Dictionary<string, ArgFormat> Formats = new();
    private static readonly HashSet<string> HexResult = ["brk", "mmap", "mremap"];
    private static readonly HashSet<string> NoResult = ["exit", "exit_group"];

    private static void Add(string name, ArgFormat f)
    {
        if (!Formats.TryAdd(name, f)) throw new InvalidOperationException($"strace format for {name} given twice");
    }

    static StraceFormat()
    {
        Add("read", (sb, m, a) => sb.Append($"{(int)a[0]},{Hex32(a[1])},{(long)a[2]}"));
        Add("write", (sb, m, a) => sb.Append($"{(int)a[0]},{Hex32(a[1])},{(long)a[2]}"));
        Add("close", (sb, m, a) => sb.Append((int)a[0]));
        Add("fsync", (sb, m, a) => sb.Append((int)a[0]));
        Add("exit", (sb, m, a) => sb.Append((int)a[0]));
        Add("exit_group", (sb, m, a) => sb.Append((int)a[0]));
        Add("umask", (sb, m, a) => sb.Append(Octal(a[0])));
        Add("ftruncate", (sb, m, a) => sb.Append($"{(int)a[0]},{(long)a[1]}"));
        Add("lseek", (sb, m, a) => sb.Append($"{(int)a[0]},{(long)a[1]},{Whence(a[2])}"));
        Add("brk", (sb, m, a) => sb.Append(PtrOrNull(a[0])));
        Add("openat", (sb, m, a) =>
        {
            sb.Append($"{AtFd(a[0])},{Str(m, a[1])},{OpenFlags(a[2])}");
            if ((a[2] & (OCreat | OTmpfile)) != 0) sb.Append(',').Append(Octal(a[3]));
        });
        Add("mkdirat", (sb, m, a) => sb.Append($"{AtFd(a[0])},{Str(m, a[1])},{Octal(a[2])}"));
        Add("unlinkat", (sb, m, a) => sb.Append($"{AtFd(a[0])},{Str(m, a[1])},{((a[2] & 0x200) != 0 ? "AT_REMOVEDIR" : ((int)a[2]).ToString())}"));
        Add("renameat", (sb, m, a) => sb.Append($"{AtFd(a[0])},{Str(m, a[1])},{AtFd(a[2])},{Str(m, a[3])}"));
        Add("linkat", (sb, m, a) => sb.Append($"{AtFd(a[0])},{Str(m, a[1])},{AtFd(a[2])},{Str(m, a[3])},{(int)a[4]}"));
        Add("symlinkat", (sb, m, a) => sb.Append($"{Str(m, a[0])},{AtFd(a[1])},{Str(m, a[2])}"));
        Add("readlinkat", (sb, m, a) => sb.Append($"{AtFd(a[0])},{Str(m, a[1])},{Ptr(a[2])},{(long)a[3]}"));
        Add("newfstatat", (sb, m, a) => sb.Append($"{AtFd(a[0])},{Str(m, a[1])},{Ptr(a[2])},0x{(uint)a[3]:x}"));
        Add("getrandom", (sb, m, a) => sb.Append($"{Hex32(a[0])},{(long)a[1]},{(int)a[2]}"));
        Add("getdents64", (sb, m, a) => sb.Append($"{(int)a[0]},{Hex32(a[1])},{(long)a[2]}"));
        Add("mmap", (sb, m, a) => sb.Append($"{PtrOrNull(a[0])},{(long)a[1]},{Prot(a[2])},{MapFlags(a[3])},{(int)a[4]},{(long)a[5]}"));
        Add("munmap", (sb, m, a) => sb.Append($"{Ptr(a[0])},{(long)a[1]}"));
        Add("mprotect", (sb, m, a) => sb.Append($"{Ptr(a[0])},{(long)a[1]},{Prot(a[2])}"));
    }

    /// <summary>"PID name(args" (the caller adds the result with <see cref="Result"/>).</summary>
    public static string Call(int tid, string name, GuestSpace mem, ulong[] args)
    {
        var sb = new StringBuilder(64).Append(tid).Append(' ').Append(name).Append('(');
        if (Formats.TryGetValue(name, out var f)) f(sb, mem, args);
        else
            for (int i = 0; i < 6; i++) sb.Append(i == 0 ? "" : ",").Append((long)args[i]);
        return sb.Append(')').ToString();
    }

    /// <summary>" = result", or nothing for a call that does not return.</summary>
    public static string Result(string name, long r)
    {
        if (NoResult.Contains(name)) return "";
        if (r < 0 && r > -4096) return $" = -1 errno={-r} ({Marshal.GetPInvokeErrorMessage((int)-r)})";
        return HexResult.Contains(name) ? $" = 0x{(ulong)r:x16}" : $" = {r}";
    }

    public static string Unknown(int tid, ulong nr) => $"{tid} Unknown syscall {nr}";

    public static bool Returns(string name) => !NoResult.Contains(name);

    private static string Hex32(ulong v) => v == 0 ? "0" : $"0x{(uint)v:x}";
    private static string Ptr(ulong v) => $"0x{v:x16}";
    private static string PtrOrNull(ulong v) => v == 0 ? "NULL" : Ptr(v);
    private static string Octal(ulong v) => "0" + Convert.ToString((long)(uint)v, 8);
    private static string AtFd(ulong v) => (int)v == -100 ? "AT_FDCWD" : ((int)v).ToString();
    private static string Whence(ulong v) => (int)v switch { 0 => "SEEK_SET", 1 => "SEEK_CUR", 2 => "SEEK_END", var w => w.ToString() };

    private static string Str(GuestSpace mem, ulong addr)
    {
        if (addr == 0) return "NULL";
        if (Sys.ReadString(mem, addr, 4096, out var bytes) != 0) return $"0x{addr:x}";
        return "\"" + Encoding.UTF8.GetString(bytes, 0, Math.Max(0, bytes.Length - 1)) + "\"";
    }

    private const ulong OCreat = 0x40, OTmpfile = 0x410000;

    /// <summary>AArch64's O_* values (asm-generic, O_DIRECTORY 0x4000 and O_NOFOLLOW 0x8000 as arm64 has them), in the
    /// order qemu prints them (seen: O_CREAT|O_TRUNC, O_DIRECTORY|O_NONBLOCK|O_CLOEXEC).</summary>
    private static readonly (ulong Bit, string Name)[] OpenBits =
    [
        (0x400, "O_APPEND"), (0x40, "O_CREAT"), (0x4000, "O_DIRECTORY"), (0x80, "O_EXCL"), (0x20000, "O_LARGEFILE"),
        (0x100, "O_NOCTTY"), (0x8000, "O_NOFOLLOW"), (0x800, "O_NONBLOCK"), (0x1000, "O_DSYNC"), (0x2000, "O_ASYNC"),
        (0x10000, "O_DIRECT"), (0x40000, "O_NOATIME"), (0x80000, "O_CLOEXEC"), (0x200000, "O_PATH"), (0x200, "O_TRUNC"),
    ];

    private static string OpenFlags(ulong f)
    {
        var sb = new StringBuilder((f & 3) switch { 0 => "O_RDONLY", 1 => "O_WRONLY", 2 => "O_RDWR", _ => "3" });
        ulong rest = f & ~3UL;
        if ((rest & OTmpfile) == OTmpfile) { sb.Append("|O_TMPFILE"); rest &= ~OTmpfile; }
        foreach (var (bit, name) in OpenBits)
            if ((rest & bit) != 0) { sb.Append('|').Append(name); rest &= ~bit; }
        if (rest != 0) sb.Append($"|0x{rest:x}");
        return sb.ToString();
    }

    private static string Prot(ulong p)
    {
        if (p == 0) return "PROT_NONE";
        var parts = new List<string>();
        if ((p & 1) != 0) parts.Add("PROT_READ");
        if ((p & 2) != 0) parts.Add("PROT_WRITE");
        if ((p & 4) != 0) parts.Add("PROT_EXEC");
        if ((p & ~7UL) != 0) parts.Add($"0x{p & ~7UL:x}");
        return string.Join('|', parts);
    }

    private static readonly (ulong Bit, string Name)[] MapBits =
    [
        (0x10, "MAP_FIXED"), (0x20, "MAP_ANONYMOUS"), (0x100, "MAP_GROWSDOWN"), (0x800, "MAP_DENYWRITE"),
        (0x1000, "MAP_EXECUTABLE"), (0x2000, "MAP_LOCKED"), (0x4000, "MAP_NORESERVE"), (0x8000, "MAP_POPULATE"),
        (0x10000, "MAP_NONBLOCK"), (0x20000, "MAP_STACK"), (0x40000, "MAP_HUGETLB"), (0x100000, "MAP_FIXED_NOREPLACE"),
    ];

    private static string MapFlags(ulong f)
    {
        var sb = new StringBuilder((f & 3) switch { 1 => "MAP_SHARED", 2 => "MAP_PRIVATE", 3 => "MAP_SHARED_VALIDATE", _ => "0" });
        ulong rest = f & ~3UL;
        foreach (var (bit, name) in MapBits)
            if ((rest & bit) != 0) { sb.Append('|').Append(name); rest &= ~bit; }
        if (rest != 0) sb.Append($"|0x{rest:x}");
        return sb.ToString();
    }
}
