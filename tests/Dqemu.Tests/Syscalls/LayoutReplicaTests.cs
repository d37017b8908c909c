using Dqemu.Runtime.Memory;
using Xunit;

namespace Dqemu.Tests.Syscalls;

/// <summary>
/// How a cluster keeps the guest's layout on every node (GuestSpace with a coherence layer): an mprotect that only adds
/// rights is a <see cref="LayoutOp.Widen"/> (node 0 keeps it to itself), any that takes one away is a Protect (copied
/// to every node at once); a worker brings its copy up to node 0's spans only when they are not older than a change
/// node 0 already sent it, never maps anything that way, and asks (RefreshLayout) once before it denies an access.
/// The multi-node guest mt_layout checks the same end to end against qemu-aarch64.
/// </summary>
public sealed unsafe class LayoutReplicaTests : IDisposable
{
    private const ulong Page = GuestSpace.PageSize;
    private const ulong At = 0x10_0000_0000;
    private const GuestProt R = GuestProt.Read, Rw = GuestProt.Read | GuestProt.Write, Rx = GuestProt.Read | GuestProt.Exec;

    private readonly TestGuestSpace _lease = new();
    private GuestSpace _space => _lease.Space;
    private readonly RecordingCoherence _coherence = new();

    public LayoutReplicaTests() => _space.Coherence = _coherence;

    public void Dispose() => _lease.Dispose();

    [Fact]
    public void MprotectThatOnlyAddsRightsIsAWidenAndOneThatTakesAnyAwayIsAProtect()
    {
        _space.MapFixed(At, 3 * Page, GuestProt.None, "test");
        Assert.True(_space.Protect(At, Page, Rw));
        Assert.Equal(LayoutOp.Widen, _coherence.Ops[^1]);
        Assert.True(_space.Protect(At, 2 * Page, Rw)); // page 0 stays rw, page 1 gains it
        Assert.Equal(LayoutOp.Widen, _coherence.Ops[^1]);
        Assert.True(_space.Protect(At, Page, R));
        Assert.Equal(LayoutOp.Protect, _coherence.Ops[^1]);
        Assert.True(_space.Protect(At, 2 * Page, Rx)); // page 0 gains exec, page 1 loses write
        Assert.Equal(LayoutOp.Protect, _coherence.Ops[^1]);
        Assert.True(_space.Protect(At, 2 * Page, Rx)); // the same again: takes nothing away
        Assert.Equal(LayoutOp.Widen, _coherence.Ops[^1]);
    }

    [Fact]
    public void SpansOlderThanAChangeNode0SentAreStaleAndChangeNothing()
    {
        _space.ApplyRemote(LayoutOp.Map, At, At + 2 * Page, GuestProt.None, "test", version: 5);
        var rw = new[] { new GuestSpace.LayoutSpan(At, At + Page, Rw) };
        Assert.Equal(GuestSpace.SpansApplied.Stale, _space.ApplySpans(rw, version: 4));
        Assert.Equal(GuestProt.None, _space.ProtAt(At));
        Assert.Equal(GuestSpace.SpansApplied.Changed, _space.ApplySpans(rw, version: 6));
        Assert.Equal(Rw, _space.ProtAt(At));
        Assert.Equal(GuestProt.None, _space.ProtAt(At + Page));
        Assert.Equal(GuestSpace.SpansApplied.Unchanged, _space.ApplySpans(rw, version: 7));
        // a later change from node 0 makes the same spans stale again
        _space.ApplyRemote(LayoutOp.Protect, At, At + Page, R, "", version: 8);
        Assert.Equal(GuestSpace.SpansApplied.Stale, _space.ApplySpans(rw, version: 7));
        Assert.Equal(R, _space.ProtAt(At));
    }

    [Fact]
    public void SpansNeverMapWhatIsNotMappedHere()
    {
        var span = new[] { new GuestSpace.LayoutSpan(At + 16 * Page, At + 17 * Page, Rw) };
        Assert.Equal(GuestSpace.SpansApplied.Unchanged, _space.ApplySpans(span, version: 1));
        Assert.Equal(GuestProt.None, _space.ProtAt(At + 16 * Page));
        Assert.Null(_space.Find(At + 16 * Page));
    }

    [Fact]
    public void SpansInClipsToTheRangeAndCarriesTheVersion()
    {
        _space.MapFixed(At, 4 * Page, R, "a");
        _space.Protect(At + Page, Page, Rw);
        long before = _space.Version;
        var spans = new List<GuestSpace.LayoutSpan>();
        Assert.Equal(before, _space.SpansIn(At + Page / 2, At + 2 * Page + 8, spans, max: 16));
        Assert.Equal([new(At + Page / 2, At + Page, R), new(At + Page, At + 2 * Page, Rw), new(At + 2 * Page, At + 2 * Page + 8, R)], spans);
        _space.Protect(At, Page, Rw);
        Assert.True(_space.Version > before);
    }

    [Fact]
    public void AnAccessTheLayoutDeniesIsAskedAboutOnceBeforeTheAnswerIsNo()
    {
        _space.ApplyRemote(LayoutOp.Map, At, At + Page, GuestProt.None, "test", version: 1);
        Assert.False(_space.IsAccessible(At, 8, GuestProt.Read));
        Assert.Equal(1, _coherence.Refreshes);
        Assert.False(_space.TryFetch(At, out _));
        Assert.Equal(2, _coherence.Refreshes);

        // node 0 had widened the page: the refresh brings it here and the access is allowed
        _coherence.OnRefresh = () => _space.ApplySpans([new GuestSpace.LayoutSpan(At, At + Page, Rw)], version: 2) == GuestSpace.SpansApplied.Changed;
        Assert.True(_space.IsAccessible(At, 8, GuestProt.Write));
        Assert.Equal(3, _coherence.Refreshes);
        Assert.True(_space.IsAccessible(At, 8, GuestProt.Write));
        Assert.Equal(3, _coherence.Refreshes); // allowed now without asking
    }

    /// <summary>Records the layout primitives; a refresh does what the test says (nothing by default).</summary>
    private sealed class RecordingCoherence : IGuestCoherence
    {
        public readonly List<LayoutOp> Ops = new();
        public int Refreshes;
        public Func<bool> OnRefresh = () => false;

        public void OnLayout(LayoutOp op, ulong start, ulong end, GuestProt prot, string name) => Ops.Add(op);

        public bool RefreshLayout(ulong addr, ulong len)
        {
            Refreshes++;
            return OnRefresh();
        }

        public void MakeResident(ulong addr, ulong len, bool write) { }
        public void ReleaseResident() { }
        public void EnsureReadable(ulong addr) { }
    }
}
