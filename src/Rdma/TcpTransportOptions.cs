using System.Net;

namespace Dqemu.Rdma;

/// <summary>Tuning for <see cref="TcpTransport"/>; the defaults suit a LAN cluster.</summary>
public sealed class TcpTransportOptions
{
    public static readonly TcpTransportOptions Default = new();

    /// <summary>
    /// A heartbeat frame goes out on a connection that sent nothing for this long (default 200 ms).
    /// <see cref="Timeout.InfiniteTimeSpan"/> (or any value ≤ 0) sends none — then peers with a finite
    /// <see cref="PeerTimeout"/> will declare this node lost when it is idle; meant for tests.
    /// </summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// A peer from which nothing (not even a heartbeat) arrived for longer than this is lost (default 3 s).
    /// Time spent inside <see cref="IMessageHandler.OnMessage"/> does not count. Infinite (or ≤ 0) disables.
    /// </summary>
    public TimeSpan PeerTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Largest message body accepted, both ways (default 256 MiB). A larger incoming frame is a protocol error.</summary>
    public int MaxBodyLength { get; init; } = 256 << 20;

    /// <summary>
    /// Address the listening socket binds; default: the node's own address from the node list. Use
    /// <see cref="IPAddress.Any"/> when the listed address is not local (NAT). The port is always the listed one.
    /// </summary>
    public IPAddress? ListenAddress { get; init; }

    /// <summary>SO_SNDBUF / SO_RCVBUF for every connection; 0 keeps the kernel's (auto-tuned) default.</summary>
    public int SocketBufferSize { get; init; }

    /// <summary>
    /// On <see cref="TcpTransport.Dispose"/>, how long to wait for each peer to close its side after our
    /// goodbye, so that frames already sent are not lost to a reset (default 500 ms).
    /// </summary>
    public TimeSpan ShutdownLinger { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Bytes this node sends every peer in the connection handshake, before any message (at most 64 KiB): a transport
    /// built on this one (UCX) passes its own addresses this way. Each peer's arrives as
    /// <see cref="TcpTransport.PeerAttachment"/>.
    /// </summary>
    public ReadOnlyMemory<byte> Attachment { get; init; }

    /// <summary>See <see cref="ITransport.WaitSpin"/>: how long a waiting thread spins (yielding the CPU between looks)
    /// before it blocks. Default 1 ms.</summary>
    public TimeSpan WaitSpin { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// Whether a waiter that waited unusually long nudges the peers by a UDP datagram to their listed address (same
    /// port number as the TCP listener), heard there by an urgent thread that reads and delivers what the peer's
    /// connections hold (see <see cref="ITransport.Nudge"/>). Default true; a transport built on this mesh (UCX)
    /// nudges through the connections instead.
    /// </summary>
    public bool Nudges { get; init; } = true;

    /// <summary>The options of a mesh that another transport is built on (UCX's control mesh): <see cref="Attachment"/>
    /// replaced, and no nudge datagrams (that transport nudges through the connections).</summary>
    public TcpTransportOptions ForControlMesh(ReadOnlyMemory<byte> attachment) => new()
    {
        HeartbeatInterval = HeartbeatInterval,
        PeerTimeout = PeerTimeout,
        MaxBodyLength = MaxBodyLength,
        ListenAddress = ListenAddress,
        SocketBufferSize = SocketBufferSize,
        ShutdownLinger = ShutdownLinger,
        WaitSpin = WaitSpin,
        Nudges = false,
        Attachment = attachment,
    };

    internal long HeartbeatMs => HeartbeatInterval <= TimeSpan.Zero ? long.MaxValue : Math.Max(1, (long)HeartbeatInterval.TotalMilliseconds);
    internal long PeerTimeoutMs => PeerTimeout <= TimeSpan.Zero ? long.MaxValue : Math.Max(1, (long)PeerTimeout.TotalMilliseconds);
}
