using System.Collections.Concurrent;
using Dqemu.JitX64.Translation;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Memory;

namespace Dqemu.Runtime.Threading;

/// <summary>Process-wide state of the guest: its memory, its translator, its files' view and its exit.</summary>
public sealed class GuestProcess
{
    public GuestSpace Space { get; }
    public Translator Translator { get; }
    public RuntimeOptions Options { get; }
    /// <summary>The guest executable's absolute host path (what /proc/self/exe reads as).</summary>
    public string ExePath { get; }

    /// <summary>/proc/self/cmdline: the guest's argv, each string NUL-terminated.</summary>
    public byte[] Cmdline { get; set; } = [];

    /// <summary>/proc/self/auxv: the auxiliary vector the guest started with (key, value pairs of u64, AT_NULL last).</summary>
    public byte[] Auxv { get; set; } = [];
    /// <summary>/proc/self/stat's startstack: the stack pointer the guest started with.</summary>
    public ulong StartStack { get; set; }

    /// <summary>/proc/self/stat's arg_start, arg_end, env_start, env_end (ProcFiles.NoteStartStack).</summary>
    public (ulong ArgStart, ulong ArgEnd, ulong EnvStart, ulong EnvEnd) StackStrings { get; set; }

    /// <summary>The name the layout gives the program's own mappings (ProcFiles.NoteStartStack).</summary>
    public string ExeMapName { get; set; } = "";

    /// <summary>Prefix tried first for absolute guest paths (-L), or null.</summary>
    public string? Sysroot { get; }

    private int _exitStatus = -1;
    public bool Exiting => Volatile.Read(ref _exitStatus) >= 0;
    public int ExitStatus => _exitStatus;

    /// <summary>
    /// Signal dispositions from rt_sigaction: for signal n, entries [4n..4n+3] hold the guest's
    /// struct sigaction as AArch64 Linux lays it out: handler, flags, restorer, mask.
    /// </summary>
    public readonly ulong[] SigHandlers = new ulong[65 * 4];

    /// <summary>Guest address of the "mov x8, #139; svc #0" page signal handlers return through.</summary>
    public ulong SigreturnTrampoline { get; set; }

    public GuestProcess(GuestSpace space, Translator translator, RuntimeOptions options, string exePath, string? sysroot)
    {
        Diagnosis.Register(this);
        Space = space;
        Translator = translator;
        Options = options;
        ExePath = exePath;
        Sysroot = sysroot;
        Futex = new HostFutex(space);
    }

    /// <summary>The ELF images whose symbols name translated blocks (--perf-map, --profile), or null when nothing asks
    /// for names.</summary>
    public Profiling.GuestModules? Modules { get; init; }

    /// <summary>The guest's pid: this process's, or node 0's on a cluster worker.</summary>
    public static int Pid { get; set; } = Environment.ProcessId;

    /// <summary>The cluster this node belongs to, or null on one node.</summary>
    public IClusterProcess? Cluster { get; set; }

    /// <summary>A guest tid for the host thread <paramref name="hostTid"/>: node n's threads get n &lt;&lt; 22 added
    /// (Linux tids stay below 2^22), so tids are unique across the cluster and name their node.</summary>
    public int TidFor(int hostTid) => hostTid + ((Cluster?.Self ?? 0) << NodeTidShift);

    public const int NodeTidShift = 22;

    /// <summary>Every live guest thread by tid.</summary>
    public ConcurrentDictionary<int, GuestThread> Threads { get; } = new();
    private int _liveThreads;
    public int LiveThreads => Volatile.Read(ref _liveThreads);

    /// <summary>Futex operations, behind one interface so a cluster can layer its own under it.</summary>
    public IFutex Futex { get; set; }

    /// <summary>The debugger attached with -g, or null.</summary>
    public IGuestDebugger? Debugger { get; set; }

    /// <summary>The signal that killed the process (<see cref="KillBySignal"/>), 0 when it exits.</summary>
    public int KilledBy => _killedBy;
    private int _killedBy;

    /// <summary>Runs once just before the host process ends (statistics).</summary>
    public Action? BeforeExit { get; set; }

    private int _terminating;

    /// <summary>Counters of threads that have ended, for --stats.</summary>
    public readonly List<string> FinishedThreadStats = new();

    public void RecordFinished(GuestThread t)
    {
        if (!Options.Stats) return;
        lock (FinishedThreadStats) FinishedThreadStats.Add(t.StatsLine());
    }

    /// <summary>Makes every thread leave its block at the next block start (translations were dropped, or the runner
    /// must look at something).</summary>
    public unsafe void RequestExitAll()
    {
        foreach (var t in Threads.Values) Signals.ThreadInterrupter.RequestExit(t);
    }

    /// <summary>A thread starts here; <paramref name="counted"/> when it is counted already (node 0 counts the threads
    /// of other nodes too, and one of them moved here).</summary>
    public void AddThread(GuestThread t, bool counted = false)
    {
        Threads[t.Tid] = t;
        if (!counted) Interlocked.Increment(ref _liveThreads);
    }

    /// <summary>In the child of a guest's fork: <paramref name="survivor"/> (the forking thread, with its new tid) is
    /// the only thread, as after Linux's fork.</summary>
    public void BecomeForkChild(GuestThread survivor)
    {
        Threads.Clear();
        Threads[survivor.Tid] = survivor;
        Volatile.Write(ref _liveThreads, 1);
    }

    /// <summary>A thread has left its dispatcher loop; the last one out ends the process.</summary>
    public void ThreadFinished(GuestThread t, int status)
    {
        Threads.TryRemove(t.Tid, out _);
        if (Cluster?.ThreadFinished(t, status) == true) return;
        HandOnPending(t);
        CountFinished(status);
    }

    /// <summary>
    /// A thread that ends leaves its process-directed pending signals (a kill, a sigqueue, a child's exit: anything but
    /// a tkill's) to the threads that remain, as Linux's shared pending set would still hold them: a thread that sent
    /// itself a signal every thread blocks and then ended would otherwise take it along (a signalfd reader never saw it).
    /// </summary>
    private void HandOnPending(GuestThread t)
    {
        while (Signals.SignalDelivery.TryTake(t, ~0UL, anyCode: false, out var info))
        {
            var heir = Threads.Values.FirstOrDefault(x => !x.Exited);
            if (heir == null) return;
            Syscalls.GuestSignals.SendToProcess(this, heir, info);
        }
    }

    /// <summary>Node 0 counts a guest thread that runs on another node.</summary>
    public void AddRemoteThread() => Interlocked.Increment(ref _liveThreads);

    /// <summary>A thread ended (here or, on node 0, anywhere in the cluster); the last one out ends the process.</summary>
    public void CountFinished(int status)
    {
        if (Interlocked.Decrement(ref _liveThreads) == 0)
        {
            Exit(status);
            Terminate();
        }
    }

    /// <summary>
    /// Ends the host process by <paramref name="signal"/> itself, as qemu-aarch64 does, so that a parent's wait sees
    /// WIFSIGNALED (a shell's "Killed", a test harness's signal) and not an exit status: the signal's host
    /// disposition goes back to the default, it is unblocked and sent to this thread. No host core file is written
    /// (RLIMIT_CORE 0, as qemu sets it): it would be the emulator's, not the guest's. Returns only if the signal did
    /// not end the process.
    /// </summary>
    private static unsafe void DieOfSignal(int signal)
    {
        const int RlimitCore = 4;
        Span<ulong> noCore = stackalloc ulong[2]; // soft and hard limit 0
        fixed (ulong* lim = noCore) HostSyscall.Call(HostSyscall.Nr.Prlimit64, 0, RlimitCore, (long)lim, 0);
        var act = default(Tmds.Linux.sigaction);
        Tmds.Linux.LibC.sigaction(signal, &act, null);
        ulong set = 1UL << (signal - 1);
        HostSyscall.Call(HostSyscall.Nr.RtSigprocmask, 1 /* SIG_UNBLOCK */, (long)&set, 0, 8);
        HostSyscall.Call(HostSyscall.Nr.Tgkill, Host.Ids.Pid, HostSyscall.Call(HostSyscall.Nr.Gettid), signal);
    }

    /// <summary>Marks the whole process as exiting with <paramref name="status"/> (first caller wins).</summary>
    public void Exit(int status) => Interlocked.CompareExchange(ref _exitStatus, status & 0xff, -1);

    /// <summary>Ends the process as if killed by <paramref name="signal"/> (status 128+signal, as a shell sees it).</summary>
    public void KillBySignal(int signal)
    {
        if (Interlocked.CompareExchange(ref _exitStatus, 128 + signal, -1) == -1) _killedBy = signal;
    }

    /// <summary>Sets the final status as a shell sees it (0-255, or 128+signal), first caller wins.</summary>
    public void SetExitStatus(int status) => Interlocked.CompareExchange(ref _exitStatus, status, -1);

    /// <summary>
    /// exit_group and fatal signals: every thread stops at once, wherever it is (running translated code or
    /// blocked in a host syscall), because the host process ends here with the guest's status.
    /// </summary>
    public void Terminate()
    {
        if (Interlocked.Exchange(ref _terminating, 1) != 0)
        {
            Thread.Sleep(Timeout.Infinite); // the first caller is ending the process
        }
        if (Cluster is { Self: > 0 } cluster)
        {
            // a worker's guest cannot end the process by itself: node 0 ends it, and stops this node
            cluster.RequestExit(ExitStatus < 0 ? 0 : ExitStatus);
            Thread.Sleep(Timeout.Infinite);
        }
        Profiling.PerfMap.FlushActive();
        try { Debugger?.Exiting(KilledBy != 0 ? KilledBy : Math.Max(ExitStatus, 0), KilledBy != 0); } catch { /* the debugger went away */ }
        try { BeforeExit?.Invoke(); } catch { /* statistics must not keep the guest's status from the parent */ }
        Console.Error.Flush();
        Console.Out.Flush();
        if (KilledBy != 0 && Cluster == null) DieOfSignal(KilledBy);
        HostSyscall.Call(HostSyscall.Nr.ExitGroup, ExitStatus < 0 ? 0 : ExitStatus);
    }
}
