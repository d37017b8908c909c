using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Dqemu.Rdma;
using Xunit;
using static Dqemu.Tests.Rdma.TransportTestSupport;

namespace Dqemu.Tests.Rdma;

/// <summary>
/// <see cref="TcpTransport"/> on 127.0.0.1 with ephemeral ports, several nodes in this one process: the transport
/// contract (<see cref="TransportContractTests{T}"/>) and what only TCP has — heartbeats and the peer timeout, handshake
/// refusals, every message sent before a Dispose arriving. Every wait is bounded.
/// </summary>
[Collection(TransportCollection.Name)]
public sealed class TcpTransportTests : TransportContractTests<TcpTransport>
{
    private protected override TcpTransport Connect(IReadOnlyList<IPEndPoint> nodes, int self, TimeSpan timeout, ulong token) =>
        TcpTransport.Connect(nodes, self, timeout, token);

    private protected override IPEndPoint AddressOf(TcpTransport t, int node) => t.Nodes[node];
    private protected override void KillConnection(TcpTransport t, int node) => t.KillConnection(node);
    private protected override string? LostReason(TcpTransport t, int node) => t.LostReason(node);

    private protected override void AssertRoute(string route, TcpTransport t, int node) => Assert.Equal($"tcp to {t.Nodes[node]}", route);

    /// <summary>Around the 64 KiB send buffer and the 256 KiB receive buffer (8-byte frame header).</summary>
    private protected override int[] BoundarySizes =>
        [65536 - 9, 65536 - 8, 65536 - 7, 65536, 262144 - 9, 262144 - 8, 262144 - 7, 262144];

    /// <summary>One ordered stream per pair, the goodbye after the messages.</summary>
    private protected override bool DeliversWhatWasSentBeforeDispose => true;

    private static TcpTransport[] ConnectCluster(int n, Func<int, TcpTransportOptions?> options) =>
        TransportTestSupport.ConnectCluster<TcpTransport>(n, (eps, i, timeout, token) => TcpTransport.Connect(eps, i, timeout, token, options(i)));

    [Fact]
    public void HeartbeatsKeepAnIdleLinkAlivePastThePeerTimeout()
    {
        // a timeout far above the heartbeat interval, so that a loaded test machine does not fake a silence
        var opts = new TcpTransportOptions { HeartbeatInterval = TimeSpan.FromMilliseconds(100), PeerTimeout = TimeSpan.FromMilliseconds(1000) };
        var nodes = ConnectCluster(2, _ => opts);
        var handlers = nodes.Select(_ => new RecordingHandler()).ToArray();
        try
        {
            for (int i = 0; i < 2; i++) nodes[i].Start(handlers[i]);
            Thread.Sleep(2500); // two and a half peer timeouts without a single application message
            Assert.Empty(handlers[0].LostNodes);
            Assert.Empty(handlers[1].LostNodes);
            nodes[0].Send(1, 1, [1, 2, 3]);
            nodes[1].Send(0, 2, [4]);
            Assert.True(handlers[0].WaitForCount(1, Wait));
            Assert.True(handlers[1].WaitForCount(1, Wait));
            Assert.Equal(1, nodes[0].GetCounters(1).MessagesSent); // heartbeats are not counted
        }
        finally
        {
            DisposeAll(nodes);
        }
    }

    [Fact]
    public void SilentPeerIsLostAfterThePeerTimeout()
    {
        var watcher = new TcpTransportOptions { HeartbeatInterval = TimeSpan.FromMilliseconds(100), PeerTimeout = TimeSpan.FromMilliseconds(500) };
        var mute = new TcpTransportOptions { HeartbeatInterval = Timeout.InfiniteTimeSpan, PeerTimeout = Timeout.InfiniteTimeSpan };
        var nodes = ConnectCluster(2, i => i == 0 ? watcher : mute);
        var handlers = nodes.Select(_ => new RecordingHandler()).ToArray();
        try
        {
            nodes[1].Start(handlers[1]);
            long start = Environment.TickCount64;
            nodes[0].Start(handlers[0]);
            Assert.True(handlers[0].WaitForLost(1, TimeSpan.FromSeconds(5)), "the silent node was not declared lost");
            var lost = Assert.Single(handlers[0].LostNodes);
            Assert.Equal(1, lost.Node);
            Assert.Contains("sent nothing", lost.Reason);
            Assert.InRange(lost.AtMs - start, 400, 5000);
            // the watcher dropped the connection, so the mute node notices too
            Assert.True(handlers[1].WaitForLost(1, TimeSpan.FromSeconds(3)));
            Thread.Sleep(300);
            Assert.Single(handlers[0].LostNodes);
            Assert.Single(handlers[1].LostNodes);
        }
        finally
        {
            DisposeAll(nodes);
        }
    }

    [Fact]
    public void ANudgeIsHeardByEveryPeerAndAStrangersDatagramIsNot()
    {
        var nodes = ConnectCluster(3, _ => null);
        try
        {
            foreach (var t in nodes) t.Start(new RecordingHandler());
            Assert.All(nodes, t => Assert.True(t.HearsNudges));
            nodes[0].Nudge();
            Assert.True(SpinWait.SpinUntil(() => nodes[1].NudgeCounts.Heard == 1 && nodes[2].NudgeCounts.Heard == 1, Wait),
                $"heard: {nodes[1].NudgeCounts.Heard}, {nodes[2].NudgeCounts.Heard}");
            Assert.Equal((2L, 0L), nodes[0].NudgeCounts);

            // the right size from elsewhere, with another cluster's token: not a nudge
            using var stranger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            var bogus = new byte[10];
            BitConverter.TryWriteBytes(bogus, 0x1234_5678_9abc_def0UL);
            stranger.SendTo(bogus, nodes[1].Nodes[1]);
            nodes[2].Nudge();
            Assert.True(SpinWait.SpinUntil(() => nodes[1].NudgeCounts.Heard == 2, Wait));
            Thread.Sleep(100);
            Assert.Equal(2, nodes[1].NudgeCounts.Heard); // node 2's nudge only
        }
        finally
        {
            DisposeAll(nodes);
        }
    }

    [Fact]
    public void ANodeWhoseUdpPortIsTakenWorksWithoutNudges()
    {
        var eps = FreeEndpoints(2);
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        squatter.Bind(eps[1]);
        var outcomes = ConnectConcurrently(eps, [0, 1], ConnectTimeout);
        var nodes = outcomes.Select(o => o.Transport ?? throw o.Error!).ToArray();
        try
        {
            var handlers = nodes.Select(_ => new RecordingHandler()).ToArray();
            for (int i = 0; i < 2; i++) nodes[i].Start(handlers[i]);
            Assert.True(nodes[0].HearsNudges);
            Assert.False(nodes[1].HearsNudges);
            nodes[1].Nudge(); // no socket: nothing sent
            Assert.Equal((0L, 0L), nodes[1].NudgeCounts);
            nodes[0].Send(1, 5, [1]);
            nodes[1].Send(0, 6, [2]);
            Assert.True(handlers[1].WaitForCount(1, Wait) && handlers[0].WaitForCount(1, Wait));
        }
        finally
        {
            DisposeAll(nodes);
        }
    }

    /// <summary>
    /// Node 1 in a child process bound to one CPU that a computing thread keeps busy, its receive threads SCHED_IDLE
    /// (the lowest weight there is; they never preempt it): each message node 0 sends is followed by a nudge, and the
    /// peer's urgent nudge thread delivers nearly every one (without the nudges the receive threads deliver them all,
    /// late).
    /// </summary>
    [Fact]
    public void ANudgedPeerWhoseCpuComputesDeliversOnItsNudgeThread()
    {
        var eps = FreeEndpoints(2);
        ulong token = (ulong)Random.Shared.NextInt64();
        using var child = TransportChild.Start(typeof(TcpTransportTests), TransportChild.BusyReceiver, eps, 1, token, cpu: 0);
        using var t0 = TcpTransport.Connect(eps, 0, ConnectTimeout, token);
        t0.Start(new RecordingHandler());
        Assert.True(child.WaitForLine("ready", TimeSpan.FromSeconds(30)) != null, child.Describe());
        const int Messages = 20;
        int byNudge = 0;
        for (int i = 0; i < Messages; i++)
        {
            t0.Send(1, 7, [(byte)i]);
            t0.Nudge();
            var line = child.WaitForLine($"got 7 {i} ", TimeSpan.FromSeconds(10));
            Assert.True(line != null, child.Describe());
            if (line!.EndsWith("dqemu-tcp-nudge", StringComparison.Ordinal)) byNudge++;
            Thread.Sleep(20);
        }
        t0.Send(1, 99, [0]);
        t0.Nudge();
        Assert.True(child.WaitForExit(TimeSpan.FromSeconds(20)), child.Describe());
        // without nudges none come on the nudge thread; alone 20 of 20 do, and with the rest of the suite loading
        // both CPUs 14 of 20 were seen once: half is far from both
        Assert.True(byNudge >= Messages / 2, $"{byNudge} of {Messages} messages were delivered by the nudge thread:\n{child.Describe()}");
    }

    [Fact]
    public void DifferentClusterSizesAreRefused()
    {
        var eps = FreeEndpoints(3);
        var outcomes = ConnectConcurrently(eps, [0, 1], TimeSpan.FromSeconds(2), lists: [eps[..2], eps]);
        var ex = Assert.IsType<TransportConnectException>(outcomes[1].Error);
        Assert.Contains("cluster size", ex.Message);
        Assert.IsType<TransportConnectException>(outcomes[0].Error);
    }

    [Fact]
    public void HandshakeWithAWrongNodeIdIsRefusedAndTheRealNodeStillJoins()
    {
        var eps = FreeEndpoints(2);
        const ulong token = 77;
        TcpTransport? t0 = null;
        Exception? error0 = null;
        var node0 = new Thread(() =>
        {
            try { t0 = TcpTransport.Connect(eps, 0, ConnectTimeout, token); }
            catch (Exception e) { error0 = e; }
        }) { IsBackground = true };
        node0.Start();
        byte[] reply = new byte[Handshake.Size];
        using (var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            Assert.True(WaitUntil(() => { try { s.Connect(eps[0]); return true; } catch (SocketException) { return false; } }, Wait));
            byte[] hello = new byte[Handshake.Size];
            // claims to be node 0 talking to node 0: not a node that dials node 0
            Handshake.Write(hello, new Handshake.Message(Handshake.KindHello, token, From: 0, To: 0, NodeCount: 2, Handshake.RejectReason.None));
            s.Send(hello);
            s.ReceiveTimeout = 10_000;
            int have = 0;
            while (have < reply.Length)
            {
                int n = s.Receive(reply, have, reply.Length - have, SocketFlags.None);
                if (n == 0) break;
                have += n;
            }
            Assert.Equal(Handshake.Size, have);
        }
        Assert.True(Handshake.TryRead(reply, out var m, out _));
        Assert.Equal(Handshake.KindReject, m.Kind);
        Assert.Equal(Handshake.RejectReason.BadNodeId, m.Reason);

        using var t1 = TcpTransport.Connect(eps, 1, ConnectTimeout, token);
        Assert.True(node0.Join(Wait));
        Assert.Null(error0);
        using var t0Owned = t0!;
        var h0 = new RecordingHandler();
        t0!.Start(h0);
        t1.Start(new RecordingHandler());
        t1.Send(0, 3, [3]);
        Assert.True(h0.WaitForCount(1, Wait));
    }
}
