using Dqemu.Dsm;
using Xunit;

namespace Dqemu.Tests.Dsm;

/// <summary>
/// Data forwarding's read-ahead in the engine (DsmNode.Forward.cs): a page prefetched for reading arrives Shared with
/// its view closed, one prefetched for writing arrives Modified with its view closed (read-only when it was held
/// Shared), its first touch counts as used, and a page taken away untouched counts as wasted.
/// </summary>
public class ForwardingTests
{
    private static void WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out: " + what);
            Thread.Sleep(1);
        }
    }

    /// <summary>For reading it arrives Shared (node 0 keeps a copy), for writing Modified (the only copy); either way
    /// its view stays closed until the first touch, which counts as used.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void APrefetchedPageArrivesWithItsViewClosedAndItsFirstTouchIsAHit(bool write)
    {
        using var c = new TestCluster(2);
        var data = new byte[DsmNode.PageSize];
        new Random(5).NextBytes(data);
        c.Memory.Fill(0, 5, data);
        var held = write ? PageState.Modified : PageState.Shared;

        Assert.True(c[1].Prefetch(5, write));
        Assert.False(c[1].Prefetch(5, write)); // on its way already
        WaitFor(() => c[1].State(5) == held, "the prefetched page");
        Assert.Equal(write ? PageState.Invalid : PageState.Shared, c[0].State(5));
        Assert.Equal(PageState.Invalid, c.Memory.StateOf(1, 5)); // the view stays closed until touched
        Assert.Equal(data, c.Memory.Copy(1, 5));
        Assert.False(c[1].Prefetch(5, write)); // held already
        Assert.False(c[1].Prefetch(5));

        Assert.True(c[1].TakePrefetched(5));
        Assert.False(c[1].TakePrefetched(5));
        Assert.Equal((1L, 1L, 0L), c[1].ForwardingCounts);
        c.AssertHealthy();
    }

    [Fact]
    public void APageTakenAwayUntouchedIsWastedAndAWriteUpgradeIsAHit()
    {
        using var c = new TestCluster(2);
        Assert.True(c[1].Prefetch(6));
        Assert.True(c[1].Prefetch(7));
        WaitFor(() => c[1].State(6) == PageState.Shared && c[1].State(7) == PageState.Shared, "the prefetched pages");

        c[0].Acquire(6, write: true);         // node 1's untouched copy is invalidated
        Assert.Equal(PageState.Invalid, c[1].State(6));
        c[1].Acquire(7, write: true);         // an upgrade puts the prefetched page to use
        Assert.Equal(PageState.Modified, c[1].State(7));

        Assert.Equal((2L, 1L, 1L), c[1].ForwardingCounts);
        Assert.False(c[1].TakePrefetched(7));
        c.AssertHealthy();
    }

    [Fact]
    public void AnUpgradePrefetchedLeavesTheViewReadOnlyUntilTheFirstWrite()
    {
        using var c = new TestCluster(2);
        c[1].Acquire(10, write: false);
        Assert.Equal(PageState.Shared, c.Memory.StateOf(1, 10));

        Assert.True(c[1].Prefetch(10, write: true)); // held Shared: a write prefetch upgrades it
        WaitFor(() => c[1].State(10) == PageState.Modified, "the upgrade");
        Assert.Equal(PageState.Shared, c.Memory.StateOf(1, 10)); // reads go on; the first write is seen
        Assert.True(c[1].TakePrefetched(10));

        Assert.True(c[1].Prefetch(11, write: true));
        WaitFor(() => c[1].State(11) == PageState.Modified, "the second page");
        c[0].Acquire(11, write: false);           // taken back untouched (downgraded): wasted
        Assert.Equal(PageState.Shared, c[1].State(11));
        Assert.Equal((2L, 1L, 1L), c[1].ForwardingCounts);
        c.AssertHealthy();
    }

    [Fact]
    public void TheOwnerDoesNotPrefetch()
    {
        using var c = new TestCluster(2);
        Assert.False(c[0].Prefetch(9)); // node 0 holds every page at first
        Assert.Equal((0L, 0L, 0L), c[0].ForwardingCounts);
    }

    // ---------------------------------------------------------------- bulk transfers (DsmNode.Batch.cs)

    /// <summary>Eight pages prefetched in one batch by node 1: one transport message carries all requests (ReadReqs to
    /// node 0 as home of the even pages, and the Forwards node 1's own home sends node 0 for the odd ones); node 0 answers
    /// each as it goes (8 PageData, not batched: a reader must not wait for the window's last page), and node 1 Acks the
    /// even pages' home; the data and states are as page by page.</summary>
    [Fact]
    public void APrefetchRunInOneBatchAsksInOneMessage()
    {
        using var c = new TestCluster(2);
        var rng = new Random(11);
        var data = new Dictionary<ulong, byte[]>();
        for (ulong p = 0x100; p < 0x108; p++)
        {
            data[p] = new byte[DsmNode.PageSize];
            rng.NextBytes(data[p]);
            c.Memory.Fill(0, p, data[p]);
        }
        c.Net.ClearLog();
        using (c[1].BeginBatch())
        {
            using (c[1].BeginBatch()) // scopes nest: the inner one sends nothing
                for (ulong p = 0x100; p < 0x104; p++) Assert.True(c[1].Prefetch(p));
            Assert.Empty(c.Net.Sent);
            for (ulong p = 0x104; p < 0x108; p++) Assert.True(c[1].Prefetch(p));
            Assert.Empty(c.Net.Sent);
        }
        WaitFor(() => data.Keys.All(p => c[1].State(p) == PageState.Shared), "the prefetched pages");
        c.Net.WaitIdle();
        foreach (var (p, bytes) in data)
        {
            Assert.Equal(bytes, c.Memory.Copy(1, p));
            Assert.Equal(PageState.Invalid, c.Memory.StateOf(1, p)); // closed until touched, as any prefetch
            Assert.Equal(PageState.Shared, c[0].State(p));
        }
        var sent = c.Net.Sent;
        Assert.Equal(DsmMessages.Batch, sent[0].Type);
        Assert.Equal((1, 0), (sent[0].From, sent[0].To));
        Assert.Equal(new[] { DsmMessages.ReadReq, DsmMessages.Forward }, Items(sent[0].Body).Select(i => i.Type).Distinct().Order());
        Assert.Equal(new ulong[] { 0x100, 0x101, 0x102, 0x103, 0x104, 0x105, 0x106, 0x107 }, Items(sent[0].Body).Select(i => i.Page).Order());
        Assert.Equal(8, sent.Count(m => m.From == 0 && m.Type == DsmMessages.PageData));
        Assert.Equal(4, sent.Count(m => m.From == 1 && m.Type == DsmMessages.Ack));
        Assert.Equal(1 + 8 + 4, sent.Length);
        Assert.Equal((1L, 8L), (c[1].BatchCounts.Batches, c[1].BatchCounts.Messages));
        Assert.Equal((0L, 0L), c[0].BatchCounts);
        c.AssertHealthy();
    }

    /// <summary>A batch is sent before it would pass <see cref="DsmNode.BatchLimit"/>: 4,200 requests (16 and 18 bytes with
    /// their headers) leave in two batches, none over the limit, and every page arrives.</summary>
    [Fact]
    public void ABatchIsSentBeforeItPassesTheLimit()
    {
        using var c = new TestCluster(2);
        const ulong first = 0x10_000, count = 4200;
        using (c[1].BeginBatch())
            for (ulong p = first; p < first + count; p++) Assert.True(c[1].Prefetch(p));
        WaitFor(() => Enumerable.Range(0, (int)count).All(i => c[1].State(first + (ulong)i) == PageState.Shared), "the prefetched pages");
        c.Net.WaitIdle();
        var batches = c.Net.Sent.Where(m => m.Type == DsmMessages.Batch).ToArray();
        Assert.Equal(2, batches.Length);
        Assert.All(batches, m => Assert.InRange(m.Body.Length, 1, DsmNode.BatchLimit));
        Assert.InRange(batches[0].Body.Length, DsmNode.BatchLimit - 18, DsmNode.BatchLimit); // full: the next item did not fit
        Assert.Equal((int)count, batches.Sum(m => Items(m.Body).Count));
        c.AssertHealthy();
    }

    /// <summary>A Batch holding a Batch, or one whose last item is cut short, is a protocol error: the engine stops with a
    /// message naming it, as for any malformed message.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AMalformedBatchStopsTheEngine(bool nested)
    {
        using var c = new TestCluster(2);
        var item = new byte[DsmMessages.BatchItemHeader + 9];
        BitConverter.TryWriteBytes(item.AsSpan(0, 2), nested ? DsmMessages.Batch : DsmMessages.Ack);
        BitConverter.TryWriteBytes(item.AsSpan(2, 4), nested ? 9 : 20); // 20: more than the 9 bytes that follow
        c[0].OnMessage(1, DsmMessages.Batch, item);
        Assert.NotNull(c[0].Failure);
        Assert.Contains(nested ? "a batch inside a batch" : "overruns its batch", c[0].Failure);
    }

    private static List<(ushort Type, ulong Page)> Items(byte[] body)
    {
        var items = new List<(ushort, ulong)>();
        var reader = new DsmMessages.BatchReader(body);
        while (reader.Next(out ushort type, out var item)) items.Add((type, DsmMessages.PageOf(item)));
        return items;
    }
}
