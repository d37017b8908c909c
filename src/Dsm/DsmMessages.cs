using System.Buffers.Binary;

namespace Dqemu.Dsm;

/// <summary>
/// Message types of the coherence protocol. DSM owns the range 0x100-0x1FF of the transport's 16-bit message type;
/// the runtime hands every message with <see cref="IsDsmMessage"/> true to <see cref="DsmNode.OnMessage"/>.
/// Bodies are little-endian; R = requester, H = home of the page, S = supplier (a node holding a valid copy).
/// <code>
///  type   name             direction  body
///  0x100  ReadReq          R -> H     u64 page, u16 offset in the page of the access (0xFFFF: not an access)
///  0x101  WriteReq         R -> H     u64 page, u16 offset (as ReadReq)
///  0x102  Forward          H -> S     u64 page, i32 requester    S downgrades to Shared, sends PageData(Shared) to R
///  0x103  FetchInvalidate  H -> S     u64 page, i32 requester    S drops to Invalid, sends PageData(Modified) to R
///  0x104  Invalidate       H -> X     u64 page                   X drops to Invalid, answers InvAck
///  0x105  InvAck           X -> H     u64 page
///  0x106  PageData         S -> R     u64 page, u8 state, u8 PageEncoding, payload (rest of the body)
///  0x107  Grant            H -> R     u64 page, u8 state         R already has the data: upgrade in place
///  0x108  Ack              R -> H     u64 page, u8 state         R installed the page: the transaction ends
///  0x109  Update           H -> X     u64 page                   a hint: X read the page after earlier writes and may
///                                                                 ask for it now (DsmNode.Update.cs); no answer
///  0x10A  Batch            any        (u16 type, i32 length, body)*  the messages in order, as if sent one by one
///                                                                 (DsmNode.Batch.cs); never nested
/// </code>
/// A home runs one transaction per page at a time; requests arriving meanwhile wait in a FIFO. Every message of a
/// transaction is caused by the previous one, so no ordering between different node pairs is assumed.
/// </summary>
public static class DsmMessages
{
    public const ushort First = 0x100;
    public const ushort Last = 0x1FF;

    public const ushort ReadReq = 0x100;
    public const ushort WriteReq = 0x101;
    public const ushort Forward = 0x102;
    public const ushort FetchInvalidate = 0x103;
    public const ushort Invalidate = 0x104;
    public const ushort InvAck = 0x105;
    public const ushort PageData = 0x106;
    public const ushort Grant = 0x107;
    public const ushort Ack = 0x108;
    public const ushort Update = 0x109;
    public const ushort Batch = 0x10A;

    /// <summary>Size of the header before each message of a Batch (u16 type, i32 body length).</summary>
    public const int BatchItemHeader = 6;

    /// <summary>Size of a ReadReq/WriteReq body.</summary>
    public const int RequestSize = 10;

    /// <summary>A request's offset when it comes from no single guest access (syscall buffers, pins, code fetches).</summary>
    public const ushort NoOffset = 0xFFFF;

    /// <summary>Size of a PageData header before the payload.</summary>
    public const int PageDataHeader = 10;

    /// <summary>True for the message types <see cref="DsmNode.OnMessage"/> handles.</summary>
    public static bool IsDsmMessage(ushort type) => type >= First && type <= Last;

    /// <summary>A readable name, for logs and test failures.</summary>
    public static string Name(ushort type) => type switch
    {
        ReadReq => "ReadReq",
        WriteReq => "WriteReq",
        Forward => "Forward",
        FetchInvalidate => "FetchInvalidate",
        Invalidate => "Invalidate",
        InvAck => "InvAck",
        PageData => "PageData",
        Grant => "Grant",
        Ack => "Ack",
        Update => "Update",
        Batch => "Batch",
        _ => $"0x{type:x}",
    };

    /// <summary>Reads the messages of a Batch body in order; a truncated item throws.</summary>
    public ref struct BatchReader(ReadOnlySpan<byte> body)
    {
        private ReadOnlySpan<byte> _rest = body;

        public bool Next(out ushort type, out ReadOnlySpan<byte> item)
        {
            item = default;
            type = 0;
            if (_rest.IsEmpty) return false;
            if (_rest.Length < BatchItemHeader) throw new InvalidDataException($"a batch ends in {_rest.Length} stray bytes");
            type = BinaryPrimitives.ReadUInt16LittleEndian(_rest);
            int length = BinaryPrimitives.ReadInt32LittleEndian(_rest[2..]);
            if (length < 0 || length > _rest.Length - BatchItemHeader)
                throw new InvalidDataException($"a batched {Name(type)} of {length} bytes overruns its batch");
            item = _rest.Slice(BatchItemHeader, length);
            _rest = _rest[(BatchItemHeader + length)..];
            return true;
        }
    }

    /// <summary>The page every DSM message starts with.</summary>
    public static ulong PageOf(ReadOnlySpan<byte> body) => BinaryPrimitives.ReadUInt64LittleEndian(body);
}
