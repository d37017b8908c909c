namespace Dqemu.JitX64.Translation;

/// <summary>
/// Dropping translations. A guest range that is unmapped, remapped, re-protected or written while it held translated
/// code (self-modifying code, a JIT's mprotect) drops only the blocks translated from its pages: they leave the lookup,
/// the links other blocks made to them are undone (each site gets back the displacement it had, which leads to the
/// jump-cache probe and a Branch exit), and <see cref="Generation"/> moves on so that every runner clears its jump cache
/// and no link made before is completed. Their code stays in place for a thread still inside one (the caller raises
/// every thread's ExitRequest, and a block checks it on entry, so no dropped block is entered afresh). Breakpoints,
/// split-page marks and a full code cache drop everything (<see cref="DropAllLocked"/>).
/// </summary>
public sealed partial class Translator
{
    /// <summary>The live blocks (and one-instruction blocks) translated from each guest page. Under _lock.</summary>
    private readonly Dictionary<ulong, List<BlockMap>> _livePages = new();

    /// <summary>One patched exit: the site, the displacement it had before, the next link into the same block (-1 ends
    /// the chain; a free record's Next is the next free one). The links into a block are a chain from its
    /// <see cref="BlockMap.FirstLink"/>, in chunks that never move, rather than a list per block in a dictionary: a
    /// python3 start links ~70,000 exits into ~40,000 blocks, and as a short run collects nothing, every byte allocated
    /// (a doubled array's old copy included) is a fresh page touched, ~10 µs each on these VMs.</summary>
    private struct LinkRecord
    {
        public ulong Site;
        public int Before;
        public int Next;
    }

    private const int LinkChunkBits = 10;
    private readonly List<LinkRecord[]> _linkChunks = new();
    private int _linkCount, _freeLinks = -1;

    private ref LinkRecord LinkAt(int i) => ref _linkChunks[i >> LinkChunkBits][i & ((1 << LinkChunkBits) - 1)];

    private int NewLinkLocked(ulong site, int before, int next)
    {
        int i = _freeLinks;
        if (i >= 0) _freeLinks = LinkAt(i).Next;
        else
        {
            if (_linkCount == _linkChunks.Count << LinkChunkBits) _linkChunks.Add(new LinkRecord[1 << LinkChunkBits]);
            i = _linkCount++;
        }
        LinkAt(i) = new LinkRecord { Site = site, Before = before, Next = next };
        return i;
    }

    /// <summary>How many times everything was dropped (a block made before the last time is not current). Under _lock.</summary>
    private int _dropAlls;

    /// <summary>Guest ranges whose blocks were dropped alone, and blocks dropped so.</summary>
    public long RangesDropped, BlocksDropped;

    private void AddLiveLocked(BlockMap map)
    {
        for (int i = 0; i < map.PageCount; i++)
        {
            ulong page = map.PageAt(i);
            if (!_livePages.TryGetValue(page, out var list)) _livePages[page] = list = new List<BlockMap>();
            list.Add(map);
        }
    }

    /// <summary>
    /// The guest range [start, end) was unmapped, remapped, lost execute permission or was written: the blocks
    /// translated from it are dropped (see the class). Returns true when any was; the caller must then raise each
    /// thread's ExitRequest.
    /// </summary>
    public bool InvalidateRange(ulong start, ulong end)
    {
        lock (_lock)
        {
            ulong first = start >> 12, last = (end + 4095) >> 12; // pages [first, last)
            var hit = new List<BlockMap>();
            if (last - first <= (ulong)_livePages.Count)
            {
                for (ulong page = first; page < last; page++)
                    if (_livePages.TryGetValue(page, out var list)) hit.AddRange(list);
            }
            else
            {
                foreach (var (page, list) in _livePages)
                    if (page >= first && page < last) hit.AddRange(list);
            }
            if (hit.Count == 0) return false;
            foreach (var m in hit)
            {
                if (m.Dropped) continue; // on two pages of the range
                DropBlockLocked(m);
                BlocksDropped++;
            }
            _stepBlocks.Clear();
            RangesDropped++;
            Interlocked.Increment(ref _generation);
            return true;
        }
    }

    /// <summary>Takes block <paramref name="m"/> out of the lookup and of its pages' lists (its code stays) and undoes the
    /// links into it, or points them to <paramref name="replacement"/> when that is given (the host start of a new
    /// translation of the same guest code, Translator.Tiers.cs). Under _lock.</summary>
    private void DropBlockLocked(BlockMap m, ulong replacement = 0)
    {
        m.Dropped = true;
        for (int k = 0; k < m.PageCount; k++)
            if (_livePages.TryGetValue(m.PageAt(k), out var list) && list.Remove(m) && list.Count == 0) _livePages.Remove(m.PageAt(k));
        Cache.Forget(m.GuestStart, (nint)m.HostStart);
        int i = m.FirstLink;
        m.FirstLink = -1;
        var to = replacement != 0 ? BlockStartingAt(replacement) : null;
        int moved = to?.FirstLink ?? -1;
        while (i >= 0)
        {
            ref var link = ref LinkAt(i);
            int next = link.Next;
            // a site keeps the displacement it had before its first link, for an undo later
            if (to != null && CodeCache.Patch(link.Site, replacement, out _))
            {
                link.Next = moved;
                moved = i;
            }
            else
            {
                CodeCache.Unpatch(link.Site, link.Before);
                link.Next = _freeLinks;
                _freeLinks = i;
            }
            i = next;
        }
        if (to != null) to.FirstLink = moved;
    }

    /// <summary>Drops every translation (under _lock): old host code stays in place for threads still inside it;
    /// runners see the new <see cref="Generation"/> and clear their jump caches.</summary>
    private void DropAllLocked()
    {
        _livePages.Clear();
        foreach (var m in _blockMaps) m.FirstLink = -1;
        _linkCount = 0;
        _freeLinks = -1;
        _stepBlocks.Clear();
        _dropAlls++;
        Cache.ForgetAll();
        Interlocked.Increment(ref _generation);
    }

    /// <summary>
    /// Links an exit whose stub reported <paramref name="site"/> to <paramref name="target"/>, the block the runner
    /// looked up in <paramref name="generation"/>: only while that is still the generation (nothing was dropped
    /// meanwhile, so the target is live), and remembered so that dropping the target undoes it.
    /// </summary>
    public bool Link(ulong site, nint target, int generation)
    {
        if (!Options.LinkBlocks || site == 0) return false;
        lock (_lock)
        {
            if (generation != Generation) return false;
            // another runner linked it (to the same block: one live block per pc in a generation, and a tier-up moves
            // the links into the quick block to the full one). An unlinked site never holds a block's address: a jmp's
            // is the next instruction, a jcc's the taken side's code in its own block.
            if (CodeCache.Reaches(site, (ulong)target)) return true;
            var m = BlockStartingAt((ulong)target);
            if (m == null || m.Dropped || !CodeCache.Patch(site, (ulong)target, out int before)) return false;
            m.FirstLink = NewLinkLocked(site, before, m.FirstLink);
            return true;
        }
    }
}
