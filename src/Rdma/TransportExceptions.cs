namespace Dqemu.Rdma;

/// <summary>A send went to a peer whose connection is lost. <see cref="Reason"/> says why.</summary>
public sealed class NodeLostException : IOException
{
    public NodeLostException(int node, string reason) : base(reason)
    {
        Node = node;
        Reason = reason;
    }

    public int Node { get; }
    public string Reason { get; }
}

/// <summary>
/// The cluster could not be formed: some peers were unreachable, never connected, or refused the handshake.
/// The message names every such node with its address; <see cref="Nodes"/> lists their ids.
/// </summary>
public sealed class TransportConnectException : IOException
{
    public TransportConnectException(string message, IReadOnlyList<int> nodes, Exception? inner = null)
        : base(message, inner)
    {
        Nodes = nodes;
    }

    public IReadOnlyList<int> Nodes { get; }
}

/// <summary>The transport asked for cannot run on this host (e.g. its library is not installed); one line says why.</summary>
public sealed class TransportUnavailableException(string message) : IOException(message);
