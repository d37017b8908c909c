using System.Buffers.Binary;

namespace Dqemu.Rdma;

/// <summary>
/// The wire format shared by the stream transports: every message is one frame,
/// little-endian <c>[u32 body length][u16 type][u16 flags][body]</c>.
/// Frames with <see cref="FlagControl"/> belong to the transport itself (heartbeat, goodbye) and are never
/// delivered; for them <c>type</c> is one of the <c>Control*</c> values. Other flag bits are reserved (sent as
/// zero, ignored on receipt).
/// </summary>
public static class Framing
{
    public const int HeaderSize = 8;

    /// <summary>The frame is the transport's own, not an application message.</summary>
    public const ushort FlagControl = 0x0001;

    /// <summary>Control frame: "I am alive" (sent on an otherwise idle connection).</summary>
    public const ushort ControlHeartbeat = 1;

    /// <summary>Control frame: the sender is shutting its transport down on purpose.</summary>
    public const ushort ControlGoodbye = 2;

    /// <summary>Control frame: "a thread here waits for an answer from you; listen" (see <see cref="ITransport.Nudge"/>).</summary>
    public const ushort ControlNudge = 3;

    public static void WriteHeader(Span<byte> dst, int bodyLength, ushort type, ushort flags)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(dst, (uint)bodyLength);
        BinaryPrimitives.WriteUInt16LittleEndian(dst[4..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(dst[6..], flags);
    }

    public static void ReadHeader(ReadOnlySpan<byte> src, out uint bodyLength, out ushort type, out ushort flags)
    {
        bodyLength = BinaryPrimitives.ReadUInt32LittleEndian(src);
        type = BinaryPrimitives.ReadUInt16LittleEndian(src[4..]);
        flags = BinaryPrimitives.ReadUInt16LittleEndian(src[6..]);
    }
}
