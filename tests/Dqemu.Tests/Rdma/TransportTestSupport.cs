using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Dqemu.Rdma;

namespace Dqemu.Tests.Rdma;

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

    public RecordingHandler(bool keepBodies = true, Action<int, ushort, ReadOnlySpan<byte>>? onMessage = null)
    {
        _keepBodies = keepBodies;
        _onMessage = onMessage;
    }

    public long Count => Interlocked.Read(ref _count);
    public IReadOnlyList<Received> Messages => _messages.ToArray();
    public IReadOnlyList<Lost> LostNodes => _lost.ToArray();

    public void OnMessage(int from, ushort type, ReadOnlySpan<byte> body)
    {
        _onMessage?.Invoke(from, type, body);
        if (_keepBodies) _messages.Enqueue(new Received(from, type, body.ToArray()));
        Interlocked.Increment(ref _count);
    }

    public void OnNodeLost(int node, string reason) => _lost.Enqueue(new Lost(node, reason, Environment.TickCount64));

    public bool WaitForCount(long n, TimeSpan timeout) => TransportTestSupport.WaitUntil(() => Count >= n, timeout);
    public bool WaitForLost(int n, TimeSpan timeout) => TransportTestSupport.WaitUntil(() => _lost.Count >= n, timeout);
}

internal static class TransportTestSupport
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);

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

    /// <summary>What one node's <see cref="TcpTransport.Connect"/> produced.</summary>
    public sealed class Outcome
    {
        public TcpTransport? Transport;
        public Exception? Error;
        public Thread Thread = null!;
    }

    /// <summary>
    /// Runs <see cref="TcpTransport.Connect"/> for the given nodes, each on its own thread, and waits for all
    /// (bounded: the connect timeout plus a margin); results in the order of <paramref name="selves"/>.
    /// </summary>
    public static Outcome[] ConnectConcurrently(IReadOnlyList<IPEndPoint> eps, IEnumerable<int> selves, TimeSpan timeout,
                                                Func<int, ulong>? token = null, Func<int, TcpTransportOptions?>? options = null,
                                                IReadOnlyList<IPEndPoint>[]? lists = null)
    {
        var outcomes = new List<Outcome>();
        foreach (int self in selves)
        {
            var o = new Outcome();
            int i = self;
            o.Thread = new Thread(() =>
            {
                try
                {
                    o.Transport = TcpTransport.Connect(lists?[i] ?? eps, i, timeout, token?.Invoke(i) ?? 0xD0E5_1234UL, options?.Invoke(i));
                }
                catch (Exception e)
                {
                    o.Error = e;
                }
            }) { IsBackground = true, Name = $"connect-{i}" };
            outcomes.Add(o);
            o.Thread.Start();
        }
        foreach (var o in outcomes)
            if (!o.Thread.Join(timeout + TimeSpan.FromSeconds(10)))
                throw new Xunit.Sdk.XunitException($"{o.Thread.Name} did not return within its timeout");
        return outcomes.ToArray();
    }

    /// <summary>
    /// A connected cluster of <paramref name="n"/> nodes on 127.0.0.1. Freed ports can be taken by someone
    /// else before we bind them again, so a "cannot listen" failure retries with new ports (bounded).
    /// </summary>
    public static TcpTransport[] ConnectCluster(int n, Func<int, TcpTransportOptions?>? options = null)
    {
        for (int attempt = 0; ; attempt++)
        {
            var outcomes = ConnectConcurrently(FreeEndpoints(n), Enumerable.Range(0, n), ConnectTimeout, options: options);
            if (outcomes.All(o => o.Transport != null)) return outcomes.Select(o => o.Transport!).ToArray();
            DisposeAll(outcomes.Select(o => o.Transport));
            bool portTaken = outcomes.Any(o => o.Error?.Message.Contains("cannot listen") == true);
            if (!portTaken || attempt >= 2)
                throw new Xunit.Sdk.XunitException("cluster did not form: " +
                    string.Join(" | ", outcomes.Select(o => o.Error?.Message ?? "ok")));
        }
    }

    public static void DisposeAll(IEnumerable<ITransport?> transports)
    {
        foreach (var t in transports) t?.Dispose();
    }
}
