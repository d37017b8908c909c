namespace Dqemu.Runtime.Memory;

/// <summary>
/// Self-modifying code on one node: a guest page the guest may write and execute is write-protected on the host
/// once code is translated from it (<see cref="TryFetch"/>), so a later store into it faults instead of leaving a
/// stale translation behind. The dispatcher recognises that fault (<see cref="ReleaseCodePage"/>: the guest may
/// write there), the page gets its host write access back and its translations are dropped through
/// <see cref="LayoutChanged"/>, as an mprotect would drop them. Pages the guest cannot write (ordinary text) are never
/// touched, so a program that does not generate code pays nothing. Managed code and the host kernel writing guest
/// memory for a syscall release the pages they write first (<see cref="ReleaseCodeRange"/>, from
/// <see cref="IsAccessible"/> and Sys.Prefix), so a read() into a JIT's buffer neither fails with EFAULT nor leaves
/// stale code. Off in a cluster (<see cref="Coherence"/> set): the DSM owns the host protection of every page there,
/// and translations are dropped only by mprotect/munmap as before.
/// A page released <see cref="VolatileAfter"/> times (data written next to code, which would fault, drop every
/// translation and translate again at each write) is guarded no more: it becomes volatile code
/// (<see cref="IsVolatile"/>), whose blocks compare their guest bytes on entry instead (Translator.EmitByteCheck), so a
/// write of data costs nothing and a change of code is found at the next entry of a block holding it. A guest that
/// patches code it runs executes ISB before the new code (the architecture asks for it), and ISB ends a block, so the
/// patched instructions are behind a block entry.
/// </summary>
public sealed unsafe partial class GuestSpace
{
    /// <summary>Guarded pages (page numbers): host write access withdrawn because code was translated from them while
    /// the guest may write them. Under _lock; <see cref="_guardedCount"/> lets the syscall checks skip the lock.</summary>
    private readonly HashSet<ulong> _guarded = new();
    private int _guardedCount;
    /// <summary>How often each page was released (<see cref="ReleaseCodeRange"/>), and the pages released
    /// <see cref="VolatileAfter"/> times, which are not guarded again. Under _lock; both forgotten when the layout
    /// sets the page's protection afresh.</summary>
    private readonly Dictionary<ulong, int> _releases = new();
    private readonly HashSet<ulong> _volatile = new();
    private int _volatileCount;

    /// <summary>Releases of one page after which its code is checked on entry instead of guarded.</summary>
    public const int VolatileAfter = 16;

    /// <summary>Guarding is on (the default on one node); tests and --cluster runs turn it off.</summary>
    public bool GuardCode { get; set; } = true;

    /// <summary>Pages guarded so far, guarded pages released by a write (translated code's or a syscall's), and pages
    /// that became volatile code.</summary>
    public long CodePagesGuarded, CodeWrites, VolatileCodePages;

    /// <summary>
    /// The calling thread is translating the one instruction that wrote a guarded page (the dispatcher re-runs it with
    /// the page writable): fetches do not guard, or the instruction would fault on its own page again, for ever.
    /// </summary>
    [ThreadStatic] public static bool FetchWithoutGuard;

    /// <summary>Called by <see cref="TryFetch"/> for a pc in a vma the guest may write: withdraws the page's host
    /// write access before its bytes are read, so no write after the read goes unnoticed.</summary>
    private void GuardPage(ulong pc)
    {
        if (!GuardCode || Coherence != null || FetchWithoutGuard) return;
        ulong page = pc / PageSize;
        lock (_lock)
        {
            if (_guarded.Contains(page) || _volatile.Contains(page)) return;
            int i = FindIndexLocked(pc);
            if (i < 0 || (_vmas[i].Prot & GuestProt.Write) == 0) return;
            _host.Protect((nint)(Base + page * PageSize), PageSize, ToHost(_vmas[i].Prot & ~GuestProt.Write));
            _guarded.Add(page);
            _guardedCount = _guarded.Count;
            CodePagesGuarded++;
        }
    }

    /// <summary>
    /// A store by translated code faulted at <paramref name="addr"/>: when its page is guarded (the guest may write it),
    /// gives the page its host write access back and drops the translations made from it; true when it did (the
    /// store runs again), false when the fault is the guest's.
    /// </summary>
    public bool ReleaseCodePage(ulong addr) => addr < Size && ReleaseCodeRange(addr, 1);

    /// <summary>
    /// Managed code or the host kernel is about to write guest [addr, addr+len) for the guest: releases the guarded pages
    /// in it as <see cref="ReleaseCodePage"/> does. True when any was released. Cheap when no page is guarded.
    /// <paramref name="byWrite"/> false: the host is about to move or discard the pages (mremap, MADV_DONTNEED), which
    /// counts nothing towards <see cref="VolatileAfter"/>.
    /// </summary>
    public bool ReleaseCodeRange(ulong addr, ulong len, bool byWrite = true)
    {
        if (Volatile.Read(ref _guardedCount) == 0 || len == 0 || addr >= Size) return false;
        ulong end = addr + len < addr || addr + len > Size ? Size : addr + len;
        ulong first = addr / PageSize, last = (end - 1) / PageSize;
        ulong lo = ulong.MaxValue, hi = 0;
        lock (_lock)
        {
            foreach (ulong page in PagesIn(_guarded, first, last))
            {
                int i = FindIndexLocked(page * PageSize);
                // guarded pages leave the set whenever their protection is set again (ForgetGuardsLocked), so the
                // guest may still write this one; a page without Write would only mean a bookkeeping error
                var prot = i < 0 ? GuestProt.None : _vmas[i].Prot;
                if ((prot & GuestProt.Write) == 0) continue;
                _host.Protect((nint)(Base + page * PageSize), PageSize, ToHost(prot));
                _guarded.Remove(page);
                int n = byWrite ? (_releases[page] = _releases.GetValueOrDefault(page) + 1) : 0;
                if (n >= VolatileAfter && _volatile.Add(page))
                {
                    _volatileCount = _volatile.Count;
                    VolatileCodePages++;
                }
                lo = Math.Min(lo, page);
                hi = Math.Max(hi, page);
                if (byWrite) CodeWrites++;
            }
            _guardedCount = _guarded.Count;
        }
        if (lo == ulong.MaxValue) return false;
        // outside the layout lock, as every primitive raises it: the translator takes its own lock first
        LayoutChanged?.Invoke(lo * PageSize, (hi + 1) * PageSize);
        return true;
    }

    /// <summary>The layout primitives set the host protection of [start, end) afresh (map, unmap, protect): its pages
    /// are not guarded any more. Under _lock.</summary>
    private void ForgetGuardsLocked(ulong start, ulong end)
    {
        if (end <= start) return;
        ulong first = start / PageSize, last = (end - 1) / PageSize;
        if (_guarded.Count != 0) foreach (ulong page in PagesIn(_guarded, first, last)) _guarded.Remove(page);
        if (_releases.Count != 0) foreach (ulong page in PagesIn(_releases.Keys, first, last)) _releases.Remove(page);
        if (_volatile.Count != 0) foreach (ulong page in PagesIn(_volatile, first, last)) _volatile.Remove(page);
        _guardedCount = _guarded.Count;
        _volatileCount = _volatile.Count;
    }

    /// <summary>
    /// True when the code at <paramref name="pc"/> is volatile (see the class comment): its blocks check their bytes on
    /// entry. The translator asks for every instruction it reads.
    /// </summary>
    public bool IsVolatile(ulong pc)
    {
        if (Volatile.Read(ref _volatileCount) == 0) return false;
        lock (_lock) return _volatile.Contains(pc / PageSize);
    }

    /// <summary>The pages of <paramref name="set"/> in [first, last] (page numbers), walking whichever of the range and
    /// the set is smaller (an munmap of a large range, a set of a few pages). Under _lock; a copy, so callers may remove.</summary>
    private static List<ulong> PagesIn(IReadOnlyCollection<ulong> set, ulong first, ulong last)
    {
        var found = new List<ulong>();
        if (last - first + 1 > (ulong)set.Count)
        {
            foreach (ulong page in set) if (page >= first && page <= last) found.Add(page);
        }
        else
        {
            var lookup = (ICollection<ulong>)set;
            for (ulong page = first; page <= last; page++) if (lookup.Contains(page)) found.Add(page);
        }
        return found;
    }
}
