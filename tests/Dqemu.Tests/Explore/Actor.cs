namespace Dqemu.Tests.Explore;

/// <summary>
/// A guest thread of an explored cluster: a real thread (the engines block guest threads inside their calls) that runs
/// only while the explorer waits for it. The explorer hands it the baton with <see cref="Run"/>; the actor gives it back
/// when its operation ends, when a wait polls the network (<see cref="YieldWaiting"/>) or at a pause its operation asks
/// for (<see cref="Pause"/>). The thread is reused from schedule to schedule.
/// </summary>
public sealed class Actor : IDisposable
{
    [ThreadStatic] private static Actor? t_current;

    private readonly SemaphoreSlim _go = new(0), _back = new(0);
    private readonly Thread _thread;
    private Action? _work;
    private Exception? _crash;
    private volatile bool _disposed;

    public Actor(string name)
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>The actor whose thread this is, or null on any other thread (the explorer's own deliveries).</summary>
    public static Actor? Current => t_current;

    public ActorStatus Status { get; private set; } = ActorStatus.Idle;

    /// <summary>Starts <paramref name="work"/> on the actor's thread and waits until it ends or yields.</summary>
    public void Start(Action work)
    {
        if (Status != ActorStatus.Idle) throw new InvalidOperationException($"actor is {Status}");
        _work = work;
        Status = ActorStatus.Running;
        Run();
    }

    /// <summary>Lets the actor go on from where it yielded until it ends or yields again.</summary>
    public void Resume()
    {
        if (Status is not (ActorStatus.Waiting or ActorStatus.Paused)) throw new InvalidOperationException($"actor is {Status}");
        Status = ActorStatus.Running;
        Run();
    }

    private void Run()
    {
        _go.Release();
        if (!_back.Wait(TimeSpan.FromSeconds(30)))
            throw new TimeoutException($"{_thread.Name} neither yielded nor finished within 30 s (blocked outside a poll?)");
        if (_crash is { } c)
        {
            _crash = null;
            throw new InvalidOperationException($"{_thread.Name}: its operation threw", c);
        }
    }

    /// <summary>On the actor's thread, inside a wait: hand the baton back until the explorer resumes this actor.</summary>
    public void YieldWaiting() => Yield(ActorStatus.Waiting);

    /// <summary>On the actor's thread: a point where the explorer may run anything else first (a pin held, say).</summary>
    public void Pause() => Yield(ActorStatus.Paused);

    private void Yield(ActorStatus status)
    {
        if (t_current != this) throw new InvalidOperationException("yield from a foreign thread");
        Status = status;
        _back.Release();
        _go.Wait();
    }

    private void Loop()
    {
        t_current = this;
        while (true)
        {
            _go.Wait();
            if (_disposed) return;
            try
            {
                _work!();
            }
            catch (Exception ex)
            {
                _crash = ex; // operations catch what they expect; anything else fails the schedule
            }
            _work = null;
            Status = ActorStatus.Idle;
            _back.Release();
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (Status == ActorStatus.Idle) _go.Release();
    }
}

public enum ActorStatus
{
    /// <summary>No operation running.</summary>
    Idle,
    /// <summary>Has the baton.</summary>
    Running,
    /// <summary>Yielded inside a wait: worth resuming once something reached its node.</summary>
    Waiting,
    /// <summary>Yielded at a pause of its operation: may go on at any time.</summary>
    Paused,
}
