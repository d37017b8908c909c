using System.Runtime.InteropServices;
using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Dqemu.Runtime.Signals;

namespace Dqemu.Runtime.Threading;

/// <summary>One guest thread: a CpuState (invariant 4) plus the host-side things that run it.</summary>
public sealed unsafe class GuestThread : IDisposable
{
    public CpuState* Cpu { get; }
    public BlockRunner Runner { get; }
    public int Tid { get; set; }
    /// <summary>The host thread running this guest thread (its tid), 0 before it starts.</summary>
    public int HostTid { get; set; }
    /// <summary>set_tid_address / CLONE_CHILD_CLEARTID: cleared and woken when the thread exits.</summary>
    public ulong ClearChildTid { get; set; }
    public ulong SignalMask { get; set; }
    /// <summary>Signals sent to this thread and not yet delivered (bit n-1 for signal n).</summary>
    public ulong Pending;
    /// <summary>rt_sigsuspend: the mask to restore once the signal that ended the wait is handled (the handler's frame
    /// records it, so its sigreturn restores it; <see cref="HasMaskAfterSuspend"/> says whether one is set).</summary>
    public ulong MaskAfterSuspend;
    /// <summary>rt_sigtimedwait: the signals this thread waits for now (a process-directed one that every thread
    /// blocks goes to it).</summary>
    public ulong SigwaitSet;
    public bool HasMaskAfterSuspend;
    /// <summary>The siginfo of each pending signal instance (lock it to change it together with Pending).</summary>
    public readonly List<SigInfo> PendingInfo = new();
    /// <summary>sigaltstack: base, size and flags (SS_DISABLE when none).</summary>
    public ulong AltStackSp, AltStackSize;
    public int AltStackFlags = SignalDelivery.SsDisable;
    /// <summary>Set by a syscall whose result must not be written to X0 (rt_sigreturn restores all registers).</summary>
    public bool SuppressResult;
    public bool Exited { get; set; }
    /// <summary>The status a plain exit() gave; the process's if this thread is the last.</summary>
    public int ExitCode { get; set; }

    public long Syscalls;
    /// <summary>Faults on pages another node held (cluster), resolved by fetching the page.</summary>
    public long PageFaults;
    /// <summary>Wakes this thread from a cluster futex wait when a signal arrives (null on one node).</summary>
    public Dqemu.Dsm.FutexWaiter? FutexWaiter { get; set; }
    /// <summary>The node this thread is to move to at its next dispatcher pass (live migration), or -1.</summary>
    public volatile int MigrateTo = -1;
    /// <summary>Set once the thread runs on another node: its host thread here ends without the guest thread ending.</summary>
    public bool Migrated { get; set; }
    /// <summary>Placed by a rule or a hint: the automatic placement policy never moves it.</summary>
    public bool Pinned { get; set; }
    /// <summary>True while the thread is inside a syscall (one that blocks makes it idle for placement decisions).</summary>
    public volatile bool InSyscall;
    /// <summary>The guest address (low bit set for a write) whose page the dispatcher is asking the cluster for, 0 when
    /// none: for <see cref="Diagnosis"/>, two stores a fault.</summary>
    public ulong WaitingForPage;
    /// <summary>Remote page faults by page since the placement policy last looked (cluster placement = "auto";
    /// null otherwise). Lock it to use it: the policy's sampler swaps it out from another thread.</summary>
    public Dictionary<ulong, int>? FaultPages;
    /// <summary>Futex words this thread waited on or woke, with how many calls, since the policy last looked (with
    /// <see cref="FaultPages"/>; null otherwise): threads meeting at the same words work together. Swapped out like it.</summary>
    public Dictionary<ulong, int>? SyncAddrs;

    /// <summary>Counts a futex call of this thread on <paramref name="addr"/> for the placement policy (when it looks).</summary>
    public void NoteSync(ulong addr) => Count(SyncAddrs, addr);

    /// <summary>Counts a fault of this thread resolved by the cluster on <paramref name="page"/> (when the policy looks).</summary>
    public void NoteFault(ulong page) => Count(FaultPages, page);

    /// <summary>One more for <paramref name="key"/> in a map the placement sampler swaps out from another thread.</summary>
    private static void Count(Dictionary<ulong, int>? counts, ulong key)
    {
        if (counts is null) return;
        lock (counts) counts[key] = counts.GetValueOrDefault(key) + 1;
    }
    /// <summary>With <see cref="FaultPages"/> (placement = "auto"): this thread's CPU clock (set on its host thread,
    /// <see cref="Host.ThreadCpuTime.NoClock"/> before), and the CPU nanoseconds it spent outside guest code
    /// (resolving remote faults, in syscalls, which includes spinning for another node's answer). Their difference is
    /// the guest work the policy weighs.</summary>
    public int CpuClock = Host.ThreadCpuTime.NoClock;
    public long OverheadCpuNs;
    /// <summary>The dispatcher adds to <see cref="OverheadCpuNs"/> only while this is set: the placement sampler sets it
    /// for a thread that faulted on remote pages in its last window (only such a thread's stalled share decides
    /// anything, a crowding of threads on several nodes), because reading a thread CPU clock is a system call (~1.3 us
    /// here, twice per syscall: streamcluster's ~6,500 futex calls a second per thread lost 4% to it).</summary>
    public volatile bool MeasureOverhead;
    /// <summary>The placement sampler's last readings of the two (on the node the thread runs on).</summary>
    public long SampledCpuNs, SampledOverheadNs;
    /// <summary>How often the dispatcher saw each <see cref="ExitReason"/>.</summary>
    public readonly long[] Exits = new long[16];

    public string StatsLine()
    {
        var r = Runner;
        var exits = string.Join(", ", Enumerable.Range(0, Exits.Length).Where(i => Exits[i] > 0).Select(i => $"{(ExitReason)i} {Exits[i]}"));
        return $"thread {Tid}: insns translated {r.InstructionsTranslated}, blocks translated {r.BlocksTranslated}, blocks run {Cpu->BlocksRun}, " +
               $"dispatcher entries {r.Entries}, link exits {r.LinkExits}, jump-cache misses {r.IndirectMisses}, syscalls {Syscalls}, {(PageFaults > 0 ? $"remote page faults {PageFaults}, " : "")}exits: {exits}";
    }

    public GuestThread(GuestProcess process)
    {
        Cpu = (CpuState*)NativeMemory.AlignedAlloc((nuint)sizeof(CpuState), 64);
        NativeMemory.Clear(Cpu, (nuint)sizeof(CpuState));
        Cpu->MemBase = (ulong)process.Space.Base;
        Cpu->SplitMap = process.Cluster?.SplitTable ?? 0;
        Cpu->AddrLimit = Memory.GuestSpace.Mask;
        Runner = new BlockRunner(process.Translator);
        Runner.Attach(Cpu);
    }

    public void Dispose()
    {
        Runner.Dispose();
        NativeMemory.AlignedFree(Cpu);
    }
}
