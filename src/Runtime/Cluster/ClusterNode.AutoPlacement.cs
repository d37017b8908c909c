using System.Buffers.Binary;
using System.Diagnostics;
using Dqemu.Dsm;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Cluster;

// placement = "auto": DQEMU's locality-aware scheduling driven by what the coherence protocol sees. Every node counts,
// per guest thread, the pages it had to fetch from another node; every 50 ms the workers send node 0 those counts and
// node 0 (SharingPlanner) moves threads that fault on the same pages from different nodes onto one node, within each
// node's fair share of the running threads, or beyond it when they lose most of their time to coherence ("crowding",
// done only when two windows in a row propose the same crowding moves). A thread that moved stays put for a second;
// one placed by a rule or a hint is never moved by the policy.
internal sealed unsafe partial class ClusterNode
{
    private const int SamplePeriodMs = 50;
    /// <summary>Pages per thread a report carries: the most faulted ones.</summary>
    private const int ReportPages = 64;
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
    private long _crowded;

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
            double stalled = 0;
            if (t.CpuClock != Host.ThreadCpuTime.NoClock)
            {
                long cpu = Host.ThreadCpuTime.Read(t.CpuClock), overhead = Volatile.Read(ref t.OverheadCpuNs);
                if (t.SampledCpuNs > 0 && cpu > 0)
                    stalled = Math.Clamp(1 - ((cpu - t.SampledCpuNs) - (overhead - t.SampledOverheadNs)) / windowNs, 0, 1);
                (t.SampledCpuNs, t.SampledOverheadNs) = (cpu, overhead);
            }
            Dictionary<ulong, int> top;
            if (faults == null) top = new();
            else lock (faults) top = faults.OrderByDescending(kv => kv.Value).Take(ReportPages).ToDictionary(kv => kv.Key, kv => kv.Value);
            // a thread blocked in a syscall (a join, a futex wait) takes no CPU: it does not count against a node
            bool active = top.Count > 0 || !t.InSyscall;
            samples.Add(new ThreadSample(t.Tid, Self, active, t.Pinned, top, stalled));
        }
        return samples;
    }

    /// <summary>A sample's stalled share travels as a u16 in units of 1/10000.</summary>
    private const int StallScale = 10000;

    // Sharing body: [i32 threads] then per thread [i32 tid][u8 flags: 1 active, 2 pinned][u16 pages][u16 stalled]
    // and pages x [u64 page][i32 faults].
    private static byte[] EncodeSamples(List<ThreadSample> samples)
    {
        int size = 4 + samples.Sum(s => 9 + 12 * s.PageFaults.Count);
        var b = new byte[size];
        BinaryPrimitives.WriteInt32LittleEndian(b, samples.Count);
        int at = 4;
        foreach (var s in samples)
        {
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(at), s.Tid);
            b[at + 4] = (byte)((s.Active ? 1 : 0) | (s.Pinned ? 2 : 0));
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at + 5), (ushort)s.PageFaults.Count);
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at + 7), (ushort)Math.Round(Math.Clamp(s.Stalled, 0, 1) * StallScale));
            at += 9;
            foreach (var (page, n) in s.PageFaults)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at), page);
                BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(at + 8), n);
                at += 12;
            }
        }
        return b;
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
            at += 9;
            var pages = new Dictionary<ulong, int>(m);
            for (int k = 0; k < m; k++, at += 12)
                pages[BinaryPrimitives.ReadUInt64LittleEndian(b[at..])] = BinaryPrimitives.ReadInt32LittleEndian(b[(at + 8)..]);
            samples.Add(new ThreadSample(tid, from, (flags & 1) != 0, (flags & 2) != 0, pages, stalled));
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
                    bool cooling = _lastMoved.TryGetValue(s.Tid, out long moved) && now - moved < MoveCooldownMs;
                    // a thread that moved between two reports shows up in both: where node 0 last knew it wins
                    if (byTid.ContainsKey(s.Tid) && (!_location.TryGetValue(s.Tid, out int at) || at != s.Node)) continue;
                    byTid[s.Tid] = s with { Pinned = s.Pinned || cooling };
                }
            }
            Array.Clear(_reports);
        }
        var samples = byTid.Values.OrderBy(s => s.Tid).ToList();
        var moves = samples.Count < 2 ? [] : SharingPlanner.Plan(samples, _ctx.Config.Nodes.Select(n => n.Cores).ToArray());
        var proposed = _crowdingProposed;
        _crowdingProposed = moves.Where(m => m.Crowding).ToHashSet();
        // a crowding goes ahead when all its moves to that node were proposed the window before as well
        var crowdingNow = moves.Where(m => m.Crowding).GroupBy(m => m.To).Where(g => g.All(proposed.Contains)).SelectMany(g => g).ToList();
        if (TracePlacement && samples.Count >= 2)
            Console.Error.WriteLine("dqemu-native: placement window: " + string.Join("; ", samples.Where(s => s.Active).Select(s =>
                $"{s.Tid}@{s.Node} stalled {s.Stalled:0.00} faults {s.PageFaults.Values.Sum()} " +
                $"shares {string.Join(",", samples.Where(o => o.Active && o.Node != s.Node).Select(o => $"{o.Tid}:{SharingPlanner.Weight(s, o)}"))}")) +
                (moves.Count > 0 ? " -> " + string.Join(", ", moves.Select(m =>
                    $"{m.Tid} to {m.To}{(m.Crowding ? crowdingNow.Contains(m) ? " (crowding)" : " (crowding, proposed)" : "")}")) : ""));
        if (crowdingNow.Count > 0)
        {
            Interlocked.Increment(ref _crowded);
            _crowdingProposed.Clear();
        }
        foreach (var m in moves.Where(m => !m.Crowding).Concat(crowdingNow)) RequestMove(m.Tid, m.From, m.To);
    }
}
