namespace Dqemu.Dsm;

/// <summary>What the runtime saw of one guest thread during one sampling window (about 50 ms).</summary>
/// <param name="Tid">The guest thread id (distinct within a sample set).</param>
/// <param name="Node">The node the thread runs on.</param>
/// <param name="Active">The thread ran guest code in the window. A thread blocked in a futex wait or a join is not
/// active: it neither shares data now nor takes a core, so it joins no group and counts no load.</param>
/// <param name="Pinned">The thread may not be moved now (moved recently, or placed by an explicit rule or hint).</param>
/// <param name="PageFaults">Remote page faults of the window: guest page number to how many times the thread had to
/// fetch that page from another node. Counts are not negative.</param>
/// <param name="Stalled">The share of the window (0 to 1) the thread did not run guest code: waiting for remote pages
/// or wakes, spinning for answers, or off the CPU while its node served other nodes or ran other work.</param>
/// <param name="Syncs">Futex words the thread waited on or woke in the window: guest address to how many calls (null:
/// none). Threads that meet at the same words (a barrier, a lock they contend, a semaphore they hand over) work
/// together, on one node or not: unlike page faults this shows between threads of one node too.</param>
public readonly record struct ThreadSample(int Tid, int Node, bool Active, bool Pinned, IReadOnlyDictionary<ulong, int> PageFaults,
    double Stalled = 0, IReadOnlyDictionary<ulong, int>? Syncs = null);

/// <summary>A proposed migration of guest thread <paramref name="Tid"/> from node <paramref name="From"/> to node
/// <paramref name="To"/> (never equal); <paramref name="Crowding"/> when it puts more active threads on
/// <paramref name="To"/> than its fair share; <paramref name="Spread"/> when it takes threads that work with nobody
/// elsewhere (or a whole group that is all on one node) off a node holding more than its share.</summary>
public readonly record struct ThreadMove(int Tid, int From, int To, bool Crowding = false, bool Spread = false);

/// <summary>
/// The locality-aware placement policy (<c>placement = "auto"</c>): from one window of remote page faults, proposes
/// thread moves that put threads sharing data across the wire on one node, within each node's fair share of the active
/// threads, or beyond it when the sharing costs the group more than the cores it would give up (a group that spends
/// most of its time waiting for pages does more work on one core than spread over several). Pure function of its
/// arguments (no I/O, no clock, no randomness): the same samples always give the same moves, whatever the order of
/// the samples.
/// </summary>
/// <remarks>
/// Only cross-node sharing is visible: two threads on one node do not fault on each other's pages, so a pair that is
/// already together shows no weight. That is why the runtime pins a thread for a while after moving it; otherwise the
/// next window, no longer seeing the sharing, could pull the pair apart again.
/// </remarks>
public static class SharingPlanner
{
    /// <summary>The least <see cref="Weight"/> that ties two threads together: below it, the faults two threads have
    /// in common in one window are as likely chance (a common library page, a one-off read) as real sharing, and a move
    /// costs more than it saves.</summary>
    public const int DefaultMinShared = 16;

    /// <summary>
    /// How much more work a crowded node must promise before a group is packed onto it beyond the fair share: the
    /// stalled shares are one window's estimate and the move itself costs (the threads' pages follow them), so a
    /// crowded node must do this many times the work the group and the node's own threads did before.
    /// </summary>
    public const double CrowdGain = 1.25;

    /// <summary>The least <see cref="SyncWeight"/> that ties two threads together: two meetings at a futex word in the
    /// counts the runtime plans with, this window's and the one before (<see cref="WithEarlierSyncs"/>); one could be a
    /// start-up barrier or a lock taken once.</summary>
    public const int DefaultMinSync = 2;

    /// <summary>
    /// <paramref name="samples"/> with each thread's futex counts summed with its counts of the window before
    /// (<paramref name="earlier"/>, by tid; a thread not in it keeps its own). Threads that meet at a barrier less often
    /// than once a window (canneal's temperature steps: 1 or 2 a window, in turn) would look loose in every other
    /// window, and two such windows in a row spread them, only for the crowding to pack them again once their shared
    /// data had followed; over two windows they stay tied. Threads that never meet stay as loose as before.
    /// </summary>
    public static IReadOnlyList<ThreadSample> WithEarlierSyncs(IReadOnlyList<ThreadSample> samples,
        IReadOnlyDictionary<int, IReadOnlyDictionary<ulong, int>> earlier)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(earlier);
        var merged = new ThreadSample[samples.Count];
        for (int i = 0; i < samples.Count; i++)
        {
            var s = samples[i];
            if (!earlier.TryGetValue(s.Tid, out var before) || before.Count == 0) { merged[i] = s; continue; }
            var sum = new Dictionary<ulong, int>(before);
            if (s.Syncs != null)
                foreach (var (word, n) in s.Syncs)
                    sum[word] = sum.TryGetValue(word, out int m) ? (int)Math.Min(int.MaxValue, (long)m + n) : n;
            merged[i] = s with { Syncs = sum };
        }
        return merged;
    }

    /// <summary>
    /// How much two threads share: over the pages both faulted on, the sum of the smaller of their two counts. The
    /// smaller count because a page that one thread fetched once and the other a hundred times shows one exchange, not a
    /// hundred. Symmetric; non-positive counts add nothing; saturates at <see cref="int.MaxValue"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A sample has no <see cref="ThreadSample.PageFaults"/>.</exception>
    public static int Weight(ThreadSample a, ThreadSample b) => Overlap(
        a.PageFaults ?? throw new ArgumentException($"thread {a.Tid} has no page-fault map", nameof(a)),
        b.PageFaults ?? throw new ArgumentException($"thread {b.Tid} has no page-fault map", nameof(b)));

    /// <summary>How much two threads synchronise with each other: over the futex words both used, the sum of the smaller
    /// of their two counts (as <see cref="Weight"/>; a thread with no <see cref="ThreadSample.Syncs"/> has 0).</summary>
    public static int SyncWeight(ThreadSample a, ThreadSample b) =>
        a.Syncs is { } sa && b.Syncs is { } sb ? Overlap(sa, sb) : 0;

    /// <summary>
    /// The weight of the edge that ties two active threads together in <see cref="Plan"/>, 0 when none: their
    /// <see cref="Weight"/> when they run on different nodes (threads of one node fetch nothing from each other) if it
    /// reaches <paramref name="minShared"/>, or their <see cref="SyncWeight"/> wherever they run if that reaches
    /// <paramref name="minSync"/>; an edge weighs the sum of the two.
    /// </summary>
    public static int EdgeWeight(ThreadSample a, ThreadSample b, int minShared = DefaultMinShared, int minSync = DefaultMinSync)
    {
        int w = a.Node == b.Node ? 0 : Weight(a, b);
        int sync = SyncWeight(a, b);
        return w < minShared && sync < minSync ? 0 : (int)Math.Min(int.MaxValue, (long)w + sync);
    }

    private static int Overlap(IReadOnlyDictionary<ulong, int> fa, IReadOnlyDictionary<ulong, int> fb)
    {
        // Walk the smaller map, look up in the larger.
        if (fa.Count > fb.Count) (fa, fb) = (fb, fa);
        long sum = 0;
        foreach (var (page, countA) in fa)
        {
            if (countA <= 0 || !fb.TryGetValue(page, out int countB) || countB <= 0) continue;
            sum += Math.Min(countA, countB);
            if (sum >= int.MaxValue) return int.MaxValue;
        }
        return (int)sum;
    }

    /// <summary>
    /// Proposes the moves for one window.
    /// <list type="number">
    /// <item>Validate the arguments.</item>
    /// <item>Edges: every pair of active threads on different nodes whose <see cref="Weight"/> is at least
    /// <paramref name="minShared"/>, and every pair of active threads, wherever they are, whose <see cref="SyncWeight"/>
    /// is at least <paramref name="minSync"/>; an edge weighs the sum of the two.</item>
    /// <item>Groups: the connected components of that graph with at least two threads; a group's weight is the sum of
    /// its edges' weights. Whole components, because moving only part of a chain of sharers just moves the wire
    /// traffic elsewhere.</item>
    /// <item>Capacity: with A active threads, node n may hold ceil(A * cores[n] / total cores) of them (at least 1).
    /// Each node's load starts as its active threads that are in no group, except, with <paramref name="spread"/>, on a
    /// node holding more active threads than its cap: there the unpinned ones are loose (they work with nobody) and are
    /// placed last, below.</item>
    /// <item>Groups by decreasing weight (ties: smallest member tid first), so the heaviest sharing gets the room. The
    /// candidate nodes are all nodes, or, when the group has a pinned member, only that member's node (a group with
    /// pinned members on two nodes cannot be joined and is skipped). A candidate fits if its load plus the group's size
    /// is within its cap. Among the fitting ones, the node that already holds most members (fewest moves), then the
    /// lowest load, then the lowest id. The members elsewhere move there and the group adds its size to that node's
    /// load.</item>
    /// <item>Crowding: a group that fits nowhere (and is not skipped) may still go to a candidate node n with c cores
    /// and load L when that node would then do at least <see cref="CrowdGain"/> times the useful work it and the group
    /// do now: min(L + size, c) &gt;= CrowdGain * (min(L, c) + the sum over the members of (1 - Stalled)). Together the
    /// members no longer wait for each other's pages, so the node's cores work for the group; apart, each member works
    /// only the share of its time it is not stalled. Among those that pass, the largest surplus, then most members
    /// there, then the lowest id. A group placed this way adds its size to the node's load.</item>
    /// <item>A skipped group, or one that goes nowhere, stays as it is and adds each member to its current node's
    /// load.</item>
    /// <item>Loose threads, by tid, each as a group of one (never crowded): it stays where it is if its node still has
    /// room, else goes to the fitting node with the lowest load (then the lowest id), else stays.</item>
    /// <item>Spreading: a move of a group whose members were all on one node (a loose thread, or co-located threads
    /// that work together) is marked <see cref="ThreadMove.Spread"/>: it gives up nothing that is shared across the
    /// wire now, only the node's crowding, so the caller may ask for more than one window's evidence.</item>
    /// </list>
    /// A thread is never moved to its own node; pinned and inactive threads never move.
    /// </summary>
    /// <param name="threads">One sample per guest thread of the cluster, in any order.</param>
    /// <param name="coresPerNode">Cores each node offers to guest threads, by node id (1 to
    /// <see cref="DsmNode.MaxNodes"/> nodes, each at least 1 core).</param>
    /// <param name="minShared">The least pair weight that counts as sharing (at least 1).</param>
    /// <param name="minSync">The least pair <see cref="SyncWeight"/> that counts as working together (at least 1).</param>
    /// <param name="spread">Loose threads on a node beyond its share may move (threads that start on their creator's
    /// node); without it they stay where they are (threads that start spread).</param>
    /// <returns>The moves, sorted by tid; empty when nothing is worth moving.</returns>
    /// <exception cref="ArgumentException">Bad node list, a node id out of range, a duplicate tid, a missing fault
    /// map or a negative fault or sync count.</exception>
    public static IReadOnlyList<ThreadMove> Plan(IReadOnlyList<ThreadSample> threads, IReadOnlyList<int> coresPerNode,
        int minShared = DefaultMinShared, int minSync = DefaultMinSync, bool spread = false)
    {
        ArgumentNullException.ThrowIfNull(threads);
        ArgumentNullException.ThrowIfNull(coresPerNode);
        int nodes = coresPerNode.Count;
        if (nodes < 1 || nodes > DsmNode.MaxNodes)
            throw new ArgumentException($"a cluster has 1 to {DsmNode.MaxNodes} nodes", nameof(coresPerNode));
        long totalCores = 0;
        for (int n = 0; n < nodes; n++)
        {
            if (coresPerNode[n] < 1)
                throw new ArgumentOutOfRangeException(nameof(coresPerNode), $"node {n} has {coresPerNode[n]} cores");
            totalCores += coresPerNode[n];
        }
        if (minShared < 1) throw new ArgumentOutOfRangeException(nameof(minShared), minShared, "must be at least 1");
        if (minSync < 1) throw new ArgumentOutOfRangeException(nameof(minSync), minSync, "must be at least 1");
        var tids = new HashSet<int>();
        foreach (var t in threads)
        {
            if (t.Node < 0 || t.Node >= nodes)
                throw new ArgumentException($"thread {t.Tid} is on node {t.Node}, the cluster has {nodes} nodes", nameof(threads));
            if (!tids.Add(t.Tid)) throw new ArgumentException($"thread {t.Tid} is sampled twice", nameof(threads));
            if (t.PageFaults is null) throw new ArgumentException($"thread {t.Tid} has no page-fault map", nameof(threads));
            if (!(t.Stalled >= 0 && t.Stalled <= 1))
                throw new ArgumentException($"thread {t.Tid} has stalled share {t.Stalled}, not within 0 to 1", nameof(threads));
            foreach (var (page, count) in t.PageFaults)
                if (count < 0)
                    throw new ArgumentException($"thread {t.Tid} has {count} faults on page {page:x}", nameof(threads));
            if (t.Syncs is { } syncs)
                foreach (var (addr, count) in syncs)
                    if (count < 0)
                        throw new ArgumentException($"thread {t.Tid} has {count} futex calls on {addr:x}", nameof(threads));
        }

        // Active threads sorted by tid, so every later step is independent of the input order.
        var active = threads.Where(t => t.Active).OrderBy(t => t.Tid).ToArray();
        int a = active.Length;

        // Edges and their components (union-find over indices into 'active').
        var parent = new int[a];
        for (int i = 0; i < a; i++) parent[i] = i;
        var edges = new List<(int I, int J, int W)>();
        for (int i = 0; i < a; i++)
            for (int j = i + 1; j < a; j++)
            {
                int w = EdgeWeight(active[i], active[j], minShared, minSync);
                if (w == 0) continue;
                edges.Add((i, j, w));
                int ri = Find(parent, i), rj = Find(parent, j);
                if (ri != rj) parent[Math.Max(ri, rj)] = Math.Min(ri, rj);
            }

        var inGroup = new bool[a];
        var groupWeight = new Dictionary<int, long>();
        foreach (var (i, j, w) in edges)
        {
            inGroup[i] = inGroup[j] = true;
            int root = Find(parent, i);
            groupWeight[root] = groupWeight.GetValueOrDefault(root) + w;
        }
        // The root is the smallest index of its component, and indices follow tids: members come out in tid order and
        // the root is the group's smallest tid.
        var groups = groupWeight.Keys
            .Select(root => (Root: root, Weight: groupWeight[root],
                Members: Enumerable.Range(root, a - root).Where(k => inGroup[k] && Find(parent, k) == root).ToArray()))
            .OrderByDescending(g => g.Weight).ThenBy(g => active[g.Root].Tid)
            .ToList();

        var cap = new long[nodes];
        for (int n = 0; n < nodes; n++) cap[n] = Math.Max(1, (a * (long)coresPerNode[n] + totalCores - 1) / totalCores);
        var load = new long[nodes];
        var onNode = new long[nodes];
        foreach (var t in active) onNode[t.Node]++;
        // loose: in no group, unpinned, on a node holding more than its share; placed after the groups
        var loose = new List<int>();
        for (int i = 0; i < a; i++)
        {
            if (inGroup[i]) continue;
            if (spread && !active[i].Pinned && onNode[active[i].Node] > cap[active[i].Node]) loose.Add(i);
            else load[active[i].Node]++;
        }
        foreach (int i in loose) groups.Add((Root: i, Weight: 0, Members: [i]));

        var moves = new List<ThreadMove>();
        var here = new int[nodes];
        foreach (var g in groups)
        {
            int pinnedNode = -1;
            bool conflict = false;
            foreach (int k in g.Members)
            {
                if (!active[k].Pinned) continue;
                if (pinnedNode < 0) pinnedNode = active[k].Node;
                else if (pinnedNode != active[k].Node) conflict = true;
            }

            int best = -1;
            if (!conflict)
            {
                Array.Clear(here);
                foreach (int k in g.Members) here[active[k].Node]++;
                int first = pinnedNode < 0 ? 0 : pinnedNode, last = pinnedNode < 0 ? nodes - 1 : pinnedNode;
                for (int n = first; n <= last; n++)
                {
                    if (load[n] + g.Members.Length > cap[n]) continue;
                    // Strictly better only, so the lowest id wins full ties.
                    if (best < 0 || here[n] > here[best] || (here[n] == here[best] && load[n] < load[best])) best = n;
                }
                if (best < 0 && g.Members.Length > 1)
                {
                    double working = 0, bestSurplus = 0;
                    foreach (int k in g.Members) working += 1 - active[k].Stalled;
                    for (int n = first; n <= last; n++)
                    {
                        double after = Math.Min(load[n] + g.Members.Length, coresPerNode[n]);
                        double before = Math.Min(load[n], coresPerNode[n]) + working;
                        if (after < CrowdGain * before) continue;
                        double surplus = after - before;
                        if (best < 0 || surplus > bestSurplus || (surplus == bestSurplus && here[n] > here[best])) (best, bestSurplus) = (n, surplus);
                    }
                }
            }

            if (best < 0)
            {
                foreach (int k in g.Members) load[active[k].Node]++;
                continue;
            }
            bool crowding = load[best] + g.Members.Length > cap[best];
            bool together = g.Members.All(k => active[k].Node == active[g.Members[0]].Node);
            foreach (int k in g.Members)
                if (active[k].Node != best) moves.Add(new ThreadMove(active[k].Tid, active[k].Node, best, crowding, together));
            load[best] += g.Members.Length;
        }

        moves.Sort((x, y) => x.Tid.CompareTo(y.Tid));
        return moves;
    }

    private static int Find(int[] parent, int i)
    {
        while (parent[i] != i)
        {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        return i;
    }
}
