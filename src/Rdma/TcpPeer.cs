using System.Net;
using System.Net.Sockets;

namespace Dqemu.Rdma;

/// <summary>
/// One established connection of a <see cref="TcpTransport"/>: its send side (a lock and a reusable frame
/// buffer), its receive thread, its liveness clocks and its counters.
/// </summary>
internal sealed class TcpPeer
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

    private void ReceiveLoop()
    {
        byte[] buf = new byte[ReceiveBufferSize];
        int start = 0, end = 0;
        string? failure = null;
        while (failure == null)
        {
            int avail = end - start;
            if (avail < Framing.HeaderSize)
            {
                failure = ReceiveMore(buf, ref start, ref end, Framing.HeaderSize);
                continue;
            }
            Framing.ReadHeader(buf.AsSpan(start), out uint length, out ushort type, out ushort flags);
            if (length > (uint)_maxBody)
            {
                failure = $"{Name} sent a frame of {length} bytes (limit {_maxBody}): protocol error or a foreign program";
                break;
            }
            int frame = Framing.HeaderSize + (int)length;
            if (frame <= buf.Length)
            {
                if (avail < frame)
                {
                    failure = ReceiveMore(buf, ref start, ref end, frame);
                    continue;
                }
                Deliver(type, flags, buf.AsSpan(start + Framing.HeaderSize, (int)length));
                start += frame;
                if (start == end) start = end = 0;
            }
            else
            {
                byte[] big = BigBuffer((int)length);
                int have = avail - Framing.HeaderSize;
                buf.AsSpan(start + Framing.HeaderSize, have).CopyTo(big);
                start = end = 0;
                while (have < (int)length && failure == null)
                {
                    int n = ReceiveSome(big.AsSpan(have, (int)length - have), out failure);
                    have += n;
                }
                if (failure == null) Deliver(type, flags, big.AsSpan(0, (int)length));
            }
        }
        if (_owner.IsDisposed) return; // our own shutdown: nobody is told
        MarkLost(failure);
        if (Interlocked.Exchange(ref _notified, 1) == 0) _owner.Handler!.OnNodeLost(Node, LostReason ?? failure);
    }

    /// <summary>Reads until at least <paramref name="need"/> bytes sit at buf[start..end]; null or the failure.</summary>
    private string? ReceiveMore(byte[] buf, ref int start, ref int end, int need)
    {
        if (start + need > buf.Length)
        {
            Buffer.BlockCopy(buf, start, buf, 0, end - start);
            end -= start;
            start = 0;
        }
        int n = ReceiveSome(buf.AsSpan(end), out string? failure);
        end += n;
        return failure;
    }

    private int ReceiveSome(Span<byte> dst, out string? failure)
    {
        failure = null;
        int n;
        try
        {
            n = _socket.Receive(dst, SocketFlags.None);
        }
        catch (SocketException e)
        {
            failure = LostReason ?? $"the connection to {Name} failed: {Describe(e)}";
            return 0;
        }
        catch (ObjectDisposedException)
        {
            failure = LostReason ?? $"the connection to {Name} was closed locally";
            return 0;
        }
        if (n == 0)
        {
            failure = LostReason ?? (_goodbyeReceived
                ? $"{Name} shut down its transport"
                : $"{Name} closed the connection (process exited or crashed?)");
            return 0;
        }
        Volatile.Write(ref _lastReceiveMs, Environment.TickCount64);
        return n;
    }

    private void Deliver(ushort type, ushort flags, ReadOnlySpan<byte> body)
    {
        if ((flags & Framing.FlagControl) != 0)
        {
            if (type == Framing.ControlGoodbye) _goodbyeReceived = true;
            return; // heartbeat: its arrival already refreshed the clock
        }
        Volatile.Write(ref _messagesReceived, _messagesReceived + 1);
        Volatile.Write(ref _bytesReceived, _bytesReceived + body.Length);
        if (_owner.IsDisposed) return; // draining during our own shutdown
        Volatile.Write(ref _lastReceiveMs, Busy);
        try
        {
            _owner.Handler!.OnMessage(Node, type, body);
        }
        finally
        {
            Volatile.Write(ref _lastReceiveMs, Environment.TickCount64);
        }
    }

    private byte[] BigBuffer(int length)
    {
        if (_bigBuffer == null || _bigBuffer.Length < length)
            _bigBuffer = new byte[(int)Math.Min((long)_maxBody, Math.Max((long)length, 2L * (_bigBuffer?.Length ?? 0)))];
        return _bigBuffer;
    }

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
