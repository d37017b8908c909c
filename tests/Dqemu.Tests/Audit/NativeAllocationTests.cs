using System.Globalization;
using System.Text.RegularExpressions;
using Dqemu.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Audit;

/// <summary>
/// The same question as <see cref="HeapAuditTests"/>, asked of the native binary, where the whole fault path runs: the
/// generated SIGSEGV handler, the dispatcher, ClusterMemory and ClusterFutex, the engines and the transports, with
/// guest threads on two nodes. ClrMD cannot read a NativeAOT process, so the count is the GC's own, printed by
/// --stats per node ("managed heap: N bytes allocated"); two runs of bench/parallel/par_pingpong that differ only in
/// their number of rounds give the steady state's share by difference (start-up, translation and shutdown are the
/// same in both). The runs translate each block in full after its first run (--tier-up 1, passed on to the workers):
/// with the default count, blocks run once a round reach it between 1,000 and 5,000 rounds, and their translation
/// (~16 B a fault over tcp) showed as the steady state's.
/// </summary>
[Collection(MultiNodeCollection.Name)]
public sealed partial class NativeAllocationTests(ITestOutputHelper output)
{
    private const int ShortRun = 1000, LongRun = 5000;

    /// <summary>
    /// An allocation on the fault or message path shows in every pair of runs; a one-off (some buffer grown once, at a
    /// moment that fell into one run of the two) in one. So a pair over the bounds is measured again, up to three pairs,
    /// and the last decides (over ucx about one pair in five had 100-224 KB more in one run, 11-26 B a fault, while the
    /// pairs around it gave -0.7 to 1.4).
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public void TheEmulatorsFaultPathAllocatesNothingPerFaultOrMessage(string transport)
    {
        var g = ThreadedGuests.LoadBench("par_pingpong");
        var (perFault, perMessage) = MeasurePair(g, transport);
        for (int pair = 2; pair <= 3 && (perFault > MaxBytesPerFault || perMessage > MaxBytesPerMessage); pair++)
        {
            output.WriteLine($"over the bounds: measuring pair {pair}");
            (perFault, perMessage) = MeasurePair(g, transport);
        }
        Assert.True(perFault <= MaxBytesPerFault, $"{transport}: {perFault:F1} B allocated per remote fault in the emulator (bound {MaxBytesPerFault})");
        Assert.True(perMessage <= MaxBytesPerMessage, $"{transport}: {perMessage:F1} B allocated per message in the emulator (bound {MaxBytesPerMessage})");
    }

    /// <summary>Bytes a remote fault and a message, by difference of a short and a long run.</summary>
    private (double PerFault, double PerMessage) MeasurePair(ThreadedGuests.Guest g, string transport)
    {
        var a = Run(g, transport, ShortRun);
        var b = Run(g, transport, LongRun);
        long bytes = b.Bytes - a.Bytes, faults = b.Faults - a.Faults, messages = b.Messages - a.Messages;
        double perFault = (double)bytes / faults, perMessage = (double)bytes / messages;
        output.WriteLine($"{transport}: {ShortRun} rounds {a}; {LongRun} rounds {b}; difference {bytes} B over {faults} remote faults " +
                         $"and {messages} messages: {perFault:F1} B a fault, {perMessage:F1} B a message");
        Assert.True(faults >= LongRun - ShortRun, $"only {faults} more remote faults in {LongRun - ShortRun} more rounds: the threads did not hand the page over");
        return (perFault, perMessage);
    }

    private const double MaxBytesPerFault = 8, MaxBytesPerMessage = 4;

    public static TheoryData<string> Transports() => LoopbackCluster.TransportData();

    private readonly record struct Totals(long Bytes, long Faults, long Messages)
    {
        public override string ToString() => $"{Bytes} B, {Faults} faults, {Messages} messages";
    }

    private static Totals Run(ThreadedGuests.Guest g, string transport, int rounds)
    {
        using var cluster = new LoopbackCluster(transport, 2);
        string[] args = ["--cluster", cluster.ConfigPath, "--stats", "--tier-up", "1", g.Binary, "2", rounds.ToString(CultureInfo.InvariantCulture)];
        var r = ThreadedGuests.RunIn(LoopbackCluster.Binary, args, g.Env, null, g.ClusterTimeout);
        Assert.True(!r.TimedOut && r.ExitCode == 0, $"par_pingpong {rounds} on 2 nodes over {transport}: {r.Describe()}\n{ClusterDiagnosis.ForReport(r.Stderr, ThreadedGuests.Tail)}");
        long Sum(Regex re) => re.Matches(r.Stderr).Sum(m => m.Groups.Values.Skip(1).Sum(v => long.Parse(v.Value, CultureInfo.InvariantCulture)));
        var heap = HeapLine().Matches(r.Stderr);
        Assert.True(heap.Count == 2, $"{heap.Count} 'managed heap' lines in --stats, expected one per node:\n{r.Stderr}");
        return new Totals(Sum(HeapLine()), Sum(FaultsLine()), Sum(SentLine()));
    }

    [GeneratedRegex(@"managed heap: (\d+) bytes allocated")]
    private static partial Regex HeapLine();

    [GeneratedRegex(@"remote faults: read (\d+) .*; write (\d+) ")]
    private static partial Regex FaultsLine();

    [GeneratedRegex(@"^  node \d+ \(.*?\)\s+sent\s+(\d+) msgs", RegexOptions.Multiline)]
    private static partial Regex SentLine();
}
