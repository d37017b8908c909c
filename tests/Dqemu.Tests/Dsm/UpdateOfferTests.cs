using Dqemu.Dsm;
using Xunit;

namespace Dqemu.Tests.Dsm;

/// <summary>
/// Data forwarding's updates (DsmNode.Update.cs): a home that saw every reader of a page come back after a write offers
/// the page to the other readers at the first read after the next write; they fetch it as read-ahead, so their own
/// access is a local hit. Three nodes: node 0 writes, nodes 1 and 2 read.
/// </summary>
public class UpdateOfferTests
{
    private const ulong Page = 7; // home: node 1 of 3

    private static void WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out: " + what);
            Thread.Sleep(1);
        }
    }

    /// <summary>One epoch: node 0 writes the page (taking the readers' copies), then the readers named read it.</summary>
    private static void Epoch(TestCluster c, params int[] readers)
    {
        c[0].Acquire(Page, write: true);
        foreach (int r in readers) c[r].Acquire(Page, write: false);
    }

    private static TestCluster Cluster(bool push, List<(int Node, ulong Page)> offers)
    {
        var c = new TestCluster(3, pushUpdates: push);
        for (int n = 0; n < 3; n++)
        {
            int node = n;
            var dsm = c[n];
            dsm.UpdateOffered += page =>
            {
                lock (offers) offers.Add((node, page));
                dsm.Prefetch(page);
            };
        }
        return c;
    }

    [Fact]
    public void AReadMostlyPageIsOfferedToTheOtherReaderAfterAWrite()
    {
        var offers = new List<(int, ulong)>();
        using var c = Cluster(push: true, offers);
        c[1].Acquire(Page, write: false);
        c[2].Acquire(Page, write: false);
        Epoch(c, 1, 2);               // both readers came back after the write: learned
        Assert.Empty(offers);
        Epoch(c, 1);                  // node 1's read makes the home offer it to node 2
        WaitFor(() => c[2].State(Page) == PageState.Shared, "node 2's copy of the offered page");
        Assert.Equal([(2, Page)], offers);
        Assert.Equal(PageState.Invalid, c.Memory.StateOf(2, Page)); // read ahead: the view opens at the first touch
        c[2].Acquire(Page, write: false);
        Assert.Equal((1L, 1L, 0L), c[2].ForwardingCounts);
        Assert.Equal((1L, 0L), c[1].UpdateCounts);  // the home counts the offer
        Assert.Equal((0L, 1L), c[2].UpdateCounts);  // the reader counts it received
        c.AssertHealthy(); // (views of pages read ahead stay closed until the runtime opens them: not AssertConsistent)
    }

    [Fact]
    public void WithoutTheOptionOrWhenAReaderDoesNotComeBackNothingIsOffered()
    {
        var offers = new List<(int, ulong)>();
        using (var c = Cluster(push: false, offers))
        {
            c[1].Acquire(Page, write: false);
            c[2].Acquire(Page, write: false);
            Epoch(c, 1, 2);
            Epoch(c, 1);
            Thread.Sleep(50);
            Assert.Equal(PageState.Invalid, c[2].State(Page));
            c.AssertHealthy();
        }
        using (var c = Cluster(push: true, offers))
        {
            c[1].Acquire(Page, write: false);
            c[2].Acquire(Page, write: false);
            Epoch(c, 1);                  // node 2 did not come back: not read-mostly for it
            Epoch(c, 1, 2);
            Thread.Sleep(50);
            Assert.Equal((0L, 0L), c[1].UpdateCounts);
            c.AssertHealthy();
            c.AssertConsistent(Page);
        }
        Assert.Empty(offers);
    }

    /// <summary>An offered epoch teaches nothing (the reader's touch is local), so offers stop after four writes; the
    /// next epoch is watched again and, the readers still coming back, four more are offered.</summary>
    [Fact]
    public void OffersRunFourWritesThenTheHomeLearnsAgain()
    {
        var offers = new List<(int, ulong)>();
        using var c = Cluster(push: true, offers);
        c[1].Acquire(Page, write: false);
        c[2].Acquire(Page, write: false);
        var offeredIn = new List<int>();
        for (int epoch = 1; epoch <= 11; epoch++)
        {
            int before;
            lock (offers) before = offers.Count;
            Epoch(c, 1);
            Thread.Sleep(20);
            lock (offers) if (offers.Count > before) offeredIn.Add(epoch);
            c[2].Acquire(Page, write: false); // node 2 reads every epoch, offered or not
        }
        // epoch 1 learns (both came back after the first write), 2-5 are offered, 6 learns, 7-10 offered, 11 learns
        Assert.Equal([2, 3, 4, 5, 7, 8, 9, 10], offeredIn);
        Assert.Equal((8L, 8L, 0L), c[2].ForwardingCounts);
        c.AssertHealthy();
    }
}
