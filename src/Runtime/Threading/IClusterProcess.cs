using Dqemu.Runtime.Signals;
using Dqemu.Runtime.Syscalls;

namespace Dqemu.Runtime.Threading;

/// <summary>
/// What a guest process asks of its cluster (implemented by Cluster.ClusterNode; null on one node): where new
/// threads run, where syscalls run (DESIGN.md invariant 5), faults on pages another node holds, signals and
/// exits that cross nodes.
/// </summary>
public interface IClusterProcess
{
    /// <summary>This node's id (0 runs the guest's main thread and its process-wide state).</summary>
    int Self { get; }

    /// <summary>Returned by <see cref="StartThread"/> when the new thread is to start on this node.</summary>
    public const long StartHere = long.MinValue;
    /// <summary>Like <see cref="StartHere"/>, for a thread a placement rule put here (the auto policy leaves it).</summary>
    public const long StartHerePinned = long.MinValue + 1;

    /// <summary>
    /// clone() of a thread whose CpuState image (<see cref="JitX64.State.CpuOffsets.ShippedSize"/> bytes, already
    /// set up for the child) is given: places it and starts it on another node (returns its tid or -errno), or
    /// returns <see cref="StartHere"/> or <see cref="StartHerePinned"/>.
    /// </summary>
    long StartThread(ReadOnlySpan<byte> image, uint mxcsr, ulong flags, ulong parentTid, ulong childTid, ulong signalMask);

    /// <summary>Runs a Node0 syscall of a thread on another node there; false on node 0 (run it here).</summary>
    bool TryDelegate(SyscallContext c, out long result);

    /// <summary>A guest access at <paramref name="addr"/> faulted in the instruction at <paramref name="pc"/> (host code at
    /// <paramref name="hostRip"/>): true when the page was fetched (or a split page dealt with) and the instruction
    /// should run again; false for a guest SIGSEGV.</summary>
    bool ResolveFault(ulong addr, bool write, ulong pc, ulong hostRip);

    /// <summary>The split-page table every thread's CpuState points to (JitX64 CpuOffsets.SplitMap).</summary>
    ulong SplitTable { get; }

    /// <summary>A signal for a thread of another node; false when no node can have that thread.</summary>
    bool SignalRemote(int tid, SigInfo info);

    /// <summary>A guest thread of this node ended. True when the cluster took over the process's bookkeeping
    /// (a worker reports it to node 0); false lets the process count it (node 0).</summary>
    bool ThreadFinished(GuestThread t, int status);

    /// <summary>Moves <paramref name="t"/> (this node's, between blocks, <see cref="GuestThread.MigrateTo"/> set) to that node:
    /// true when it runs there now (this host thread then ends); false when it stays here.</summary>
    bool MigrateOut(GuestThread t);

    /// <summary>The dqemu_hint syscall of <paramref name="t"/> (SyscallTable.Thread.cs): the node it is to run on, or -errno.</summary>
    long Hint(GuestThread t, int op, long arg);

    /// <summary>A worker's guest ends the whole process (fatal signal): node 0 ends it with this status.</summary>
    void RequestExit(int status);

    /// <summary>A guest thread of this node cannot go on (the coherence engine failed): report it and end the cluster.</summary>
    void Fail(string message);

    /// <summary>rt_sigaction changed signal <paramref name="sig"/>'s disposition (on node 0): every node applies it.</summary>
    void DispositionChanged(int sig);
}
