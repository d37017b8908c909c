using System.Buffers.Binary;
using System.Text;
using Dqemu.Rdma;

namespace Dqemu.Runtime.Cluster;

/// <summary>
/// The runtime's own control messages between nodes (types 0x10-0x1F; the DSM uses 0x100-0x1FF) for a run's end
/// and a node's loss (0x13-0x1C, the runtime's messages, are in ClusterMessages.cs; docs/architecture.md lists all):
/// <list type="bullet">
/// <item><see cref="Stop"/> (node 0 -> worker, empty): the guest has ended; answer with <see cref="Stopped"/>
/// and leave once node 0 closes its connections.</item>
/// <item><see cref="Stopped"/> (worker -> node 0): the worker's transport counters at the time of the stop,
/// four little-endian i64: messages sent, bytes sent, messages received, bytes received; then its coherence totals,
/// three i64: remote faults, DSM messages sent, DSM bytes sent; then its --stats text (UTF-8).</item>
/// <item><see cref="NodeLost"/> (from the node that saw a loss first, to every other): body: i32 node, UTF-8 reason.
/// The receiver prints its one line naming that node and exits 69 (so every node names the node that died,
/// not the first one that left after it).</item>
/// </list>
/// </summary>
internal static class ClusterProtocol
{
    public const ushort Stop = 0x10;
    public const ushort Stopped = 0x11;
    public const ushort NodeLost = 0x12;

    public const int CountersSize = 32;
    public const int CoherenceSize = 24;

    /// <summary>What a node's coherence cost: its remote faults (waits of guest threads and syscalls) and the DSM messages
    /// and bytes it sent (to any node, for anyone's faults).</summary>
    public readonly record struct CoherenceTotals(long Faults, long Messages, long Bytes)
    {
        public static CoherenceTotals operator +(CoherenceTotals a, CoherenceTotals b) =>
            new(a.Faults + b.Faults, a.Messages + b.Messages, a.Bytes + b.Bytes);
    }

    public static byte[] EncodeStopped(TransportCounters counters, CoherenceTotals coherence, string text)
    {
        var t = Encoding.UTF8.GetBytes(text);
        var b = new byte[CountersSize + CoherenceSize + t.Length];
        WriteCounters(b, counters);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(CountersSize), coherence.Faults);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(CountersSize + 8), coherence.Messages);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(CountersSize + 16), coherence.Bytes);
        t.CopyTo(b, CountersSize + CoherenceSize);
        return b;
    }

    public static bool TryDecodeStopped(ReadOnlySpan<byte> body, out TransportCounters counters, out CoherenceTotals coherence, out string text)
    {
        coherence = default;
        text = "";
        if (!TryReadCounters(body, out counters) || body.Length < CountersSize + CoherenceSize) return false;
        var c = body[CountersSize..];
        coherence = new(BinaryPrimitives.ReadInt64LittleEndian(c), BinaryPrimitives.ReadInt64LittleEndian(c[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(c[16..]));
        text = Encoding.UTF8.GetString(body[(CountersSize + CoherenceSize)..]);
        return true;
    }

    public static void WriteCounters(Span<byte> dst, TransportCounters c)
    {
        BinaryPrimitives.WriteInt64LittleEndian(dst, c.MessagesSent);
        BinaryPrimitives.WriteInt64LittleEndian(dst[8..], c.BytesSent);
        BinaryPrimitives.WriteInt64LittleEndian(dst[16..], c.MessagesReceived);
        BinaryPrimitives.WriteInt64LittleEndian(dst[24..], c.BytesReceived);
    }

    public static bool TryReadCounters(ReadOnlySpan<byte> src, out TransportCounters c)
    {
        c = default;
        if (src.Length < CountersSize) return false;
        c = new TransportCounters(BinaryPrimitives.ReadInt64LittleEndian(src), BinaryPrimitives.ReadInt64LittleEndian(src[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(src[16..]), BinaryPrimitives.ReadInt64LittleEndian(src[24..]));
        return true;
    }

    public static byte[] EncodeNodeLost(int node, string reason)
    {
        var text = Encoding.UTF8.GetBytes(reason);
        var b = new byte[4 + text.Length];
        BinaryPrimitives.WriteInt32LittleEndian(b, node);
        text.CopyTo(b, 4);
        return b;
    }

    public static bool TryDecodeNodeLost(ReadOnlySpan<byte> body, out int node, out string reason)
    {
        node = -1;
        reason = "";
        if (body.Length < 4) return false;
        node = BinaryPrimitives.ReadInt32LittleEndian(body);
        reason = Encoding.UTF8.GetString(body[4..]);
        return true;
    }

    /// <summary>
    /// The cluster token every node checks in the transport handshake: FNV-1a (64 bit) of the cluster file's
    /// bytes, so nodes started by hand from a copy of the same file agree without extra flags, and a node
    /// started with another file (or an edited one) is refused.
    /// </summary>
    public static ulong Token(ReadOnlySpan<byte> configBytes)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in configBytes)
        {
            h ^= b;
            h *= 1099511628211UL;
        }
        return h == 0 ? 1 : h;
    }
}
