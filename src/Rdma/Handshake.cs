using System.Buffers.Binary;

namespace Dqemu.Rdma;

/// <summary>
/// The first bytes on every connection, before any frame. The dialing node (the higher id) sends a Hello; the
/// accepting node answers Accept or Reject and, on Reject, closes. All fields little-endian, 36 bytes:
/// <c>[u32 magic "DQTP"][u16 version][u16 kind][u64 cluster token][i32 from][i32 to][i32 node count][u32 reject reason]
/// [u32 attachment length]</c>, followed by that many bytes of attachment: what the node wants every peer to know
/// before the first message (UCX: its worker address; see <see cref="TcpTransportOptions.Attachment"/>).
/// </summary>
internal static class Handshake
{
    public const int Size = 36;
    public const uint Magic = 0x50545144; // "DQTP" read as little-endian bytes
    public const ushort Version = 2;

    /// <summary>Largest attachment a node accepts (a UCX worker address with every transport is a few hundred bytes).</summary>
    public const int MaxAttachment = 64 * 1024;

    public const ushort KindHello = 1;
    public const ushort KindAccept = 2;
    public const ushort KindReject = 3;

    public enum RejectReason : uint
    {
        None = 0,
        TokenMismatch = 1,
        BadNodeId = 2,
        Duplicate = 3,
        NodeCountMismatch = 4,
        BadVersion = 5,
        BadAttachment = 6,
    }

    public readonly record struct Message(ushort Kind, ulong Token, int From, int To, int NodeCount, RejectReason Reason,
                                          int AttachmentLength = 0);

    public static void Write(Span<byte> dst, in Message m)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(dst, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(dst[4..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(dst[6..], m.Kind);
        BinaryPrimitives.WriteUInt64LittleEndian(dst[8..], m.Token);
        BinaryPrimitives.WriteInt32LittleEndian(dst[16..], m.From);
        BinaryPrimitives.WriteInt32LittleEndian(dst[20..], m.To);
        BinaryPrimitives.WriteInt32LittleEndian(dst[24..], m.NodeCount);
        BinaryPrimitives.WriteUInt32LittleEndian(dst[28..], (uint)m.Reason);
        BinaryPrimitives.WriteInt32LittleEndian(dst[32..], m.AttachmentLength);
    }

    /// <summary>False when the bytes are not a handshake of ours at all (wrong magic).</summary>
    public static bool TryRead(ReadOnlySpan<byte> src, out Message m, out ushort version)
    {
        m = default;
        version = 0;
        if (src.Length < Size || BinaryPrimitives.ReadUInt32LittleEndian(src) != Magic) return false;
        version = BinaryPrimitives.ReadUInt16LittleEndian(src[4..]);
        m = new Message(
            BinaryPrimitives.ReadUInt16LittleEndian(src[6..]),
            BinaryPrimitives.ReadUInt64LittleEndian(src[8..]),
            BinaryPrimitives.ReadInt32LittleEndian(src[16..]),
            BinaryPrimitives.ReadInt32LittleEndian(src[20..]),
            BinaryPrimitives.ReadInt32LittleEndian(src[24..]),
            (RejectReason)BinaryPrimitives.ReadUInt32LittleEndian(src[28..]),
            BinaryPrimitives.ReadInt32LittleEndian(src[32..]));
        return true;
    }

    public static string Describe(RejectReason r) => r switch
    {
        RejectReason.TokenMismatch => "cluster token mismatch (a node of another cluster or run?)",
        RejectReason.BadNodeId => "node id not expected on this connection (check --node and the cluster file)",
        RejectReason.Duplicate => "that node id is already connected (two processes started as the same node?)",
        RejectReason.NodeCountMismatch => "cluster size mismatch (the nodes use different cluster files)",
        RejectReason.BadVersion => "protocol version mismatch (different dqemu-native builds)",
        RejectReason.BadAttachment => "the handshake's attachment is missing or too large (different transports in the cluster files?)",
        _ => $"rejected (reason {(uint)r})",
    };
}
