using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static Dqemu.Rdma.Ucx.UcpNative;

namespace Dqemu.Rdma.Ucx;

/// <summary>
/// <see cref="ITransport"/> over UCX (OpenUCX's UCP layer): one UCP worker per node, one endpoint per peer, every
/// message one eager active message. UCX picks the wire at run time — shared memory between the processes of one
/// host, RDMA verbs where a device exists, TCP otherwise — or takes <see cref="UcxTransportOptions.Tls"/>.
/// </summary>
/// <remarks>
/// <para><b>Bootstrap and liveness.</b> The nodes first form the same TCP mesh as <see cref="TcpTransport"/> (node ids,
/// cluster token, refusals, the connect timeout and its one-line errors); its handshake carries each node's host
/// identity (kernel boot id and network namespace). Then each node starts UCX and sends its UCP worker address over
/// the mesh. From then on every message goes over UCX and the TCP mesh carries heartbeats only, so a node that dies,
/// hangs or is cut off is found and reported exactly as with TCP (a closed connection, or silence past the peer
/// timeout).</para>
/// <para><b>Shared memory across network namespaces.</b> UCX takes two processes of one kernel for one host and joins
/// them by shared memory, whose wake-up signals are unix sockets in the abstract namespace — private to a network
/// namespace. Between namespaces the data would arrive but nobody would be woken for it; so when a peer runs on this
/// kernel in another network namespace and no <see cref="UcxTransportOptions.Tls"/> is given, shared-memory
/// transports are left out ("^sm") and UCX uses the network.</para>
/// <para><b>Delivery.</b> Active messages are delivered inside <c>ucp_worker_progress</c>, under the worker's lock,
/// so messages from one peer reach the handler one at a time and in order (UCP keeps one endpoint's eager active
/// messages in order: one lane, no rendezvous). Two kinds of thread progress the worker: a progress thread that
/// sleeps on the worker's event fd when nothing arrives, and any thread waiting for an answer, through
/// <see cref="Poll"/> (<see cref="TransportSpin"/>): that is how a faulting guest thread gets its page without a
/// receive thread being scheduled in between. A handler must not block: while it runs, this node's other threads can
/// neither send nor receive.</para>
/// <para><b>Sending.</b> <see cref="Send"/> copies the message into a pooled native buffer and starts the send; it never
/// waits (UCX queues a send it cannot start at once and completes it in a later progress call, which returns the
/// buffer), so it is safe from handlers too. Headers carry the message type and the sender's node id.</para>
/// </remarks>
public sealed unsafe partial class UcxTransport : ITransport
{
    /// <summary>Active message ids: the application's messages, and the transport's own hello at connect time.</summary>
    private const uint AmMessage = 1, AmHello = 2;

    /// <summary>A hello's type field: the hello itself, or its acknowledgement.</summary>
    private const ushort HelloAsk = 0, HelloAck = 1;

    /// <summary>The one message the TCP mesh carries: the sender's UCP worker address.</summary>
    private const ushort AddressMessage = 1;

    /// <summary>UCX_TLS that leaves out every shared-memory transport.</summary>
    public const string NoSharedMemory = "^sm";

    /// <summary>Active message header: u16 type, u16 sender node, u32 reserved.</summary>
    private const int HeaderSize = 8;

    private readonly int _self;
    private readonly int _nodeCount;
    private readonly TcpTransport _control;
    private readonly UcxTransportOptions _options;
    private readonly nint _context;
    private readonly nint _worker;
    private readonly Peer?[] _peers;
    private readonly SendBufferPool _pool = new();
    private readonly GCHandle _handle;
    private readonly Lock _lostLock = new();
    private Thread? _progress;
    private int _efd = -1;
    private volatile IMessageHandler? _handler;
    private volatile bool _started;
    private volatile bool _disposed;
    private int _disposeStarted;
    private int _active; // threads inside a UCX call on the worker (sends, polls, the progress thread)

    /// <summary>Threads polling: while they do, the worker stays unarmed (an armed worker makes the next sender signal
    /// this process — a system call there, a wake-up here, ~7 us a round trip measured — for a message a poller takes
    /// anyway) and the progress thread parks.</summary>
    private readonly PollGate _gate = new();
    private List<(int From, ushort Type, byte[] Body)>? _early = [];
    private readonly Lock _earlyLock = new();

    /// <summary>
    /// Nonzero while this thread is inside ucp_worker_progress (so in a callback, or delivering the messages that came
    /// before Start): UCX forbids progressing the worker again from there, and a thread there must not wait for
    /// another thread's send (the worker's lock is held).
    /// </summary>
    [ThreadStatic] private static int t_inProgress;

    private UcxTransport(int self, IPEndPoint[] nodes, TcpTransport control, UcxTransportOptions options, nint context, nint worker,
                         string? tls)
    {
        Tls = tls;
        _self = self;
        _nodeCount = nodes.Length;
        _control = control;
        _options = options;
        _context = context;
        _worker = worker;
        _peers = new Peer?[nodes.Length];
        _handle = GCHandle.Alloc(this);
        for (int i = 0; i < nodes.Length; i++)
            if (i != self) _peers[i] = new Peer(this, i, nodes[i]);
    }

    public int Self => _self;
    public int NodeCount => _nodeCount;
    /// <summary>False in a cluster of one node: nothing can arrive.</summary>
    public bool CanPoll => _nodeCount > 1;

    /// <summary>Zero in a cluster of one node (see <see cref="TcpTransport.WaitSpin"/>).</summary>
    public TimeSpan WaitSpin => _nodeCount > 1 ? _options.WaitSpin : TimeSpan.Zero;

    /// <summary>The UCX library's version string (e.g. "1.13.1").</summary>
    public static string Version => UcxLibrary.Load();

    /// <summary>The bootstrap/liveness mesh (for tests: <see cref="TcpTransport.KillConnection"/>).</summary>
    public TcpTransport Control => _control;

    /// <summary>The UCX_TLS in force: <see cref="UcxTransportOptions.Tls"/>, <see cref="NoSharedMemory"/> when a peer is on
    /// this kernel in another network namespace, or null (UCX's choice).</summary>
    public string? Tls { get; }

    // ================================================================ connecting

    /// <summary>
    /// Joins the cluster <paramref name="nodes"/> as node <paramref name="self"/>: forms the TCP mesh (as
    /// <see cref="TcpTransport.Connect"/>), starts UCX, exchanges worker addresses over the mesh, creates an endpoint
    /// to every peer and exchanges one hello with each over UCX, so that a pair of nodes that UCX cannot connect fails
    /// here, named.
    /// </summary>
    /// <exception cref="TransportUnavailableException">UCX is not installed, or refuses the configuration.</exception>
    /// <exception cref="TransportConnectException">a node could not be reached, over TCP or over UCX.</exception>
    public static UcxTransport Connect(IReadOnlyList<IPEndPoint> nodes, int self, TimeSpan timeout, ulong clusterToken,
                                       UcxTransportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        options ??= UcxTransportOptions.Default;
        long deadline = Environment.TickCount64 + (long)Math.Ceiling(timeout.TotalMilliseconds);
        UcxLibrary.Load();
        byte[] identity = HostIdentity();
        var control = TcpTransport.Connect(nodes, self, timeout, clusterToken, options.Control.ForControlMesh(identity));
        UcxTransport? t = null;
        try
        {
            string? tls = options.Tls ?? (AnotherNamespaceOfThisKernel(control, identity) ? NoSharedMemory : null);
            var (context, worker, address) = CreateWorker(self, tls);
            t = new UcxTransport(self, control.Nodes.ToArray(), control, options, context, worker, tls);
            t.ExchangeAddresses(address, deadline, timeout);
            t.Wire(deadline, timeout);
            return t;
        }
        catch
        {
            if (t != null) t.Dispose();
            else control.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Checks that UCX starts with <paramref name="tls"/> and can join two workers of this host with it — what every
    /// node of a cluster on this host will need — so that node 0 can refuse a bad ucx_tls in one line before it starts
    /// any worker. Creates and destroys a context and two workers.
    /// </summary>
    /// <exception cref="TransportUnavailableException">UCX is missing, or refuses or cannot use <paramref name="tls"/>.</exception>
    public static void Probe(string? tls)
    {
        UcxLibrary.Load();
        var (context, worker, address) = CreateWorker(0, tls);
        nint other = 0, ep = 0;
        try
        {
            var wp = new ucp_worker_params_t { field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE, thread_mode = UCS_THREAD_MODE_MULTI };
            int st = ucp_worker_create(context, &wp, out other);
            if (st == UCS_OK)
            {
                fixed (byte* a = address)
                {
                    var p = new ucp_ep_params_t { field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS, address = a };
                    st = ucp_ep_create(other, &p, out ep);
                }
            }
            if (st != UCS_OK)
                throw new TransportUnavailableException(
                    $"UCX cannot join two processes of this host{(tls != null ? $" with ucx_tls \"{tls}\"" : "")}: {Describe(st)}");
        }
        finally
        {
            if (ep != 0)
            {
                var close = new ucp_request_param_t { op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS, flags = UCP_EP_CLOSE_FLAG_FORCE };
                nint r = ucp_ep_close_nbx(ep, &close);
                if (IsRequest(r))
                {
                    long end = Environment.TickCount64 + 500;
                    while (ucp_request_check_status(r) == UCS_INPROGRESS && Environment.TickCount64 < end) ucp_worker_progress(other);
                    ucp_request_free(r);
                }
            }
            if (other != 0) ucp_worker_destroy(other);
            ucp_worker_destroy(worker);
            ucp_cleanup(context);
        }
    }

    /// <summary>This kernel's boot id and this process's network namespace, e.g. "0e81…-…|net:[4026531833]".</summary>
    private static byte[] HostIdentity()
    {
        string boot = "?", netns = "?";
        try { boot = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(); } catch (IOException) { }
        try { netns = new FileInfo("/proc/self/ns/net").LinkTarget ?? "?"; } catch (IOException) { }
        return System.Text.Encoding.UTF8.GetBytes($"{boot}|{netns}");
    }

    /// <summary>Some peer runs on this kernel (same boot id) in another network namespace.</summary>
    private static bool AnotherNamespaceOfThisKernel(TcpTransport control, byte[] identity)
    {
        string mine = System.Text.Encoding.UTF8.GetString(identity);
        string boot = mine.Split('|')[0];
        for (int n = 0; n < control.NodeCount; n++)
        {
            if (n == control.Self) continue;
            string theirs = System.Text.Encoding.UTF8.GetString(control.PeerAttachment(n));
            if (theirs != mine && theirs.Split('|')[0] == boot) return true;
        }
        return false;
    }

    /// <summary>Sends this worker's address to every peer over the mesh and waits (bounded) for every peer's.</summary>
    private void ExchangeAddresses(byte[] address, long deadline, TimeSpan timeout)
    {
        _control.Nudged = OnNudged;
        _control.Start(new ControlHandler(this));
        foreach (var p in _peers)
        {
            if (p == null) continue;
            try { _control.Send(p.Node, AddressMessage, address); }
            catch (NodeLostException e)
            {
                throw new TransportConnectException($"node {_self} ({_control.Nodes[_self]}) could not join the cluster: {e.Message}", [p.Node]);
            }
        }
        while (true)
        {
            var missing = _peers.Where(p => p != null && Volatile.Read(ref p.RemoteAddress) == null).Select(p => p!).ToList();
            if (missing.Count == 0) return;
            var lost = missing.FirstOrDefault(p => p.LostReason != null);
            if (lost != null || Environment.TickCount64 > deadline)
                throw new TransportConnectException(
                    $"node {_self} ({_control.Nodes[_self]}) could not join the cluster" +
                    (lost != null ? $": {lost.LostReason}" : $" within {timeout.TotalSeconds:0.0#} s: " +
                        string.Join("; ", missing.Select(p => $"{p.Name} sent no UCX address (did UCX start there?)"))),
                    missing.Select(p => p.Node).ToList());
            Thread.Sleep(1);
        }
    }

    private static (nint Context, nint Worker, byte[] Address) CreateWorker(int self, string? tls)
    {
        int st = ucp_config_read(null, null, out nint config);
        if (st != UCS_OK) throw new TransportUnavailableException($"UCX could not read its configuration: {Describe(st)}");
        nint context, worker;
        try
        {
            if (tls != null)
            {
                fixed (byte* name = UcxLibrary.Utf8("TLS"), value = UcxLibrary.Utf8(tls))
                    st = ucp_config_modify(config, name, value);
                if (st != UCS_OK) throw new TransportUnavailableException($"ucx_tls \"{tls}\" is not a UCX transport list: {Describe(st)}");
            }
            fixed (byte* name = UcxLibrary.Utf8($"dqemu-node{self}"))
            {
                var p = new ucp_params_t
                {
                    field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_NAME,
                    features = UCP_FEATURE_AM | UCP_FEATURE_WAKEUP,
                    name = name,
                };
                st = ucp_init_version(ApiMajor, ApiMinor, &p, config, out context);
            }
        }
        finally
        {
            ucp_config_release(config);
        }
        if (st != UCS_OK)
            throw new TransportUnavailableException($"UCX could not start{(tls != null ? $" with ucx_tls \"{tls}\"" : "")}: {Describe(st)}");
        var wp = new ucp_worker_params_t { field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE, thread_mode = UCS_THREAD_MODE_MULTI };
        st = ucp_worker_create(context, &wp, out worker);
        if (st != UCS_OK)
        {
            ucp_cleanup(context);
            throw new TransportUnavailableException($"UCX could not create a worker: {Describe(st)}");
        }
        st = ucp_worker_get_address(worker, out nint address, out nuint length);
        if (st != UCS_OK)
        {
            ucp_worker_destroy(worker);
            ucp_cleanup(context);
            throw new TransportUnavailableException($"UCX could not give this worker's address: {Describe(st)}");
        }
        var bytes = new ReadOnlySpan<byte>((void*)address, (int)length).ToArray();
        ucp_worker_release_address(worker, address);
        return (context, worker, bytes);
    }

    /// <summary>
    /// Endpoints to every peer, the receive handlers, and a hello each way that the other side acknowledges: Connect
    /// returns once every peer has both said hello and heard ours. Then the progress thread starts, so that whatever
    /// UCX still owes the peers (wire-up replies, acknowledgements) goes out even if Start comes much later; messages
    /// that arrive before Start wait in order.
    /// </summary>
    private void Wire(long deadline, TimeSpan timeout)
    {
        int st = ucp_worker_get_efd(_worker, out _efd);
        if (st != UCS_OK) throw new TransportUnavailableException($"UCX gave no event fd for its worker: {Describe(st)}");
        SetHandler(AmMessage, &OnMessage);
        SetHandler(AmHello, &OnHello);
        foreach (var p in _peers)
        {
            if (p == null) continue;
            var address = (ReadOnlySpan<byte>)p.RemoteAddress;
            fixed (byte* a = address)
            fixed (byte* name = UcxLibrary.Utf8($"node{p.Node}"))
            {
                var ep = new ucp_ep_params_t
                {
                    field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE | UCP_EP_PARAM_FIELD_NAME,
                    address = a,
                    err_mode = UCP_ERR_HANDLING_MODE_NONE,
                    name = name,
                };
                st = address.IsEmpty ? -1 : ucp_ep_create(_worker, &ep, out p.Ep);
            }
            if (st != UCS_OK)
                throw new TransportConnectException(
                    $"node {_self} ({_control.Nodes[_self]}) could not join the cluster: UCX cannot reach {p.Name} " +
                    $"({(address.IsEmpty ? "it sent no UCX address" : Describe(st))}; do the nodes share a UCX transport? see ucx_tls)", [p.Node]);
        }
        foreach (var p in _peers)
            if (p != null) StartSend(p, AmHello, HelloAsk, ReadOnlySpan<byte>.Empty);
        while (true)
        {
            var missing = _peers.Where(p => p != null && !(p.Hello && p.HelloAcked)).Select(p => p!).ToList();
            if (missing.Count == 0)
            {
                _progress = new Thread(ProgressLoop) { IsBackground = true, Name = "dqemu-ucx-progress" };
                _progress.Start();
                return;
            }
            if (Environment.TickCount64 > deadline)
                throw new TransportConnectException(
                    $"node {_self} ({_control.Nodes[_self]}) could not join the cluster within {timeout.TotalSeconds:0.0#} s: " +
                    string.Join("; ", missing.Select(p => $"{p.Name} did not answer over UCX (do the nodes share a UCX transport? see ucx_tls)")),
                    missing.Select(p => p.Node).ToList());
            if (ProgressOnce() == 0) Thread.Yield();
        }
    }

    private void SetHandler(uint id, delegate* unmanaged<void*, void*, nuint, void*, nuint, ucp_am_recv_param_t*, sbyte> cb)
    {
        var h = new ucp_am_handler_param_t
        {
            field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_FLAGS | UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG,
            id = id,
            flags = UCP_AM_FLAG_WHOLE_MSG,
            cb = cb,
            arg = (void*)GCHandle.ToIntPtr(_handle),
        };
        int st = ucp_worker_set_am_recv_handler(_worker, &h);
        if (st != UCS_OK) throw new TransportUnavailableException($"UCX refused an active message handler: {Describe(st)}");
    }

    // ================================================================ running

    public void Start(IMessageHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_handler != null) throw new InvalidOperationException("the transport was already started");
        // What came before Start, in order, in batches taken under the lock; the handler is installed (and the progress
        // thread delivers directly from then on) only once no batch is left, so nothing overtakes an earlier message.
        // Delivery happens outside the lock: the progress thread takes it inside UCX's worker lock, which a handler's
        // send needs.
        t_inProgress++;
        try
        {
            while (true)
            {
                List<(int From, ushort Type, byte[] Body)> batch;
                lock (_earlyLock)
                {
                    if (_early!.Count == 0)
                    {
                        _early = null;
                        _handler = handler;
                        break;
                    }
                    batch = _early;
                    _early = [];
                }
                foreach (var (from, type, body) in batch)
                    if (_peers[from]!.LostReason == null) handler.OnMessage(from, type, body);
            }
        }
        finally
        {
            t_inProgress--;
        }
        _started = true;
        foreach (var p in _peers)
            if (p?.LostReason != null) Notify(p); // lost before Start (the mesh was already running)
    }

    public void Send(int node, ushort type, ReadOnlySpan<byte> body)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var p = PeerOf(node);
        if (body.Length > _options.MaxBodyLength)
            throw new ArgumentException($"message body of {body.Length} bytes exceeds the limit of {_options.MaxBodyLength} bytes", nameof(body));
        if (p.LostReason is { } lost) throw new NodeLostException(node, lost);
        StartSend(p, AmMessage, type, body);
        Interlocked.Increment(ref p.MessagesSent);
        Interlocked.Add(ref p.BytesSent, body.Length);
    }

    /// <summary>Copies the message into a pooled buffer and hands it to UCX; the buffer goes back when UCX is done.</summary>
    private void StartSend(Peer p, uint id, ushort type, ReadOnlySpan<byte> body)
    {
        byte* msg = _pool.Rent(HeaderSize + body.Length, p.Node);
        *(nint*)(msg - 8) = GCHandle.ToIntPtr(_handle);
        *(ushort*)msg = type;
        *(ushort*)(msg + 2) = (ushort)_self;
        *(uint*)(msg + 4) = 0;
        body.CopyTo(new Span<byte>(msg + HeaderSize, body.Length));
        var param = new ucp_request_param_t
        {
            op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_FLAGS,
            flags = UCP_AM_SEND_FLAG_EAGER,
            cb_send = &OnSent,
            user_data = msg,
        };
        nint r;
        Interlocked.Increment(ref _active);
        try
        {
            if (_disposed) throw new ObjectDisposedException(nameof(UcxTransport));
            r = ucp_am_send_nbx(p.Ep, id, msg, HeaderSize, msg + HeaderSize, (nuint)body.Length, &param);
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
        if (r == 0)
        {
            _pool.Return(msg); // sent (or copied out) at once
            return;
        }
        if (IsError(r))
        {
            _pool.Return(msg);
            string reason = $"sending to {p.Name} failed: {Describe((int)r)}";
            MarkLost(p, reason);
            throw new NodeLostException(p.Node, p.LostReason ?? reason);
        }
        // in flight: OnSent returns the buffer
    }

    public int Poll()
    {
        if (!_started || _disposed || t_inProgress != 0) return 0;
        _gate.Enter();
        Interlocked.Increment(ref _active);
        t_inProgress++;
        try
        {
            return _disposed ? 0 : (int)ucp_worker_progress(_worker);
        }
        finally
        {
            t_inProgress--;
            Interlocked.Decrement(ref _active);
        }
    }

    public void EndPoll() => _gate.Leave();

    public void Nudge()
    {
        if (_started && !_disposed) _control.NudgePeers();
    }

    /// <summary>
    /// A peer waits for an answer from this node: deliver what has arrived right here, on the TCP mesh's receive thread
    /// (it slept long, so the scheduler lets it in at once, where the progress thread may have to wait for a computing
    /// guest thread's slice), then make sure the progress thread listens.
    /// </summary>
    private void OnNudged(int from)
    {
        if (!_started || _disposed || t_inProgress != 0) return;
        Interlocked.Increment(ref _active);
        t_inProgress++;
        try
        {
            for (int i = 0; i < 64 && !_disposed && ucp_worker_progress(_worker) != 0; i++) { }
        }
        finally
        {
            t_inProgress--;
            Interlocked.Decrement(ref _active);
        }
        _gate.Kick();
    }

    /// <summary>
    /// Delivers while messages come. When none does and no thread polls, it arms the worker's event fd and sleeps on
    /// it (bounded, to see the shutdown). When threads poll it parks instead, until the last one leaves: an armed
    /// worker makes the next sender signal this process, and the poller takes the message anyway.
    /// </summary>
    private void ProgressLoop()
    {
        bool armed;
        while (!_disposed)
        {
            Interlocked.Increment(ref _active);
            t_inProgress++;
            try
            {
                if (_disposed) break;
                if (ucp_worker_progress(_worker) != 0) continue;
                if (_gate.ShouldListen)
                {
                    int st = ucp_worker_arm(_worker);
                    if (st == UCS_ERR_BUSY) continue; // something arrived between the progress and the arm
                    if (st != UCS_OK)
                    {
                        FailAll($"node {_self}: UCX could not arm its worker: {Describe(st)}");
                        return;
                    }
                    armed = true;
                }
                else
                {
                    armed = false;
                }
            }
            finally
            {
                t_inProgress--;
                Interlocked.Decrement(ref _active);
            }
            if (armed)
            {
                FdPoll.WaitReadable(_efd, 500, out _);
                continue;
            }
            _gate.Park();
        }
    }

    /// <summary>One progress call on a thread that is not inside one already.</summary>
    private uint ProgressOnce()
    {
        t_inProgress++;
        try { return ucp_worker_progress(_worker); }
        finally { t_inProgress--; }
    }

    public TransportCounters GetCounters(int node) => TransportCounters.Of(_peers, node);

    public TransportCounters Totals => TransportCounters.Sum(_peers);

    /// <summary>
    /// UCX's lanes to <paramref name="node"/>, e.g. "sysv/memory (am), cma/memory (rma_bw)": which UCX transport
    /// carries the active messages (parsed from ucp_ep_print_info).
    /// </summary>
    public string Route(int node)
    {
        var p = PeerOf(node);
        if (p.Ep == 0 || _disposed) return "ucx";
        nint stream = open_memstream(out nint buffer, out nuint size);
        if (stream == 0) return "ucx";
        string text;
        try
        {
            ucp_ep_print_info(p.Ep, stream);
        }
        finally
        {
            fclose(stream);
            text = Marshal.PtrToStringUTF8(buffer, (int)size) ?? "";
            free(buffer);
        }
        var lanes = new List<string>();
        foreach (var line in text.Split('\n'))
        {
            // "#                 lane[0]:  3:sysv/memory.0 md[2]           -> md[2]/sysv/sysdev[255] am am_bw#0"
            int at = line.IndexOf("lane[", StringComparison.Ordinal);
            if (at < 0) continue;
            var words = line[at..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length < 2) continue;
            string tl = words[1][(words[1].IndexOf(':') + 1)..];
            int dot = tl.LastIndexOf('.');
            if (dot > 0) tl = tl[..dot];
            int arrow = Array.IndexOf(words, "->");
            var roles = arrow >= 0 ? words.Skip(arrow + 2).Select(w => w.Split('#')[0]).Distinct() : [];
            lanes.Add($"{tl} ({string.Join(", ", roles)})");
        }
        return lanes.Count == 0 ? "ucx" : "ucx " + string.Join(", ", lanes);
    }

    /// <summary>Why <paramref name="node"/> is lost, or null while it is up.</summary>
    public string? LostReason(int node) => PeerOf(node).LostReason;

    private Peer PeerOf(int node)
    {
        if ((uint)node >= (uint)_peers.Length)
            throw new ArgumentOutOfRangeException(nameof(node), $"node {node} is not in a cluster of {_peers.Length} nodes");
        return _peers[node] ?? throw new ArgumentException($"node {node} is this node: deliver local messages locally", nameof(node));
    }

    // ================================================================ callbacks (inside ucp_worker_progress)

    [UnmanagedCallersOnly]
    private static sbyte OnMessage(void* arg, void* header, nuint headerLength, void* data, nuint length, ucp_am_recv_param_t* param)
    {
        var t = (UcxTransport)GCHandle.FromIntPtr((nint)arg).Target!;
        t.Receive(header, headerLength, data, length, param, hello: false);
        return UCS_OK;
    }

    [UnmanagedCallersOnly]
    private static sbyte OnHello(void* arg, void* header, nuint headerLength, void* data, nuint length, ucp_am_recv_param_t* param)
    {
        var t = (UcxTransport)GCHandle.FromIntPtr((nint)arg).Target!;
        t.Receive(header, headerLength, data, length, param, hello: true);
        return UCS_OK;
    }

    private void Receive(void* header, nuint headerLength, void* data, nuint length, ucp_am_recv_param_t* param, bool hello)
    {
        if (_disposed) return; // draining during our own shutdown
        int from = headerLength == HeaderSize ? *(ushort*)((byte*)header + 2) : -1;
        if ((uint)from >= (uint)_peers.Length || _peers[from] is not { } p)
        {
            FailAll($"node {_self}: a UCX message with a malformed header arrived (another program's worker?)");
            return;
        }
        if ((param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0 || length > (nuint)_options.MaxBodyLength)
        {
            MarkLost(p, $"{p.Name} sent a message this node cannot take ({length} bytes{((param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0 ? ", rendezvous" : "")}): different builds?");
            return;
        }
        if (hello)
        {
            if (*(ushort*)header == HelloAck)
            {
                p.HelloAcked = true;
                return;
            }
            p.Hello = true;
            try { StartSend(p, AmHello, HelloAck, ReadOnlySpan<byte>.Empty); }
            catch (Exception e) when (e is NodeLostException or ObjectDisposedException) { /* reported as a loss already */ }
            return;
        }
        if (p.LostReason != null) return;
        ushort type = *(ushort*)header;
        var body = new ReadOnlySpan<byte>(data, (int)length);
        Interlocked.Increment(ref p.MessagesReceived);
        Interlocked.Add(ref p.BytesReceived, body.Length);
        var handler = _handler;
        if (handler == null)
        {
            lock (_earlyLock)
            {
                if (_early != null)
                {
                    _early.Add((from, type, body.ToArray())); // before Start: kept, in order
                    return;
                }
            }
            handler = _handler!;
        }
        try
        {
            handler.OnMessage(from, type, body);
        }
        catch (Exception e)
        {
            // the contract forbids it; an exception must not unwind through UCX's frames
            Environment.FailFast($"dqemu-native: node {_self}: a message handler failed: {e}");
        }
    }

    [UnmanagedCallersOnly]
    private static void OnSent(void* request, sbyte status, void* userData)
    {
        byte* msg = (byte*)userData;
        var t = (UcxTransport)GCHandle.FromIntPtr(*(nint*)(msg - 8)).Target!;
        int node = SendBufferPool.NodeOf(msg);
        t._pool.Return(msg);
        ucp_request_free((nint)request);
        if (status != UCS_OK && status != UCS_ERR_CANCELED && !t._disposed && t._peers[node] is { } p)
            t.MarkLost(p, $"sending to {p.Name} failed: {Describe(status)}");
    }

    // ================================================================ losses

    /// <summary>Marks the peer lost (first reason wins) and tells the handler once, on a thread of its own: the loss
    /// handlers send (to tell the other nodes), which cannot happen from inside a UCX callback on this thread.</summary>
    private void MarkLost(Peer p, string reason)
    {
        lock (_lostLock)
        {
            if (p.LostReason != null) return;
            p.LostReason = reason;
        }
        if (_disposed) return;
        if (t_inProgress == 0) Notify(p);
        else new Thread(() => Notify(p)) { IsBackground = true, Name = "dqemu-ucx-lost" }.Start();
    }

    private void Notify(Peer p)
    {
        var handler = _handler;
        if (handler == null || _disposed || Interlocked.Exchange(ref p.Notified, 1) != 0) return;
        handler.OnNodeLost(p.Node, p.LostReason!);
    }

    private void FailAll(string reason)
    {
        foreach (var p in _peers)
            if (p != null) MarkLost(p, reason);
    }

    /// <summary>The TCP mesh's view: a lost control connection is a lost node.</summary>
    private sealed class ControlHandler(UcxTransport owner) : IMessageHandler
    {
        /// <summary>The mesh carries one message per peer: its worker address.</summary>
        public void OnMessage(int from, ushort type, ReadOnlySpan<byte> body)
        {
            if (type == AddressMessage && owner._peers[from] is { } p) Volatile.Write(ref p.RemoteAddress, body.ToArray());
        }

        public void OnNodeLost(int node, string reason)
        {
            if (owner._peers[node] is { } p) owner.MarkLost(p, reason);
        }
    }

    // ================================================================ shutdown

    /// <summary>How long <see cref="Dispose"/> keeps taking in what peers sent before their goodbye reached them.</summary>
    private const int DrainMs = 50;

    /// <summary>
    /// Stops delivering, closes the TCP mesh (goodbyes, as <see cref="TcpTransport.Dispose"/>), takes in for
    /// <see cref="DrainMs"/> what is still on its way, then releases the UCX worker and context — unless called from
    /// inside a UCX callback or while other threads stay inside UCX calls, in which case they are left to the process's
    /// exit. Safe to call from a handler.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) != 0) return;
        _disposed = true;
        bool inside = t_inProgress != 0;
        if (_efd >= 0) ucp_worker_signal(_worker);
        _gate.Dispose();
        if (_progress is { } pt && pt != Thread.CurrentThread) pt.Join(TimeSpan.FromSeconds(2));
        _control.Dispose();
        if (inside) return;
        long end = Environment.TickCount64 + 1000;
        while (Volatile.Read(ref _active) != 0 && Environment.TickCount64 < end) Thread.Sleep(1);
        if (Volatile.Read(ref _active) != 0) return;
        // The peers heard the goodbyes (TCP mesh) and stop sending here, but what they sent just before still travels
        // over UCX. Taking it in before the endpoints close spares their UCX sends failing in flight: UCX 1.13's TCP
        // transport, without peer error handling, can abort the sending process on one (`comp->count > 0' in
        // uct_iface.h; seen about once in 70 shutdowns under a sender that never pauses).
        long drain = Environment.TickCount64 + DrainMs;
        while (Environment.TickCount64 < drain)
            if (ProgressOnce() == 0) Thread.Sleep(1);
        foreach (var p in _peers)
        {
            if (p == null || p.Ep == 0) continue;
            var param = new ucp_request_param_t { op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS, flags = UCP_EP_CLOSE_FLAG_FORCE };
            nint r = ucp_ep_close_nbx(p.Ep, &param);
            if (IsRequest(r))
            {
                long close = Environment.TickCount64 + 500;
                while (ucp_request_check_status(r) == UCS_INPROGRESS && Environment.TickCount64 < close) ProgressOnce();
                ucp_request_free(r);
            }
            p.Ep = 0;
        }
        ucp_worker_destroy(_worker);
        ucp_cleanup(_context);
        _pool.Dispose();
        _handle.Free();
    }

    // ================================================================ peers

    private sealed class Peer(UcxTransport owner, int node, IPEndPoint address) : ICountedPeer
    {
        public readonly UcxTransport Owner = owner;
        public readonly int Node = node;
        public readonly string Name = $"node {node} ({address})";
        public nint Ep;
        public byte[]? RemoteAddress;
        public volatile bool Hello, HelloAcked;
        public volatile string? LostReason;
        public int Notified;
        public long MessagesSent, BytesSent, MessagesReceived, BytesReceived;

        public TransportCounters Counters => new(
            Interlocked.Read(ref MessagesSent), Interlocked.Read(ref BytesSent),
            Interlocked.Read(ref MessagesReceived), Interlocked.Read(ref BytesReceived));
    }
}
