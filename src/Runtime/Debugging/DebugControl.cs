using Dqemu.Runtime.Signals;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Debugging;

/// <summary>
/// All-stop execution control for a debugger: one stop event at a time (a thread's breakpoint, step or signal,
/// a Ctrl-C, the start), every other thread parked at its next block boundary (ExitRequest makes linked code
/// come back to the dispatcher) or left in the host syscall it is blocked in, and a resume that gives each thread
/// its own action (continue, step one instruction, or stay stopped). Guest threads call in through
/// <see cref="IGuestDebugger"/>; the stub (<see cref="GdbStub"/>) waits for events and resumes. One lock guards it all.
/// </summary>
public sealed class DebugControl : IGuestDebugger
{
    public enum Action { Continue, Step, Hold }

    private sealed class ThreadControl
    {
        public Action Action;
        public int ResumeSignal;  // the signal gdb resumed this thread with ("C"/"S"), 0 for none
        public bool Parked;       // waiting here: its CpuState is exact and nobody runs it
        public bool Stepping;     // running its single step; cleared by any stop it reports
    }

    private readonly GuestProcess _process;
    private readonly object _lock = new();
    private readonly Dictionary<GuestThread, ThreadControl> _threads = new();
    private Action _newThreadAction = Action.Continue; // for threads gdb has not seen when it resumed
    private bool _stopped;          // all-stop in effect: every thread parks at its next boundary
    private bool _hasEvent;         // a stop is reported (or to be): only one at a time
    private volatile bool _detached;

    public DebugControl(GuestProcess process) => _process = process;

    /// <summary>The thread and signal of the stop being reported (valid while stopped).</summary>
    public GuestThread? EventThread { get; private set; }
    public int EventSignal { get; private set; }

    /// <summary>Told when the process ends (the stub sends gdb "W" or "X").</summary>
    public Action<int, bool>? OnExit { get; set; }

    private ThreadControl Control(GuestThread t)
    {
        if (!_threads.TryGetValue(t, out var c)) _threads[t] = c = new ThreadControl { Action = _newThreadAction };
        return c;
    }

    /// <summary>Waits here (lock held by the caller) until someone pulses; marked parked meanwhile.</summary>
    private void Park(ThreadControl c)
    {
        c.Parked = true;
        Monitor.PulseAll(_lock); // the stub may be waiting for every thread to park
        Monitor.Wait(_lock);
        c.Parked = false;
    }

    public bool BeforeRun(GuestThread thread)
    {
        if (_detached) return false;
        lock (_lock)
        {
            var c = Control(thread);
            while ((_stopped || c.Action == Action.Hold) && !_detached) Park(c);
            if (_detached || c.Action != Action.Step) return false;
            c.Stepping = true;
            return true;
        }
    }

    // A breakpoint or step stop that had to wait while another thread's stop was reported is dropped when gdb
    // resumed meanwhile: gdb may have removed that breakpoint (a SIGTRAP at no breakpoint confuses it) or given the
    // thread another action. The thread then runs on from its Pc: a breakpoint still there stops it again.

    public void Stop(GuestThread thread, int signal) =>
        Post(thread, Report(thread, signal, onlyWhenStepping: false, dropWhenResumed: true));

    public void StepDone(GuestThread thread) =>
        Post(thread, Report(thread, Dispatcher.SigTrap, onlyWhenStepping: true, dropWhenResumed: true));

    /// <summary>gdb resumed a thread stopped at a breakpoint or after a step with a signal (`signal SIGUSR1`: a "C"
    /// or "S" action): the thread takes it before its next instruction, as under qemu.</summary>
    private void Post(GuestThread thread, int? resumeSignal)
    {
        if (resumeSignal is int sig && sig > 0) SignalDelivery.DeliverFromDebugger(_process, thread, sig);
    }

    public int Signal(GuestThread thread, int signal) => Report(thread, signal, onlyWhenStepping: false, dropWhenResumed: false) ?? signal;

    private long _resumes; // count of Resume calls

    /// <summary>Reports a stop of <paramref name="thread"/> once no other is being reported, stops every thread and
    /// waits to be resumed; returns the signal it was resumed with, or null when nothing was reported.</summary>
    private int? Report(GuestThread thread, int signal, bool onlyWhenStepping, bool dropWhenResumed)
    {
        if (_detached) return null;
        lock (_lock)
        {
            var c = Control(thread);
            if (onlyWhenStepping && !c.Stepping) return null;
            c.Stepping = false;
            long resumes = _resumes;
            // another thread's stop is being reported, or gdb keeps this thread stopped: this one comes later
            while ((_hasEvent || c.Action == Action.Hold) && !_detached) Park(c);
            if (_detached || (dropWhenResumed && _resumes != resumes)) return null;
            StopAllLocked(thread, signal);
            while ((_stopped || c.Action == Action.Hold) && !_detached) Park(c);
            return _detached ? null : c.ResumeSignal;
        }
    }

    private void StopAllLocked(GuestThread thread, int signal)
    {
        _hasEvent = true;
        _stopped = true;
        EventThread = thread;
        EventSignal = signal;
        _process.RequestExitAll(); // linked code comes back to the dispatcher at the next block start
        Monitor.PulseAll(_lock);
    }

    /// <summary>The start (before the first instruction) or a Ctrl-C: stops every thread, reported as
    /// <paramref name="thread"/> stopping with <paramref name="signal"/>; nothing when a stop is already reported.</summary>
    public void StopAll(GuestThread thread, int signal)
    {
        lock (_lock)
            if (!_hasEvent) StopAllLocked(thread, signal);
    }

    /// <summary>Waits up to <paramref name="ms"/> for a stop event; true when there is one.</summary>
    public bool WaitForEvent(int ms)
    {
        lock (_lock)
        {
            if (!_hasEvent) Monitor.Wait(_lock, ms);
            return _hasEvent;
        }
    }

    /// <summary>
    /// After an event: waits until every thread is parked, blocked in a host syscall (its CpuState is the one at
    /// the SVC, Pc after it) or gone, at most <paramref name="ms"/> (a thread that never reaches a block boundary
    /// is then reported running as it is).
    /// </summary>
    public void WaitUntilStopped(int ms)
    {
        long deadline = Environment.TickCount64 + ms;
        lock (_lock)
        {
            while (Environment.TickCount64 < deadline)
            {
                bool all = true;
                foreach (var t in _process.Threads.Values)
                    if (!t.Exited && !t.InSyscall && !(_threads.TryGetValue(t, out var c) && c.Parked)) { all = false; break; }
                if (all) return;
                Monitor.Wait(_lock, 1);
            }
        }
    }

    /// <summary>
    /// Resumes the process: each thread gets <paramref name="actionFor"/>(tid) (its action and signal); threads
    /// created later get <paramref name="newThreads"/>.
    /// </summary>
    public void Resume(Func<int, (Action action, int signal)> actionFor, Action newThreads)
    {
        lock (_lock)
        {
            foreach (var t in _process.Threads.Values)
            {
                var c = Control(t);
                (c.Action, c.ResumeSignal) = actionFor(t.Tid);
            }
            _newThreadAction = newThreads;
            _resumes++;
            _hasEvent = false;
            _stopped = false;
            EventThread = null;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>gdb is gone or detached: every thread runs on as if no debugger had been there.</summary>
    public void Detach()
    {
        lock (_lock)
        {
            _detached = true;
            _hasEvent = false;
            _stopped = false;
            Monitor.PulseAll(_lock);
        }
    }

    public void Exiting(int status, bool bySignal)
    {
        if (!_detached) OnExit?.Invoke(status, bySignal);
    }
}
