using Dqemu.Sweep;
using Dqemu.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Parsec;

/// <summary>
/// The PARSEC programs of bench/parsec/programs.toml (built by bench/parsec/build.sh from $PARSEC_HOME, default
/// ../shared/parsec beside the repository) at their "test" size with 2 threads: qemu-aarch64's output is the
/// reference; ./dqemu-native on one node, and on 2 loopback nodes over each transport, must give it under the
/// program's compare rule (<see cref="OutputCheck"/>, the same code the sweep uses) and exit 0. Where the PARSEC
/// sources are absent build.sh said so in one line and built nothing; these tests then say so too and check nothing.
/// </summary>
[Collection(MultiNodeCollection.Name)]
public class ParsecTests(ITestOutputHelper output)
{
    const int Threads = 2;
    const string Size = "test";
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(180);

    static string ParsecHome =>
        Environment.GetEnvironmentVariable("PARSEC_HOME") is { Length: > 0 } h
            ? h
            : Path.GetFullPath(Path.Combine(GuestRunner.RequireRepoRoot(), "..", "shared", "parsec"));

    static string BuildDir => Path.Combine(GuestRunner.RequireRepoRoot(), "build", "parsec");

    static ProgramManifest Manifest() =>
        ProgramManifest.Load(Path.Combine(GuestRunner.RequireRepoRoot(), "bench", "parsec", "programs.toml"));

    /// <summary>Every program of the manifest (which is part of the repository, so this is never empty).</summary>
    public static TheoryData<string> Programs()
    {
        var d = new TheoryData<string>();
        foreach (var p in Manifest().Programs) d.Add(p.Name);
        return d;
    }

    [Fact]
    public void TheManifestNamesTheFivePrograms()
    {
        var names = Manifest().Programs.Select(p => p.Name).Order().ToArray();
        Assert.Equal(["blackscholes", "canneal", "fluidanimate", "streamcluster", "swaptions"], names);
        foreach (var p in Manifest().Programs)
        {
            Assert.True(p.Sizes.ContainsKey("test") && p.Sizes.ContainsKey("bench"), $"{p.Name} lacks a test or bench size");
            Assert.True(p.AcceptsThreads(Threads), $"{p.Name} does not take {Threads} threads");
        }
    }

    [Theory]
    [MemberData(nameof(Programs))]
    public void ProgramOnOneAndTwoNodesMatchesQemu(string name)
    {
        if (Reference(name) is not var (spec, binary, args, expected)) return;
        Check(spec, expected, RunIn(LoopbackCluster.Binary, [binary, .. args], spec, "dqemu-native, 1 node"), "1 node");
        foreach (var transport in LoopbackCluster.Transports)
        {
            using var cluster = new LoopbackCluster(transport, 2);
            var got = RunIn(LoopbackCluster.Binary, ["--cluster", cluster.ConfigPath, binary, .. args], spec, $"dqemu-native, 2 nodes over {transport}");
            Check(spec, expected, got, $"2 nodes over {transport}");
        }
    }

    /// <summary>
    /// placement = "auto" crowding: streamcluster's two threads, started round-robin (auto_start) on two 1-CPU loopback
    /// nodes (tcp), fetch each other's pages so often that they do more on one core; node 0's policy packs them onto one
    /// node (--stats: crowded at least once, a move done), and the output is still qemu-aarch64's.
    /// </summary>
    [Fact]
    public void HeavySharersAreCrowdedOntoOneNodeByAutoPlacement()
    {
        if (Reference("streamcluster") is not var (spec, binary, args, expected)) return;
        // each node on a CPU of its own, as in the benchmarks (with two CPUs per node the threads barely stall)
        using var cluster = new LoopbackCluster("tcp", 2, "placement = \"auto\"\nauto_start = \"round-robin\"",
            i => $"cpus = \"{i % Environment.ProcessorCount}\"");
        var got = RunIn(LoopbackCluster.Binary, ["--cluster", cluster.ConfigPath, "--stats", binary, .. args], spec,
            "dqemu-native, 2 nodes, placement auto", out string stderr);
        Check(spec, expected, got, "2 nodes, placement auto");
        var m = System.Text.RegularExpressions.Regex.Match(stderr, @"moves asked \d+, done (\d+), not done \d+; crowded (\d+)");
        Assert.True(m.Success, $"no placement line in node 0's --stats:\n{Tail(stderr)}");
        Assert.True(int.Parse(m.Groups[1].Value) >= 1 && int.Parse(m.Groups[2].Value) >= 1,
            $"streamcluster's threads were not crowded onto one node: {m.Value}");
    }

    /// <summary>
    /// placement = "auto" as it starts by default: fluidanimate's two threads start on node 0 with the data the main
    /// thread read, and meet at the frame barriers every window, so node 0 never spreads them (--stats: no move asked,
    /// none spread; two 1-CPU loopback nodes over tcp); the output is qemu-aarch64's.
    /// </summary>
    [Fact]
    public void ThreadsMeetingAtBarriersAreNotSpreadByAutoPlacement()
    {
        if (Reference("fluidanimate") is not var (spec, binary, args, expected)) return;
        using var cluster = new LoopbackCluster("tcp", 2, "placement = \"auto\"", i => $"cpus = \"{i % Environment.ProcessorCount}\"");
        var got = RunIn(LoopbackCluster.Binary, ["--cluster", cluster.ConfigPath, "--stats", binary, .. args], spec,
            "dqemu-native, 2 nodes, placement auto", out string stderr);
        Check(spec, expected, got, "2 nodes, placement auto");
        var m = System.Text.RegularExpressions.Regex.Match(stderr, @"moves asked (\d+), done \d+, not done \d+; crowded \d+, spread (\d+)");
        Assert.True(m.Success, $"no placement line in node 0's --stats:\n{Tail(stderr)}");
        Assert.True(m.Groups[1].Value == "0" && m.Groups[2].Value == "0", $"fluidanimate's threads were moved: {m.Value}");
    }

    /// <summary>
    /// <paramref name="name"/>'s AArch64 binary, its arguments at <see cref="Size"/> with <see cref="Threads"/> threads,
    /// and qemu-aarch64's output for them; null, said in the test output, when the PARSEC sources are absent.
    /// </summary>
    (ProgramSpec Spec, string Binary, string[] Args, byte[] Expected)? Reference(string name)
    {
        if (!Directory.Exists(ParsecHome))
        {
            output.WriteLine($"no PARSEC sources at {ParsecHome} (set PARSEC_HOME): {name} not built, not run");
            return null;
        }
        var spec = Manifest().Get(name);
        string binary = Path.Combine(BuildDir, "aarch64", name);
        if (!File.Exists(binary))
            Assert.Fail($"{binary} is missing although PARSEC sources are at {ParsecHome}: run ./build.sh (or bench/parsec/build.sh)");
        var args = spec.ExpandArgs(Size, Threads, Path.Combine(BuildDir, "inputs", name)).ToArray();
        var qemu = GuestRunner.FindOnPath("qemu-aarch64")
                   ?? throw new Xunit.Sdk.XunitException("qemu-aarch64 not found: apt-get install -y qemu-user (toolchains/install.sh does)");
        return (spec, binary, args, RunIn(qemu, [binary, .. args], spec, "qemu-aarch64"));
    }

    void Check(ProgramSpec spec, byte[] expected, byte[] actual, string what)
    {
        string? reason = OutputCheck.Compare(expected, actual, spec);
        Assert.True(reason == null, $"{spec.Name} ({Size}, {Threads} threads) on {what} differs from qemu-aarch64: {reason}");
    }

    /// <summary>Runs one command in a fresh working directory; its output (stdout or the program's output file).</summary>
    byte[] RunIn(string file, IReadOnlyList<string> args, ProgramSpec spec, string what) => RunIn(file, args, spec, what, out _);

    /// <summary>The same, also giving the run's stderr.</summary>
    byte[] RunIn(string file, IReadOnlyList<string> args, ProgramSpec spec, string what, out string stderr)
    {
        string dir = GuestRunner.CreateTempDirectory("parsec-" + spec.Name);
        try
        {
            // the emulator's runs that time out get the diagnosis of their processes (Cluster/ClusterDiagnosis.cs)
            bool ours = file == LoopbackCluster.Binary;
            var r = GuestRunner.Run(file, args, ours ? ClusterDiagnosis.Environment(GuestRunner.StandardGuestEnvironment) : GuestRunner.StandardGuestEnvironment,
                null, dir, Timeout, ours ? ClusterDiagnosis.Collect : null);
            output.WriteLine($"{spec.Name} on {what}: {r.Describe()}, {r.Elapsed.TotalSeconds:F2} s");
            string cmd = $"(cd {dir} && {file} {string.Join(' ', args)})";
            Assert.False(r.TimedOut, $"{cmd} timed out after {Timeout.TotalSeconds} s; stderr:\n{ClusterDiagnosis.ForReport(r.Stderr, Tail)}");
            Assert.True(r.ExitCode == 0, $"{cmd}: {r.Describe()}; stderr:\n{Tail(r.Stderr)}");
            stderr = r.Stderr;
            if (spec.OutputIsStdout) return r.StdoutBytes;
            string path = Path.Combine(dir, spec.Output);
            Assert.True(File.Exists(path), $"{cmd} wrote no {spec.Output}; stdout:\n{Tail(r.Stdout)}");
            return File.ReadAllBytes(path);
        }
        finally
        {
            GuestRunner.DeleteDirectory(dir);
        }
    }

    static string Tail(string s) => s.Length <= 4000 ? s : "..." + s[^4000..];
}
