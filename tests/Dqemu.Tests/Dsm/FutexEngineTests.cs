using System.Collections.Concurrent;
using System.Diagnostics;
using Dqemu.Dsm;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Dsm;

/// <summary>The cluster futex: single-node semantics, the hierarchy's message economy, node 0's table, and
/// mutex / condition-variable workloads spread over nodes.</summary>
public class FutexEngineTests(ITestOutputHelper output)
{
    private const uint All = uint.MaxValue;
    private const long EAGAIN = -11, ETIMEDOUT = -110, EINTR = -4, EFAULT = -14, EINVAL = -22;

    private static long In(int ms) => Stopwatch.GetTimestamp() + ms * Stopwatch.Frequency / 1000;

    private static Task<long> StartWait(FutexEngine e, ulong addr, uint expected, uint bitset = All,
        long deadline = long.MaxValue, FutexWaiter? w = null)
    {
        w ??= new FutexWaiter();
        return Task.Factory.StartNew(() => e.Wait(addr, expected, bitset, deadline, w), TaskCreationOptions.LongRunning);
    }

    private static long Result(Task<long> t, string what, int ms = 5000)
    {
        Assert.True(t.Wait(ms), "timed out: " + what);
        return t.Result;
    }

    /// <summary>The task is still running after <paramref name="ms"/> milliseconds.</summary>
    private static bool StillWaiting(Task t, int ms = 50) => !t.Wait(ms);

    private static void Until(Func<bool> condition, string what, int ms = 5000) =>
        InMemoryNetwork.WaitUntil(condition, what, ms);

    /// <summary>Starts waiters one after the other, each queued before the next starts (so FIFO order is known).</summary>
    private static Task<long>[] QueueWaiters(FutexEngine e, ulong addr, uint expected, params uint[] bitsets)
    {
        var tasks = new Task<long>[bitsets.Length];
        int before = e.LocalWaiters(addr);
        for (int i = 0; i < bitsets.Length; i++)
        {
            tasks[i] = StartWait(e, addr, expected, bitsets[i]);
            int n = before + i + 1;
            Until(() => e.LocalWaiters(addr) == n, $"waiter {i} queued");
        }
        return tasks;
    }

    // ---------------------------------------------------------------- single node

    [Fact]
    public void MessageRangeIsItsOwn()
    {
        Assert.True(FutexEngine.IsFutexMessage(FutexEngine.FirstMessage));
        Assert.True(FutexEngine.IsFutexMessage(FutexEngine.LastMessage));
        Assert.True(FutexEngine.IsFutexMessage(FutexMessages.WakeLocal));
        Assert.False(FutexEngine.IsFutexMessage(0x1FF));
        Assert.False(FutexEngine.IsFutexMessage(0x210));
        Assert.False(DsmNode.IsDsmMessage(FutexEngine.FirstMessage));
    }

    [Fact]
    public void MismatchReturnsEagainAndLeavesNothingQueued()
    {
        using var c = new FutexTestCluster(1);
        ulong a = c.Memory.Addr(3);
        c.Memory[3] = 5;
        Assert.Equal(EAGAIN, c[0].Wait(a, 4, All, long.MaxValue, new FutexWaiter()));
        Assert.Equal(0, c[0].LocalWaiters(a));
        Assert.Equal(1, c.Memory.ReadsBy(0));
        Assert.Equal(0, c[0].Wake(a, 1, All));
        Assert.Empty(c.Sent());
        c.AssertHealthy();
    }

    [Fact]
    public void WakeIsFifo()
    {
        using var c = new FutexTestCluster(1);
        ulong a = c.Memory.Addr(0);
        var t = QueueWaiters(c[0], a, 0, All, All, All);
        Assert.Equal(1, c[0].Wake(a, 1, All));
        Assert.Equal(0, Result(t[0], "first waiter"));
        Assert.True(StillWaiting(t[1]) && !t[2].IsCompleted, "a later waiter woke before the first");
        Assert.Equal(1, c[0].Wake(a, 1, All));
        Assert.Equal(0, Result(t[1], "second waiter"));
        Assert.True(StillWaiting(t[2]), "the third waiter woke early");
        Assert.Equal(1, c[0].Wake(a, 5, All));
        Assert.Equal(0, Result(t[2], "third waiter"));
        Assert.Equal(0, c[0].LocalWaiters(a));
        Assert.Equal(3, c[0].Stats.LocalWaits);
        Assert.Equal(3, c[0].Stats.LocalWakes);
        Assert.Equal(new FutexStats(3, 3, 0, 0, 1, 1, 0), c[0].Stats);
        c.AssertHealthy();
    }

    [Fact]
    public void BitsetsFilterWakes()
    {
        using var c = new FutexTestCluster(1);
        ulong a = c.Memory.Addr(1);
        var t = QueueWaiters(c[0], a, 0, 0b01, 0b10, 0b11);
        Assert.Equal(2, c[0].Wake(a, int.MaxValue, 0b10));  // the second and the third, not the first
        Assert.Equal(0, Result(t[1], "bitset 0b10"));
        Assert.Equal(0, Result(t[2], "bitset 0b11"));
        Assert.True(StillWaiting(t[0]), "a waiter with a disjoint bitset woke");
        Assert.Equal(0, c[0].Wake(a, int.MaxValue, 0b100));
        Assert.Equal(1, c[0].Wake(a, int.MaxValue, 0b01));
        Assert.Equal(0, Result(t[0], "bitset 0b01"));
        c.AssertHealthy();
    }

    [Fact]
    public void WaiterWokenWhileReadingTheWordReturnsZero()
    {
        // The wake counted the waiter; if it then reported the mismatch (EAGAIN) the wake would be lost.
        using var c = new FutexTestCluster(1);
        ulong a = c.Memory.Addr(4);
        using var reading = new ManualResetEventSlim();
        using var proceed = new ManualResetEventSlim();
        c.Memory.BeforeRead = (_, _) =>
        {
            reading.Set();
            proceed.Wait(5000);
        };
        var t = StartWait(c[0], a, 0);
        Assert.True(reading.Wait(5000), "the waiter never read the word");
        c.Memory[4] = 1;                         // the waker's write ...
        Assert.Equal(1, c[0].Wake(a, 1, All));   // ... and its wake, which takes the reading waiter
        proceed.Set();                           // the waiter now sees 1 != 0
        Assert.Equal(0, Result(t, "waiter woken during its read"));
        Assert.Equal(0, c[0].LocalWaiters(a));
        c.AssertHealthy();
    }

    [Fact]
    public void ZeroBitsetAndUnalignedAddressAreInvalid()
    {
        using var c = new FutexTestCluster(1);
        ulong a = c.Memory.Addr(0);
        Assert.Equal(EINVAL, c[0].Wait(a, 0, 0, long.MaxValue, new FutexWaiter()));
        Assert.Equal(EINVAL, c[0].Wake(a, 1, 0));
        Assert.Equal(EINVAL, c[0].Wait(a + 2, 0, All, long.MaxValue, new FutexWaiter()));
        Assert.Equal(EINVAL, c[0].Wake(a + 1, 1, All));
        Assert.Equal(0, c.Memory.ReadsBy(0));
        Assert.Equal(0, c[0].Stats.LocalWaits);
    }

    [Fact]
    public void TimeoutReturnsEtimedoutOnTime()
    {
        using var c = new FutexTestCluster(1);
        ulong a = c.Memory.Addr(0);
        var sw = Stopwatch.StartNew();
        Assert.Equal(ETIMEDOUT, c[0].Wait(a, 0, All, In(100), new FutexWaiter()));
        Assert.InRange(sw.ElapsedMilliseconds, 95, 2000);
        Assert.Equal(0, c[0].LocalWaiters(a));
        sw.Restart();
        Assert.Equal(ETIMEDOUT, c[0].Wait(a, 0, All, 0, new FutexWaiter())); // already past
        Assert.InRange(sw.ElapsedMilliseconds, 0, 500);
        // The word is checked before the deadline: a mismatch still says EAGAIN.
        Assert.Equal(EAGAIN, c[0].Wait(a, 1, All, 0, new FutexWaiter()));
        Assert.Equal(0, c[0].LocalWaiters(a));
    }

    [Fact]
    public void InterruptGivesEintr()
    {
        using var c = new FutexTestCluster(1);
        ulong a = c.Memory.Addr(0);
        var w = new FutexWaiter();
        var t = StartWait(c[0], a, 0, w: w);
        Until(() => c[0].LocalWaiters(a) == 1 && c.Memory.ReadsBy(0) == 1, "the waiter to sleep");
        var sw = Stopwatch.StartNew();
        w.Interrupt();
        Assert.Equal(EINTR, Result(t, "interrupted waiter", 1000));
        Assert.InRange(sw.ElapsedMilliseconds, 0, 1000);
        Assert.Equal(0, c[0].LocalWaiters(a));
        Assert.False(w.InterruptPending); // consumed

        // An interrupt with no wait running hits the next wait, once.
        w.Interrupt();
        Assert.Equal(EINTR, c[0].Wait(a, 0, All, long.MaxValue, w));
        Assert.Equal(ETIMEDOUT, c[0].Wait(a, 0, All, In(30), w));
        // ClearInterrupt drops one nobody consumed.
        w.Interrupt();
        w.ClearInterrupt();
        Assert.Equal(ETIMEDOUT, c[0].Wait(a, 0, All, In(30), w));
        c.AssertHealthy();
    }

    [Fact]
    public void UnreadableWordIsEfault()
    {
        using var c = new FutexTestCluster(3, words: 4);
        ulong outside = c.Memory.Addr(4);
        Assert.Equal(EFAULT, c[0].Wait(outside, 0, All, long.MaxValue, new FutexWaiter()));
        Assert.Equal(EFAULT, c[2].Wait(outside, 0, All, long.MaxValue, new FutexWaiter()));
        Assert.Equal(0, c[0].LocalWaiters(outside));
        Assert.Equal(0, c[2].LocalWaiters(outside));
        c.Net.WaitIdle();
        Assert.Equal(0UL, c[0].GlobalMask(outside));
        c.AssertHealthy();
    }

    // ---------------------------------------------------------------- hierarchy and node 0's table

    [Fact]
    public void LocalWakeWithEnoughLocalWaitersSendsNothing()
    {
        using var c = new FutexTestCluster(3);
        ulong a = c.Memory.Addr(2);
        var t = QueueWaiters(c[1], a, 0, All, All);
        Until(() => c[1].IsRegistered(a) && c.Memory.ReadsBy(1) == 2, "both waiters to sleep");
        c.Net.WaitIdle();
        Assert.Single(c.Sent(FutexMessages.Register)); // the second waiter joined the first one's registration
        Assert.Equal(0b10UL, c[0].GlobalMask(a));
        int before = c.Sent().Length;

        Assert.Equal(1, c[1].Wake(a, 1, All));
        Assert.Equal(0, Result(t[0], "first waiter"));
        c.Net.WaitIdle();
        Assert.Equal(before, c.Sent().Length);
        Assert.Equal(1, c[1].Stats.LocalWakes);
        Assert.Equal(0, c[1].Stats.GlobalWakes);

        // The last waiter leaving unregisters: exactly one message.
        Assert.Equal(1, c[1].Wake(a, 1, All));
        Assert.Equal(0, Result(t[1], "second waiter"));
        c.Net.WaitIdle();
        var after = c.Sent().Skip(before).ToArray();
        Assert.Single(after);
        Assert.Equal(FutexMessages.Unregister, after[0].Type);
        Assert.Equal(0UL, c[0].GlobalMask(a));
        Assert.Equal(0, c[0].GlobalEntries);
        c.AssertHealthy();
    }

    [Fact]
    public void WaiterOnNode2IsWokenByNode1()
    {
        using var c = new FutexTestCluster(3);
        ulong a = c.Memory.Addr(5);
        var t = StartWait(c[2], a, 0);
        Until(() => c[2].IsRegistered(a) && c.Memory.ReadsBy(2) == 1, "the waiter on node 2 to sleep");
        Assert.Equal(0b100UL, c[0].GlobalMask(a));

        c.Memory[5] = 1;
        Assert.Equal(0, c[1].Wake(a, 1, All)); // nobody on node 1 itself
        Assert.Equal(0, Result(t, "waiter on node 2"));
        c.Net.WaitIdle();
        Assert.Equal(0UL, c[0].GlobalMask(a));
        Assert.Equal(1, c[1].Stats.GlobalWakes);
        Assert.Equal(1, c[0].Stats.RemoteWakesReceived);  // WakeGlobal
        Assert.Equal(1, c[2].Stats.RemoteWakesReceived);  // WakeLocal
        Assert.Equal(1, c[2].Stats.Registrations);
        Assert.Equal(1, c[2].Stats.Unregistrations);
        Assert.Equal(
            new[] { FutexMessages.Register, FutexMessages.RegisterAck, FutexMessages.WakeGlobal, FutexMessages.WakeLocal, FutexMessages.Unregister },
            c.Sent().Select(m => m.Type).ToArray());
        c.AssertHealthy();
    }

    /// <summary>
    /// Data forwarding with wakes: the pages a wake carries reach every node whose waiter it woke (a worker through
    /// WakeGlobal and WakeLocal, node 0 through its own global step), in order, counted there; a node whose wake went
    /// to nobody of its own hands nothing on, and a plain wake carries nothing.
    /// </summary>
    [Fact]
    public void PagesRideOnRemoteWakes()
    {
        using var c = new FutexTestCluster(3);
        var got = new System.Collections.Concurrent.ConcurrentDictionary<int, ulong[]>();
        for (int n = 0; n < 3; n++)
        {
            int node = n;
            c[n].PagesWithWake = pages => got[node] = pages;
        }
        ulong a = c.Memory.Addr(9);
        var w0 = StartWait(c[0], a, 0);
        var w2 = StartWait(c[2], a, 0);
        Until(() => c[0].IsRegistered(a) && c[2].IsRegistered(a) && c.Memory.ReadsBy(0) == 1 && c.Memory.ReadsBy(2) == 1, "waiters on nodes 0 and 2");
        c.Memory[9] = 1;
        Assert.Equal(0, c[1].Wake(a, 2, All, [0x1234, 0x99, 0x1235]));
        Assert.Equal(0, Result(w0, "waiter on node 0"));
        Assert.Equal(0, Result(w2, "waiter on node 2"));
        c.Net.WaitIdle();
        Assert.Equal(new ulong[] { 0x1234, 0x99, 0x1235 }, got[0]);
        Assert.Equal(new ulong[] { 0x1234, 0x99, 0x1235 }, got[2]);
        Assert.False(got.ContainsKey(1));
        Assert.Equal(3, c[0].Stats.PagesWithWakes);
        Assert.Equal(3, c[2].Stats.PagesWithWakes);

        // nobody waits any more: the same wake reaches no waiter and hands no page on
        got.Clear();
        c[1].Wake(a, 1, All, [7]);
        c.Net.WaitIdle();
        Assert.Empty(got);
        // a plain wake of a waiter carries nothing
        c.Memory[9] = 0;
        var again = StartWait(c[2], a, 0);
        Until(() => c[2].IsRegistered(a) && c.Memory.ReadsBy(2) == 2, "the waiter on node 2 again");
        c.Memory[9] = 1;
        c[1].Wake(a, 1, All);
        Assert.Equal(0, Result(again, "waiter on node 2"));
        c.Net.WaitIdle();
        Assert.Empty(got);
        c.AssertHealthy();
    }

    /// <summary>A wake whose page list is malformed (a count that does not match the body) stops the engine.</summary>
    [Fact]
    public void MalformedPageListFailsTheEngine()
    {
        using var c = new FutexTestCluster(2);
        var body = new byte[16 + 2 + 8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(body, c.Memory.Addr(1));
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(8), 1);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(12), All);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(16), 2); // says 2 pages, holds 1
        c[1].OnMessage(0, FutexMessages.WakeLocal, body);
        Assert.NotNull(c[1].Failure);
        Assert.Contains("page list", c[1].Failure);
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(0, 2)]
    [InlineData(2, 0)]
    public void TooFewLocalWaitersSendTheRestToOtherNodes(int waker, int other)
    {
        using var c = new FutexTestCluster(3);
        ulong a = c.Memory.Addr(6);
        var local = StartWait(c[waker], a, 0);
        var remote = StartWait(c[other], a, 0);
        Until(() => c[waker].IsRegistered(a) && c[other].IsRegistered(a)
                    && c.Memory.ReadsBy(waker) == 1 && c.Memory.ReadsBy(other) == 1, "both waiters to sleep");
        Assert.Equal(1, c[waker].Wake(a, 2, All));   // one here, the second one must come from elsewhere
        Assert.Equal(0, Result(local, "local waiter"));
        Assert.Equal(0, Result(remote, "waiter on the other node"));
        Assert.Equal(1, c[waker].Stats.GlobalWakes);
        c.Net.WaitIdle();
        Assert.Equal(0, c[0].GlobalEntries);
        c.AssertHealthy();
    }

    [Fact]
    public void BroadcastReachesEveryNodeAndNode0Wakes()
    {
        using var c = new FutexTestCluster(3);
        ulong a = c.Memory.Addr(7);
        var t0 = StartWait(c[0], a, 0);
        var t1 = StartWait(c[1], a, 0);
        var t2 = StartWait(c[2], a, 0, bitset: 0b10);
        Until(() => c[1].IsRegistered(a) && c[2].IsRegistered(a) && c[0].LocalWaiters(a) == 1, "three registrations");
        Assert.Equal(0b111UL, c[0].GlobalMask(a));

        // Node 2's waiter does not match: nodes 0 and 1 wake, node 2 stays registered.
        Assert.Equal(0, c[2].Wake(a, int.MaxValue, 0b01));
        Assert.Equal(0, Result(t0, "node 0 waiter"));
        Assert.Equal(0, Result(t1, "node 1 waiter"));
        Assert.True(StillWaiting(t2), "node 2's waiter has a disjoint bitset");
        c.Net.WaitIdle();
        Assert.Equal(0b100UL, c[0].GlobalMask(a));

        // Node 0 wakes a remote waiter directly (no WakeGlobal).
        int globals = c.Sent(FutexMessages.WakeGlobal).Length;
        Assert.Equal(0, c[0].Wake(a, 1, All));
        Assert.Equal(0, Result(t2, "node 2 waiter"));
        c.Net.WaitIdle();
        Assert.Equal(globals, c.Sent(FutexMessages.WakeGlobal).Length);
        Assert.Equal(1, c[0].Stats.GlobalWakes);
        Assert.Equal(0, c[0].GlobalEntries);

        // Node 0 with nobody registered elsewhere stays local.
        Assert.Equal(0, c[0].Wake(a, 1, All));
        Assert.Equal(1, c[0].Stats.LocalWakes);
        c.AssertHealthy();
    }

    [Fact]
    public void WordIsReadOnlyAfterRegistrationAndLaterWaitersJoinIt()
    {
        using var c = new FutexTestCluster(3);
        ulong a = c.Memory.Addr(9);
        c.Net.Hold(0);
        var t = QueueWaiters(c[1], a, 0, All, All);
        Until(() => c.Sent(FutexMessages.Register).Length == 1, "the registration");
        Thread.Sleep(30);
        Assert.Single(c.Sent(FutexMessages.Register));
        Assert.Equal(0, c.Memory.ReadsBy(1)); // neither read the word before node 0 answered
        Assert.False(c[1].IsRegistered(a));
        c.Net.Release(0);
        Until(() => c.Memory.ReadsBy(1) == 2, "both waiters to read the word");
        Assert.True(c[1].IsRegistered(a));
        Assert.Equal(0b10UL, c[0].GlobalMask(a));
        Assert.Equal(0, c[2].Wake(a, 2, All));
        Assert.Equal(0, Result(t[0], "first"));
        Assert.Equal(0, Result(t[1], "second"));
        c.Net.WaitIdle();
        Assert.Equal(0UL, c[0].GlobalMask(a));
        c.AssertHealthy();
    }

    [Fact]
    public void TimeoutDuringRegistrationThenReregistrationKeepsTableRight()
    {
        using var c = new FutexTestCluster(3);
        ulong a = c.Memory.Addr(11), b = c.Memory.Addr(12);
        c.Net.Hold(0);
        Assert.Equal(ETIMEDOUT, c[1].Wait(a, 0, All, In(60), new FutexWaiter())); // gives up waiting for the ack
        Assert.Equal(0, c[1].LocalWaiters(a));
        var t = StartWait(c[1], a, 0);                                            // a new registration of a
        Until(() => c.Sent(FutexMessages.Register).Length == 2, "the second registration");
        c.Net.Release(0);
        Until(() => c[1].IsRegistered(a) && c.Memory.ReadsBy(1) == 1, "the second registration to complete");
        c.Net.WaitIdle();
        Assert.Equal(0b10UL, c[0].GlobalMask(a));
        Assert.Equal(
            new[] { FutexMessages.Register, FutexMessages.Unregister, FutexMessages.Register },
            c.Sent().Where(m => m.From == 1).Select(m => m.Type).ToArray());

        // Timed waits on node 2 and node 0 expire and take their bits with them.
        Assert.Equal(ETIMEDOUT, c[2].Wait(b, 0, All, In(40), new FutexWaiter()));
        Assert.Equal(ETIMEDOUT, c[0].Wait(b, 0, All, In(40), new FutexWaiter()));
        c.Net.WaitIdle();
        Assert.Equal(0UL, c[0].GlobalMask(b));

        Assert.Equal(0, c[0].Wake(a, 1, All));
        Assert.Equal(0, Result(t, "the re-registered waiter"));
        c.Net.WaitIdle();
        Assert.Equal(0, c[0].GlobalEntries);
        Assert.Equal(2, c[1].Stats.Registrations);
        Assert.Equal(2, c[1].Stats.Unregistrations);
        c.AssertHealthy();
    }

    // ---------------------------------------------------------------- failure

    [Fact]
    public void FailWakesSleepingAndRegisteringWaiters()
    {
        using var c = new FutexTestCluster(3);
        ulong a = c.Memory.Addr(0);
        var sleeping = StartWait(c[1], a, 0);
        Until(() => c[1].IsRegistered(a) && c.Memory.ReadsBy(1) == 1, "the waiter on node 1 to sleep");
        c.Net.Hold(0);
        var registering = StartWait(c[2], a, 0);
        Until(() => c[2].LocalWaiters(a) == 1, "the waiter on node 2 to queue");

        var reported = new ConcurrentQueue<string>();
        c[1].Failed += reported.Enqueue;
        var sw = Stopwatch.StartNew();
        c[1].Fail("test: node lost");
        c[2].Fail("test: node lost");
        c[1].Fail("test: a second reason");
        Assert.Equal(EINTR, Result(sleeping, "sleeping waiter", 1000));
        Assert.Equal(EINTR, Result(registering, "registering waiter", 1000));
        Assert.InRange(sw.ElapsedMilliseconds, 0, 1000);
        Assert.Equal(EINTR, c[1].Wait(a, 0, All, long.MaxValue, new FutexWaiter())); // future waits too
        Assert.Equal("test: node lost", c[1].Failure);   // the first reason sticks
        Assert.Equal(["test: node lost"], reported);       // reported once
        c.Net.Release(0);
    }

    [Fact]
    public void LostNode0EndsRemoteWaits()
    {
        using var c = new FutexTestCluster(3);
        ulong a = c.Memory.Addr(0);
        var t = StartWait(c[2], a, 0);
        Until(() => c[2].IsRegistered(a) && c.Memory.ReadsBy(2) == 1, "the waiter to sleep");
        c.Net.Kill(0);
        Assert.Equal(EINTR, Result(t, "waiter after node 0 died", 1000));
        Assert.Contains("node 0 lost", c[2].Failure);
    }

    [Fact]
    public void MissingAckFailsAfterTheRpcTimeout()
    {
        using var c = new FutexTestCluster(2, rpcTimeout: TimeSpan.FromMilliseconds(150));
        ulong a = c.Memory.Addr(0);
        c.Net.Hold(0);
        var sw = Stopwatch.StartNew();
        Assert.Equal(EINTR, c[1].Wait(a, 0, All, long.MaxValue, new FutexWaiter()));
        Assert.InRange(sw.ElapsedMilliseconds, 140, 3000);
        Assert.Contains("acknowledge", c[1].Failure);
        c.Net.Release(0);
    }

    [Fact]
    public void MalformedMessagesFailInsteadOfThrowing()
    {
        var cases = new (int To, int From, ushort Type, byte[] Body)[]
        {
            (0, 1, FutexMessages.Register, new byte[3]),                      // short
            (0, 1, FutexMessages.Unregister, new byte[8]),                    // not registered
            (1, 2, FutexMessages.WakeLocal, new byte[16]),                    // not from node 0
            (1, 0, FutexMessages.Register, new byte[12]),                     // Register to a node other than 0
            (0, 1, FutexMessages.WakeGlobal, new byte[16]),                   // count 0, bitset 0
            (0, 1, 0x20F, new byte[8]),                                       // unknown type
            (0, 0, FutexMessages.Unregister, new byte[8]),                    // from itself
            (0, 1, FutexMessages.Register, [2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]), // unaligned address
        };
        foreach (var (to, from, type, body) in cases)
        {
            using var c = new FutexTestCluster(3);
            string? reported = null;
            c[to].Failed += r => reported = r;
            c[to].OnMessage(from, type, body);
            Assert.NotNull(c[to].Failure);
            Assert.Equal(c[to].Failure, reported);
            Assert.Equal(EINTR, c[to].Wait(c.Memory.Addr(0), 0, All, long.MaxValue, new FutexWaiter()));
        }
    }

    // ---------------------------------------------------------------- workloads across nodes

    /// <summary>Runs the bodies on threads; fails (and releases every waiter) when they do not finish in time.</summary>
    private static void RunThreads(FutexTestCluster c, int count, Action<int> body, int timeoutMs)
    {
        var errors = new ConcurrentQueue<Exception>();
        using var go = new ManualResetEventSlim();
        var threads = Enumerable.Range(0, count).Select(i => new Thread(() =>
        {
            try
            {
                go.Wait();
                body(i);
            }
            catch (Exception ex)
            {
                errors.Enqueue(ex);
            }
        }) { IsBackground = true, Name = $"futex-test-{i}" }).ToArray();
        foreach (var t in threads) t.Start();
        go.Set();
        var sw = Stopwatch.StartNew();
        var hung = new List<int>();
        for (int i = 0; i < count; i++)
            if (!threads[i].Join(TimeSpan.FromMilliseconds(Math.Max(0, timeoutMs - sw.ElapsedMilliseconds))))
                hung.Add(i);
        if (hung.Count > 0)
        {
            foreach (var n in c.Nodes) n.Fail("test timed out");
            foreach (var t in threads) t.Join(2000);
            Assert.Fail($"threads {string.Join(", ", hung)} hung (waiters per node: " +
                        string.Join(", ", c.Nodes.Select(n => n.Stats.ToString())) + ")");
        }
        if (!errors.IsEmpty) throw new AggregateException(errors);
    }

    private static void Check(long r, string what)
    {
        if (r != 0 && r != EAGAIN) throw new InvalidOperationException($"{what}: futex wait returned {r}");
    }

    // Drepper, "Futexes are tricky", mutex 3: 0 unlocked, 1 locked, 2 locked with (possible) waiters.
    private static void Lock(FutexEngine e, FutexWaiter w, SharedWords m, int word)
    {
        uint c = Interlocked.CompareExchange(ref m[word], 1, 0);
        if (c == 0) return;
        if (c != 2) c = Interlocked.Exchange(ref m[word], 2);
        while (c != 0)
        {
            Check(e.Wait(m.Addr(word), 2, All, long.MaxValue, w), "lock");
            c = Interlocked.Exchange(ref m[word], 2);
        }
    }

    private static void Unlock(FutexEngine e, SharedWords m, int word)
    {
        if (Interlocked.Decrement(ref m[word]) != 0)
        {
            Volatile.Write(ref m[word], 0);
            e.Wake(m.Addr(word), 1, All);
        }
    }

    private sealed class Box
    {
        public long Value;
    }

    [Theory]
    [InlineData(11, 0, false)]
    [InlineData(12, 0, false)]
    [InlineData(13, 0, false)]
    [InlineData(11, 256, false)]
    [InlineData(12, 256, true)]
    [InlineData(13, 1, true)]
    [InlineData(14, 0, true)]
    public void MutexAcrossThreeNodesKeepsAnExactCount(int seed, int keepIdle, bool pollable)
    {
        const int nodes = 3, threadsPerNode = 3, iterations = 2000;
        using var c = new FutexTestCluster(nodes, jitterSeed: seed, keepIdle: keepIdle, pollable: pollable);
        var counter = new Box();
        var sw = Stopwatch.StartNew();
        RunThreads(c, nodes * threadsPerNode, i =>
        {
            var e = c[i % nodes];
            var w = new FutexWaiter();
            for (int k = 0; k < iterations; k++)
            {
                Lock(e, w, c.Memory, 0);
                long v = counter.Value;      // a plain read-modify-write: only the mutex keeps it exact
                if ((k & 3) == 0) Thread.Yield(); // let the others pile up on the lock
                counter.Value = v + 1;
                Unlock(e, c.Memory, 0);
            }
        }, timeoutMs: 15_000);
        c.Net.WaitIdle();
        output.WriteLine($"{sw.ElapsedMilliseconds} ms, {c.Sent().Length} messages");
        for (int n = 0; n < nodes; n++) output.WriteLine($"node {n}: {c[n].Stats}");
        Assert.Equal(nodes * threadsPerNode * iterations, counter.Value);
        Assert.Equal(0u, c.Memory[0]);
        Assert.True(c.Nodes.Sum(n => n.Stats.LocalWaits) > 0, "the mutex was never contended");
        for (int n = 0; n < nodes; n++) Assert.Equal(0, c[n].LocalWaiters(c.Memory.Addr(0)));
        Assert.Equal(0, keepIdle == 0 ? c[0].GlobalEntries : c.RetireKeptRegistrations());
        c.AssertHealthy();
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(256, false)]
    [InlineData(256, true)]
    public void ConditionVariablePingPongAcrossNodes(int keepIdle, bool pollable)
    {
        // A mutex (word 1), a condition variable's sequence word (2) and a state word (3) it guards.
        const int rounds = 600, mutex = 1, seq = 2, state = 3;
        using var c = new FutexTestCluster(3, jitterSeed: 5, keepIdle: keepIdle, pollable: pollable);
        void CondWait(FutexEngine e, FutexWaiter w)
        {
            uint s = Volatile.Read(ref c.Memory[seq]);
            Unlock(e, c.Memory, mutex);
            Check(e.Wait(c.Memory.Addr(seq), s, All, long.MaxValue, w), "condvar");
            Lock(e, w, c.Memory, mutex);
        }
        void CondSignal(FutexEngine e)
        {
            Interlocked.Increment(ref c.Memory[seq]);
            e.Wake(c.Memory.Addr(seq), 1, All);
        }
        var sw = Stopwatch.StartNew();
        RunThreads(c, 2, i =>
        {
            var e = c[1 + i]; // nodes 1 and 2: every hand-over crosses nodes through node 0
            var w = new FutexWaiter();
            uint mine = (uint)i, next = (uint)(1 - i);
            for (int r = 0; r < rounds; r++)
            {
                Lock(e, w, c.Memory, mutex);
                while (c.Memory[state] != mine) CondWait(e, w);
                c.Memory[state] = next;
                CondSignal(e);
                Unlock(e, c.Memory, mutex);
            }
        }, timeoutMs: 20_000);
        output.WriteLine($"{sw.ElapsedMilliseconds} ms, {c.Sent().Length} messages");
        for (int n = 0; n < 3; n++) output.WriteLine($"node {n}: {c[n].Stats}");
        Assert.Equal(2 * (uint)rounds, c.Memory[seq]);
        Assert.True(c[1].Stats.GlobalWakes + c[2].Stats.GlobalWakes > 0, "no wake crossed nodes");
        c.Net.WaitIdle();
        if (keepIdle > 0)
            Assert.True(c[1].Stats.ReusedRegistrations + c[2].Stats.ReusedRegistrations > 0, "no kept registration was reused");
        Assert.Equal(0, keepIdle == 0 ? c[0].GlobalEntries : c.RetireKeptRegistrations());
        c.AssertHealthy();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(256)]
    public void TurnRingOverThreeNodesWithBroadcasts(int keepIdle)
    {
        // Thread i (on node i) may go when turn % 3 == i; it advances turn and wakes everyone.
        const int turns = 500;
        using var c = new FutexTestCluster(3, jitterSeed: 3, keepIdle: keepIdle);
        ulong a = c.Memory.Addr(0);
        RunThreads(c, 3, i =>
        {
            var e = c[i];
            var w = new FutexWaiter();
            for (int r = 0; r < turns; r++)
            {
                uint v;
                while ((v = Volatile.Read(ref c.Memory[0])) % 3 != i) Check(e.Wait(a, v, All, long.MaxValue, w), "ring");
                Interlocked.Increment(ref c.Memory[0]);
                e.Wake(a, int.MaxValue, All);
            }
        }, timeoutMs: 20_000);
        Assert.Equal(3u * turns, c.Memory[0]);
        c.Net.WaitIdle();
        Assert.Equal(0, keepIdle == 0 ? c[0].GlobalEntries : c.RetireKeptRegistrations());
        c.AssertHealthy();
    }

    // ---------------------------------------------------------------- kept registrations (keepIdle)

    [Fact]
    public void AKeptRegistrationServesTheNextWaitWithoutARoundTrip()
    {
        using var c = new FutexTestCluster(2, keepIdle: 4);
        ulong a = c.Memory.Addr(7);
        var first = StartWait(c[1], a, 0);
        Until(() => c[1].IsRegistered(a) && c.Memory.ReadsBy(1) == 1, "the first waiter to sleep");
        c.Memory[7] = 1;
        Assert.Equal(0, c[0].Wake(a, 1, All));
        Assert.Equal(0, Result(first, "first waiter"));
        c.Net.WaitIdle();
        Assert.Empty(c.Sent(FutexMessages.Unregister));           // kept, not given up
        Assert.Equal(0b10UL, c[0].GlobalMask(a));
        Assert.True(c[1].IsRegistered(a));
        Assert.Equal(0, c[1].LocalWaiters(a));

        int before = c.Sent().Length;
        var second = StartWait(c[1], a, 1);
        Until(() => c[1].LocalWaiters(a) == 1 && c.Memory.ReadsBy(1) == 2, "the second waiter to sleep");
        c.Net.WaitIdle();
        Assert.Equal(before, c.Sent().Length);                   // no Register, no RegisterAck
        Assert.Equal(1, c[1].Stats.ReusedRegistrations);
        c.Memory[7] = 2;
        Assert.Equal(0, c[0].Wake(a, 1, All));
        Assert.Equal(0, Result(second, "second waiter"));
        Assert.Single(c.Sent(FutexMessages.Register));
        c.AssertHealthy();
    }

    [Fact]
    public void AWakeThatFindsAKeptRegistrationIdleRetiresIt()
    {
        using var c = new FutexTestCluster(2, keepIdle: 4);
        ulong a = c.Memory.Addr(9);
        var first = StartWait(c[1], a, 0);
        Until(() => c[1].IsRegistered(a) && c.Memory.ReadsBy(1) == 1, "the waiter to sleep");
        Assert.Equal(0, c[0].Wake(a, 1, All));
        Assert.Equal(0, Result(first, "waiter"));
        c.Net.WaitIdle();
        Assert.Equal(0b10UL, c[0].GlobalMask(a));

        // a wake with nobody waiting on node 1: the WakeLocal finds the entry idle and node 1 unregisters
        Assert.Equal(0, c[0].Wake(a, 1, All));
        c.Net.WaitIdle();
        Assert.Single(c.Sent(FutexMessages.Unregister));
        Assert.Equal(0UL, c[0].GlobalMask(a));
        Assert.False(c[1].IsRegistered(a));

        // the next wait registers afresh and is woken as usual
        var again = StartWait(c[1], a, 0);
        Until(() => c[1].IsRegistered(a) && c.Memory.ReadsBy(1) == 2, "the new waiter to sleep");
        Assert.Equal(2, c.Sent(FutexMessages.Register).Length);
        Assert.Equal(0, c[0].Wake(a, 1, All));
        Assert.Equal(0, Result(again, "new waiter"));
        c.AssertHealthy();
    }

    [Fact]
    public void KeptRegistrationsAreCapped()
    {
        using var c = new FutexTestCluster(2, keepIdle: 2);
        for (int i = 0; i < 3; i++)
        {
            ulong a = c.Memory.Addr(20 + i);
            var t = StartWait(c[1], a, 0);
            Until(() => c[1].IsRegistered(a) && c.Memory.ReadsBy(1) == i + 1, $"waiter {i} to sleep");
            Assert.Equal(1, c[1].Wake(a, 1, All)); // woken locally: its entry goes idle (or, over the cap, away)
            Assert.Equal(0, Result(t, $"waiter {i}"));
        }
        c.Net.WaitIdle();
        Assert.Single(c.Sent(FutexMessages.Unregister));
        Assert.Equal(2, c[0].GlobalEntries);
        Assert.Equal(0, c.RetireKeptRegistrations());
        c.AssertHealthy();
    }
}
