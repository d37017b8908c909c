using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dqemu.Rdma;

/// <summary>
/// <see cref="ITransport"/> over TCP: a full mesh with exactly one connection per pair of nodes. Node i dials
/// every node j &lt; i and accepts every node j &gt; i; the first bytes on a connection are a handshake that
/// carries both node ids, the cluster size and the cluster token, and a wrong one is refused. Sockets use
/// TCP_NODELAY and stay in blocking mode (no async machinery on the hot path): each peer has a send lock with
/// a reusable 64 KiB frame buffer and one receive thread. A monitor thread sends a heartbeat on every
/// connection idle for <see cref="TcpTransportOptions.HeartbeatInterval"/> and declares a peer lost after
/// <see cref="TcpTransportOptions.PeerTimeout"/> of silence. Frames: see <see cref="Framing"/>.
/// </summary>
public sealed class TcpTransport : ITransport
{
    private readonly int _self;
    private readonly IPEndPoint[] _nodes;
    private readonly TcpPeer?[] _peers;
    private readonly TcpTransportOptions _options;
    private readonly ManualResetEventSlim _stop = new(false);
    private readonly PollGate _gate = new();
    private readonly Thread _monitor;
    private volatile IMessageHandler? _handler;
    private int _started;
    private volatile bool _receiving;
    private volatile bool _disposed;
    private int _disposeStarted;

    private readonly byte[]?[] _attachments;

    private TcpTransport(IPEndPoint[] nodes, int self, Socket?[] sockets, byte[]?[] attachments, TcpTransportOptions options, ulong token)
    {
        _token = token;
        _nodes = nodes;
        _attachments = attachments;
        _self = self;
        _options = options;
        _peers = new TcpPeer?[nodes.Length];
        for (int i = 0; i < nodes.Length; i++)
            if (sockets[i] is { } s) _peers[i] = new TcpPeer(this, i, nodes[i], s, options.MaxBodyLength);
        _monitor = new Thread(MonitorLoop) { IsBackground = true, Name = "dqemu-tcp-monitor" };
        _nudgeSocket = BindNudgeSocket();
    }

    public int Self => _self;
    public int NodeCount => _nodes.Length;
    public IReadOnlyList<IPEndPoint> Nodes => _nodes;
    public TcpTransportOptions Options => _options;

    internal bool IsDisposed => _disposed;
    internal IMessageHandler? Handler => _handler;

    // ================================================================ connecting

    /// <summary>
    /// Joins the cluster <paramref name="nodes"/> as node <paramref name="self"/>: listens on
    /// <c>nodes[self]</c>, dials every lower node (retrying until <paramref name="timeout"/>), accepts every
    /// higher one. Returns when all connections are up; no message is delivered before <see cref="Start"/>.
    /// </summary>
    /// <exception cref="TransportConnectException">some node could not be reached, did not connect in time, or
    /// refused the handshake; the message names each such node and its address.</exception>
    public static TcpTransport Connect(IReadOnlyList<IPEndPoint> nodes, int self, TimeSpan timeout, ulong clusterToken,
                                       TcpTransportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        if (nodes.Count == 0) throw new ArgumentException("the node list is empty", nameof(nodes));
        if ((uint)self >= (uint)nodes.Count)
            throw new ArgumentOutOfRangeException(nameof(self), $"node {self} is not in a cluster of {nodes.Count} nodes");
        if (timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), "the connect timeout must be positive");
        var list = new IPEndPoint[nodes.Count];
        for (int i = 0; i < list.Length; i++)
        {
            list[i] = nodes[i] ?? throw new ArgumentException($"node {i} has no address", nameof(nodes));
            for (int j = 0; j < i; j++)
                if (list[j].Equals(list[i]))
                    throw new ArgumentException($"nodes {j} and {i} have the same address {list[i]}", nameof(nodes));
        }
        options ??= TcpTransportOptions.Default;

        if (options.Attachment.Length > Handshake.MaxAttachment)
            throw new ArgumentException($"the attachment of {options.Attachment.Length} bytes exceeds {Handshake.MaxAttachment}", nameof(options));

        var c = new Connector(list, self, timeout, clusterToken, options);
        var sockets = c.Run();
        var t = new TcpTransport(list, self, sockets, c.Attachments, options, clusterToken);
        t._monitor.Start();
        return t;
    }

    /// <summary>Forms the mesh; holds raw sockets until the transport object exists.</summary>
    private sealed class Connector
    {
        private readonly IPEndPoint[] _nodes;
        private readonly int _self;
        private readonly TimeSpan _timeout;
        private readonly ulong _token;
        private readonly TcpTransportOptions _options;
        private readonly long _deadline;
        private readonly Socket?[] _sockets;
        private readonly byte[]?[] _attachments;
        private readonly string?[] _problems;     // per node: why it is not connected (last error)
        private readonly List<string> _notes = []; // refused strangers, etc.
        private readonly List<Socket> _pending = [];
        private readonly Lock _lock = new();
        private volatile bool _abort;

        public Connector(IPEndPoint[] nodes, int self, TimeSpan timeout, ulong token, TcpTransportOptions options)
        {
            _nodes = nodes;
            _self = self;
            _timeout = timeout;
            _token = token;
            _options = options;
            _deadline = Environment.TickCount64 + (long)Math.Ceiling(timeout.TotalMilliseconds);
            _sockets = new Socket?[nodes.Length];
            _attachments = new byte[]?[nodes.Length];
            _problems = new string?[nodes.Length];
        }

        /// <summary>Each connected peer's handshake attachment (null at self).</summary>
        public byte[]?[] Attachments => _attachments;

        /// <summary>Sends a handshake with this node's attachment after it.</summary>
        private void SendHandshake(Socket s, Span<byte> buf, in Handshake.Message m)
        {
            var attachment = _options.Attachment.Span;
            Handshake.Write(buf, m with { AttachmentLength = m.Kind == Handshake.KindReject ? 0 : attachment.Length });
            s.Send(buf);
            if (m.Kind != Handshake.KindReject && !attachment.IsEmpty) s.Send(attachment);
        }

        /// <summary>Reads the attachment announced by a handshake; null when it is malformed or does not arrive in time.</summary>
        private static byte[]? ReadAttachment(Socket s, in Handshake.Message m, long deadlineMs, out string? error)
        {
            error = null;
            if (m.AttachmentLength is < 0 or > Handshake.MaxAttachment)
            {
                error = $"attachment of {m.AttachmentLength} bytes";
                return null;
            }
            var a = new byte[m.AttachmentLength];
            return ReadExact(s, a, deadlineMs, out error) ? a : null;
        }

        private long Remaining => _deadline - Environment.TickCount64;
        private string Name(int node) => $"node {node} at {_nodes[node]}";

        /// <summary>The connected sockets, indexed by node (null at self); throws when the mesh is incomplete.</summary>
        public Socket?[] Run()
        {
            int n = _nodes.Length;
            Socket? listener = _self < n - 1 ? Listen() : null;
            var dialers = new List<Thread>();
            for (int j = 0; j < _self; j++)
            {
                int target = j;
                var th = new Thread(() => Dial(target)) { IsBackground = true, Name = $"dqemu-dial-{target}" };
                dialers.Add(th);
                th.Start();
            }
            try
            {
                if (listener != null) AcceptAll(listener);
            }
            finally
            {
                listener?.Dispose();
            }
            // wait for the dialers until they are done, the deadline passes, or a refusal ends it all
            while (dialers.Any(th => th.IsAlive) && !_abort && Remaining > -100)
                dialers.FirstOrDefault(th => th.IsAlive)?.Join(50); // the last one may end between the two looks
            lock (_lock)
            {
                // dials still blocked in connect() at the deadline: closing their sockets unblocks them
                foreach (var s in _pending) s.Dispose();
                _pending.Clear();
            }
            foreach (var th in dialers) th.Join(TimeSpan.FromMilliseconds(500));

            var missing = new List<int>();
            lock (_lock)
            {
                for (int j = 0; j < n; j++)
                    if (j != _self && _sockets[j] == null) missing.Add(j);
                if (missing.Count == 0) return _sockets;
                foreach (var s in _sockets) s?.Dispose();
                Array.Clear(_sockets);
            }
            throw new TransportConnectException(Explain(missing), missing);
        }

        private string Explain(List<int> missing)
        {
            var sb = new StringBuilder();
            sb.Append($"node {_self} ({_nodes[_self]}) could not join the cluster");
            if (!_abort) sb.Append($" within {_timeout.TotalSeconds:0.0#} s");
            sb.Append(": ");
            bool first = true;
            foreach (int j in missing)
            {
                if (!first) sb.Append("; ");
                first = false;
                sb.Append(Name(j)).Append(' ');
                string? p = _problems[j];
                if (p != null) sb.Append(p);
                else if (j < _self) sb.Append(_abort ? "was not tried to the end (another node refused us)" : "could not be reached");
                else sb.Append(_abort ? "had not connected yet" : "never connected to this node (not started, or cannot reach us?)");
            }
            lock (_lock)
                foreach (string note in _notes) sb.Append("; ").Append(note);
            return sb.ToString();
        }

        private Socket NewSocket(AddressFamily family)
        {
            var s = new Socket(family, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            if (_options.SocketBufferSize > 0)
            {
                s.SendBufferSize = _options.SocketBufferSize;
                s.ReceiveBufferSize = _options.SocketBufferSize;
            }
            return s;
        }

        private Socket Listen()
        {
            var ep = new IPEndPoint(_options.ListenAddress ?? _nodes[_self].Address, _nodes[_self].Port);
            var s = NewSocket(ep.AddressFamily);
            try
            {
                s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                s.Bind(ep);
                s.Listen(_nodes.Length + 8);
                return s;
            }
            catch (SocketException e)
            {
                s.Dispose();
                var higher = Enumerable.Range(_self + 1, _nodes.Length - _self - 1).ToList();
                throw new TransportConnectException(
                    $"node {_self} cannot listen on {ep}: {TcpPeer.Describe(e)} (another process on that port? wrong address for this node?)",
                    higher, e);
            }
        }

        // ------------------------------------------------------------ accept side (nodes above us)

        private void AcceptAll(Socket listener)
        {
            int expected = _nodes.Length - 1 - _self, accepted = 0;
            while (accepted < expected && !_abort)
            {
                long remaining = Remaining;
                if (remaining <= 0) return;
                if (!listener.Poll((int)Math.Min(remaining, 100) * 1000, SelectMode.SelectRead)) continue;
                Socket s;
                try { s = listener.Accept(); }
                catch (SocketException) { continue; }
                if (AcceptOne(s)) accepted++;
            }
        }

        private bool AcceptOne(Socket s)
        {
            string remote = s.RemoteEndPoint?.ToString() ?? "?";
            try
            {
                s.NoDelay = true;
                if (_options.SocketBufferSize > 0)
                {
                    s.SendBufferSize = _options.SocketBufferSize;
                    s.ReceiveBufferSize = _options.SocketBufferSize;
                }
                Span<byte> buf = stackalloc byte[Handshake.Size];
                long limit = Environment.TickCount64 + Math.Min(Math.Max(Remaining, 1), 2000);
                if (!ReadExact(s, buf, limit, out string? err) || !Handshake.TryRead(buf, out var hello, out ushort version)
                    || hello.Kind != Handshake.KindHello)
                {
                    Note($"a connection from {remote} was dropped: no valid handshake ({err ?? "not a dqemu-native node"})");
                    s.Dispose();
                    return false;
                }
                var reason = Handshake.RejectReason.None;
                if (version != Handshake.Version) reason = Handshake.RejectReason.BadVersion;
                else if (hello.Token != _token) reason = Handshake.RejectReason.TokenMismatch;
                else if (hello.NodeCount != _nodes.Length) reason = Handshake.RejectReason.NodeCountMismatch;
                else if (hello.To != _self || hello.From <= _self || hello.From >= _nodes.Length) reason = Handshake.RejectReason.BadNodeId;
                else if (_sockets[hello.From] != null) reason = Handshake.RejectReason.Duplicate;
                byte[]? attachment = null;
                if (reason == Handshake.RejectReason.None)
                {
                    attachment = ReadAttachment(s, hello, limit, out _);
                    if (attachment == null) reason = Handshake.RejectReason.BadAttachment;
                }

                var reply = new Handshake.Message(
                    reason == Handshake.RejectReason.None ? Handshake.KindAccept : Handshake.KindReject,
                    _token, _self, hello.From, _nodes.Length, reason);
                SendHandshake(s, buf, reply);
                if (reason != Handshake.RejectReason.None)
                {
                    Note($"a connection from {remote} claiming to be node {hello.From} was refused: {Handshake.Describe(reason)}");
                    s.Dispose();
                    return false;
                }
                lock (_lock)
                {
                    _sockets[hello.From] = s;
                    _attachments[hello.From] = attachment;
                }
                return true;
            }
            catch (SocketException e)
            {
                Note($"a connection from {remote} failed during the handshake: {TcpPeer.Describe(e)}");
                s.Dispose();
                return false;
            }
        }

        private void Note(string text)
        {
            lock (_lock) _notes.Add(text);
        }

        // ------------------------------------------------------------ dial side (nodes below us)

        private void Dial(int target)
        {
            IPEndPoint ep = _nodes[target];
            int backoff = 10;
            while (!_abort)
            {
                long remaining = Remaining;
                if (remaining <= 0) return;
                Socket s = NewSocket(ep.AddressFamily);
                lock (_lock)
                {
                    if (_abort) { s.Dispose(); return; }
                    _pending.Add(s);
                }
                string? retry = TryDialOnce(s, target, ep);
                if (retry == null) return; // connected, refused for good, or out of time
                _problems[target] = retry;
                lock (_lock) _pending.Remove(s);
                s.Dispose();
                remaining = Remaining;
                if (remaining <= 0) return;
                Thread.Sleep((int)Math.Min(backoff, remaining));
                backoff = Math.Min(backoff * 2, 200);
            }
        }

        /// <summary>One attempt; returns a problem worth retrying after, or null when done (either way).</summary>
        private string? TryDialOnce(Socket s, int target, IPEndPoint ep)
        {
            try
            {
                s.Connect(ep); // blocking; a connect still hanging at the deadline is cut by disposing s
            }
            catch (SocketException e)
            {
                return $"could not be reached ({TcpPeer.Describe(e)})";
            }
            catch (ObjectDisposedException)
            {
                _problems[target] ??= "could not be reached (connect timed out)";
                return null;
            }
            try
            {
                Span<byte> buf = stackalloc byte[Handshake.Size];
                SendHandshake(s, buf, new Handshake.Message(Handshake.KindHello, _token, _self, target, _nodes.Length, 0));
                if (!ReadExact(s, buf, _deadline, out string? err))
                {
                    if (Remaining > 0) return $"accepted the connection but closed it during the handshake ({err})";
                    _problems[target] = $"accepted the connection but did not answer the handshake in time";
                    Drop(s);
                    return null;
                }
                if (!Handshake.TryRead(buf, out var reply, out ushort version))
                {
                    _problems[target] = "answered with something that is not a dqemu-native handshake (another program on that port?)";
                    Fail(s);
                    return null;
                }
                if (reply.Kind == Handshake.KindReject || version != Handshake.Version)
                {
                    var reason = version != Handshake.Version ? Handshake.RejectReason.BadVersion : reply.Reason;
                    _problems[target] = $"refused the handshake: {Handshake.Describe(reason)}";
                    Fail(s);
                    return null;
                }
                if (reply.Kind != Handshake.KindAccept || reply.From != target || reply.To != _self || reply.Token != _token)
                {
                    _problems[target] = $"answered the handshake as node {reply.From} of another cluster (check the cluster file)";
                    Fail(s);
                    return null;
                }
                var attachment = ReadAttachment(s, reply, _deadline, out string? bad);
                if (attachment == null)
                {
                    _problems[target] = $"sent a malformed handshake attachment ({bad})";
                    Fail(s);
                    return null;
                }
                lock (_lock)
                {
                    _pending.Remove(s);
                    if (!_abort && Remaining > -100)
                    {
                        _sockets[target] = s;
                        _attachments[target] = attachment;
                        return null;
                    }
                }
                s.Dispose();
                return null;
            }
            catch (SocketException e)
            {
                return $"failed during the handshake ({TcpPeer.Describe(e)})";
            }
            catch (ObjectDisposedException)
            {
                _problems[target] ??= "did not answer the handshake in time";
                return null;
            }
        }

        /// <summary>A definite refusal: no point retrying or waiting for the others.</summary>
        private void Fail(Socket s)
        {
            _abort = true;
            Drop(s);
        }

        private void Drop(Socket s)
        {
            lock (_lock) _pending.Remove(s);
            s.Dispose();
        }

        private static bool ReadExact(Socket s, Span<byte> buf, long deadlineMs, out string? error)
        {
            int have = 0;
            while (have < buf.Length)
            {
                long remaining = deadlineMs - Environment.TickCount64;
                if (remaining <= 0) { error = "timed out"; return false; }
                if (!s.Poll((int)Math.Min(remaining, 100) * 1000, SelectMode.SelectRead)) continue;
                int n = s.Receive(buf[have..]);
                if (n == 0) { error = "connection closed"; return false; }
                have += n;
            }
            error = null;
            return true;
        }
    }

    // ================================================================ running

    public void Start(IMessageHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _started, 1) != 0) throw new InvalidOperationException("the transport was already started");
        _handler = handler;
        foreach (var p in _peers) p?.ResetReceiveClock();
        _receiving = true; // from now on the monitor checks silence
        foreach (var p in _peers) p?.StartReceiving();
        StartNudges();
    }

    public void Send(int node, ushort type, ReadOnlySpan<byte> body)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Peer(node).Send(type, body);
    }

    /// <summary>
    /// Reads every connection no other thread is reading right now and delivers what came (see
    /// <see cref="ITransport.Poll"/>); while threads poll, the receive threads park (<see cref="PollGate"/>).
    /// </summary>
    public int Poll()
    {
        if (!_receiving || _disposed) return 0;
        _gate.Enter();
        int n = 0;
        foreach (var p in _peers)
            if (p != null) n += p.Poll();
        return n;
    }

    public void EndPoll() => _gate.Leave();

    // ================================================================ nudges

    // The answer's own bytes wake the peer's receive thread, but where the peer's only CPU runs a computing guest
    // thread the scheduler lets that thread finish its slice first (~1.6 ms, see UrgentThread). A nudge is a UDP
    // datagram (the cluster token and the sender's id) to the peer's listed address: its nudge thread is urgent, so
    // it gets the CPU at once, and it reads and delivers what the connections hold, as a polling thread would. Sent
    // once per long wait (TransportSpin), so a ping-pong whose answers come quickly sends none. A datagram lost or
    // refused costs nothing but the wait it would have shortened.
    private readonly ulong _token;
    private readonly Socket? _nudgeSocket;
    private Thread? _nudgeThread;
    private long _nudgesSent, _nudgesHeard;
    private const int NudgeSize = 10;
    private SocketAddress[]? _nudgeAddresses;
    private static readonly long NudgeQuietTicks = Stopwatch.Frequency / 500; // 2 ms

    /// <summary>Nudges this node sent (datagrams) and heard from its peers.</summary>
    public (long Sent, long Heard) NudgeCounts => (Interlocked.Read(ref _nudgesSent), Interlocked.Read(ref _nudgesHeard));

    /// <summary>True when this node listens for nudges (its UDP port was free).</summary>
    public bool HearsNudges => _nudgeSocket != null;

    /// <summary>At connect time, with the other sockets (a caller may be keeping low fd numbers taken meanwhile).</summary>
    private Socket? BindNudgeSocket()
    {
        if (!_options.Nudges || _nodes.Length < 2) return null;
        _nudgeAddresses = Array.ConvertAll(_nodes, n => n.Serialize());
        var ep = new IPEndPoint(_options.ListenAddress ?? _nodes[_self].Address, _nodes[_self].Port);
        var s = new Socket(ep.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            s.Bind(ep);
        }
        catch (SocketException)
        {
            s.Dispose(); // the port is taken for UDP: this node is not nudged, nothing else changes
            return null;
        }
        return s;
    }

    private void StartNudges()
    {
        if (_nudgeSocket is not { } s) return;
        _nudgeThread = new Thread(() => NudgeLoop(s)) { IsBackground = true, Name = "dqemu-tcp-nudge" };
        _nudgeThread.Start();
    }

    private void NudgeLoop(Socket s)
    {
        UrgentThread.Make();
        var buf = new byte[64];
        // Neither an EndPoint per datagram (ReceiveFrom(ref EndPoint) makes one) nor a receive timeout (an exception
        // every 250 ms while idle): one SocketAddress filled in place, and a poll that times out quietly.
        var from = new SocketAddress(s.AddressFamily);
        while (!_disposed)
        {
            int n;
            try
            {
                if (!s.Poll(250_000, SelectMode.SelectRead)) continue; // a look at _disposed now and then
                n = s.ReceiveFrom(buf, SocketFlags.None, from);
            }
            catch (SocketException) { continue; }
            catch (ObjectDisposedException) { return; }
            if (n != NudgeSize || BitConverter.ToUInt64(buf, 0) != _token || BitConverter.ToUInt16(buf, 8) >= _nodes.Length) continue;
            Interlocked.Increment(ref _nudgesHeard);
            // A node whose threads wait for answers themselves now and then (polled within the last 2 ms) takes what
            // came at their next wait: stepping in would take pages away from a thread that has just got them, and
            // where every thread shares every page (streamcluster spread over 2 nodes: 12.1 s against 9.6-10.2 s)
            // that only makes them change hands more often. A node that has computed without a wait for that long
            // is the one holding answers back: read each connection no other thread is reading now.
            if (!_receiving || _disposed || _gate.PolledWithin(NudgeQuietTicks)) continue;
            foreach (var p in _peers) p?.Poll();
        }
    }

    /// <summary>A tcp round trip takes ~30 us here, and a peer woken for nothing loses the CPU to its nudge thread for a
    /// moment: a ping-pong's waits, 30-90 us, would pay that every round. A peer kept off its CPU holds the answer up
    /// for ~1.6 ms, so waiting longer before nudging gives little of that away.</summary>
    public TimeSpan NudgeAfter => TimeSpan.FromMicroseconds(200);

    /// <summary>Sends every peer still connected a nudge datagram (see above); nothing when this node has no nudge
    /// socket.</summary>
    public void Nudge()
    {
        if (_nudgeSocket is not { } s || _disposed) return;
        Span<byte> b = stackalloc byte[NudgeSize];
        BitConverter.TryWriteBytes(b, _token);
        BitConverter.TryWriteBytes(b[8..], (ushort)_self);
        for (int j = 0; j < _peers.Length; j++)
        {
            if (_peers[j] is not { LostReason: null }) continue;
            try
            {
                s.SendTo(b, SocketFlags.None, _nudgeAddresses![j]); // a SocketAddress made once: SendTo(EndPoint) makes one a call
                Interlocked.Increment(ref _nudgesSent);
            }
            catch (SocketException) { }
            catch (ObjectDisposedException) { return; }
        }
    }

    /// <summary>Sends a nudge frame to every peer (<see cref="Framing.ControlNudge"/>): for a transport built on this mesh.</summary>
    internal void NudgePeers()
    {
        foreach (var p in _peers) p?.Nudge();
    }

    /// <summary>Called on a receive thread when a peer's nudge frame arrives (the node that sent it).</summary>
    internal Action<int>? Nudged { get; set; }

    public string Route(int node) => $"tcp to {Peer(node).Address}";

    /// <summary>False in a cluster of one node: nothing can arrive.</summary>
    public bool CanPoll => _nodes.Length > 1;

    internal PollGate Gate => _gate;

    /// <summary>Zero in a cluster of one node: no answer comes from the network, so a waiter only waits for this node's
    /// own threads, which need the CPU it would spin on.</summary>
    public TimeSpan WaitSpin => _nodes.Length > 1 ? _options.WaitSpin : TimeSpan.Zero;

    /// <summary>What <paramref name="node"/> attached to its handshake (<see cref="TcpTransportOptions.Attachment"/>).</summary>
    public ReadOnlySpan<byte> PeerAttachment(int node)
    {
        Peer(node);
        return _attachments[node];
    }

    public TransportCounters GetCounters(int node) => TransportCounters.Of(_peers, node);

    public TransportCounters Totals => TransportCounters.Sum(_peers);

    /// <summary>Why <paramref name="node"/> is lost, or null while its connection is up.</summary>
    public string? LostReason(int node) => Peer(node).LostReason;

    private TcpPeer Peer(int node)
    {
        if ((uint)node >= (uint)_peers.Length)
            throw new ArgumentOutOfRangeException(nameof(node), $"node {node} is not in a cluster of {_peers.Length} nodes");
        return _peers[node] ?? throw new ArgumentException($"node {node} is this node: deliver local messages locally", nameof(node));
    }

    /// <summary>Abortively closes the connection to <paramref name="node"/> (a reset), as a crash would; for tests.</summary>
    internal void KillConnection(int node) => Peer(node).Kill();

    private void MonitorLoop()
    {
        long hb = _options.HeartbeatMs, timeout = _options.PeerTimeoutMs;
        int period = (int)Math.Clamp(Math.Min(hb / 2, timeout / 4), 5, 100);
        long previous = Environment.TickCount64;
        while (!_stop.Wait(period))
        {
            long now = Environment.TickCount64;
            // when this thread itself was held up (process stopped, machine suspended), the receive threads
            // were too: give them a round to catch up before judging anyone silent
            bool stalled = now - previous > Math.Max(4L * period, Math.Min(timeout / 2, 1000));
            previous = now;
            bool started = _receiving && !stalled;
            foreach (var p in _peers)
            {
                if (p == null) continue;
                if (hb != long.MaxValue) p.HeartbeatIfIdle(now, hb);
                if (started && timeout != long.MaxValue) p.CheckSilence(now, timeout);
            }
        }
    }

    /// <summary>
    /// Closes every connection: a goodbye frame to each peer, a half-close, a bounded wait
    /// (<see cref="TcpTransportOptions.ShutdownLinger"/>) for the peers to close their side, then the sockets.
    /// Receive threads end; no handler is called from here on (messages still arriving are dropped).
    /// Safe to call from a handler.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) != 0) return;
        _disposed = true;
        _stop.Set();
        _gate.Dispose(); // parked receive threads wake and listen until the peers close
        _nudgeSocket?.Dispose(); // the nudge thread's receive ends
        var current = Thread.CurrentThread;
        if (_nudgeThread is { } nt && nt != current) nt.Join(TimeSpan.FromSeconds(1));
        if (_monitor.IsAlive && _monitor != current) _monitor.Join(TimeSpan.FromSeconds(1));
        foreach (var p in _peers) p?.BeginClose();
        long lingerEnd = Environment.TickCount64 + (long)_options.ShutdownLinger.TotalMilliseconds;
        foreach (var p in _peers)
        {
            Thread? rx = p?.ReceiveThread;
            if (rx == null || rx == current) continue;
            rx.Join(TimeSpan.FromMilliseconds(Math.Max(0, lingerEnd - Environment.TickCount64)));
        }
        foreach (var p in _peers)
        {
            if (p == null) continue;
            try { p.Socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
            Thread? rx = p.ReceiveThread;
            if (rx != null && rx != current) rx.Join(TimeSpan.FromSeconds(1));
            p.Socket.Dispose();
        }
    }
}
