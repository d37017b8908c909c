using Dqemu.JitX64.Signal;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Memory;
using Dqemu.Runtime.Syscalls;
using Tmds.Linux;
using Xunit;
using static Tmds.Linux.LibC;

namespace Dqemu.Tests.Syscalls;

/// <summary>
/// Guest memory that faults although the layout says it is there (a MAP_SHARED file page past the end of its file
/// raises SIGBUS) must make a syscall answer EFAULT, as Linux does (checked on Linux: fstat, uname, rt_sigprocmask's old
/// set and openat's path there all answer EFAULT), not end the emulator: before the guarded copy, managed code wrote
/// those structs itself and the fuzzer's first such pointer killed dqemu-native with SIGBUS (status 139).
/// The generated fault handler is installed around each test, as dqemu-native installs it at start-up.
/// </summary>
[Collection("Syscalls")]
public unsafe class GuardedCopyTests
{
    private const int Openat = 56, Close = 57, Fstat = 80, Uname = 160, RtSigprocmask = 135, Mmap = 222, Munmap = 215;
    private const ulong Page = GuestSpace.PageSize, AtFdcwd = unchecked((ulong)-100L);
    private readonly SyscallHarness h;

    public GuardedCopyTests(SyscallHarness harness) => h = harness;

    /// <summary>Runs <paramref name="body"/> with the generated SIGSEGV/SIGBUS handler in front of the runtime's.</summary>
    private void WithFaultHandler(Action body)
    {
        var old = new sigaction[2];
        int[] sigs = [SIGSEGV, SIGBUS];
        var copy = GuardedCopy.Thunk;
        Assert.NotEqual(0UL, copy.FaultRip);
        for (int i = 0; i < 2; i++)
        {
            fixed (sigaction* o = &old[i]) Assert.Equal(0, LibC.sigaction(sigs[i], null, o));
            var cfg = new SignalHandlerConfig(
                GuestBase: (ulong)h.Space.Base,
                GuestSize: GuestSpace.ReservationSize,
                CodeBase: (ulong)h.Translator.Cache.Base,
                CodeSize: h.Translator.Cache.Size,
                SegFaultExit: h.Translator.Stubs.SegFaultExit,
                PreviousHandler: (ulong)old[i].sa_handler,
                PageFaultService: 0,
                GuardedCopyRip: copy.FaultRip,
                GuardedCopyResume: copy.ResumeRip);
            sigaction act = default;
            act.sa_handler = (void*)NativeSignalHandlerGenerator.Generate(h.Translator.Cache, cfg);
            act.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
            sigemptyset(&act.sa_mask);
            Assert.Equal(0, LibC.sigaction(sigs[i], &act, null));
        }
        try { body(); }
        finally
        {
            for (int i = 0; i < 2; i++)
                fixed (sigaction* o = &old[i]) LibC.sigaction(sigs[i], o, null);
        }
    }

    [Fact]
    public void AFaultingCopyReportsFailureAndKeepsWhatItCopied()
    {
        // two pages of the guest scratch area, the second made PROT_NONE on the host behind the layout's back
        ulong at = SyscallHarness.Scratch + 0x8000;
        h.Bytes(at, (int)Page).Fill(0x5a);
        LinuxHostMemory.Instance.Protect((nint)(h.Space.Base + at + Page), Page, Dqemu.JitX64.Host.HostProtection.None);
        try
        {
            WithFaultHandler(() =>
            {
                var dst = new byte[64];
                fixed (byte* d = dst)
                {
                    Assert.True(GuardedCopy.Copy(d, h.Space.Base + at + Page - 64, 64));
                    Assert.False(GuardedCopy.Copy(d, h.Space.Base + at + Page - 16, 64)); // faults after 16 bytes
                }
                Assert.All(dst, b => Assert.Equal(0x5a, b));
                Assert.False(h.Space.TryRead(at + Page, out ulong _)); // the layout says readable; the page faults
                Assert.True(h.Space.TryRead(at, out ulong v));
                Assert.Equal(0x5a5a5a5a5a5a5a5aUL, v);
            });
        }
        finally
        {
            LinuxHostMemory.Instance.Protect((nint)(h.Space.Base + at + Page), Page, Dqemu.JitX64.Host.HostProtection.ReadWrite);
        }
    }

    [Fact]
    public void SyscallsAnswerEfaultForAFilePagePastTheEndOfItsFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dqemu-eof-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, new byte[Page]);
        long fd = h.Call(Openat, AtFdcwd, h.Str(path, 0x4000), 2UL);
        Assert.True(fd >= 0);
        // MAP_SHARED, two pages of a one-page file: the second is past its end
        long map = h.Call(Mmap, 0UL, 2 * Page, 3UL, 1UL, (ulong)fd, 0UL);
        Assert.True(map > 0, $"mmap: {map}");
        ulong past = (ulong)map + Page;
        try
        {
            WithFaultHandler(() =>
            {
                Assert.Equal(0, h.Call(Fstat, (ulong)fd, (ulong)map));
                Assert.Equal(-Errno.EFAULT, h.Call(Fstat, (ulong)fd, past));
                Assert.Equal(-Errno.EFAULT, h.Call(Uname, past));
                Assert.Equal(-Errno.EFAULT, h.Call(RtSigprocmask, 0UL, 0UL, past, 8UL));
                Assert.Equal(-Errno.EFAULT, h.Call(Openat, AtFdcwd, past, 0UL));
                Assert.Equal(-Errno.EFAULT, h.Call(Fstat, (ulong)fd, past - 16)); // a struct that runs into that page
            });
        }
        finally
        {
            h.Call(Munmap, (ulong)map, 2 * Page);
            h.Call(Close, (ulong)fd);
            File.Delete(path);
        }
    }

    /// <summary>
    /// The page thread reads gen0 ahead of the GC's allocation point (ManagedHeapPrefault), which a collection may
    /// decommit under it: such a range is read through the guarded copy, so a read of a page that is gone ends that
    /// range instead of the process, and the thread goes on with the next request. Here the first range is reserved and
    /// never committed (PROT_NONE: a direct read would take SIGSEGV and end the test host); the second, queued after it,
    /// still becomes resident.
    /// </summary>
    [Fact]
    public void ThePageThreadSurvivesARangeGoneUnderIt()
    {
        const int Pages = 16;
        nint gone = LinuxHostMemory.Instance.Reserve(Pages * 4096);
        nint fresh = Host.PageToucherTests.FreshRange(Pages);
        Assert.True(GuardedCopy.Ready); // the harness placed it (else the thread would not read at all)
        WithFaultHandler(() =>
        {
            PageToucher.Request(gone, Pages * 4096, mayUnmap: true);
            PageToucher.Request(fresh, Pages * 4096, mayUnmap: true);
            Host.PageToucherTests.AssertBecomesResident(fresh, Pages);
        });
    }
}
