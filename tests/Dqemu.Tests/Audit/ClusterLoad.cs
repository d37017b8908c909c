using Dqemu.Dsm;

namespace Dqemu.Tests.Audit;

/// <summary>
/// The steady-state work the audit measures on a <see cref="RealTransportCluster"/>: remote write faults on one page
/// written by both nodes in turn, read faults after invalidations, and futex hand-offs between a thread on each node.
/// </summary>
public static class ClusterLoad
{
    /// <summary>Page 5 is homed on node 1 (page mod 2), page 6 on node 0: both directory placements are exercised.</summary>
    public static readonly ulong[] PingPongPages = [5, 6];

    /// <summary>
    /// <paramref name="rounds"/> times, for each page: node 1 takes it for writing and stores, node 0 takes it back and
    /// stores (two remote write faults), node 1 reads it (an upgrade at node 0 next round, and a read fault now). The
    /// calling thread acts for both nodes in turn; the values it sees are checked.
    /// </summary>
    public static void PagePingPong(RealTransportCluster c, int rounds)
    {
        for (int r = 0; r < rounds; r++)
            foreach (ulong page in PingPongPages)
            {
                c.Dsm[1].Acquire(page, write: true);
                ulong v = c.Stores[1].Touch(page);
                c.Dsm[0].Acquire(page, write: true);
                if (c.Stores[0].Touch(page) != v + 1) throw new InvalidOperationException($"page 0x{page:x}: node 0 did not see node 1's store");
                c.Dsm[1].Acquire(page, write: false);
                if (c.Stores[1].Load(page) != v + 1) throw new InvalidOperationException($"page 0x{page:x}: node 1 read a stale copy");
            }
    }

    /// <summary>
    /// <paramref name="rounds"/> futex hand-offs between a thread of node 0 and one of node 1 over one word (whose
    /// turn it is): each waits while it is the other's turn, flips it and wakes the other.
    /// </summary>
    public static void FutexPingPong(RealTransportCluster c, int rounds, int word = 3)
    {
        ulong addr = c.Words.Addr(word);
        Volatile.Write(ref c.Words[word], 0);
        Exception? failed = null;
        var a = new Thread(() =>
        {
            try { Side(c, 0, rounds, word, addr); }
            catch (Exception e) { failed = e; }
        }) { Name = "audit-futex-0" };
        a.Start();
        try
        {
            Side(c, 1, rounds, word, addr);
        }
        finally
        {
            if (!a.Join(TimeSpan.FromSeconds(30))) throw new TimeoutException($"futex ping-pong: node 0's thread did not finish; {c.Futex[0].DebugDump()}");
        }
        if (failed is not null) throw new InvalidOperationException($"node 0's thread: {failed.Message}", failed);
        if (c.Failure is { } f) throw new InvalidOperationException(f);
    }

    private static void Side(RealTransportCluster c, int node, int rounds, int word, ulong addr)
    {
        var waiter = new FutexWaiter();
        uint mine = (uint)node, theirs = (uint)(1 - node);
        var engine = c.Futex[node];
        for (int r = 0; r < rounds; r++)
        {
            while (Volatile.Read(ref c.Words[word]) != mine)
            {
                long rc = engine.Wait(addr, theirs, uint.MaxValue, long.MaxValue, waiter);
                if (rc != 0 && rc != -11) throw new InvalidOperationException($"node {node}: futex wait returned {rc}: {engine.Failure}");
            }
            Volatile.Write(ref c.Words[word], theirs);
            engine.Wake(addr, 1, uint.MaxValue);
        }
    }
}
