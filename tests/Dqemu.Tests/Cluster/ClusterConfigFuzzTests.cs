using System.Diagnostics;
using System.Text;
using Dqemu.Runtime;
using Dqemu.Runtime.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Cluster;

/// <summary>
/// The cluster.toml parser against a few thousand mutants of valid files (<see cref="ClusterTomlMutator"/>, fixed
/// seed): every one must either parse to a config that keeps the documented rules, or fail with the config error
/// (FatalException, exit 78) and a one-line message naming the file; never another exception. A handful of rejected
/// mutants also go through the real binary, on node 0 and as a worker: exit 78 and exactly one line on stderr.
/// </summary>
public class ClusterConfigFuzzTests(ITestOutputHelper output)
{
    /// <summary>The generator's seed: change it to explore other mutants, keep it fixed so a failure reproduces.</summary>
    private const int Seed = 20261214;
    /// <summary>1500 in CI; DQEMU_TOML_FUZZ_MUTANTS=N for a longer run of the same stream (N per seed file).</summary>
    private static readonly int MutantsPerSeed =
        int.TryParse(Environment.GetEnvironmentVariable("DQEMU_TOML_FUZZ_MUTANTS"), out var n) && n > 0 ? n : 1500;
    private const string FileName = "fuzz.toml";

    /// <summary>Valid files to mutate: the README's full example, the test files of ClusterConfigTests and a
    /// three-node file with placement rules.</summary>
    public static readonly string[] Seeds =
    [
        """
        [cluster]
        transport = "tcp"            # or "ucx" (see "Transports")
        compress = "auto"
        wait_spin_us = 1000
        placement = "round-robin"
        directory = "distributed"
        split_pages = false
        split_after = 16
        forward_pages = true
        forward_wakes = false
        connect_timeout = 10
        node_timeout = 3
        [[node]]
        id = 0
        address = "127.0.0.1:7400"
        cores = 1
        cpus = "0"
        [[node]]
        id = 1
        address = "127.0.0.1:7401"
        cores = 1
        cpus = "1"
        start = false
        [[placement]]
        threads = [1, 2]
        node = 1
        """,
        ClusterConfigTests.UcxExample,
        """
        [cluster]
        placement = "auto"
        directory = "node0"
        [[node]]
        id = 2
        address = "[::1]:7402"
        cores = 4
        cpus = "0-1,3"
        start = true
        [[node]]
        id = 0
        address = "127.0.0.1:7400"
        [[node]]
        id = 1
        address = "127.0.0.2:7401"
        [[placement]]
        thread = 3
        node = 2
        [[placement]]
        threads = [1]
        node = 0
        """,
    ];

    [Fact]
    public void EverySeedIsValid()
    {
        foreach (var seed in Seeds)
            Assert.Empty(Problems(ClusterConfig.Parse(FileName, seed)));
    }

    [Fact]
    public void MutantsParseToAValidConfigOrFailWithTheConfigError()
    {
        var mutator = new ClusterTomlMutator(Seed);
        var failures = new List<string>();
        int accepted = 0, rejected = 0;
        var sw = Stopwatch.StartNew();
        foreach (var seed in Seeds)
        {
            for (int i = 0; i < MutantsPerSeed; i++)
            {
                var mutant = mutator.Next(seed);
                string? problem = Check(mutant.Text, ref accepted, ref rejected);
                if (problem != null && failures.Count < 10)
                    failures.Add($"[{string.Join(", ", mutant.Operations)}] {problem}\n    input: {Escape(mutant.Text, 400)}");
            }
        }
        output.WriteLine($"{accepted} mutants parsed, {rejected} refused, in {sw.Elapsed.TotalSeconds:F1} s (seed {Seed})");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        // the generator must exercise both outcomes, or the test proves little
        Assert.InRange(accepted, Seeds.Length * MutantsPerSeed / 50, Seeds.Length * MutantsPerSeed);
        Assert.InRange(rejected, Seeds.Length * MutantsPerSeed / 2, Seeds.Length * MutantsPerSeed);
    }

    /// <summary>Null when the parser kept its contract on <paramref name="text"/>, else what went wrong.</summary>
    private static string? Check(string text, ref int accepted, ref int rejected)
    {
        try
        {
            var config = ClusterConfig.Parse(FileName, text);
            accepted++;
            var problems = Problems(config);
            return problems.Count == 0 ? null : "parsed to an invalid config: " + string.Join("; ", problems);
        }
        catch (FatalException e)
        {
            rejected++;
            if (e.ExitCode != ExitCodes.Config) return $"exit {e.ExitCode} instead of {ExitCodes.Config}: {e.Message}";
            if (!e.Message.StartsWith(FileName + ":", StringComparison.Ordinal)) return $"message does not name the file: {Escape(e.Message, 200)}";
            if (e.Message.Any(c => c is '\n' or '\r' or '\u0085' or '\u2028' or '\u2029'))
                return $"message is more than one line: {Escape(e.Message, 200)}";
            return null;
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }

    /// <summary>What a parsed config must hold, from ClusterConfig's documentation and the README's cluster.toml.</summary>
    private static List<string> Problems(ClusterConfig c)
    {
        var p = new List<string>();
        void Need(bool ok, string what) { if (!ok) p.Add(what); }
        Need(c.Nodes.Count is >= 1 and <= 64, $"{c.Nodes.Count} nodes");
        for (int i = 0; i < c.Nodes.Count; i++)
        {
            var n = c.Nodes[i];
            Need(n.Id == i, $"node {i} has id {n.Id}");
            Need(n.Address.Port is > 0 and <= 65535, $"node {i} port {n.Address.Port}");
            Need(n.Cores is >= 1 and <= 1024, $"node {i} cores {n.Cores}");
            Need(n.Cpus is null || (n.Cpus.Count > 0 && n.Cpus.All(x => x is >= 0 and <= 4095)), $"node {i} cpus");
            Need(n.Line >= 1, $"node {i} line {n.Line}");
        }
        Need(c.Nodes.Select(n => n.Address.ToString()).Distinct().Count() == c.Nodes.Count, "two nodes share an address");
        Need(c.Transport is "tcp" or "ucx", $"transport {c.Transport}");
        Need(c.UcxTls is null || (c.UcxTls.Length > 0 && c.Transport == "ucx"), $"ucx_tls {c.UcxTls} with {c.Transport}");
        Need(c.Compress is "auto" or "zstd" or "none", $"compress {c.Compress}");
        Need(c.Placement is "round-robin" or "fill" or "auto", $"placement {c.Placement}");
        Need(c.Directory is "distributed" or "node0", $"directory {c.Directory}");
        Need(c.WaitSpinUs is >= 0 and <= 1_000_000, $"wait_spin_us {c.WaitSpinUs}");
        Need(c.SplitAfter is >= 2 and <= 1_000_000, $"split_after {c.SplitAfter}");
        Need(c.NodeTimeout is >= 0.1 and <= 3600, $"node_timeout {c.NodeTimeout}");
        Need(c.ConnectTimeout is >= 0.1 and <= 3600, $"connect_timeout {c.ConnectTimeout}");
        foreach (var (thread, node) in c.PlacementRules)
            Need(thread >= 1 && node >= 0 && node < c.Nodes.Count, $"placement rule {thread} -> {node}");
        return p;
    }

    /// <summary>
    /// Mutants the parser refuses, one per kind of first operation, through the real binary: node 0 (with a guest)
    /// and a worker started by hand must each exit 78 with one line on stderr, no stack trace, within the timeout.
    /// </summary>
    [Fact]
    public void RefusedMutantsEndNode0AndAWorkerWith78AndOneLine()
    {
        string guest = Path.Combine(GuestRunner.GuestBinaryDir, "demo");
        if (!File.Exists(guest)) Assert.Fail($"guest binary {guest} is missing; run ./build.sh (or toolchains/build-guests.sh)");
        if (!File.Exists(LoopbackCluster.Binary)) Assert.Fail($"{LoopbackCluster.Binary} is missing; run ./build.sh");
        string dir = GuestRunner.CreateTempDirectory("cluster-fuzz");
        try
        {
            var mutator = new ClusterTomlMutator(Seed + 1);
            var kinds = new HashSet<string>();
            int runs = 0;
            for (int i = 0; i < 2000 && kinds.Count < 6; i++)
            {
                var mutant = mutator.Next(Seeds[i % Seeds.Length]);
                if (kinds.Contains(mutant.Operations[0])) continue;
                string path = Path.Combine(dir, $"mutant{kinds.Count}.toml");
                File.WriteAllText(path, mutant.Text); // what the binary reads: the text as UTF-8, as written
                try
                {
                    ClusterConfig.Load(path);
                    continue; // accepted: nothing to check here
                }
                catch (FatalException) { }
                kinds.Add(mutant.Operations[0]);
                output.WriteLine($"{path}: [{string.Join(", ", mutant.Operations)}]");
                ExpectOneLine78(path, [guest]);
                ExpectOneLine78(path, ["--node", "1"]);
                runs += 2;
            }
            Assert.Equal(6, kinds.Count);
            Assert.Equal(12, runs);
        }
        finally
        {
            GuestRunner.DeleteDirectory(dir);
        }
    }

    private void ExpectOneLine78(string path, string[] rest)
    {
        var r = GuestRunner.Run(LoopbackCluster.Binary, ["--cluster", path, .. rest], GuestRunner.StandardGuestEnvironment,
                                null, Path.GetDirectoryName(path), TimeSpan.FromSeconds(20));
        string what = $"dqemu-native --cluster {path} {string.Join(' ', rest)}";
        output.WriteLine($"  {string.Join(' ', rest)}: exit {r.ExitCode}: {r.Stderr.TrimEnd()}");
        ClusterRunTests.AssertOneConfigErrorLine(r, path, what);
    }

    private static string Escape(string s, int max)
    {
        var sb = new StringBuilder();
        foreach (char c in s.Length > max ? s[..max] : s)
            sb.Append(c is >= ' ' and < '\u007f' ? c.ToString() : $"\\u{(int)c:X4}");
        return s.Length > max ? sb.Append($"... ({s.Length} chars)").ToString() : sb.ToString();
    }
}
