namespace Dqemu.Rdma;

/// <summary>
/// Moves typed messages between the nodes of a cluster. The DSM and the runtime talk to the other nodes only
/// through this interface; <see cref="TcpTransport"/> (our own sockets, no dependency) and
/// <see cref="Ucx.UcxTransport"/> (UCX: shared memory, TCP or RDMA verbs, chosen by UCX) implement it. The transport
/// knows framing and liveness, never what a message means.
/// </summary>
/// <remarks>
/// Contract every implementation keeps:
/// <list type="bullet">
/// <item><see cref="Send"/> is thread-safe. Messages from this node to one peer arrive in the order the
/// <c>Send</c> calls returned (a thread's sends arrive in program order). There is no ordering between
/// different pairs of nodes.</item>
/// <item><see cref="IMessageHandler.OnMessage"/> runs on the transport's receive thread(s) or on a thread inside
/// <see cref="Poll"/>; messages from one peer are delivered one at a time and in order (TCP: one receive thread
/// per peer; UCX: every delivery holds the UCP worker's lock).</item>
/// <item><see cref="IMessageHandler.OnNodeLost"/> is called at most once per peer, and no message from that peer is
/// delivered after it; never for peers of a transport that this node disposed itself.</item>
/// <item>Sending to a lost peer throws <see cref="NodeLostException"/>, and the loss is (or will be) reported through
/// <see cref="IMessageHandler.OnNodeLost"/> (unless this node disposed the transport): a message handler whose reply
/// throws it need not report anything itself. Sending to <see cref="Self"/> is an
/// <see cref="ArgumentException"/> (deliver local work locally).</item>
/// </list>
/// </remarks>
public interface ITransport : IDisposable
{
    /// <summary>This node's id, 0 ≤ Self &lt; NodeCount.</summary>
    int Self { get; }

    /// <summary>Number of nodes in the cluster, this one included.</summary>
    int NodeCount { get; }

    /// <summary>
    /// Starts delivering received messages to <paramref name="handler"/>. Call once. Messages that arrived
    /// earlier wait (in the kernel) until then; peers already lost are reported right after the call.
    /// </summary>
    void Start(IMessageHandler handler);

    /// <summary>
    /// Sends one message. <paramref name="body"/> is copied or written out before the call returns, so the
    /// caller may reuse it at once. Blocks while the connection's send buffer is full. Allocates nothing.
    /// </summary>
    /// <exception cref="NodeLostException">the peer is lost (before or during the call).</exception>
    /// <exception cref="ObjectDisposedException">this transport was disposed.</exception>
    void Send(int node, ushort type, ReadOnlySpan<byte> body);

    /// <summary>
    /// Delivers, on the calling thread, messages that have already arrived, and returns how many (0 when none, and
    /// always 0 when <see cref="CanPoll"/> is false). Never blocks. A thread
    /// waiting for another node's answer calls it (through <see cref="TransportSpin"/>) so that the answer is handled
    /// where it is awaited, with no receive thread to be scheduled in between. Call it holding no lock a handler may
    /// take; from inside a handler it does nothing.
    /// </summary>
    int Poll();

    /// <summary>
    /// The calling thread, which has been calling <see cref="Poll"/>, stops polling (its wait is over, or it is about to
    /// block). A transport that quiets its own receive machinery while threads poll (UCX: no wake-up signals between
    /// processes while someone polls anyway) turns it back on when the last poller leaves. Harmless when the thread
    /// did not poll.
    /// </summary>
    void EndPoll();

    /// <summary>
    /// A thread here has waited unusually long for an answer (<see cref="TransportSpin"/> calls it once per wait):
    /// make sure every peer is listening. A peer whose only CPU runs a computing guest thread may not run its own
    /// receiving thread for a whole scheduler slice after a message arrives; UCX nudges it through the TCP mesh, whose
    /// receive threads are urgent (<see cref="UrgentThread"/>); TCP by a UDP datagram to the peer's urgent nudge
    /// thread. Either reads and delivers what the peer holds at once.
    /// </summary>
    void Nudge();

    /// <summary>How long a wait goes without its answer before <see cref="TransportSpin"/> calls <see cref="Nudge"/>
    /// (at least its 50 us polling phase).</summary>
    TimeSpan NudgeAfter => TimeSpan.FromMicroseconds(50);

    /// <summary>True when <see cref="Poll"/> can deliver anything; false when nothing can arrive (a cluster of one node)
    /// or only the transport's own threads deliver.</summary>
    bool CanPoll { get; }

    /// <summary>
    /// How long a thread waiting for another node's answer keeps polling (see <see cref="TransportSpin"/>) before it
    /// blocks; zero never spins.
    /// </summary>
    TimeSpan WaitSpin { get; }

    /// <summary>How messages to <paramref name="node"/> travel, in a few words for --stats (e.g. "tcp", or UCX's lanes
    /// "sysv/memory (am), cma/memory (rma_bw)").</summary>
    string Route(int node);

    /// <summary>Traffic exchanged with one peer so far (all zero for <see cref="Self"/>).</summary>
    TransportCounters GetCounters(int node);

    /// <summary>Traffic exchanged with all peers so far.</summary>
    TransportCounters Totals { get; }
}

/// <summary>Receives what a transport delivers. Both methods run on the transport's receive threads.</summary>
public interface IMessageHandler
{
    /// <summary>
    /// One message from <paramref name="from"/>. <paramref name="body"/> is valid only during the call (it
    /// points into the transport's receive buffer): copy what must outlive it. Return quickly — while this
    /// runs, nothing else from that peer is delivered — and do not throw: an exception here is a bug and is
    /// left unhandled on the receive thread.
    /// </summary>
    void OnMessage(int from, ushort type, ReadOnlySpan<byte> body);

    /// <summary>
    /// The connection to <paramref name="node"/> is gone: it closed, was reset, failed, or the peer stayed
    /// silent past the timeout. <paramref name="reason"/> is one line naming the node and its address.
    /// </summary>
    void OnNodeLost(int node, string reason);
}

/// <summary>
/// Message counts and body bytes of application messages (frame headers and the transport's own heartbeat
/// and goodbye frames are not counted).
/// </summary>
public readonly record struct TransportCounters(long MessagesSent, long BytesSent, long MessagesReceived, long BytesReceived)
{
    public static TransportCounters operator +(TransportCounters a, TransportCounters b) =>
        new(a.MessagesSent + b.MessagesSent, a.BytesSent + b.BytesSent,
            a.MessagesReceived + b.MessagesReceived, a.BytesReceived + b.BytesReceived);

    /// <summary><see cref="ITransport.GetCounters"/> over a transport's peer table (null at this node).</summary>
    internal static TransportCounters Of(ICountedPeer?[] peers, int node)
    {
        if ((uint)node >= (uint)peers.Length) throw new ArgumentOutOfRangeException(nameof(node));
        return peers[node]?.Counters ?? default;
    }

    /// <summary><see cref="ITransport.Totals"/> over a transport's peer table.</summary>
    internal static TransportCounters Sum(ICountedPeer?[] peers)
    {
        TransportCounters sum = default;
        foreach (var p in peers)
            if (p != null) sum += p.Counters;
        return sum;
    }
}

/// <summary>A transport's per-peer record, as far as its counters go.</summary>
internal interface ICountedPeer
{
    TransportCounters Counters { get; }
}
