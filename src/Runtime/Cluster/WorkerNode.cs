using System.Runtime.InteropServices;
using Dqemu.Rdma;
using Dqemu.Runtime.Host;

namespace Dqemu.Runtime.Cluster;

/// <summary>
/// <c>dqemu-native --cluster cluster.toml --node N</c> (N ≥ 1). A worker joins the mesh, creates its guest memory
/// and translator, and gets its guest process from node 0's Attach (<see cref="ClusterNode"/>); from then on it runs
/// the guest threads placed on it. It waits for node 0's <see cref="ClusterProtocol.Stop"/>, answers with its
/// counters and its --stats text, and leaves once node 0 has closed its connections. When any node is lost first it prints one line naming it and
/// exits 69 (after telling the other nodes which node it lost). Started by node 0 (environment <see cref="ParentEnv"/> holds node 0's pid), it also dies with
/// node 0: a parent-death signal (prctl PR_SET_PDEATHSIG) backs up the transport's own loss detection.
/// </summary>
internal sealed class WorkerNode : IMessageHandler
{
    /// <summary>Set by node 0 for the workers it starts: its own pid.</summary>
    public const string ParentEnv = "DQEMU_CLUSTER_PARENT";

    /// <summary>How long a stopped worker waits for node 0 to close its connections before leaving anyway.</summary>
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(10);

    private readonly ClusterContext _ctx;
    private readonly ManualResetEventSlim _stop = new(false);
    private readonly ManualResetEventSlim _node0Closed = new(false);
    private volatile bool _stopping;
    private PosixSignalRegistration? _hangup;
    private volatile ITransport? _transport;
    private ClusterNode? _cluster;

    private WorkerNode(ClusterContext ctx) => _ctx = ctx;

    public static int Run(RuntimeOptions opts)
    {
        if (opts.GuestPath != null)
            throw new FatalException(ExitCodes.Usage, $"a worker (--node {opts.NodeId}) takes no guest program; node 0 runs it");
        var ctx = ClusterContext.Load(opts.ClusterFile!, opts.NodeId!.Value);
        var w = new WorkerNode(ctx);
        if (int.TryParse(Environment.GetEnvironmentVariable(ParentEnv), out int parent)) w.DieWithParent(parent);
        ctx.PinSelf();
        ITransport transport;
        try { transport = ctx.Connect(); }
        catch (Exception e) when (e is TransportConnectException or TransportUnavailableException)
        {
            throw new FatalException(ExitCodes.Unavailable, e.Message);
        }
        w._transport = transport;
        // the guest's memory and translator exist before any message: node 0's Attach creates the process
        var memory = new SharedGuestMemory();
        var (space, translator, modules) = Emulator.CreateMachine(opts, memory);
        w._cluster = new ClusterNode(ctx, transport, space, memory)
        {
            CreateProcess = (exe, sysroot, stats, strace) =>
            {
                opts.Stats = stats;
                opts.Strace = strace;
                var process = new Threading.GuestProcess(space, translator, opts, exe, sysroot) { Modules = modules };
                Emulator.WatchLayout(process);
                Emulator.NameImagesOnWorker(process);
                return process;
            },
        };
        transport.Start(w);

        w._stop.Wait(); // loss of any node ends the process from the transport's thread
        var body = ClusterProtocol.EncodeStopped(transport.Totals, w._cluster.Coherence, w._cluster.StatsText());
        try { transport.Send(0, ClusterProtocol.Stopped, body); }
        catch (NodeLostException) { /* node 0 is gone already: nothing left to report to */ }
        w._node0Closed.Wait(CloseWait);
        transport.Dispose();
        return 0;
    }

    /// <summary>
    /// Node 0 started this process: ask the kernel for SIGHUP when it dies (and handle SIGHUP as node 0's
    /// loss), then check node 0 did not die before the request took effect.
    /// </summary>
    private void DieWithParent(int parent)
    {
        _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
        {
            c.Cancel = true;
            if (_stopping) ClusterContext.ExitNow(0);
            ClusterContext.ReportOnce(ClusterNative.getppid() != parent
                ? _ctx.LostLine(0, "its process ended")
                : $"node {_ctx.Self}: hangup signal");
            ClusterContext.ExitNow(ExitCodes.Unavailable);
        });
        ClusterNative.prctl(ClusterNative.PR_SET_PDEATHSIG, ClusterNative.SIGHUP, 0, 0, 0);
        if (ClusterNative.getppid() != parent)
        {
            ClusterContext.ReportOnce(_ctx.LostLine(0, "its process ended before this worker started"));
            ClusterContext.ExitNow(ExitCodes.Unavailable);
        }
    }

    public void OnMessage(int from, ushort type, ReadOnlySpan<byte> body)
    {
        if (type >= ClusterMessages.Attach)
        {
            _cluster?.OnMessage(from, type, body);
            return;
        }
        switch (type)
        {
            case ClusterProtocol.Stop when from == 0:
                _stopping = true;
                ClusterNode.Stopping = true;
                _stop.Set();
                break;
            case ClusterProtocol.NodeLost when !_stopping:
                if (ClusterProtocol.TryDecodeNodeLost(body, out int node, out string reason) && (uint)node < (uint)_ctx.Config.Nodes.Count)
                {
                    ClusterContext.ReportOnce(_ctx.LostLine(node, reason, from));
                    ClusterContext.ExitNow(ExitCodes.Unavailable);
                }
                break;
        }
    }

    /// <summary>How long a worker that saw a loss stays after telling the others, before it exits.</summary>
    private static readonly TimeSpan LossLinger = TimeSpan.FromMilliseconds(100);

    public void OnNodeLost(int node, string reason)
    {
        if (_stopping)
        {
            // after the stop every node leaves: node 0 closing is the signal to go, the others do not matter
            if (node == 0) _node0Closed.Set();
            return;
        }
        if (ClusterContext.ReportOnce(_ctx.LostLine(node, reason)) && _transport != null)
        {
            _ctx.Broadcast(_transport, node, reason);
            // a send may still sit in the transport (UCX queues it for its progress thread): leaving at once could
            // let node 0 see this node's connection close before it reads which node was lost, and name this one
            Thread.Sleep(LossLinger);
        }
        ClusterContext.ExitNow(ExitCodes.Unavailable);
    }
}
