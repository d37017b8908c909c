using System.Buffers.Binary;

namespace Dqemu.Dsm;

/// <summary>
/// Message types of the cluster futex (<see cref="FutexEngine"/>). The futex owns the range 0x200-0x20F of the
/// transport's 16-bit message type; the runtime hands every message with <see cref="FutexEngine.IsFutexMessage"/> true
/// to <see cref="FutexEngine.OnMessage"/>. Bodies are little-endian; N = a node with waiters, M = the waking node,
/// 0 = node 0 (keeper of the global table).
/// <code>
///  type   name          direction  body                                  effect
///  0x200  Register      N -> 0     u64 addr, u32 seq                     0 sets bit N of addr's mask, answers RegisterAck
///  0x201  RegisterAck   0 -> N     u64 addr, u32 seq                     N's waiters of registration seq may read the word
///  0x202  Unregister    N -> 0     u64 addr                              0 clears bit N of addr's mask (no answer)
///  0x203  WakeGlobal    M -> 0     u64 addr, i32 count, u32 bitset,      0 sends WakeLocal to every registered node but M
///                                  [u16 n, n * u64 page]                 (and wakes its own waiters when registered)
///  0x204  WakeLocal     0 -> N     u64 addr, i32 count, u32 bitset,      N wakes up to count matching waiters of its own
///                                  [u16 n, n * u64 page]
/// </code>
/// The pages a wake may carry (data forwarding) are pages the waking thread wrote before it woke: a node that wakes a
/// waiter of its own hands them to <see cref="FutexEngine.PagesWithWake"/>, so they are asked for before the woken
/// thread touches them. At most <see cref="MaxWakePages"/>.
/// Register and Unregister of one (node, addr) strictly alternate: a node decides them under the lock of its local
/// table and sends them in that order through one outbox, and the transport keeps per-pair FIFO order. seq is unique
/// per sending node; an ack whose seq is not the one of the node's current registration of addr (its waiters all
/// left and a new registration started) is ignored. count is ≥ 1, bitset is not 0, addr is 4-byte aligned.
/// </summary>
public static class FutexMessages
{
    public const ushort First = 0x200;
    public const ushort Last = 0x20F;

    public const ushort Register = 0x200;
    public const ushort RegisterAck = 0x201;
    public const ushort Unregister = 0x202;
    public const ushort WakeGlobal = 0x203;
    public const ushort WakeLocal = 0x204;

    /// <summary>Body sizes.</summary>
    public const int RegisterSize = 12, UnregisterSize = 8, WakeSize = 16;

    /// <summary>Most pages one wake carries.</summary>
    public const int MaxWakePages = 16;

    /// <summary>True for the message types <see cref="FutexEngine.OnMessage"/> handles.</summary>
    public static bool IsFutexMessage(ushort type) => type >= First && type <= Last;

    /// <summary>A readable name, for logs and test failures.</summary>
    public static string Name(ushort type) => type switch
    {
        Register => "FutexRegister",
        RegisterAck => "FutexRegisterAck",
        Unregister => "FutexUnregister",
        WakeGlobal => "FutexWakeGlobal",
        WakeLocal => "FutexWakeLocal",
        _ => $"0x{type:x}",
    };

    /// <summary>The guest address every futex message starts with.</summary>
    public static ulong AddrOf(ReadOnlySpan<byte> body) => BinaryPrimitives.ReadUInt64LittleEndian(body);

    internal static ReadOnlySpan<byte> RegisterBody(ulong addr, uint seq, Span<byte> buf)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(buf, addr);
        BinaryPrimitives.WriteUInt32LittleEndian(buf[8..], seq);
        return buf[..RegisterSize];
    }

    internal static ReadOnlySpan<byte> AddrBody(ulong addr, Span<byte> buf)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(buf, addr);
        return buf[..UnregisterSize];
    }

    internal static ReadOnlySpan<byte> WakeBody(ulong addr, int count, uint bitset, ReadOnlySpan<ulong> pages, Span<byte> buf)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(buf, addr);
        BinaryPrimitives.WriteInt32LittleEndian(buf[8..], count);
        BinaryPrimitives.WriteUInt32LittleEndian(buf[12..], bitset);
        if (pages.IsEmpty) return buf[..WakeSize];
        BinaryPrimitives.WriteUInt16LittleEndian(buf[WakeSize..], (ushort)pages.Length);
        for (int i = 0; i < pages.Length; i++) BinaryPrimitives.WriteUInt64LittleEndian(buf[(WakeSize + 2 + 8 * i)..], pages[i]);
        return buf[..(WakeSize + 2 + 8 * pages.Length)];
    }

    /// <summary>The pages a wake body carries (none for a plain one); null when the body is malformed.</summary>
    internal static ulong[]? WakePages(ReadOnlySpan<byte> body)
    {
        if (body.Length == WakeSize) return [];
        if (body.Length < WakeSize + 2) return null;
        int n = BinaryPrimitives.ReadUInt16LittleEndian(body[WakeSize..]);
        if (n < 1 || n > MaxWakePages || body.Length != WakeSize + 2 + 8 * n) return null;
        var pages = new ulong[n];
        for (int i = 0; i < n; i++) pages[i] = BinaryPrimitives.ReadUInt64LittleEndian(body[(WakeSize + 2 + 8 * i)..]);
        return pages;
    }
}
