using Dqemu.JitX64.Host;
using Dqemu.JitX64.Translation;

namespace Dqemu.Runtime.Memory;

/// <summary>
/// The guest's whole address space as one host reservation (DESIGN.md invariant 1): guest address g lives at
/// host Base + g. Translated code checks every address against <see cref="Mask"/>, the highest guest address
/// (EmitterContext.CheckAddress): one in range is used as it is (unmapped pages fault and become the guest's SIGSEGV),
/// one above it has its top byte ignored (AArch64 TBI) or else faults in the guard, never in emulator memory.
/// 45 bits: a cluster node maps the range twice (view and alias) in x86-64's 128 TiB of user space.
/// The layout (which ranges exist, with which protection) is kept here so syscalls can check guest buffers
/// before managed code touches them (invariant 2) and so every node can apply the same layout.
/// </summary>
public sealed unsafe partial class GuestSpace : IGuestCodeReader
{
    public const int AddressBits = 45;
    public const ulong Size = 1UL << AddressBits;
    public const ulong Mask = Size - 1;
    public const ulong PageSize = 4096;
    /// <summary>Above the range: an in-range address plus a displacement reaches at most 64 KiB + 64 bytes, and
    /// wild addresses are sent 128 KiB in (CpuOffsets.WildTarget); the guard keeps both inside the reservation.</summary>
    public const ulong GuardSize = 1UL << 20;

    /// <summary>
    /// Shadow pages of split pages (cluster page splitting, see Cluster/PageSplitter.cs) live above the guard, in the
    /// same reservation (translated code reaches them as [r15 + x]) but out of the guest's reach: no masked guest
    /// address gets there, only the redirection of a split-aware instruction. A slot holds one split page's units,
    /// one shadow page per unit (512 for 8-byte units); slots are not reused within a run.
    /// </summary>
    public const ulong ShadowStart = Size + GuardSize;
    public const int ShadowSlots = 1024;
    public const ulong ShadowSlotBytes = 512 * PageSize;
    public const ulong ShadowSize = ShadowSlots * ShadowSlotBytes;

    /// <summary>The whole host reservation: guest space, guard, shadow slots.</summary>
    public const ulong ReservationSize = ShadowStart + ShadowSize;

    /// <summary>Top of the initial stack and the ceiling of mmap's top-down search.</summary>
    public const ulong StackTop = 0xFF_FF00_0000;
    public const ulong MmapTop = 0xFE_0000_0000;
    public const ulong MmapBottom = 0x10_0000_0000;
    /// <summary>Where a position-independent executable (static-pie, ET_DYN) is placed.</summary>
    public const ulong PieBase = 0x55_5555_0000;
    /// <summary>Where the dynamic linker (PT_INTERP) is placed.</summary>
    public const ulong InterpBase = 0xF0_0000_0000;

    private readonly IHostMemory _host;
    private readonly List<Vma> _vmas = new(); // sorted, non-overlapping
    private readonly object _lock = new();
    private Vma? _lastExec;

    private LayoutSnapshot _snapshot = new(0, []);

    public byte* Base { get; }
    /// <summary>A mapping of guest memory that managed code may read without faulting (cluster nodes: an always
    /// readable alias of the same pages; one node: <see cref="Base"/>).</summary>
    public byte* Alias { get; }
    public ulong BrkStart { get; private set; }
    public ulong BrkCurrent { get; private set; }

    public GuestSpace(IHostMemory host)
    {
        _host = host;
        Base = (byte*)host.Reserve(ReservationSize);
        Alias = host is Host.SharedGuestMemory shared ? shared.Alias : Base;
    }

    /// <summary>The cluster's coherence layer, or null on one node. Set before the guest runs.</summary>
    public IGuestCoherence? Coherence { get; set; }

    /// <summary>One mapped range and its protection, as the lock-free snapshot and the cluster's layout messages hold it.</summary>
    public readonly record struct LayoutSpan(ulong Start, ulong End, GuestProt Prot);

    /// <summary>The layout as immutable spans, for lock-free lookups from the coherence engine's receive threads;
    /// <see cref="Version"/> counts the changes before it (one per change of the vma list).</summary>
    private sealed record LayoutSnapshot(long Version, LayoutSpan[] Spans);

    /// <summary>How many times the layout changed so far (node 0's count orders the cluster's layout messages).</summary>
    public long Version => Volatile.Read(ref _snapshot).Version;

    /// <summary>Raised after a range was unmapped, replaced or re-protected (translated code may be stale).</summary>
    public Action<ulong, ulong>? LayoutChanged { get; set; }

    public IReadOnlyList<Vma> Vmas { get { lock (_lock) return _vmas.ToArray(); } }

    /// <summary>Runs <paramref name="action"/> holding the layout lock (a guest's fork: see Translator.Exclusive).</summary>
    public T Exclusive<T>(Func<T> action)
    {
        lock (_lock) return action();
    }

    public static ulong PageDown(ulong a) => a & ~(PageSize - 1);
    public static ulong PageUp(ulong a) => (a + PageSize - 1) & ~(PageSize - 1);

    // ---- layout ----

    /// <summary>Maps anonymous zeroed memory at exactly [addr, addr+len) (page aligned), replacing what was there.</summary>
    public void MapFixed(ulong addr, ulong len, GuestProt prot, string name)
    {
        lock (_lock)
        {
            _host.Commit((nint)(Base + addr), len, Coherence == null ? ToHost(prot) : HostProtection.None);
            ForgetGuardsLocked(addr, addr + len);
            SetRange(addr, addr + len, prot, name, remove: false);
            Coherence?.OnLayout(LayoutOp.Map, addr, addr + len, prot, name);
        }
        LayoutChanged?.Invoke(addr, addr + len);
    }

    /// <summary>False when <see cref="TryMapFilePages"/> always refuses (shared guest memory, or a coherence engine
    /// that must see every page change): the loader copies without opening the file.</summary>
    public bool MapsFilePages => Coherence == null && _host.MapsFiles;

    /// <summary>
    /// Puts file pages under part of a range <see cref="MapFixed"/> mapped with <paramref name="prot"/> (its layout and
    /// name stay): <paramref name="len"/> bytes of <paramref name="fd"/> from <paramref name="offset"/>, page aligned and
    /// inside the file, mapped privately as Linux's ELF loader maps a segment, so a page costs something only when the
    /// guest touches it (a copy touched them all: 1,650 pages, ~16 ms here, for python3.11's executable). False when the
    /// pages stay zeroed memory: a cluster's shared guest memory cannot hold file pages, or the host refused; the caller
    /// copies.
    /// </summary>
    public bool TryMapFilePages(ulong addr, ulong len, GuestProt prot, int fd, ulong offset)
    {
        lock (_lock)
            return MapsFilePages && _host.TryMapFilePrivate((nint)(Base + addr), len, ToHost(prot), fd, offset);
    }

    /// <summary>Records a range the caller mapped on the host itself (file mappings).</summary>
    public void RecordMapping(ulong addr, ulong len, GuestProt prot, string name)
    {
        lock (_lock)
        {
            ForgetGuardsLocked(addr, addr + len);
            SetRange(addr, addr + len, prot, name, remove: false);
        }
        LayoutChanged?.Invoke(addr, addr + len);
    }

    public void Unmap(ulong addr, ulong len)
    {
        lock (_lock)
        {
            _host.Decommit((nint)(Base + addr), len);
            ForgetGuardsLocked(addr, addr + len);
            SetRange(addr, addr + len, GuestProt.None, "", remove: true);
            Coherence?.OnLayout(LayoutOp.Unmap, addr, addr + len, GuestProt.None, "");
        }
        LayoutChanged?.Invoke(addr, addr + len);
    }

    /// <summary>Changes protection; false (ENOMEM) when part of the range is not mapped.</summary>
    public bool Protect(ulong addr, ulong len, GuestProt prot)
    {
        lock (_lock)
        {
            if (!IsMappedLocked(addr, addr + len)) return false;
            if (Coherence == null) _host.Protect((nint)(Base + addr), len, ToHost(prot));
            ForgetGuardsLocked(addr, addr + len);
            // a change that only adds rights anywhere in the range is a Widen, which other nodes may learn late
            // (asked only in a cluster: one node has no one to tell)
            bool widen = Coherence != null && PiecesLocked(addr, addr + len).All(p => (p.Prot & ~prot) == 0);
            ReprotectLocked(addr, addr + len, prot);
            Coherence?.OnLayout(widen ? LayoutOp.Widen : LayoutOp.Protect, addr, addr + len, prot, "");
        }
        // a guest that generates code makes it writable, writes, then executable again: drop what was translated
        LayoutChanged?.Invoke(addr, addr + len);
        return true;
    }

    /// <summary>The mapped parts of [start, end), one per vma, clipped to the range.</summary>
    public List<(ulong Start, ulong End, GuestProt Prot, string Name)> Pieces(ulong start, ulong end)
    {
        lock (_lock) return PiecesLocked(start, end);
    }

    private List<(ulong Start, ulong End, GuestProt Prot, string Name)> PiecesLocked(ulong start, ulong end) =>
        _vmas.Where(v => v.End > start && v.Start < end)
            .Select(v => (Math.Max(v.Start, start), Math.Min(v.End, end), v.Prot, v.Name)).ToList();

    /// <summary>A new protection for the mapped parts of [start, end), keeping each vma's name.</summary>
    private void ReprotectLocked(ulong start, ulong end, GuestProt prot)
    {
        foreach (var p in PiecesLocked(start, end)) SetRange(p.Start, p.End, prot, p.Name, remove: false);
    }

    /// <summary>
    /// A free range of <paramref name="len"/> bytes: the hint if it is free (anywhere in the guest range), else the highest gap below
    /// <see cref="MmapTop"/> (Linux's top-down layout). 0 when none.
    /// </summary>
    public ulong FindFree(ulong len, ulong hint = 0)
    {
        lock (_lock)
        {
            // as Linux, a free hint anywhere in the address space is taken (the search below stays under MmapTop)
            if (hint != 0 && hint + len <= Size && hint + len > hint && IsFreeLocked(hint, hint + len)) return hint;
            ulong top = MmapTop;
            for (int i = _vmas.Count - 1; i >= -1; i--)
            {
                ulong gapStart = i >= 0 ? _vmas[i].End : MmapBottom;
                if (i >= 0 && _vmas[i].Start >= top) continue;
                if (gapStart < MmapBottom) gapStart = MmapBottom;
                if (top >= gapStart + len) return top - len;
                if (i >= 0) top = Math.Min(top, _vmas[i].Start);
                if (top < MmapBottom) break;
            }
            return 0;
        }
    }

    public bool IsFree(ulong start, ulong end) { lock (_lock) return IsFreeLocked(start, end); }

    private bool IsFreeLocked(ulong start, ulong end)
    {
        foreach (var v in _vmas) if (v.Start < end && v.End > start) return false;
        return true;
    }

    private bool IsMappedLocked(ulong start, ulong end)
    {
        ulong at = start;
        foreach (var v in _vmas)
        {
            if (v.End <= at) continue;
            if (v.Start > at) return false;
            at = v.End;
            if (at >= end) return true;
        }
        return at >= end;
    }

    /// <summary>Replaces [start,end) in the vma list with one vma (or nothing), splitting neighbours.</summary>
    private void SetRange(ulong start, ulong end, GuestProt prot, string name, bool remove)
    {
        _lastExec = null;
        var result = new List<Vma>(_vmas.Count + 2);
        foreach (var v in _vmas)
        {
            if (v.End <= start || v.Start >= end) { result.Add(v); continue; }
            if (v.Start < start) result.Add(new Vma(v.Start, start, v.Prot, v.Name));
            if (v.End > end) result.Add(new Vma(end, v.End, v.Prot, v.Name));
        }
        if (!remove) result.Add(new Vma(start, end, prot, name));
        result.Sort((a, b) => a.Start.CompareTo(b.Start));
        // merge neighbours with equal attributes so the list stays short
        _vmas.Clear();
        foreach (var v in result)
        {
            if (_vmas.Count > 0)
            {
                var last = _vmas[^1];
                if (last.End == v.Start && last.Prot == v.Prot && last.Name == v.Name) { last.End = v.End; continue; }
            }
            _vmas.Add(v);
        }
        var snap = new LayoutSpan[_vmas.Count];
        for (int i = 0; i < snap.Length; i++) snap[i] = new LayoutSpan(_vmas[i].Start, _vmas[i].End, _vmas[i].Prot);
        Volatile.Write(ref _snapshot, new LayoutSnapshot(_snapshot.Version + 1, snap)); // under _lock: one writer
    }

    /// <summary>
    /// The mapped parts of [start, end) with their protections (clipped to the range, at most <paramref name="max"/>
    /// of them) and the layout's <see cref="Version"/> they belong to, without taking the layout lock.
    /// </summary>
    public long SpansIn(ulong start, ulong end, List<LayoutSpan> into, int max)
    {
        var snap = Volatile.Read(ref _snapshot);
        foreach (var v in snap.Spans)
        {
            if (v.End <= start || v.Start >= end) continue;
            if (into.Count == max) break;
            into.Add(new LayoutSpan(Math.Max(v.Start, start), Math.Min(v.End, end), v.Prot));
        }
        return snap.Version;
    }

    /// <summary>The guest protection at <paramref name="addr"/> (None when unmapped), without taking the layout lock.</summary>
    public GuestProt ProtAt(ulong addr)
    {
        var snap = Volatile.Read(ref _snapshot).Spans;
        int lo = 0, hi = snap.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (addr < snap[mid].Start) hi = mid - 1;
            else if (addr >= snap[mid].End) lo = mid + 1;
            else return snap[mid].Prot;
        }
        return GuestProt.None;
    }

    /// <summary>Workers: node 0's <see cref="Version"/> after the last change node 0 sent here (applied in node 0's order).</summary>
    private long _replicaVersion;

    /// <summary>
    /// A worker applies a layout change node 0 made (<see cref="IGuestCoherence.OnLayout"/> sent it, with node 0's
    /// <see cref="Version"/> after it): the same primitive, with the host protection left to the coherence layer.
    /// </summary>
    public void ApplyRemote(LayoutOp op, ulong start, ulong end, GuestProt prot, string name, long version)
    {
        lock (_lock)
        {
            switch (op)
            {
                case LayoutOp.Map:
                    _host.Commit((nint)(Base + start), end - start, HostProtection.None);
                    SetRange(start, end, prot, name, remove: false);
                    break;
                case LayoutOp.Unmap:
                    _host.Decommit((nint)(Base + start), end - start);
                    SetRange(start, end, GuestProt.None, "", remove: true);
                    break;
                case LayoutOp.Protect:
                case LayoutOp.Widen:
                    ReprotectLocked(start, end, prot);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(op));
            }
            Coherence?.OnLayout(op, start, end, prot, name);
            _replicaVersion = Math.Max(_replicaVersion, version);
        }
        LayoutChanged?.Invoke(start, end);
    }

    /// <summary>What <see cref="ApplySpans"/> did.</summary>
    public enum SpansApplied { Unchanged, Changed, Stale }

    /// <summary>
    /// A worker brings its protections up to node 0's <paramref name="spans"/>, read at node 0's
    /// <paramref name="version"/> (<see cref="IGuestCoherence.RefreshLayout"/>). Stale, and nothing applied, when a
    /// change node 0 made later has been applied here already: the spans might undo it (ask again). Only the
    /// protection of what is mapped here changes; mappings themselves come with node 0's messages.
    /// </summary>
    public SpansApplied ApplySpans(IReadOnlyList<LayoutSpan> spans, long version)
    {
        var changed = new List<LayoutSpan>();
        lock (_lock)
        {
            if (version < _replicaVersion) return SpansApplied.Stale;
            foreach (var span in spans)
            {
                if (PiecesLocked(span.Start, span.End).All(p => p.Prot == span.Prot)) continue;
                ReprotectLocked(span.Start, span.End, span.Prot);
                Coherence?.OnLayout(LayoutOp.Protect, span.Start, span.End, span.Prot, "");
                changed.Add(span);
            }
        }
        foreach (var span in changed) LayoutChanged?.Invoke(span.Start, span.End);
        return changed.Count > 0 ? SpansApplied.Changed : SpansApplied.Unchanged;
    }

    // ---- brk ----

    public void InitBrk(ulong start)
    {
        BrkStart = BrkCurrent = PageUp(start);
    }

    /// <summary>The brk syscall: grows or shrinks the heap; returns the (possibly unchanged) break.</summary>
    public ulong Brk(ulong requested)
    {
        lock (_lock)
        {
            // below the start, or so high that rounding it up wraps (Linux fails the growth on the data limit)
            if (requested < BrkStart || requested > MmapTop) return BrkCurrent;
            ulong oldTop = PageUp(BrkCurrent), newTop = PageUp(requested);
            if (newTop > oldTop)
            {
                // as Linux: the heap grows until it meets another mapping. Not capped at MmapBottom: a PIE's
                // heap starts above it (PieBase), and that cap made every brk of a dynamic program fail
                if (newTop > MmapTop || !IsFreeLocked(oldTop, newTop)) return BrkCurrent;
                _host.Commit((nint)(Base + oldTop), newTop - oldTop, Coherence == null ? HostProtection.ReadWrite : HostProtection.None);
                SetRange(oldTop, newTop, GuestProt.Read | GuestProt.Write, "[heap]", remove: false);
                Coherence?.OnLayout(LayoutOp.Map, oldTop, newTop, GuestProt.Read | GuestProt.Write, "[heap]");
            }
            else if (newTop < oldTop)
            {
                _host.Decommit((nint)(Base + newTop), oldTop - newTop);
                ForgetGuardsLocked(newTop, oldTop);
                SetRange(newTop, oldTop, GuestProt.None, "", remove: true);
                Coherence?.OnLayout(LayoutOp.Unmap, newTop, oldTop, GuestProt.None, "");
            }
            BrkCurrent = requested;
            return BrkCurrent;
        }
    }

    // ---- access checks for managed code ----

    /// <summary>True when every byte of [addr, addr+len) is mapped with at least <paramref name="need"/>.</summary>
    public bool IsAccessible(ulong addr, ulong len, GuestProt need)
    {
        if (len == 0) return true;
        ulong end = addr + len;
        if (end < addr || end > Size) return false;
        // a worker's layout may lack a widening node 0 made (LayoutOp.Widen): ask once before saying no
        if (!IsAccessibleNow(addr, end, need) && (Coherence?.RefreshLayout(addr, len) != true || !IsAccessibleNow(addr, end, need)))
            return false;
        // outside the lock: fetching pages waits for other nodes, which may need node 0's layout lock meanwhile
        Coherence?.MakeResident(addr, len, (need & GuestProt.Write) != 0);
        // a write for the guest into a page holding translated code: the page becomes writable, its code stale
        if ((need & GuestProt.Write) != 0) ReleaseCodeRange(addr, len);
        return true;
    }

    private bool IsAccessibleNow(ulong addr, ulong end, GuestProt need)
    {
        lock (_lock)
        {
            ulong at = addr;
            int i = FindIndexLocked(addr);
            if (i < 0) return false;
            for (; i < _vmas.Count; i++)
            {
                var v = _vmas[i];
                if (v.Start > at || (v.Prot & need) != need) return false;
                at = v.End;
                if (at >= end) break;
            }
            return at >= end;
        }
    }

    private int FindIndexLocked(ulong addr)
    {
        int lo = 0, hi = _vmas.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            var v = _vmas[mid];
            if (addr < v.Start) hi = mid - 1;
            else if (addr >= v.End) lo = mid + 1;
            else return mid;
        }
        return -1;
    }

    public Vma? Find(ulong addr)
    {
        lock (_lock) { int i = FindIndexLocked(addr); return i < 0 ? null : _vmas[i]; }
    }

    /// <summary>Host pointer for a guest address; check with <see cref="IsAccessible"/> first.</summary>
    public byte* Host(ulong addr) => Base + (addr & Mask);

    public Span<byte> Span(ulong addr, int len) => new(Base + addr, len);

    /// <summary>Reads without a check: only for memory the emulator itself placed and keeps (the signal trampoline).</summary>
    public T Read<T>(ulong addr) where T : unmanaged => *(T*)(Base + addr);
    public void Write<T>(ulong addr, T value) where T : unmanaged => *(T*)(Base + addr) = value;

    // ---- checked, fault-tolerant copies: how managed code reads and writes guest memory (invariant 2) ----

    /// <summary>
    /// Copies guest [addr, addr+dst.Length) into <paramref name="dst"/> when the guest may read it; false (EFAULT) when
    /// it may not or when a page faults anyway (a file page past the end of its file, a page unmapped meanwhile).
    /// </summary>
    public bool TryCopyIn(ulong addr, Span<byte> dst)
    {
        if (!IsAccessible(addr, (ulong)dst.Length, GuestProt.Read)) return false;
        fixed (byte* d = dst) return Dqemu.Runtime.Host.GuardedCopy.Copy(d, Base + addr, (ulong)dst.Length);
    }

    /// <summary>Copies <paramref name="src"/> to guest memory when the guest may write there; false (EFAULT) otherwise.</summary>
    public bool TryCopyOut(ulong addr, ReadOnlySpan<byte> src)
    {
        if (!IsAccessible(addr, (ulong)src.Length, GuestProt.Write)) return false;
        fixed (byte* s = src) return Dqemu.Runtime.Host.GuardedCopy.Copy(Base + addr, s, (ulong)src.Length);
    }

    public bool TryRead<T>(ulong addr, out T value) where T : unmanaged
    {
        value = default;
        fixed (T* v = &value) return TryCopyIn(addr, new Span<byte>(v, sizeof(T)));
    }

    public bool TryWrite<T>(ulong addr, T value) where T : unmanaged
        => TryCopyOut(addr, new ReadOnlySpan<byte>(&value, sizeof(T)));

    // ---- instruction fetch for the translator ----

    public bool TryFetch(ulong pc, out uint word)
    {
        if ((pc & 3) != 0) { word = 0; return false; } // a misaligned pc is a fault, never a fetch of unaligned bytes
        var v = _lastExec;
        if (!IsCode(v, pc))
        {
            v = Find(pc);
            if (!IsCode(v, pc))
            {
                // a worker's layout may lack a widening node 0 made (LayoutOp.Widen): ask once before saying no
                if (Coherence?.RefreshLayout(pc, 4) != true || !IsCode(v = Find(pc), pc)) { word = 0; return false; }
            }
            _lastExec = v;
        }
        if ((v.Prot & GuestProt.Write) != 0) GuardPage(pc);
        if (Coherence != null)
        {
            Coherence.EnsureReadable(pc);
            word = *(uint*)(Alias + pc);
            return true;
        }
        word = *(uint*)(Base + pc);
        return true;
    }

    /// <summary>Whether the 4 bytes at <paramref name="pc"/> lie in executable <paramref name="v"/> (compared
    /// without computing pc + 4, which wraps at the top of the address space).</summary>
    private static bool IsCode([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] Vma? v, ulong pc) =>
        v != null && (v.Prot & GuestProt.Exec) != 0 && pc >= v.Start && pc <= v.End - 4;

    public static HostProtection ToHost(GuestProt p)
    {
        // Guest code is translated, never run in place, so host pages never need PROT_EXEC;
        // exec-only guest pages must still be readable by the translator.
        var h = HostProtection.None;
        if ((p & (GuestProt.Read | GuestProt.Exec)) != 0) h |= HostProtection.Read;
        if ((p & GuestProt.Write) != 0) h |= HostProtection.Read | HostProtection.Write;
        return h;
    }
}
