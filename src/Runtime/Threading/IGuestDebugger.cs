namespace Dqemu.Runtime.Threading;

/// <summary>
/// What the dispatcher asks of an attached debugger (src/Runtime/Debugging; <see cref="GuestProcess.Debugger"/>,
/// null without -g). Every call is made on the guest thread itself, between blocks, where its CpuState is exact;
/// the calls that may stop the thread block it until the debugger resumes it.
/// </summary>
public interface IGuestDebugger
{
    /// <summary>Before each run of translated code: parks the thread while the debugger holds the process stopped.
    /// True when the thread is to run exactly one instruction next (a single step).</summary>
    bool BeforeRun(GuestThread thread);

    /// <summary>The thread stopped for the debugger (a breakpoint reached, a step done): reports it with
    /// <paramref name="signal"/> (SIGTRAP) and parks until resumed.</summary>
    void Stop(GuestThread thread, int signal);

    /// <summary>A single step (<see cref="BeforeRun"/> returned true) has run its instruction: reported as a SIGTRAP
    /// stop unless the thread stopped for something else meanwhile (a signal); parks until resumed.</summary>
    void StepDone(GuestThread thread);

    /// <summary>A signal is about to reach the guest: reports it as a stop and parks until resumed. Returns the
    /// signal to deliver: <paramref name="signal"/>, or 0 when the debugger resumed without it.</summary>
    int Signal(GuestThread thread, int signal);

    /// <summary>The process ends with <paramref name="status"/> (an exit code, or the number of the signal
    /// that killed it when <paramref name="bySignal"/>): told to the debugger before the host process ends.</summary>
    void Exiting(int status, bool bySignal);
}
