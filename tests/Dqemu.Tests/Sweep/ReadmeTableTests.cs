using Dqemu.Sweep;
using Xunit;

namespace Dqemu.Tests.Sweep;

/// <summary>
/// --readme: the region-of-interest line the PARSEC hooks print, the README's tables from the sweep's CSV files (rows
/// written here in the tool's own column layout, values chosen by hand) and the replacement between the markers.
/// </summary>
public class ReadmeTableTests
{
    [Fact]
    public void RoiTimeIsTheLastHooksLineAndNullWithoutOne()
    {
        Assert.Equal(1.5, RoiTime.Parse("guest says hi\n[HOOKS] Total time spent in ROI: 0.250000s\n[HOOKS] Total time spent in ROI: 1.500000s\ndqemu-native stats:\n"));
        Assert.Equal(12.0, RoiTime.Parse("[HOOKS] Total time spent in ROI: 12s"));
        Assert.Null(RoiTime.Parse("dqemu-native stats:\n  wall time 12.0 ms\n"));
        Assert.Null(RoiTime.Parse("the guest printed [HOOKS] Total time spent in ROI: 1.0s in the middle of a line\n"));
    }

    private static Dictionary<string, string> Row(string header, string values) =>
        header.Split(',').Zip(values.Split(',')).ToDictionary(x => x.First, x => x.Second);

    private const string CompareHeader = "program,size,threads,native_s,qemu_s,dqemu_s,dqemu_speedup_vs_qemu,dqemu_slowdown_vs_native,failed_runs,first_failure";
    private static readonly string SummaryHeader = SummaryReport.CsvHeader;

    private static Dictionary<string, string> Summary(string transport, int nodes, int threads, string median, string speedup, string roi, string roiSpeedup,
                                                      string faults = "", string mean = "", int failed = 0) =>
        Row(SummaryHeader, $"swaptions,bench,{transport},{nodes},{threads},3,{failed},{median},{median},{speedup},,{roi},{roiSpeedup},1,0,{faults},0,{mean},,,");

    [Fact]
    public void TablesShowTheOneNodeComparisonAndPerClusterColumnTheFastestThreadCountWithAThreadPerNode()
    {
        var compare = new[]
        {
            Row(CompareHeader, "swaptions,bench,1,0.9,13.5,4.5,3,5,0,"),
            Row(CompareHeader, "swaptions,bench,2,0.47,7.1,2.3,3.087,4.9,0,"),
        };
        var summary = new[]
        {
            Summary("-", 1, 1, "4.7", "1", "4.6", "1"),
            Summary("-", 1, 2, "4.8", "0.979", "4.7", "0.979"),
            Summary("tcp", 2, 1, "2.0", "2.35", "1.9", "2.4", "400", "90"), // faster, but 1 thread leaves a node idle
            Summary("tcp", 2, 2, "2.35", "2", "2.25", "2.044", "270", "120"),
            Summary("ucx", 3, 4, "2.5", "1.88", "2.4", "1.917", "1000", "55", failed: 1),
        };
        string md = ReadmeTable.Markdown(compare, summary, "2026-12-04-1800", "docs/eval/2026-12-04-1800", ["speedup-swaptions.svg"], "a test machine");

        Assert.Contains("medians of 3 alternating runs", md);
        Assert.Contains("1 runs failed or did not match", md);
        Assert.Contains("[swaptions](docs/eval/2026-12-04-1800/speedup-swaptions.svg)", md);
        Assert.Contains("| swaptions | 0.90 / 0.47 | 13.50 / 7.10 | 4.50 / 2.30 | **3.00x / 3.09x** |", md);
        Assert.Contains("| program | 1 node | 2 nodes, tcp | 3 nodes, ucx |", md);
        // 2 nodes: the 2-thread run (the 1-thread one leaves a node idle); 3 nodes: the only one, with its failure
        Assert.Contains("| swaptions | 4.70 s | 2.35 s (2t): **2.00x**, ROI 2.04x; 270 faults, 120 us | " +
                        "2.50 s (4t): **1.88x**, ROI 1.92x; 1,000 faults, 55 us (1 of 3 runs failed) |", md);
    }

    [Fact]
    public void ReplaceKeepsEverythingOutsideTheMarkers()
    {
        string readme = $"# Title\nbefore\n{ReadmeTable.Begin}\nold table\n{ReadmeTable.End}\nafter\n";
        string result = ReadmeTable.Replace(readme, "new table\n");
        Assert.Equal($"# Title\nbefore\n{ReadmeTable.Begin}\nnew table\n{ReadmeTable.End}\nafter\n", result);
        Assert.Equal(result, ReadmeTable.Replace(result, "new table\n"));
    }

    [Theory]
    [InlineData("no markers at all\n")]
    [InlineData("only the end <!-- parsec-table:end -->\n")]
    public void ReplaceRefusesAReadmeWithoutBothMarkers(string readme)
    {
        var e = Assert.Throws<UsageException>(() => ReadmeTable.Replace(readme, "x"));
        Assert.Contains("parsec-table", e.Message);
    }

    [Fact]
    public void ReplaceRefusesMarkersOutOfOrderOrTwice()
    {
        Assert.Throws<UsageException>(() => ReadmeTable.Replace($"{ReadmeTable.End}\n{ReadmeTable.Begin}\n", "x"));
        Assert.Throws<UsageException>(() => ReadmeTable.Replace($"{ReadmeTable.Begin}\n{ReadmeTable.End}\n{ReadmeTable.Begin}\n{ReadmeTable.End}\n", "x"));
    }

    [Fact]
    public void CsvReadsQuotedFieldsBack()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dqemu-readme-{Guid.NewGuid():N}.csv");
        try
        {
            File.WriteAllText(path, "a,b,c\n1,\"x, \"\"quoted\"\"\",\n");
            var rows = Csv.Read(path);
            Assert.Single(rows);
            Assert.Equal(("1", "x, \"quoted\"", ""), (rows[0]["a"], rows[0]["b"], rows[0]["c"]));
        }
        finally { File.Delete(path); }
    }
}
