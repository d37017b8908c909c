using Dqemu.Dsm;
using Xunit;

namespace Dqemu.Tests.Dsm;

/// <summary>Deterministic scenarios of the coherence protocol on an in-memory cluster.</summary>
public class DsmProtocolTests
{
    private static byte[] Pattern(int seed)
    {
        var b = new byte[DsmNode.PageSize];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static void Done(Task t, string what)
    {
        Assert.True(t.Wait(5000), "timed out: " + what);
    }

    private static LoggedMessage[] Of(IEnumerable<LoggedMessage> log, ulong page, params ushort[] types) =>
        log.Where(m => m.Page == page && (types.Length == 0 || types.Contains(m.Type))).ToArray();

    [Fact]
    public void HomeFunctionHasOnePlaceAndTwoPolicies()
    {
        Assert.Equal(2, DsmNode.HomeOf(0x1235, 3, HomePolicy.Distributed)); // 0x1235 = 4661 = 3 * 1553 + 2
        Assert.Equal(0, DsmNode.HomeOf(0x1235, 3, HomePolicy.Centralized));
        Assert.Equal(0, DsmNode.HomeOf(ulong.MaxValue, 1, HomePolicy.Distributed));
        using var c = new TestCluster(4, HomePolicy.Distributed);
        Assert.Equal(3, c[1].HomeOf(7));
        Assert.True(DsmNode.IsDsmMessage(DsmMessages.ReadReq));
        Assert.True(DsmNode.IsDsmMessage(0x1FF));
        Assert.False(DsmNode.IsDsmMessage(0xFF));
        Assert.False(DsmNode.IsDsmMessage(0x200));
    }

    [Fact]
    public void StartStateIsNodeZeroModifiedEverywhere()
    {
        using var c = new TestCluster(3);
        foreach (ulong p in new ulong[] { 0, 1, 2, 0xdead_beef, ulong.MaxValue >> 12 })
        {
            Assert.Equal(PageState.Modified, c[0].State(p));
            Assert.Equal(PageState.Invalid, c[1].State(p));
            Assert.Equal(PageState.Invalid, c[2].State(p));
            c[0].Acquire(p, write: true);      // already held: no message
            c.AssertConsistent(p);
        }
        Assert.Empty(c.Net.Sent);
        Assert.Equal(0, c[0].Stats.NetworkFaults);
    }

    [Fact]
    public void SingleNodeNeverTalks()
    {
        using var c = new TestCluster(1);
        c[0].Acquire(5, true);
        c[0].AcquireRange(0x1000, 0x10000, true);
        using (c[0].PinRange(0x3000, 10, write: true)) { }
        Assert.Empty(c.Net.Sent);
        Assert.Equal(PageState.Modified, c[0].State(5));
    }

    [Theory]
    [InlineData(HomePolicy.Distributed)]
    [InlineData(HomePolicy.Centralized)]
    public void ReadsShareThePage(HomePolicy policy)
    {
        using var c = new TestCluster(3, policy);
        const ulong page = 0x41; // distributed home: 0x41 % 3 = 2
        var data = Pattern(1);
        c.Memory.Fill(0, page, data);

        c[1].Acquire(page, write: false);
        Assert.Equal(PageState.Shared, c[1].State(page));
        Assert.Equal(PageState.Shared, c[0].State(page)); // the owner downgraded
        Assert.Equal(data, c.Memory.Copy(1, page));
        c[2].Acquire(page, write: false);
        Assert.Equal(data, c.Memory.Copy(2, page));
        c.Net.WaitIdle();
        c.AssertConsistent(page);
        c.AssertHealthy();

        var e = c[c[0].HomeOf(page)].DirectoryEntry(page);
        Assert.Equal(0b111UL, e.Copies);
        Assert.False(e.Modified);
        Assert.Equal(1, c[1].Stats.ReadFaults);
        Assert.Equal(1, c[1].Stats.PagesReceived);
        Assert.Equal(1, c[1].Stats.NetworkFaults);
        Assert.True(c[1].Stats.MeanFaultLatencyUs > 0);
        // No node asks again for what it holds.
        int before = c.Net.Sent.Length;
        c[1].Acquire(page, false);
        c[2].Acquire(page, false);
        Assert.Equal(before, c.Net.Sent.Length);
    }

    [Theory]
    [InlineData(HomePolicy.Distributed)]
    [InlineData(HomePolicy.Centralized)]
    public void AWriteInvalidatesEveryOtherCopy(HomePolicy policy)
    {
        using var c = new TestCluster(4, policy);
        const ulong page = 0x42;
        var data = Pattern(2);
        c.Memory.Fill(0, page, data);
        for (int n = 1; n < 4; n++) c[n].Acquire(page, false);
        c.Net.WaitIdle();
        c.Net.ClearLog();

        c[3].Acquire(page, write: true); // node 3 shares the page: an upgrade, 0,1,2 invalidated
        c.Net.WaitIdle();
        Assert.Equal(PageState.Modified, c[3].State(page));
        for (int n = 0; n < 3; n++) Assert.Equal(PageState.Invalid, c[n].State(page));
        c.AssertConsistent(page);
        c.AssertHealthy();

        Assert.Equal(1, c[3].Stats.Upgrades);
        Assert.Equal(1, c[3].Stats.WriteFaults);
        Assert.Empty(Of(c.Net.Sent, page, DsmMessages.PageData)); // no data moved, only the right to write
        for (int n = 0; n < 3; n++) Assert.Equal(1, c[n].Stats.InvalidationsReceived);
        int home = c[0].HomeOf(page);
        Assert.Equal(3, c[home].Stats.InvalidationsSent);
        Assert.Single(Of(c.Net.Sent, page, DsmMessages.Grant));
    }

    [Theory]
    [InlineData(HomePolicy.Distributed)]
    [InlineData(HomePolicy.Centralized)]
    public void AWriteFetchesTheDataFromTheOwner(HomePolicy policy)
    {
        using var c = new TestCluster(3, policy);
        const ulong page = 0x40; // distributed home: 0x40 % 3 = 1, the writer itself
        var data = Pattern(3);
        c.Memory.Fill(0, page, data);

        c[1].Acquire(page, write: true);
        c.Net.WaitIdle();
        Assert.Equal(PageState.Modified, c[1].State(page));
        Assert.Equal(PageState.Invalid, c[0].State(page));
        Assert.Equal(data, c.Memory.Copy(1, page));
        var pd = Assert.Single(Of(c.Net.Sent, page, DsmMessages.PageData));
        Assert.Equal((0, 1), (pd.From, pd.To));
        Assert.Equal(1, c[0].Stats.InvalidationsReceived); // FetchInvalidate counts as one
        Assert.Equal(0, c[1].Stats.Upgrades);

        // And on to node 2, which then writes the last owner's data.
        var data2 = Pattern(4);
        c.Memory.Fill(1, page, data2);
        c[2].Acquire(page, write: true);
        c.Net.WaitIdle();
        Assert.Equal(data2, c.Memory.Copy(2, page));
        c.AssertConsistent(page);
        c.AssertHealthy();
    }

    [Theory]
    [InlineData(HomePolicy.Distributed)]
    [InlineData(HomePolicy.Centralized)]
    public void ReadThenWriteUpgradesWithoutData(HomePolicy policy)
    {
        using var c = new TestCluster(2, policy);
        const ulong page = 0x77;
        c.Memory.Fill(0, page, Pattern(5));
        c[1].Acquire(page, false);
        c[1].Acquire(page, true);
        c.Net.WaitIdle();
        Assert.Equal(PageState.Modified, c[1].State(page));
        Assert.Equal(PageState.Invalid, c[0].State(page));
        Assert.Single(Of(c.Net.Sent, page, DsmMessages.PageData));
        Assert.Equal(1, c[1].Stats.Upgrades);
        Assert.Equal(1, c[1].Stats.ReadFaults);
        Assert.Equal(1, c[1].Stats.WriteFaults);
        c.AssertConsistent(page);
        c.AssertHealthy();
    }

    [Theory]
    [InlineData(HomePolicy.Distributed)]
    [InlineData(HomePolicy.Centralized)]
    public void DataGoesStraightFromSupplierToRequesterNotThroughTheHome(HomePolicy policy)
    {
        using var c = new TestCluster(3, policy);
        // A page whose home is neither the writer (1) nor the reader: distributed home of 0x32 = 0x32 % 3 = 2.
        const ulong page = 0x32;
        int home = c[0].HomeOf(page);
        int writer = 1, reader = home == 2 ? 0 : 2;
        Assert.NotEqual(home, writer);
        Assert.NotEqual(home, reader);

        c[writer].Acquire(page, true);
        var data = Pattern(6);
        c.Memory.Fill(writer, page, data);
        c.Net.WaitIdle();
        c.Net.ClearLog();

        c[reader].Acquire(page, false);
        c.Net.WaitIdle();
        Assert.Equal(data, c.Memory.Copy(reader, page));
        var pd = Assert.Single(Of(c.Net.Sent, page, DsmMessages.PageData));
        Assert.Equal((writer, reader), (pd.From, pd.To));
        Assert.DoesNotContain(c.Net.Sent, m => m.From == home && m.Type == DsmMessages.PageData);
        // Request to the home, Forward to the supplier, data to the requester, Ack to the home: four messages
        // (three when the home is also... never here).
        var types = Of(c.Net.Sent, page).Select(m => (m.From, m.To, m.Type)).ToArray();
        Assert.Equal(new[]
        {
            (reader, home, DsmMessages.ReadReq),
            (home, writer, DsmMessages.Forward),
            (writer, reader, DsmMessages.PageData),
            (reader, home, DsmMessages.Ack),
        }, types);
        Assert.Equal(PageState.Shared, c[writer].State(page));
        Assert.Equal(1, c[writer].Stats.PagesSent);
        c.AssertConsistent(page);
        c.AssertHealthy();
    }

    [Theory]
    [InlineData(HomePolicy.Distributed)]
    [InlineData(HomePolicy.Centralized)]
    public void TheHomeServesQueuedRequestsInArrivalOrder(HomePolicy policy)
    {
        using var c = new TestCluster(4, policy);
        const ulong page = 0x80; // home 0 under both policies
        Assert.Equal(0, c[0].HomeOf(page));

        c.Net.Hold(1); // node 1's answer stays in its inbox: the first transaction cannot finish
        var t1 = Task.Run(() => c[1].Acquire(page, true));
        InMemoryNetwork.WaitUntil(() => c[0].DirectoryEntry(page).Busy, "first transaction");
        var t2 = Task.Run(() => c[2].Acquire(page, false));
        InMemoryNetwork.WaitUntil(() => c[0].DirectoryEntry(page).Queued == 1, "second request queued");
        var t3 = Task.Run(() => c[3].Acquire(page, true));
        InMemoryNetwork.WaitUntil(() => c[0].DirectoryEntry(page).Queued == 2, "third request queued");
        var t4 = Task.Run(() => c[0].Acquire(page, false));
        InMemoryNetwork.WaitUntil(() => c[0].DirectoryEntry(page).Queued == 3, "fourth request queued");
        var e = c[0].DirectoryEntry(page);
        Assert.Equal(1, e.Requester);
        Assert.Equal(new[] { (2, false), (3, true), (0, false) }, e.QueuedNodes);
        Assert.False(t1.IsCompleted || t2.IsCompleted || t3.IsCompleted || t4.IsCompleted);

        c.Net.Release(1);
        Done(t1, "t1"); Done(t2, "t2"); Done(t3, "t3"); Done(t4, "t4");
        c.Net.WaitIdle();
        var acks = Of(c.Net.Sent, page, DsmMessages.Ack).Select(m => m.From).ToArray();
        Assert.Equal(new[] { 1, 2, 3 }, acks); // node 0's own Ack is handled inline, never sent
        Assert.Equal(3, c[0].Stats.QueuedRequests);
        Assert.Equal(PageState.Shared, c[0].State(page));
        Assert.Equal(PageState.Shared, c[3].State(page));
        c.AssertConsistent(page);
        c.AssertHealthy();
    }

    [Fact]
    public void ThreadsOfOneNodeShareOneRequest()
    {
        using var c = new TestCluster(2);
        const ulong page = 0x92; // home node 0, so node 1's request goes over the network
        c.Net.Hold(1);
        var threads = Enumerable.Range(0, 8).Select(_ => new Thread(() => c[1].Acquire(page, false))).ToArray();
        foreach (var t in threads) t.Start();
        InMemoryNetwork.WaitUntil(() => c[1].WaitingThreads == 8, "every reader waiting");
        c.Net.Release(1);
        foreach (var t in threads) Assert.True(t.Join(5000));
        c.Net.WaitIdle();
        Assert.Single(Of(c.Net.Sent, page, DsmMessages.ReadReq));
        Assert.Equal(1, c[1].Stats.ReadFaults);
        Assert.Equal(8, c[1].Stats.NetworkFaults);
        c.AssertHealthy();
    }

    [Fact]
    public void AWriteWaitsForTheReadInFlightThenUpgrades()
    {
        using var c = new TestCluster(2);
        const ulong page = 0x94; // home node 0
        c.Net.Hold(1);
        var reader = Task.Run(() => c[1].Acquire(page, false));
        InMemoryNetwork.WaitUntil(() => Of(c.Net.Sent, page, DsmMessages.PageData).Length == 1, "the data");
        var writer = Task.Run(() => c[1].Acquire(page, true));
        Thread.Sleep(50);
        Assert.False(writer.IsCompleted);
        Assert.Single(Of(c.Net.Sent, page, DsmMessages.ReadReq, DsmMessages.WriteReq)); // the writer did not ask yet
        c.Net.Release(1);
        Done(reader, "reader");
        Done(writer, "writer");
        c.Net.WaitIdle();
        var fromNode1 = c.Net.Sent.Where(m => m.From == 1 && m.Page == page && m.Type is DsmMessages.ReadReq or DsmMessages.WriteReq)
            .Select(m => m.Type).ToArray();
        Assert.Equal(new[] { DsmMessages.ReadReq, DsmMessages.WriteReq }, fromNode1);
        Assert.Equal(1, c[1].Stats.Upgrades);
        Assert.Equal(PageState.Modified, c[1].State(page));
        c.AssertConsistent(page);
        c.AssertHealthy();
    }

    [Fact]
    public void AcquireRangeTakesEveryPageInOrder()
    {
        using var c = new TestCluster(2, HomePolicy.Centralized); // every request goes over the network
        c[1].AcquireRange(0x1ff8, 0x1010, write: true); // bytes 0x1ff8..0x3007: pages 1, 2, 3
        c.Net.WaitIdle();
        var reqs = c.Net.Sent.Where(m => m.From == 1 && m.Type == DsmMessages.WriteReq).Select(m => m.Page).ToArray();
        Assert.Equal(new ulong[] { 1, 2, 3 }, reqs);
        Assert.Equal(PageState.Invalid, c[1].State(0));
        Assert.Equal(PageState.Invalid, c[1].State(4));
        c[1].AcquireRange(0x5000, 0, write: true); // empty: nothing
        c.Net.WaitIdle();
        Assert.Equal(3, c.Net.Sent.Count(m => m.From == 1 && m.Type == DsmMessages.WriteReq));
        Assert.Throws<ArgumentOutOfRangeException>(() => c[1].AcquireRange(ulong.MaxValue - 10, 100, false));
        c.AssertHealthy();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void APinHoldsRemoteRequestsBackUntilReleased(bool pinWrite)
    {
        using var c = new TestCluster(3);
        const ulong page = 0xa0;
        var pin = c[1].PinRange(page << 12, DsmNode.PageSize, pinWrite);
        Assert.Equal(pinWrite ? PageState.Modified : PageState.Shared, c[1].State(page));

        // A write elsewhere must wait for the pin, whatever the pin's kind.
        var writer = Task.Run(() => c[2].Acquire(page, true));
        InMemoryNetwork.WaitUntil(() => c[1].Stats.DeferredRequests == 1, "the deferral");
        Thread.Sleep(30);
        Assert.False(writer.IsCompleted);
        Assert.NotEqual(PageState.Invalid, c[1].State(page));
        // Another local pin now waits too (it must not starve the deferred request).
        var pin2 = Task.Run(() => c[1].PinRange(page << 12, 1, false).Dispose());
        Thread.Sleep(30);
        Assert.False(pin2.IsCompleted);
        // The thread holding the pin pins the page again (a syscall's second buffer in the same page): it joins its
        // own pin, where waiting would deadlock it on itself (until the 10 s acquire timeout throws).
        c[1].PinRange(page << 12, 1, pinWrite).Dispose();
        Assert.False(writer.IsCompleted);

        pin.Dispose();
        Done(writer, "remote writer");
        Done(pin2, "second pin");
        c.Net.WaitIdle();
        c.AssertConsistent(page);
        c.AssertHealthy();
    }

    [Fact]
    public void AWritePinAfterTheThreadsOwnReadPinOfThePageDoesNotWaitForItself()
    {
        using var c = new TestCluster(3);
        const ulong page = 0xa2;
        var read = c[1].PinRange(page << 12, 8, write: false); // a syscall's first buffer: node 1 holds the page Shared
        Assert.Equal(PageState.Shared, c[1].State(page));
        var writer = Task.Run(() => c[2].Acquire(page, true)); // the home's transaction: its Invalidate is held back
        InMemoryNetwork.WaitUntil(() => c[1].Stats.DeferredRequests == 1, "the deferral");
        // The second buffer, in the same page, for writing: the upgrade queues behind node 2's transaction, which waits
        // for this thread's read pin. Without lending the pin this waits out the 10 s acquire timeout and throws.
        var write = c[1].PinRange((page << 12) + 64, 8, write: true);
        Assert.Equal(PageState.Modified, c[1].State(page));
        Done(writer, "remote writer"); // node 2 had the page in between
        Assert.Equal(1, c[2].Stats.PagesReceived);
        write.Dispose();
        read.Dispose(); // the lent pin came back: releasing both leaves no pin count below zero
        c.Net.WaitIdle();
        c.AssertConsistent(page);
        c.AssertHealthy();
        c[2].Acquire(page, true); // nothing of node 1 holds the page any more
        c.Net.WaitIdle();
        Assert.Equal(PageState.Invalid, c[1].State(page));
        c.AssertConsistent(page);
    }

    [Fact]
    public void AReadPinDoesNotBlockRemoteReaders()
    {
        using var c = new TestCluster(3);
        const ulong page = 0xa1;
        using (c[0].PinRange(page << 12, 1, write: false))
        {
            c[1].Acquire(page, false); // node 0 goes Modified -> Shared under a read pin: allowed
            Assert.Equal(PageState.Shared, c[0].State(page));
            Assert.Equal(0, c[0].Stats.DeferredRequests);
        }
        c.Net.WaitIdle();
        c.AssertConsistent(page);
        c.AssertHealthy();
    }

    [Fact]
    public void ZeroPagesTravelAsATag()
    {
        using var c = new TestCluster(2);
        c[1].Acquire(0x55, false);
        c.Net.WaitIdle();
        var pd = Assert.Single(Of(c.Net.Sent, 0x55, DsmMessages.PageData));
        Assert.Equal(DsmMessages.PageDataHeader, pd.Body.Length);
        Assert.Equal(1, c[0].Stats.ZeroPagesSent);
        Assert.Equal(new byte[DsmNode.PageSize], c.Memory.Copy(1, 0x55));
    }

    [Fact]
    public void CompressiblePagesShrink()
    {
        using var c = new TestCluster(2);
        var text = new byte[DsmNode.PageSize];
        for (int i = 0; i < text.Length; i++) text[i] = (byte)"hello, coherent world\n"[i % 22];
        c.Memory.Fill(0, 0x56, text);
        c[1].Acquire(0x56, false);
        c.Net.WaitIdle();
        var pd = Assert.Single(Of(c.Net.Sent, 0x56, DsmMessages.PageData));
        Assert.True(pd.Body.Length < 1024, $"{pd.Body.Length} bytes");
        Assert.Equal(text, c.Memory.Copy(1, 0x56));
        Assert.Equal(1, c[0].Stats.CompressedPagesSent);
    }

    [Fact]
    public void ALostNodeWakesWaitersWithAnError()
    {
        using var c = new TestCluster(2);
        c.Net.Hold(1);
        var t = Task.Run(() => c[1].Acquire(0x60, false));
        InMemoryNetwork.WaitUntil(() => c.Net.Sent.Length >= 2, "the request");
        c[1].OnNodeLost(0, "node 0 (127.0.0.1:7400) closed the connection");
        var ex = Assert.Throws<AggregateException>(() => t.Wait(5000));
        var dsm = Assert.IsType<DsmException>(ex.InnerException);
        Assert.Contains("node 0 lost", dsm.Message);
        Assert.Throws<DsmException>(() => c[1].Acquire(0x61, false));
        c.Net.Release(1);
    }

    [Fact]
    public void ASendToADeadNodeFailsTheEngine()
    {
        using var c = new TestCluster(3, HomePolicy.Centralized);
        string? failed = null;
        c[1].Failed += r => failed = r;
        c.Net.Kill(0);
        var ex = Assert.Throws<DsmException>(() => c[1].Acquire(0x63, false));
        Assert.Contains("node 0", ex.Message);
        Assert.NotNull(failed);
        Assert.Equal(c[1].Failure, failed);
        Assert.NotNull(c[2].Failure); // told by the transport
    }

    [Fact]
    public void ARequestToADeadHomeLeavesTheReportToTheTransport()
    {
        // the send fails before the transport has told anyone: the engine must not fail in its own words (the runtime
        // prints the first failure, and the loss line names the node), it waits for the transport's report
        using var c = new TestCluster(2, HomePolicy.Centralized, acquireTimeout: TimeSpan.FromSeconds(30));
        string? failed = null;
        c[1].Failed += r => Volatile.Write(ref failed, r);
        c.Net.Kill(0, tell: false);
        var t = Task.Run(() => c[1].Acquire(0x63, false));
        Thread.Sleep(200);
        Assert.False(t.IsCompleted, "the acquire ended before the loss was reported");
        Assert.Null(Volatile.Read(ref failed));
        c.Net.TellLost(0);
        var ex = Assert.Throws<AggregateException>(() => t.Wait(5000));
        Assert.Contains("node 0 lost", Assert.IsType<DsmException>(ex.InnerException).Message);
        Assert.StartsWith("node 0 lost: ", Volatile.Read(ref failed));
    }

    [Fact]
    public void APageThatNeverComesTimesOut()
    {
        using var c = new TestCluster(2, acquireTimeout: TimeSpan.FromMilliseconds(100));
        c.Net.Hold(1);
        var ex = Assert.Throws<DsmException>(() => c[1].Acquire(0x62, true));
        Assert.Contains("0x62", ex.Message);
        Assert.Contains("did not arrive", ex.Message);
        c.Net.Release(1);
    }

    [Fact]
    public void ABadMessageStopsTheEngineWithoutThrowing()
    {
        using var c = new TestCluster(2);
        c[1].OnMessage(0, DsmMessages.PageData, [0x60, 0, 0, 0, 0, 0, 0, 0, (byte)PageState.Shared, 0]); // data nobody asked for
        Assert.NotNull(c[1].Failure);
        Assert.Contains("asked for none", c[1].Failure);
        c[0].OnMessage(1, 0x1FF, new byte[8]);
        Assert.Contains("unknown DSM message", c[0].Failure);
        using var c2 = new TestCluster(2);
        c2[1].OnMessage(0, DsmMessages.Ack, new byte[3]);
        Assert.Contains("too short", c2[1].Failure);
    }

    [Fact]
    public void TheInvariantCheckerCatchesTwoWriters()
    {
        var m = new InMemoryMemory(2);
        m[1].Protect(7, PageState.Modified); // node 0 still holds it Modified
        Assert.Single(m.Violations);
        m[0].Protect(8, PageState.Shared);
        m[1].Protect(8, PageState.Shared);
        Assert.Single(m.Violations);
    }
}
