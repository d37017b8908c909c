using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Dqemu.Rdma;
using Xunit;

namespace Dqemu.Tests.Rdma;

/// <summary>
/// The transport test classes (TCP, UCX over its default transports, UCX over TCP) run one after another: each forms
/// clusters on freed loopback ports and pushes hundreds of thousands of messages, and their timing assertions (a loss
/// reported within seconds) should not depend on another transport's load.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TransportCollection
{
    public const string Name = "Transports";
}

/// <summary>Records what a transport delivers; every wait is bounded.</summary>
internal sealed class RecordingHandler : IMessageHandler
{
    public readonly record struct Received(int From, ushort Type, byte[] Body);
    public readonly record struct Lost(int Node, string Reason, long AtMs);

    private readonly ConcurrentQueue<Received> _messages = new();
    private readonly ConcurrentQueue<Lost> _lost = new();
    private readonly bool _keepBodies;
    private long _count;
    private readonly Action<int, ushort, ReadOnlySpan<byte>>? _onMessage;
    private readonly Lock _eventsLock = new();
    private readonly List<(bool IsLoss, int Node)> _events = [];

    public RecordingHandler(bool keepBodies = true, Action<int, ushort, ReadOnlySpan<byte>>? onMessage = null)
    {
        _keepBodies = keepBodies;
        _onMessage = onMessage;
    }

    public long Count => Interlocked.Read(ref _count);
    public IReadOnlyList<Received> Messages => _messages.ToArray();
    public IReadOnlyList<Lost> LostNodes => _lost.ToArray();

    /// <summary>A message from <paramref name="node"/> that was delivered after its loss was reported, or null.</summary>
    public string? MessageAfterLoss(int node)
    {
        lock (_eventsLock)
        {
            int loss = _events.FindIndex(e => e.IsLoss && e.Node == node);
            if (loss < 0) return null;
            int late = _events.FindIndex(loss + 1, e => !e.IsLoss && e.Node == node);
            return late < 0 ? null : $"event #{late}: a message from node {node} after its loss (event #{loss})";
        }
    }

    public void OnMessage(int from, ushort type, ReadOnlySpan<byte> body)
    {
        _onMessage?.Invoke(from, type, body);
        if (_keepBodies)
        {
            _messages.Enqueue(new Received(from, type, body.ToArray()));
            lock (_eventsLock) _events.Add((false, from));
        }
        Interlocked.Increment(ref _count);
    }

    public void OnNodeLost(int node, string reason)
    {
        lock (_eventsLock) _events.Add((true, node));
        _lost.Enqueue(new Lost(node, reason, Environment.TickCount64));
    }

    public bool WaitForCount(long n, TimeSpan timeout) => TransportTestSupport.WaitUntil(() => Count >= n, timeout);
    public bool WaitForLost(int n, TimeSpan timeout) => TransportTestSupport.WaitUntil(() => _lost.Count >= n, timeout);
    public bool WaitUntilType(ushort type, TimeSpan timeout) => TransportTestSupport.WaitUntil(() => Messages.Any(m => m.Type == type), timeout);
}

/// <summary>
/// The handler a transport is started with right after its Connect returns (see
/// <see cref="TransportTestSupport.ConnectCluster{T}"/>): keeps what arrives until the test attaches its own handler,
/// then hands that over in order and forwards everything after it, on the transport's delivering thread.
/// </summary>
internal sealed class LateHandler : IMessageHandler
{
    private readonly Lock _lock = new();
    private readonly List<(int From, ushort Type, byte[]? Body, string? Lost)> _kept = [];
    private volatile IMessageHandler? _target;

    public void Attach(IMessageHandler target)
    {
        lock (_lock)
        {
            if (_target != null) throw new InvalidOperationException("the transport was already started");
            foreach (var (from, type, body, lost) in _kept)
            {
                if (lost != null) target.OnNodeLost(from, lost);
                else target.OnMessage(from, type, body);
            }
            _kept.Clear();
            _target = target;
        }
    }

    public void OnMessage(int from, ushort type, ReadOnlySpan<byte> body)
    {
        if (_target is { } t)
        {
            t.OnMessage(from, type, body);
            return;
        }
        lock (_lock)
        {
            if (_target is { } late) late.OnMessage(from, type, body);
            else _kept.Add((from, type, body.ToArray(), null));
        }
    }

    public void OnNodeLost(int node, string reason)
    {
        if (_target is { } t)
        {
            t.OnNodeLost(node, reason);
            return;
        }
        lock (_lock)
        {
            if (_target is { } late) late.OnNodeLost(node, reason);
            else _kept.Add((node, 0, null, reason));
        }
    }
}

/// <summary>One node's way into a cluster: <c>(node list, self, timeout, cluster token) → transport</c>.</summary>
internal delegate T Connector<out T>(IReadOnlyList<IPEndPoint> nodes, int self, TimeSpan timeout, ulong token) where T : ITransport;

internal static class TransportTestSupport
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);
    public const ulong DefaultToken = 0xD0E5_1234UL;

    /// <summary>Polls <paramref name="condition"/> every few ms until it holds or <paramref name="timeout"/> passes.</summary>
    public static bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout) return condition();
            Thread.Sleep(5);
        }
        return true;
    }

    /// <summary>Free loopback endpoints: bind port 0, note the port, release it.</summary>
    public static IPEndPoint[] FreeEndpoints(int n)
    {
        var sockets = new Socket[n];
        var eps = new IPEndPoint[n];
        for (int i = 0; i < n; i++)
        {
            sockets[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            sockets[i].Bind(new IPEndPoint(IPAddress.Loopback, 0));
            eps[i] = (IPEndPoint)sockets[i].LocalEndPoint!;
        }
        foreach (var s in sockets) s.Dispose();
        return eps;
    }

    /// <summary>What one node's connect produced.</summary>
    public sealed class Outcome<T> where T : class, ITransport
    {
        public T? Transport;
        public Exception? Error;
        public Thread Thread = null!;
        public TimeSpan Elapsed;
    }

    /// <summary>
    /// Runs <paramref name="connect"/> for the given nodes, each on its own thread, and waits for all (bounded: the
    /// connect timeout plus a margin); results in the order of <paramref name="selves"/>.
    /// </summary>
    public static Outcome<T>[] ConnectConcurrently<T>(Connector<T> connect, IReadOnlyList<IPEndPoint> eps, IEnumerable<int> selves,
                                                      TimeSpan timeout, Func<int, ulong>? token = null,
                                                      IReadOnlyList<IPEndPoint>[]? lists = null) where T : class, ITransport
    {
        var outcomes = new List<Outcome<T>>();
        foreach (int self in selves)
        {
            var o = new Outcome<T>();
            int i = self;
            o.Thread = new Thread(() =>
            {
                var sw = Stopwatch.StartNew();
                try
                {
                    o.Transport = connect(lists?[i] ?? eps, i, timeout, token?.Invoke(i) ?? DefaultToken);
                }
                catch (Exception e)
                {
                    o.Error = e;
                }
                o.Elapsed = sw.Elapsed;
            }) { IsBackground = true, Name = $"connect-{i}" };
            outcomes.Add(o);
            o.Thread.Start();
        }
        foreach (var o in outcomes)
            if (!o.Thread.Join(timeout + TimeSpan.FromSeconds(10)))
                throw new Xunit.Sdk.XunitException($"{o.Thread.Name} did not return within its timeout");
        return outcomes.ToArray();
    }

    /// <summary>Transports started at connect time (<see cref="ConnectCluster{T}"/> with startAtOnce) and their handler.</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ITransport, LateHandler> Started = new();

    /// <summary>
    /// A connected cluster of <paramref name="n"/> nodes on 127.0.0.1. Freed ports can be taken by someone
    /// else before we bind them again, so a "cannot listen" failure retries with new ports (bounded), as does the
    /// dialer race of TcpTransport.Connect (see below).
    /// </summary>
    /// <param name="startAtOnce">
    /// Start every node the moment its Connect returns, with a <see cref="LateHandler"/> that <see cref="StartNode"/>
    /// later gives the test's handler — as a cluster node does, which starts its transport right after connecting. The
    /// other nodes' Connect may need this node's transport to run (UcxTransport: the peer's hello); starting every node
    /// only once all have connected is what <c>ClustersFormWhileNoNodeHasStarted</c> checks on its own.
    /// </param>
    public static T[] ConnectCluster<T>(int n, Connector<T> connect, bool startAtOnce = false) where T : class, ITransport
    {
        if (startAtOnce)
        {
            var plain = connect;
            connect = (nodes, self, timeout, token) =>
            {
                var t = plain(nodes, self, timeout, token);
                var late = new LateHandler();
                Started.Add(t, late);
                t.Start(late);
                return t;
            };
        }
        for (int attempt = 0; ; attempt++)
        {
            var outcomes = ConnectConcurrently(connect, FreeEndpoints(n), Enumerable.Range(0, n), ConnectTimeout);
            if (outcomes.All(o => o.Transport != null)) return outcomes.Select(o => o.Transport!).ToArray();
            DisposeAll(outcomes.Select(o => o.Transport));
            bool portTaken = outcomes.Any(o => o.Error?.Message.Contains("cannot listen") == true);
            // TcpTransport.Connect's wait for its dialer threads (Any, then First, of the live ones) can throw this when the
            // last dialer ends in between: a bug of its own, caught by ClustersFormWhileNoNodeHasStarted; not what the test
            // forming this cluster is about
            bool dialerRace = outcomes.Any(o => o.Error is InvalidOperationException { Message: "Sequence contains no matching element" });
            if (!(portTaken || dialerRace) || attempt >= 2)
                throw new Xunit.Sdk.XunitException("cluster did not form: " +
                    string.Join(" | ", outcomes.Select(o => o.Error?.ToString() ?? "ok")));
        }
    }

    /// <summary>Gives <paramref name="handler"/> what <paramref name="t"/> delivers: <see cref="ITransport.Start"/>, or for a
    /// node started at connect time (<see cref="ConnectCluster{T}"/>) its <see cref="LateHandler"/>'s attach.</summary>
    public static void StartNode(ITransport t, IMessageHandler handler)
    {
        if (Started.TryGetValue(t, out var late)) late.Attach(handler);
        else t.Start(handler);
    }

    /// <summary>
    /// Disposes every transport, each bounded: a Dispose that hangs fails the test instead of hanging it. One after
    /// another, or all at once (<paramref name="concurrently"/>: a node's Dispose waits a while for its peers to close
    /// their side, so a loop that forms many clusters would spend most of its time there).
    /// </summary>
    public static void DisposeAll(IEnumerable<ITransport?> transports, bool concurrently = false)
    {
        var started = new List<(ITransport T, Thread Thread, Func<Exception?> Error)>();
        foreach (var t in transports)
        {
            if (t == null) continue;
            Exception? error = null;
            var th = new Thread(() =>
            {
                try { t.Dispose(); }
                catch (Exception e) { error = e; }
            }) { IsBackground = true, Name = "dispose" };
            th.Start();
            started.Add((t, th, () => error));
            if (!concurrently) Check(started[^1]);
        }
        if (concurrently) started.ForEach(Check);

        static void Check((ITransport T, Thread Thread, Func<Exception?> Error) d)
        {
            if (!d.Thread.Join(TimeSpan.FromSeconds(20)))
                throw new Xunit.Sdk.XunitException($"Dispose of node {d.T.Self}'s {d.T.GetType().Name} did not return within 20 s");
            if (d.Error() is { } error) throw new Xunit.Sdk.XunitException($"Dispose of node {d.T.Self}'s {d.T.GetType().Name} threw: {error}");
        }
    }

    /// <summary>Runs <paramref name="action"/> on a thread of its own and fails when it does not return within <paramref name="timeout"/>.</summary>
    public static void Bounded(string what, TimeSpan timeout, Action action)
    {
        Exception? error = null;
        var th = new Thread(() =>
        {
            try { action(); }
            catch (Exception e) { error = e; }
        }) { IsBackground = true, Name = what };
        th.Start();
        if (!th.Join(timeout)) throw new Xunit.Sdk.XunitException($"{what} did not finish within {timeout.TotalSeconds:0.#} s");
        if (error != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
    }
}
