using System.Runtime.InteropServices;

namespace Dqemu.JitX64.Translation;

/// <summary>
/// --profile: one 64-bit execution counter per translated block, which the block's code increments at its start and,
/// in a block that loops on itself, at every iteration (the loop head). Counters live in native memory of their own,
/// never in the code cache, where a store would be self-modifying code to the CPU. The increment is not atomic: two
/// threads running one block at once may lose counts (a profile, not an invariant). A block translated again (after
/// an invalidation) gets a new counter; <see cref="Hottest"/> adds them up by guest address.
/// </summary>
public sealed unsafe class BlockCounters
{
    private const int ChunkCounters = 8192;
    private readonly object _lock = new();
    private readonly List<(ulong Pc, nint Counter)> _blocks = new();
    private long* _chunk;
    private int _usedInChunk = ChunkCounters;

    /// <summary>A zeroed counter for the block at <paramref name="guestPc"/> (the translator calls this once per block).</summary>
    internal long* Allocate(ulong guestPc)
    {
        lock (_lock)
        {
            if (_usedInChunk == ChunkCounters)
            {
                _chunk = (long*)NativeMemory.AllocZeroed(ChunkCounters, sizeof(long)); // kept for the process's life
                _usedInChunk = 0;
            }
            long* c = _chunk + _usedInChunk++;
            _blocks.Add((guestPc, (nint)c));
            return c;
        }
    }

    /// <summary>The <paramref name="count"/> guest block addresses run most often, with their counts, most first.</summary>
    public List<(ulong Pc, long Count)> Hottest(int count)
    {
        var byPc = new Dictionary<ulong, long>();
        lock (_lock)
            foreach (var (pc, counter) in _blocks)
                byPc[pc] = byPc.GetValueOrDefault(pc) + Volatile.Read(ref *(long*)counter);
        return byPc.Select(kv => (kv.Key, kv.Value)).OrderByDescending(x => x.Value).ThenBy(x => x.Key).Take(count).ToList();
    }

    /// <summary>All counts added up: block executions (loop iterations of self-looping blocks included).</summary>
    public long Total
    {
        get
        {
            long sum = 0;
            lock (_lock)
                foreach (var (_, counter) in _blocks) sum += Volatile.Read(ref *(long*)counter);
            return sum;
        }
    }
}
