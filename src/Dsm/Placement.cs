namespace Dqemu.Dsm;

/// <summary>How new guest threads are spread over the nodes.</summary>
public enum PlacementPolicy
{
    /// <summary>Node after node, whatever their core counts ("round-robin").</summary>
    RoundRobin,
    /// <summary>Fill a node's cores before using the next node; once every core is busy, the least loaded node
    /// (threads per core) takes the thread ("fill").</summary>
    Fill,
    /// <summary>On the node of the thread that creates it (placement = "auto" by default: threads start next to the data
    /// their creator prepared, and the automatic policy spreads those that turn out not to work with the others).</summary>
    Local,
}

/// <summary>
/// Picks the node for each new guest thread, given every node's core count, and tracks how many guest threads run
/// where. Pure bookkeeping (no I/O), thread-safe. Node 0 runs the guest's main thread: register it with
/// <see cref="Add"/>(0) at start; <see cref="Remove"/> a thread when it exits.
/// </summary>
public sealed class Placement
{
    private readonly object _lock = new();
    private readonly int[] _cores;
    private readonly int[] _running;
    private int _next;
    private readonly Dictionary<int, int> _rules = new();
    /// <summary>Threads placed so far, the main thread included (it is index 0).</summary>
    private int _created = 1;

    /// <param name="policy">The policy.</param>
    /// <param name="coresPerNode">Cores each node offers to guest threads, by node id (each at least 1).</param>
    /// <param name="firstRoundRobinNode">Where round-robin starts: by default node 1 (node 0 already runs the main
    /// thread), or node 0 in a one-node cluster.</param>
    public Placement(PlacementPolicy policy, IReadOnlyList<int> coresPerNode, int? firstRoundRobinNode = null)
    {
        ArgumentNullException.ThrowIfNull(coresPerNode);
        if (coresPerNode.Count < 1 || coresPerNode.Count > DsmNode.MaxNodes)
            throw new ArgumentException($"a cluster has 1 to {DsmNode.MaxNodes} nodes", nameof(coresPerNode));
        for (int i = 0; i < coresPerNode.Count; i++)
            if (coresPerNode[i] < 1)
                throw new ArgumentOutOfRangeException(nameof(coresPerNode), $"node {i} has {coresPerNode[i]} cores");
        Policy = policy;
        _cores = coresPerNode.ToArray();
        _running = new int[_cores.Length];
        int first = firstRoundRobinNode ?? (_cores.Length > 1 ? 1 : 0);
        if (first < 0 || first >= _cores.Length) throw new ArgumentOutOfRangeException(nameof(firstRoundRobinNode));
        _next = first;
    }

    public PlacementPolicy Policy { get; }
    public int NodeCount => _cores.Length;
    public int Cores(int node) => _cores[node];

    /// <summary>The names the cluster file uses: "round-robin", "fill" and "local".</summary>
    public static PlacementPolicy Parse(string name) => name switch
    {
        "round-robin" => PlacementPolicy.RoundRobin,
        "fill" => PlacementPolicy.Fill,
        "local" => PlacementPolicy.Local,
        _ => throw new ArgumentException($"unknown placement '{name}' (round-robin, fill or local)", nameof(name)),
    };

    /// <summary>Guest threads currently counted on <paramref name="node"/>.</summary>
    public int Running(int node)
    {
        lock (_lock) return _running[node];
    }

    /// <summary>Places the thread with creation index <paramref name="threadIndex"/> (1 for the first thread the guest
    /// creates; the main thread is 0) on <paramref name="node"/>, whatever the policy says (cluster.toml [[placement]]).</summary>
    public void SetRule(int threadIndex, int node)
    {
        if (threadIndex < 1) throw new ArgumentOutOfRangeException(nameof(threadIndex), threadIndex, "the first thread the guest creates is 1");
        lock (_lock) _rules[threadIndex] = CheckNode(node);
    }

    /// <summary>Chooses the node for a new thread created by a thread of node <paramref name="creator"/> and counts the
    /// thread there; <paramref name="ruled"/> says a rule chose it (an automatic policy then leaves the thread where it
    /// is).</summary>
    public int Place(int creator, out bool ruled)
    {
        lock (_lock)
        {
            CheckNode(creator);
            ruled = _rules.TryGetValue(_created++, out int node);
            if (!ruled)
                node = Policy switch
                {
                    PlacementPolicy.RoundRobin => NextRoundRobin(),
                    PlacementPolicy.Fill => NextFill(),
                    _ => creator,
                };
            _running[node]++;
            return node;
        }
    }

    /// <summary><see cref="Place(int, out bool)"/> for a thread created on node 0.</summary>
    public int Place(out bool ruled) => Place(0, out ruled);

    /// <summary>Chooses the node for a new thread created on node 0 and counts the thread there.</summary>
    public int Place() => Place(0, out _);

    /// <summary>A thread moved from <paramref name="from"/> to <paramref name="to"/> (live migration; see <see cref="Remove"/>
    /// for the order of reports).</summary>
    public void Move(int from, int to)
    {
        lock (_lock)
        {
            CheckNode(to);
            _running[CheckNode(from)]--;
            _running[to]++;
        }
    }

    /// <summary>Counts a thread that runs on <paramref name="node"/> without having been placed (the main thread).</summary>
    public void Add(int node)
    {
        lock (_lock) _running[CheckNode(node)]++;
    }

    /// <summary>A thread on <paramref name="node"/> ended. A node's count may dip below zero for a moment (a thread's move
    /// and its end are reported by different nodes, in any order): the counts are sums and come right once every report
    /// is in; only a cluster with no thread counted at all is an error.</summary>
    public void Remove(int node)
    {
        lock (_lock)
        {
            CheckNode(node);
            if (_running.Sum() <= 0) throw new InvalidOperationException($"no thread is counted (removing one of node {node})");
            _running[node]--;
        }
    }

    private int CheckNode(int node) =>
        node >= 0 && node < _cores.Length ? node : throw new ArgumentOutOfRangeException(nameof(node), node, "no such node");

    private int NextRoundRobin()
    {
        int node = _next;
        _next = (_next + 1) % _cores.Length;
        return node;
    }

    private int NextFill()
    {
        for (int n = 0; n < _cores.Length; n++)
            if (_running[n] < _cores[n]) return n;
        // Every core is busy: the lowest threads-per-core ratio, lowest id on ties (compare a/b < c/d as a*d < c*b).
        int best = 0;
        for (int n = 1; n < _cores.Length; n++)
            if ((long)_running[n] * _cores[best] < (long)_running[best] * _cores[n]) best = n;
        return best;
    }
}
