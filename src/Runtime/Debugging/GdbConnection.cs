using System.Net.Sockets;
using System.Text;

namespace Dqemu.Runtime.Debugging;

/// <summary>
/// One gdb connection's packet layer (the GDB remote serial protocol): "$payload#cs" frames with a two-digit
/// checksum, "+"/"-" acknowledgements until QStartNoAckMode, "}" escapes, and the lone 0x03 byte gdb sends for
/// Ctrl-C. Payloads are bytes; commands are read as Latin-1 text (one char per byte) so binary data survives.
/// Reading is done by one thread (the stub's); sending may come from a guest thread too (the exit packet), so
/// sends are serialised.
/// </summary>
public sealed class GdbConnection : IDisposable
{
    /// <summary>What <see cref="ReadPacket"/> returns for a Ctrl-C byte received outside a packet.</summary>
    public const string Interrupt = "\u0003";

    private readonly Socket _socket;
    private readonly byte[] _buf = new byte[64 * 1024];
    private int _pos, _len;
    private readonly object _sendLock = new();
    private byte[]? _lastSent; // resent when gdb answers "-"
    private volatile bool _noAck;

    public GdbConnection(Socket socket)
    {
        _socket = socket;
        _socket.NoDelay = true;
    }

    /// <summary>After "QStartNoAckMode" is answered: neither side acknowledges packets any more.</summary>
    public void StopAcks() => _noAck = true;

    /// <summary>True when a byte is waiting (buffered or on the socket) within <paramref name="microseconds"/>.</summary>
    public bool DataWaiting(int microseconds)
    {
        if (_pos < _len) return true;
        try { return _socket.Poll(microseconds, SelectMode.SelectRead); }
        catch (SocketException) { return true; } // the read reports it
        catch (ObjectDisposedException) { return true; }
    }

    /// <summary>Next byte, or -1 when the connection is gone.</summary>
    private int ReadByte()
    {
        if (_pos == _len)
        {
            try { _len = _socket.Receive(_buf); }
            catch (SocketException) { _len = 0; }
            catch (ObjectDisposedException) { _len = 0; }
            _pos = 0;
            if (_len <= 0) { _len = 0; return -1; }
        }
        return _buf[_pos++];
    }

    /// <summary>
    /// The next packet's payload (escapes removed), or <see cref="Interrupt"/> for a Ctrl-C, or null when gdb is
    /// gone. Acknowledges each good packet (unless acks are off) and asks again for a bad checksum.
    /// </summary>
    public string? ReadPacket()
    {
        while (true)
        {
            int c = ReadByte();
            if (c < 0) return null;
            if (c == 0x03) return Interrupt;
            if (c == '-' && _lastSent != null) { SendRaw(_lastSent); continue; }
            if (c != '$') continue; // '+' acks and noise between packets
            var payload = new StringBuilder();
            int sum = 0;
            bool escaped = false;
            while (true)
            {
                c = ReadByte();
                if (c < 0) return null;
                if (c == '#') break;
                sum += c;
                if (escaped) { payload.Append((char)(c ^ 0x20)); escaped = false; }
                else if (c == '}') escaped = true;
                else payload.Append((char)c);
            }
            int h = ReadByte(), l = ReadByte();
            if (h < 0 || l < 0) return null;
            bool ok = HexDigit(h) >= 0 && HexDigit(l) >= 0 && ((HexDigit(h) << 4) | HexDigit(l)) == (sum & 0xff);
            if (!_noAck) SendRaw(ok ? "+"u8.ToArray() : "-"u8.ToArray());
            if (ok) return payload.ToString();
        }
    }

    /// <summary>Sends one packet; characters the framing reserves ($ # } *) are escaped.</summary>
    public void Send(string payload)
    {
        var frame = new List<byte>(payload.Length + 8) { (byte)'$' };
        int sum = 0;
        foreach (char ch in payload)
        {
            byte b = (byte)ch;
            if (b is (byte)'$' or (byte)'#' or (byte)'}' or (byte)'*')
            {
                frame.Add((byte)'}');
                sum += '}';
                b ^= 0x20;
            }
            frame.Add(b);
            sum += b;
        }
        frame.Add((byte)'#');
        frame.AddRange(Encoding.ASCII.GetBytes((sum & 0xff).ToString("x2")));
        var bytes = frame.ToArray();
        lock (_sendLock) _lastSent = _noAck ? null : bytes;
        SendRaw(bytes);
    }

    private void SendRaw(byte[] bytes)
    {
        lock (_sendLock)
        {
            try { _socket.Send(bytes); }
            catch (SocketException) { /* gdb went away: the next read sees it */ }
            catch (ObjectDisposedException) { }
        }
    }

    public static int HexDigit(int c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    public void Dispose()
    {
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _socket.Dispose();
    }
}
