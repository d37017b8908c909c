using System.Collections.Concurrent;
using System.Text;
using Dqemu.Runtime.Host;

namespace Dqemu.Runtime.Syscalls;

/// <summary>
/// Guest path names as the host sees them. With a sysroot (-L), an absolute guest path that exists under the
/// sysroot is used from there, else as given (qemu's linux-user behaviour: a dynamic guest's ld.so opens
/// /lib/... from the sysroot while /tmp, /proc and the like stay the host's). A few /proc/self entries that
/// describe the emulator rather than the guest are recognised so callers can answer them for the guest.
/// </summary>
public static class GuestPath
{
    /// <summary>The /proc entries answered for the guest (ProcFiles); <see cref="TaskStat"/> names a thread.</summary>
    public enum Special { None, Exe, Maps, Cmdline, Auxv, Stat, TaskStat, Smaps, Status, Cpuinfo, Comm, TaskComm, Statm }

    private static readonly ConcurrentDictionary<string, byte[]> SysrootCache = new();

    /// <summary>
    /// The host path (NUL-terminated) for the guest path <paramref name="path"/> (NUL-terminated or not).
    /// <paramref name="exists"/> answers whether a NUL-terminated host path exists (default: host access F_OK).
    /// </summary>
    public static byte[] Resolve(string? sysroot, byte[] path, Func<byte[], bool>? exists = null)
    {
        int len = Array.IndexOf(path, (byte)0);
        if (len < 0) len = path.Length;
        if (len == 0 || path[0] != (byte)'/' || string.IsNullOrEmpty(sysroot)) return Terminated(path, len);
        // "/" itself stays the host's root: listing it should not show the sysroot instead
        if (path.AsSpan(0, len).IndexOfAnyExcept((byte)'/') < 0) return Terminated(path, len);
        byte[] root = SysrootCache.GetOrAdd(sysroot, Normalize);
        if (root.Length == 0) return Terminated(path, len);
        var joined = new byte[root.Length + len + 1];
        root.CopyTo(joined, 0);
        Array.Copy(path, 0, joined, root.Length, len);
        return (exists ?? HostExists)(joined) ? joined : Terminated(path, len);
    }

    /// <summary>The sysroot as absolute bytes without a trailing slash; empty for "/" (no redirection).</summary>
    private static byte[] Normalize(string sysroot)
    {
        string full = Path.GetFullPath(sysroot).TrimEnd('/');
        return Encoding.UTF8.GetBytes(full);
    }

    private static byte[] Terminated(byte[] path, int len)
    {
        if (path.Length == len + 1 && path[len] == 0) return path;
        var r = new byte[len + 1];
        Array.Copy(path, r, len);
        return r;
    }

    private static unsafe bool HostExists(byte[] hostPath)
    {
        fixed (byte* p = hostPath)
            return HostSyscall.Call(HostSyscall.Nr.Faccessat, -100, (long)p, 0) == 0; // AT_FDCWD, F_OK
    }

    /// <summary>Recognises /proc/self/exe, /proc/&lt;pid&gt;/exe and the same for maps, cmdline, auxv, stat, smaps,
    /// status, comm and statm; /proc/cpuinfo.</summary>
    public static Special Classify(byte[] path, int pid) => Classify(path, pid, out _);

    /// <summary>
    /// As <see cref="Classify(byte[], int)"/>, and also /proc/{self,&lt;pid&gt;}/task/&lt;tid&gt;/stat and
    /// /proc/thread-self/stat (<see cref="Special.TaskStat"/>, <paramref name="tid"/> the thread; 0 for thread-self: the
    /// caller's), and the same for comm (<see cref="Special.TaskComm"/>).
    /// </summary>
    public static Special Classify(byte[] path, int pid, out int tid)
    {
        tid = 0;
        int len = Array.IndexOf(path, (byte)0);
        if (len < 0) len = path.Length;
        var s = new ReadOnlySpan<byte>(path, 0, len);
        if (!s.StartsWith("/proc/"u8)) return Special.None;
        s = s[6..];
        if (s.SequenceEqual("cpuinfo"u8)) return Special.Cpuinfo;
        if (s.SequenceEqual("thread-self/stat"u8)) return Special.TaskStat;
        if (s.SequenceEqual("thread-self/comm"u8)) return Special.TaskComm;
        int slash = s.IndexOf((byte)'/');
        if (slash <= 0) return Special.None;
        var who = s[..slash];
        if (!who.SequenceEqual("self"u8) && !who.SequenceEqual(Encoding.ASCII.GetBytes(pid.ToString()))) return Special.None;
        var what = s[(slash + 1)..];
        if (what.SequenceEqual("exe"u8)) return Special.Exe;
        if (what.SequenceEqual("maps"u8)) return Special.Maps;
        if (what.SequenceEqual("cmdline"u8)) return Special.Cmdline;
        if (what.SequenceEqual("auxv"u8)) return Special.Auxv;
        if (what.SequenceEqual("stat"u8)) return Special.Stat;
        if (what.SequenceEqual("smaps"u8)) return Special.Smaps;
        if (what.SequenceEqual("status"u8)) return Special.Status;
        if (what.SequenceEqual("comm"u8)) return Special.Comm;
        if (what.SequenceEqual("statm"u8)) return Special.Statm;
        // task/<tid>/stat and task/<tid>/comm: a decimal tid without leading zeros, as the directory names it
        bool stat = what.EndsWith("/stat"u8);
        if (what.StartsWith("task/"u8) && (stat || what.EndsWith("/comm"u8)) && what.Length > 10)
        {
            var digits = what[5..^5];
            if (digits[0] != (byte)'0' && digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0 && digits.Length <= 9)
            {
                tid = int.Parse(Encoding.ASCII.GetString(digits));
                return stat ? Special.TaskStat : Special.TaskComm;
            }
        }
        return Special.None;
    }

    public static byte[] ToBytes(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        Array.Resize(ref b, b.Length + 1);
        return b;
    }
}
