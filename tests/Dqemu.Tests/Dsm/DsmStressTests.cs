using Dqemu.Dsm;
using Xunit;

namespace Dqemu.Tests.Dsm;

/// <summary>
/// Randomized runs: several nodes, several threads per node, a handful of pages, each thread incrementing counters
/// stored in the pages. An increment is done the way translated code does a store: only while the guest view is
/// writable at that instant (<see cref="InMemoryMemory.TryIncrement"/>), else it "faults" and acquires again.
/// Seeds fix each thread's choices and the network jitter; the thread interleaving itself still varies run to run.
/// </summary>
public class DsmStressTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Theory]
    [InlineData(HomePolicy.Distributed, 3, 1)]
    [InlineData(HomePolicy.Distributed, 4, 2)]
    [InlineData(HomePolicy.Centralized, 3, 3)]
    [InlineData(HomePolicy.Centralized, 4, 4)]
    public void EveryIncrementSurvives(HomePolicy policy, int nodeCount, int seed) =>
        Run(policy, nodeCount, seed, usePins: false, pollable: false);

    [Theory]
    [InlineData(HomePolicy.Distributed, 4, 5)]
    [InlineData(HomePolicy.Centralized, 3, 6)]
    public void EveryIncrementSurvivesWithPinnedRanges(HomePolicy policy, int nodeCount, int seed) =>
        Run(policy, nodeCount, seed, usePins: true, pollable: false);

    /// <summary>The same with waiting threads polling the network (answers handled on the thread that awaits them,
    /// as with UCX and TCP in the runtime), with and without pins.</summary>
    [Theory]
    [InlineData(HomePolicy.Distributed, 3, 7, false)]
    [InlineData(HomePolicy.Distributed, 4, 8, true)]
    [InlineData(HomePolicy.Centralized, 3, 9, false)]
    [InlineData(HomePolicy.Centralized, 4, 10, true)]
    public void EveryIncrementSurvivesWhenWaitersPoll(HomePolicy policy, int nodeCount, int seed, bool usePins) =>
        Run(policy, nodeCount, seed, usePins, pollable: true);

    /// <summary>
    /// The same with the optimizations' part of the protocol in the mix: read-ahead (threads ask for random pages
    /// without waiting, and count the ones they find prefetched), faults that carry their offset, and the homes'
    /// split detection on (every 4 hand-offs; the proposals are counted, a split itself is the runtime's). Nothing may
    /// be lost or go backwards, and read-ahead must have happened.
    /// </summary>
    [Theory]
    [InlineData(HomePolicy.Distributed, 3, 11, false)]
    [InlineData(HomePolicy.Distributed, 4, 12, true)]
    [InlineData(HomePolicy.Centralized, 3, 13, true)]
    public void EveryIncrementSurvivesReadAheadAndSplitDetection(HomePolicy policy, int nodeCount, int seed, bool pollable) =>
        Run(policy, nodeCount, seed, usePins: true, pollable, optimizations: true);

    private void Run(HomePolicy policy, int nodeCount, int seed, bool usePins, bool pollable, bool optimizations = false)
    {
        const int threadsPerNode = 3, opsPerThread = 300, pageCount = 6;
        const ulong firstPage = 0x200;
        using var c = new TestCluster(nodeCount, policy, jitterSeed: seed, pollable: pollable, splitAfter: optimizations ? 4 : 0);
        long prefetches = 0, proposals = 0;
        if (optimizations)
            foreach (var n in c.Nodes) n.SplitSuggested += (_, _) => Interlocked.Increment(ref proposals);
        var expected = new long[pageCount];
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        long retries = 0;
        using var go = new ManualResetEventSlim();
        static int Offset(int i) => 8 + i * 24; // a different place in each page

        var threads = new List<Thread>();
        for (int n = 0; n < nodeCount; n++)
        for (int t = 0; t < threadsPerNode; t++)
        {
            int node = n, thread = t;
            threads.Add(new Thread(() =>
            {
                try
                {
                    var rng = new Random(seed * 1000 + node * 10 + thread);
                    var dsm = c[node];
                    var lastSeen = new ulong[pageCount];
                    go.Wait();
                    for (int op = 0; op < opsPerThread; op++)
                    {
                        // Interleave: without this, a thread runs all its operations on pages it already holds.
                        if (rng.Next(4) == 0) Thread.Yield();
                        else Thread.SpinWait(rng.Next(100));
                        int i = rng.Next(pageCount);
                        ulong page = firstPage + (ulong)i;
                        int kind = rng.Next(10);
                        if (optimizations && rng.Next(3) == 0)
                        {
                            // read-ahead (for reading or writing) of another page, never waited for; a later access
                            // may find it here
                            if (dsm.Prefetch(firstPage + (ulong)rng.Next(pageCount), write: rng.Next(2) == 0))
                                Interlocked.Increment(ref prefetches);
                        }
                        if (kind < 6)
                        {
                            while (true)
                            {
                                // the offset a fault reports differs by node (as with adjacent counters), so homes see
                                // disjoint accesses and propose splits while the pages move
                                if (optimizations && dsm.State(page) == PageState.Modified) Touch(node, page);
                                else if (optimizations) dsm.AcquireAt((page << DsmNode.PageShift) + (ulong)(Offset(i) + 512 * node), write: true);
                                else dsm.Acquire(page, write: true);
                                if (c.Memory.TryIncrement(node, page, Offset(i))) break;
                                Interlocked.Increment(ref retries); // taken away between acquire and store
                            }
                            Interlocked.Increment(ref expected[i]);
                        }
                        else if (kind < 8 || !usePins)
                        {
                            ulong v;
                            while (true)
                            {
                                if (optimizations && dsm.State(page) >= PageState.Shared) Touch(node, page);
                                else dsm.Acquire(page, write: false);
                                if (c.Memory.TryRead(node, page, Offset(i), out v)) break;
                                Interlocked.Increment(ref retries);
                            }
                            if (v < lastSeen[i]) errors.Enqueue($"node {node} thread {thread}: page {i} went back from {lastSeen[i]} to {v}");
                            lastSeen[i] = v;
                        }
                        else
                        {
                            // A syscall-like access: pin one or two consecutive pages, then touch them directly.
                            int count = i + 1 < pageCount && rng.Next(2) == 0 ? 2 : 1;
                            using (dsm.PinRange(page << DsmNode.PageShift, (ulong)count * DsmNode.PageSize - 1, write: true))
                            {
                                Thread.SpinWait(rng.Next(200));
                                for (int k = 0; k < count; k++)
                                {
                                    if (optimizations) Touch(node, page + (ulong)k); // as ClusterMemory.MakeResident does
                                    if (!c.Memory.TryIncrement(node, page + (ulong)k, Offset(i + k)))
                                        errors.Enqueue($"node {node}: pinned page {i + k} was not writable");
                                    else
                                        Interlocked.Increment(ref expected[i + k]);
                                }
                            }
                        }
                    }
                }
                catch (Exception ex)
                {
                    errors.Enqueue($"node {node} thread {thread}: {ex}");
                }
            }) { IsBackground = true, Name = $"stress-{node}-{thread}" });
        }
        // A page held yet perhaps with its view closed (read ahead, not touched yet): as ClusterMemory.Fetch does,
        // count the touch and set the view from the state.
        void Touch(int node, ulong page)
        {
            c[node].TakePrefetched(page);
            c.Memory.Reprotect(node, page, () => c[node].State(page));
        }

        var sw = System.Diagnostics.Stopwatch.StartNew();
        foreach (var t in threads) t.Start();
        go.Set();
        foreach (var t in threads)
            Assert.True(t.Join(TimeSpan.FromSeconds(30) - sw.Elapsed > TimeSpan.Zero ? TimeSpan.FromSeconds(30) - sw.Elapsed : TimeSpan.Zero),
                $"stress threads did not finish in 30 s; errors: {string.Join("; ", errors)}");
        Assert.Empty(errors);

        for (int i = 0; i < pageCount; i++)
        {
            ulong page = firstPage + (ulong)i;
            c[0].Acquire(page, write: false);
            if (optimizations) Touch(0, page);
            Assert.True(c.Memory.TryRead(0, page, Offset(i), out ulong v));
            Assert.Equal((ulong)expected[i], v);
        }
        c.Net.WaitIdle();
        if (optimizations)
            // a page read ahead and never touched is Shared with its view closed, by design: touch each once
            for (int n = 0; n < nodeCount; n++)
                for (int i = 0; i < pageCount; i++) Touch(n, firstPage + (ulong)i);
        for (int i = 0; i < pageCount; i++) c.AssertConsistent(firstPage + (ulong)i);
        c.AssertHealthy();

        long total = expected.Sum();
        Assert.True(total > nodeCount * threadsPerNode * opsPerThread / 2);
        var stats = c.Nodes.Select(n => n.Stats).ToArray();
        Assert.Equal(stats.Sum(s => s.PagesSent), stats.Sum(s => s.PagesReceived));
        string all = string.Join("\n", stats);
        output.WriteLine($"{sw.ElapsedMilliseconds} ms, {total} increments, {retries} retries, {stats.Sum(s => s.PagesSent)} pages moved, " +
                         $"{stats.Sum(s => s.InvalidationsSent)} invalidations, {stats.Sum(s => s.Upgrades)} upgrades, " +
                         $"{stats.Sum(s => s.QueuedRequests)} queued, {stats.Sum(s => s.DeferredRequests)} deferred");
        output.WriteLine(all);
        Assert.True(stats.Sum(s => s.PagesSent) > 100, all); // the pages really moved around
        Assert.True(stats.Sum(s => s.InvalidationsSent) > 0, all);
        if (pollable)
            Assert.True(Enumerable.Range(0, nodeCount).Sum(n => c.Net[n].PolledDeliveries) > 0, "no message was delivered to a polling waiter");
        if (optimizations)
        {
            long prefetched = c.Nodes.Sum(n => n.ForwardingCounts.Prefetched);
            output.WriteLine($"prefetches started {prefetches}, counted {prefetched}, split proposals {proposals}");
            Assert.True(prefetches > 10 && prefetched > 10, $"read-ahead hardly ran: {prefetches} started, {prefetched} counted");
            Assert.True(proposals > 0, "the homes proposed no split although the nodes' write offsets were disjoint");
        }
    }
}
