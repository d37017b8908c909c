using Dqemu.Runtime;
using Xunit;

namespace Dqemu.Tests.Cluster;

/// <summary>
/// Bad cluster files through the real binary (issue 14): every node reports a config error the same way, one line on
/// stderr and exit 78, at once, whether it is node 0 or a worker started by hand; never a stack trace, an internal
/// error (70), a lost node (69) or a hang.
/// </summary>
public partial class ClusterRunTests
{
    /// <summary>A CPU no test host has (ClusterConfig takes CPUs up to 4095).</summary>
    private const string AbsentCpu = "4095";

    /// <summary>Case name, and whether a worker started by hand (--node 1) is checked too: with node 0's own line
    /// wrong, a worker cannot tell (it reads nothing of node 0 but its address) and waits for node 0.</summary>
    public static TheoryData<string, bool> BadFiles() => new()
    {
        { "directory", true },
        { "fifo", true },
        { "/dev/zero", true },
        { "over 1 MiB", true },
        { "nested 100000 deep", true },
        { "duplicate key", true },
        { "node_timeout = nan", true },
        { "absent cpu on node 1", true },
        { "absent cpu among others on node 1", true },
        { "cpus of the wrong type on node 1", true },
        { "absent cpu on node 0", false },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void ABadClusterFileEndsEveryNodeWith78AndOneLine(string bad, bool worker)
    {
        var (binary, _, env) = Guest("demo");
        using var cluster = new LoopbackCluster("tcp", 2);
        string path = cluster.ConfigPath;
        string text = File.ReadAllText(path);
        string node1 = $"address = \"127.0.0.1:{cluster.Ports[1]}\"";
        switch (bad)
        {
            case "directory":
                File.Delete(path);
                Directory.CreateDirectory(path);
                break;
            case "fifo":
                File.Delete(path);
                Assert.Equal(0, GuestRunner.Run("mkfifo", [path], timeout: TimeSpan.FromSeconds(10)).ExitCode);
                break;
            case "/dev/zero":
                File.Delete(path);
                File.CreateSymbolicLink(path, "/dev/zero");
                break;
            case "over 1 MiB": File.AppendAllText(path, string.Concat(Enumerable.Repeat("#" + new string('x', 1023) + "\n", 1025))); break;
            case "nested 100000 deep": File.AppendAllText(path, "x = " + new string('[', 100_000) + new string(']', 100_000) + "\n"); break;
            case "duplicate key": File.WriteAllText(path, text.Replace(node1, node1 + "\ncores = 2", StringComparison.Ordinal)); break;
            case "node_timeout = nan": File.WriteAllText(path, text.Replace("[cluster]\n", "[cluster]\nnode_timeout = nan\n", StringComparison.Ordinal)); break;
            case "absent cpu on node 1": File.AppendAllText(path, $"cpus = \"{AbsentCpu}\"\n"); break;
            case "absent cpu among others on node 1": File.AppendAllText(path, $"cpus = \"0,{AbsentCpu}\"\n"); break;
            case "cpus of the wrong type on node 1": File.AppendAllText(path, "cpus = 5\n"); break;
            case "absent cpu on node 0":
                File.WriteAllText(path, text.Replace($"{cluster.Ports[0]}\"\ncores = 1\n", $"{cluster.Ports[0]}\"\ncores = 1\ncpus = \"{AbsentCpu}\"\n", StringComparison.Ordinal));
                Assert.Contains(AbsentCpu, File.ReadAllText(path));
                break;
            default: throw new ArgumentException(bad);
        }

        ExpectConfigError(LoopbackCluster.Binary, ["--cluster", path, binary], env);
        if (worker) ExpectConfigError(LoopbackCluster.Binary, ["--cluster", path, "--node", "1"], env);
        Assert.Empty(cluster.WaitForNoProcesses(Leftover));
    }

    /// <summary><paramref name="r"/> ended at once with the config status (78) and one stderr line naming
    /// <paramref name="path"/>: no trace, nothing on stdout.</summary>
    internal static void AssertOneConfigErrorLine(ProcessResult r, string path, string what)
    {
        Assert.False(r.TimedOut, $"{what} did not end");
        Assert.Equal(ExitCodes.Config, r.ExitCode);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith($"dqemu-native: {path}", lines[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain("Unhandled exception", r.Stderr);
        Assert.Empty(r.StdoutBytes);
    }

    private void ExpectConfigError(string exe, string[] args, Dictionary<string, string> env)
    {
        var dir = GuestRunner.CreateTempDirectory("cluster-run");
        try
        {
            var r = GuestRunner.Run(exe, args, env, null, dir, TimeSpan.FromSeconds(20));
            output.WriteLine($"{string.Join(' ', args)}: exit {r.ExitCode} after {r.Elapsed.TotalSeconds:F2} s: {r.Stderr.TrimEnd()}");
            AssertOneConfigErrorLine(r, args[1], "dqemu-native " + string.Join(' ', args));
            Assert.InRange(r.Elapsed.TotalSeconds, 0, 5); // at once: no reading of /dev/zero, no waiting for nodes
        }
        finally
        {
            GuestRunner.DeleteDirectory(dir);
        }
    }
}
