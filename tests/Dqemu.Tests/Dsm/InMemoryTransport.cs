using System.Buffers.Binary;
using System.Collections.Concurrent;
using Dqemu.Dsm;
using Dqemu.Rdma;

namespace Dqemu.Tests.Dsm;

/// <summary>One message as the in-memory network saw it (the page is the first 8 bytes of a DSM body).</summary>
public readonly record struct LoggedMessage(long Seq, int From, int To, ushort Type, ulong Page, byte[] Body)
{
    public override string ToString() => $"#{Seq} {From}->{To} {DsmMessages.Name(Type)} page 0x{Page:x}";
}

/// <summary>
/// The network of an in-memory cluster: one inbox and one delivery thread per node, so messages from one node to
/// another arrive in send order (per-pair FIFO, as <see cref="ITransport"/> promises) while different pairs interleave
/// freely. Optional seeded jitter in the delivery threads shakes the interleavings; deliveries to a node can be held
/// back to freeze a transaction half way.
/// </summary>
public sealed class InMemoryNetwork : IDisposable
{
    private readonly InMemoryTransport[] _nodes;
    private readonly List<LoggedMessage> _sent = new();
    private readonly List<LoggedMessage> _delivered = new();
    private long _seq;
    private long _pending;

    public InMemoryNetwork(int nodeCount, int jitterSeed = -1)
    {
        _nodes = new InMemoryTransport[nodeCount];
        for (int i = 0; i < nodeCount; i++)
            _nodes[i] = new InMemoryTransport(this, i, jitterSeed < 0 ? null : new Random(jitterSeed * 31 + i));
    }

    public int NodeCount => _nodes.Length;
    public InMemoryTransport this[int node] => _nodes[node];

    /// <summary>Messages in the order they were sent.</summary>
    public LoggedMessage[] Sent { get { lock (_sent) return _sent.ToArray(); } }

    /// <summary>Messages in the order their handlers finished.</summary>
    public LoggedMessage[] Delivered { get { lock (_sent) return _delivered.ToArray(); } }

    public void ClearLog()
    {
        lock (_sent)
        {
            _sent.Clear();
            _delivered.Clear();
        }
    }

    /// <summary>Node <paramref name="node"/> dies: sends to it throw <see cref="NodeLostException"/> and every other
    /// node's handler hears <see cref="IMessageHandler.OnNodeLost"/>.</summary>
    public void Kill(int node)
    {
        _nodes[node].Lost = true;
        for (int i = 0; i < _nodes.Length; i++)
            if (i != node) _nodes[i].Handler?.OnNodeLost(node, $"node {node} (in-memory) was killed");
    }

    /// <summary>Stops delivering to <paramref name="node"/> (messages queue up) until <see cref="Release"/>.</summary>
    public void Hold(int node) => _nodes[node].Gate.Reset();
    public void Release(int node) => _nodes[node].Gate.Set();

    /// <summary>Waits until every sent message has been handled (held inboxes never drain: do not call while holding).</summary>
    public void WaitIdle(int timeoutMs = 5000)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (Interlocked.Read(ref _pending) != 0)
        {
            if (sw.ElapsedMilliseconds > timeoutMs) throw new TimeoutException($"network not idle: {Interlocked.Read(ref _pending)} messages pending");
            Thread.Sleep(1);
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds (polling), failing after the timeout.</summary>
    public static void WaitUntil(Func<bool> condition, string what, int timeoutMs = 5000)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.ElapsedMilliseconds > timeoutMs) throw new TimeoutException("timed out waiting for " + what);
            Thread.Sleep(1);
        }
    }

    internal void Send(int from, int to, ushort type, ReadOnlySpan<byte> body)
    {
        ulong page = body.Length >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(body) : ulong.MaxValue;
        var bytes = body.ToArray();
        Interlocked.Increment(ref _pending);
        lock (_sent)
        {
            var m = new LoggedMessage(++_seq, from, to, type, page, bytes);
            _sent.Add(m);
            _nodes[to].Inbox.Add(m);  // under the log lock: log order == enqueue order
        }
    }

    internal void Delivered1(in LoggedMessage m)
    {
        lock (_sent) _delivered.Add(m);
        Interlocked.Decrement(ref _pending);
    }

    public void Dispose()
    {
        foreach (var n in _nodes) n.Dispose();
    }
}

public sealed class InMemoryTransport : ITransport
{
    private readonly InMemoryNetwork _net;
    private readonly Random? _jitter;
    private Thread? _thread;
    private volatile bool _disposed;
    private long _msgSent, _bytesSent, _msgReceived, _bytesReceived;

    internal readonly BlockingCollection<LoggedMessage> Inbox = new();
    internal volatile bool Lost;
    internal IMessageHandler? Handler;
    internal readonly ManualResetEventSlim Gate = new(true);

    internal InMemoryTransport(InMemoryNetwork net, int self, Random? jitter)
    {
        _net = net;
        Self = self;
        _jitter = jitter;
    }

    public int Self { get; }
    public int NodeCount => _net.NodeCount;

    /// <summary>An exception a handler threw (handlers must not throw; tests assert this stays null).</summary>
    public Exception? HandlerException { get; private set; }

    public void Start(IMessageHandler handler)
    {
        if (_thread is not null) throw new InvalidOperationException("started twice");
        Handler = handler;
        _thread = new Thread(() => Deliver(handler)) { IsBackground = true, Name = $"inmem-rx-{Self}" };
        _thread.Start();
    }

    private void Deliver(IMessageHandler handler)
    {
        try
        {
            foreach (var m in Inbox.GetConsumingEnumerable())
            {
                Gate.Wait();
                if (_jitter is not null)
                {
                    int r = _jitter.Next(16);
                    if (r == 0) Thread.Sleep(0);
                    else if (r == 1) Thread.Yield();
                    else if (r == 2) Thread.SpinWait(_jitter.Next(50, 500));
                }
                Interlocked.Increment(ref _msgReceived);
                Interlocked.Add(ref _bytesReceived, m.Body.Length);
                try
                {
                    handler.OnMessage(m.From, m.Type, m.Body);
                }
                catch (Exception ex)
                {
                    HandlerException ??= ex;
                }
                _net.Delivered1(m);
            }
        }
        catch (ObjectDisposedException)
        {
        }
        catch (InvalidOperationException)
        {
        }
    }

    public void Send(int node, ushort type, ReadOnlySpan<byte> body)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (node == Self) throw new ArgumentException("sending to self", nameof(node));
        if (node < 0 || node >= NodeCount) throw new ArgumentOutOfRangeException(nameof(node));
        if (_net[node].Lost) throw new NodeLostException(node, $"node {node} (in-memory) is lost");
        Interlocked.Increment(ref _msgSent);
        Interlocked.Add(ref _bytesSent, body.Length);
        _net.Send(Self, node, type, body);
    }

    /// <summary>The delivery thread delivers everything: nothing to poll, and waiters block at once.</summary>
    public int Poll() => 0;

    public void EndPoll() { }

    public bool CanPoll => false;

    public TimeSpan WaitSpin => TimeSpan.Zero;

    public TransportCounters GetCounters(int node) => default;

    public TransportCounters Totals => new(Interlocked.Read(ref _msgSent), Interlocked.Read(ref _bytesSent),
        Interlocked.Read(ref _msgReceived), Interlocked.Read(ref _bytesReceived));

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Inbox.CompleteAdding();
        Gate.Set();
        _thread?.Join(2000);
    }
}
