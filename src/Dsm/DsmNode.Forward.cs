namespace Dqemu.Dsm;

// Data forwarding, the read-ahead part: pages fetched before the guest asks for them. A prefetched page arrives like
// any read or write (Shared or Modified, the directory knows the copy) but its view stays one step short until the
// guest touches it, so that the first access is seen: a local fault that opens the view and counts a hit (a few
// microseconds instead of a round trip). A prefetched page invalidated or taken before any touch counts as wasted.
public sealed partial class DsmNode
{
    /// <summary>
    /// Starts a read request for <paramref name="page"/> when this node has no copy, or with <paramref name="write"/>
    /// a write request when it holds none or a Shared one, and none is on its way; returns at once (true when a
    /// request went out). A read arrives Shared with its view closed; a write arrives Modified with its view closed,
    /// or read-only when this node held it Shared (an upgrade): see <see cref="TakePrefetched"/>. Call it from a guest
    /// thread, not from a handler.
    /// </summary>
    public bool Prefetch(ulong page, bool write = false)
    {
        if (_failure != null) return false;
        var s = LocalStripeOf(page);
        lock (s)
        {
            if (!s.Pages.TryGetValue(page, out var e))
            {
                if (_initialState != PageState.Invalid) return false;
                e = new LocalPage(_initialState);
                s.Pages.Add(page, e);
            }
            var enough = write ? PageState.Modified : PageState.Shared;
            if (e.State >= enough || e.InFlight != InFlight.None || e.Deferred != 0 || e.Pins > 0) return false;
            e.InFlight = write ? InFlight.Write : InFlight.Read;
            e.Prefetched = true;
        }
        Interlocked.Increment(ref _c.Prefetches);
        try
        {
            Post(HomeOf(page), write ? DsmMessages.WriteReq : DsmMessages.ReadReq,
                RequestBody(page, DsmMessages.NoOffset, stackalloc byte[DsmMessages.RequestSize]));
        }
        catch (Exception ex)
        {
            Fail($"node {_self}: prefetch of page 0x{page:x}: {ex.Message}");
        }
        return true;
    }

    /// <summary>
    /// The guest touched <paramref name="page"/>, which this node holds: true (counted as a hit) when it came by
    /// <see cref="Prefetch"/> and had not been touched yet; the caller then opens its view.
    /// </summary>
    public bool TakePrefetched(ulong page)
    {
        var s = LocalStripeOf(page);
        lock (s)
        {
            if (!s.Pages.TryGetValue(page, out var e) || !e.Prefetched || e.InFlight != InFlight.None) return false;
            e.Prefetched = false;
        }
        Interlocked.Increment(ref _c.PrefetchHits);
        return true;
    }

    /// <summary>
    /// Up to <paramref name="max"/> pages this node holds (Shared or Modified) with nothing on its way or held back, in
    /// no order:
    /// what a node hands over when its last guest thread moves away (the thread's data follows it, in one burst of
    /// <see cref="Prefetch"/>es by the node it went to, instead of a remote fault per page). Node 0's untouched pages
    /// have no entry and are not listed.
    /// </summary>
    public List<ulong> HeldPages(int max)
    {
        var pages = new List<ulong>();
        foreach (var s in _local)
            lock (s)
                foreach (var (page, e) in s.Pages)
                {
                    if (pages.Count >= max) return pages;
                    if (e.State >= PageState.Shared && e.InFlight == InFlight.None && e.Deferred == 0) pages.Add(page);
                }
        return pages;
    }

    /// <summary>Prefetched pages so far, those the guest then touched, and those that went (invalidated, taken) untouched.</summary>
    public (long Prefetched, long Hits, long Wasted) ForwardingCounts =>
        (Interlocked.Read(ref _c.Prefetches), Interlocked.Read(ref _c.PrefetchHits), Interlocked.Read(ref _c.PrefetchWasted));

    /// <summary>Under the stripe lock: the page leaves this node; an untouched prefetch was wasted. A prefetch still on
    /// its way (a write upgrade whose Shared copy goes first) stays one: the home answers it with the data.</summary>
    private void DropPrefetched(LocalPage e)
    {
        if (!e.Prefetched || e.InFlight != InFlight.None) return;
        e.Prefetched = false;
        Interlocked.Increment(ref _c.PrefetchWasted);
    }
}
