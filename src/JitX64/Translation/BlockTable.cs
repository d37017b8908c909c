namespace Dqemu.JitX64.Translation;

/// <summary>
/// Guest pc to host code of the live blocks: open addressing with linear probing over one array of {pc + 1, code}
/// pairs (16 bytes a block), read without a lock by every runner and written under a lock of its own. It replaced a
/// ConcurrentDictionary, whose node per entry and bucket arrays took ~4 MiB for a python3 start's 45,000 blocks: a short
/// run collects nothing, so every byte allocated is a fresh page touched (~10 µs each on these VMs).
/// A slot, once given a pc, keeps it until the table is replaced (growth, <see cref="Clear"/>): a forgotten block leaves
/// its code 0 there, so a reader that matched a pc reads that pc's code, a newer one, or 0, never another pc's. The
/// code is written before the pc, so a reader that sees the pc sees its code. Growing and clearing publish a new array;
/// a reader still in the old one finds what was there a moment before, as with any lookup that races a change.
/// </summary>
internal sealed class BlockTable
{
    private struct Slot
    {
        public ulong Key; // pc + 1; 0: empty (a pc is 4-aligned, so pc + 1 is never 0)
        public nint Code; // 0: forgotten
    }

    private const int InitialSlots = 1024;
    private Slot[] _slots = new Slot[InitialSlots];
    private int _used, _live; // slots holding a pc; those with code
    private readonly object _lock = new();

    public int Count => Volatile.Read(ref _live);

    private static int Home(ulong pc, int mask) => (int)(((pc >> 2) * 0x9E3779B97F4A7C15UL) >> 32) & mask;

    /// <summary>The host code of <paramref name="pc"/>'s block, 0 when none is published.</summary>
    public nint Lookup(ulong pc)
    {
        var slots = Volatile.Read(ref _slots);
        ulong key = pc + 1;
        int mask = slots.Length - 1;
        // never full (grown at five eighths: a miss, which every new block's lookup is, probes ~4 slots), so an empty
        // slot ends every probe
        for (int i = Home(pc, mask); ; i = (i + 1) & mask)
        {
            ulong k = Volatile.Read(ref slots[i].Key);
            if (k == key) return Volatile.Read(ref slots[i].Code);
            if (k == 0) return 0;
        }
    }

    /// <summary>Publishes (or replaces) <paramref name="pc"/>'s block.</summary>
    public void Set(ulong pc, nint code)
    {
        lock (_lock)
        {
            ref var slot = ref Find(_slots, pc);
            if (slot.Key != 0)
            {
                if (slot.Code == 0) _live++;
                Volatile.Write(ref slot.Code, code);
                return;
            }
            if ((_used + 1) * 8L > _slots.Length * 5L)
            {
                // room for twice the live blocks: forgotten pcs are left behind, so a table full of them is only cleaned
                Volatile.Write(ref _slots, Rehash(_slots, CapacityFor(2 * (_live + 1))));
                _used = _live;
                slot = ref Find(_slots, pc);
            }
            slot.Code = code;
            Volatile.Write(ref slot.Key, pc + 1);
            _used++;
            _live++;
        }
    }

    /// <summary>Forgets <paramref name="pc"/>'s block when it is <paramref name="code"/>.</summary>
    public void Remove(ulong pc, nint code)
    {
        lock (_lock)
        {
            ref var slot = ref Find(_slots, pc);
            if (slot.Key == 0 || slot.Code != code) return;
            Volatile.Write(ref slot.Code, 0);
            _live--;
        }
    }

    /// <summary>Forgets every block (a new array: a slot is never given to another pc while a reader may be in it).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            if (_used == 0) return;
            Volatile.Write(ref _slots, new Slot[Math.Max(InitialSlots, Math.Min(_slots.Length, CapacityFor(_live)))]);
            _used = _live = 0;
        }
    }

    /// <summary>The slot holding <paramref name="pc"/>, or the empty slot where it would go.</summary>
    private static ref Slot Find(Slot[] slots, ulong pc)
    {
        ulong key = pc + 1;
        int mask = slots.Length - 1;
        int i = Home(pc, mask);
        while (slots[i].Key != key && slots[i].Key != 0) i = (i + 1) & mask;
        return ref slots[i];
    }

    private static int CapacityFor(int entries)
    {
        int n = InitialSlots;
        while (entries * 8L > n * 5L) n *= 2;
        return n;
    }

    /// <summary>The live entries of <paramref name="old"/> in a new array of <paramref name="size"/> slots (forgotten pcs
    /// are left behind).</summary>
    private static Slot[] Rehash(Slot[] old, int size)
    {
        var slots = new Slot[size];
        foreach (var s in old)
            if (s.Key != 0 && s.Code != 0) Find(slots, s.Key - 1) = s;
        return slots;
    }
}
