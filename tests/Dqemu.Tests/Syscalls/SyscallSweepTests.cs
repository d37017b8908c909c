using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Syscalls;

/// <summary>
/// Issue 12 item 5: "A test sweeps every syscall number and compares errno classes with qemu-aarch64 (differences
/// listed and justified in the test)". tests/guests/syscall_sweep calls every AArch64 number 0-479 and a few beyond
/// with six zero arguments (its SKIP list says which it never issues and why) and prints each result; this test runs
/// it under qemu-aarch64 and ./dqemu-native and compares the class of each result: success, ENOSYS, denied (EPERM and
/// EACCES) or the errno itself. Every number whose classes differ must be in <see cref="Differences"/> with both
/// classes as observed and the reason; a listed difference that is no longer seen fails too, so the list stays true.
/// </summary>
public class SyscallSweepTests(ITestOutputHelper output)
{
    private const string Ok = "ok", NoSys = "ENOSYS";

    /// <summary>Number -> (qemu-aarch64's class, dqemu-native's class, why they differ).</summary>
    private static readonly Dictionary<long, (string Qemu, string Dqemu, string Why)> Differences = new()
    {
        // qemu-aarch64 7.2 checks a guest pointer (or a size) before Linux would; the emulator gives Linux's answer
        [17] = ("EFAULT", "ERANGE", "getcwd(NULL, 0): Linux checks the size first (ERANGE); qemu locks the NULL buffer first"),
        [61] = ("ENOMEM", "ENOTDIR", "getdents64(/dev/null, NULL, 0): qemu fails to allocate a 0-byte buffer; Linux: not a directory"),
        [66] = (Ok, "EBADF", "writev(read-only fd, NULL, 0): qemu returns 0 for an empty vector without the kernel; Linux refuses a read-only fd"),
        [70] = (Ok, "EBADF", "pwritev(read-only fd, NULL, 0): as writev"),
        [74] = ("EFAULT", "EINVAL", "signalfd4(0, NULL, 0, 0): Linux checks the mask size (EINVAL) before copying the mask; qemu copies first"),
        [78] = ("EFAULT", "EINVAL", "readlinkat(0, NULL, NULL, 0): Linux refuses a size of 0 first (EINVAL); qemu locks the path first"),
        [101] = ("EINVAL", "EFAULT", "nanosleep(NULL): Linux copies the request (EFAULT); qemu turns its failed copy into EINVAL"),
        [102] = (Ok, "EFAULT", "getitimer(0, NULL): Linux copies the value out (EFAULT); qemu skips the copy to a NULL pointer"),
        [122] = ("EFAULT", "EINVAL", "sched_setaffinity(0, 0, NULL): Linux copies 0 bytes and refuses the empty mask (EINVAL); qemu locks NULL first"),
        [136] = ("EFAULT", Ok, "rt_sigpending(NULL, 0): Linux copies 0 bytes (success); qemu locks NULL first"),
        [179] = (Ok, "EFAULT", "sysinfo(NULL): Linux copies the result out (EFAULT); qemu skips the copy to a NULL pointer"),
        [200] = ("EFAULT", "ENOTSOCK", "bind(/dev/null, NULL, 0): Linux looks the socket up first (ENOTSOCK); qemu copies the address first"),
        [203] = ("EFAULT", "ENOTSOCK", "connect: as bind"),
        [204] = ("EFAULT", "ENOTSOCK", "getsockname: as bind"),
        [205] = ("EFAULT", "ENOTSOCK", "getpeername: as bind"),
        [199] = ("EAFNOSUPPORT", "EFAULT", "socketpair(0, 0, 0, NULL): Linux stores the fds (EFAULT) before it creates the sockets; qemu creates first"),
        [185] = (Ok, "EBADF", "mq_getsetattr(/dev/null, NULL, NULL): Linux refuses an fd that is not a queue; qemu returns 0 when both pointers are NULL"),
        [208] = ("ENOPROTOOPT", "ENOTSOCK", "setsockopt(/dev/null, 0, 0, NULL, 0): Linux looks the socket up first; qemu rejects level 0 itself"),
        [243] = ("EFAULT", "ENOTSOCK", "recvmmsg(/dev/null, NULL, 0, 0, NULL): Linux looks the socket up first (ENOTSOCK, checked natively); qemu locks the vector first"),
        [269] = ("EFAULT", "ENOTSOCK", "sendmmsg(/dev/null, NULL, 0, 0): as recvmmsg"),
        [232] = ("ENOMEM", Ok, "mincore(0, 0, NULL): Linux has no pages to report (success); qemu fails to lock the range at 0"),
        [278] = ("EFAULT", Ok, "getrandom(NULL, 0, 0): Linux copies 0 bytes (success); qemu locks NULL first"),
        // requests qemu does not pass to the kernel
        [29] = (NoSys, "ENOTTY", "ioctl(/dev/null, 0, 0): qemu answers ENOSYS for a request missing from its table; the host kernel answers ENOTTY, as Linux"),
        // calls qemu-aarch64 7.2 does not implement and the emulator does (Linux's answer)
        [99] = (NoSys, "EINVAL", "set_robust_list(NULL, 0): not in qemu 7.2; Linux refuses the length (EINVAL)"),
        [100] = (NoSys, "EFAULT", "get_robust_list(0, NULL, NULL): not in qemu 7.2; Linux copies out (EFAULT)"),
        [284] = (NoSys, Ok, "mlock2(0, 0, 0): not in qemu 7.2; Linux locks nothing (success)"),
        [286] = (NoSys, Ok, "preadv2(/dev/null, NULL, 0, 0, 0): not in qemu 7.2; Linux reads nothing (success)"),
        [287] = (NoSys, "EBADF", "pwritev2(read-only fd, ...): not in qemu 7.2; Linux refuses a read-only fd"),
        [441] = (NoSys, "EINVAL", "epoll_pwait2(0, NULL, 0, ...): not in qemu 7.2; Linux refuses maxevents 0"),
        [452] = (NoSys, "EFAULT", "fchmodat2(0, NULL, 0, 0): not in qemu 7.2 (Linux 6.6); the emulator reads the path (EFAULT)"),
        [184] = (NoSys, "EBADF", "mq_notify(/dev/null, NULL): not in qemu 7.2; Linux refuses an fd that is not a queue (MqueueTests checks it against Linux)"),
        [0x4400] = (NoSys, Ok, "the emulator's private hint call (dqemu_hint, SyscallTable.Thread.cs); Linux and qemu have no such number"),
        // calls qemu implements and the emulator does not (yet)
        [27] = ("EINVAL", "EFAULT", "inotify_add_watch(0, NULL, 0): the emulator reads the path before the host checks the mask (Linux: EINVAL, as qemu)"),
        [209] = ("ENOPROTOOPT", "EFAULT", "getsockopt(/dev/null, 0, 0, NULL, NULL): the emulator reads the option length before the host looks the socket up (Linux: ENOTSOCK)"),
    };

    private static string Class(string result) => result switch
    {
        "ok" or "skip" => result,
        _ => int.Parse(result) switch
        {
            1 or 13 => "denied",
            var e => ErrnoName(e),
        },
    };

    private static string ErrnoName(int e) => e switch
    {
        3 => "ESRCH", 9 => "EBADF", 12 => "ENOMEM", 14 => "EFAULT", 20 => "ENOTDIR", 22 => "EINVAL", 25 => "ENOTTY",
        34 => "ERANGE", 38 => NoSys, 88 => "ENOTSOCK", 92 => "ENOPROTOOPT", 97 => "EAFNOSUPPORT",
        _ => $"errno {e}",
    };

    [Fact]
    public void EveryNumberAnswersInTheSameClassAsUnderQemuOrIsAListedDifference()
    {
        var qemu = GuestRunner.FindOnPath("qemu-aarch64") ?? throw new InvalidOperationException("qemu-aarch64 not found on PATH");
        string guest = Path.Combine(GuestRunner.GuestBinaryDir, "syscall_sweep");
        Assert.True(File.Exists(guest), $"{guest} is missing: run toolchains/build-guests.sh");
        var expected = Sweep(qemu, guest);
        var actual = Sweep(GuestRunner.DqemuBinary, guest);
        Assert.Equal(expected.Keys, actual.Keys);
        Assert.True(expected.Count > 480, $"the sweep printed {expected.Count} numbers");
        var problems = new List<string>();
        foreach (var (nr, q) in expected)
        {
            string d = actual[nr];
            bool listed = Differences.TryGetValue(nr, out var diff);
            if (q == d && listed) problems.Add($"{nr}: listed as differing ({diff.Qemu} / {diff.Dqemu}) but both answer {q}: take it off the list");
            else if (q != d && !listed) problems.Add($"{nr}: qemu-aarch64 {q}, dqemu-native {d}: not a listed difference");
            else if (q != d && (diff.Qemu != q || diff.Dqemu != d))
                problems.Add($"{nr}: qemu-aarch64 {q}, dqemu-native {d}, but the list says {diff.Qemu} / {diff.Dqemu}");
        }
        foreach (long nr in Differences.Keys.Where(n => !expected.ContainsKey(n))) problems.Add($"{nr}: listed but not swept");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private Dictionary<long, string> Sweep(string emulator, string guest)
    {
        var cwd = GuestRunner.CreateTempDirectory("sweep");
        try
        {
            var r = GuestRunner.Run(emulator, [guest, "sweep"], GuestRunner.StandardGuestEnvironment, workingDirectory: cwd,
                timeout: TimeSpan.FromSeconds(120));
            output.WriteLine($"{emulator}: {r.Describe()}; stderr: {GuestProgramTests.Tail(r.Stderr)}");
            Assert.False(r.TimedOut, $"{emulator} timed out");
            Assert.Equal(0, r.ExitCode);
            var lines = r.Stdout.TrimEnd('\n').Split('\n');
            Assert.Equal("done", lines[^1]);
            return lines[..^1].Select(l => l.Split(' ')).ToDictionary(p => long.Parse(p[0]), p => Class(p[1]));
        }
        finally
        {
            GuestRunner.DeleteDirectory(cwd);
        }
    }
}
