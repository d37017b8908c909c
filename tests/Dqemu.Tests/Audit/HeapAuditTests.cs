using Microsoft.Diagnostics.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Audit;

/// <summary>The audit counts every allocation of the process: nothing else may run meanwhile.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AuditCollection
{
    public const string Name = "Heap audit";
}

/// <summary>
/// The coherence and futex engines over the real transports, in this process, under load: the steady state allocates
/// nothing per remote fault or per message, and clusters started and stopped leave no object of the emulator's and no
/// thread behind. Counts come from the GC (<see cref="GC.GetTotalAllocatedBytes"/>), attribution and leaks from ClrMD
/// heap walks of dumps of this process (<see cref="ProcessSnapshot"/>).
/// </summary>
[Collection(AuditCollection.Name)]
public sealed class HeapAuditTests(ITestOutputHelper output)
{
    /// <summary>
    /// Bounds on the average over thousands of faults and messages. The smallest object is 24 bytes, so an object
    /// allocated once per fault (or per message) on any thread breaks them many times over; what they allow is the
    /// rest of the process meanwhile (the test host's socket and timers: 0-2 B a fault measured, all System types).
    /// </summary>
    private const double MaxBytesPerFault = 4, MaxBytesPerMessage = 2, MaxBytesPerFutexMessage = 4;

    [Theory]
    [InlineData("tcp")]
    [InlineData("ucx")]
    public void RemoteFaultsAndFutexHandOffsAllocateNothingInTheSteadyState(string transport)
    {
        using var c = new RealTransportCluster(transport);
        ClusterLoad.PagePingPong(c, 300); // warm-up: every stripe, dictionary entry, pool and JIT tier in place
        ClusterLoad.FutexPingPong(c, 300);

        // The count is the whole process's: a leftover of another test (a child's output reader, a timer) may allocate
        // during a window (a full suite run once showed 136 KB over one futex window, 22 B a message; alone, 0.2-0.3).
        // An allocation per fault or message shows in every window, so the least of three windows is the engines'.
        double perFault = double.MaxValue, perMessage = double.MaxValue, perFutexMessage = double.MaxValue;
        for (int window = 1; window <= 3; window++)
        {
            long f0 = c.Faults, m0 = c.MessagesSent, b0 = GC.GetTotalAllocatedBytes(precise: true);
            ClusterLoad.PagePingPong(c, 2000);
            long f1 = c.Faults, m1 = c.MessagesSent, b1 = GC.GetTotalAllocatedBytes(precise: true);
            ClusterLoad.FutexPingPong(c, 3000);
            long m2 = c.MessagesSent, b2 = GC.GetTotalAllocatedBytes(precise: true);
            Assert.Null(c.Failure);
            Assert.True(f1 - f0 >= 12_000, $"only {f1 - f0} remote faults in 2000 rounds");
            Assert.True(m2 - m1 >= 3000, $"only {m2 - m1} futex messages in 3000 hand-offs: the hand-offs did not cross nodes");
            output.WriteLine($"{transport}, window {window}: {f1 - f0} remote faults, {m1 - m0} messages: {b1 - b0} B allocated by the " +
                             $"process, {(double)(b1 - b0) / (f1 - f0):F2} B a fault, {(double)(b1 - b0) / (m1 - m0):F2} B a message; " +
                             $"3000 futex hand-offs, {m2 - m1} messages: {b2 - b1} B, {(double)(b2 - b1) / (m2 - m1):F2} B a message");
            perFault = Math.Min(perFault, (double)(b1 - b0) / (f1 - f0));
            perMessage = Math.Min(perMessage, (double)(b1 - b0) / (m1 - m0));
            perFutexMessage = Math.Min(perFutexMessage, (double)(b2 - b1) / (m2 - m1));
            if (perFault <= MaxBytesPerFault && perMessage <= MaxBytesPerMessage && perFutexMessage <= MaxBytesPerFutexMessage) break;
        }
        Assert.True(perFault <= MaxBytesPerFault, $"{transport}: {perFault:F1} B allocated per remote fault (bound {MaxBytesPerFault})");
        Assert.True(perMessage <= MaxBytesPerMessage, $"{transport}: {perMessage:F1} B allocated per DSM message (bound {MaxBytesPerMessage})");
        Assert.True(perFutexMessage <= MaxBytesPerFutexMessage,
            $"{transport}: {perFutexMessage:F1} B allocated per futex message (bound {MaxBytesPerFutexMessage})");
    }

    /// <summary>
    /// What a heap walk finds new after N rounds on both transports without a GC in between (a no-GC region keeps the
    /// garbage in place): no type, the runtime's or the emulator's, gains N/2 objects or more. A closure, a boxed
    /// struct or an array per fault or per message would gain at least N (each round is 6 faults and ~15 messages, or
    /// a futex hand-off each way); what else grows is this process's own (createdump's Process, the test host).
    /// </summary>
    [Fact]
    public void AHeapWalkFindsNoTypeThatGrowsWithTheFaultsOrMessages() => AuditChild.Run(AuditChild.HeapWalk, output);

    internal static void HeapWalk(Action<string> log)
    {
        const int Rounds = 1000;
        using var tcp = new RealTransportCluster("tcp");
        using var ucx = new RealTransportCluster("ucx");
        foreach (var c in new[] { tcp, ucx })
        {
            ClusterLoad.PagePingPong(c, 300);
            ClusterLoad.FutexPingPong(c, 300);
        }
        string before, after;
        Assert.True(GC.TryStartNoGCRegion(96 << 20), "no no-GC region");
        try
        {
            before = ProcessSnapshot.Write();
            foreach (var c in new[] { tcp, ucx })
            {
                ClusterLoad.PagePingPong(c, Rounds);
                ClusterLoad.FutexPingPong(c, Rounds);
            }
            after = ProcessSnapshot.Write();
            Assert.Equal(System.Runtime.GCLatencyMode.NoGCRegion, System.Runtime.GCSettings.LatencyMode); // no GC ran
        }
        finally
        {
            if (System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
        }
        Assert.Null(tcp.Failure);
        Assert.Null(ucx.Failure);
        var growth = ProcessSnapshot.Read(after).GrowthSince(ProcessSnapshot.Read(before));
        foreach (var g in growth.Take(12)) log($"{g.Count,8} objects {g.Bytes,9} B  {g.Type}");
        var perRound = growth.Where(g => g.Count >= Rounds / 2).Select(g => $"{g.Type} (+{g.Count})").ToList();
        Assert.True(perRound.Count == 0, $"types that grow with the load ({2 * Rounds} rounds): {string.Join(", ", perRound)}");
    }

    /// <summary>
    /// Clusters started, used and stopped (both transports, four times each) leave no object of the emulator's types
    /// and no managed thread that was not there before (thread-pool workers aside: the pool keeps its own).
    /// </summary>
    [Fact]
    public void StartingAndStoppingClustersLeavesNoObjectsOrThreads() => AuditChild.Run(AuditChild.StartStop, output);

    internal static void StartStop(Action<string> log)
    {
        static void Cycle(string transport)
        {
            using var c = new RealTransportCluster(transport);
            ClusterLoad.PagePingPong(c, 50);
            ClusterLoad.FutexPingPong(c, 50);
            if (c.Failure is { } f) throw new InvalidOperationException(f);
        }
        Cycle("tcp"); // first use: statics, the codec, UCX's library, the runtime's own lazily made objects
        Cycle("ucx");
        var before = Settled(null);
        for (int i = 0; i < 4; i++)
        {
            Cycle("tcp");
            Cycle("ucx");
        }
        var after = Settled(before);

        var grown = after.Types.Where(kv => ProcessSnapshot.IsProjectType(kv.Key))
            .Select(kv => (kv.Key, Delta: kv.Value.Count - before.Types.GetValueOrDefault(kv.Key).Count))
            .Where(g => g.Delta > 0 && !(g.Delta == 1 && IsDelegate(g.Key)))
            .Select(g => $"{g.Key} (+{g.Delta})")
            .ToList();
        var newThreads = NewThreads(before, after);
        log($"emulator objects before {Project(before)}, after {Project(after)}; managed threads alive before " +
                         $"{before.AliveThreads.Count}, after {after.AliveThreads.Count}");
        Assert.True(grown.Count == 0, $"objects left by 8 clusters: {string.Join(", ", grown)}");
        Assert.True(newThreads.Count == 0, $"threads left by 8 clusters: {string.Join(", ", newThreads)}");
    }

    /// <summary>A lambda that captures nothing is made once, the first time its code runs, and kept in a static field for
    /// the program's life: one more of those is a path first taken during the cycles (a leak per cluster gains 8).</summary>
    private static bool IsDelegate(string type) => type.StartsWith("System.Func<", StringComparison.Ordinal) ||
                                                   type.StartsWith("System.Action<", StringComparison.Ordinal) || type == "System.Action";

    private static long Project(ProcessSnapshot s) => s.Types.Where(kv => ProcessSnapshot.IsProjectType(kv.Key)).Sum(kv => kv.Value.Count);

    /// <summary>After a full GC; when <paramref name="baseline"/> is given, taken again (up to 5 s) while threads
    /// that disposed transports asked to end are still on their way out.</summary>
    private static ProcessSnapshot Settled(ProcessSnapshot? baseline)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var s = ProcessSnapshot.Take();
            if (baseline is null || NewThreads(baseline, s).Count == 0 || DateTime.UtcNow > deadline) return s;
            Thread.Sleep(500);
        }
    }

    /// <summary>Managed threads alive in <paramref name="after"/> and not in <paramref name="before"/>, with their names
    /// (/proc, while they run). Not counted: thread-pool workers, and the runtime's own threads (".NET SigHandler",
    /// ".NET Timer", ...: the first Process.Start, createdump's, starts the signal thread), which it keeps for good.</summary>
    private static List<string> NewThreads(ProcessSnapshot before, ProcessSnapshot after)
    {
        var old = before.AliveThreads;
        return after.Threads
            .Where(t => t.Alive && t.OsId != 0 && !old.Contains(t.OsId) && !t.PoolThread)
            .Select(t => (t.OsId, Name: ThreadName(t.OsId)))
            .Where(t => !t.Name.StartsWith(".NET ", StringComparison.Ordinal))
            .Select(t => $"{t.OsId} \"{t.Name}\"")
            .ToList();
    }

    private static string ThreadName(uint tid)
    {
        try { return File.ReadAllText($"/proc/self/task/{tid}/comm").Trim(); }
        catch (IOException) { return "ended"; }
    }
}
