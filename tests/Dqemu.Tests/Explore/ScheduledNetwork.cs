using System.Buffers.Binary;
using Dqemu.Dsm;
using Dqemu.Rdma;

namespace Dqemu.Tests.Explore;

/// <summary>One message waiting in a channel of a <see cref="ScheduledNetwork"/>.</summary>
public readonly record struct ChannelMessage(int From, int To, ushort Type, byte[] Body)
{
    /// <summary>The page (DSM) or futex address the message is about: both protocols put it in the first 8 bytes (a
    /// Batch's first message's page).</summary>
    public ulong Subject => Subjects()[0];

    /// <summary>Every page or futex address the message is about: one, or a Batch's pages in order.</summary>
    public ulong[] Subjects()
    {
        if (Type != DsmMessages.Batch) return [BinaryPrimitives.ReadUInt64LittleEndian(Body)];
        var pages = new List<ulong>();
        var items = new DsmMessages.BatchReader(Body);
        while (items.Next(out _, out var item)) pages.Add(DsmMessages.PageOf(item));
        return [.. pages];
    }

    public bool IsDsm => DsmMessages.IsDsmMessage(Type);

    public override string ToString() => Type == DsmMessages.Batch
        ? $"{From}->{To} Batch of {string.Join(", ", BatchItems())}"
        : $"{From}->{To} {(IsDsm ? DsmMessages.Name(Type) : FutexMessages.Name(Type))} 0x{Subject:x}";

    private List<string> BatchItems()
    {
        var names = new List<string>();
        var items = new DsmMessages.BatchReader(Body);
        while (items.Next(out ushort type, out var item)) names.Add($"{DsmMessages.Name(type)} 0x{DsmMessages.PageOf(item):x}");
        return names;
    }
}

/// <summary>
/// The network of an explored cluster: nothing moves by itself. A send appends to the FIFO channel of its (from, to)
/// pair; the explorer decides which channel's oldest message is delivered next (on its own thread), so messages of one
/// pair keep their order, as <see cref="ITransport"/> promises, and everything else interleaves as the explorer
/// chooses. A node's waits poll (<see cref="ITransport.CanPoll"/>, a spin that never runs out), and a poll is where the
/// waiting <see cref="Actor"/> hands control back to the explorer: only one thread runs at any time, so a schedule is
/// a sequence of choices and a seed replays it.
/// </summary>
public sealed class ScheduledNetwork
{
    private readonly Queue<ChannelMessage>[] _channels;
    private readonly Node[] _nodes;

    private ushort _lose;
    private readonly bool _stale;
    private readonly Dictionary<ulong, byte[]> _firstData = new();

    /// <param name="loseFirst">a message type whose first send is silently dropped; 0 for none.</param>
    /// <param name="stalePages">every later PageData of a page carries the contents its first one did.</param>
    /// <remarks>Both are faulty networks, to show that the explorer notices what they do.</remarks>
    public ScheduledNetwork(int nodeCount, ushort loseFirst = 0, bool stalePages = false)
    {
        _lose = loseFirst;
        _stale = stalePages;
        NodeCount = nodeCount;
        _channels = new Queue<ChannelMessage>[nodeCount * nodeCount];
        for (int i = 0; i < _channels.Length; i++) _channels[i] = new Queue<ChannelMessage>();
        _nodes = new Node[nodeCount];
        for (int i = 0; i < nodeCount; i++) _nodes[i] = new Node(this, i);
    }

    public int NodeCount { get; }

    /// <summary>Messages sent so far (lost ones included).</summary>
    public long Sent { get; private set; }

    public ITransport this[int node] => _nodes[node];

    /// <summary>Node <paramref name="node"/>'s process is gone: its sends fail, messages to it are never delivered.</summary>
    public bool IsDead(int node) => _nodes[node].Dead;

    public void MarkDead(int node) => _nodes[node].Dead = true;

    /// <summary>The messages queued from <paramref name="from"/> to <paramref name="to"/>, oldest first.</summary>
    public Queue<ChannelMessage> Channel(int from, int to) => _channels[from * NodeCount + to];

    /// <summary>True when a DSM message about <paramref name="page"/> is queued anywhere.</summary>
    public bool DsmMessageInFlight(ulong page)
    {
        foreach (var c in _channels)
            foreach (var m in c)
                if (m.IsDsm && m.Subjects().Contains(page)) return true;
        return false;
    }

    /// <summary>Hands the oldest message of the channel to its receiver's handler, on the calling thread.</summary>
    public ChannelMessage Deliver(int from, int to)
    {
        var m = Channel(from, to).Dequeue();
        _nodes[to].Handler!.OnMessage(m.From, m.Type, m.Body);
        return m;
    }

    private sealed class Node(ScheduledNetwork net, int self) : ITransport
    {
        public volatile bool Dead;
        public IMessageHandler? Handler;

        public int Self => self;
        public int NodeCount => net.NodeCount;

        public void Start(IMessageHandler handler) => Handler = handler;

        public void Send(int node, ushort type, ReadOnlySpan<byte> body)
        {
            if (node == self || (uint)node >= (uint)net.NodeCount) throw new ArgumentOutOfRangeException(nameof(node));
            if (Dead) throw new NodeLostException(self, $"node {self} is dead (explored)");
            if (net._nodes[node].Dead) throw new NodeLostException(node, $"node {node} is dead (explored)");
            net.Sent++;
            if (type == net._lose)
            {
                net._lose = 0;
                return;
            }
            var bytes = body.ToArray();
            if (net._stale && type == DsmMessages.PageData)
            {
                ulong page = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
                if (net._firstData.TryGetValue(page, out var first))
                {
                    var old = bytes;
                    bytes = (byte[])first.Clone();
                    bytes[8] = old[8]; // the state granted stays this message's own
                }
                else
                {
                    net._firstData[page] = bytes;
                }
            }
            net.Channel(self, node).Enqueue(new ChannelMessage(self, node, type, bytes));
        }

        /// <summary>A wait's poll: the actor waiting hands control to the explorer, which resumes it later.</summary>
        public int Poll()
        {
            Actor.Current?.YieldWaiting();
            return 0;
        }

        public void EndPoll() { }
        public void Nudge() { }
        public bool CanPoll => true;
        public TimeSpan WaitSpin => TimeSpan.FromDays(1);
        public string Route(int node) => "explored";
        public TransportCounters GetCounters(int node) => default;
        public TransportCounters Totals => default;
        public void Dispose() { }
    }
}
