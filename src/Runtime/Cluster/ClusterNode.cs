using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Dqemu.Dsm;
using Dqemu.Rdma;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Memory;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Cluster;

/// <summary>
/// One node's share of a guest that spans the cluster: its memory (<see cref="ClusterMemory"/> over a
/// <see cref="DsmNode"/>), its futexes (<see cref="FutexEngine"/>), and the runtime messages of
/// <see cref="ClusterMessages"/>: layout and signal dispositions copied from node 0, threads placed and started
/// anywhere, syscalls of remote threads delegated to node 0.
/// </summary>
/// <remarks>
/// Receive threads never block: a message whose work may wait (for a page, a lock, a syscall) goes to a thread of
/// its own — the layout applier (one per worker, so layout changes apply in node 0's order), a proxy thread per
/// remote guest thread on node 0 (its delegated syscalls, in order), or a fresh thread (thread starts).
/// </remarks>
internal sealed unsafe partial class ClusterNode : IMessageHandler, IClusterProcess
{
    /// <summary>Bound on waits for another node's answer where none may block for long (layout, placement, starts).</summary>
    private static readonly TimeSpan RpcTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Futex registrations a worker keeps after their last waiter left (see <see cref="FutexEngine"/>): a condition
    /// variable or barrier waited on again and again then costs no round trip to node 0 per wait.</summary>
    private const int KeptFutexRegistrations = 256;

    private readonly ClusterContext _ctx;
    private readonly ITransport _transport;
    private readonly ClusterMemory _memory;
    private readonly ConcurrentDictionary<ulong, PendingReply> _pending = new();
    private readonly ServiceQueue<Action> _applier = new();
    private long _nextId;
    private GuestProcess? _process;
    private Dqemu.Dsm.Placement? _placement;
    private long _delegated, _signalsForwarded;

    public ClusterNode(ClusterContext ctx, ITransport transport, GuestSpace space, SharedGuestMemory memory)
    {
        _ctx = ctx;
        _transport = transport;
        Self = ctx.Self;
        _memory = new ClusterMemory(space, memory, Self);
        Dsm = new DsmNode(Self, transport.NodeCount, transport, _memory, new DsmOptions
        {
            Home = ctx.Config.Directory == "node0" ? HomePolicy.Centralized : HomePolicy.Distributed,
            Compress = ctx.Config.CompressPages,
            SplitAfter = ctx.Config.SplitPages && transport.NodeCount > 1 ? ctx.Config.SplitAfter : 0,
            SplitPageLimit = GuestSpace.Size / DsmNode.PageSize,
            PushUpdates = ctx.Config.PushUpdates,
        });
        _memory.Dsm = Dsm;
        _memory.ForwardPages = ctx.Config.ForwardPages && transport.NodeCount > 1;
        _memory.ForwardWakes = ctx.Config.ForwardWakes && transport.NodeCount > 1;
        Futex = new FutexEngine(Self, transport.NodeCount, transport, _memory, keepIdle: KeptFutexRegistrations,
                                blockOnLocalWakes: ctx.Config.Nodes[Self].Cores == 1);
        if (_memory.ForwardWakes) Futex.PagesWithWake = _memory.PrefetchPages;
        if (ctx.Config.PushUpdates) Dsm.UpdateOffered += _memory.PrefetchPage;
        Dsm.Failed += reason => Lost(reason);
        Futex.Failed += reason => Lost(reason);
        InstallDump();
        Diagnosis.RegisterCluster(() => _proxies.Values.Select(p => p.Thread), page => $"home node {Dsm.HomeOf(page)}", DiagnosisText);
        StartSplitting();
        StartAutoPlacement();
        if (Self != 0)
        {
            var applier = new Thread(RunApplier) { IsBackground = true, Name = "dqemu-layout" };
            applier.Start();
        }
    }

    public int Self { get; }
    public DsmNode Dsm { get; }
    public FutexEngine Futex { get; }
    public GuestProcess? Process => _process;

    /// <summary>Set once the guest process of this node exists (node 0: after loading; workers: on Attach).</summary>
    private GuestProcess P => _process ?? throw new InvalidOperationException("no guest process on this node yet");

    /// <summary>Set when node 0 has begun ending the guest: a node leaving from now on is the shutdown itself.</summary>
    public static volatile bool Stopping;

    internal static void Lost(string reason)
    {
        if (Stopping)
        {
            Thread.Sleep(Timeout.Infinite); // this node ends with the shutdown, without a loss report
            return;
        }
        if (ClusterContext.ReportOnce(reason)) ClusterContext.ExitNow(ExitCodes.Unavailable);
    }

    public void Fail(string message) => Lost($"node {Self}: {message}");

    /// <summary>Wires a guest process (either side) to the cluster.</summary>
    private void Join(GuestProcess process)
    {
        _process = process;
        process.Cluster = this;
        process.Futex = new ClusterFutex(process.Space, Futex, _memory);
        process.Space.Coherence = _memory;
    }

    public ulong SplitTable => (ulong)_memory.Split.Table;

    // ------------------------------------------------------------------ messages

    public void OnMessage(int from, ushort type, ReadOnlySpan<byte> body)
    {
        if (DsmNode.IsDsmMessage(type))
        {
            Dsm.OnMessage(from, type, body);
            return;
        }
        if (FutexEngine.IsFutexMessage(type))
        {
            Futex.OnMessage(from, type, body);
            return;
        }
        try
        {
            switch (type)
            {
                case ClusterMessages.Reply:
                    if (_pending.TryRemove(BinaryPrimitives.ReadUInt64LittleEndian(body), out var waiting)) waiting.Complete(body[8..]);
                    break;
                case ClusterMessages.Attach:
                case ClusterMessages.Layout:
                case ClusterMessages.Disposition:
                case ClusterMessages.Split:
                    QueueApply(from, type, body);
                    break;
                case ClusterMessages.Place:
                    OnPlace(from, body);
                    break;
                case ClusterMessages.Start:
                case ClusterMessages.Adopt:
                    StartThread(from, type, body);
                    break;
                case ClusterMessages.ThreadExit:
                    OnThreadExit(from, body);
                    break;
                case ClusterMessages.Syscall:
                    OnSyscall(from, body);
                    break;
                case ClusterMessages.LayoutQuery:
                    OnLayoutQuery(from, body);
                    break;
                case ClusterMessages.SplitHint:
                case ClusterMessages.Merge:
                    OnSplitMessage(from, type, body);
                    break;
                case ClusterMessages.Signal:
                    OnSignal(body);
                    break;
                case ClusterMessages.Migrate:
                    OnMigrate(body);
                    break;
                case ClusterMessages.Moved:
                    OnMovedMessage(body);
                    break;
                case ClusterMessages.Hint:
                    OnHint(from, body);
                    break;
                case ClusterMessages.Sharing:
                    OnSharing(from, body);
                    break;
                case ClusterMessages.Handover:
                    OnHandover(body);
                    break;
                case ClusterMessages.Exit:
                    EndGuest(BinaryPrimitives.ReadInt32LittleEndian(body));
                    break;
            }
        }
        catch (Exception e)
        {
            Lost($"node {Self}: bad message 0x{type:x} from node {from}: {e.GetType().Name}: {e.Message}");
        }
    }

    // The lambdas of the rare messages live in methods of their own: a lambda in OnMessage that captured its parameters
    // made the compiler allocate their closure at the top of OnMessage, for every message of every kind (32 B a DSM or
    // futex message, ~128 B a remote fault in a ping-pong; found by the heap audit, NativeAllocationTests).

    /// <summary>A layout, attach, disposition or split message: applied in order by the applier thread.</summary>
    private void QueueApply(int from, ushort type, ReadOnlySpan<byte> body)
    {
        var copy = body.ToArray();
        _applier.Add(() => Apply(from, type, copy));
    }

    /// <summary>A thread that starts or arrives here: its start waits for a host thread, not on a receive thread.</summary>
    private void StartThread(int from, ushort type, ReadOnlySpan<byte> body)
    {
        var copy = body.ToArray();
        Action start = type == ClusterMessages.Start ? () => OnStart(from, copy) : () => OnAdopt(from, copy);
        new Thread(() => start()) { IsBackground = true, Name = "dqemu-start" }.Start();
    }

    /// <summary>The guest ends with <paramref name="status"/> (away from the receive thread).</summary>
    private void EndGuest(int status) =>
        new Thread(() =>
        {
            P.SetExitStatus(status);
            P.Terminate();
        }) { IsBackground = true, Name = "dqemu-exit" }.Start();

    public void OnNodeLost(int node, string reason) { /* Node0/WorkerNode report losses */ }

    // ------------------------------------------------------------------ requests and answers

    private sealed class PendingReply
    {
        // no spinning in the wait: the caller has spun already (TransportSpin), or may not (an urgent thread)
        private readonly ManualResetEventSlim _done = new(false, spinCount: 0);
        public byte[] Answer = [];

        public void Complete(ReadOnlySpan<byte> answer)
        {
            Answer = answer.ToArray();
            _done.Set();
        }

        /// <summary>Polls <paramref name="transport"/> while the spin lasts (the answer is then handled on this
        /// thread), then blocks until the receiving thread completes it.</summary>
        public bool Wait(TimeSpan timeout, ITransport transport)
        {
            var spin = new TransportSpin(transport);
            try
            {
                while (!_done.IsSet)
                    if (!spin.Next()) return _done.Wait(timeout);
                return true;
            }
            finally
            {
                spin.End();
            }
        }
    }

    /// <summary>A request body with room for its id in front.</summary>
    private static byte[] NewRequest(int payload) => new byte[8 + payload];

    /// <summary>Sends a request (its first 8 bytes are filled with a fresh id) and waits for the answer.</summary>
    private byte[] Call(int node, ushort type, byte[] request, TimeSpan timeout, string what)
    {
        ulong id = (ulong)Interlocked.Increment(ref _nextId);
        BinaryPrimitives.WriteUInt64LittleEndian(request, id);
        var waiting = new PendingReply();
        _pending[id] = waiting;
        Send(node, type, request);
        if (!waiting.Wait(timeout, _transport))
        {
            _pending.TryRemove(id, out _);
            Lost($"node {Self}: {_ctx.Name(node)} did not answer {what} within {timeout.TotalSeconds:0} s");
        }
        return waiting.Answer;
    }

    /// <summary><see cref="Call"/> to several nodes at once; returns when every one answered.</summary>
    private void CallAll(IEnumerable<int> nodes, ushort type, byte[] request, string what)
    {
        var waits = new List<(int, PendingReply, ulong)>();
        foreach (int n in nodes)
        {
            ulong id = (ulong)Interlocked.Increment(ref _nextId);
            var copy = (byte[])request.Clone();
            BinaryPrimitives.WriteUInt64LittleEndian(copy, id);
            var waiting = new PendingReply();
            _pending[id] = waiting;
            waits.Add((n, waiting, id));
            Send(n, type, copy);
        }
        foreach (var (n, waiting, id) in waits)
        {
            if (waiting.Wait(RpcTimeout, _transport)) continue;
            _pending.TryRemove(id, out _);
            Lost($"node {Self}: {_ctx.Name(n)} did not answer {what} within {RpcTimeout.TotalSeconds:0} s");
        }
    }

    private void Answer(int node, ReadOnlySpan<byte> request, ReadOnlySpan<byte> answer)
    {
        Span<byte> b = stackalloc byte[8 + answer.Length];
        request[..8].CopyTo(b);
        answer.CopyTo(b[8..]);
        Send(node, ClusterMessages.Reply, b);
    }

    /// <summary>Sends, treating a lost peer or a closed transport (the shutdown) as the end of this node's work.</summary>
    private void Send(int node, ushort type, ReadOnlySpan<byte> body)
    {
        try { _transport.Send(node, type, body); }
        catch (NodeLostException) { /* the transport reports the loss (OnNodeLost), naming the node */ }
        catch (ObjectDisposedException) { Lost($"node {Self}: the transport closed"); }
    }

    private void AnswerLong(int node, ReadOnlySpan<byte> request, long value)
    {
        Span<byte> a = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(a, value);
        Answer(node, request, a);
    }

    private IEnumerable<int> Workers => Enumerable.Range(1, _transport.NodeCount - 1);

    // ------------------------------------------------------------------ strings and ranges on the wire

    private static void PutString(List<byte> b, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        b.Add((byte)bytes.Length);
        b.Add((byte)(bytes.Length >> 8));
        b.AddRange(bytes);
    }

    private static string GetString(ReadOnlySpan<byte> b, ref int at)
    {
        int n = BinaryPrimitives.ReadUInt16LittleEndian(b[at..]);
        string s = Encoding.UTF8.GetString(b.Slice(at + 2, n));
        at += 2 + n;
        return s;
    }

    private static void PutU64(List<byte> b, ulong v)
    {
        Span<byte> t = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(t, v);
        foreach (byte x in t) b.Add(x);
    }

    private static void PutI32(List<byte> b, int v)
    {
        Span<byte> t = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(t, v);
        foreach (byte x in t) b.Add(x);
    }

    /// <summary>A layout range as Attach and Layout carry it: u64 start, u64 end, u8 prot, str name.</summary>
    private static void PutRange(List<byte> b, ulong start, ulong end, GuestProt prot, string name)
    {
        PutU64(b, start);
        PutU64(b, end);
        b.Add((byte)prot);
        PutString(b, name);
    }

    private static (ulong Start, ulong End, GuestProt Prot, string Name) GetRange(ReadOnlySpan<byte> b, ref int at)
    {
        ulong start = BinaryPrimitives.ReadUInt64LittleEndian(b[at..]);
        ulong end = BinaryPrimitives.ReadUInt64LittleEndian(b[(at + 8)..]);
        var prot = (GuestProt)b[at + 16];
        at += 17;
        return (start, end, prot, GetString(b, ref at));
    }
}
