namespace Dqemu.Dsm;

// Layout changes: memory that is unmapped or replaced starts over in the initial state on every node.
public sealed partial class DsmNode
{
    /// <summary>
    /// Forgets [firstPage, firstPage + count): this node's copies go back to the start state (node 0 Modified,
    /// others Invalid) and the directory entries this node is home of go back to "owned by node 0". Every node
    /// applies it for the same range while the guest's layout changes (munmap, MAP_FIXED, brk), so the cluster as
    /// a whole starts the range over; node 0's memory there is zero again. Pages still pinned or in flight are a
    /// guest race (it unmaps memory another thread is using) and are left as they are.
    /// </summary>
    public void ResetRange(ulong firstPage, ulong count)
    {
        if (count == 0) return;
        ulong end = firstPage + count;
        bool scan = count > 4096; // a huge range: walk the entries that exist instead of every page
        foreach (var s in _local)
        {
            lock (s)
            {
                if (s.Pages.Count == 0) continue;
                if (scan)
                {
                    List<ulong>? drop = null;
                    foreach (var (page, e) in s.Pages)
                        if (page >= firstPage && page < end && Resettable(e)) (drop ??= new()).Add(page);
                    if (drop != null) foreach (var p in drop) s.Pages.Remove(p);
                }
            }
        }
        if (!scan)
        {
            for (ulong p = firstPage; p < end; p++)
            {
                var s = LocalStripeOf(p);
                lock (s)
                    if (s.Pages.TryGetValue(p, out var e) && Resettable(e)) s.Pages.Remove(p);
            }
        }
        foreach (var d in _dir)
        {
            lock (d)
            {
                if (d.Entries.Count == 0) continue;
                List<ulong>? drop = null;
                foreach (var (page, e) in d.Entries)
                    if (page >= firstPage && page < end && !e.Busy) (drop ??= new()).Add(page);
                if (drop != null) foreach (var p in drop) d.Entries.Remove(p);
            }
        }
    }

    private static bool Resettable(LocalPage e) => e.Pins == 0 && e.InFlight == InFlight.None && e.Waiters == 0 && e.Deferred == 0;

    /// <summary>
    /// Calls <paramref name="visit"/> for every page of [firstPage, firstPage + count) whose state on this node
    /// differs from the start state (so the caller can set those pages' protection after a layout change).
    /// The states are a snapshot: a page changing meanwhile gets its own protection update from the engine.
    /// </summary>
    public void ForEachChangedPage(ulong firstPage, ulong count, Action<ulong, PageState> visit)
    {
        if (count == 0) return;
        ulong end = firstPage + count;
        var found = new List<(ulong, PageState)>();
        if (count > 4096)
        {
            foreach (var s in _local)
                lock (s)
                    foreach (var (page, e) in s.Pages)
                        if (page >= firstPage && page < end && e.State != _initialState) found.Add((page, e.State));
        }
        else
        {
            for (ulong p = firstPage; p < end; p++)
            {
                var s = LocalStripeOf(p);
                lock (s)
                    if (s.Pages.TryGetValue(p, out var e) && e.State != _initialState) found.Add((p, e.State));
            }
        }
        foreach (var (page, state) in found) visit(page, state);
    }
}
