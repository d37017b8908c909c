using System.Diagnostics;
using System.Text;
using Dqemu.Rdma;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Signals;
using Dqemu.Runtime.Syscalls;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Cluster;

/// <summary>
/// <c>dqemu-native --cluster cluster.toml guest.elf args</c>: node 0, where the guest starts. Starts the local
/// workers as child processes, connects the full mesh, loads the guest into shared memory, attaches every worker
/// (<see cref="ClusterNode.AttachNode0"/>) and runs the main thread here; other threads go where placement says.
/// When the guest ends it stops the workers before exiting with its status.
/// <para>Shutdown order (from <see cref="GuestProcess.Terminate"/>'s BeforeExit): the other guest threads are
/// told to stop; node 0's own --stats; <see cref="ClusterProtocol.Stop"/> to every worker; wait (bounded) for
/// every <see cref="ClusterProtocol.Stopped"/> with its counters; the cluster --stats; close the transport
/// (each worker leaves when it sees node 0 close); wait (bounded) for the local children, kill stragglers;
/// exit_group with the guest's status.</para>
/// <para>Node loss (any time before the transport is closed): one line naming the node, a
/// <see cref="ClusterProtocol.NodeLost"/> to the other workers (so they name the same node), the local
/// children are given a moment to leave and then killed, exit 69.</para>
/// </summary>
internal sealed class Node0 : IMessageHandler
{
    /// <summary>How long the local children get to exit by themselves before they are killed.</summary>
    private static readonly TimeSpan ChildExitWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ChildGraceOnLoss = TimeSpan.FromSeconds(1);

    private readonly ClusterContext _ctx;
    private readonly RuntimeOptions _opts;
    private readonly Process?[] _children;
    private readonly TransportCounters?[] _stopped;
    private readonly ManualResetEventSlim _allStopped = new(false);
    private ITransport? _transport;
    private ClusterNode? _cluster;
    private readonly string?[] _stoppedText;
    private readonly ClusterProtocol.CoherenceTotals[] _coherence;
    private readonly SharedGuestMemory _memory = new();
    private int _stopsLeft;
    private int _shutdown;
    private volatile bool _closed;

    private Node0(ClusterContext ctx, RuntimeOptions opts)
    {
        _ctx = ctx;
        _opts = opts;
        _children = new Process?[ctx.Config.Nodes.Count];
        _stopped = new TransportCounters?[ctx.Config.Nodes.Count];
        _stoppedText = new string?[ctx.Config.Nodes.Count];
        _coherence = new ClusterProtocol.CoherenceTotals[ctx.Config.Nodes.Count];
        _stopsLeft = ctx.Config.Nodes.Count - 1;
        if (_stopsLeft == 0) _allStopped.Set();
    }

    private int Count => _ctx.Config.Nodes.Count;
    private ITransport Transport => _transport!;

    public static int Run(RuntimeOptions opts)
    {
        if (opts.GuestPath == null)
            throw new FatalException(ExitCodes.Usage, "node 0 runs the guest: give the guest program after --cluster FILE");
        var ctx = ClusterContext.Load(opts.ClusterFile!, 0);
        // host-dependent parts of the file, for every node of this host, before any worker starts: a worker that
        // found them wrong itself would print its line and node 0 a second one about losing it
        for (int n = 0; n < ctx.Config.Nodes.Count; n++)
            if (n == 0 || StartsHere(ctx.Node(n))) ctx.CheckCpus(n);
        ctx.CheckTransport();
        var node = new Node0(ctx, opts);
        // the children's start-up and the sockets open while every low fd is taken, so the transport's
        // descriptors sit above the guest's (EmulatorFds) and the guest's open() numbers equal a one-node run
        EmulatorFds.MoveRuntimeFdsHigh(node.StartCluster);
        node.Transport.Start(node);
        try
        {
            ctx.PinSelf(); // after the children started: they must not inherit node 0's CPUs
            return Emulator.Run(opts, node._memory, node.Attach);
        }
        catch
        {
            node.Shutdown(printStats: false); // the guest never started (bad ELF, bad cpus): the workers still leave
            throw;
        }
    }

    // ------------------------------------------------------------------ start-up

    private void StartCluster()
    {
        string exe = Environment.ProcessPath ?? throw new FatalException(ExitCodes.Internal, "cannot find this program's own path to start the workers");
        string config = Path.GetFullPath(_ctx.Config.Path);
        JitX64.Translation.TranslatorWarmUp.Finish(); // not while a worker process is being started (see there)
        for (int n = 1; n < Count; n++)
        {
            var node = _ctx.Node(n);
            if (!StartsHere(node)) continue;
            var psi = new ProcessStartInfo(exe) { UseShellExecute = false };
            psi.ArgumentList.Add("--cluster");
            psi.ArgumentList.Add(config);
            psi.ArgumentList.Add("--node");
            psi.ArgumentList.Add(n.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (_opts.Stats) psi.ArgumentList.Add("--stats"); // the worker's translator counts blocks from the start
            if (_opts.PerfMap) psi.ArgumentList.Add("--perf-map"); // each node process writes its own map
            // the workers started here translate as this node does
            if (_opts.TierUpAfter is int tierUp)
            {
                psi.ArgumentList.Add("--tier-up");
                psi.ArgumentList.Add(tierUp.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            if (_opts.NoLink || _opts.LogNoChain) psi.ArgumentList.Add("--no-link");
            if (_opts.CodeCacheBytes is ulong cacheBytes)
            {
                psi.ArgumentList.Add("--code-cache-size");
                psi.ArgumentList.Add((cacheBytes >> 10).ToString(System.Globalization.CultureInfo.InvariantCulture) + "K");
            }
            psi.Environment[WorkerNode.ParentEnv] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
            try { _children[n] = Process.Start(psi); }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException)
            {
                Fail($"cannot start {_ctx.Name(n)} as {exe}: {e.Message}");
            }
        }

        ITransport? transport = null;
        Exception? error = null;
        var connect = new Thread(() =>
        {
            try { transport = _ctx.Connect(); }
            catch (Exception e) { error = e; }
        }) { IsBackground = true, Name = "dqemu-cluster-connect" };
        connect.Start();
        // Connect ends by itself at the connect timeout; the extra margin only guards against a bug there
        long deadline = Environment.TickCount64 + (long)(_ctx.Config.ConnectTimeout * 1000) + 5000;
        while (!connect.Join(20))
        {
            for (int n = 1; n < Count; n++)
                if (_children[n] is { HasExited: true } child)
                {
                    if (child.ExitCode == ExitCodes.Config)
                    {
                        // the worker found the cluster file wrong and said so on the stderr it shares with node 0
                        // (the file changed since node 0 read it, or a check only a worker makes): that is the one
                        // line, and the status is the worker's
                        StopChildren(TimeSpan.Zero);
                        ClusterContext.ExitNow(ExitCodes.Config);
                    }
                    Fail($"{_ctx.Name(n)} exited with status {child.ExitCode} before the cluster was connected");
                }
            if (Environment.TickCount64 > deadline) Fail($"node 0 ({_ctx.Node(0).Address}) could not join the cluster: connecting did not end");
        }
        if (error is TransportConnectException or TransportUnavailableException) Fail(error.Message);
        if (error != null) Fail($"connecting the cluster failed: {error.GetType().Name}: {error.Message}");
        _transport = transport;
    }

    /// <summary>Whether node 0 starts this worker itself (see <see cref="NodeConfig.Start"/>).</summary>
    private static bool StartsHere(NodeConfig node) => node.Start ?? ClusterContext.IsLocal(node.Address.Address);

    private void Fail(string message)
    {
        StopChildren(TimeSpan.Zero);
        throw new FatalException(ExitCodes.Unavailable, message);
    }

    // ------------------------------------------------------------------ the guest's end

    /// <summary>Emulator.Run's hook: the cluster's shutdown runs when the guest process ends.</summary>
    private void Attach(GuestProcess process, GuestThread main)
    {
        _cluster = new ClusterNode(_ctx, Transport, process.Space, _memory);
        _cluster.AttachNode0(process, main);
        var previous = process.BeforeExit; // --stats of this node
        process.BeforeExit = () =>
        {
            StopOtherGuestThreads(process);
            try { previous?.Invoke(); }
            catch { /* statistics must not keep the workers running */ }
            Shutdown(printStats: _opts.Stats);
        };
    }

    /// <summary>
    /// The guest has ended, but the workers take a moment to stop: the other guest threads must not run on
    /// (and print) meanwhile, as they would not after a one-node exit_group.
    /// </summary>
    private static void StopOtherGuestThreads(GuestProcess process)
    {
        int self = (int)HostSyscall.Call(HostSyscall.Nr.Gettid);
        foreach (var t in process.Threads.Values)
            if (t.HostTid != self && !t.Exited) ThreadInterrupter.Kick(t);
    }

    private void Shutdown(bool printStats)
    {
        if (Interlocked.Exchange(ref _shutdown, 1) != 0 || _transport == null) return;
        ClusterNode.Stopping = true;
        for (int n = 1; n < Count; n++)
        {
            try { Transport.Send(n, ClusterProtocol.Stop, ReadOnlySpan<byte>.Empty); }
            catch (NodeLostException) { /* OnNodeLost reports it and ends the process */ }
        }
        var wait = TimeSpan.FromSeconds(_ctx.Config.NodeTimeout + 2);
        if (!_allStopped.Wait(wait))
        {
            var missing = Enumerable.Range(1, Count - 1).Where(n => _stopped[n] == null).Select(_ctx.Name);
            if (ClusterContext.ReportOnce($"{string.Join(", ", missing)} did not confirm the stop within {wait.TotalSeconds:0.#} s"))
            {
                _closed = true;
                StopChildren(TimeSpan.Zero);
                ClusterContext.ExitNow(ExitCodes.Unavailable);
            }
            Thread.Sleep(Timeout.Infinite); // another report is ending the process
        }
        if (printStats) PrintStats();
        _closed = true; // from here on, a node leaving is the shutdown itself
        Transport.Dispose();
        StopChildren(ChildExitWait);
    }

    /// <summary>
    /// --stats in a cluster: per node, the transport's application messages and body bytes (frame headers,
    /// heartbeats and goodbyes not counted). A worker's numbers are its own, sent with its Stopped answer
    /// (so they do not count that answer); node 0's are read after every answer arrived.
    /// </summary>
    private void PrintStats()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"dqemu-native cluster stats ({_ctx.Config.Transport}, {Count} nodes; messages and body bytes):");
        for (int n = 0; n < Count; n++)
        {
            TransportCounters c = n == 0 ? Transport.Totals : _stopped[n] ?? default;
            sb.AppendLine($"  {_ctx.Name(n),-28} sent {c.MessagesSent,8} msgs {c.BytesSent,12} B   received {c.MessagesReceived,8} msgs {c.BytesReceived,12} B" +
                          (n == 0 ? "" : $"   ({Transport.Route(n)})"));
            sb.Append(n == 0 ? _cluster?.StatsText() : _stoppedText[n]);
        }
        var all = _cluster?.Coherence ?? default;
        for (int n = 1; n < Count; n++) all += _coherence[n];
        if (all.Faults > 0)
            sb.AppendLine($"  per remote fault (all nodes): {all.Bytes / 1024.0 / all.Faults:F2} KiB, {(double)all.Messages / all.Faults:F2} messages " +
                          $"({all.Faults} faults, {all.Messages} coherence messages, {all.Bytes} bytes)");
        Console.Error.Write(sb.ToString());
    }

    /// <summary>Waits up to <paramref name="grace"/> for the local workers to exit, then kills the others.</summary>
    private void StopChildren(TimeSpan grace)
    {
        long end = Environment.TickCount64 + (long)grace.TotalMilliseconds;
        foreach (var child in _children)
        {
            if (child == null) continue;
            try
            {
                int left = (int)Math.Max(0, end - Environment.TickCount64);
                if (child.WaitForExit(left)) continue;
                child.Kill();
                child.WaitForExit(2000);
            }
            catch (InvalidOperationException) { /* already reaped */ }
            catch (System.ComponentModel.Win32Exception) { /* already gone */ }
        }
    }

    // ------------------------------------------------------------------ transport events

    public void OnMessage(int from, ushort type, ReadOnlySpan<byte> body)
    {
        if (type >= ClusterMessages.Attach)
        {
            _cluster?.OnMessage(from, type, body);
            return;
        }
        if (type == ClusterProtocol.NodeLost)
        {
            // a worker saw a node die before this node did (its own connection to us closes right after)
            if (ClusterProtocol.TryDecodeNodeLost(body, out int node, out string reason) && (uint)node < (uint)Count && node != 0)
                Lose(node, reason, from);
            return;
        }
        if (type != ClusterProtocol.Stopped || _stopped[from] != null) return;
        if (ClusterProtocol.TryDecodeStopped(body, out var c, out var coherence, out string text))
        {
            _stoppedText[from] = text;
            _coherence[from] = coherence;
        }
        _stopped[from] = c;
        if (Interlocked.Decrement(ref _stopsLeft) == 0) _allStopped.Set();
    }

    public void OnNodeLost(int node, string reason) => Lose(node, reason, 0);

    private void Lose(int node, string reason, int seenBy)
    {
        if (_closed || !ClusterContext.ReportOnce(_ctx.LostLine(node, reason, seenBy))) return;
        _ctx.Broadcast(Transport, node, reason); // the other workers name the same node
        StopChildren(ChildGraceOnLoss);
        ClusterContext.ExitNow(ExitCodes.Unavailable);
    }
}
