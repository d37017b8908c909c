using Dqemu.Runtime.Syscalls;

namespace Dqemu.Tests.Syscalls.Fuzz;

/// <summary>
/// What of a fuzz run under dqemu-native must equal the same run under qemu-aarch64 (the fuzzer's calls and their
/// arguments are the same in both; only pids, tids and addresses an emulator chose differ). Compared, call by call:
///   - a call dqemu does not implement answers ENOSYS, exactly (its table is the one registry of what it does);
///   - EFAULT against success: when one emulator says a pointer is bad and the other used it, something accepted
///     memory it should not have, or refused memory it should not have (every implemented call);
///   - success against failure, for the calls whose outcome depends only on their arguments and the process' fixed
///     state (<see cref="Stateless"/>): the others depend on files the run made, which an allowed difference earlier
///     can change, and on the memory layout, where dqemu's own (45-bit space, no overcommit accounting) differs.
/// Not compared: which errno two failures report (Linux, POSIX and the two emulators check arguments in different
/// orders; POSIX leaves the choice open when several errors apply), success values (fds, addresses, pids), calls
/// qemu answers ENOSYS, and calls the fuzzer marks " nc" (an emulator-owned fd, an address past the 45-bit space).
/// A difference that is qemu-aarch64 7.2 departing from Linux (or a documented dqemu design) is listed in
/// <see cref="Known"/> with the reason; anything else fails the test.
/// </summary>
public static class QemuComparison
{
    const long EFAULT = 14, EINVAL = 22, EAGAIN = 11, ENOMEM = 12, ENOSYS = 38;
    const ulong TaskSize = 1UL << 48;
    /// <summary>The fuzzer's read-only pages (RO in fuzz_syscalls.c).</summary>
    const ulong FuzzerReadOnly = 0x2a5a013000, FuzzerReadOnlyEnd = FuzzerReadOnly + 8 * 4096;

    /// <summary>Calls whose success or failure depends only on their arguments and the process' fixed state. Not
    /// setrlimit/prlimit64 (without CAP_SYS_RESOURCE a hard limit a call lowered cannot be raised again) nor sigaltstack
    /// (whether a random stack covers the current sp depends on where each emulator puts the stack).</summary>
    public static readonly HashSet<long> Stateless =
    [
        80, 99, 100, 101, 113, 114, 115, 121, 123, 125, 126, 127, 129, 130, 131, 134, 135, 136, 138, 148, 150,
        153, 158, 160, 163, 165, 168, 169, 179, 240, 278,
    ];

    public sealed record Difference(string Why, Func<FuzzCall, FuzzCall, bool> Applies);

    static bool Ok(FuzzCall c) => !c.Failed;
    static bool Is(FuzzCall c, long errno) => c.Failed && c.Errno == errno;
    static bool Sig32Up(FuzzCall c, int arg) => (int)c.Args[arg] >= 32;

    /// <summary>Differences that are not dqemu's faults: (qemu's call, dqemu's call) pairs they explain.</summary>
    public static readonly Difference[] Known =
    [
        new("getcwd: qemu-aarch64 7.2 locks the whole size the caller gives; Linux writes only the path",
            (q, d) => q.Nr == 17 && Is(q, EFAULT) && Ok(d)),
        new("getxattr/listxattr family: Linux copies out only a result (none for size 0 or no attributes), so a bad buffer "
            + "faults only when the file has attributes, which depends on what the run set before (qemu also locks the "
            + "buffer first)",
            (q, d) => q.Nr is >= 8 and <= 13 && ((Is(q, EFAULT) && Ok(d)) || (Ok(q) && Is(d, EFAULT)))),
        new("read/write/getdents64/getrandom and the vector forms: qemu locks the whole length first; Linux copies up to "
            + "the first fault and returns the count (and a zero-length or end-of-file call copies nothing)",
            (q, d) => q.Nr is 61 or 63 or 64 or 65 or 66 or 67 or 68 or 69 or 70 or 278 && Is(q, EFAULT) && Ok(d)),
        new("readv/writev/preadv/pwritev: qemu treats a bad buffer after the first iovec as empty and goes on; Linux stops "
            + "at the first fault (EFAULT when nothing was copied)",
            (q, d) => q.Nr is 65 or 66 or 69 or 70 && Ok(q) && Is(d, EFAULT)),
        new("a zero-length buffer outside user space (read, write, pread, pwrite, sendto, recvfrom, getrandom): Linux's "
            + "access_ok refuses it even for length 0 (EFAULT, checked natively); qemu does not look at it",
            (q, d) => Ok(q) && Is(d, EFAULT) && q.Nr switch
            {
                63 or 64 or 67 or 68 or 206 or 207 => q.Args[2] == 0 && q.Args[1] >= TaskSize,
                278 => q.Args[1] == 0 && q.Args[0] >= TaskSize,
                _ => false,
            }),
        new("ppoll with nfds 0: Linux still refuses an fds pointer outside user space (EFAULT); qemu does not look at it",
            (q, d) => q.Nr == 73 && (uint)q.Args[1] == 0 && q.Args[0] >= TaskSize && Ok(q) && Is(d, EFAULT)),
        new("ppoll/pselect6 with a read-only timeout: qemu-aarch64 7.2 writes the time left back and fails (EFAULT); Linux "
            + "leaves a timeout it cannot write (and a zero one) alone",
            (q, d) => q.Nr is 72 or 73 && q.Args[q.Nr == 72 ? 4 : 2] is >= FuzzerReadOnly and < FuzzerReadOnlyEnd
                && Is(q, EFAULT) && Ok(d)),
        new("sysinfo(NULL): Linux copies to it and fails with EFAULT; qemu skips a NULL",
            (q, d) => q.Nr == 179 && q.Args[0] == 0 && Ok(q) && Is(d, EFAULT)),
        new("getitimer(which, NULL): Linux copies to it and fails with EFAULT (checked on this host); qemu skips a NULL",
            (q, d) => q.Nr == 102 && q.Args[1] == 0 && Ok(q) && Is(d, EFAULT)),
        new("rt_sigpending with a sigsetsize below 8: Linux copies that many bytes; qemu locks a whole sigset",
            (q, d) => q.Nr == 136 && q.Args[1] < 8 && Is(q, EFAULT) && Ok(d)),
        new("clock_getres: qemu ignores a failed copy-out and answers invalid clock ids with success; Linux answers "
            + "EFAULT and EINVAL",
            (q, d) => q.Nr == 114 && Ok(q) && (Is(d, EFAULT) || Is(d, EINVAL))),
        new("timerfd_gettime: qemu ignores a failed copy-out; Linux answers EFAULT",
            (q, d) => q.Nr == 87 && Ok(q) && Is(d, EFAULT)),
        new("sched_getaffinity: the kernel copies min(len, its cpumask size) bytes; the host's mask (CONFIG_NR_CPUS) is "
            + "longer than qemu's, so a buffer that ends early holds qemu's mask but not the host's",
            (q, d) => q.Nr == 123 && Ok(q) && Is(d, EFAULT)),
        new("a shared (not private) futex on the program's code: dqemu copies a segment's last page (and pages two "
            + "segments share, and all of them on a cluster) into anonymous memory, where the kernel keys a shared futex "
            + "only on writable pages (EFAULT); Linux and qemu map the file there too",
            (q, d) => q.Nr == 98 && ((int)q.Args[1] & 128) == 0 && (q.Args[0] < 0x1000_0000 || q.Args[4] < 0x1000_0000)
                && Ok(q) && Is(d, EFAULT)),
        new("real-time signals to itself: qemu-aarch64 7.2 keeps guest signals 63 and 64 for itself (EINVAL) and queues "
            + "the others as host signals (EAGAIN at RLIMIT_SIGPENDING); dqemu delivers them as Linux does",
            (q, d) => Ok(d) && (Is(q, EINVAL) || Is(q, EAGAIN)) && q.Nr switch
            {
                129 or 130 => Sig32Up(q, 1),
                131 => Sig32Up(q, 2),
                138 => Sig32Up(q, 1),
                240 => Sig32Up(q, 2),
                _ => false,
            }),
        new("mincore: qemu-aarch64 7.2 reads the vector as a string (lock_user_string), so a vector not followed by a "
            + "NUL faults; Linux writes one byte per page, none for length 0",
            (q, d) => q.Nr == 232 && Is(q, EFAULT) && Ok(d)),
        new("fcntl commands that take a struct (F_GETLK/SETLK/SETLKW, F_OFD_*, F_GETOWN_EX) with a bad pointer: Linux "
            + "copies it (EFAULT; F_OFD_GETLK checked on this host); qemu-aarch64 7.2 was seen answering 0",
            (q, d) => q.Nr == 25 && (int)q.Args[1] is 5 or 6 or 7 or 16 or (>= 36 and <= 38) && Ok(q) && Is(d, EFAULT)),
        new("readlinkat: qemu locks the buffer with the whole 64-bit size; Linux takes an int and copies only the link",
            (q, d) => q.Nr == 78 && Is(q, EFAULT) && Ok(d)),
        new("sendmsg with msg_control NULL and msg_controllen > 0: Linux copies the control data from NULL (EFAULT); "
            + "qemu-aarch64 7.2 skips a NULL control (the host kernel answers for dqemu, which passes the msghdr on)",
            (q, d) => q.Nr == 211 && Ok(q) && Is(d, EFAULT)),
        new("mremap shrinking a range whose tail is not mapped: Linux only unmaps the tail (checked on this host); "
            + "qemu-aarch64 7.2 wants the whole old range mapped (EFAULT)",
            (q, d) => q.Nr == 216 && q.Args[2] != 0 && q.Args[2] <= q.Args[1] && ((int)q.Args[3] & 6) == 0 && Is(q, EFAULT) && Ok(d)),
        new("newfstatat/statx(fd, NULL, ..., AT_EMPTY_PATH...): Linux 6.10 and later take a NULL path with AT_EMPTY_PATH "
            + "(the host kernel answers for dqemu); qemu-aarch64 7.2 reads the string first (EFAULT)",
            (q, d) => q.Nr is 79 or 291 && q.Args[1] == 0 && (q.Args[q.Nr == 79 ? 3 : 2] & 0x1000) != 0 && Is(q, EFAULT) && Ok(d)),
        new("mremap moving (MREMAP_FIXED or MREMAP_DONTUNMAP) a range over several mappings and gaps at the same length: "
            + "Linux 6.17 and later move it all (qemu passes the call to such a host); dqemu, as earlier kernels, moves one "
            + "mapping (EFAULT)",
            (q, d) => q.Nr == 216 && ((int)q.Args[3] & 6) != 0 && (q.Args[1] + 4095) >> 12 == (q.Args[2] + 4095) >> 12
                && Ok(q) && Is(d, EFAULT)),
        new("getsockopt: Linux copies min(*optlen, the option's size) bytes, none for *optlen 0; qemu-aarch64 7.2 writes "
            + "at least a byte (EFAULT on a NULL or bad optval)",
            (q, d) => q.Nr == 209 && Is(q, EFAULT) && Ok(d)),
        new("sigaltstack: qemu-aarch64 7.2 refuses SS_AUTODISARM in ss_flags; Linux accepts it",
            (q, d) => q.Nr == 132 && Is(q, EINVAL) && Ok(d)),
        new("the prlimit family: qemu skips reading a new RLIMIT_AS/DATA/STACK (it does not apply them), so it neither "
            + "faults on a bad one nor refuses rlim_cur > rlim_max; Linux (and dqemu) do both",
            (q, d) => q.Nr is 164 or 261 && Ok(q) && (Is(d, EFAULT) || Is(d, EINVAL))
                && (uint)q.Args[q.Nr == 164 ? 0 : 1] is 2 or 3 or 9),
        new("recvmmsg with a timeout: Linux copies it before anything else (EFAULT when it cannot); qemu-aarch64 7.2 "
            + "never reads it (it receives message by message, no timeout)",
            (q, d) => q.Nr == 243 && q.Args[4] != 0 && Ok(q) && Is(d, EFAULT)),
        new("prlimit64 with an unreadable new limit: Linux copies it first (EFAULT, checked on this host); qemu-aarch64 7.2 "
            + "was seen answering 0",
            (q, d) => q.Nr == 261 && q.Args[2] != 0 && Ok(q) && Is(d, EFAULT)),
    ];

    /// <summary>The differences between two runs of the same seed that no rule allows, one line each.</summary>
    public static List<string> Compare(FuzzLog qemu, FuzzLog dqemu, int max = 40)
    {
        var problems = new List<string>();
        int n = Math.Min(qemu.Calls.Count, dqemu.Calls.Count);
        for (int i = 0; i < n && problems.Count < max; i++)
        {
            var q = qemu.Calls[i];
            var d = dqemu.Calls[i];
            if (q.Index != d.Index || q.Nr != d.Nr)
            {
                problems.Add($"call {i}: the runs diverged (qemu: {q.Line}; dqemu: {d.Line}): the fuzzer is not deterministic");
                break;
            }
            string? why = Check(q, d);
            if (why != null) problems.Add($"call {q.Index}, nr {q.Nr} ({Name(q.Nr)}): {why}\n    qemu:  {q.Line}\n    dqemu: {d.Line}");
        }
        return problems;
    }

    static string Name(long nr) => nr is >= 0 and < int.MaxValue && SyscallTable.Get((ulong)nr) is { } e ? e.Name : "not in dqemu's table";

    static string? Check(FuzzCall q, FuzzCall d)
    {
        if (q.Nr < 0 || SyscallTable.Get((ulong)q.Nr) == null)
            return Is(d, ENOSYS) ? null : $"dqemu does not implement it, so it must answer ENOSYS, not {d.Result}";
        if (q.EmulatorDependent || d.EmulatorDependent || Is(q, ENOSYS)) return null;
        bool efaultVsOk = (Is(q, EFAULT) && Ok(d)) || (Ok(q) && Is(d, EFAULT));
        bool outcome = Stateless.Contains(q.Nr) && q.Failed != d.Failed;
        if (!efaultVsOk && !outcome) return null;
        if (Known.Any(k => k.Applies(q, d))) return null;
        return efaultVsOk ? "one emulator answers EFAULT where the other uses the memory" : "success against failure";
    }
}
