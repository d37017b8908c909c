using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dqemu.Runtime.Host;

/// <summary>
/// The managed heap's first touches, in bulk. On these VMs a page's first touch costs ~10 µs as a fault but ~1 µs
/// through MADV_POPULATE_WRITE, and the GC clears each piece of gen0 it hands out, so every page a run allocates was
/// one fault: a static hello world allocates ~2.7 MiB (the decoder table, Iced's encoder tables), ~700 faults, ~7 ms
/// of 14; python3's start allocates 13 MiB as it translates. At start the GC is asked to commit gen0 ahead (a no-GC
/// region started and ended at once, while the heap is nearly empty, which costs one collection of that nearly empty
/// heap, counted apart in --stats: the memory stays committed until a collection,
/// and the 64 MiB gen0 budget makes a short run collect nothing); the part past the allocation point is then populated
/// a slice at a time, at start and each time the translator has made a few dozen blocks (<see cref="Ahead"/>), the
/// later slices on the page thread (<see cref="PageToucher"/>), which also reads each page once: a populated page's
/// first access from user mode still costs ~6 µs on these VMs, which the GC's clearing used to pay here. GC
/// regions of 64 MiB (Runtime.csproj) keep gen0 in the one region committed ahead: with the default 4 MiB regions gen0
/// moved on to a region nobody had committed after 4 MiB, and python3 kept 2,300 of its 3,100 heap faults.
/// Populating only ever touches memory the GC has committed (read-write, private, anonymous), so at worst it costs
/// resident memory the run would have used anyway; a kernel without MADV_POPULATE_WRITE (before 5.14) answers EINVAL
/// and the pages fault in one by one as before.
/// </summary>
public static unsafe class ManagedHeapPrefault
{
    /// <summary>Gen0 the GC commits ahead at start.</summary>
    private const long CommitAhead = 24L << 20;
    /// <summary>Kept populated past the allocation point; a slice populates up to this again once it is half used.</summary>
    private const ulong Slice = 1UL << 20;

    private static ulong _end;          // end of the committed read-write range holding gen0's allocation point
    private static ulong _populatedTo;  // [allocation point at start, _populatedTo) is populated

    /// <summary>The collections (gen0, gen1, gen2) the no-GC region's start made: --stats counts the run's own apart.</summary>
    public static (int Gen0, int Gen1, int Gen2) StartCollections { get; private set; }

    /// <summary>Commits gen0 ahead and populates its first slices (3 MiB: what every start allocates).
    /// Call first thing, on the main thread.</summary>
    public static void Start()
    {
        try
        {
            if (GC.TryStartNoGCRegion(CommitAhead)) GC.EndNoGCRegion();
        }
        catch (InvalidOperationException)
        {
            return; // already in a no-GC region or refused: nothing committed ahead, nothing to do
        }
        finally
        {
            StartCollections = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        }
        ulong at = AllocationPoint();
        if (!TryFindWritable(at, out ulong end)) return;
        _end = end;
        _populatedTo = at & ~4095UL;
        // here: the page thread reads only once GuardedCopy is placed, after this (reading what is left of this
        // part once it is placed measured no faster: the start has used most of it by then)
        Populate(at + 3 * Slice, here: true);
    }

    /// <summary>Populates the next slice when the allocation point has come within half a slice of the populated end.</summary>
    public static void Ahead()
    {
        if (_end == 0) return;
        ulong at = AllocationPoint();
        if (at + Slice / 2 >= _populatedTo && at < _end) Populate(at + Slice, here: false);
    }

    private static void Populate(ulong to, bool here)
    {
        ulong from = _populatedTo;
        to = Math.Min((to + 4095) & ~4095UL, _end);
        if (to <= from) return;
        _populatedTo = to;
        if (here) { LinuxHostMemory.PopulateNow((nint)from, to - from); return; }
        // on the page thread, which reads each page as well: on these VMs a page populated by the kernel still costs
        // ~6 µs at its first access from user mode, which would be the GC's clearing on this thread (python3's start
        // 0.89x); gen0 may be decommitted by a collection meanwhile, so the reads go through GuardedCopy
        PageToucher.Request((nint)from, to - from, mayUnmap: true);
    }

    /// <summary>Where gen0 allocates now: the address of a new one-byte array.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong AllocationPoint() => (ulong)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(new byte[1]));

    /// <summary>The end of the read-write private mapping holding <paramref name="address"/>, from /proc/self/maps.</summary>
    private static bool TryFindWritable(ulong address, out ulong end)
    {
        end = 0;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                int dash = line.IndexOf('-'), space = line.IndexOf(' ');
                if (dash < 0 || space < dash) continue;
                ulong lo = ulong.Parse(line.AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber);
                ulong hi = ulong.Parse(line.AsSpan(dash + 1, space - dash - 1), System.Globalization.NumberStyles.HexNumber);
                if (address < lo || address >= hi) continue;
                // anonymous (no file name after the inode) and private read-write: committed gen0
                if (!line.AsSpan(space + 1).StartsWith("rw-p") || line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length != 5) return false;
                end = hi;
                return true;
            }
        }
        catch (IOException)
        {
        }
        return false;
    }
}
