using Dqemu.Runtime.Memory;
using Dqemu.Runtime.Syscalls;
using Xunit;

namespace Dqemu.Tests.Syscalls;

/// <summary>
/// Arguments the syscall fuzzer (tests/guests/fuzz_syscalls.c) found handled unlike Linux, each with Linux's answer
/// (every expected value here was checked with the same call natively on Linux; the generic kernel code answers the
/// same on arm64): crashes first (a huge mremap length and brk near the top of the address space reached past the
/// reservation), then answers: ints the kernel truncates, the order of its checks, pointers it looks at only when it
/// copies, and the lengths it copies.
/// </summary>
[Collection("Syscalls")]
public unsafe class LinuxOrderTests
{
    private const int Futex = 98, Nanosleep = 101, Kill = 129, Tkill = 130, Tgkill = 131, RtSigqueueinfo = 138,
        Getrlimit = 163, Setrlimit = 164, Prlimit64 = 261, Readlinkat = 78, Socket = 198, Setsockopt = 208, Pselect6 = 72,
        Ppoll = 73, Read = 63, Getrandom = 278, Brk = 214, Munmap = 215, Mremap = 216, Mmap = 222, Msync = 227,
        Mlock = 228, Mincore = 232, Listxattr = 11, Ioctl = 29, Openat = 56, Close = 57;
    private const ulong Page = GuestSpace.PageSize, AtFdcwd = unchecked((ulong)-100L);
    private const ulong NonUser = 0x8200_002a_5a00_1000; // above TASK_SIZE: access_ok refuses it even for length 0
    private readonly SyscallHarness h;

    public LinuxOrderTests(SyscallHarness harness) => h = harness;

    private ulong Buf(ulong offset) => SyscallHarness.Scratch + 0x6000 + offset;

    private ulong MapAnon(ulong len)
    {
        long r = h.Call(Mmap, 0UL, len, 3UL, 0x22UL, ulong.MaxValue, 0UL);
        Assert.True(r > 0, $"mmap: {r}");
        return (ulong)r;
    }

    /// <summary>Was an InvalidOperationException ("cannot decommit", status 70): old + old_len wrapped past the reservation.</summary>
    [Fact]
    public void MremapWithAHugeOldLengthIsEinval()
    {
        ulong a = MapAnon(4 * Page);
        try
        {
            Assert.Equal(-Errno.EINVAL, h.Call(Mremap, a, 0xffff_ffff_ffff_f000UL, Page, 0UL, 0UL));
            Assert.Equal(-Errno.EINVAL, h.Call(Mremap, a, Page, 1UL << 63, 0UL, 0UL));
            Assert.NotNull(h.Space.Find(a + 3 * Page)); // nothing was unmapped
        }
        finally { h.Call(Munmap, a, 4 * Page); }
    }

    /// <summary>Was a decommit of the guest's memory from address 0 up (the rounded break wrapped to 0): Linux keeps the break.</summary>
    [Fact]
    public void BrkNearTheTopOfTheAddressSpaceKeepsTheBreak()
    {
        long cur = h.Call(Brk, 0UL);
        Assert.Equal(cur, h.Call(Brk, ulong.MaxValue));
        Assert.Equal(cur, h.Call(Brk, unchecked((ulong)-4095L)));
        Assert.NotNull(h.Space.Find(SyscallHarness.Scratch));
    }

    [Fact]
    public void MremapShrinksOverAnUnmappedTail()
    {
        ulong a = MapAnon(3 * Page);
        h.Call(Munmap, a + 2 * Page, Page);
        Assert.Equal((long)a, h.Call(Mremap, a, 3 * Page, Page, 0UL, 0UL));
        // a fixed move drops the tail first and moves the rest; growing over the hole is still EFAULT
        ulong b = MapAnon(3 * Page);
        h.Call(Munmap, b + 2 * Page, Page);
        ulong to = MapAnon(Page);
        h.Call(Munmap, to, Page);
        Assert.Equal(-Errno.EFAULT, h.Call(Mremap, b, 3 * Page, 4 * Page, 3UL, to));
        Assert.Equal((long)to, h.Call(Mremap, b, 3 * Page, Page, 3UL, to));
        h.Call(Munmap, a, Page);
        h.Call(Munmap, to, Page);
    }

    [Fact]
    public void LengthsThatPageAlignToZeroDoNothing()
    {
        ulong a = MapAnon(Page);
        Assert.Equal(0, h.Call(Msync, a, ulong.MaxValue, 0UL));
        Assert.Equal(0, h.Call(Mlock, a, ulong.MaxValue));
        Assert.Equal(0, h.Call(Mlock, a + 1, unchecked((ulong)-4095L)));
        // mincore checks its vector against the address space even when there is nothing to write
        Assert.Equal(-Errno.EFAULT, h.Call(Mincore, a, 0UL, 0xe695_cdc8_6923_46c2UL));
        Assert.Equal(0, h.Call(Mincore, a, 0UL, Buf(0)));
        h.Call(Munmap, a, Page);
    }

    [Fact]
    public void PrivateFutexWakeTouchesNoMemory()
    {
        Assert.Equal(0, h.Call(Futex, 0x1000_0000_0000UL, 1UL | 128, 1UL)); // FUTEX_WAKE_PRIVATE, nothing mapped there
        Assert.Equal(-Errno.EINVAL, h.Call(Futex, Buf(1), 1UL | 128, 1UL));
        Assert.Equal(-Errno.EFAULT, h.Call(Futex, NonUser, 1UL | 128, 1UL));
    }

    [Fact]
    public void NanosleepLooksAtTheRemainderOnlyWhenInterrupted()
    {
        h.Space.Write(Buf(0), 0L);
        h.Space.Write(Buf(8), 1000L);
        Assert.Equal(0, h.Call(Nanosleep, Buf(0), 0x8000_0000_0000_0000UL));
    }

    [Fact]
    public void SignalsGoInLinuxsOrderAndAsInts()
    {
        Assert.Equal(-Errno.ESRCH, h.Call(Kill, 0x7fff_fff0UL, 67UL));
        Assert.Equal(-Errno.EINVAL, h.Call(Kill, (ulong)Dqemu.Runtime.Threading.GuestProcess.Pid, 67UL));
        Assert.Equal(-Errno.ESRCH, h.Call(Tkill, 0x7fff_fff0UL, 65UL));
        Assert.Equal(-Errno.ESRCH, h.Call(Tgkill, (ulong)Dqemu.Runtime.Threading.GuestProcess.Pid, 0x7fff_fff0UL, 66UL));
        // a signal number is an int: 0x1_0000_000a is SIGUSR1 (ignored here, so nothing stays pending)
        var (p, t) = h.NewProcess();
        p.SigHandlers[4 * 10] = GuestSignals.SigIgn;
        Assert.Equal(0, h.Call(Tkill, (ulong)Dqemu.Runtime.Threading.GuestProcess.Pid, 0x1_0000_000aUL));
        // sigqueue: no such process before a bad signal, and a kernel si_code to another process is EPERM
        h.Space.Write(Buf(8), -1); // si_code SI_QUEUE
        Assert.Equal(-Errno.ESRCH, h.Call(RtSigqueueinfo, 0x7fff_fff0UL, 65UL, Buf(0)));
        h.Space.Write(Buf(8), 0);  // SI_USER
        Assert.Equal(-Errno.EPERM, h.Call(RtSigqueueinfo, 0x7fff_fff0UL, 10UL, Buf(0)));
    }

    [Fact]
    public void RlimitsCopyTheirStructsAndTakeAnUnsignedIntResource()
    {
        Assert.Equal(-Errno.EFAULT, h.Call(Getrlimit, 0UL, 0UL));
        Assert.Equal(-Errno.EFAULT, h.Call(Setrlimit, 8UL, 0UL));
        Assert.Equal(0, h.Call(Getrlimit, 0x1_0000_0002UL, Buf(0))); // RLIMIT_DATA
        Assert.Equal(-Errno.ESRCH, h.Call(Prlimit64, ulong.MaxValue, 100UL, 0UL, Buf(0)));
        Assert.Equal(-Errno.EFAULT, h.Call(Prlimit64, 0UL, 8UL, 0x1000UL, Buf(0)));
    }

    [Fact]
    public void IntLengthsAndSignalMasksAreCheckedAsLinuxChecksThem()
    {
        // readlinkat's size and setsockopt's optlen are ints
        Assert.Equal(-Errno.EINVAL, h.Call(Readlinkat, AtFdcwd, h.Str("/proc/self/exe", 0x7000), Buf(0), 0x1_0000_0000UL));
        long s = h.Call(Socket, 1UL, 1UL, 0UL);
        Assert.True(s >= 0);
        h.Space.Write(Buf(0), 1);
        Assert.Equal(-Errno.EINVAL, h.Call(Setsockopt, (ulong)s, 1UL, 12UL, Buf(0), ulong.MaxValue));
        h.Call(Close, (ulong)s);
        // the waits' signal masks: a size other than 8 is EINVAL, an unreadable mask EFAULT, a bad timeout EINVAL
        h.Space.Write(Buf(0x100), 0L);
        h.Space.Write(Buf(0x108), 0L);          // a zero timeout
        h.Space.Write(Buf(0x110), 0UL);         // a mask
        h.Space.Write(Buf(0x120), Buf(0x110));  // pselect6's { mask, size }
        h.Space.Write(Buf(0x128), 4UL);
        Assert.Equal(-Errno.EINVAL, h.Call(Pselect6, 0UL, 0UL, 0UL, 0UL, Buf(0x100), Buf(0x120)));
        Assert.Equal(-Errno.EINVAL, h.Call(Ppoll, 0UL, 0UL, Buf(0x100), Buf(0x110), 4UL));
        h.Space.Write(Buf(0x120), 0x1000UL);
        h.Space.Write(Buf(0x128), 8UL);
        Assert.Equal(-Errno.EFAULT, h.Call(Pselect6, 0UL, 0UL, 0UL, 0UL, Buf(0x100), Buf(0x120)));
        h.Space.Write(Buf(0x108), 2_000_000_000L);
        Assert.Equal(-Errno.EINVAL, h.Call(Ppoll, 0UL, 0UL, Buf(0x100), 0UL, 0UL));
    }

    [Fact]
    public void ZeroLengthBuffersOutsideUserSpaceAreEfault()
    {
        long fd = h.Call(Openat, AtFdcwd, h.Str("/dev/null", 0x7000), 0UL);
        Assert.True(fd >= 0);
        Assert.Equal(-Errno.EFAULT, h.Call(Read, (ulong)fd, NonUser, 0UL));
        Assert.Equal(0, h.Call(Read, (ulong)fd, 1UL << 46, 0UL)); // in user space: nothing to copy
        Assert.Equal(-Errno.EFAULT, h.Call(Getrandom, 0x8000_0000_0000_0000UL, 0UL, 0UL));
        h.Call(Close, (ulong)fd);
    }

    [Fact]
    public void XattrListsCopyOutOnlyAResult()
    {
        string dir = Directory.CreateTempSubdirectory("dqemu-xattr-").FullName;
        try
        {
            // a NULL buffer with a size: a file without attributes has nothing to copy (0)
            Assert.Equal(0, h.Call(Listxattr, h.Str(dir, 0x7000), 0UL, 100UL));
        }
        finally { Directory.Delete(dir); }
    }

    [Fact]
    public void FileIoctlsFigetbszAndFibmapPassThrough()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dqemu-ioctl-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, new byte[4096]);
        try
        {
            long fd = h.Call(Openat, AtFdcwd, h.Str(path, 0x7000), 0UL);
            Assert.True(fd >= 0);
            Assert.Equal(0, h.Call(Ioctl, (ulong)fd, 2UL, Buf(0)));          // FIGETBSZ (was ENOTTY)
            Assert.Equal(-Errno.EFAULT, h.Call(Ioctl, (ulong)fd, 2UL, 0x1000UL));
            h.Call(Close, (ulong)fd);
        }
        finally { File.Delete(path); }
    }
}
