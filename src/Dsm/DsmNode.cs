using System.Buffers.Binary;
using System.Diagnostics;
using System.Numerics;
using Dqemu.Rdma;

namespace Dqemu.Dsm;

/// <summary>
/// One node's coherence engine: the local page states (every node), the directory entries of the pages this node is
/// home of, and the protocol that moves pages between nodes (see <see cref="DsmMessages"/> for the messages).
/// </summary>
/// <remarks>
/// <para>Threads. <see cref="Acquire"/>, <see cref="AcquireRange"/> and <see cref="PinRange"/> run on guest threads
/// (never in signal context) and block. <see cref="OnMessage"/> and <see cref="OnNodeLost"/> run on transport receive
/// threads and never wait for a page: every handler updates state under a short lock, then sends, and returns.
/// Work whose destination is this node (this node is home, supplier or sharer of its own request) runs inline on the
/// calling thread instead of going through the transport. No lock is held while sending or while calling the
/// <see cref="IPageStore"/>.</para>
/// <para>Start state: node 0 holds every page Modified, every other node holds every page Invalid; a page the
/// directory has never seen is "owned by node 0, Modified". The runtime maps guest memory accordingly (read/write on
/// node 0, no access elsewhere) before the first guest instruction runs.</para>
/// </remarks>
public sealed partial class DsmNode
{
    public const int PageShift = 12;
    public const int PageSize = 1 << PageShift;
    public const int MaxNodes = 64;

    private const int StripeCount = 256; // power of two

    private readonly int _self;
    private readonly int _nodeCount;
    private readonly ITransport _transport;
    private readonly IPageStore _store;
    private readonly DsmOptions _options;
    private readonly PageState _initialState;
    private readonly PageCodec _codec;
    private readonly LocalStripe[] _local = new LocalStripe[StripeCount];
    private readonly DirStripe[] _dir = new DirStripe[StripeCount];
    private readonly Counters _c = new();
    private readonly LatencyHistogram _readLatency = new();
    private readonly LatencyHistogram _writeLatency = new();
    private volatile string? _failure;
    private int _waiting;

    public DsmNode(int self, int nodeCount, ITransport transport, IPageStore store, DsmOptions? options = null)
    {
        if (nodeCount < 1 || nodeCount > MaxNodes)
            throw new ArgumentOutOfRangeException(nameof(nodeCount), nodeCount, $"a cluster has 1 to {MaxNodes} nodes");
        if (self < 0 || self >= nodeCount)
            throw new ArgumentOutOfRangeException(nameof(self), self, $"node id must be below the node count {nodeCount}");
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(store);
        _self = self;
        _nodeCount = nodeCount;
        _transport = transport;
        _store = store;
        _options = options ?? DsmOptions.Default;
        _initialState = self == 0 ? PageState.Modified : PageState.Invalid;
        _codec = _options.Codec ?? PageCodec.Shared;
        for (int i = 0; i < StripeCount; i++)
        {
            _local[i] = new LocalStripe();
            _dir[i] = new DirStripe();
        }
    }

    public int Self => _self;
    public int NodeCount => _nodeCount;
    public DsmOptions Options => _options;

    /// <summary>Why the engine stopped (a lost node or a protocol error), or null while it works.</summary>
    public string? Failure => _failure;

    /// <summary>The node holding <paramref name="page"/>'s directory entry. The one place that decides it.</summary>
    public int HomeOf(ulong page) => HomeOf(page, _nodeCount, _options.Home);

    /// <inheritdoc cref="HomeOf(ulong)"/>
    public static int HomeOf(ulong page, int nodeCount, HomePolicy policy) =>
        policy == HomePolicy.Centralized ? 0 : (int)(page % (ulong)nodeCount);

    /// <summary>True for the message types <see cref="OnMessage"/> handles (0x100-0x1FF).</summary>
    public static bool IsDsmMessage(ushort type) => DsmMessages.IsDsmMessage(type);

    /// <summary>This node's current access to <paramref name="page"/>.</summary>
    public PageState State(ulong page)
    {
        var s = LocalStripeOf(page);
        lock (s)
            return s.Pages.TryGetValue(page, out var e) ? e.State : _initialState;
    }

    /// <summary>
    /// Blocks until this node holds <paramref name="page"/> with at least read (or, when <paramref name="write"/>,
    /// read/write) access. Threads of this node missing the same page share one request; a write while a read is in
    /// flight waits for it and then asks for an upgrade. When it returns the page was accessible at that moment; another
    /// node may take it away again at any time after (the guest then faults again). Use <see cref="PinRange"/> when
    /// managed code must touch the page.
    /// </summary>
    /// <exception cref="DsmException">a node was lost, the protocol failed, or the page did not come within
    /// <see cref="DsmOptions.AcquireTimeout"/>.</exception>
    public void Acquire(ulong page, bool write) => AcquireCore(page, write, pin: false);

    /// <summary><see cref="Acquire"/> for the page holding <paramref name="addr"/>, telling its home where in the page the
    /// access fell (the home learns sub-page write sets from it, see <see cref="SplitSuggested"/>).</summary>
    public void AcquireAt(ulong addr, bool write) =>
        AcquireCore(addr >> PageShift, write, pin: false, (ushort)(addr & (PageSize - 1)));

    /// <summary><see cref="Acquire"/> for every page overlapping [addr, addr + length), in ascending page order.</summary>
    public void AcquireRange(ulong addr, ulong length, bool write)
    {
        if (!PageSpan(addr, length, out ulong first, out ulong last)) return;
        for (ulong p = first; ; p++)
        {
            AcquireCore(p, write, pin: false);
            if (p == last) break;
        }
    }

    /// <summary>
    /// Acquires every page overlapping [addr, addr + length) in ascending order and pins it: until the returned value is
    /// disposed, requests from other nodes that would take the access away are held back (deferred, not refused; the
    /// receive thread does not wait). For syscalls whose managed code reads or writes guest memory directly.
    /// Pin the ranges of one syscall with a single call, or in ascending address order (a page pinned already may be
    /// pinned again), and keep pins short: a node waiting for a page held by a pin waits for the pin's release.
    /// </summary>
    public PinnedRange PinRange(ulong addr, ulong length, bool write)
    {
        if (!PageSpan(addr, length, out ulong first, out ulong last)) return default;
        ulong p = first;
        try
        {
            for (; ; p++)
            {
                AcquireCore(p, write, pin: true);
                if (p == last) break;
            }
        }
        catch
        {
            for (ulong q = first; q < p; q++) Unpin(q, write);
            throw;
        }
        return new PinnedRange(this, first, last - first + 1, write);
    }

    /// <summary>The coherence counters so far.</summary>
    public DsmStats Stats => new(
        ReadFaults: Interlocked.Read(ref _c.ReadFaults),
        WriteFaults: Interlocked.Read(ref _c.WriteFaults),
        Upgrades: Interlocked.Read(ref _c.Upgrades),
        PagesSent: Interlocked.Read(ref _c.PagesSent),
        PagesReceived: Interlocked.Read(ref _c.PagesReceived),
        MessagesSent: Interlocked.Read(ref _c.MessagesSent),
        BytesSent: Interlocked.Read(ref _c.BytesSent),
        BytesReceived: Interlocked.Read(ref _c.BytesReceived),
        InvalidationsSent: Interlocked.Read(ref _c.InvalidationsSent),
        InvalidationsReceived: Interlocked.Read(ref _c.InvalidationsReceived),
        ZeroPagesSent: Interlocked.Read(ref _c.ZeroPagesSent),
        CompressedPagesSent: Interlocked.Read(ref _c.CompressedPagesSent),
        QueuedRequests: Interlocked.Read(ref _c.QueuedRequests),
        DeferredRequests: Interlocked.Read(ref _c.DeferredRequests),
        ReadWaits: _readLatency.Summary(),
        WriteWaits: _writeLatency.Summary());

    /// <summary>Threads blocked in <see cref="Acquire"/>/<see cref="AcquireRange"/>/<see cref="PinRange"/> right now.</summary>
    public int WaitingThreads => Volatile.Read(ref _waiting);

    /// <summary>The distributions behind <see cref="DsmStats.ReadWaits"/> and <see cref="DsmStats.WriteWaits"/>.</summary>
    public LatencyHistogram ReadLatency => _readLatency;

    /// <inheritdoc cref="ReadLatency"/>
    public LatencyHistogram WriteLatency => _writeLatency;

    /// <summary>
    /// A peer is gone: the engine stops. Every waiting and future <see cref="Acquire"/> throws a
    /// <see cref="DsmException"/> naming the node (the runtime then reports it and exits).
    /// </summary>
    public void OnNodeLost(int node, string reason) => Fail($"node {node} lost: {reason}");

    /// <summary>Stops the engine with <paramref name="reason"/>; waiting threads wake up and throw.</summary>
    public void Fail(string reason)
    {
        bool first = Interlocked.CompareExchange(ref _failure, reason, null) is null;
        foreach (var s in _local)
            lock (s) Monitor.PulseAll(s);
        if (first) Failed?.Invoke(reason);
    }

    /// <summary>Raised once, on the thread that hit the first failure (often a transport receive thread), with
    /// <see cref="Failure"/>'s text. The runtime reports it and ends the process; handlers must not block.</summary>
    public event Action<string>? Failed;

    // ---------------------------------------------------------------- local side: acquiring

    private static bool PageSpan(ulong addr, ulong length, out ulong first, out ulong last)
    {
        first = addr >> PageShift;
        last = first;
        if (length == 0) return false;
        ulong end = addr + (length - 1);
        if (end < addr) throw new ArgumentOutOfRangeException(nameof(length), "the range wraps around the address space");
        last = end >> PageShift;
        return true;
    }

    private void AcquireCore(ulong page, bool write, bool pin, ushort offset = DsmMessages.NoOffset)
    {
        var need = write ? PageState.Modified : PageState.Shared;
        var s = LocalStripeOf(page);
        long start = 0, deadline = 0;
        uint? ticket = null; // e.Completions when this thread started waiting for a request that satisfies it
        var spin = new TransportSpin(_transport); // the answer is polled for here first: see TransportSpin
        Span<byte> request = stackalloc byte[DsmMessages.RequestSize];
        LocalPage? e = null;
        int lent = 0; // this thread's read pins of the page, lent to a request they held back (see below)
        Monitor.Enter(s);
        try
        {
            if (!s.Pages.TryGetValue(page, out e))
            {
                if (!pin && _initialState >= need) return; // untouched page on node 0: no entry needed
                e = new LocalPage(_initialState);
                s.Pages.Add(page, e);
            }
            if (e.Prefetched && e.InFlight == InFlight.None && !pin)
            {
                // a prefetched page put to use (a write upgrade, a futex word): a hit. A pin leaves the mark: the
                // caller reaches the page through the guest view, which it opens by TakePrefetched.
                e.Prefetched = false;
                Interlocked.Increment(ref _c.PrefetchHits);
            }
            while (true)
            {
                // A new pin waits while a request is held back (the requester must not starve behind a stream of
                // pins), unless this thread pins the page already: the held-back request waits for that pin anyway, and
                // waiting would deadlock the thread on itself (a syscall's two buffers in one page, pinned one after
                // the other: the protocol explorer's PinTwice; a full-suite run hung so, mt_many_threads on 3 nodes).
                if (e.State >= need && (!pin || e.Deferred == 0 || (e.Pins > 0 && ThreadPins.Holds(this, page))))
                {
                    if (pin)
                    {
                        e.Pins++;
                        if (write) e.WritePins++;
                        ThreadPins.Add(this, page);
                    }
                    break;
                }
                if (ticket is uint t && e.Completions != t)
                {
                    // The request this thread waited for has been answered. If it granted enough, return even when
                    // another node has taken the page again since (the guest simply faults again): waiters must
                    // not starve behind a page that keeps moving. Pins need the access now, so they go on.
                    if (!pin && e.LastGranted >= need) break;
                    ticket = null;
                }
                if (pin && write && e.Deferred != 0 && lent == 0 && (lent = ThreadPins.Count(this, page)) > 0)
                {
                    // The thread's own read pins hold back the home's transaction that its upgrade queues behind (a
                    // syscall pinned a buffer for reading, now one in the same page for writing): waiting would deadlock
                    // it. Lend them to the held-back request. The thread touches no guest memory while it waits here, and
                    // the pins come back, covered by the write access, when it is granted. (A copy Linux would have
                    // read from the page meanwhile could have changed too: a syscall's accesses are not atomic there.)
                    e.Pins -= lent;
                    if (!Blocks(e, e.Deferred))
                    {
                        ushort deferred = e.Deferred;
                        int requester = e.DeferredRequester;
                        Monitor.Exit(s);
                        try { RunDeferred(deferred, page, requester); }
                        finally { Monitor.Enter(s); }
                    }
                    continue;
                }
                if (_failure is { } f) throw new DsmException($"node {_self}: page 0x{page:x}: {f}");
                if (start == 0)
                {
                    start = Stopwatch.GetTimestamp();
                    var timeout = _options.AcquireTimeout;
                    deadline = timeout == Timeout.InfiniteTimeSpan || timeout.TotalDays > 365
                        ? long.MaxValue
                        : start + (long)(Math.Max(0, timeout.TotalSeconds) * Stopwatch.Frequency);
                }
                if (e.State < need && e.InFlight == InFlight.None)
                {
                    e.InFlight = write ? InFlight.Write : InFlight.Read;
                    ticket = e.Completions;
                    Monitor.Exit(s);
                    try
                    {
                        Interlocked.Increment(ref write ? ref _c.WriteFaults : ref _c.ReadFaults);
                        Post(HomeOf(page), write ? DsmMessages.WriteReq : DsmMessages.ReadReq, RequestBody(page, offset, request));
                    }
                    catch (NodeLostException)
                    {
                        // the home is gone: the transport reports the loss (OnNodeLost, naming the node), which ends
                        // the process (or, in a test, stops the engine and wakes this wait); a Fail here could print
                        // its own line first
                    }
                    catch (Exception ex)
                    {
                        // The request is lost (this node's own home/supplier code failed inline): nobody will answer
                        // it, so stop the engine; the failure check below throws.
                        Fail($"node {_self}: {(write ? "write" : "read")} request for page 0x{page:x}: {ex.Message}");
                    }
                    finally
                    {
                        Monitor.Enter(s);
                    }
                    continue; // the answer may already be in (local home), re-check before waiting
                }
                if (ticket is null && (e.InFlight == InFlight.Write || (e.InFlight == InFlight.Read && !write)))
                    ticket = e.Completions; // join the request in flight: it answers this thread too
                long now = Stopwatch.GetTimestamp();
                if (now >= deadline)
                    throw new DsmException(
                        $"node {_self}: page 0x{page:x} ({(write ? "write" : "read")}) did not arrive within " +
                        $"{_options.AcquireTimeout.TotalSeconds:0.###} s (state {e.State}, request {e.InFlight}, home node {HomeOf(page)})");
                if (spin.Enabled)
                {
                    // look again after every round, also after the last: the answer may have come while the lock was free
                    Monitor.Exit(s);
                    try { spin.Next(); }
                    finally { Monitor.Enter(s); }
                    continue;
                }
                int waitMs = deadline == long.MaxValue ? Timeout.Infinite
                    : (int)Math.Min(int.MaxValue, (deadline - now) * 1000 / Stopwatch.Frequency + 1);
                e.Waiters++;
                Interlocked.Increment(ref _waiting);
                try { Monitor.Wait(s, waitMs); }
                finally
                {
                    e.Waiters--;
                    Interlocked.Decrement(ref _waiting);
                }
            }
        }
        finally
        {
            if (lent > 0) e!.Pins += lent; // granted (or failed): the lent read pins are the thread's again
            Monitor.Exit(s);
            spin.End(); // outside the lock: ending a poll may deliver messages on this thread
        }
        if (start != 0) (write ? _writeLatency : _readLatency).RecordTicks(Stopwatch.GetTimestamp() - start);
    }

    internal void Unpin(ulong page, bool write)
    {
        var s = LocalStripeOf(page);
        ushort deferred;
        int requester;
        lock (s)
        {
            var e = s.Pages[page];
            e.Pins--;
            if (write) e.WritePins--;
            Debug.Assert(e.Pins >= 0 && e.WritePins >= 0);
            ThreadPins.Remove(this, page);
            deferred = e.Deferred;
            requester = e.DeferredRequester;
            if (deferred == 0 || Blocks(e, deferred)) return;
        }
        // The last conflicting pin is gone: run the held-back request now (it re-checks under the lock).
        RunDeferred(deferred, page, requester);
    }

    /// <summary>The pins the running thread holds, by node and page (a count each). Pins are released by the thread
    /// that took them (a syscall's pins, see ClusterMemory.ReleaseResident; a using block).</summary>
    private static class ThreadPins
    {
        [ThreadStatic] private static Dictionary<(DsmNode, ulong), int>? t_held;

        public static bool Holds(DsmNode node, ulong page) => t_held?.ContainsKey((node, page)) == true;

        public static int Count(DsmNode node, ulong page) => t_held?.GetValueOrDefault((node, page)) ?? 0;

        public static void Add(DsmNode node, ulong page)
        {
            var held = t_held ??= new();
            held[(node, page)] = held.GetValueOrDefault((node, page)) + 1;
        }

        public static void Remove(DsmNode node, ulong page)
        {
            var held = t_held;
            if (held == null || !held.TryGetValue((node, page), out int n)) return; // released by another thread
            if (n > 1) held[(node, page)] = n - 1;
            else held.Remove((node, page));
        }
    }

    // ---------------------------------------------------------------- plumbing

    private LocalStripe LocalStripeOf(ulong page) => _local[StripeIndex(page)];
    private DirStripe DirStripeOf(ulong page) => _dir[StripeIndex(page)];

    private static int StripeIndex(ulong page) => (int)((page * 0x9E3779B97F4A7C15UL) >> 56) & (StripeCount - 1);

    private static ulong Bit(int node) => 1UL << node;

    private static ReadOnlySpan<byte> PageBody(ulong page, Span<byte> buf)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(buf, page);
        return buf[..8];
    }

    private static ReadOnlySpan<byte> RequestBody(ulong page, ushort offset, Span<byte> buf)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(buf, page);
        BinaryPrimitives.WriteUInt16LittleEndian(buf[8..], offset);
        return buf[..DsmMessages.RequestSize];
    }

    private static ReadOnlySpan<byte> PageNodeBody(ulong page, int node, Span<byte> buf)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(buf, page);
        BinaryPrimitives.WriteInt32LittleEndian(buf[8..], node);
        return buf[..12];
    }

    private static ReadOnlySpan<byte> PageStateBody(ulong page, PageState state, Span<byte> buf)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(buf, page);
        buf[8] = (byte)state;
        return buf[..9];
    }

    /// <summary>Sends to another node (or queues it in this thread's batch, see DsmNode.Batch.cs), or handles the message
    /// inline when it is for this node.</summary>
    private void Post(int node, ushort type, ReadOnlySpan<byte> body)
    {
        if (node == _self)
        {
            Dispatch(_self, type, body);
            return;
        }
        if (Batching(out var batch)) Enqueue(batch, node, type, body);
        else _transport.Send(node, type, body);
        Interlocked.Increment(ref _c.MessagesSent);
        Interlocked.Add(ref _c.BytesSent, body.Length);
    }

    private sealed class LocalStripe
    {
        public readonly Dictionary<ulong, LocalPage> Pages = new();
    }

    private enum InFlight : byte { None, Read, Write }

    /// <summary>This node's view of one page. Guarded by its stripe's lock.</summary>
    private sealed class LocalPage(PageState state)
    {
        public PageState State = state;
        public InFlight InFlight;
        public int Waiters;
        /// <summary>Requests of this node answered so far, and what the last one granted.</summary>
        public uint Completions;
        public PageState LastGranted;
        public int Pins;
        public int WritePins;
        /// <summary>A Forward, FetchInvalidate or Invalidate held back by a pin (0 = none). The home runs one
        /// transaction per page, so there is at most one.</summary>
        public ushort Deferred;
        public int DeferredRequester;
        /// <summary>Arrived (or is on its way) by <see cref="Prefetch"/> and not touched yet: its view stays closed.</summary>
        public bool Prefetched;
    }

    private sealed class Counters
    {
        public long ReadFaults, WriteFaults, Upgrades, PagesSent, PagesReceived, MessagesSent, BytesSent, BytesReceived;
        public long InvalidationsSent, InvalidationsReceived, ZeroPagesSent, CompressedPagesSent;
        public long QueuedRequests, DeferredRequests;
        public long Prefetches, PrefetchHits, PrefetchWasted;
        public long UpdatesOffered, UpdatesReceived;
        public long BatchedMessages, BatchesSent;
    }
}

/// <summary>Pages pinned by <see cref="DsmNode.PinRange"/>; dispose to release them. The default value pins nothing.</summary>
public readonly struct PinnedRange : IDisposable
{
    private readonly DsmNode? _node;
    private readonly ulong _first;
    private readonly ulong _count;
    private readonly bool _write;

    internal PinnedRange(DsmNode node, ulong first, ulong count, bool write)
    {
        _node = node;
        _first = first;
        _count = count;
        _write = write;
    }

    public ulong FirstPage => _first;
    public ulong PageCount => _count;
    public bool Write => _write;

    public void Dispose()
    {
        if (_node is null) return;
        for (ulong i = 0; i < _count; i++) _node.Unpin(_first + i, _write);
    }
}
