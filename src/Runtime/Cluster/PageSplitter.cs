using System.Runtime.InteropServices;
using Dqemu.Runtime.Memory;
using static Tmds.Linux.LibC;

namespace Dqemu.Runtime.Cluster;

/// <summary>
/// One node's record of split pages. A split page P is cut into units of 2^shift bytes (8 B to 2 KiB); unit k lives in
/// its own shadow page (<see cref="GuestSpace.ShadowStart"/> + slot * <see cref="GuestSpace.ShadowSlotBytes"/> + k *
/// 4 KiB) at the same offset as in P, and each shadow page is a coherence unit of its own, so different nodes can hold
/// different units. P's own view stays inaccessible on every node while it is split: a guest instruction that touches
/// it faults, becomes split-aware (the translator redirects its accesses through <see cref="Table"/>), and from then
/// on reaches the units. Node 0 decides splits and merges (ClusterNode.Split.cs); every node applies them here.
/// </summary>
/// <remarks>
/// <see cref="Table"/> is the translator's view (entry format: JitX64 CpuOffsets.SplitMap): one u64 per guest page,
/// written here only, read by translated code without a lock. Slots are never reused in a run, so a stale redirection
/// can only reach a retired slot, whose shadow pages are kept inaccessible (the access faults and runs again).
/// </remarks>
public sealed unsafe class PageSplitter
{
    public enum SlotState : byte
    {
        /// <summary>Not used yet.</summary>
        Free,
        /// <summary>Node 0 is copying the page into its units; accesses to them wait.</summary>
        Filling,
        /// <summary>The page is split; its units move between nodes like pages.</summary>
        Active,
        /// <summary>Node 0 is merging the units back; accesses to them wait.</summary>
        Merging,
        /// <summary>Merged back: the slot's shadow pages stay inaccessible for good.</summary>
        Retired,
    }

    /// <summary>Table entries past the last guest page: a folded displacement can reach up to 64 KiB + 64 beyond it, and a
    /// wild address is sent to 128 KiB past it plus that (CpuOffsets.WildTarget), so 48 entries are read at most.</summary>
    private const ulong Slack = 64;
    private const ulong GuestPages = GuestSpace.Size / GuestSpace.PageSize;

    private readonly ulong* _table;
    private readonly ulong[] _slotPage = new ulong[GuestSpace.ShadowSlots];
    private readonly int[] _slotShift = new int[GuestSpace.ShadowSlots];
    private readonly int[] _slotState = new int[GuestSpace.ShadowSlots];
    private int _slotsUsed;

    public PageSplitter()
    {
        ulong bytes = (GuestPages + Slack) * 8;
        void* t = mmap(null, (Tmds.Linux.size_t)bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (t == MAP_FAILED) throw new OutOfMemoryException($"cannot map the split-page table (errno {Marshal.GetLastPInvokeError()})");
        _table = (ulong*)t;
    }

    /// <summary>The table translated code reads (its address goes into every thread's CpuState).</summary>
    public ulong* Table => _table;

    public const int MinShift = Dqemu.Dsm.DsmNode.MinSplitShift, MaxShift = Dqemu.Dsm.DsmNode.MaxSplitShift;

    /// <summary>Slots used so far (node 0: splits made in this run).</summary>
    public int SlotsUsed => Volatile.Read(ref _slotsUsed);

    public bool IsSplit(ulong page) => page < GuestPages && Volatile.Read(ref _table[page]) != 0;

    public static bool IsShadow(ulong addr) => addr >= GuestSpace.ShadowStart && addr < GuestSpace.ReservationSize;

    /// <summary>The shadow page of unit <paramref name="unit"/> of <paramref name="slot"/> (a reservation offset).</summary>
    public static ulong UnitPage(int slot, int unit) =>
        GuestSpace.ShadowStart + (ulong)slot * GuestSpace.ShadowSlotBytes + (ulong)unit * GuestSpace.PageSize;

    public static int UnitCount(int shift) => (int)(GuestSpace.PageSize >> shift);

    /// <summary>The slot and unit of a shadow address.</summary>
    public static (int Slot, int Unit) SlotOf(ulong shadowAddr)
    {
        ulong off = shadowAddr - GuestSpace.ShadowStart;
        return ((int)(off / GuestSpace.ShadowSlotBytes), (int)(off % GuestSpace.ShadowSlotBytes / GuestSpace.PageSize));
    }

    /// <summary>Pages split now (installed and not removed yet) on this node.</summary>
    public int ActivePages => Volatile.Read(ref _activePages);
    private int _activePages;

    public SlotState StateOf(int slot) => (SlotState)Volatile.Read(ref _slotState[slot]);

    public ulong PageOf(int slot) => Volatile.Read(ref _slotPage[slot]);

    public int ShiftOf(int slot) => Volatile.Read(ref _slotShift[slot]);

    /// <summary>The slot holding split page <paramref name="page"/>'s units (the page must be split).</summary>
    public int SlotOfPage(ulong page) => SlotOf((Volatile.Read(ref _table[page]) & ~0xFFFUL) + (page << 12)).Slot;

    /// <summary>
    /// Where the guest's [addr, addr + len) is while its page is split: the unit's shadow address, or null when the
    /// page is not split or the range leaves one unit.
    /// </summary>
    public ulong? Redirect(ulong addr, ulong len)
    {
        ulong page = addr >> 12;
        ulong e = page < GuestPages ? Volatile.Read(ref _table[page]) : 0;
        if (e == 0 || len == 0) return null;
        int shift = (int)(e & 0xF);
        ulong off = addr & 0xFFF, last = off + len - 1;
        if (last > 0xFFF || off >> shift != last >> shift) return null;
        return addr + (e & ~0xFFFUL) + ((off >> shift) << 12);
    }

    /// <summary>Node 0: a fresh slot for <paramref name="page"/>, or -1 when every slot was used.</summary>
    public int NewSlot()
    {
        int slot = Interlocked.Increment(ref _slotsUsed) - 1;
        return slot < GuestSpace.ShadowSlots ? slot : -1;
    }

    /// <summary>Records the split of <paramref name="page"/> into <paramref name="slot"/> and publishes its table entry
    /// (translated code redirects from now on); the slot starts in <paramref name="state"/>.</summary>
    public void Install(ulong page, int slot, int shift, SlotState state)
    {
        if (shift < MinShift || shift > MaxShift) throw new ArgumentOutOfRangeException(nameof(shift));
        if ((uint)slot >= GuestSpace.ShadowSlots || page >= GuestPages) throw new ArgumentOutOfRangeException(nameof(slot));
        _slotPage[slot] = page;
        _slotShift[slot] = shift;
        SetState(slot, state);
        for (int used = Volatile.Read(ref _slotsUsed); used <= slot; used = Volatile.Read(ref _slotsUsed))
            Interlocked.CompareExchange(ref _slotsUsed, slot + 1, used); // workers learn slots from node 0
        Volatile.Write(ref _table[page], (UnitPage(slot, 0) - (page << 12)) | (uint)shift);
        Interlocked.Increment(ref _activePages);
    }

    public void SetState(int slot, SlotState state) => Volatile.Write(ref _slotState[slot], (int)state);

    /// <summary>The page is whole again: its table entry goes (translated code stops redirecting) and the slot retires.</summary>
    public void Remove(ulong page, int slot)
    {
        Volatile.Write(ref _table[page], 0);
        SetState(slot, SlotState.Retired);
        Interlocked.Decrement(ref _activePages);
    }
}
