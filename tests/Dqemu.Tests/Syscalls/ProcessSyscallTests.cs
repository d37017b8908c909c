using System.Text;
using Dqemu.Runtime.Memory;
using Dqemu.Runtime.Signals;
using Dqemu.Runtime.Syscalls;
using Xunit;

namespace Dqemu.Tests.Syscalls;

[Collection("Syscalls")]
public unsafe class ProcessSyscallTests
{
    private const int Exit = 93, ExitGroup = 94, SetTidAddress = 96, Kill = 129, Tgkill = 131, Sigaltstack = 132,
        RtSigaction = 134, RtSigprocmask = 135, RtSigpending = 136, Uname = 160, Getpid = 172, Gettid = 178,
        Prlimit64 = 261, Rseq = 293, Prctl = 167, ClockGettime = 113;
    private readonly SyscallHarness h;

    public ProcessSyscallTests(SyscallHarness harness) => h = harness;

    [Fact]
    public void EverySyscallHasOneEntryWithASite()
    {
        var all = SyscallTable.All.ToList();
        Assert.Equal(all.Count, all.Select(e => e.Number).Distinct().Count());
        Assert.Equal(SyscallSite.Node0, SyscallTable.Get(63)!.Site);  // read
        Assert.Equal(SyscallSite.Node0, SyscallTable.Get(222)!.Site); // mmap
        Assert.Equal(SyscallSite.Node0, SyscallTable.Get(94)!.Site);  // exit_group
        Assert.Equal(SyscallSite.Local, SyscallTable.Get(113)!.Site); // clock_gettime
        Assert.Equal(SyscallSite.Local, SyscallTable.Get(178)!.Site); // gettid
    }

    /// <summary>dqemu_hint (0x4400, the emulator's private range) on one node: every valid hint answers node 0, a bad
    /// op or node EINVAL, an unknown thread ESRCH; numbers past the private range are unknown (ENOSYS).</summary>
    [Fact]
    public void PlacementHintOnOneNode()
    {
        var (_, t) = h.NewProcess();
        Assert.Equal(0x4400, SyscallTable.HintNumber);
        Assert.Equal("dqemu_hint", SyscallTable.Get(0x4400)!.Name);
        Assert.Equal(SyscallSite.Local, SyscallTable.Get(0x4400)!.Site);
        Assert.Null(SyscallTable.Get(0x4400 + SyscallTable.PrivateCount));
        Assert.Null(SyscallTable.Get(SyscallTable.MaxNumber));
        Assert.Equal(0, h.Call(SyscallTable.HintNumber, 0UL));          // WHERE
        Assert.Equal(0, h.Call(SyscallTable.HintNumber, 1UL, 7UL));     // GROUP 7
        Assert.Equal(0, h.Call(SyscallTable.HintNumber, 2UL, 0UL));     // NODE 0
        Assert.Equal(0, h.Call(SyscallTable.HintNumber, 3UL, (ulong)t.Tid)); // NEAR itself
        Assert.Equal(-Errno.EINVAL, h.Call(SyscallTable.HintNumber, 2UL, 1UL));
        Assert.Equal(-Errno.EINVAL, h.Call(SyscallTable.HintNumber, 1L, -1L));
        Assert.Equal(-Errno.EINVAL, h.Call(SyscallTable.HintNumber, 9UL));
        Assert.Equal(-Errno.ESRCH, h.Call(SyscallTable.HintNumber, 3UL, 999_999UL));
        Assert.Null(SyscallTable.Get(SyscallTable.PrivateBase + 1)); // answered ENOSYS by the dispatcher
        Assert.Equal(-1, t.MigrateTo);
    }

    [Fact]
    public void ExitGroupEndsTheProcess()
    {
        var (p, t) = h.NewProcess();
        h.Call(ExitGroup, 3UL);
        Assert.True(t.Exited);
        Assert.Equal(3, p.ExitStatus);
        h.NewProcess();
    }

    [Fact]
    public void ExitEndsOnlyTheThread()
    {
        var (p, t) = h.NewProcess();
        h.Call(Exit, 0x107UL);
        Assert.True(t.Exited);
        Assert.Equal(7, t.ExitCode);
        Assert.False(p.Exiting);
        h.NewProcess();
    }

    [Fact]
    public void IdentityCalls()
    {
        h.NewProcess();
        Assert.Equal(Environment.ProcessId, h.Call(Getpid));
        Assert.Equal(Environment.ProcessId, h.Call(Gettid));
        Assert.Equal(Environment.ProcessId, h.Call(SetTidAddress, 0x1234UL));
        Assert.Equal(0x1234UL, h.Thread.ClearChildTid);
        Assert.Equal(-Errno.ENOSYS, h.Call(Rseq));
        ulong buf = SyscallHarness.Scratch + 0x8000;
        Assert.Equal(0, h.Call(Uname, buf));
        Assert.Equal("Linux", Encoding.ASCII.GetString(h.Bytes(buf, 5)));
        Assert.Equal("aarch64\0", Encoding.ASCII.GetString(h.Bytes(buf + 4 * 65, 8)));
        Assert.Equal(0, h.Call(ClockGettime, 0UL, buf));
        Assert.True(h.Space.Read<long>(buf) > 1_600_000_000);
        Assert.Equal(-Errno.EFAULT, h.Call(ClockGettime, 0UL, 0x10UL));
        // thread name
        ulong name = h.Str("worker-thread-name-long", 0x8100);
        Assert.Equal(0, h.Call(Prctl, 15UL, name));
        Assert.Equal(0, h.Call(Prctl, 16UL, buf));
        Assert.Equal("worker-thread-n\0", Encoding.ASCII.GetString(h.Bytes(buf, 16)));
    }

    [Fact]
    public void PrlimitPassesThroughButKeepsAddressSpaceLimitsAway()
    {
        ulong oldLim = SyscallHarness.Scratch + 0x8200, newLim = SyscallHarness.Scratch + 0x8300;
        Assert.Equal(0, h.Call(Prlimit64, 0UL, 7UL, 0UL, oldLim)); // RLIMIT_NOFILE
        Assert.True(h.Space.Read<ulong>(oldLim) > 0);
        h.Space.Write(newLim, 1UL << 20);
        h.Space.Write(newLim + 8, 1UL << 20);
        Assert.Equal(0, h.Call(Prlimit64, 0UL, 9UL, newLim, oldLim)); // RLIMIT_AS: not applied to the emulator
        Assert.Equal(0, h.Call(Prlimit64, 0UL, 9UL, 0UL, oldLim));
        Assert.NotEqual(1UL << 20, h.Space.Read<ulong>(oldLim));
        Assert.Equal(-Errno.EINVAL, h.Call(Prlimit64, 0UL, 99UL, 0UL, oldLim));
    }

    [Fact]
    public void SigactionRecordsAndReturnsTheOldAction()
    {
        var (p, _) = h.NewProcess();
        ulong act = SyscallHarness.Scratch + 0x9000, old = SyscallHarness.Scratch + 0x9100;
        h.Space.Write(act, 0x400123UL);
        h.Space.Write(act + 8, 0x04000000UL | 4); // SA_RESTORER | SA_SIGINFO
        h.Space.Write(act + 16, 0x400456UL);
        h.Space.Write(act + 24, ulong.MaxValue);
        Assert.Equal(0, h.Call(RtSigaction, 10UL, act, old, 8));
        Assert.Equal(0UL, h.Space.Read<ulong>(old));
        Assert.Equal(0x400123UL, p.SigHandlers[40]);
        Assert.Equal(0, h.Call(RtSigaction, 10UL, 0UL, old, 8));
        Assert.Equal(0x400123UL, h.Space.Read<ulong>(old));
        Assert.Equal(0x400456UL, h.Space.Read<ulong>(old + 16));
        Assert.Equal(ulong.MaxValue & ~((1UL << 8) | (1UL << 18)), h.Space.Read<ulong>(old + 24));
        Assert.Equal(-Errno.EINVAL, h.Call(RtSigaction, 9UL, act, 0UL, 8));
        Assert.Equal(-Errno.EINVAL, h.Call(RtSigaction, 65UL, 0UL, old, 8));
        Assert.Equal(-Errno.EINVAL, h.Call(RtSigaction, 10UL, act, old, 16));
        Assert.Equal(-Errno.EFAULT, h.Call(RtSigaction, 10UL, 0x10UL, 0UL, 8));
        h.NewProcess();
    }

    [Fact]
    public void SigprocmaskKeepsKillAndStopUnblockable()
    {
        var (_, t) = h.NewProcess();
        ulong set = SyscallHarness.Scratch + 0x9200, old = SyscallHarness.Scratch + 0x9300;
        h.Space.Write(set, ulong.MaxValue);
        Assert.Equal(0, h.Call(RtSigprocmask, 0UL, set, old, 8));
        Assert.Equal(0UL, h.Space.Read<ulong>(old));
        Assert.Equal(ulong.MaxValue & ~((1UL << 8) | (1UL << 18)), t.SignalMask);
        h.Space.Write(set, 1UL << 9);
        Assert.Equal(0, h.Call(RtSigprocmask, 1UL, set, 0UL, 8));
        Assert.Equal(0UL, t.SignalMask & (1UL << 9));
        Assert.Equal(-Errno.EINVAL, h.Call(RtSigprocmask, 7UL, set, 0UL, 8));
        Assert.Equal(-Errno.EINVAL, h.Call(RtSigprocmask, 0UL, set, 0UL, 4));
        h.NewProcess();
    }

    [Fact]
    public void AbortEndsTheProcessAsKilledBySigabrt()
    {
        var (p, t) = h.NewProcess();
        Assert.Equal(0, h.Call(Tgkill, (ulong)Environment.ProcessId, (ulong)Environment.ProcessId, 6));
        SignalDelivery.DeliverPending(p, t); // what the dispatcher does after every syscall
        Assert.True(t.Exited);
        Assert.Equal(128 + 6, p.ExitStatus);
        h.NewProcess();
    }

    [Fact]
    public void BlockedSignalsWaitAndIgnoredOnesVanish()
    {
        var (p, t) = h.NewProcess();
        ulong set = SyscallHarness.Scratch + 0x9200, pend = SyscallHarness.Scratch + 0x9300;
        // SIGCHLD's default is to ignore; SIG_IGN on SIGUSR1 ignores it
        Assert.Equal(0, h.Call(Kill, (ulong)Environment.ProcessId, 17));
        p.SigHandlers[10 * 4] = 1;
        Assert.Equal(0, h.Call(Kill, (ulong)Environment.ProcessId, 10));
        Assert.Equal(0UL, t.Pending);
        // SIGTERM blocked: pending, then fatal once unblocked
        h.Space.Write(set, 1UL << 14);
        h.Call(RtSigprocmask, 0UL, set, 0UL, 8);
        Assert.Equal(0, h.Call(Kill, (ulong)Environment.ProcessId, 15));
        SignalDelivery.DeliverPending(p, t);
        Assert.False(t.Exited);
        Assert.Equal(0, h.Call(RtSigpending, pend, 8));
        Assert.Equal(1UL << 14, h.Space.Read<ulong>(pend));
        h.Call(RtSigprocmask, 1UL, set, 0UL, 8);
        SignalDelivery.DeliverPending(p, t);
        Assert.True(t.Exited);
        Assert.Equal(128 + 15, p.ExitStatus);
        h.NewProcess();
    }

    [Fact]
    public void HandledSignalsStayPendingForDelivery()
    {
        var (p, t) = h.NewProcess();
        p.SigHandlers[12 * 4] = 0x400000;
        Assert.Equal(0, h.Call(Tgkill, (ulong)Environment.ProcessId, (ulong)Environment.ProcessId, 12));
        Assert.False(t.Exited);
        Assert.Equal(1UL << 11, t.Pending);
        // SIG_IGN discards it from the pending set
        ulong act = SyscallHarness.Scratch + 0x9000;
        h.Space.Write(act, 1UL);
        h.Space.Write(act + 8, 0UL);
        h.Space.Write(act + 24, 0UL);
        Assert.Equal(0, h.Call(RtSigaction, 12UL, act, 0UL, 8));
        Assert.Equal(0UL, t.Pending);
        Assert.Equal(-Errno.ESRCH, h.Call(Tgkill, (ulong)Environment.ProcessId, 1UL, 12));
        h.NewProcess();
    }

    [Fact]
    public void SigaltstackRecordsAndReports()
    {
        h.NewProcess();
        ulong ss = SyscallHarness.Scratch + 0x9400, old = SyscallHarness.Scratch + 0x9500;
        Assert.Equal(0, h.Call(Sigaltstack, 0UL, old));
        Assert.Equal(2UL, h.Space.Read<ulong>(old + 8) & 0xffffffff); // SS_DISABLE
        h.Space.Write(ss, 0x7000_0000UL);
        h.Space.Write(ss + 8, 0UL);
        h.Space.Write(ss + 16, 1024UL);
        Assert.Equal(-Errno.ENOMEM, h.Call(Sigaltstack, ss, 0UL));
        h.Space.Write(ss + 16, 65536UL);
        Assert.Equal(0, h.Call(Sigaltstack, ss, 0UL));
        Assert.Equal(0, h.Call(Sigaltstack, 0UL, old));
        Assert.Equal(0x7000_0000UL, h.Space.Read<ulong>(old));
        Assert.Equal(0UL, h.Space.Read<ulong>(old + 8) & 0xffffffff);
        Assert.Equal(65536UL, h.Space.Read<ulong>(old + 16));
        h.NewProcess();
    }
}
