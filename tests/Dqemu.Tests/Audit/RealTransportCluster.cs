using Dqemu.Testing;
using System.Net;
using System.Net.Sockets;
using Dqemu.Dsm;
using Dqemu.Rdma;
using Dqemu.Rdma.Ucx;
using Dqemu.Tests.Dsm;

namespace Dqemu.Tests.Audit;

/// <summary>
/// Two nodes in this process as the runtime builds them, without guest memory: each a real transport on loopback (our
/// TCP, or UCX, which picks shared memory here), a <see cref="DsmNode"/> over an array of pages and a
/// <see cref="FutexEngine"/> over one array of words (the coherence of the words is the host's), with the runtime's
/// options (node 1 keeps 256 idle futex registrations, as ClusterNode sets it). The test threads play the guest
/// threads: they poll their node's transport while they wait, as faulting guest threads do; the other node's
/// messages are taken by its transport's own threads.
/// </summary>
public sealed class RealTransportCluster : IDisposable
{
    public const int Pages = 16;

    public RealTransportCluster(string transport)
    {
        var eps = new IPEndPoint[2];
        for (int i = 0; i < 2; i++)
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            eps[i] = (IPEndPoint)s.LocalEndPoint!;
        }
        ITransport Connect(int self) => transport switch
        {
            "tcp" => TcpTransport.Connect(eps, self, TimeSpan.FromSeconds(10), 0xA0D17),
            "ucx" => UcxTransport.Connect(eps, self, TimeSpan.FromSeconds(10), 0xA0D17),
            _ => throw new ArgumentException($"unknown transport {transport}"),
        };
        var connect0 = Task.Run(() => Connect(0));
        Transports = [null!, Connect(1)];
        Transports[0] = connect0.GetAwaiter().GetResult();

        Words = new SharedWords(64, 2);
        var options = new DsmOptions { Compress = false, AcquireTimeout = TimeSpan.FromSeconds(20) };
        for (int i = 0; i < 2; i++)
        {
            Stores[i] = new ArrayPageStore(Pages, i == 0 ? PageState.Modified : PageState.Invalid);
            Dsm[i] = new DsmNode(i, 2, Transports[i], Stores[i], options);
            Futex[i] = new FutexEngine(i, 2, Transports[i], Words.For(i), TimeSpan.FromSeconds(20), keepIdle: 256);
        }
        for (int i = 0; i < 2; i++) Transports[i].Start(new Router(Dsm[i], Futex[i]));
    }

    public ITransport[] Transports { get; }
    public ArrayPageStore[] Stores { get; } = new ArrayPageStore[2];
    public DsmNode[] Dsm { get; } = new DsmNode[2];
    public FutexEngine[] Futex { get; } = new FutexEngine[2];
    public SharedWords Words { get; }

    /// <summary>Application messages both nodes have sent so far.</summary>
    public long MessagesSent => Transports.Sum(t => t.Totals.MessagesSent);

    /// <summary>Remote faults (read and write, upgrades included) both nodes have taken so far.</summary>
    public long Faults => Dsm.Sum(d => d.Stats.ReadFaults + d.Stats.WriteFaults);

    /// <summary>The first failure of an engine, or null.</summary>
    public string? Failure => Dsm.Select(d => d.Failure).Concat(Futex.Select(f => f.Failure)).FirstOrDefault(f => f is not null);

    public void Dispose()
    {
        foreach (var t in Transports) t?.Dispose();
    }

    private sealed class Router(DsmNode dsm, FutexEngine futex) : IMessageHandler
    {
        public void OnMessage(int from, ushort type, ReadOnlySpan<byte> body)
        {
            if (DsmNode.IsDsmMessage(type)) dsm.OnMessage(from, type, body);
            else if (FutexEngine.IsFutexMessage(type)) futex.OnMessage(from, type, body);
            else dsm.Fail($"unknown message 0x{type:x} from node {from}");
        }

        public void OnNodeLost(int lost, string reason)
        {
            dsm.OnNodeLost(lost, reason);
            futex.OnNodeLost(lost, reason);
        }
    }
}
