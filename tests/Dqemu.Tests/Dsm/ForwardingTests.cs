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
}
