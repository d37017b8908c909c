using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Dqemu.Rdma;
using Xunit;
using static Dqemu.Tests.Rdma.TransportTestSupport;

namespace Dqemu.Tests.Rdma;

/// <summary>
/// TcpTransport on 127.0.0.1 with ephemeral ports, several nodes in this one process. All tests of this class
/// run one after another (one xunit collection), every wait is bounded.
/// </summary>
public sealed class TcpTransportTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public void AllPairsExchangeMessages()
    {
        var nodes = ConnectCluster(3);
        var handlers = nodes.Select(_ => new RecordingHandler()).ToArray();
        try
        {
            for (int i = 0; i < 3; i++) nodes[i].Start(handlers[i]);
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(i, nodes[i].Self);
                Assert.Equal(3, nodes[i].NodeCount);
                for (int j = 0; j < 3; j++)
                    if (j != i) nodes[i].Send(j, (ushort)(100 + i), System.Text.Encoding.ASCII.GetBytes($"from {i} to {j}"));
            }
            for (int i = 0; i < 3; i++)
            {
                Assert.True(handlers[i].WaitForCount(2, Wait), $"node {i} got {handlers[i].Count} of 2 messages");
                var got = handlers[i].Messages.OrderBy(m => m.From).ToArray();
                Assert.Equal(2, got.Length);
                foreach (var m in got)
                {
                    Assert.Equal((ushort)(100 + m.From), m.Type);
                    Assert.Equal($"from {m.From} to {i}", System.Text.Encoding.ASCII.GetString(m.Body));
                }
                Assert.Empty(handlers[i].LostNodes);

                var total = nodes[i].Totals;
                Assert.Equal(2, total.MessagesSent);
                Assert.Equal(2, total.MessagesReceived);
                Assert.Equal(default, nodes[i].GetCounters(i));
                for (int j = 0; j < 3; j++)
                {
                    if (j == i) continue;
                    var c = nodes[i].GetCounters(j);
                    Assert.Equal(1, c.MessagesSent);
                    Assert.Equal($"from {i} to {j}".Length, c.BytesSent);
                    Assert.Equal(1, c.MessagesReceived);
                    Assert.Equal($"from {j} to {i}".Length, c.BytesReceived);
                }
            }
        }
        finally
        {
            DisposeAll(nodes);
        }
    }

    [Fact]
    public void EachPairKeepsOrderUnderConcurrentSenders()
    {
        const int Threads = 4, PerThread = 10_000;
        var nodes = ConnectCluster(3);
        // next expected sequence number per (receiver, sender node, sender thread); receive threads are per
        // peer, so each [receiver, from] row is touched by one thread only
        var expected = new int[3, 3, Threads];
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var handlers = new RecordingHandler[3];
        for (int r = 0; r < 3; r++)
        {
            int receiver = r;
            handlers[r] = new RecordingHandler(keepBodies: false, onMessage: (from, type, body) =>
            {
                int thread = body[0];
                int seq = BinaryPrimitives.ReadInt32LittleEndian(body[1..]);
                int want = expected[receiver, from, thread];
                if (seq != want && errors.Count < 10)
                    errors.Enqueue($"node {receiver} from node {from} thread {thread}: got #{seq}, expected #{want}");
                expected[receiver, from, thread] = seq + 1;
                if (type != 7 || body.Length != 6 + seq % 40 || body[^1] != (byte)seq)
                    errors.Enqueue($"node {receiver}: bad message #{seq} from node {from}");
            });
        }
        try
        {
            for (int i = 0; i < 3; i++) nodes[i].Start(handlers[i]);
            var senders = new List<Thread>();
            for (int n = 0; n < 3; n++)
                for (int t = 0; t < Threads; t++)
                {
                    int node = n, thread = t;
                    var th = new Thread(() =>
                    {
                        Span<byte> body = stackalloc byte[64];
                        body[0] = (byte)thread;
                        for (int seq = 0; seq < PerThread; seq++)
                        {
                            BinaryPrimitives.WriteInt32LittleEndian(body[1..], seq);
                            int len = 6 + seq % 40;
                            body[len - 1] = (byte)seq;
                            for (int dst = 0; dst < 3; dst++)
                                if (dst != node) nodes[node].Send(dst, 7, body[..len]);
                        }
                    }) { IsBackground = true };
                    senders.Add(th);
                    th.Start();
                }
            foreach (var th in senders) Assert.True(th.Join(TimeSpan.FromSeconds(120)), "a sender thread did not finish");
            for (int i = 0; i < 3; i++)
                Assert.True(handlers[i].WaitForCount(2L * Threads * PerThread, TimeSpan.FromSeconds(60)),
                    $"node {i} got {handlers[i].Count} of {2 * Threads * PerThread}");
            Assert.True(errors.IsEmpty, string.Join("\n", errors));
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(2L * Threads * PerThread, nodes[i].Totals.MessagesSent);
                Assert.Equal(2L * Threads * PerThread, nodes[i].Totals.MessagesReceived);
                Assert.Empty(handlers[i].LostNodes);
            }
        }
        finally
        {
            DisposeAll(nodes);
        }
    }

    [Fact]
    public void LargeAndBoundarySizedBodiesArriveIntact()
    {
        // around the 64 KiB send buffer and the 256 KiB receive buffer, and 1 MiB
        int[] sizes = [0, 1, 65536 - 9, 65536 - 8, 65536 - 7, 65536, 262144 - 9, 262144 - 8, 262144 - 7, 262144, 1 << 20, 3, (1 << 20) + 5];
        var nodes = ConnectCluster(3);
        var handlers = nodes.Select(_ => new RecordingHandler()).ToArray();
        try
        {
            for (int i = 0; i < 3; i++) nodes[i].Start(handlers[i]);
            var rng = new Random(42);
            var sent = new Dictionary<(int from, int to), List<byte[]>>();
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                {
                    if (i == j) continue;
                    var list = sent[(i, j)] = [];
                    foreach (int size in sizes)
                    {
                        var body = new byte[size];
                        rng.NextBytes(body);
                        list.Add(body);
                    }
                }
            // senders run concurrently so that large frames interleave on the receivers
            var threads = sent.Select(kv => new Thread(() =>
            {
                foreach (var body in kv.Value) nodes[kv.Key.from].Send(kv.Key.to, (ushort)body.Length, body);
            }) { IsBackground = true }).ToList();
            threads.ForEach(t => t.Start());
            foreach (var t in threads) Assert.True(t.Join(Wait), "a sender did not finish");
            for (int j = 0; j < 3; j++)
            {
                Assert.True(handlers[j].WaitForCount(2 * sizes.Length, Wait), $"node {j} got {handlers[j].Count} messages");
                foreach (int i in Enumerable.Range(0, 3).Where(i => i != j))
                {
                    var got = handlers[j].Messages.Where(m => m.From == i).ToArray();
                    Assert.Equal(sizes.Length, got.Length);
                    for (int k = 0; k < sizes.Length; k++)
                    {
                        Assert.Equal((ushort)sizes[k], got[k].Type);
                        Assert.True(sent[(i, j)][k].AsSpan().SequenceEqual(got[k].Body), $"body {k} ({sizes[k]} bytes) {i}->{j} differs");
                    }
                }
                Assert.Empty(handlers[j].LostNodes);
            }
            long bytes = sizes.Sum(s => (long)s);
            Assert.Equal(2 * bytes, nodes[0].Totals.BytesSent);
            Assert.Equal(2 * bytes, nodes[0].Totals.BytesReceived);
        }
        finally
        {
            DisposeAll(nodes);
        }
    }

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
    public void DisposedPeerIsReportedOnceWithinTheTimeout()
    {
        var nodes = ConnectCluster(3);
        var handlers = nodes.Select(_ => new RecordingHandler()).ToArray();
        try
        {
            for (int i = 0; i < 3; i++) nodes[i].Start(handlers[i]);
            // what node 2 sent just before going away still arrives, before the loss is reported
            for (int k = 0; k < 100; k++) nodes[2].Send(0, 5, BitConverter.GetBytes(k));
            var sw = Stopwatch.StartNew();
            nodes[2].Dispose();
            Assert.True(handlers[0].WaitForLost(1, TimeSpan.FromSeconds(3)), "node 0 was not told");
            Assert.True(handlers[1].WaitForLost(1, TimeSpan.FromSeconds(3)), "node 1 was not told");
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"took {sw.Elapsed}");
            Thread.Sleep(500);
            foreach (int i in new[] { 0, 1 })
            {
                var lost = Assert.Single(handlers[i].LostNodes);
                Assert.Equal(2, lost.Node);
                Assert.Contains("node 2", lost.Reason);
                Assert.Contains(nodes[2].Nodes[2].ToString(), lost.Reason);
                Assert.Contains("shut down", lost.Reason);
                Assert.NotNull(nodes[i].LostReason(2));
                Assert.Throws<NodeLostException>(() => nodes[i].Send(2, 1, [1]));
            }
            Assert.Empty(handlers[2].LostNodes); // a node that leaves is not told about itself
            Assert.Equal(100, handlers[0].Messages.Count(m => m.From == 2));
            Assert.Equal(Enumerable.Range(0, 100), handlers[0].Messages.Where(m => m.From == 2).Select(m => BitConverter.ToInt32(m.Body)));
            Assert.Throws<ObjectDisposedException>(() => nodes[2].Send(0, 1, [1]));

            // the survivors still talk
            nodes[0].Send(1, 9, [9]);
            Assert.True(handlers[1].WaitUntilType(9, Wait));
        }
        finally
        {
            DisposeAll(nodes);
        }
    }

    [Fact]
    public void KilledConnectionIsReportedOnceOnBothSides()
    {
        var nodes = ConnectCluster(2);
        var handlers = nodes.Select(_ => new RecordingHandler()).ToArray();
        try
        {
            for (int i = 0; i < 2; i++) nodes[i].Start(handlers[i]);
            nodes[0].Send(1, 1, [1]);
            Assert.True(handlers[1].WaitForCount(1, Wait));
            nodes[1].KillConnection(0);
            Assert.True(handlers[0].WaitForLost(1, TimeSpan.FromSeconds(3)), "node 0 was not told");
            Assert.True(handlers[1].WaitForLost(1, TimeSpan.FromSeconds(3)), "node 1 was not told");
            Thread.Sleep(500);
            Assert.Equal(1, Assert.Single(handlers[0].LostNodes).Node);
            Assert.Equal(0, Assert.Single(handlers[1].LostNodes).Node);
            var ex = Assert.Throws<NodeLostException>(() => nodes[0].Send(1, 1, [1]));
            Assert.Equal(1, ex.Node);
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
    public void UnreachableNodeIsNamedInTheError()
    {
        var eps = FreeEndpoints(2); // nobody runs node 0
        var sw = Stopwatch.StartNew();
        var ex = Assert.Throws<TransportConnectException>(() => TcpTransport.Connect(eps, 1, TimeSpan.FromSeconds(1), 1));
        sw.Stop();
        Assert.Equal([0], ex.Nodes);
        Assert.Contains("node 0", ex.Message);
        Assert.Contains(eps[0].ToString(), ex.Message);
        Assert.Contains("could not be reached", ex.Message);
        Assert.InRange(sw.Elapsed.TotalSeconds, 0.9, 6);
    }

    [Fact]
    public void NodeThatNeverConnectsIsNamedByTheOthers()
    {
        var eps = FreeEndpoints(3); // node 2 is never started
        var outcomes = ConnectConcurrently(eps, [0, 1], TimeSpan.FromSeconds(1));
        foreach (var o in outcomes)
        {
            var ex = Assert.IsType<TransportConnectException>(o.Error);
            Assert.Equal([2], ex.Nodes);
            Assert.Contains("node 2", ex.Message);
            Assert.Contains(eps[2].ToString(), ex.Message);
        }
    }

    [Fact]
    public void WrongClusterTokenIsRefused()
    {
        var eps = FreeEndpoints(2);
        var outcomes = ConnectConcurrently(eps, [0, 1], TimeSpan.FromSeconds(2), token: i => i == 0 ? 111UL : 222UL);
        var dialer = Assert.IsType<TransportConnectException>(outcomes[1].Error);
        Assert.Contains("token", dialer.Message);
        Assert.Contains("node 0", dialer.Message);
        var acceptor = Assert.IsType<TransportConnectException>(outcomes[0].Error);
        Assert.Contains("node 1", acceptor.Message);
        Assert.Contains("token", acceptor.Message); // the refused attempt is mentioned
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

    [Fact]
    public void SendValidatesItsArguments()
    {
        var nodes = ConnectCluster(2);
        try
        {
            Assert.Throws<ArgumentException>(() => nodes[0].Send(0, 1, [1]));
            Assert.Throws<ArgumentOutOfRangeException>(() => nodes[0].Send(2, 1, [1]));
            Assert.Throws<ArgumentOutOfRangeException>(() => nodes[0].Send(-1, 1, [1]));
            Assert.Throws<InvalidOperationException>(() =>
            {
                nodes[0].Start(new RecordingHandler());
                nodes[0].Start(new RecordingHandler());
            });
        }
        finally
        {
            DisposeAll(nodes);
        }
    }

    [Fact]
    public void SendAllocatesNothing()
    {
        var nodes = ConnectCluster(2);
        var handler = new RecordingHandler(keepBodies: false);
        try
        {
            nodes[0].Start(new RecordingHandler());
            nodes[1].Start(handler);
            byte[] small = new byte[64], page = new byte[4096], big = new byte[200_000];
            void Burst()
            {
                for (int k = 0; k < 200; k++)
                {
                    nodes[0].Send(1, 1, small);
                    nodes[0].Send(1, 2, page);
                }
                nodes[0].Send(1, 3, big);
            }
            Burst(); // warm-up
            long before = GC.GetAllocatedBytesForCurrentThread();
            Burst();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(0, allocated);
            Assert.True(handler.WaitForCount(802, Wait));
        }
        finally
        {
            DisposeAll(nodes);
        }
    }

    [Fact]
    public void DisposeFromAHandlerDoesNotHang()
    {
        var nodes = ConnectCluster(2);
        var done = new ManualResetEventSlim();
        try
        {
            nodes[0].Start(new RecordingHandler());
            nodes[1].Start(new RecordingHandler(onMessage: (_, _, _) =>
            {
                nodes[1].Dispose();
                done.Set();
            }));
            nodes[0].Send(1, 1, [1]);
            Assert.True(done.Wait(Wait));
        }
        finally
        {
            DisposeAll(nodes);
        }
    }
}

internal static class RecordingHandlerExtensions
{
    public static bool WaitUntilType(this RecordingHandler h, ushort type, TimeSpan timeout) =>
        WaitUntil(() => h.Messages.Any(m => m.Type == type), timeout);
}
