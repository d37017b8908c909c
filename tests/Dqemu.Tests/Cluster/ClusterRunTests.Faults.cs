using System.Diagnostics;
using Xunit;

namespace Dqemu.Tests.Cluster;

/// <summary>
/// Faults around a running cluster that are not a killed process (issue 14, item 3): a worker stopped for longer than
/// the node timeout and then continued, and the guest's stdout failing under it (disk full, a reader that goes away).
/// Each ends every node with at most one line naming the cause and leaves nothing running; the guest's own outcome is
/// qemu-aarch64's.
/// </summary>
public partial class ClusterRunTests
{
    public static TheoryData<string, string> TransportsAndWorkers()
    {
        var d = new TheoryData<string, string>();
        foreach (var t in LoopbackCluster.Transports)
            foreach (var workers in new[] { ByNode0, ByHand })
                d.Add(t, workers);
        return d;
    }

    /// <summary>
    /// Worker 1 is SIGSTOPped while stdin_echo runs (node_timeout = 2): node 0 hears nothing from it, prints one line
    /// naming it and exits 69 within node_timeout + 3 s. Then the worker is continued: one node 0 started is gone by then
    /// (node 0 ends its children), one started by hand finds node 0 gone, prints one line naming node 0 and exits 69.
    /// Nothing is left either way.
    /// </summary>
    [Theory]
    [MemberData(nameof(TransportsAndWorkers))]
    public void AWorkerStoppedLongerThanTheNodeTimeoutIsLost(string transport, string workers)
    {
        const int nodeTimeout = 2;
        var (binary, _, env) = Guest("stdin_echo");
        bool byHand = workers == ByHand;
        using var cluster = new LoopbackCluster(transport, 2, $"node_timeout = {nodeTimeout}", i => byHand && i > 0 ? "start = false" : null);
        CapturedProcess? hand = byHand
            ? CapturedProcess.Start(LoopbackCluster.Binary, ["--cluster", cluster.ConfigPath, "--node", "1"], env, cluster.Dir, holdStdinOpen: false)
            : null;
        int pid = -1;
        try
        {
            using var run = RunningNode0.Start(cluster, binary, env);
            var node0 = run.Process;
            run.WaitForGuest();
            pid = hand?.Pid ?? cluster.WaitForWorker(1, TimeSpan.FromSeconds(5));
            Assert.Equal(0, Kill(pid, SigStop));
            var sw = Stopwatch.StartNew();
            bool exited = node0.WaitForExit(TimeSpan.FromSeconds(nodeTimeout + 8));
            double seconds = sw.Elapsed.TotalSeconds;
            if (exited) node0.WaitForExit();
            output.WriteLine($"{transport}, workers {workers}: node 0 {(exited ? "exit " + node0.ExitCode : "still running")} {seconds:F2} s after the stop");
            output.WriteLine(run.Stderr);
            Assert.True(exited, "node 0 did not notice a stopped worker");
            Assert.Equal(69, node0.ExitCode);
            Assert.InRange(seconds, nodeTimeout - 0.5, nodeTimeout + 3);
            var node0Lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !StraceLine().IsMatch(l)).ToList();
            AssertOneLostLineEach(node0Lines, [0], $"dqemu-native: node 1 (127.0.0.1:{cluster.Ports[1]}) lost: ", "node 0's stderr");

            Kill(pid, SigCont);
            if (hand != null)
            {
                Assert.True(hand.WaitForExit(TimeSpan.FromSeconds(nodeTimeout + 8)), $"the continued worker still runs; its stderr:\n{hand.Stderr}");
                output.WriteLine($"worker 1: exit {hand.ExitCode}; stderr:\n{hand.Stderr}");
                Assert.Equal(69, hand.ExitCode);
                AssertOneLostLineEach(hand.StderrLines.Where(l => l.Length > 0).ToList(), [1],
                    $"dqemu-native: node 0 (127.0.0.1:{cluster.Ports[0]}) lost: ", "worker 1's stderr");
            }
            Assert.Empty(cluster.WaitForNoProcesses(TimeSpan.FromSeconds(nodeTimeout + 8)));
        }
        finally
        {
            if (pid > 0) Kill(pid, SigCont); // never leave a stopped process behind, whatever failed
            hand?.Dispose();
        }
    }

    public static TheoryData<int, string> NodesAndTransports()
    {
        var d = new TheoryData<int, string>();
        foreach (var t in LoopbackCluster.Transports)
            foreach (int nodes in new[] { 1, 2 })
                d.Add(nodes, t);
        return d;
    }

    /// <summary>
    /// The guest's stdout is /dev/full: every write fails with ENOSPC, on node 0 and (the second thread) on node 1.
    /// The guest counts the threads that saw a failure and exits with that: qemu-aarch64's status, nothing on stderr.
    /// </summary>
    [Theory]
    [MemberData(nameof(NodesAndTransports))]
    public void GuestStdoutOnAFullDiskFailsAsUnderQemu(int nodes, string transport)
    {
        var (binary, _, env) = Guest("mt_print_lots");
        int expected = RunWithStdout("qemu-aarch64", [binary], env, "/dev/full").Status;
        Assert.Equal(2, expected); // the guest's own answer: both threads saw ENOSPC
        using var cluster = new LoopbackCluster(transport, nodes);
        var (status, stderr) = RunWithStdout(LoopbackCluster.Binary, ["--cluster", cluster.ConfigPath, binary], env, "/dev/full");
        output.WriteLine($"{nodes} node(s) over {transport}: exit {status}; stderr:\n{stderr}");
        Assert.Equal(expected, status);
        Assert.Equal("", stderr);
        Assert.Empty(cluster.WaitForNoProcesses(Leftover));
    }

    /// <summary>
    /// The guest's stdout is a pipe whose reader closes it after 100 bytes while two threads (the second on node 1 when
    /// there are two nodes) keep writing: the guest dies of SIGPIPE (status 141), as under qemu-aarch64, with nothing on
    /// stderr, and no node is left running. On two nodes the write is delegated to node 0, which must send the SIGPIPE
    /// it raises to the writing thread's node (once, it was kept by node 0's stand-in thread and the guest went on
    /// writing). Both run under env --default-signal=PIPE: a parent may have left SIGPIPE ignored, which exec passes on
    /// (qemu-aarch64's guest then sees EPIPE, and dqemu-native's does not: README, "Signals").
    /// </summary>
    [Theory]
    [MemberData(nameof(NodesAndTransports))]
    public void GuestStdoutIntoAClosedPipeEndsTheGuestWithSigpipe(int nodes, string transport)
    {
        var (binary, _, env) = Guest("mt_print_lots");
        string[] prefix = ["--default-signal=PIPE"];
        var qemu = RunIntoClosingPipe("/usr/bin/env", [.. prefix, "qemu-aarch64", binary, "1000000"], env);
        Assert.Equal(141, qemu.Status);
        using var cluster = new LoopbackCluster(transport, nodes);
        var ours = RunIntoClosingPipe("/usr/bin/env", [.. prefix, LoopbackCluster.Binary, "--cluster", cluster.ConfigPath, binary, "1000000"], env);
        output.WriteLine($"{nodes} node(s) over {transport}: exit {ours.Status}; stderr:\n{ours.Stderr}");
        Assert.Equal(qemu.Status, ours.Status);
        Assert.Equal(qemu.Stderr, ours.Stderr);
        Assert.Empty(cluster.WaitForNoProcesses(Leftover));
    }

    private const int SigStop = 19, SigCont = 18;

    private static int Kill(int pid, int sig) => Tmds.Linux.LibC.kill(pid, sig);

    /// <summary>Runs with stdout on <paramref name="path"/> (opened for writing): the exit status and stderr.</summary>
    private static (int Status, string Stderr) RunWithStdout(string exe, IEnumerable<string> args, Dictionary<string, string> env, string path)
    {
        // a shell gives the child its stdout; the arguments travel as "$@", never through the shell's parser
        var r = GuestRunner.Run("/bin/sh", ["-c", $"exec \"$@\" > {path}", "sh", exe, .. args], env, timeout: TimeSpan.FromSeconds(60));
        Assert.False(r.TimedOut, $"{exe} with stdout on {path} did not end");
        return (r.ExitCode, r.Stderr);
    }

    /// <summary>Runs with stdout into a pipe this test reads 100 bytes of and then closes.</summary>
    private static (int Status, string Stderr) RunIntoClosingPipe(string exe, IEnumerable<string> args, Dictionary<string, string> env)
    {
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Clear();
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var buf = new byte[100];
        int got = 0;
        while (got < buf.Length)
        {
            int n = p.StandardOutput.BaseStream.Read(buf, got, buf.Length - got);
            if (n == 0) break;
            got += n;
        }
        Assert.Equal(buf.Length, got);
        p.StandardOutput.Close();
        bool exited = p.WaitForExit(TimeSpan.FromSeconds(60));
        if (!exited) p.Kill(entireProcessTree: true);
        Assert.True(exited, $"{exe} kept running after its stdout's reader went away");
        p.WaitForExit();
        return (p.ExitCode, stderr.Result);
    }
}
