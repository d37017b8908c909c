namespace Dqemu.Runtime.Cluster;

/// <summary>
/// The runtime's messages once the guest spans nodes (types 0x13-0x2F; <see cref="ClusterProtocol"/> holds the
/// start/stop ones, the DSM uses 0x100-0x1FF, the futex engine 0x200-0x20F). Bodies are little-endian; a
/// request that expects an answer starts with a u64 request id, which the answer (<see cref="Reply"/>) repeats.
/// <code>
///  type  name          direction     body
///  0x13  Attach        0 -> w        id, i32 pid, u64 sigreturn trampoline, u8 options, str exe, str sysroot,
///                                    65*4 u64 signal dispositions, u32 n, n * (u64 start, u64 end, u8 prot, str name),
///                                    u64 layout version
///  0x14  Layout        0 -> w        id, u8 op, u64 start, u64 end, u8 prot, str name, u64 layout version
///                                    (apply, then Reply; never a Widen, see LayoutOp.Widen)
///  0x15  Disposition   0 -> w        id, i32 sig, 4 u64                                      (apply, then Reply)
///  0x16  Place         w -> 0        id                                   Reply: i32 node | 0x10000 if a rule placed it
///  0x17  Start         any -> t      id, u64 flags, u64 parent_tid, u64 child_tid, u64 sigmask, u32 mxcsr,
///                                    u8 pinned, 832-byte CpuState image   Reply: i64 tid or -errno
///  0x18  ThreadExit    w -> 0        i32 tid, i32 status
///  0x19  Syscall       w -> 0        id, i32 tid, u64 nr, 6 * u64 args    Reply: i64 result; for an mprotect that
///                                                                         succeeded, then the spans of its range
///  0x1A  Signal        any -> t      i32 tid, i32 sig, i32 code, i32 pid, u32 uid, u64 addr, u64 value (a node the
///                                    thread left forwards it where the thread went)
///  0x1B  Exit          w -> 0        i32 status (a fatal signal on a worker ends the guest)
///  0x1C  Reply         any           id, answer
///  0x1D  LayoutQuery   w -> 0        id, u64 start, u64 end               Reply: the spans of [start, end)
///  0x1E  SplitHint     w -> 0        u64 page, i32 unit shift             a home proposes a split, or with shift 0 a
///                                                                         merge (a unit is contended); no answer
///  0x1F  Split         0 -> w        id, u8 op (1 split, 0 merge), u64 page, i32 slot, i32 shift   Reply: empty, applied
///  0x20  Merge         w -> 0        id, u64 page                         Reply: empty, once the page is whole everywhere
///  0x21  Migrate       0 -> t        i32 tid, i32 to                      move that thread at its next dispatcher pass
///  0x22  Adopt         t -> new      id, the thread (ClusterNode.PackThread)  Reply: i32 0 (it runs there now) or -errno
///  0x23  Moved         any -> 0      i32 tid, i32 from, i32 to (-1: it did not move)
///  0x24  Hint          any -> 0      id, i32 tid, i32 op, i64 arg         Reply: i64 node to run on, or -errno
///  0x25  Sharing       w -> 0        u32 n, n * (i32 tid, u8 flags (1 active, 2 pinned), u16 m, m * (u64 page, u32 faults))
///  0x26  Handover      any -> new    u32 n, n * u64 page    the pages a node held Modified when its last thread moved
///                                    to the receiver, which asks for them for writing (no answer)
/// </code>
/// Strings are u16 length + UTF-8. Spans: u64 node 0's layout version, u32 n, n * (u64 start, u64 end, u8 prot),
/// the mapped parts of a range (GuestSpace.SpansIn).
/// </summary>
internal static class ClusterMessages
{
    public const ushort Attach = 0x13;
    public const ushort Layout = 0x14;
    public const ushort Disposition = 0x15;
    public const ushort Place = 0x16;
    public const ushort Start = 0x17;
    public const ushort ThreadExit = 0x18;
    public const ushort Syscall = 0x19;
    public const ushort Signal = 0x1A;
    public const ushort Exit = 0x1B;
    public const ushort Reply = 0x1C;
    public const ushort LayoutQuery = 0x1D;
    public const ushort SplitHint = 0x1E;
    public const ushort Split = 0x1F;
    public const ushort Merge = 0x20;
    public const ushort Migrate = 0x21;
    public const ushort Adopt = 0x22;
    public const ushort Moved = 0x23;
    public const ushort Hint = 0x24;
    public const ushort Sharing = 0x25;
    public const ushort Handover = 0x26;

    public static bool IsRuntimeMessage(ushort type) => type >= Attach && type <= Handover;
}
