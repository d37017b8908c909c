using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Dqemu.Rdma;

/// <summary>
/// One established connection of a <see cref="TcpTransport"/>: its send side (a lock and a reusable frame
/// buffer), its receive thread, its liveness clocks and its counters.
/// </summary>
internal sealed partial class TcpPeer : ICountedPeer
{
    /// <summary>Frames up to this size (header included) are copied and written with one send().</summary>
    private const int SendBufferSize = 64 * 1024;

    /// <summary>Receive buffer; frames that do not fit go through <see cref="_bigBuffer"/>.</summary>
    private const int ReceiveBufferSize = 256 * 1024;

    /// <summary><see cref="_lastReceiveMs"/> while a handler runs: the peer is not silent, we are busy.</summary>
    private const long Busy = long.MaxValue;

    private readonly TcpTransport _owner;
    private readonly Socket _socket;
    private readonly Lock _sendLock = new();
    private readonly byte[] _sendBuffer = new byte[SendBufferSize];
    private readonly byte[] _controlFrame = new byte[Framing.HeaderSize];
    private readonly int _maxBody;
    private byte[]? _bigBuffer;
    private Thread? _receiveThread;

    // receive state, guarded by _rxLock: whoever holds it (the receive thread or a polling thread) reads and delivers
    private readonly Lock _rxLock = new();
    private readonly byte[] _rxBuf = new byte[ReceiveBufferSize];
    private int _rxStart, _rxEnd;
    private byte[]? _big;             // a frame larger than _rxBuf being assembled
    private int _bigLength, _bigHave;
    private (ushort Type, ushort Flags) _bigHeader;

    private long _lastSendMs;
    private long _lastReceiveMs;
    private string? _lostReason;
    private int _notified;
    private bool _goodbyeReceived;

    private long _messagesSent, _bytesSent, _messagesReceived, _bytesReceived;

    public TcpPeer(TcpTransport owner, int node, IPEndPoint address, Socket socket, int maxBody)
    {
        _owner = owner;
        Node = node;
        Address = address;
        _socket = socket;
        _maxBody = maxBody;
        _lastSendMs = _lastReceiveMs = Environment.TickCount64;
    }

    public int Node { get; }
    public IPEndPoint Address { get; }
    public string Name => $"node {Node} ({Address})";
    public string? LostReason => Volatile.Read(ref _lostReason);
    public Socket Socket => _socket;
    public Thread? ReceiveThread => _receiveThread;

    public TransportCounters Counters => new(
        Volatile.Read(ref _messagesSent), Volatile.Read(ref _bytesSent),
        Volatile.Read(ref _messagesReceived), Volatile.Read(ref _bytesReceived));

    // ---------------------------------------------------------------- sending

    public void Send(ushort type, ReadOnlySpan<byte> body)
    {
        if (body.Length > _maxBody)
            throw new ArgumentException($"message body of {body.Length} bytes exceeds the limit of {_maxBody} bytes", nameof(body));
        string? failure;
        lock (_sendLock)
        {
            string? lost = _lostReason;
            if (lost != null) throw new NodeLostException(Node, lost);
            failure = WriteFrame(type, 0, body);
            if (failure == null)
            {
                _lastSendMs = Environment.TickCount64;
                Volatile.Write(ref _messagesSent, _messagesSent + 1);
                Volatile.Write(ref _bytesSent, _bytesSent + body.Length);
                return;
            }
        }
        if (_owner.IsDisposed) throw new ObjectDisposedException(nameof(TcpTransport));
        MarkLost(failure);
        throw new NodeLostException(Node, LostReason ?? failure);
    }

    /// <summary>Writes one frame; the send lock is held. Returns null, or why the connection failed.</summary>
    private string? WriteFrame(ushort type, ushort flags, ReadOnlySpan<byte> body)
    {
        try
        {
            Span<byte> buf = _sendBuffer;
            Framing.WriteHeader(buf, body.Length, type, flags);
            int first = Math.Min(body.Length, buf.Length - Framing.HeaderSize);
            body[..first].CopyTo(buf[Framing.HeaderSize..]);
            SendAll(buf[..(Framing.HeaderSize + first)]);
            if (first < body.Length) SendAll(body[first..]);
            return null;
        }
        catch (SocketException e)
        {
            return $"sending to {Name} failed: {Describe(e)}";
        }
        catch (ObjectDisposedException)
        {
            return $"the connection to {Name} was closed locally";
        }
    }

    private void SendAll(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            int n = _socket.Send(data, SocketFlags.None);
            if (n <= 0) throw new SocketException((int)SocketError.ConnectionAborted);
            data = data[n..];
        }
    }

    /// <summary>
    /// Sends a heartbeat when nothing went out for <paramref name="intervalMs"/>. Never waits for the send
    /// lock: if another thread holds it, that thread's frame is as good as a heartbeat.
    /// </summary>
    public void HeartbeatIfIdle(long now, long intervalMs)
    {
        if (now - Volatile.Read(ref _lastSendMs) < intervalMs || LostReason != null) return;
        if (!_sendLock.TryEnter()) return;
        string? failure;
        try
        {
            if (_lostReason != null) return;
            failure = WriteControl(Framing.ControlHeartbeat);
            if (failure == null) _lastSendMs = Environment.TickCount64;
        }
        finally
        {
            _sendLock.Exit();
        }
        if (failure != null && !_owner.IsDisposed) MarkLost(failure);
    }

    /// <summary>Sends a nudge (a control frame) unless the connection is busy sending already: a frame in flight wakes
    /// the peer's receive thread as well.</summary>
    public void Nudge()
    {
        if (LostReason != null || !_sendLock.TryEnter()) return;
        try
        {
            if (_lostReason == null && WriteControl(Framing.ControlNudge) == null) _lastSendMs = Environment.TickCount64;
        }
        finally
        {
            _sendLock.Exit();
        }
    }

    private string? WriteControl(ushort type)
    {
        try
        {
            Framing.WriteHeader(_controlFrame, 0, type, Framing.FlagControl);
            SendAll(_controlFrame);
            return null;
        }
        catch (SocketException e)
        {
            return $"sending to {Name} failed: {Describe(e)}";
        }
        catch (ObjectDisposedException)
        {
            return $"the connection to {Name} was closed locally";
        }
    }

    /// <summary>Dispose: say goodbye (best effort, bounded wait for the send lock) and half-close.</summary>
    public void BeginClose()
    {
        if (LostReason == null && _sendLock.TryEnter(TimeSpan.FromMilliseconds(200)))
        {
            try { WriteControl(Framing.ControlGoodbye); }
            finally { _sendLock.Exit(); }
        }
        try { _socket.Shutdown(SocketShutdown.Send); } catch (SocketException) { } catch (ObjectDisposedException) { }
    }

    // ---------------------------------------------------------------- liveness

    /// <summary>Records the first reason and shuts the socket so both the receive thread and senders stop.</summary>
    public void MarkLost(string reason)
    {
        if (Interlocked.CompareExchange(ref _lostReason, reason, null) != null) return;
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
    }

    public void CheckSilence(long now, long timeoutMs)
    {
        long last = Volatile.Read(ref _lastReceiveMs);
        if (last == Busy || LostReason != null) return;
        long silent = now - last;
        if (silent > timeoutMs && !HasUnreadBytes())
            MarkLost($"{Name} sent nothing for {silent} ms (peer timeout {timeoutMs} ms): it hangs, died, or the network is down");
    }

    /// <summary>
    /// Bytes already in the kernel's receive queue mean the peer did talk and only this process was slow
    /// (a stall, a long GC, a debugger): not a silence.
    /// </summary>
    private bool HasUnreadBytes()
    {
        try { return _socket.Available > 0; }
        catch (SocketException) { return false; }
        catch (ObjectDisposedException) { return false; }
    }

    /// <summary>Abortive close (RST), as if the connection were killed; for tests.</summary>
    public void Kill()
    {
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
            _socket.Close();
        }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
    }

    // ---------------------------------------------------------------- receiving

    public void ResetReceiveClock() => Volatile.Write(ref _lastReceiveMs, Environment.TickCount64);

    public void StartReceiving()
    {
        _receiveThread = new Thread(ReceiveLoop)
        {
            IsBackground = true,
            Name = $"dqemu-rx-{Node}",
        };
        _receiveThread.Start();
    }

    /// <summary>
    /// The receive thread: waits for bytes (poll(2), not a blocking read, so that a polling thread can take them
    /// instead), parks while other threads poll (<see cref="PollGate"/>), and reads and delivers what came.
    /// </summary>
    private void ReceiveLoop()
    {
        // the mesh under UCX carries only heartbeats and nudges: its receive threads are the node's urgent listeners
        // (making every TCP receive thread or UCX's progress thread urgent instead cost the ping-pong 3-6x)
        if (_owner.Nudged != null) UrgentThread.Make();
        var gate = _owner.Gate;
        int fd = (int)_socket.Handle;
        // after our own Dispose this goes on reading (and dropping) until the peer closes: closing a socket with
        // unread bytes would reset the connection and could lose frames the peer has not read yet
        while (LostReason == null)
        {
            if (!gate.ShouldListen)
            {
                gate.Park();
                continue;
            }
            int r = FdPoll.WaitReadable(fd, 200, out _);
            if (r == 0) continue;
            if (r < 0 && Marshal.GetLastPInvokeError() == EINTR) continue;
            lock (_rxLock)
            {
                if (Drain(out string? failure) < 0 && failure != null)
                {
                    Fail(failure);
                    return;
                }
            }
        }
        lock (_rxLock)
            if (LostReason is { } reason && !_owner.IsDisposed) Fail(reason);
    }

    /// <summary>
    /// A polling thread reads and delivers what has arrived, unless another thread is reading this connection now.
    /// Returns the number of messages delivered.
    /// </summary>
    public int Poll()
    {
        if (LostReason != null || !_rxLock.TryEnter()) return 0;
        try
        {
            int n = Drain(out string? failure);
            if (n < 0)
            {
                if (failure != null) Fail(failure);
                return 0;
            }
            return n;
        }
        finally
        {
            _rxLock.Exit();
        }
    }

    /// <summary>
    /// Reads without blocking until the socket is empty and delivers every complete frame (the receive lock is held).
    /// Returns the messages delivered, or -1 with the failure when the connection ended.
    /// </summary>
    private int Drain(out string? failure)
    {
        failure = null;
        int delivered = 0;
        while (true)
        {
            Span<byte> dst;
            if (_big != null)
            {
                dst = _big.AsSpan(_bigHave, _bigLength - _bigHave);
            }
            else
            {
                if (_rxEnd == _rxBuf.Length)
                {
                    Buffer.BlockCopy(_rxBuf, _rxStart, _rxBuf, 0, _rxEnd - _rxStart);
                    _rxEnd -= _rxStart;
                    _rxStart = 0;
                }
                dst = _rxBuf.AsSpan(_rxEnd);
            }
            int n = ReceiveNow(dst, out failure);
            if (n < 0) return failure == null ? delivered : -1;
            Volatile.Write(ref _lastReceiveMs, Environment.TickCount64);
            if (_big != null)
            {
                _bigHave += n;
                if (_bigHave < _bigLength) continue;
                var (type, flags) = _bigHeader;
                byte[] big = _big;
                _big = null;
                delivered += Deliver(type, flags, big.AsSpan(0, _bigLength));
                continue;
            }
            _rxEnd += n;
            if (!Frames(ref delivered, out failure)) return -1;
        }
    }

    /// <summary>Delivers the complete frames in the buffer; starts a big frame when one does not fit. False on a protocol error.</summary>
    private bool Frames(ref int delivered, out string? failure)
    {
        failure = null;
        while (_rxEnd - _rxStart >= Framing.HeaderSize)
        {
            Framing.ReadHeader(_rxBuf.AsSpan(_rxStart), out uint length, out ushort type, out ushort flags);
            if (length > (uint)_maxBody)
            {
                failure = $"{Name} sent a frame of {length} bytes (limit {_maxBody}): protocol error or a foreign program";
                return false;
            }
            int frame = Framing.HeaderSize + (int)length;
            int avail = _rxEnd - _rxStart;
            if (frame > _rxBuf.Length)
            {
                // larger than the receive buffer: assemble it in a buffer of its own
                _big = BigBuffer((int)length);
                _bigLength = (int)length;
                _bigHave = avail - Framing.HeaderSize;
                _bigHeader = (type, flags);
                _rxBuf.AsSpan(_rxStart + Framing.HeaderSize, _bigHave).CopyTo(_big);
                _rxStart = _rxEnd = 0;
                if (_bigHave == _bigLength)
                {
                    _big = null;
                    delivered += Deliver(type, flags, _bigBuffer.AsSpan(0, _bigLength));
                }
                return true;
            }
            if (avail < frame) break;
            delivered += Deliver(type, flags, _rxBuf.AsSpan(_rxStart + Framing.HeaderSize, (int)length));
            _rxStart += frame;
        }
        if (_rxStart == _rxEnd) _rxStart = _rxEnd = 0;
        return true;
    }

    /// <summary>recv(2) with MSG_DONTWAIT: bytes read, or -1 when none are there (failure null) or the connection ended.</summary>
    private int ReceiveNow(Span<byte> dst, out string? failure)
    {
        failure = null;
        nint n;
        unsafe
        {
            fixed (byte* p = dst) n = recv((int)_socket.Handle, p, (nuint)dst.Length, MsgDontWait);
        }
        if (n > 0) return (int)n;
        if (n == 0)
        {
            failure = LostReason ?? (_goodbyeReceived
                ? $"{Name} shut down its transport"
                : $"{Name} closed the connection (process exited or crashed?)");
            return -1;
        }
        int errno = Marshal.GetLastPInvokeError();
        if (errno is EAGAIN or EINTR) return -1;
        failure = LostReason ?? (_owner.IsDisposed ? $"the connection to {Name} was closed locally"
            : $"the connection to {Name} failed: {DescribeErrno(errno)}");
        return -1;
    }

    /// <summary>The connection ended: record why (first reason wins) and tell the handler once (the receive lock is held,
    /// so nothing of this peer is delivered after).</summary>
    private void Fail(string failure)
    {
        if (_owner.IsDisposed) return; // our own shutdown: nobody is told
        MarkLost(failure);
        if (Interlocked.Exchange(ref _notified, 1) == 0) _owner.Handler!.OnNodeLost(Node, LostReason ?? failure);
    }

    private int Deliver(ushort type, ushort flags, ReadOnlySpan<byte> body)
    {
        if ((flags & Framing.FlagControl) != 0)
        {
            if (type == Framing.ControlGoodbye) _goodbyeReceived = true;
            else if (type == Framing.ControlNudge && !_owner.IsDisposed) _owner.Nudged?.Invoke(Node);
            return 0; // heartbeat: its arrival already refreshed the clock
        }
        Volatile.Write(ref _messagesReceived, _messagesReceived + 1);
        Volatile.Write(ref _bytesReceived, _bytesReceived + body.Length);
        if (_owner.IsDisposed) return 0; // draining during our own shutdown
        Volatile.Write(ref _lastReceiveMs, Busy);
        try
        {
            _owner.Handler!.OnMessage(Node, type, body);
        }
        finally
        {
            Volatile.Write(ref _lastReceiveMs, Environment.TickCount64);
        }
        return 1;
    }

    private byte[] BigBuffer(int length)
    {
        if (_bigBuffer == null || _bigBuffer.Length < length)
            _bigBuffer = new byte[(int)Math.Min((long)_maxBody, Math.Max((long)length, 2L * (_bigBuffer?.Length ?? 0)))];
        return _bigBuffer;
    }

    private const int MsgDontWait = 0x40, EAGAIN = 11, EINTR = 4;

    private static string DescribeErrno(int errno) => errno switch
    {
        104 => "connection reset by peer",
        103 => "connection aborted",
        32 => "broken pipe",
        110 => "timed out",
        113 => "host unreachable",
        101 => "network unreachable",
        _ => $"errno {errno}",
    };

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint recv(int fd, byte* buf, nuint len, int flags);


    internal static string Describe(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionReset => "connection reset by peer",
        SocketError.ConnectionAborted => "connection aborted",
        SocketError.Shutdown => "connection shut down",
        SocketError.TimedOut => "timed out",
        SocketError.HostUnreachable => "host unreachable",
        SocketError.NetworkUnreachable => "network unreachable",
        SocketError.ConnectionRefused => "connection refused",
        SocketError.OperationAborted => "connection closed locally",
        _ => $"{e.SocketErrorCode} ({e.Message})",
    };
}
