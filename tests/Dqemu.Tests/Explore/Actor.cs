namespace Dqemu.Tests.Explore;

/// <summary>
/// A guest thread of an explored cluster: a real thread (the engines block guest threads inside their calls) that runs
/// only during its turns. Exactly one thread of a schedule runs at any time and it drives the schedule itself: when
/// an actor's turn ends — its operation is over, a wait polls the network (<see cref="YieldWaiting"/>) or the operation
/// pauses (<see cref="Pause"/>) — the actor's own thread picks the next steps and runs them (deliveries run there
/// too) until one is another actor's turn, wakes that actor and sleeps until it is chosen again. A turn handed to the
/// actor that just yielded costs no thread switch at all: the explorer's speed is set by these switches.
/// The thread is reused from schedule to schedule.
/// </summary>
public sealed class Actor : IDisposable
{
    [ThreadStatic] private static Actor? t_current;

    private readonly SemaphoreSlim _wake = new(0);
    private readonly Thread _thread;
    private Action? _work;
    private volatile bool _disposed;

    public Actor(string name)
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>The actor whose thread this is, or null on any other thread.</summary>
    public static Actor? Current => t_current;

    public ActorStatus Status { get; private set; } = ActorStatus.Idle;

    /// <summary>Runs the schedule on this actor's thread after its turn ends, and returns when its next turn begins.
    /// Set by the schedule that uses the actor.</summary>
    internal Action? Drive;

    /// <summary>Told of an exception an operation let out (operations catch what they expect).</summary>
    internal Action<Exception>? Crashed;

    /// <summary>The next turn starts <paramref name="work"/> (the actor must be idle).</summary>
    internal void Assign(Action work)
    {
        if (Status != ActorStatus.Idle) throw new InvalidOperationException($"{_thread.Name} is {Status}");
        _work = work;
    }

    /// <summary>Lets the actor's thread go on with its turn (called by the thread that chose it, which then sleeps).</summary>
    internal void Wake() => _wake.Release();

    /// <summary>On the actor's thread: sleeps until another thread wakes it for its next turn.</summary>
    internal void Sleep() => _wake.Wait();

    /// <summary>On the actor's thread, inside a wait: the turn ends until the schedule resumes this actor.</summary>
    public void YieldWaiting() => Yield(ActorStatus.Waiting);

    /// <summary>On the actor's thread: a point where the schedule may run anything else first (a pin held, say).</summary>
    public void Pause() => Yield(ActorStatus.Paused);

    private void Yield(ActorStatus status)
    {
        if (t_current != this) throw new InvalidOperationException("yield from a foreign thread");
        Status = status;
        Drive!();
        Status = ActorStatus.Running;
    }

    private void Loop()
    {
        t_current = this;
        _wake.Wait();
        while (!_disposed)
        {
            var work = _work;
            _work = null;
            Status = ActorStatus.Running;
            try
            {
                work?.Invoke();
            }
            catch (Exception ex)
            {
                Crashed?.Invoke(ex);
            }
            Status = ActorStatus.Idle;
            Drive!(); // returns when a later turn gives this actor its next operation
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _wake.Release();
    }
}

public enum ActorStatus
{
    /// <summary>No operation running.</summary>
    Idle,
    /// <summary>Its turn.</summary>
    Running,
    /// <summary>Yielded inside a wait: worth resuming once something reached its node.</summary>
    Waiting,
    /// <summary>Yielded at a pause of its operation: may go on at any time.</summary>
    Paused,
}
