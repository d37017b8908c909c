using Dqemu.Dsm;
using Dqemu.JitX64.Host;
using Dqemu.Runtime.Memory;

namespace Dqemu.Runtime.Cluster;

/// <summary>
/// One node's guest memory in a cluster: the bridge between <see cref="GuestSpace"/> (the layout, the guest's
/// protections) and <see cref="DsmNode"/> (which pages this node holds). A page's host protection is always the
/// guest's protection narrowed by the page state: Invalid = none, Shared = read, Modified = the guest's own.
/// Page contents move through the always-writable alias mapping (<see cref="GuestSpace.Alias"/>).
/// </summary>
/// <remarks>
/// Locks: <see cref="_protLock"/> orders every mprotect of the guest view, so a layout change and a page-state
/// change on the same page cannot leave a stale protection behind. The engine calls <see cref="Protect"/> from
/// transport receive threads; it must never wait for the layout lock, which node 0 holds while the other nodes
/// apply a layout change (their answers arrive on those receive threads): hence the lock-free
/// <see cref="GuestSpace.ProtAt"/>.
/// </remarks>
internal sealed unsafe class ClusterMemory : IPageStore, IGuestCoherence, IFutexMemory
{
    private const ulong Page = DsmNode.PageSize;

    private readonly GuestSpace _space;
    private readonly IHostMemory _host;
    private readonly object _protLock = new();
    private DsmNode? _dsm;

    [ThreadStatic] private static List<PinnedRange>? _pins;

    public ClusterMemory(GuestSpace space, IHostMemory host, int self)
    {
        _space = space;
        _host = host;
        Self = self;
    }

    public int Self { get; }

    /// <summary>This node's split pages (see <see cref="PageSplitter"/>).</summary>
    public PageSplitter Split { get; } = new();

    /// <summary>Merges split page (first argument) back before managed code touches it: node 0 does it, a worker asks
    /// node 0; returns once the page is whole on this node. With false the units' data is dropped instead (the page
    /// is being replaced or unmapped). Null until the node is attached (no page is split then).</summary>
    public Action<ulong, bool>? Merge { get; set; }

    /// <summary>Faults on shadow units so far (a split page's units moving between nodes).</summary>
    public long UnitFaults;

    public DsmNode Dsm
    {
        get => _dsm ?? throw new InvalidOperationException("the coherence engine is not attached");
        set => _dsm = value;
    }

    /// <summary>Node 0 only: applies a layout change on every other node and returns once all have.</summary>
    public Action<LayoutOp, ulong, ulong, GuestProt, string>? Replicate { get; set; }

    /// <summary>Workers only: <see cref="IGuestCoherence.RefreshLayout"/> (asks node 0).</summary>
    public Func<ulong, ulong, bool>? Refresh { get; set; }

    private PageState Initial => Self == 0 ? PageState.Modified : PageState.Invalid;

    public static HostProtection Narrow(GuestProt prot, PageState state) => state switch
    {
        PageState.Modified => GuestSpace.ToHost(prot),
        PageState.Shared => GuestSpace.ToHost(prot) & HostProtection.Read,
        _ => HostProtection.None,
    };

    // ---------------------------------------------------------------- IPageStore (the engine's side)

    public void Protect(ulong page, PageState state)
    {
        lock (_protLock) _host.Protect((nint)(_space.Base + page * Page), Page, ViewOf(page, state));
    }

    /// <summary>
    /// The host protection of a page (guest page or shadow unit) held in <paramref name="state"/>: a split page's own
    /// view is closed (its data lives in the units); a unit is open as its page's protection allows only while its
    /// slot is active (filling, merging and retired slots are closed: accesses wait or run again).
    /// </summary>
    private HostProtection ViewOf(ulong page, PageState state)
    {
        ulong addr = page * Page;
        if (PageSplitter.IsShadow(addr))
        {
            int slot = PageSplitter.SlotOf(addr).Slot;
            return Split.StateOf(slot) == PageSplitter.SlotState.Active
                ? Narrow(_space.ProtAt(Split.PageOf(slot) * Page), state) : HostProtection.None;
        }
        return Split.IsSplit(page) ? HostProtection.None : Narrow(_space.ProtAt(addr), state);
    }

    /// <summary>
    /// Sets the guest view of a page this node holds from its state, read under the protection lock: that makes
    /// progress certain without undoing a newer change (the engine's own Protect follows its state change).
    /// </summary>
    private void SetViewFromState(ulong page)
    {
        lock (_protLock) _host.Protect((nint)(_space.Base + page * Page), Page, ViewOf(page, Dsm.State(page)));
    }

    /// <summary>Sets the views of <paramref name="slot"/>'s units and of its page from their states and the slot's
    /// (after the slot's state or the page's split changed).</summary>
    public void ReprotectSplit(int slot)
    {
        ulong page = Split.PageOf(slot);
        int units = PageSplitter.UnitCount(Split.ShiftOf(slot));
        lock (_protLock) // all of them at once (SetViewFromState takes it again, reentrantly)
        {
            for (int k = 0; k < units; k++) SetViewFromState(PageSplitter.UnitPage(slot, k) / Page);
            SetViewFromState(page);
        }
    }

    public void Read(ulong page, Span<byte> dst) => new ReadOnlySpan<byte>(_space.Alias + page * Page, (int)Page).CopyTo(dst);

    public void Write(ulong page, ReadOnlySpan<byte> src) => src.CopyTo(new Span<byte>(_space.Alias + page * Page, (int)Page));

    // ---------------------------------------------------------------- IGuestCoherence (the layout's side)

    public void OnLayout(LayoutOp op, ulong start, ulong end, GuestProt prot, string name)
    {
        ulong first = start / Page, count = (end - start) / Page;
        // node 0: split pages of the range are merged first (their units would outlive the change), under the split
        // lock so that no split of the range can slip in before the change reaches every node
        lock (Self == 0 ? SplitLock : _protLock)
        {
            if (Self == 0) MergeSplitPages(start, end - start, keepData: op is not (LayoutOp.Map or LayoutOp.Unmap));
            lock (_protLock)
            {
                if (op is LayoutOp.Map or LayoutOp.Unmap) _dsm?.ResetRange(first, count);
                _host.Protect((nint)(_space.Base + start), end - start, Narrow(prot, Initial));
                _dsm?.ForEachChangedPage(first, count, (p, s) =>
                    _host.Protect((nint)(_space.Base + p * Page), Page, Narrow(prot, s)));
            }
            if (op != LayoutOp.Widen) Replicate?.Invoke(op, start, end, prot, name);
        }
    }

    /// <summary>Node 0: held while a page is split or merged, and across a layout change.</summary>
    public readonly object SplitLock = new();

    public bool RefreshLayout(ulong addr, ulong len) => Refresh?.Invoke(addr, len) ?? false;

    public void MakeResident(ulong addr, ulong len, bool write)
    {
        if (_dsm == null || len == 0) return;
        while (true)
        {
            // managed code reads and writes the page itself: a split page is merged first, and checked again once
            // pinned (a split that came in between is undone; a pinned page cannot be split meanwhile)
            MergeSplitPages(addr, len);
            var pin = _dsm.PinRange(addr, len, write);
            if (!AnySplit(addr, len))
            {
                (_pins ??= new()).Add(pin);
                // syscalls reach the buffer through the guest view: a page read ahead and not touched yet has it
                // closed; pinned, its state holds, so the view is set from it
                for (ulong p = pin.FirstPage; p < pin.FirstPage + pin.PageCount; p++)
                    if (_dsm.TakePrefetched(p)) SetViewFromState(p);
                return;
            }
            pin.Dispose();
        }
    }

    // both run for every syscall buffer: with no page ever split (the usual case) they return before enumerating
    private bool AnySplit(ulong addr, ulong len) => Split.SlotsUsed != 0 && SplitPagesIn(addr, len).Any();

    private void MergeSplitPages(ulong addr, ulong len, bool keepData = true)
    {
        if (Split.SlotsUsed == 0) return;
        foreach (ulong p in SplitPagesIn(addr, len)) Merge?.Invoke(p, keepData);
    }

    /// <summary>The split pages among those of [addr, addr + len): page by page, or for a range with more pages than
    /// slots were ever used, slot by slot.</summary>
    private IEnumerable<ulong> SplitPagesIn(ulong addr, ulong len)
    {
        int slots = Math.Min(Split.SlotsUsed, GuestSpace.ShadowSlots);
        if (slots == 0 || len == 0) yield break;
        ulong first = addr / Page, last = (addr + len - 1) / Page;
        if (last - first < (ulong)slots)
        {
            for (ulong p = first; p <= last; p++)
                if (Split.IsSplit(p)) yield return p;
            yield break;
        }
        for (int slot = 0; slot < slots; slot++)
        {
            ulong p = Split.PageOf(slot);
            if (p >= first && p <= last && Split.IsSplit(p)) yield return p;
        }
    }

    public void ReleaseResident()
    {
        var pins = _pins;
        if (pins == null || pins.Count == 0) return;
        foreach (var p in pins) p.Dispose();
        pins.Clear();
    }

    public void EnsureReadable(ulong addr) => _dsm?.Acquire(addr / Page, write: false);

    // ---------------------------------------------------------------- reads that pin nothing

    /// <summary>True when the guest may read (or write) at <paramref name="addr"/> (asking node 0 before saying no).</summary>
    public bool IsReadable(ulong addr) => addr < GuestSpace.Size && Permits(addr, GuestProt.Read | GuestProt.Write);

    /// <summary>The guest's protection at <paramref name="addr"/> has one of the rights in <paramref name="any"/>, asking
    /// node 0 once before saying no (a worker may lack a widening, see <see cref="LayoutOp.Widen"/>).</summary>
    private bool Permits(ulong addr, GuestProt any) =>
        (_space.ProtAt(addr) & any) != 0 || RefreshLayout(addr, 1) && (_space.ProtAt(addr) & any) != 0;

    /// <summary>
    /// Copies guest memory current at some moment during the call, without pinning: each page is fetched and read
    /// through the alias. For futex words and timeouts, which a waiting thread must not keep from other nodes.
    /// </summary>
    public bool TryRead(ulong addr, Span<byte> dst)
    {
        ulong last = addr + (ulong)dst.Length - 1;
        if (dst.Length == 0 || last < addr || !IsReadable(addr) || !IsReadable(last)) return false;
        do
        {
            MergeSplitPages(addr, (ulong)dst.Length);
            for (ulong p = addr / Page; p <= last / Page; p++) Dsm.Acquire(p, write: false);
            new ReadOnlySpan<byte>(_space.Alias + addr, dst.Length).CopyTo(dst);
        } while (AnySplit(addr, (ulong)dst.Length)); // split meanwhile: the copy may be stale
        return true;
    }

    public bool TryReadWord(ulong addr, out uint value)
    {
        value = 0;
        if ((addr & 3) != 0 || !IsReadable(addr)) return false;
        while (true)
        {
            // a futex word on a split page is read from its unit: a barrier or lock word sharing a page with other
            // nodes' data must not merge the page at every wait
            if (Split.Redirect(addr, 4) is ulong unit && SettledSlot(PageSplitter.SlotOf(unit).Slot))
            {
                Dsm.Acquire(unit / Page, write: false);
                value = Volatile.Read(ref *(uint*)(_space.Alias + unit));
                return true;
            }
            Dsm.Acquire(addr / Page, write: false);
            value = Volatile.Read(ref *(uint*)(_space.Alias + addr));
            if (!Split.IsSplit(addr / Page)) return true;
        }
    }

    /// <summary>Waits while node 0 fills or merges <paramref name="slot"/>; true when it is active, false when it is
    /// (or became) retired.</summary>
    private bool SettledSlot(int slot)
    {
        var spin = new SpinWait();
        while (true)
        {
            var st = Split.StateOf(slot);
            if (st == PageSplitter.SlotState.Active) return true;
            if (st is PageSplitter.SlotState.Retired or PageSplitter.SlotState.Free) return false;
            spin.SpinOnce(sleep1Threshold: 20);
        }
    }

    /// <summary>
    /// A redirected access faulted on a shadow unit: fetch the unit like a page, or (its slot merged back) run the
    /// instruction again, which then reaches the whole page.
    /// </summary>
    private bool ResolveUnitFault(ulong addr, bool write)
    {
        int slot = PageSplitter.SlotOf(addr).Slot;
        if (!SettledSlot(slot)) return true;
        if (!Permits(Split.PageOf(slot) * Page, write ? GuestProt.Write : GuestProt.Read)) return false;
        Interlocked.Increment(ref UnitFaults);
        Fetch(addr / Page, write);
        return true;
    }

    /// <summary>
    /// A guest access faulted at <paramref name="addr"/>: when the guest's protection allows it, the page is
    /// fetched (blocking) and true says "run the instruction again"; false means a real guest SIGSEGV.
    /// </summary>
    public bool ResolveFault(ulong addr, bool write)
    {
        if (PageSplitter.IsShadow(addr)) return ResolveUnitFault(addr, write);
        var need = write ? GuestProt.Write : GuestProt.Read | GuestProt.Exec;
        if (!Permits(addr, need)) return false;
        Fetch(addr / Page, write, addr);
        return true;
    }

    private void Fetch(ulong page, bool write, ulong addr = ulong.MaxValue)
    {
        var dsm = Dsm;
        var needed = write ? PageState.Modified : PageState.Shared;
        if (dsm.State(page) >= needed)
        {
            // the first touch of a page read ahead (counted there): keep the stream that brought it ahead of the guest
            if (dsm.TakePrefetched(page) && addr != ulong.MaxValue && ForwardPages)
                if (!_writes.Extend(this, page, write: true)) _reads.Extend(this, page, write: false);
            // held already, yet it faulted: the page moved and came back meanwhile, or its protection is stale
            // (a layout change raced the engine)
            SetViewFromState(page);
            return;
        }
        if (addr != ulong.MaxValue) dsm.AcquireAt(addr, write);
        else dsm.Acquire(page, write);
        if (addr == ulong.MaxValue) return;
        if (write && ForwardWakes) NoteWritten(page);
        if (ForwardPages) (write ? ref _writes : ref _reads).Fault(this, page, write);
    }

    // ---------------------------------------------------------------- data forwarding: pages that travel with a wake

    /// <summary>The pages this guest thread took for writing (write faults) since its last futex wake, oldest first.</summary>
    [ThreadStatic] private static ulong[]? _written;
    [ThreadStatic] private static int _writtenCount;

    private static void NoteWritten(ulong page)
    {
        var w = _written ??= new ulong[FutexMessages.MaxWakePages];
        for (int i = 0; i < _writtenCount; i++)
            if (w[i] == page) return;
        if (_writtenCount == w.Length)
        {
            Array.Copy(w, 1, w, 0, w.Length - 1); // keep the newest: written last, read first by whoever is woken
            _writtenCount--;
        }
        w[_writtenCount++] = page;
    }

    /// <summary>
    /// The pages the calling guest thread wrote (took for writing) since its last wake, into <paramref name="into"/>
    /// (at most <see cref="FutexMessages.MaxWakePages"/>); the list starts afresh. A futex wake carries them to the woken
    /// thread's node (producer to consumer: a buffer filled, then a condition variable signalled or a lock released).
    /// </summary>
    public int TakeWrittenPages(Span<ulong> into)
    {
        if (!ForwardWakes || _written is not { } w) return 0;
        int n = Math.Min(_writtenCount, into.Length);
        w.AsSpan(_writtenCount - n, n).CopyTo(into);
        _writtenCount = 0;
        return n;
    }

    /// <summary>The pages a remote wake brought (on a receiving thread): each mapped, readable, unsplit one is asked
    /// for now, without waiting, so the woken thread finds it here or on its way (counted like read-ahead).</summary>
    public void PrefetchPages(ulong[] pages) => PrefetchPages(pages, forWriting: false);

    /// <summary>One page for reading, as <see cref="PrefetchPages(ReadOnlySpan{ulong}, bool)"/>: a read-mostly page its
    /// home offers after a write (DsmNode.UpdateOffered).</summary>
    public void PrefetchPage(ulong page) => PrefetchPages(new ReadOnlySpan<ulong>(in page), forWriting: false);

    /// <summary>
    /// Asks for every mapped, readable, unsplit page of <paramref name="pages"/> without waiting (counted like
    /// read-ahead): for writing where <paramref name="forWriting"/> and the guest may write it, else for reading.
    /// Returns how many requests went out, in one batch (DsmNode.BeginBatch). Not on a receive thread when the list is
    /// long (each request costs a home its work).
    /// </summary>
    public int PrefetchPages(ReadOnlySpan<ulong> pages, bool forWriting)
    {
        int asked = 0;
        using var batch = Dsm.BeginBatch(); // the requests (and what this node's home sends for them) leave together
        foreach (ulong page in pages)
        {
            ulong addr = page * Page;
            if (addr >= GuestSpace.Size || Split.IsSplit(page)) continue;
            var prot = _space.ProtAt(addr);
            if ((prot & GuestProt.Read) == 0) continue;
            if (Dsm.Prefetch(page, forWriting && (prot & GuestProt.Write) != 0)) asked++;
        }
        return asked;
    }

    // ---------------------------------------------------------------- data forwarding: reading ahead

    /// <summary>Read-ahead on strided read and write faults (cluster.toml forward_pages).</summary>
    public bool ForwardPages { get; set; }

    /// <summary>Pages named by futex wakes (cluster.toml forward_wakes): written pages are noted for them.</summary>
    public bool ForwardWakes { get; set; }

    /// <summary>Most pages read ahead of the guest.</summary>
    public const int MaxReadAhead = 16;

    /// <summary>This guest thread's read faults and its write faults, each a stream that may run ahead.</summary>
    [ThreadStatic] private static AheadStream _reads, _writes;
    private int _readAhead = 2;
    private long _seenHits, _seenWasted;

    /// <summary>
    /// The node's read-ahead depth, adapted each time a stream starts or moves on: one more while read-ahead pages
    /// get used, halved when more were wasted (taken away untouched) than used since the last look.
    /// </summary>
    private int AdaptDepth()
    {
        var (_, hits, wasted) = Dsm.ForwardingCounts;
        long newHits = hits - Interlocked.Exchange(ref _seenHits, hits), newWasted = wasted - Interlocked.Exchange(ref _seenWasted, wasted);
        int depth = Volatile.Read(ref _readAhead);
        if (newWasted > newHits) depth = Math.Max(1, depth / 2);
        else if (newHits > 0) depth = Math.Min(MaxReadAhead, depth + 1);
        Volatile.Write(ref _readAhead, depth);
        return depth;
    }

    /// <summary>
    /// One guest thread's faults of one kind (reads, or writes: a buffer filled page after page is taken for writing
    /// ahead of the writer, Modified, its view read-only until the first write). When its last three faults were on
    /// consecutive pages (up or down), a run starts: the next pages in that direction are asked for at once (without
    /// waiting), as many as the node's depth, and each first touch of such a page (<see cref="Extend"/>) asks for the
    /// next ones, so the run stays that far ahead of the guest and a sequential pass faults three times, not once per
    /// window. A run asks for no more pages than the stream's previous run covered (a buffer handed back and forth is
    /// passed over in the same length every time; pages past its end belong to somebody else, and taking them, for
    /// writing above all, takes them from the thread using them); a fault just past that end continues the run
    /// without the bound. Only mapped, unsplit pages the guest may access that way are asked for.
    /// </summary>
    private struct AheadStream
    {
        private ulong _last, _before;
        /// <summary>While a run goes on: its direction (1 or -1 as a ulong; 0 when none), the next page to ask for, its
        /// first page, the furthest page it reached, and the last page it may ask for (with <see cref="_bounded"/>).</summary>
        private ulong _step, _next, _first, _furthest, _end;
        private bool _bounded;
        /// <summary>Pages the previous run covered (0: none yet).</summary>
        private ulong _lastRun;

        public void Fault(ClusterMemory m, ulong page, bool write)
        {
            ulong step = page - _last;
            bool stride = (step == 1 || step == ulong.MaxValue) && _last - _before == step;
            _before = _last;
            _last = page;
            ulong at = (page - _first) * _step; // how far into the run (when one goes on)
            if (_step != 0 && at > 0 && at <= (_next - _first) * _step)
            {
                // within the window (the guest caught up with a page still on its way) or right at its end (the depth
                // was small, or the run is longer than the last one): the run goes on
                if (_bounded && page == _end + _step) _bounded = false;
                if (page == _next) _next += _step;
                if (at > (_furthest - _first) * _step) _furthest = page;
            }
            else
            {
                if (_step != 0) _lastRun = (_furthest - _first) * _step + 1; // the run ended
                _step = 0;
                if (!stride) return;
                _step = step;
                _first = page - 2 * step;
                _furthest = page;
                _bounded = _lastRun >= 3;
                _end = _first + (_lastRun - 1) * step;
                _next = page + step;
            }
            Ask(m, page, write);
        }

        /// <summary>The guest touched <paramref name="page"/>, read ahead: true (and the window moved on) when it lies
        /// in this stream's window.</summary>
        public bool Extend(ClusterMemory m, ulong page, bool write)
        {
            if (_step == 0) return false;
            ulong at = (page - _first) * _step;
            if (at == 0 || at >= (_next - _first) * _step) return false;
            if (at > (_furthest - _first) * _step) _furthest = page;
            Ask(m, page, write);
            // the pages after it that arrived meanwhile open now, counted as used with it: the pass touches them next,
            // and each would cost a fault of its own (a signal and a protection change: as much as a remote fault
            // over shared memory); the first one still on its way stays closed, and its touch moves the window on
            for (ulong q = page + _step; q != _next && m.Dsm.TakePrefetched(q); q += _step)
            {
                m.SetViewFromState(q);
                _furthest = q;
            }
            return true;
        }

        private void Ask(ClusterMemory m, ulong page, bool write)
        {
            int depth = m.AdaptDepth();
            var need = write ? GuestProt.Write : GuestProt.Read;
            using var batch = m.Dsm.BeginBatch();
            while ((_next - page) * _step <= (ulong)depth && !(_bounded && _next == _end + _step))
            {
                ulong addr = _next * Page;
                if (addr >= GuestSpace.Size || (m._space.ProtAt(addr) & need) == 0 || m.Split.IsSplit(_next)) return;
                m.Dsm.Prefetch(_next, write);
                _next += _step;
            }
        }
    }
}
