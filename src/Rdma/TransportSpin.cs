using System.Diagnostics;

namespace Dqemu.Rdma;

/// <summary>
/// How a thread that waits for another node's answer spends the wait — the same for a page (DSM), a futex wake and a
/// delegated syscall: for up to <see cref="ITransport.WaitSpin"/> it keeps looking, driving the transport itself
/// (<see cref="ITransport.Poll"/>) so that the answer is handled on the very thread that awaits it; whenever a poll
/// delivers nothing it yields the CPU to any other runnable thread of the node, so spinning never keeps a guest thread
/// from running. After that the caller blocks and the transport's own thread delivers and wakes it.
/// </summary>
/// <remarks>
/// Why spin at all: a blocked waiter costs two scheduler hand-offs per answer (the receiving thread must run, then the
/// waiter), and a CPU with nothing to run goes idle, which on a virtual machine costs tens of microseconds to wake
/// (measured on this project's 2-vCPU machine with UCX over shared memory: a 4 KiB request/reply round trip takes
/// 0.7 us when both sides poll, 14 us when the answering side is woken from a busy CPU, 26 us from an idle one).
/// Usage, with the caller's condition checked under its own lock and no lock held across <see cref="Next"/>:
/// <code>
/// var spin = new TransportSpin(transport);
/// try { while (!Done()) { if (!spin.Next()) Block(); } }
/// finally { spin.End(); }
/// </code>
/// A value type: a wait allocates nothing.
/// </remarks>
public struct TransportSpin
{
    /// <summary>
    /// For this long a wait only polls: most answers come within it, and while this thread polls the transport's own
    /// thread stays parked (no wake-up signals, no contention for the transport). After it, every poll that finds
    /// nothing is followed by <see cref="ITransport.EndPoll"/> and a yield of the CPU, so that while another thread has
    /// the CPU — possibly the very thread this one waits for, on a node with one CPU — the transport's own wake-up path
    /// is live; the next poll registers again. Measured on 2 one-CPU nodes (mutex/condition-variable ping-pong, 20,000
    /// rounds, us a round, ucx / tcp): a 50 us first phase 23-26 / 59-84; 20 us 53-64 / 112-143; none 160-177 /
    /// 136-172 (the transport's own thread, woken at every end, competes with the poller for every message); 100 or
    /// 200 us no better than 50. The price: a thread of the same node that the waiter waits for (a futex waker on a
    /// one-CPU node) may wait up to this long for the CPU.
    /// </summary>
    private static readonly long PollPhaseTicks = Stopwatch.Frequency / 20_000; // 50 us

    private readonly ITransport? _transport;
    private long _budgetTicks;
    private long _start;
    private bool _nudged;

    public TransportSpin(ITransport transport)
    {
        _transport = transport;
        var spin = transport.WaitSpin;
        // an urgent thread's spin would keep the node's guest threads off its CPU: it blocks at once
        _budgetTicks = spin <= TimeSpan.Zero || UrgentThread.IsFifo ? 0 : (long)(spin.TotalSeconds * Stopwatch.Frequency);
        _start = 0;
        _nudged = false;
    }

    /// <summary>True when this wait has spin time left (false for a default value or a zero <see cref="ITransport.WaitSpin"/>).</summary>
    public readonly bool Enabled => _budgetTicks > 0 && _transport != null;

    /// <summary>
    /// One round of the spin: polls the transport (or, with nothing to poll, yields). True: look at the condition
    /// again. False: the spin time is used up — block now (every later call returns false too).
    /// </summary>
    public bool Next()
    {
        if (_budgetTicks <= 0 || _transport is not { } t) return false;
        long now = Stopwatch.GetTimestamp();
        if (_start == 0) _start = now;
        else if (now - _start >= _budgetTicks)
        {
            End();
            return false;
        }
        if (!t.CanPoll)
        {
            Thread.Yield();
            return true;
        }
        if (t.Poll() > 0 || now - _start < PollPhaseTicks) return true;
        if (!_nudged && now - _start >= (long)(t.NudgeAfter.TotalSeconds * Stopwatch.Frequency))
        {
            // the answer is late: the node it should come from may be computing with its receiving thread kept off
            // the CPU (see ITransport.Nudge); earlier nudges (15-25 us) cost the ping-pong more than they won
            _nudged = true;
            t.Nudge();
        }
        t.EndPoll();
        Thread.Yield();
        return true;
    }

    /// <summary>The wait is over (or about to block): this thread stops polling (<see cref="ITransport.EndPoll"/>).
    /// Call it in a finally; a second call does nothing.</summary>
    public void End()
    {
        if (_start == 0 || _start == long.MinValue) return;
        _start = long.MinValue;
        _budgetTicks = 0;
        if (_transport is { CanPoll: true } t) t.EndPoll();
    }
}
