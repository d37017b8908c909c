using System.Buffers.Binary;
using System.Diagnostics;
using Dqemu.Runtime.Memory;

namespace Dqemu.Runtime.Cluster;

// Page splitting, the runtime's half (PageSplitter.cs holds each node's record, the engine's home spots candidates):
// node 0 splits and merges pages, every node applies what node 0 did, and guest faults on split pages make
// instructions split-aware or, from an instruction that already is, merge the page back.
internal sealed unsafe partial class ClusterNode
{
    /// <summary>How long node 0 leaves a merged page whole before it may split it again: this, doubled per merge.</summary>
    private static readonly TimeSpan SplitBackoff = TimeSpan.FromMilliseconds(20);

    private readonly ServiceQueue<Action> _splitWork = new(); // node 0: splits and merges asked for from elsewhere
    private readonly Dictionary<ulong, (int Merges, long NotBefore)> _mergedPages = new(); // node 0, under SplitLock
    private long _splits, _merges, _awareInstructions, _splitsDeclined, _awarenessUndone;

    /// <summary>How many times node 0 tries a proposed split again when the guest's layout changed while the page was
    /// being fetched (threads starting map their stacks then; the sharing seen is still true).</summary>
    private const int SplitRetries = 3;

    private PageSplitter Split => _memory.Split;

    /// <summary>Wires the engine's split proposals and the memory's merge requests (a cluster of two or more nodes with
    /// split_pages on); node 0 starts the thread that splits and merges.</summary>
    private void StartSplitting()
    {
        if (!_ctx.Config.SplitPages || _transport.NodeCount == 1) return;
        Dsm.SplitSuggested += (page, shift) =>
        {
            if (Self == 0) _splitWork.Add(() => SplitPage(page, shift));
            else Send(0, ClusterMessages.SplitHint, HintBody(page, shift));
        };
        Dsm.UnitContended += unit =>
        {
            // the nodes share the unit itself: the split does not help, the page goes back whole
            ulong addr = unit * DsmPage;
            if (!PageSplitter.IsShadow(addr)) return;
            ulong page = Split.PageOf(PageSplitter.SlotOf(addr).Slot);
            if (Self == 0) _splitWork.Add(() => MergePage(page, keepData: true));
            else Send(0, ClusterMessages.SplitHint, HintBody(page, 0));
        };
        _memory.Merge = Self == 0 ? MergePage : (page, _) => MergeFromWorker(page);
        if (Self != 0) return;
        new Thread(() =>
        {
            // waits for workers and pages while guest threads compute: it must get a CPU when they answer
            Dqemu.Rdma.UrgentThread.Make();
            foreach (var work in _splitWork.Consume()) work();
        }) { IsBackground = true, Name = "dqemu-split" }.Start();
    }

    /// <summary>
    /// A guest access faulted at <paramref name="addr"/> from the instruction at <paramref name="pc"/> (host code at
    /// <paramref name="hostRip"/>). On a split page: an instruction that does not redirect yet becomes split-aware
    /// (every translation is dropped, so every block holding it is translated again); one that does redirect reached
    /// the page because its access leaves one unit, so the page is merged back. Anything else is a page or unit fetch.
    /// </summary>
    public bool ResolveFault(ulong addr, bool write, ulong pc, ulong hostRip)
    {
        if (addr < GuestSpace.Size && Split.IsSplit(addr / DsmPage))
        {
            var translator = P.Translator;
            if (!translator.IsCurrentCode(hostRip)) return true; // a dropped translation: the new one decides
            if (translator.MarkSplitAware(pc))
            {
                Interlocked.Increment(ref _awareInstructions);
                P.RequestExitAll();
                return true;
            }
            if ((P.Space.ProtAt(addr) & (write ? GuestProt.Write : GuestProt.Read)) == 0) return false;
            _memory.Merge!(addr / DsmPage, true);
            return true;
        }
        return _memory.ResolveFault(addr, write);
    }

    private const ulong DsmPage = Dqemu.Dsm.DsmNode.PageSize;

    /// <summary>A page the guest can read and write and does not execute: the only kind worth splitting.</summary>
    private bool Splittable(ulong addr) =>
        (P.Space.ProtAt(addr) & (GuestProt.Read | GuestProt.Write | GuestProt.Exec)) == (GuestProt.Read | GuestProt.Write);

    /// <summary>
    /// Node 0, on the split thread: splits <paramref name="page"/> into units of 2^<paramref name="shift"/> bytes. The
    /// page is fetched and pinned first (no other node can write it), its view here closes before its bytes are
    /// copied into the units (no write of this node is lost), then every worker records the split.
    /// </summary>
    private void SplitPage(ulong page, int shift, int retries = SplitRetries)
    {
        ulong addr = page * DsmPage;
        if (_process == null || Split.IsSplit(page) || !Splittable(addr) || Backoff(page)) { Declined(); return; }
        long version = P.Space.Version;
        using var pin = Dsm.PinRange(addr, DsmPage, write: true);
        lock (_memory.SplitLock)
        {
            // the layout lock is not held here: a change since the checks above cancels this try (queued again)
            if (P.Space.Version != version && retries > 0)
            {
                _splitWork.Add(() => SplitPage(page, shift, retries - 1));
                return;
            }
            if (Split.IsSplit(page) || P.Space.Version != version || !Splittable(addr) || Backoff(page)) { Declined(); return; }
            int slot = Split.NewSlot();
            if (slot < 0) return; // every shadow slot used: pages stay whole from now on
            Split.Install(page, slot, shift, PageSplitter.SlotState.Filling);
            _memory.ReprotectSplit(slot);
            CopyUnits(addr, slot, shift, toUnits: true);
            Split.SetState(slot, PageSplitter.SlotState.Active);
            _memory.ReprotectSplit(slot);
            CallAll(Workers, ClusterMessages.Split, SplitBody(1, page, slot, shift), "a page split");
            Interlocked.Increment(ref _splits);
        }
    }

    private void Declined() => Interlocked.Increment(ref _splitsDeclined);

    /// <summary>Node 0 (under SplitLock or taking it): whether <paramref name="page"/> was merged too recently.</summary>
    private bool Backoff(ulong page)
    {
        lock (_memory.SplitLock)
            return _mergedPages.TryGetValue(page, out var m) && Stopwatch.GetTimestamp() < m.NotBefore;
    }

    /// <summary>
    /// Node 0, any thread: makes split <paramref name="page"/> whole again. With <paramref name="keepData"/> every unit
    /// is gathered here and pinned (this node's unit views close first), the units' bytes go back into the page, and
    /// every worker drops the split before the pins go; without it (the page is being replaced or unmapped) the units
    /// are simply retired.
    /// </summary>
    private void MergePage(ulong page, bool keepData)
    {
        lock (_memory.SplitLock)
        {
            if (!Split.IsSplit(page)) return;
            int slot = Split.SlotOfPage(page), shift = Split.ShiftOf(slot), units = PageSplitter.UnitCount(shift);
            Split.SetState(slot, PageSplitter.SlotState.Merging);
            _memory.ReprotectSplit(slot);
            if (keepData)
            {
                ulong addr = page * DsmPage;
                using var unitPins = Dsm.PinRange(PageSplitter.UnitPage(slot, 0), (ulong)units * DsmPage, write: true);
                using var pagePin = Dsm.PinRange(addr, DsmPage, write: true);
                CopyUnits(addr, slot, shift, toUnits: false);
                Unsplit(page, slot, shift);
            }
            else Unsplit(page, slot, shift);
            var m = _mergedPages.GetValueOrDefault(page);
            m.Merges++;
            m.NotBefore = Stopwatch.GetTimestamp() + (long)(SplitBackoff.TotalSeconds * Stopwatch.Frequency) * (1L << Math.Min(m.Merges, 8));
            _mergedPages[page] = m;
            Interlocked.Increment(ref _merges);
        }
    }

    /// <summary>Copies each unit's bytes between the page at <paramref name="addr"/> and its shadow page (same offset),
    /// through the alias.</summary>
    private void CopyUnits(ulong addr, int slot, int shift, bool toUnits)
    {
        int unit = 1 << shift;
        var alias = P.Space.Alias;
        for (int k = 0; k < PageSplitter.UnitCount(shift); k++)
        {
            byte* page = alias + addr + (ulong)(k * unit), shadow = alias + PageSplitter.UnitPage(slot, k) + (ulong)(k * unit);
            if (toUnits) Buffer.MemoryCopy(page, shadow, unit, unit);
            else Buffer.MemoryCopy(shadow, page, unit, unit);
        }
    }

    private void Unsplit(ulong page, int slot, int shift)
    {
        CallAll(Workers, ClusterMessages.Split, SplitBody(0, page, slot, shift), "a page merge");
        Split.Remove(page, slot);
        _memory.ReprotectSplit(slot);
        UndoSplitAwareness();
    }

    /// <summary>
    /// After a merge: when no page is split any more, no instruction stays split-aware (a loop over an array that once
    /// held a split page would otherwise pay a redirect lookup at every access for the rest of the run); the running
    /// blocks are left at once for their plain translations.
    /// </summary>
    private void UndoSplitAwareness()
    {
        if (Split.ActivePages != 0) return;
        // Not on the caller's thread: a merge holds SplitLock (and, from a layout change, the guest space's lock), and
        // clearing takes the translator's lock, which a thread translating holds while it reads the guest layout,
        // which a layout change holds while it waits for SplitLock: a cycle that hung 3-node runs. Late is harmless:
        // a page split again meanwhile only makes its instructions fault once more and be marked again.
        ThreadPool.UnsafeQueueUserWorkItem(_ =>
        {
            if (Split.ActivePages != 0 || _process?.Translator.ClearSplitAware() != true) return;
            Interlocked.Increment(ref _awarenessUndone);
            P.RequestExitAll();
        }, null);
    }

    /// <summary>A worker: node 0 merges the page; when the answer comes this node has dropped the split too.</summary>
    private void MergeFromWorker(ulong page)
    {
        var request = NewRequest(8);
        BinaryPrimitives.WriteUInt64LittleEndian(request.AsSpan(8), page);
        Call(0, ClusterMessages.Merge, request, RpcTimeout, "a page merge");
    }

    /// <summary>A SplitHint: split at <paramref name="shift"/>, or (shift 0) merge, a unit being contended.</summary>
    private static byte[] HintBody(ulong page, int shift)
    {
        var b = new byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(b, page);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8), shift);
        return b;
    }

    private static byte[] SplitBody(byte op, ulong page, int slot, int shift)
    {
        var b = new byte[8 + 17];
        b[8] = op;
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(9), page);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(17), slot);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(21), shift);
        return b;
    }

    /// <summary>A worker, on the applier thread (in order with layout changes): node 0 split or merged a page.</summary>
    private void ApplySplit(ReadOnlySpan<byte> s)
    {
        byte op = s[8];
        ulong page = BinaryPrimitives.ReadUInt64LittleEndian(s[9..]);
        int slot = BinaryPrimitives.ReadInt32LittleEndian(s[17..]), shift = BinaryPrimitives.ReadInt32LittleEndian(s[21..]);
        if (op == 1) Split.Install(page, slot, shift, PageSplitter.SlotState.Active);
        else Split.Remove(page, slot);
        _memory.ReprotectSplit(slot);
        if (op == 0) UndoSplitAwareness();
    }

    /// <summary>Node 0, on the receive thread: a home elsewhere proposes a split; a worker needs a page whole.</summary>
    private void OnSplitMessage(int from, ushort type, ReadOnlySpan<byte> body)
    {
        if (type == ClusterMessages.SplitHint)
        {
            ulong page = BinaryPrimitives.ReadUInt64LittleEndian(body);
            int shift = BinaryPrimitives.ReadInt32LittleEndian(body[8..]);
            if (shift != 0 && (shift < PageSplitter.MinShift || shift > PageSplitter.MaxShift) || page >= GuestSpace.Size / DsmPage)
                throw new InvalidDataException($"split hint for page 0x{page:x} with unit shift {shift}");
            _splitWork.Add(() =>
            {
                if (shift == 0) MergePage(page, keepData: true);
                else SplitPage(page, shift);
            });
            return;
        }
        var copy = body.ToArray();
        _splitWork.Add(() =>
        {
            MergePage(BinaryPrimitives.ReadUInt64LittleEndian(copy.AsSpan(8)), keepData: true);
            Answer(from, copy, ReadOnlySpan<byte>.Empty);
        });
    }

    private string SplitStatsText() =>
        $"    page splitting: {(Self == 0 ? $"pages split {Interlocked.Read(ref _splits)}, merged {Interlocked.Read(ref _merges)}, declined {Interlocked.Read(ref _splitsDeclined)}, " : "")}" +
        $"split proposals {Dsm.SplitsSuggested} (as home), split-aware instructions {Interlocked.Read(ref _awareInstructions)} " +
        $"(all unmarked {Interlocked.Read(ref _awarenessUndone)} times, when nothing was split any more), " +
        $"unit faults {Interlocked.Read(ref _memory.UnitFaults)}";
}
