using System.Diagnostics;
using System.Numerics;
using Dqemu.Rdma;

namespace Dqemu.Dsm;

/// <summary>
/// The guest's futex across a cluster: one engine per node, all of one emulated process. It keeps the wait queues;
/// the futex word itself lives in guest memory, which the DSM keeps coherent (<see cref="IFutexMemory"/>).
/// </summary>
/// <remarks>
/// <para><b>Hierarchy.</b> Each node keeps a local table: address -> FIFO of the waiters of this node (with their
/// bitsets). Waits and wakes among the threads of one node stay on that node: <see cref="Wake"/> first wakes up to
/// <c>count</c> matching local waiters, and only when it woke fewer does it involve other nodes. Node 0 also keeps the
/// global table: address -> bit mask of the nodes that currently have waiters on it.</para>
/// <para><b>Registration.</b> When a node's local waiter count of an address goes 0 -> 1 the node registers the address
/// with node 0, synchronously: it sends Register and the waiting thread blocks until RegisterAck (bounded by the RPC
/// timeout; past it the engine fails). A second local waiter arriving while that registration is in flight waits for
/// the same ack. When the count goes 1 -> 0 the node sends Unregister (one-way) — or, with <c>keepIdle</c> &gt; 0, keeps
/// the registration (an idle entry: registered, no waiter), so that the next wait on the address (a condition variable
/// or a barrier waited on again and again) needs no round trip to node 0; a WakeLocal that finds the entry idle
/// retires it then (the registration was useless), as does a cap on idle entries. Node 0's own waiters update the
/// global table directly. Register and Unregister are decided under the local table's lock and leave through one ordered
/// outbox, and the transport keeps per-pair FIFO order, so node 0 sees each node's Register/Unregister of an address
/// alternate exactly as the node decided them; an Unregister followed by a new Register is therefore safe.</para>
/// <para><b>Wait(addr, expected)</b>: (1) queue the waiter locally (registering when it is the first); (2) once the
/// registration is complete, read the word with <see cref="IFutexMemory.TryReadWord"/>; (3) if it is not
/// <c>expected</c>, leave the queue and return -EAGAIN; (4) sleep until woken (0), the deadline (-ETIMEDOUT), an
/// interrupt or an engine failure (-EINTR). A timed-out or interrupted waiter leaves the queue (unregistering when it
/// was the last). A waiter that a wake already took out of the queue returns 0 whatever else happened meanwhile
/// (mismatch, deadline, interrupt): the waker counted it as woken, so it must not throw the wake away.</para>
/// <para><b>Wake(addr, count, bitset) on node M</b>: wake up to count matching local waiters; with r = count - woken
/// &gt; 0, M ≠ 0 sends WakeGlobal(addr, r, bitset) to node 0; node 0 (or M = 0 directly) sends WakeLocal(addr, r,
/// bitset) to every registered node other than M, and wakes its own waiters when node 0 is registered and is not M.
/// Each node receiving WakeLocal wakes up to r of its waiters, so a wake may wake more than count threads in total
/// across nodes. That is allowed: futex users (mutexes, condition variables, glibc) must tolerate spurious wake-ups
/// and re-check their condition. Waking fewer than available is not allowed, and does not happen: every node that
/// may hold a waiter the wake must see gets asked.</para>
/// <para><b>Why no wake-up is lost.</b> A waker writes the word before it calls Wake; a waiter is queued before it
/// reads the word. Take waiter W on node N and a wake from node M.
/// If N = M, the local table's lock orders them: either W was queued before the wake's local step (the step sees it),
/// or W is queued after, so its read comes after the write and sees the new value.
/// If N ≠ M, look at the moment node 0 handles the wake's global step (reading addr's mask) and the moment it handled
/// the Register of the registration W waited for (W's own, the one in flight it joined, or an earlier one it found
/// complete). While W is queued, that registration stays in force (N sends no Unregister while its count is above 0).
/// If the Register came first, the mask shows N and node 0 sends WakeLocal to N. When that arrives, either W is queued
/// (then W, or up to r waiters queued before it, wake) or W queues later, so its read comes after the write. If the global step came first, node 0 sent the RegisterAck after it, so W, which reads only after
/// the ack arrived, reads after the write, and the coherent read returns the new value.
/// The same holds for node 0's own waiters, whose "Register" is setting bit 0 under the global table's lock.</para>
/// <para><b>Threads and locks.</b> <see cref="Wait"/> and <see cref="Wake"/> run on guest threads; Wait blocks.
/// <see cref="OnMessage"/> runs on transport receive threads and never waits: it updates a table under a short lock,
/// queues what it must send and sends it (a send may block while a connection's buffer is full, as the DSM's
/// sends from receive threads do). Locks are striped by address; node 0 takes its global-table lock inside a
/// local one (never the reverse). Nothing is sent while a table lock is held: messages decided under a lock go to
/// the outbox in that order and whichever thread finds the outbox idle sends them, outside every lock.</para>
/// <para><b>Failure.</b> <see cref="Fail"/> (a lost node, a malformed message, an RPC timeout, a failed send) stops
/// the engine: every current and future Wait returns -EINTR promptly, Wake only wakes local waiters, received messages
/// are ignored, and <see cref="Failed"/> is raised once.</para>
/// </remarks>
public sealed partial class FutexEngine
{
    public const ushort FirstMessage = FutexMessages.First, LastMessage = FutexMessages.Last;
    public const int MaxNodes = 64;

    private const long EAGAIN = 11, EINTR = 4, EFAULT = 14, EINVAL = 22, ETIMEDOUT = 110;
    private const int StripeCount = 64; // power of two

    private readonly int _self;
    private readonly int _nodeCount;
    private readonly ITransport _transport;
    private readonly IFutexMemory _memory;
    private readonly TimeSpan _rpcTimeout;
    private readonly long _rpcTicks;
    private readonly LocalStripe[] _local = new LocalStripe[StripeCount];
    private readonly GlobalStripe[]? _global;
    private readonly Counters _c = new();
    private uint _seq;
    private readonly int _keepIdle;
    private int _idle; // idle entries kept
    private volatile string? _failure;

    /// <param name="keepIdle">How many registrations this node keeps after their last waiter left (0: unregister at
    /// once). Node 0 registers locally and keeps none.</param>
    /// <param name="blockOnLocalWakes">A thread whose last wait was ended by a thread of this node blocks at once in its
    /// next wait instead of polling the transport first: on a node with one CPU its waker needs that CPU (a pair of
    /// threads handing work to each other through a futex on one 1-CPU node: 110 us a round with the poll, 12 without).</param>
    public FutexEngine(int self, int nodeCount, ITransport transport, IFutexMemory memory, TimeSpan? rpcTimeout = null, int keepIdle = 0,
                       bool blockOnLocalWakes = false)
    {
        _blockOnLocalWakes = blockOnLocalWakes;
        if (keepIdle < 0) throw new ArgumentOutOfRangeException(nameof(keepIdle));
        _keepIdle = self == 0 ? 0 : keepIdle;
        if (nodeCount < 1 || nodeCount > MaxNodes)
            throw new ArgumentOutOfRangeException(nameof(nodeCount), nodeCount, $"a cluster has 1 to {MaxNodes} nodes");
        if (self < 0 || self >= nodeCount)
            throw new ArgumentOutOfRangeException(nameof(self), self, $"node id must be below the node count {nodeCount}");
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(memory);
        _self = self;
        _nodeCount = nodeCount;
        _transport = transport;
        _memory = memory;
        _rpcTimeout = rpcTimeout ?? TimeSpan.FromSeconds(30);
        _rpcTicks = _rpcTimeout == Timeout.InfiniteTimeSpan || _rpcTimeout.TotalDays > 365
            ? long.MaxValue
            : (long)(Math.Max(0, _rpcTimeout.TotalSeconds) * Stopwatch.Frequency);
        for (int i = 0; i < StripeCount; i++) _local[i] = new LocalStripe();
        if (self == 0)
        {
            _global = new GlobalStripe[StripeCount];
            for (int i = 0; i < StripeCount; i++) _global[i] = new GlobalStripe();
        }
    }

    public int Self => _self;
    public int NodeCount => _nodeCount;

    /// <summary>How long a registration may wait for node 0's RegisterAck before the engine fails.</summary>
    public TimeSpan RpcTimeout => _rpcTimeout;

    /// <summary>Why the engine stopped, or null while it works.</summary>
    public string? Failure => _failure;

    /// <summary>True for the message types <see cref="OnMessage"/> handles (0x200-0x20F).</summary>
    public static bool IsFutexMessage(ushort type) => FutexMessages.IsFutexMessage(type);

    /// <summary>The counters so far.</summary>
    public FutexStats Stats => new(
        LocalWaits: Interlocked.Read(ref _c.LocalWaits),
        LocalWakes: Interlocked.Read(ref _c.LocalWakes),
        GlobalWakes: Interlocked.Read(ref _c.GlobalWakes),
        RemoteWakesReceived: Interlocked.Read(ref _c.RemoteWakesReceived),
        Registrations: Interlocked.Read(ref _c.Registrations),
        Unregistrations: Interlocked.Read(ref _c.Unregistrations),
        ReusedRegistrations: Interlocked.Read(ref _c.Reused),
        PagesWithWakes: Interlocked.Read(ref _c.PagesWithWakes));

    // ---------------------------------------------------------------- guest thread side

    /// <summary>
    /// FUTEX_WAIT_BITSET on this node: sleeps while the word at <paramref name="addr"/> is <paramref name="expected"/>
    /// until a matching wake, the <paramref name="deadline"/> (<see cref="Stopwatch.GetTimestamp"/> units,
    /// <see cref="long.MaxValue"/> = none) or an interrupt of <paramref name="waiter"/>.
    /// </summary>
    /// <returns>0 woken (possibly spuriously), -EAGAIN the word differed, -ETIMEDOUT, -EINTR interrupted or the engine
    /// failed, -EFAULT the word is not readable, -EINVAL bitset 0 or an unaligned address.</returns>
    /// <exception cref="InvalidOperationException"><paramref name="waiter"/> is already in a wait.</exception>
    public long Wait(ulong addr, uint expected, uint bitset, long deadline, FutexWaiter waiter)
    {
        ArgumentNullException.ThrowIfNull(waiter);
        if (bitset == 0 || (addr & 3) != 0) return -EINVAL;
        if (Interlocked.Exchange(ref waiter.Busy, 1) != 0)
            throw new InvalidOperationException("this futex waiter is already in a wait (one waiter per thread)");
        try
        {
            // a wake from another node is polled for here first, unless the last one came from this node (see the constructor)
            var spin = _blockOnLocalWakes && waiter.LastWakeLocal ? default : new TransportSpin(_transport);
            try
            {
                return WaitCore(addr, expected, bitset, deadline, waiter, ref spin);
            }
            finally
            {
                spin.End();
            }
        }
        finally
        {
            Volatile.Write(ref waiter.Busy, 0);
        }
    }

    private long WaitCore(ulong addr, uint expected, uint bitset, long deadline, FutexWaiter waiter, ref TransportSpin spin)
    {
        // Every wake-up source sets its condition first and the signal second; the loops below reset the signal
        // before checking the conditions, so none is missed.
        waiter.Signal.Reset();
        if (waiter.TakeInterrupt() || _failure is not null) return -EINTR;

        // (1) Queue the waiter; the first one of this node registers the address.
        var s = LocalStripeOf(addr);
        Entry e;
        bool registered, flush = false;
        lock (s)
        {
            if (!s.Entries.TryGetValue(addr, out var found))
            {
                e = s.NewEntry(addr);
                s.Entries.Add(addr, e);
                Interlocked.Increment(ref _c.Registrations);
                if (_self == 0)
                {
                    GlobalSet(addr, 0);
                    e.Registered = true;
                }
                else
                {
                    e.Seq = NextSeq();
                    Post(new Outgoing(0, FutexMessages.Register, addr, e.Seq, 0));
                    flush = true;
                }
            }
            else
            {
                e = found;
            }
            Append(e, waiter, bitset);
            registered = e.Registered;
        }
        Interlocked.Increment(ref _c.LocalWaits);
        if (flush) Flush();

        // (2) Wait for the registration (this thread's, or the one in flight it joined) before reading the word:
        // see "Why no wake-up is lost" above.
        if (!registered)
        {
            long start = Stopwatch.GetTimestamp();
            long ackDeadline = _rpcTicks == long.MaxValue || start > long.MaxValue - _rpcTicks ? long.MaxValue : start + _rpcTicks;
            while (true)
            {
                if (Volatile.Read(ref waiter.State) == FutexWaiter.Woken) return 0;
                if (Volatile.Read(ref e.Registered)) break;
                if (_failure is not null) return Leave(waiter, -EINTR);
                if (waiter.TakeInterrupt()) return Leave(waiter, -EINTR);
                long now = Stopwatch.GetTimestamp();
                if (now >= deadline) return Leave(waiter, -ETIMEDOUT);
                if (now >= ackDeadline)
                {
                    Fail($"node {_self}: futex 0x{addr:x}: node 0 did not acknowledge the registration within " +
                         $"{_rpcTimeout.TotalSeconds:0.###} s");
                    return Leave(waiter, -EINTR);
                }
                Sleep(waiter, Math.Min(deadline, ackDeadline), now, ref spin);
            }
        }

        // (3) Read the word coherently; leave on a mismatch.
        bool readable;
        uint value;
        try
        {
            readable = _memory.TryReadWord(addr, out value);
        }
        catch
        {
            Leave(waiter, 0);
            throw;
        }
        if (!readable) return Leave(waiter, -EFAULT);
        if (value != expected) return Leave(waiter, -EAGAIN);

        // (4) Sleep.
        while (true)
        {
            if (Volatile.Read(ref waiter.State) == FutexWaiter.Woken) return 0;
            if (_failure is not null) return Leave(waiter, -EINTR);
            if (waiter.TakeInterrupt()) return Leave(waiter, -EINTR);
            long now = Stopwatch.GetTimestamp();
            if (now >= deadline) return Leave(waiter, -ETIMEDOUT);
            Sleep(waiter, deadline, now, ref spin);
        }
    }

    /// <summary>
    /// FUTEX_WAKE_BITSET: wakes up to <paramref name="count"/> waiters on <paramref name="addr"/> whose bitset shares a
    /// bit with <paramref name="bitset"/>, this node's first (FIFO), then, for the rest, the other nodes' (asynchronously).
    /// </summary>
    /// <returns>How many waiters of this node it woke; -EINVAL for bitset 0 or an unaligned address.</returns>
    /// <param name="pages">Pages the waking thread wrote before this wake (data forwarding): a remote wake carries them
    /// (at most <see cref="FutexMessages.MaxWakePages"/>) to the nodes whose waiters it wakes.</param>
    public long Wake(ulong addr, int count, uint bitset, ReadOnlySpan<ulong> pages = default)
    {
        if (bitset == 0 || (addr & 3) != 0) return -EINVAL;
        if (pages.Length > FutexMessages.MaxWakePages) pages = pages[..FutexMessages.MaxWakePages];
        if (count <= 0) return 0;
        int woken = WakeQueue(addr, count, bitset);
        int remaining = count - woken;
        bool global = false;
        if (remaining > 0 && _nodeCount > 1 && _failure is null)
        {
            if (_self == 0)
            {
                global = GlobalStep(addr, remaining, bitset, origin: 0, pages.ToArray());
            }
            else
            {
                Post(new Outgoing(0, FutexMessages.WakeGlobal, addr, (uint)remaining, bitset, pages.ToArray()));
                Flush();
                global = true;
            }
        }
        Interlocked.Increment(ref global ? ref _c.GlobalWakes : ref _c.LocalWakes);
        return woken;
    }

    // ---------------------------------------------------------------- failure

    /// <summary>A peer is gone: the engine stops (see <see cref="Fail"/>).</summary>
    public void OnNodeLost(int node, string reason) => Fail($"node {node} lost: {reason}");

    /// <summary>
    /// Stops the engine with <paramref name="reason"/> (the first reason sticks): every current and future
    /// <see cref="Wait"/> returns -EINTR promptly, nothing more is sent. Never blocks for long; callable from any thread.
    /// </summary>
    public void Fail(string reason)
    {
        bool first = Interlocked.CompareExchange(ref _failure, reason, null) is null;
        foreach (var s in _local)
        {
            lock (s)
            {
                foreach (var e in s.Entries.Values)
                    for (var w = e.Head; w is not null; w = w.Next)
                        w.Signal.Set();
            }
        }
        lock (_outLock) _outbox.Clear();
        if (first) Failed?.Invoke(reason);
    }

    /// <summary>Raised once, on the thread that hit the first failure (often a transport receive thread), with
    /// <see cref="Failure"/>'s text. Handlers must not block.</summary>
    public event Action<string>? Failed;

    // ---------------------------------------------------------------- debugging and tests

    /// <summary>Every address with waiters here (count, registered) and, on node 0, the global masks: for diagnosing hangs.</summary>
    public string DebugDump()
    {
        var sb = new System.Text.StringBuilder();
        foreach (var s in _local)
            lock (s)
                foreach (var e in s.Entries.Values)
                    sb.Append($" local 0x{e.Addr:x}: {e.Count} waiting, registered {e.Registered};");
        if (_global is not null)
            foreach (var g in _global)
                lock (g)
                    foreach (var (a, m) in g.Masks) sb.Append($" global 0x{a:x}: nodes 0x{m:x};");
        return sb.ToString();
    }

    /// <summary>Waiters of this node queued on <paramref name="addr"/> right now (including ones still registering or
    /// reading the word).</summary>
    public int LocalWaiters(ulong addr)
    {
        var s = LocalStripeOf(addr);
        lock (s) return s.Entries.TryGetValue(addr, out var e) ? e.Count : 0;
    }

    /// <summary>This node's registration of <paramref name="addr"/> with node 0 is complete (for its waiters, or kept idle).</summary>
    public bool IsRegistered(ulong addr)
    {
        var s = LocalStripeOf(addr);
        lock (s) return s.Entries.TryGetValue(addr, out var e) && e.Registered;
    }

    /// <summary>Node 0's global table: bit n set = node n has registered waiters on <paramref name="addr"/>.</summary>
    /// <exception cref="InvalidOperationException">this is not node 0.</exception>
    public ulong GlobalMask(ulong addr)
    {
        if (_global is null) throw new InvalidOperationException($"node {_self} does not keep the global futex table");
        var g = GlobalStripeOf(addr);
        lock (g) return g.Masks.GetValueOrDefault(addr);
    }

    /// <summary>Addresses in node 0's global table (every one has a non-zero mask).</summary>
    public int GlobalEntries
    {
        get
        {
            if (_global is null) throw new InvalidOperationException($"node {_self} does not keep the global futex table");
            int n = 0;
            foreach (var g in _global)
                lock (g) n += g.Masks.Count;
            return n;
        }
    }

    // ---------------------------------------------------------------- local queues

    private uint NextSeq()
    {
        uint v = Interlocked.Increment(ref _seq);
        return v == 0 ? Interlocked.Increment(ref _seq) : v;
    }

    /// <summary>Appends <paramref name="w"/> to <paramref name="e"/>'s FIFO (an idle entry is in use again). Under the stripe lock.</summary>
    private void Append(Entry e, FutexWaiter w, uint bitset)
    {
        if (e.Idle)
        {
            e.Idle = false;
            Interlocked.Decrement(ref _idle);
            Interlocked.Increment(ref _c.Reused);
        }
        w.Entry = e;
        w.Bitset = bitset;
        w.Next = null;
        w.Prev = e.Tail;
        if (e.Tail is null) e.Head = w;
        else e.Tail.Next = w;
        e.Tail = w;
        e.Count++;
        Volatile.Write(ref w.State, FutexWaiter.Queued);
    }

    /// <summary>Takes <paramref name="w"/> out of <paramref name="e"/>'s FIFO. Under the stripe lock.</summary>
    private static void Unlink(Entry e, FutexWaiter w)
    {
        if (w.Prev is null) e.Head = w.Next;
        else w.Prev.Next = w.Next;
        if (w.Next is null) e.Tail = w.Prev;
        else w.Next.Prev = w.Prev;
        w.Prev = w.Next = null;
        e.Count--;
    }

    /// <summary>
    /// The entry has no waiter left: keep it idle (a completed registration, while fewer than keepIdle are kept), or
    /// retire it. Under the stripe lock. True when a message is queued.
    /// </summary>
    private bool Retire(LocalStripe s, Entry e)
    {
        if (e.Idle) return false;
        if (e.Registered && Interlocked.Increment(ref _idle) <= _keepIdle)
        {
            e.Idle = true;
            return false;
        }
        if (e.Registered) Interlocked.Decrement(ref _idle);
        return RetireNow(s, e);
    }

    /// <summary>
    /// Drops the entry and unregisters (node 0: clear bit 0; others: queue Unregister). Under the stripe lock, so the
    /// Unregister is queued before any later Register of the address. True when a message is queued.
    /// </summary>
    private bool RetireNow(LocalStripe s, Entry e)
    {
        if (e.Idle)
        {
            e.Idle = false;
            Interlocked.Decrement(ref _idle);
        }
        ulong addr = e.Addr;
        s.Entries.Remove(addr);
        s.Recycle(e);
        Interlocked.Increment(ref _c.Unregistrations);
        if (_self == 0)
        {
            GlobalClear(addr, 0);
            return false;
        }
        Post(new Outgoing(0, FutexMessages.Unregister, addr, 0, 0));
        return true;
    }

    /// <summary>
    /// The waiter gives up (mismatch, deadline, interrupt, failure): leave the queue. Returns <paramref name="result"/>,
    /// or 0 when a wake took the waiter out of the queue first (that wake counted it).
    /// </summary>
    private long Leave(FutexWaiter w, long result)
    {
        var e = w.Entry!;
        var s = LocalStripeOf(e.Addr);
        bool flush = false;
        lock (s)
        {
            if (w.State != FutexWaiter.Queued) return 0;
            Unlink(e, w);
            Volatile.Write(ref w.State, FutexWaiter.Idle);
            if (e.Count == 0) flush = Retire(s, e);
        }
        if (flush) Flush();
        return result;
    }

    /// <summary>Wakes up to <paramref name="count"/> matching waiters of this node, oldest first; returns how many.
    /// A <paramref name="remote"/> wake (WakeLocal) that finds the entry idle retires it: its registration is useless.</summary>
    private int WakeQueue(ulong addr, int count, uint bitset, bool remote = false, bool fromHere = true)
    {
        var s = LocalStripeOf(addr);
        int n = 0;
        bool flush = false;
        lock (s)
        {
            if (!s.Entries.TryGetValue(addr, out var e)) return 0;
            if (e.Idle)
            {
                if (remote) flush = RetireNow(s, e);
            }
            else
            {
                for (var w = e.Head; w is not null && n < count;)
                {
                    var next = w.Next;
                    if ((w.Bitset & bitset) != 0)
                    {
                        Unlink(e, w);
                        w.LastWakeLocal = fromHere;
                        Volatile.Write(ref w.State, FutexWaiter.Woken);
                        w.Signal.Set();
                        n++;
                    }
                    w = next;
                }
                if (e.Count == 0) flush = Retire(s, e);
            }
        }
        if (flush) Flush();
        return n;
    }

    /// <summary>Spins (polling the transport) while the spin lasts, then blocks on the waiter's signal; either way the
    /// caller re-checks its conditions after.</summary>
    private static void Sleep(FutexWaiter w, long until, long now, ref TransportSpin spin)
    {
        if (spin.Next()) return;
        int ms;
        if (until == long.MaxValue)
        {
            ms = Timeout.Infinite;
        }
        else
        {
            long ticksPerMs = Math.Max(1, Stopwatch.Frequency / 1000);
            ms = (int)Math.Min(int.MaxValue, (until - now) / ticksPerMs + 1);
        }
        w.Signal.Wait(ms);
        w.Signal.Reset();
    }

    private readonly bool _blockOnLocalWakes;

    /// <summary>
    /// Data forwarding: called with the pages a remote wake carried once it woke a waiter of this node (on the
    /// receiving thread: it must not block; asking for the pages without waiting is the use). Null: pages are ignored.
    /// </summary>
    public Action<ulong[]>? PagesWithWake { get; set; }

    private LocalStripe LocalStripeOf(ulong addr) => _local[StripeIndex(addr)];
    private GlobalStripe GlobalStripeOf(ulong addr) => _global![StripeIndex(addr)];

    private static int StripeIndex(ulong addr) => (int)((addr * 0x9E3779B97F4A7C15UL) >> 58) & (StripeCount - 1);

    private static ulong Bit(int node) => 1UL << node;

    private sealed class LocalStripe
    {
        /// <summary>Retired entries kept for reuse: node 0 keeps no idle registration, so without them every wait there
        /// that finds no other waiter allocated an entry (56 B a futex round trip, found by the heap audit).</summary>
        private const int MaxFree = 4;

        public readonly Dictionary<ulong, Entry> Entries = new();
        private Entry? _free;
        private int _freeCount;

        /// <summary>A clean entry for addr's first waiter. Under the stripe lock.</summary>
        public Entry NewEntry(ulong addr)
        {
            var e = _free;
            if (e is null) return new Entry(addr);
            _free = e.NextFree;
            _freeCount--;
            e.NextFree = null;
            e.Addr = addr;
            return e;
        }

        /// <summary>Keeps a retired entry (no waiter, out of <see cref="Entries"/>) for reuse by this stripe only, so its
        /// Addr stays an address of this stripe and Leave, which finds the lock through it, takes the right one. Under
        /// the stripe lock. A waiter woken out of it may still hold it (FutexWaiter.Entry, WaitCore's local): it finds
        /// its own state no longer Queued first (Leave, the loops of WaitCore), so what a reuse writes is never acted on.</summary>
        public void Recycle(Entry e)
        {
            if (_freeCount >= MaxFree) return;
            e.Head = e.Tail = null;
            e.Count = 0;
            e.Seq = 0;
            e.Registered = false;
            e.Idle = false;
            e.NextFree = _free;
            _free = e;
            _freeCount++;
        }
    }

    private sealed class GlobalStripe
    {
        public readonly Dictionary<ulong, ulong> Masks = new();
    }

    /// <summary>
    /// This node's waiters on one address, from the moment the first one arrives until the last one leaves (one
    /// registration with node 0). A later waiter on the same address starts a new entry. Guarded by its stripe's lock.
    /// </summary>
    internal sealed class Entry(ulong addr)
    {
        /// <summary>Set when the entry is made or reused for a new first waiter (<see cref="LocalStripe.NewEntry"/>).</summary>
        public ulong Addr = addr;
        /// <summary>The next retired entry of its stripe's free list.</summary>
        public Entry? NextFree;
        public FutexWaiter? Head, Tail;
        public int Count;
        /// <summary>The registration's sequence number (nodes other than 0).</summary>
        public uint Seq;
        /// <summary>Node 0 has this node in addr's mask: waiters may read the word. Read with Volatile outside the lock.</summary>
        public bool Registered;
        /// <summary>Kept registered with no waiter (see keepIdle).</summary>
        public bool Idle;
    }

    private sealed class Counters
    {
        public long LocalWaits, LocalWakes, GlobalWakes, RemoteWakesReceived, Registrations, Unregistrations, Reused, PagesWithWakes;
    }
}
