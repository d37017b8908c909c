using System.Globalization;
using System.Text;
using static Dqemu.Sweep.Format;

namespace Dqemu.Sweep;

/// <summary>
/// --readme DIR: README.md's PARSEC evaluation from a directory that --compare and the sweep wrote (what
/// <c>./build.sh bench parsec</c> does last). Copies the directory's tables and plots to docs/eval/&lt;its name&gt;/ (the
/// qemu reference outputs stay behind) and replaces what lies between <see cref="Begin"/> and <see cref="End"/> in the
/// README with: the machine and date, the one-node table (native, qemu-aarch64, dqemu-native, 1 and 2 threads) and
/// the cluster table (1 node on one CPU, then each transport with each node count, its fastest thread count of at
/// least one thread per node: median
/// seconds, the speed-up of the whole run and of the region of interest, remote faults), linking the copies.
/// </summary>
internal static class ReadmeTable
{
    public const string Begin = "<!-- parsec-table:begin (./build.sh bench parsec writes what follows, up to parsec-table:end) -->";
    public const string End = "<!-- parsec-table:end -->";

    public static int Run(SweepOptions o)
    {
        string dir = o.ReadmeFrom!;
        string compare = Path.Combine(dir, "compare.csv"), summary = Path.Combine(dir, "summary.csv");
        foreach (var f in new[] { compare, summary })
            if (!File.Exists(f)) throw new UsageException($"--readme: {f} is missing (run --compare and the sweep with --out {dir} first)");
        if (!File.Exists(o.ReadmeFile)) throw new UsageException($"--readme: {o.ReadmeFile} does not exist");

        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(dir));
        string evalDir = Path.Combine(o.EvalDir, name);
        Directory.CreateDirectory(evalDir);
        foreach (var f in Directory.EnumerateFiles(dir).Where(f => Path.GetExtension(f) is ".csv" or ".md" or ".svg"))
            File.Copy(f, Path.Combine(evalDir, Path.GetFileName(f)), overwrite: true);

        string link = Path.GetRelativePath(Path.GetDirectoryName(Path.GetFullPath(o.ReadmeFile))!, evalDir).Replace('\\', '/');
        var plots = Directory.EnumerateFiles(evalDir, "speedup-*.svg").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        string section = Markdown(Csv.Read(compare), Csv.Read(summary), name, link, plots!, Machine());
        File.WriteAllText(o.ReadmeFile, Replace(File.ReadAllText(o.ReadmeFile), section));
        Console.WriteLine($"{o.ReadmeFile}: PARSEC tables from {dir}; copies in {evalDir}");
        return ExitStatus.Ok;
    }

    /// <summary>The README with the text between the markers replaced (each marker must appear exactly once, in order).</summary>
    /// <exception cref="UsageException">The markers are missing, repeated or out of order.</exception>
    public static string Replace(string readme, string section)
    {
        int b = readme.IndexOf(Begin, StringComparison.Ordinal), e = readme.IndexOf(End, StringComparison.Ordinal);
        if (b < 0 || e < 0 || e < b || readme.IndexOf(Begin, b + 1, StringComparison.Ordinal) >= 0 || readme.IndexOf(End, e + 1, StringComparison.Ordinal) >= 0)
            throw new UsageException($"--readme: the README needs the lines '{Begin}' and '{End}', once each, in that order");
        return readme[..(b + Begin.Length)] + "\n" + section.TrimEnd('\n') + "\n" + readme[e..];
    }

    /// <summary>The section: compare.csv's and summary.csv's rows (<see cref="Csv.Read"/>) as the README's two tables.</summary>
    public static string Markdown(IReadOnlyList<Dictionary<string, string>> compare, IReadOnlyList<Dictionary<string, string>> summary,
                                  string runName, string link, IReadOnlyList<string> plots, string machine)
    {
        var sb = new StringBuilder();
        int runs = summary.Select(r => (int)(Num(r, "runs") ?? 0)).DefaultIfEmpty(0).Max();
        int failed = summary.Sum(r => (int)(Num(r, "failed") ?? 0)) + compare.Sum(r => (int)(Num(r, "failed_runs") ?? 0));
        sb.AppendLine($"Measured by `./build.sh bench parsec` (run {runName}) on {machine}: bench size, medians of {runs} alternating " +
                      $"runs per configuration; {(failed == 0 ? "every output matched qemu-aarch64's" : $"{failed} runs failed or did not match qemu-aarch64's (marked)")}. " +
                      $"Every run, table and plot: [{link}]({link}) (speed-ups: " +
                      string.Join(", ", plots.Select(p => $"[{p["speedup-".Length..^".svg".Length]}]({link}/{p})")) +
                      $"; [time split]({link}/time-split.svg)).");
        sb.AppendLine();
        sb.AppendLine("One node (seconds; \"vs qemu\" = qemu-aarch64's time / dqemu-native's; 2 threads on 2 host CPUs):");
        sb.AppendLine();
        sb.AppendLine("| program | native 1t / 2t | qemu-aarch64 1t / 2t | dqemu-native 1t / 2t | vs qemu 1t / 2t |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var program in compare.Select(r => r["program"]).Distinct())
        {
            var rows = compare.Where(r => r["program"] == program).ToList();
            string Pair(string column, Func<double?, string> show) =>
                string.Join(" / ", new[] { 1, 2 }.Select(t => rows.FirstOrDefault(r => r["threads"] == t.ToString(CultureInfo.InvariantCulture)) is { } r ? show(Num(r, column)) : "-"));
            sb.AppendLine($"| {program} | {Pair("native_s", S)} | {Pair("qemu_s", S)} | {Pair("dqemu_s", S)} | **{Pair("dqemu_speedup_vs_qemu", X)}** |");
        }
        sb.AppendLine();

        var columns = summary.Where(r => (Num(r, "nodes") ?? 1) > 1).Select(r => (Transport: r["transport"], Nodes: (int)Num(r, "nodes")!.Value))
            .Distinct().OrderBy(c => c.Nodes).ThenBy(c => c.Transport, StringComparer.Ordinal).ToList();
        sb.AppendLine("The cluster: each node pinned to one host CPU (node i to CPU i mod the CPU count: with more nodes than CPUs, " +
                      "some nodes share one), against 1 node on one CPU with " +
                      "1 thread. A cell: the median seconds with the thread count (at least one thread per node) that ran fastest there, " +
                      "the speed-up of the whole run, " +
                      "the speed-up of the region of interest (ROI: the parallel phase between PARSEC's hooks, without reading the input " +
                      "and writing the output) and the remote faults of one run (all nodes) with their mean wait.");
        sb.AppendLine();
        sb.AppendLine("| program | 1 node | " + string.Join(" | ", columns.Select(c => $"{c.Nodes} nodes, {c.Transport}")) + " |");
        sb.AppendLine("|---|---|" + string.Concat(columns.Select(_ => "---|")));
        foreach (var program in summary.Select(r => r["program"]).Distinct())
        {
            var rows = summary.Where(r => r["program"] == program).ToList();
            var baseline = rows.FirstOrDefault(r => Num(r, "nodes") == 1 && Num(r, "threads") == 1);
            var cells = new List<string> { program, baseline == null ? "-" : $"{S(Num(baseline, "median_s"))} s{Failures(baseline)}" };
            foreach (var (transport, nodes) in columns)
            {
                // runs with fewer threads than nodes leave nodes idle: they are in summary.md, not here
                var best = rows.Where(r => r["transport"] == transport && Num(r, "nodes") == nodes && Num(r, "threads") >= nodes && Num(r, "median_s") != null)
                    .MinBy(r => Num(r, "median_s"));
                cells.Add(best == null ? "-" : Cell(best));
            }
            sb.AppendLine("| " + string.Join(" | ", cells) + " |");
        }
        return sb.ToString();
    }

    private static string Cell(Dictionary<string, string> r)
    {
        string roi = Num(r, "roi_speedup_vs_1node_1thread") is double x ? $", ROI {X(x)}" : "";
        string faults = Num(r, "median_faults") is double f
            ? $"; {f.ToString("#,0", CultureInfo.InvariantCulture)} faults{(Num(r, "median_fault_mean_us") is double m ? $", {m:0} us" : "")}"
            : "";
        return $"{S(Num(r, "median_s"))} s ({r["threads"]}t): **{X(Num(r, "speedup_vs_1node_1thread"))}**{roi}{faults}{Failures(r)}";
    }

    private static string Failures(Dictionary<string, string> r) =>
        Num(r, "failed") is > 0 ? $" ({r["failed"]} of {r["runs"]} runs failed)" : "";

    private static string S(double? v) => F(v, "0.00");

    private static double? Num(Dictionary<string, string> r, string column) =>
        r.TryGetValue(column, out var v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : null;

    /// <summary>"this machine (Intel ..., 2 CPUs, Linux 6.x)" from /proc/cpuinfo and uname.</summary>
    private static string Machine()
    {
        string cpu = "";
        try { cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? ""; }
        catch (IOException) { }
        string kernel = Environment.OSVersion.Version.ToString();
        return $"{(cpu.Length > 0 ? cpu + ", " : "")}{Environment.ProcessorCount} CPUs, Linux {kernel}";
    }
}
