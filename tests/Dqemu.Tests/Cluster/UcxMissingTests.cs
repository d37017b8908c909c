using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Cluster;

/// <summary>
/// <c>transport = "ucx"</c> on a host without UCX: node 0 says so in one line, names the library and the package,
/// exits 69 and starts no worker. UCX is installed on this machine (the other cluster tests need it), so the test
/// hides it the way a missing package would: in a private mount namespace (<c>unshare -m</c>, as root) the library
/// file is covered by an empty one, and dlopen fails.
/// </summary>
[Collection(MultiNodeCollection.Name)]
public class UcxMissingTests(ITestOutputHelper output)
{
    [Fact]
    public void UcxWithoutItsLibraryIsOneLineAndExit69()
    {
        GuestRunner.RequireRepoRoot();
        var unshare = GuestRunner.FindOnPath("unshare")
            ?? throw new Xunit.Sdk.XunitException("unshare not found (Debian package util-linux)");
        const string link = "/usr/lib/x86_64-linux-gnu/libucp.so.0";
        Assert.True(File.Exists(link), $"{link} is missing: run toolchains/install.sh (Debian package libucx0)");
        string real = Path.GetFullPath(new FileInfo(link).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? link);
        var guest = Path.Combine(GuestRunner.GuestBinaryDir, "demo");
        Assert.True(File.Exists(guest), $"{guest} is missing: run ./build.sh");

        using var cluster = new LoopbackCluster("ucx", 2);
        var empty = Path.Combine(cluster.Dir, "empty.so");
        File.WriteAllBytes(empty, []);
        string script = $"mount --bind '{empty}' '{real}' && exec '{LoopbackCluster.Binary}' --cluster '{cluster.ConfigPath}' '{guest}'";
        var r = GuestRunner.Run(unshare, ["-m", "--propagation", "private", "sh", "-c", script],
            GuestRunner.StandardGuestEnvironment, null, cluster.Dir, TimeSpan.FromSeconds(30));
        output.WriteLine($"{r.Describe()}\n{r.Stderr}");

        Assert.False(r.TimedOut, "node 0 hung instead of refusing the transport");
        Assert.Equal(69, r.ExitCode);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("dqemu-native: transport \"ucx\" needs UCX", lines[0]);
        Assert.Contains("libucp.so.0", lines[0]);
        Assert.Contains("libucx0", lines[0]);
        Assert.Empty(r.Stdout);
        Assert.Empty(cluster.WaitForNoProcesses(TimeSpan.FromSeconds(5))); // no worker was started
    }
}
