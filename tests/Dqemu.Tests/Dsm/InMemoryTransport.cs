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
/// back to freeze a transaction half way. A <c>pollable</c> network also delivers on any thread that calls
/// <see cref="ITransport.Poll"/> (one delivery at a time per receiving node, as UCX and TCP do), and its waiters spin
/// (<see cref="ITransport.WaitSpin"/>): the engines' waits then take their answers themselves, as in a real cluster.
/// </summary>
public sealed class InMemoryNetwork : IDisposable
{
    private readonly InMemoryTransport[] _nodes;
    private readonly List<LoggedMessage> _sent = new();
    private readonly List<LoggedMessage> _delivered = new();
    private long _seq;
    private long _pending;

    public InMemoryNetwork(int nodeCount, int jitterSeed = -1, bool pollable = false)
    {
        _nodes = new InMemoryTransport[nodeCount];
        for (int i = 0; i < nodeCount; i++)
            _nodes[i] = new InMemoryTransport(this, i, jitterSeed < 0 ? null : new Random(jitterSeed * 31 + i), pollable);
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
    /// node's handler hears <see cref="IMessageHandler.OnNodeLost"/> (later, by <see cref="TellLost"/>, when not
    /// <paramref name="tell"/>: a real transport's receive thread may notice after a sender did).</summary>
    public void Kill(int node, bool tell = true)
    {
        _nodes[node].Lost = true;
        if (tell) TellLost(node);
    }

    /// <summary>Every node but <paramref name="node"/> hears that it was lost.</summary>
    public void TellLost(int node)
    {
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
            _nodes[to].Enqueue(m);  // under the log lock: log order == enqueue order
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
    private readonly bool _pollable;
    private readonly Queue<LoggedMessage> _inbox = new();
    private readonly object _deliverLock = new();
    private Thread? _thread;
    private volatile bool _disposed;
    private long _msgSent, _bytesSent, _msgReceived, _bytesReceived;

    internal volatile bool Lost;
    internal IMessageHandler? Handler;
    internal readonly ManualResetEventSlim Gate = new(true);

    internal InMemoryTransport(InMemoryNetwork net, int self, Random? jitter, bool pollable)
    {
        _net = net;
        Self = self;
        _jitter = jitter;
        _pollable = pollable;
    }

    public int Self { get; }
    public int NodeCount => _net.NodeCount;

    /// <summary>An exception a handler threw (handlers must not throw; tests assert this stays null).</summary>
    public Exception? HandlerException { get; private set; }

    /// <summary>Messages delivered on a thread inside <see cref="Poll"/> (pollable networks only).</summary>
    public long PolledDeliveries;

    public void Start(IMessageHandler handler)
    {
        if (_thread is not null) throw new InvalidOperationException("started twice");
        Handler = handler;
        _thread = new Thread(DeliveryLoop) { IsBackground = true, Name = $"inmem-rx-{Self}" };
        _thread.Start();
    }

    internal void Enqueue(LoggedMessage m)
    {
        lock (_inbox)
        {
            _inbox.Enqueue(m);
            Monitor.Pulse(_inbox);
        }
    }

    private void DeliveryLoop()
    {
        while (true)
        {
            lock (_inbox)
            {
                while (_inbox.Count == 0 && !_disposed) Monitor.Wait(_inbox);
                if (_disposed) return;
            }
            lock (_deliverLock) DeliverOne();
        }
    }

    /// <summary>Delivers the oldest message, if any (the delivery lock is held: one delivery at a time).</summary>
    private bool DeliverOne()
    {
        LoggedMessage m;
        lock (_inbox)
            if (!_inbox.TryDequeue(out m)) return false;
        Gate.Wait();
        if (_jitter is not null)
        {
            int r = _jitter.Next(16); // the delivery lock serialises every use
            if (r == 0) Thread.Sleep(0);
            else if (r == 1) Thread.Yield();
            else if (r == 2) Thread.SpinWait(_jitter.Next(50, 500));
        }
        Interlocked.Increment(ref _msgReceived);
        Interlocked.Add(ref _bytesReceived, m.Body.Length);
        try
        {
            Handler!.OnMessage(m.From, m.Type, m.Body);
        }
        catch (Exception ex)
        {
            HandlerException ??= ex;
        }
        _net.Delivered1(m);
        return true;
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

    /// <summary>Pollable: delivers what is queued on the calling thread unless another thread is delivering or the
    /// node is held. Otherwise the delivery thread delivers everything.</summary>
    public int Poll()
    {
        if (!_pollable || _disposed || Handler is null || !Gate.IsSet || !Monitor.TryEnter(_deliverLock)) return 0;
        try
        {
            int n = 0;
            while (Gate.IsSet && DeliverOne()) n++;
            Interlocked.Add(ref PolledDeliveries, n);
            return n;
        }
        finally
        {
            Monitor.Exit(_deliverLock);
        }
    }

    public void EndPoll() { }

    public void Nudge() { }

    public string Route(int node) => "in-memory";

    public bool CanPoll => _pollable;

    public TimeSpan WaitSpin => _pollable ? TimeSpan.FromMilliseconds(2) : TimeSpan.Zero;

    public TransportCounters GetCounters(int node) => default;

    public TransportCounters Totals => new(Interlocked.Read(ref _msgSent), Interlocked.Read(ref _bytesSent),
        Interlocked.Read(ref _msgReceived), Interlocked.Read(ref _bytesReceived));

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        lock (_inbox) Monitor.PulseAll(_inbox);
        Gate.Set();
        _thread?.Join(2000);
    }
}
