using System.Buffers.Binary;
using System.Diagnostics;
using Dqemu.Dsm;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Cluster;

// placement = "auto": DQEMU's locality-aware scheduling driven by what the coherence protocol and the futex engine see.
// New threads start on their creator's node (auto_start = "local", the default; or round-robin). Every node counts, per
// guest thread, the pages it had to fetch from another node and the futex words it waited on or woke; every 50 ms the
// workers send node 0 those counts and node 0 (SharingPlanner) moves threads that fault on the same pages from
// different nodes, or meet at the same futex words (counted over the last two windows), onto one node, within each
// node's fair share of the running threads, or beyond it when they lose most of their time to coherence ("crowding");
// and it spreads threads that work with nobody off a node holding more than its share. Crowding and spreading go ahead only when two windows in a row
// propose the same moves. A thread that moved stays put for a second; a crowded thread is not spread again; one placed
// by a rule or a hint is never moved by the policy.
internal sealed unsafe partial class ClusterNode
{
    private const int SamplePeriodMs = 50;
    /// <summary>Pages per thread a report carries: the most faulted ones.</summary>
    private const int ReportPages = 64;
    /// <summary>The share of a window a thread blocked in a syscall at the sample must have run to count as active.</summary>
    private const double MinBusy = 0.05;
    /// <summary>Futex words per thread a report carries: the most used ones.</summary>
    private const int ReportSyncs = 16;
    /// <summary>A thread the policy moved is not moved again for this long (a pattern that changes must not make
    /// threads bounce between nodes faster than they gain from moving).</summary>
    private const long MoveCooldownMs = 1000;
    /// <summary>DQEMU_TRACE_PLACEMENT=1: node 0 prints every window the policy planned with (per active thread: node,
    /// stalled share, faults, weights to the threads on other nodes) and the moves it asked for.</summary>
    private static readonly bool TracePlacement = Environment.GetEnvironmentVariable("DQEMU_TRACE_PLACEMENT") == "1";

    /// <summary>Node 0: when each thread last moved (under _hintLock).</summary>
    private readonly Dictionary<int, long> _lastMoved = new();
    /// <summary>Node 0: the newest report of each node not yet planned with (under _hintLock).</summary>
    private List<ThreadSample>?[] _reports = [];

    /// <summary>Node 0 (on the placement thread): the crowding moves the last window proposed. A crowding move is asked
    /// for only when the next window proposes it again: the stalled shares are one window's estimate, and one window
    /// of bad luck (a burst of faults, a CPU that ran at half speed) must not pack a program onto one node.</summary>
    private HashSet<ThreadMove> _crowdingProposed = new();
    /// <summary>Node 0 (on the placement thread): the spreading moves the last window proposed, confirmed the same way.</summary>
    private HashSet<ThreadMove> _spreadProposed = new();
    /// <summary>Node 0 (on the placement thread): threads a crowding packed together. They are not spread again: the
    /// crowding showed that they share what the futex words did not tell, and spreading them would undo it.</summary>
    private readonly HashSet<int> _crowdedTids = new();
    private long _crowded, _spread;
    /// <summary>Node 0 (on the placement thread): each thread's futex counts of the window planned with last, added to
    /// the next window's (<see cref="SharingPlanner.WithEarlierSyncs"/>).</summary>
    private Dictionary<int, IReadOnlyDictionary<ulong, int>> _earlierSyncs = new();

    private long _lastSample;

    private void StartAutoPlacement()
    {
        if (!_ctx.Config.AutoPlacement || _transport.NodeCount < 2) return;
        _reports = new List<ThreadSample>?[_transport.NodeCount];
        _lastSample = Stopwatch.GetTimestamp();
        new Thread(RunAutoPlacement) { IsBackground = true, Name = "dqemu-placement" }.Start();
    }

    private void RunAutoPlacement()
    {
        while (!Stopping)
        {
            Thread.Sleep(SamplePeriodMs);
            if (_process is not { } p || p.Exiting) continue;
            var local = SampleThreads(p);
            if (Self != 0)
            {
                Send(0, ClusterMessages.Sharing, EncodeSamples(local)); // also when empty: node 0 plans once every node reported
                continue;
            }
            lock (_hintLock) _reports[0] = local;
            PlanMoves();
        }
    }

    /// <summary>
    /// This node's threads with their faults since the last sample (each thread's counts start afresh) and the share of
    /// the window each did not run guest code: 1 - (its CPU time - its CPU time outside guest code) / the window.
    /// Waiting for a remote page or a remote wake, spinning for an answer, serving another node's requests on this
    /// node's CPU, waiting for the CPU itself: all of it is time the thread's guest work did not get. A thread's
    /// first window on this node has no reading yet and counts as never stalled.
    /// </summary>
    private List<ThreadSample> SampleThreads(GuestProcess p)
    {
        long now = Stopwatch.GetTimestamp();
        double windowNs = Math.Max(1, now - Interlocked.Exchange(ref _lastSample, now)) * 1e9 / Stopwatch.Frequency;
        var samples = new List<ThreadSample>();
        foreach (var t in p.Threads.Values)
        {
            if (t.Exited) continue;
            var faults = Interlocked.Exchange(ref t.FaultPages, new Dictionary<ulong, int>());
            var syncs = Interlocked.Exchange(ref t.SyncAddrs, new Dictionary<ulong, int>());
            double stalled = 0, busy = 0;
            if (t.CpuClock != Host.ThreadCpuTime.NoClock)
            {
                long cpu = Host.ThreadCpuTime.Read(t.CpuClock), overhead = Volatile.Read(ref t.OverheadCpuNs);
                if (t.SampledCpuNs > 0 && cpu > 0)
                {
                    stalled = Math.Clamp(1 - ((cpu - t.SampledCpuNs) - (overhead - t.SampledOverheadNs)) / windowNs, 0, 1);
                    busy = (cpu - t.SampledCpuNs) / windowNs;
                }
                (t.SampledCpuNs, t.SampledOverheadNs) = (cpu, overhead);
            }
            var top = Top(faults, ReportPages);
            t.MeasureOverhead = top.Count > 0;
            // a thread blocked in a syscall (a join, a futex wait) takes no CPU: it does not count against a node; one
            // that blocks often but ran a good part of the window (handing work back and forth with others) does
            bool active = top.Count > 0 || !t.InSyscall || busy >= MinBusy;
            samples.Add(new ThreadSample(t.Tid, Self, active, t.Pinned, top, stalled, Top(syncs, ReportSyncs)));
        }
        return samples;
    }

    /// <summary>The <paramref name="n"/> largest counts of a thread's map (locked: its thread may still add to it).</summary>
    private static Dictionary<ulong, int> Top(Dictionary<ulong, int>? counts, int n)
    {
        if (counts == null) return new();
        lock (counts) return counts.OrderByDescending(kv => kv.Value).Take(n).ToDictionary(kv => kv.Key, kv => kv.Value);
    }

    /// <summary>A sample's stalled share travels as a u16 in units of 1/10000.</summary>
    private const int StallScale = 10000;

    // Sharing body: [i32 threads] then per thread [i32 tid][u8 flags: 1 active, 2 pinned][u16 pages][u16 stalled]
    // [u16 syncs], pages x [u64 page][i32 faults] and syncs x [u64 futex address][i32 calls].
    private static byte[] EncodeSamples(List<ThreadSample> samples)
    {
        int size = 4 + samples.Sum(s => 11 + 12 * (s.PageFaults.Count + (s.Syncs?.Count ?? 0)));
        var b = new byte[size];
        BinaryPrimitives.WriteInt32LittleEndian(b, samples.Count);
        int at = 4;
        foreach (var s in samples)
        {
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(at), s.Tid);
            b[at + 4] = (byte)((s.Active ? 1 : 0) | (s.Pinned ? 2 : 0));
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at + 5), (ushort)s.PageFaults.Count);
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at + 7), (ushort)Math.Round(Math.Clamp(s.Stalled, 0, 1) * StallScale));
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at + 9), (ushort)(s.Syncs?.Count ?? 0));
            at += 11;
            foreach (var (key, n) in s.PageFaults.Concat(s.Syncs ?? new Dictionary<ulong, int>()))
            {
                BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at), key);
                BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(at + 8), n);
                at += 12;
            }
        }
        return b;
    }

    /// <summary>Reads <paramref name="count"/> [u64 key][i32 count] entries at <paramref name="at"/>.</summary>
    private static Dictionary<ulong, int> DecodeCounts(ReadOnlySpan<byte> b, ref int at, int count)
    {
        var counts = new Dictionary<ulong, int>(count);
        for (int k = 0; k < count; k++, at += 12)
            counts[BinaryPrimitives.ReadUInt64LittleEndian(b[at..])] = BinaryPrimitives.ReadInt32LittleEndian(b[(at + 8)..]);
        return counts;
    }

    private void OnSharing(int from, ReadOnlySpan<byte> b)
    {
        if (Self != 0 || _reports.Length == 0) return;
        int n = BinaryPrimitives.ReadInt32LittleEndian(b);
        var samples = new List<ThreadSample>(n);
        int at = 4;
        for (int i = 0; i < n; i++)
        {
            int tid = BinaryPrimitives.ReadInt32LittleEndian(b[at..]);
            byte flags = b[at + 4];
            int m = BinaryPrimitives.ReadUInt16LittleEndian(b[(at + 5)..]);
            double stalled = Math.Min(1.0, BinaryPrimitives.ReadUInt16LittleEndian(b[(at + 7)..]) / (double)StallScale);
            int syncCount = BinaryPrimitives.ReadUInt16LittleEndian(b[(at + 9)..]);
            at += 11;
            var pages = DecodeCounts(b, ref at, m);
            var syncs = DecodeCounts(b, ref at, syncCount);
            samples.Add(new ThreadSample(tid, from, (flags & 1) != 0, (flags & 2) != 0, pages, stalled, syncs));
        }
        lock (_hintLock) _reports[from] = samples;
    }

    /// <summary>Node 0: once every node has reported since the last plan, plans with the reports and asks for the moves
    /// (crowding moves only when the plan before proposed them too).</summary>
    private void PlanMoves()
    {
        var byTid = new Dictionary<int, ThreadSample>();
        long now = Environment.TickCount64;
        lock (_hintLock)
        {
            if (Array.IndexOf(_reports, null) >= 0) return; // a report still on its way: plan when it is here
            foreach (var report in _reports)
            {
                foreach (var s in report!)
                {
                    if (_moving.Contains(s.Tid)) continue;
                    bool cooling = _lastMoved.TryGetValue(s.Tid, out long moved) && now - moved < MoveCooldownMs || _crowdedTids.Contains(s.Tid);
                    // a thread that moved between two reports shows up in both: where node 0 last knew it wins
                    if (byTid.ContainsKey(s.Tid) && (!_location.TryGetValue(s.Tid, out int at) || at != s.Node)) continue;
                    byTid[s.Tid] = s with { Pinned = s.Pinned || cooling };
                }
            }
            Array.Clear(_reports);
        }
        var window = byTid.Values.OrderBy(s => s.Tid).ToList();
        var samples = SharingPlanner.WithEarlierSyncs(window, _earlierSyncs);
        _earlierSyncs = window.Where(s => s.Syncs is { Count: > 0 }).ToDictionary(s => s.Tid, s => s.Syncs!);
        byTid = samples.ToDictionary(s => s.Tid);
        var moves = samples.Count < 2 ? [] : SharingPlanner.Plan(samples, _ctx.Config.Nodes.Select(n => n.Cores).ToArray(),
            spread: _ctx.Config.InitialPlacement == PlacementPolicy.Local);
        var crowdingNow = Confirmed(moves.Where(m => m.Crowding), ref _crowdingProposed);
        var spreadNow = Confirmed(moves.Where(m => m.Spread && !m.Crowding), ref _spreadProposed);
        if (TracePlacement && samples.Count >= 2)
            Console.Error.WriteLine("dqemu-native: placement window: " + string.Join("; ", samples.Where(s => s.Active).Select(s =>
                $"{s.Tid}@{s.Node} stalled {s.Stalled:0.00} faults {s.PageFaults.Values.Sum()} " +
                $"shares {string.Join(",", samples.Where(o => o.Active && o.Node != s.Node).Select(o => $"{o.Tid}:{SharingPlanner.Weight(s, o)}"))} " +
                $"syncs {string.Join(",", samples.Where(o => o.Active && o.Tid != s.Tid).Select(o => $"{o.Tid}:{SharingPlanner.SyncWeight(s, o)}"))}")) +
                (moves.Count > 0 ? " -> " + string.Join(", ", moves.Select(m => $"{m.Tid} to {m.To}" + (
                    m.Crowding ? crowdingNow.Contains(m) ? " (crowding)" : " (crowding, proposed)"
                    : m.Spread ? spreadNow.Contains(m) ? " (spreading)" : " (spreading, proposed)" : ""))) : ""));
        if (crowdingNow.Count > 0)
        {
            Interlocked.Increment(ref _crowded);
            _crowdingProposed.Clear();
            // the group stays together from now on: the threads that moved and those they are tied to where they went
            foreach (var m in crowdingNow)
            {
                _crowdedTids.Add(m.Tid);
                foreach (var s in samples)
                    if (s.Node == m.To && SharingPlanner.EdgeWeight(s, byTid[m.Tid]) > 0) _crowdedTids.Add(s.Tid);
            }
        }
        if (spreadNow.Count > 0)
        {
            Interlocked.Increment(ref _spread);
            _spreadProposed.Clear();
        }
        foreach (var m in moves.Where(m => !m.Crowding && !m.Spread).Concat(crowdingNow).Concat(spreadNow)) RequestMove(m.Tid, m.From, m.To);
    }

    /// <summary>The moves of <paramref name="moves"/> to nodes all of whose moves <paramref name="proposed"/> (the
    /// window before) holds as well; <paramref name="proposed"/> becomes this window's moves.</summary>
    private static List<ThreadMove> Confirmed(IEnumerable<ThreadMove> moves, ref HashSet<ThreadMove> proposed)
    {
        var before = proposed;
        proposed = moves.ToHashSet();
        return proposed.GroupBy(m => m.To).Where(g => g.All(before.Contains)).SelectMany(g => g).ToList();
    }
}
