using System.Buffers.Binary;
using Dqemu.Dsm;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Cluster;

// placement = "auto": DQEMU's locality-aware scheduling driven by what the coherence protocol sees. Every node counts,
// per guest thread, the pages it had to fetch from another node; every 100 ms the workers send node 0 those counts and
// node 0 (SharingPlanner) moves threads that fault on the same pages from different nodes onto one node, within each
// node's fair share of the running threads. A thread that moved stays put for a second; one placed by a rule or a hint
// is never moved by the policy.
internal sealed unsafe partial class ClusterNode
{
    private const int SamplePeriodMs = 100;
    /// <summary>Pages per thread a report carries: the most faulted ones.</summary>
    private const int ReportPages = 64;
    /// <summary>A thread the policy moved is not moved again for this long (a pattern that changes must not make
    /// threads bounce between nodes faster than they gain from moving).</summary>
    private const long MoveCooldownMs = 1000;

    /// <summary>Node 0: when each thread last moved (under _hintLock).</summary>
    private readonly Dictionary<int, long> _lastMoved = new();
    /// <summary>Node 0: the newest report of each node not yet planned with (under _hintLock).</summary>
    private List<ThreadSample>?[] _reports = [];

    private void StartAutoPlacement()
    {
        if (!_ctx.Config.AutoPlacement || _transport.NodeCount < 2) return;
        _reports = new List<ThreadSample>?[_transport.NodeCount];
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

    /// <summary>This node's threads with their faults since the last sample (each thread's counts start afresh).</summary>
    private List<ThreadSample> SampleThreads(GuestProcess p)
    {
        var samples = new List<ThreadSample>();
        foreach (var t in p.Threads.Values)
        {
            if (t.Exited) continue;
            var faults = Interlocked.Exchange(ref t.FaultPages, new Dictionary<ulong, int>());
            Dictionary<ulong, int> top;
            if (faults == null) top = new();
            else lock (faults) top = faults.OrderByDescending(kv => kv.Value).Take(ReportPages).ToDictionary(kv => kv.Key, kv => kv.Value);
            // a thread blocked in a syscall (a join, a futex wait) takes no CPU: it does not count against a node
            bool active = top.Count > 0 || !t.InSyscall;
            samples.Add(new ThreadSample(t.Tid, Self, active, t.Pinned, top));
        }
        return samples;
    }

    private static byte[] EncodeSamples(List<ThreadSample> samples)
    {
        int size = 4 + samples.Sum(s => 7 + 12 * s.PageFaults.Count);
        var b = new byte[size];
        BinaryPrimitives.WriteInt32LittleEndian(b, samples.Count);
        int at = 4;
        foreach (var s in samples)
        {
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(at), s.Tid);
            b[at + 4] = (byte)((s.Active ? 1 : 0) | (s.Pinned ? 2 : 0));
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at + 5), (ushort)s.PageFaults.Count);
            at += 7;
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
            at += 7;
            var pages = new Dictionary<ulong, int>(m);
            for (int k = 0; k < m; k++, at += 12)
                pages[BinaryPrimitives.ReadUInt64LittleEndian(b[at..])] = BinaryPrimitives.ReadInt32LittleEndian(b[(at + 8)..]);
            samples.Add(new ThreadSample(tid, from, (flags & 1) != 0, (flags & 2) != 0, pages));
        }
        lock (_hintLock) _reports[from] = samples;
    }

    /// <summary>Node 0: plans with the reports that came since the last plan and asks for the moves.</summary>
    private void PlanMoves()
    {
        var byTid = new Dictionary<int, ThreadSample>();
        long now = Environment.TickCount64;
        lock (_hintLock)
        {
            foreach (var report in _reports)
            {
                if (report == null) continue;
                foreach (var s in report)
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
        if (byTid.Count < 2) return;
        var moves = SharingPlanner.Plan(byTid.Values.ToList(), _ctx.Config.Nodes.Select(n => n.Cores).ToArray());
        foreach (var m in moves) RequestMove(m.Tid, m.From, m.To);
    }
}
