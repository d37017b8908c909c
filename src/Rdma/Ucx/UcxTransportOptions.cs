namespace Dqemu.Rdma.Ucx;

/// <summary>Tuning for <see cref="UcxTransport"/>.</summary>
public sealed class UcxTransportOptions
{
    public static readonly UcxTransportOptions Default = new();

    /// <summary>
    /// UCX's transport list (UCX_TLS syntax, e.g. "posix,self,cma", "tcp", "rc,ud,self"); null leaves the choice
    /// to UCX (and to a UCX_TLS in the environment): shared memory between processes of one host, RDMA verbs
    /// where a device exists, TCP otherwise.
    /// </summary>
    public string? Tls { get; init; }

    /// <summary>
    /// The bootstrap and liveness connection: node ids, the cluster token and the worker addresses travel over this
    /// TCP mesh, which then carries only heartbeats, so a lost node is found and reported exactly as with
    /// <see cref="TcpTransport"/> (its <see cref="TcpTransportOptions.Attachment"/> is set by the UCX transport).
    /// </summary>
    public TcpTransportOptions Control { get; init; } = TcpTransportOptions.Default;

    /// <summary>See <see cref="ITransport.WaitSpin"/> (default 1 ms).</summary>
    public TimeSpan WaitSpin { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Largest message body, both ways (default 256 MiB, as for TCP).</summary>
    public int MaxBodyLength { get; init; } = 256 << 20;
}
