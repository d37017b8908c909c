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
        ulong addr = page * Page;
        lock (_protLock) _host.Protect((nint)(_space.Base + addr), Page, Narrow(_space.ProtAt(addr), state));
    }

    public void Read(ulong page, Span<byte> dst) => new ReadOnlySpan<byte>(_space.Alias + page * Page, (int)Page).CopyTo(dst);

    public void Write(ulong page, ReadOnlySpan<byte> src) => src.CopyTo(new Span<byte>(_space.Alias + page * Page, (int)Page));

    // ---------------------------------------------------------------- IGuestCoherence (the layout's side)

    public void OnLayout(LayoutOp op, ulong start, ulong end, GuestProt prot, string name)
    {
        ulong first = start / Page, count = (end - start) / Page;
        lock (_protLock)
        {
            if (op is LayoutOp.Map or LayoutOp.Unmap) _dsm?.ResetRange(first, count);
            _host.Protect((nint)(_space.Base + start), end - start, Narrow(prot, Initial));
            _dsm?.ForEachChangedPage(first, count, (p, s) =>
                _host.Protect((nint)(_space.Base + p * Page), Page, Narrow(prot, s)));
        }
        if (op != LayoutOp.Widen) Replicate?.Invoke(op, start, end, prot, name);
    }

    public bool RefreshLayout(ulong addr, ulong len) => Refresh?.Invoke(addr, len) ?? false;

    public void MakeResident(ulong addr, ulong len, bool write)
    {
        if (_dsm == null || len == 0) return;
        var pin = _dsm.PinRange(addr, len, write);
        (_pins ??= new()).Add(pin);
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
        for (ulong p = addr / Page; p <= last / Page; p++) Dsm.Acquire(p, write: false);
        new ReadOnlySpan<byte>(_space.Alias + addr, dst.Length).CopyTo(dst);
        return true;
    }

    public bool TryReadWord(ulong addr, out uint value)
    {
        value = 0;
        if ((addr & 3) != 0 || !IsReadable(addr)) return false;
        Dsm.Acquire(addr / Page, write: false);
        value = Volatile.Read(ref *(uint*)(_space.Alias + addr));
        return true;
    }

    /// <summary>
    /// A guest access faulted at <paramref name="addr"/>: when the guest's protection allows it, the page is
    /// fetched (blocking) and true says "run the instruction again"; false means a real guest SIGSEGV.
    /// </summary>
    public bool ResolveFault(ulong addr, bool write)
    {
        var need = write ? GuestProt.Write : GuestProt.Read | GuestProt.Exec;
        if (!Permits(addr, need)) return false;
        ulong page = addr / Page;
        var dsm = Dsm;
        var needed = write ? PageState.Modified : PageState.Shared;
        if (dsm.State(page) >= needed)
        {
            // held already, yet it faulted: the page moved and came back meanwhile, or its protection is stale
            // (a layout change raced the engine). Setting it from the state read under the protection lock makes
            // progress certain without undoing a newer change (the engine's own Protect follows its state change).
            lock (_protLock)
                _host.Protect((nint)(_space.Base + page * Page), Page, Narrow(_space.ProtAt(page * Page), dsm.State(page)));
            return true;
        }
        dsm.Acquire(page, write);
        return true;
    }
}
