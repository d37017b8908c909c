using System.Buffers.Binary;
using System.Diagnostics;
using Dqemu.Dsm;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Cluster;

// placement = "auto": DQEMU's locality-aware scheduling driven by what the coherence protocol sees. Every node counts,
// per guest thread, the pages it had to fetch from another node; every 100 ms the workers send node 0 those counts and
// node 0 (SharingPlanner) moves threads that fault on the same pages from different nodes onto one node, within each
// node's fair share of the running threads, or beyond it when they lose most of their time to coherence ("crowding").
// A crowding move is a trial: a second later node 0 compares the progress (blocks run per second) of the threads it
// touched with what they made before, and moves them back for good when they made less. A thread that moved stays
// put for a second; one placed by a rule or a hint is never moved by the policy.
internal sealed unsafe partial class ClusterNode
{
    private const int SamplePeriodMs = 100;
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
    private List<ThreadReport>?[] _reports = [];

    /// <summary>One thread's sample and its progress in the window: blocks run per second (NaN when not known yet: the
    /// first window after the thread started or moved to the node).</summary>
    private readonly record struct ThreadReport(ThreadSample Sample, double Rate);

    /// <summary>Node 0 (under _hintLock): crowding moves being judged a cooldown after they were made, and the
    /// threads whose crowding did not pay.</summary>
    private readonly CrowdingTrials _trials = new(MoveCooldownMs, 5 * MoveCooldownMs);
    private long _crowded;

    /// <summary>With placement = "auto": this node times its handling of coherence messages (<see cref="_serviceTicks"/>,
    /// Stopwatch ticks since the last sample): serving other nodes' requests takes CPU from the guest threads here.</summary>
    private bool _timeService;
    private long _serviceTicks, _lastSample;

    private void StartAutoPlacement()
    {
        if (!_ctx.Config.AutoPlacement || _transport.NodeCount < 2) return;
        _reports = new List<ThreadReport>?[_transport.NodeCount];
        _timeService = true;
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
                if (local.Count > 0) Send(0, ClusterMessages.Sharing, EncodeSamples(local));
                continue;
            }
            lock (_hintLock) _reports[0] = local;
            PlanMoves();
        }
    }

    /// <summary>
    /// This node's threads with their faults since the last sample (each thread's counts start afresh) and the share of
    /// the window each lost to coherence: its own waits for remote pages, plus its part of the time this node spent
    /// serving other nodes' coherence messages (spread over the active threads, or over the cores when there are more
    /// cores than active threads).
    /// </summary>
    private List<ThreadReport> SampleThreads(GuestProcess p)
    {
        long now = Stopwatch.GetTimestamp();
        double window = Math.Max(1, now - Interlocked.Exchange(ref _lastSample, now));
        double service = Interlocked.Exchange(ref _serviceTicks, 0) / window;
        var samples = new List<ThreadReport>();
        foreach (var t in p.Threads.Values)
        {
            if (t.Exited) continue;
            ulong blocks = t.Cpu->BlocksRun;
            double rate = t.SampledAt == 0 ? double.NaN : (blocks - t.SampledBlocks) / ((double)(now - t.SampledAt) / Stopwatch.Frequency);
            (t.SampledBlocks, t.SampledAt) = (blocks, now);
            var faults = Interlocked.Exchange(ref t.FaultPages, new Dictionary<ulong, int>());
            double waited = Interlocked.Exchange(ref t.FaultTicks, 0) / window;
            Dictionary<ulong, int> top;
            if (faults == null) top = new();
            else lock (faults) top = faults.OrderByDescending(kv => kv.Value).Take(ReportPages).ToDictionary(kv => kv.Key, kv => kv.Value);
            // a thread blocked in a syscall (a join, a futex wait) takes no CPU: it does not count against a node
            bool active = top.Count > 0 || !t.InSyscall;
            samples.Add(new ThreadReport(new ThreadSample(t.Tid, Self, active, t.Pinned, top, waited), rate));
        }
        int shares = Math.Max(samples.Count(s => s.Sample.Active), _ctx.Config.Nodes[Self].Cores);
        for (int i = 0; i < samples.Count; i++)
            if (samples[i].Sample.Active)
                samples[i] = samples[i] with { Sample = samples[i].Sample with { Stalled = Math.Clamp(samples[i].Sample.Stalled + service / shares, 0, 1) } };
        return samples;
    }

    /// <summary>A sample's stalled share travels as a u16 in units of 1/10000.</summary>
    private const int StallScale = 10000;

    // Sharing body: [i32 threads] then per thread [i32 tid][u8 flags: 1 active, 2 pinned][u16 pages][u16 stalled]
    // [f32 blocks per second, NaN unknown] and pages x [u64 page][i32 faults].
    private static byte[] EncodeSamples(List<ThreadReport> reports)
    {
        int size = 4 + reports.Sum(r => 13 + 12 * r.Sample.PageFaults.Count);
        var b = new byte[size];
        BinaryPrimitives.WriteInt32LittleEndian(b, reports.Count);
        int at = 4;
        foreach (var (s, rate) in reports)
        {
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(at), s.Tid);
            b[at + 4] = (byte)((s.Active ? 1 : 0) | (s.Pinned ? 2 : 0));
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at + 5), (ushort)s.PageFaults.Count);
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at + 7), (ushort)Math.Round(Math.Clamp(s.Stalled, 0, 1) * StallScale));
            BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(at + 9), (float)rate);
            at += 13;
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
        var samples = new List<ThreadReport>(n);
        int at = 4;
        for (int i = 0; i < n; i++)
        {
            int tid = BinaryPrimitives.ReadInt32LittleEndian(b[at..]);
            byte flags = b[at + 4];
            int m = BinaryPrimitives.ReadUInt16LittleEndian(b[(at + 5)..]);
            double stalled = Math.Min(1.0, BinaryPrimitives.ReadUInt16LittleEndian(b[(at + 7)..]) / (double)StallScale);
            double rate = BinaryPrimitives.ReadSingleLittleEndian(b[(at + 9)..]);
            at += 13;
            var pages = new Dictionary<ulong, int>(m);
            for (int k = 0; k < m; k++, at += 12)
                pages[BinaryPrimitives.ReadUInt64LittleEndian(b[at..])] = BinaryPrimitives.ReadInt32LittleEndian(b[(at + 8)..]);
            samples.Add(new ThreadReport(new ThreadSample(tid, from, (flags & 1) != 0, (flags & 2) != 0, pages, stalled), rate));
        }
        lock (_hintLock) _reports[from] = samples;
    }

    /// <summary>Node 0: plans with the reports that came since the last plan and asks for the moves; judges the
    /// crowding trials whose threads have run a window in their new places.</summary>
    private void PlanMoves()
    {
        var byTid = new Dictionary<int, ThreadSample>();
        var rates = new Dictionary<int, double>();
        var undo = new List<ThreadMove>();
        long now = Environment.TickCount64;
        lock (_hintLock)
        {
            foreach (var report in _reports)
            {
                if (report == null) continue;
                foreach (var (s, rate) in report)
                {
                    if (_moving.Contains(s.Tid)) continue;
                    bool cooling = _lastMoved.TryGetValue(s.Tid, out long moved) && now - moved < MoveCooldownMs;
                    // a thread that moved between two reports shows up in both: where node 0 last knew it wins
                    if (byTid.ContainsKey(s.Tid) && (!_location.TryGetValue(s.Tid, out int at) || at != s.Node)) continue;
                    byTid[s.Tid] = s with { Pinned = s.Pinned || cooling, Stalled = _trials.Refused(s.Tid) ? 0 : s.Stalled };
                    rates[s.Tid] = rate;
                }
            }
            Array.Clear(_reports);
            undo.AddRange(_trials.Judge(rates, byTid.ToDictionary(kv => kv.Key, kv => kv.Value.Node), now,
                TracePlacement ? line => Console.Error.WriteLine("dqemu-native: placement: " + line) : null));
            foreach (var m in undo) byTid.Remove(m.Tid); // moving back: not planned with in this window
        }
        foreach (var m in undo) RequestMove(m.Tid, m.From, m.To);
        if (byTid.Count < 2) return;
        var samples = byTid.Values.OrderBy(s => s.Tid).ToList();
        var moves = SharingPlanner.Plan(samples, _ctx.Config.Nodes.Select(n => n.Cores).ToArray());
        if (TracePlacement)
            Console.Error.WriteLine("dqemu-native: placement window: " + string.Join("; ", samples.Where(s => s.Active).Select(s =>
                $"{s.Tid}@{s.Node} stalled {s.Stalled:0.00} faults {s.PageFaults.Values.Sum()} rate {rates[s.Tid]:0} " +
                $"shares {string.Join(",", samples.Where(o => o.Active && o.Node != s.Node).Select(o => $"{o.Tid}:{SharingPlanner.Weight(s, o)}"))}")) +
                (moves.Count > 0 ? " -> " + string.Join(", ", moves.Select(m => $"{m.Tid} to {m.To}{(m.Crowding ? " (crowding)" : "")}")) : ""));
        foreach (var crowding in moves.Where(m => m.Crowding).GroupBy(m => m.To))
        {
            // the trial covers the threads moved there and those already there: crowding slows the latter too
            var there = samples.Where(s => s.Node == crowding.Key && s.Active).Select(s => s.Tid);
            bool started;
            lock (_hintLock) started = _trials.Start(crowding.ToList(), there, tid => rates[tid], now);
            if (!started) continue; // no baseline yet (a thread new on its node): perhaps next window
            Interlocked.Increment(ref _crowded);
            foreach (var m in crowding) RequestMove(m.Tid, m.From, m.To);
        }
        foreach (var m in moves.Where(m => !m.Crowding)) RequestMove(m.Tid, m.From, m.To);
    }
}
