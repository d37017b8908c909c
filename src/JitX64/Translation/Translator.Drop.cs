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

    /// <summary>The patched exits into each live block (by its host start): the site and the displacement it had
    /// before. Under _lock.</summary>
    private readonly Dictionary<ulong, List<(ulong Site, int Before)>> _linksTo = new();

    /// <summary>The sites patched (and not undone): two runners leaving through one site link it once. Under _lock.</summary>
    private readonly HashSet<ulong> _linkedSites = new();

    /// <summary>How many times everything was dropped (a block made before the last time is not current). Under _lock.</summary>
    private int _dropAlls;

    /// <summary>Guest ranges whose blocks were dropped alone, and blocks dropped so.</summary>
    public long RangesDropped, BlocksDropped;

    private void AddLiveLocked(BlockMap map)
    {
        for (ulong page = map.GuestStart >> 12; page <= map.GuestLast >> 12; page++)
        {
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
        for (ulong page = m.GuestStart >> 12; page <= m.GuestLast >> 12; page++)
            if (_livePages.TryGetValue(page, out var list) && list.Remove(m) && list.Count == 0) _livePages.Remove(page);
        Cache.Forget(m.GuestStart, (nint)m.HostStart);
        if (!_linksTo.Remove(m.HostStart, out var sites)) return;
        List<(ulong Site, int Before)>? moved = null;
        foreach (var (site, before) in sites)
        {
            // a site keeps the displacement it had before its first link, for an undo later
            if (replacement != 0 && CodeCache.Patch(site, replacement, out _)) (moved ??= new()).Add((site, before));
            else
            {
                CodeCache.Unpatch(site, before);
                _linkedSites.Remove(site);
            }
        }
        if (moved != null) _linksTo[replacement] = moved;
    }

    /// <summary>Drops every translation (under _lock): old host code stays in place for threads still inside it;
    /// runners see the new <see cref="Generation"/> and clear their jump caches.</summary>
    private void DropAllLocked()
    {
        _livePages.Clear();
        _linksTo.Clear();
        _linkedSites.Clear();
        _stepBlocks.Clear();
        _replaced.Clear();
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
            if (generation != Generation || _replaced.Contains((ulong)target)) return false;
            if (_linkedSites.Contains(site)) return true; // another runner linked it (to the same block: one per pc)
            if (!CodeCache.Patch(site, (ulong)target, out int before)) return false;
            _linkedSites.Add(site);
            if (!_linksTo.TryGetValue((ulong)target, out var sites)) _linksTo[(ulong)target] = sites = new();
            sites.Add((site, before));
            return true;
        }
    }
}
