using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace Dqemu.Tests.Cluster;

/// <summary>
/// Loopback clusters for the tests: free ports, a cluster.toml in a fresh temporary directory, and a look at
/// /proc for every process started with that file (so a test can prove none is left behind).
/// </summary>
public sealed class LoopbackCluster : IDisposable
{
    public string Dir { get; }
    public string ConfigPath { get; }
    public IReadOnlyList<int> Ports { get; }

    /// <summary>
    /// The emulator under test: $DQEMU_BINARY when set (e.g. a fresh `dotnet publish -o /tmp/x`), else the
    /// repository's ./dqemu-native that ./build.sh publishes.
    /// </summary>
    public static string Binary =>
        Environment.GetEnvironmentVariable("DQEMU_BINARY") is { Length: > 0 } b ? b : GuestRunner.DqemuBinary;

    /// <summary>The cluster file's transports; every cluster test that runs nodes runs on each.</summary>
    public static readonly string[] Transports = ["tcp", "ucx"];

    /// <summary><see cref="Transports"/> as theory data (one case per transport).</summary>
    public static TheoryData<string> TransportData()
    {
        var d = new TheoryData<string>();
        foreach (var t in Transports) d.Add(t);
        return d;
    }

    /// <summary>The transport the cluster file names ("tcp" or "ucx").</summary>
    public string Transport { get; }

    /// <param name="transport">the [cluster] table's transport: "tcp" or "ucx".</param>
    /// <param name="clusterExtra">extra TOML lines for the [cluster] table (e.g. "connect_timeout = 1"), or "".</param>
    /// <param name="nodeExtra">extra TOML lines for node i (e.g. "start = false"), or null.</param>
    public LoopbackCluster(string transport, int nodes, string clusterExtra = "", Func<int, string?>? nodeExtra = null)
    {
        RequireTransport(transport);
        Transport = transport;
        Dir = GuestRunner.CreateTempDirectory("cluster");
        Ports = FreePorts(nodes);
        ConfigPath = Path.Combine(Dir, "cluster.toml");
        var sb = new StringBuilder();
        sb.Append($"[cluster]\ntransport = \"{transport}\"\n");
        if (!clusterExtra.Contains("placement =", StringComparison.Ordinal)) sb.Append("placement = \"round-robin\"\n");
        sb.Append(clusterExtra).Append('\n');
        for (int i = 0; i < nodes; i++)
        {
            sb.Append($"[[node]]\nid = {i}\naddress = \"127.0.0.1:{Ports[i]}\"\ncores = 1\n");
            if (nodeExtra?.Invoke(i) is { } extra) sb.Append(extra).Append('\n');
        }
        File.WriteAllText(ConfigPath, sb.ToString());
    }

    /// <summary>
    /// Fails the test (never skips) unless <paramref name="transport"/> is one the tests know and can run here: "ucx"
    /// needs UCX's libraries (libucp.so.0, Debian's libucx0), which the emulator loads at run time.
    /// </summary>
    public static void RequireTransport(string transport)
    {
        if (!Transports.Contains(transport))
            throw new ArgumentException($"unknown transport '{transport}' (expected {string.Join(" or ", Transports)})", nameof(transport));
        if (transport == "ucx" && !ucxInstalled.Value)
            Assert.Fail("transport \"ucx\" needs UCX (libucp.so.0 not found): apt-get install -y libucx0 libucx-dev ucx-utils");
    }

    /// <summary>
    /// Whether libucp.so.0 is where the dynamic loader looks (LD_LIBRARY_PATH, then the usual directories). Only a
    /// look at the files: loading UCX into the test process would install its mmap hooks and signal handlers here,
    /// which the emulator switches off before its own load (Dqemu.Rdma.Ucx.UcxLibrary) and the tests must not do
    /// behind the back of in-process transport tests.
    /// </summary>
    static readonly Lazy<bool> ucxInstalled = new(() =>
    {
        var dirs = (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                     "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib"]);
        return dirs.Any(d => File.Exists(Path.Combine(d, "libucp.so.0")));
    });

    /// <summary>Ports the kernel handed out for port 0 (all bound at once, so they differ), then released.</summary>
    public static List<int> FreePorts(int count)
    {
        var sockets = new List<Socket>();
        try
        {
            for (int i = 0; i < count; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                sockets.Add(s);
            }
            return sockets.Select(s => ((IPEndPoint)s.LocalEndPoint!).Port).ToList();
        }
        finally
        {
            foreach (var s in sockets) s.Dispose();
        }
    }

    /// <summary>Pids of live processes whose command line mentions this cluster's file (node 0 and workers).</summary>
    public List<int> Processes()
    {
        var pids = new List<int>();
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out int pid)) continue;
            try
            {
                var cmd = File.ReadAllText(Path.Combine(d, "cmdline"));
                if (cmd.Contains(ConfigPath, StringComparison.Ordinal)) pids.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return pids;
    }

    /// <summary>The pid of worker <paramref name="node"/>, waiting (bounded) for it to appear.</summary>
    public int WaitForWorker(int node, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            foreach (int pid in Processes())
            {
                string[] args;
                try { args = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0'); }
                catch (IOException) { continue; }
                int i = Array.IndexOf(args, "--node");
                if (i >= 0 && i + 1 < args.Length && args[i + 1] == node.ToString()) return pid;
            }
            Thread.Sleep(20);
        }
        throw new TimeoutException($"worker {node} of {ConfigPath} did not appear within {timeout}");
    }

    /// <summary>Waits (bounded) until no process of this cluster is left; returns those still there.</summary>
    public List<int> WaitForNoProcesses(TimeSpan timeout) => WaitUntilGone(Processes, timeout);

    /// <summary>Polls <paramref name="processes"/> until it is empty or <paramref name="timeout"/> passed; returns the last answer.</summary>
    public static List<int> WaitUntilGone(Func<List<int>> processes, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        List<int> left;
        while ((left = processes()).Count > 0 && sw.Elapsed < timeout) Thread.Sleep(20);
        return left;
    }

    public void Dispose()
    {
        // never leave a node behind, whatever the test did
        foreach (int pid in Processes())
        {
            try { Process.GetProcessById(pid).Kill(); }
            catch (Exception) { }
        }
        GuestRunner.DeleteDirectory(Dir);
    }
}
