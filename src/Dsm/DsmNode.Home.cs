using System.Numerics;

namespace Dqemu.Dsm;

/// <summary>What a home found about one page: see <see cref="DsmNode.DirectoryEntry"/>.</summary>
/// <param name="Copies">Bit n set = node n holds a valid copy (the owner when <paramref name="Modified"/>).</param>
/// <param name="Modified">The single holder has it read/write.</param>
/// <param name="Busy">A transaction is running on the page.</param>
/// <param name="Requester">The node the running transaction serves (-1 when idle).</param>
/// <param name="Queued">How many requests wait behind it.</param>
/// <param name="QueuedNodes">The waiting requests in FIFO order, oldest first, as (node, write) pairs.</param>
public readonly record struct DirectoryEntryInfo(
    ulong Copies, bool Modified, bool Busy, int Requester, int Queued, (int Node, bool Write)[] QueuedNodes);

// The home half of the protocol: the directory entries of the pages whose home is this node, one transaction per page
// at a time, later requests in a FIFO.
public sealed partial class DsmNode
{
    /// <summary>
    /// The directory entry of <paramref name="page"/> as this node, its home, sees it (for tests and diagnostics).
    /// </summary>
    /// <exception cref="InvalidOperationException">this node is not the page's home.</exception>
    public DirectoryEntryInfo DirectoryEntry(ulong page)
    {
        if (HomeOf(page) != _self) throw new InvalidOperationException($"node {_self} is not the home of page 0x{page:x}");
        var d = DirStripeOf(page);
        lock (d)
        {
            if (!d.Entries.TryGetValue(page, out var e)) return new(Bit(0), true, false, -1, 0, []);
            var q = new (int, bool)[e.QCount];
            for (int i = 0; i < e.QCount; i++)
            {
                int v = e.Queue![(e.QHead + i) % e.Queue.Length];
                q[i] = (v >> 1, (v & 1) != 0);
            }
            return new(e.Copies, e.Modified, e.Busy, e.Busy ? e.Requester : -1, e.QCount, q);
        }
    }

    /// <summary>
    /// For hang diagnosis (DQEMU_CLUSTER_DUMP): every page this node holds an unusual local state for (a request in
    /// flight, waiters, pins, a held-back request, a read-ahead mark) and every busy or queued directory entry it is the
    /// home of, one line each.
    /// </summary>
    public string DebugDump()
    {
        var sb = new System.Text.StringBuilder();
        foreach (var s in _local)
            lock (s)
                foreach (var (page, e) in s.Pages)
                    if (e.InFlight != InFlight.None || e.Waiters > 0 || e.Pins > 0 || e.Deferred != 0 || e.Prefetched)
                        sb.Append($"  local 0x{page:x}: {e.State} inflight {e.InFlight} waiters {e.Waiters} pins {e.Pins}/{e.WritePins} " +
                                  $"deferred {e.Deferred} for {e.DeferredRequester} completions {e.Completions} prefetched {e.Prefetched}\n");
        foreach (var d in _dir)
            lock (d)
                foreach (var (page, e) in d.Entries)
                    if (e.Busy || e.QCount > 0)
                        sb.Append($"  home 0x{page:x}: copies 0x{e.Copies:x} modified {e.Modified} busy {e.Busy} write {e.Write} " +
                                  $"requester {e.Requester} supplier {e.Supplier} invacks {e.PendingInvAcks} queued {e.QCount}\n");
        return sb.ToString();
    }

    private void HomeRequest(ulong page, int from, bool write, ushort offset)
    {
        CheckHome(page);
        var a = HomeAction.None;
        var d = DirStripeOf(page);
        int split = 0;
        lock (d)
        {
            var e = DirEntryOf(d, page);
            if (_options.SplitAfter > 0)
            {
                if (page >= _options.SplitPageLimit) split = NoteHandOff(e, from) ? -1 : 0; // a unit of a split page
                else if (offset != DsmMessages.NoOffset) split = NoteSharing(e, from, offset);
            }
            if (e.Busy)
            {
                e.Enqueue(from, write);
                Interlocked.Increment(ref _c.QueuedRequests);
            }
            else Begin(page, e, from, write, ref a);
        }
        if (split != 0) SuggestSplit(page, split); // before the answer goes out: the requester sees it happened
        Run(page, in a);
    }

    private void HomeInvAck(ulong page, int from)
    {
        CheckHome(page);
        var a = HomeAction.None;
        var d = DirStripeOf(page);
        lock (d)
        {
            var e = DirEntryOf(d, page);
            if (!e.Busy || !e.Write || e.PendingInvAcks <= 0 || (e.Copies & Bit(from)) == 0)
                throw new ProtocolException($"page 0x{page:x}: unexpected InvAck from node {from}");
            e.Copies &= ~Bit(from);
            if (--e.PendingInvAcks == 0) Proceed(e, ref a);
        }
        Run(page, in a);
    }

    private void HomeAck(ulong page, int from, PageState state)
    {
        CheckHome(page);
        var a = HomeAction.None;
        var d = DirStripeOf(page);
        lock (d)
        {
            var e = DirEntryOf(d, page);
            if (!e.Busy || e.Requester != from || e.PendingInvAcks != 0
                || state != (e.Write ? PageState.Modified : PageState.Shared))
                throw new ProtocolException($"page 0x{page:x}: unexpected Ack ({state}) from node {from}");
            if (e.Write)
            {
                e.Copies = Bit(from);
                e.Modified = true;
            }
            else
            {
                e.Copies |= Bit(from);
                e.Modified = false;
            }
            e.Busy = false;
            e.Requester = -1;
            if (e.TryDequeue(out int next, out bool write)) Begin(page, e, next, write, ref a);
        }
        Run(page, in a);
    }

    /// <summary>Starts a transaction (under the entry's lock): decides who supplies, who is invalidated.</summary>
    private void Begin(ulong page, DirEntry e, int r, bool write, ref HomeAction a)
    {
        if (e.Copies == 0) throw new ProtocolException($"page 0x{page:x}: the directory lost every copy");
        ulong rbit = Bit(r);
        bool has = (e.Copies & rbit) != 0;
        if (has && (!write || e.Modified))
            throw new ProtocolException(
                $"page 0x{page:x}: node {r} asks for {(write ? "write" : "read")} access it already holds ({(e.Modified ? "Modified" : "Shared")})");
        if (_options.PushUpdates) NoteReaders(e, r, write, ref a);
        e.Busy = true;
        e.Requester = r;
        e.Write = write;
        e.Supplier = has ? -1 : PickSupplier(e);
        if (!write)
        {
            a.To = e.Supplier;
            a.Type = DsmMessages.Forward;
            a.Requester = r;
            return;
        }
        ulong inv = e.Copies & ~rbit;
        if (e.Supplier >= 0) inv &= ~Bit(e.Supplier);
        e.PendingInvAcks = BitOperations.PopCount(inv);
        a.Invalidate = inv;
        if (inv == 0) Proceed(e, ref a);
    }

    /// <summary>Every other copy is gone: move the data (or the right) to the writer.</summary>
    private static void Proceed(DirEntry e, ref HomeAction a)
    {
        if (e.Supplier < 0)
        {
            a.To = e.Requester;
            a.Type = DsmMessages.Grant;
        }
        else
        {
            a.To = e.Supplier;
            a.Type = DsmMessages.FetchInvalidate;
            a.Requester = e.Requester;
        }
    }

    /// <summary>The Modified owner; else the home itself when it shares the page; else the lowest-numbered sharer.</summary>
    private int PickSupplier(DirEntry e)
    {
        if (!e.Modified && (e.Copies & Bit(_self)) != 0) return _self;
        return BitOperations.TrailingZeroCount(e.Copies);
    }

    /// <summary>Sends what <see cref="Begin"/>/<see cref="Proceed"/> decided, outside the lock.</summary>
    private void Run(ulong page, in HomeAction a)
    {
        Span<byte> buf = stackalloc byte[12];
        for (ulong inv = a.Invalidate; inv != 0; inv &= inv - 1)
        {
            int node = BitOperations.TrailingZeroCount(inv);
            Interlocked.Increment(ref _c.InvalidationsSent);
            Post(node, DsmMessages.Invalidate, PageBody(page, buf));
        }
        if (a.To >= 0)
        {
            if (a.Type == DsmMessages.Grant)
                Post(a.To, DsmMessages.Grant, PageStateBody(page, PageState.Modified, buf));
            else
                Post(a.To, a.Type, PageNodeBody(page, a.Requester, buf));
        }
        if (a.Offer != 0) SendOffers(page, a.Offer, buf); // after the Forward: the offered readers' requests queue behind it
    }

    private void CheckHome(ulong page)
    {
        if (HomeOf(page) != _self)
            throw new ProtocolException($"page 0x{page:x}: node {_self} is not its home (node {HomeOf(page)} is)");
    }

    private static DirEntry DirEntryOf(DirStripe d, ulong page)
    {
        if (!d.Entries.TryGetValue(page, out var e))
        {
            e = new DirEntry();
            d.Entries.Add(page, e);
        }
        return e;
    }

    private sealed class DirStripe
    {
        public readonly Dictionary<ulong, DirEntry> Entries = new();
    }

    /// <summary>Messages a home sends after leaving the lock: Invalidates, or one Forward/FetchInvalidate/Grant, then offers.</summary>
    private struct HomeAction
    {
        public ulong Invalidate;
        public int To;
        public ushort Type;
        public int Requester;
        public ulong Offer;  // readers of a read-mostly page told to ask for it (DsmNode.Update.cs)

        public static HomeAction None => new() { To = -1 };
    }

    /// <summary>One page's directory entry. Guarded by its stripe's lock. A page never seen is owned by node 0, Modified.</summary>
    private sealed class DirEntry
    {
        public ulong Copies = 1;        // node 0
        public bool Modified = true;
        public bool Busy;
        public bool Write;
        public int Requester = -1;
        public int Supplier = -1;
        public int PendingInvAcks;
        public int[]? Queue;             // ring of (node << 1 | write)
        public SharingSamples? Sharing;  // page splitting: see DsmNode.Split.cs
        public ulong Readers, ReRead;    // update offers (DsmNode.Update.cs): copies the last write took; who came back
        public int OfferLeft;            // writes still to be offered
        public bool Offered;             // this epoch's readers were told
        public int QHead, QCount;

        public void Enqueue(int node, bool write)
        {
            Queue ??= new int[4];
            if (QCount == Queue.Length)
            {
                var bigger = new int[Queue.Length * 2];
                for (int i = 0; i < QCount; i++) bigger[i] = Queue[(QHead + i) % Queue.Length];
                Queue = bigger;
                QHead = 0;
            }
            Queue[(QHead + QCount) % Queue.Length] = node << 1 | (write ? 1 : 0);
            QCount++;
        }

        public bool TryDequeue(out int node, out bool write)
        {
            if (QCount == 0)
            {
                node = -1;
                write = false;
                return false;
            }
            int v = Queue![QHead];
            QHead = (QHead + 1) % Queue.Length;
            QCount--;
            node = v >> 1;
            write = (v & 1) != 0;
            return true;
        }
    }
}
