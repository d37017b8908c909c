using Dqemu.Dsm;
using Dqemu.Rdma;

namespace Dqemu.Tests.Dsm;

/// <summary>N DSM nodes over an <see cref="InMemoryNetwork"/> and an <see cref="InMemoryMemory"/>.</summary>
public sealed class TestCluster : IDisposable
{
    public TestCluster(int nodeCount, HomePolicy home = HomePolicy.Distributed, int jitterSeed = -1,
        TimeSpan? acquireTimeout = null, bool compress = true, bool pollable = false, int splitAfter = 0, ulong splitPageLimit = ulong.MaxValue,
        bool pushUpdates = false)
    {
        Net = new InMemoryNetwork(nodeCount, jitterSeed, pollable);
        Memory = new InMemoryMemory(nodeCount);
        var options = new DsmOptions
        {
            Home = home, AcquireTimeout = acquireTimeout ?? TimeSpan.FromSeconds(10), Compress = compress,
            SplitAfter = splitAfter, SplitPageLimit = splitPageLimit, SplitWindow = TimeSpan.FromSeconds(30),
            PushUpdates = pushUpdates,
        };
        Nodes = new DsmNode[nodeCount];
        for (int i = 0; i < nodeCount; i++) Nodes[i] = new DsmNode(i, nodeCount, Net[i], Memory[i], options);
        for (int i = 0; i < nodeCount; i++) Net[i].Start(new Handler(Nodes[i]));
    }

    public InMemoryNetwork Net { get; }
    public InMemoryMemory Memory { get; }
    public DsmNode[] Nodes { get; }
    public DsmNode this[int node] => Nodes[node];

    /// <summary>Every node still works, no handler threw, the invariant always held.</summary>
    public void AssertHealthy()
    {
        for (int i = 0; i < Nodes.Length; i++)
        {
            Xunit.Assert.Null(Nodes[i].Failure);
            Xunit.Assert.Null(Net[i].HandlerException);
        }
        Xunit.Assert.Empty(Memory.Violations);
    }

    /// <summary>Local states agree with the guest views and with the home's directory.</summary>
    public void AssertConsistent(ulong page)
    {
        ulong copies = 0;
        int modified = 0;
        for (int n = 0; n < Nodes.Length; n++)
        {
            var s = Nodes[n].State(page);
            Xunit.Assert.Equal(s, Memory.StateOf(n, page));
            if (s != PageState.Invalid) copies |= 1UL << n;
            if (s == PageState.Modified) modified++;
        }
        var home = Nodes[Nodes[0].HomeOf(page)];
        var e = home.DirectoryEntry(page);
        Xunit.Assert.False(e.Busy);
        Xunit.Assert.Equal(copies, e.Copies);
        Xunit.Assert.Equal(modified == 1, e.Modified);
    }

    public void Dispose() => Net.Dispose();

    private sealed class Handler(DsmNode node) : IMessageHandler
    {
        public void OnMessage(int from, ushort type, ReadOnlySpan<byte> body)
        {
            if (!DsmNode.IsDsmMessage(type)) throw new InvalidOperationException($"non-DSM message 0x{type:x}");
            node.OnMessage(from, type, body);
        }

        public void OnNodeLost(int lost, string reason) => node.OnNodeLost(lost, reason);
    }
}
