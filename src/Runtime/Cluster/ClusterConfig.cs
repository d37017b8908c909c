using System.Globalization;
using System.Net;
using Tomlyn;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace Dqemu.Runtime.Cluster;

/// <param name="Start">
/// Whether node 0 starts this worker itself: null (the default) means "when its address is on this host";
/// false means never (it is started by hand or over ssh); true means always (it must be local).
/// </param>
public sealed record NodeConfig(int Id, IPEndPoint Address, string AddressText, int Cores, IReadOnlyList<int>? Cpus, int Line,
                                bool? Start = null);

/// <summary>
/// cluster.toml, read with Tomlyn's syntax tree so every error can name the file and line:
/// <code>
/// [cluster]
/// transport = "tcp"            # or "ucx" (UCX: shared memory, RDMA verbs or TCP, chosen by UCX)
/// ucx_tls = "posix,self,cma"   # optional, ucx only: UCX's transport list (UCX_TLS syntax)
/// placement = "round-robin"    # or "fill", or "auto" (round-robin, then threads that share pages move together)
/// directory = "distributed"    # or "node0": where each page's directory entry lives
/// compress = "auto"            # pages zstd-compressed: "auto" (only on tcp between hosts), "zstd", "none"
/// wait_spin_us = 1000          # how long a thread waiting for another node spins before it sleeps
/// split_pages = false          # page splitting against false sharing (off by default: see README, "Page splitting")
/// split_after = 16             # hand-offs of a page between nodes, within 200 ms, before its home proposes a split
/// forward_pages = true         # read ahead on strided read and write faults (data forwarding)
/// forward_wakes = false        # a futex wake names the pages its thread wrote; the woken node asks for them at once
/// push_updates = false         # a read-mostly page written again is offered to the nodes that read it (3+ nodes)
/// [[node]]
/// id = 0
/// address = "127.0.0.1:7400"
/// cores = 1                    # guest threads this node runs at once
/// cpus = "0"                   # optional host CPUs to pin to (taskset syntax: "0,2-3")
/// start = false                # optional: node 0 never starts this worker (default: it does when the address is local)
/// [[placement]]                  # optional rules, by creation index (the main thread is 0, the first thread made 1)
/// threads = [1, 2]             # or thread = 1
/// node = 1                     # where those threads start; the auto policy leaves them there
/// </code>
/// </summary>
public sealed class ClusterConfig
{
    public string Path { get; }
    public string Transport { get; private set; } = "tcp";
    /// <summary>UCX_TLS for the ucx transport; null lets UCX choose.</summary>
    public string? UcxTls { get; private set; }
    /// <summary>"auto", "zstd" or "none"; see <see cref="CompressPages"/>.</summary>
    public string Compress { get; private set; } = "auto";
    /// <summary>Microseconds a thread waiting for another node's answer spins (polling, yielding) before it blocks.</summary>
    public double WaitSpinUs { get; private set; } = 1000;
    public string Placement { get; private set; } = "round-robin";
    public string Directory { get; private set; } = "distributed";
    /// <summary>Page splitting against false sharing (Cluster/PageSplitter.cs); false (the default) keeps every page
    /// whole. Off by default because an instruction made split-aware keeps paying its check on every page it touches
    /// afterwards, split or not (a stencil's store loop: 0.76x where unsplit gives 1.03x).</summary>
    public bool SplitPages { get; private set; }
    /// <summary>Hand-offs of one page between nodes (within 200 ms) after which its home looks for a split.</summary>
    public int SplitAfter { get; private set; } = 16;
    /// <summary>Data forwarding: read-ahead of the next pages on strided read and write faults (ClusterMemory.AheadStream).</summary>
    public bool ForwardPages { get; private set; } = true;
    /// <summary>Data forwarding with wakes (ClusterFutex.WakeWithPages); off by default, see README "Data forwarding".</summary>
    public bool ForwardWakes { get; private set; }
    /// <summary>Data forwarding, updates: a home offers a read-mostly page to its readers after a write
    /// (src/Dsm/DsmNode.Update.cs); off by default, see README "Data forwarding".</summary>
    public bool PushUpdates { get; private set; }
    /// <summary>Seconds a node may be silent before the others give it up.</summary>
    public double NodeTimeout { get; private set; } = 3.0;
    /// <summary>Seconds node 0 waits for every worker to connect.</summary>
    public double ConnectTimeout { get; private set; } = 10.0;
    public List<NodeConfig> Nodes { get; } = new();
    /// <summary>[[placement]] rules: thread creation index (main = 0) to node, checked against the nodes.</summary>
    public Dictionary<int, int> PlacementRules { get; } = new();
    /// <summary>The automatic locality-aware policy (placement = "auto", Cluster/ClusterNode.AutoPlacement.cs).</summary>
    public bool AutoPlacement => Placement == "auto";
    /// <summary>Where placement = "auto" starts a new thread before the policy has seen it work: "local" (on its creator's
    /// node; the policy spreads it later) or "round-robin" (as placement = "round-robin"; the policy gathers sharers).</summary>
    public string AutoStart { get; private set; } = "local";

    /// <summary>How clone() chooses the node of a new thread (node 0's <see cref="Dqemu.Dsm.Placement"/>).</summary>
    public Dqemu.Dsm.PlacementPolicy InitialPlacement => Dqemu.Dsm.Placement.Parse(Placement == "auto" ? AutoStart : Placement);

    private ClusterConfig(string path) => Path = path;

    /// <summary>Reads and parses a cluster file; any problem with it is a <see cref="FatalException"/> with
    /// <see cref="ExitCodes.Config"/> and a one-line message.</summary>
    public static ClusterConfig Load(string path)
        => Parse(path, ClusterFileReader.Decode(path, ClusterFileReader.Read(path)));

    /// <summary>
    /// Parses cluster.toml text. Returns a config that holds every rule the class documents, or throws a
    /// <see cref="FatalException"/> with <see cref="ExitCodes.Config"/> whose message is one line
    /// ("path:line: what is wrong"); no other exception.
    /// </summary>
    public static ClusterConfig Parse(string path, string text)
    {
        int deep = TomlNesting.TooDeepLine(text);
        if (deep > 0) throw Fail($"{path}:{deep}: [ and {{ nested more than {TomlNesting.MaxDepth} deep");
        var c = new ClusterConfig(path);
        // syntax first, without TOML's semantic rules: the walk below names a duplicate key in its own words
        c.Walk(c.ThrowOnTomlErrors(text, validate: false));
        // then every rule of TOML 1.0 (duplicate keys and tables in any form): the walk checks only what it reads
        c.ThrowOnTomlErrors(text, validate: true);
        return c;
    }

    private DocumentSyntax ThrowOnTomlErrors(string text, bool validate)
    {
        DocumentSyntax doc;
        try { doc = SyntaxParser.Parse(text, Path, validate); }
        catch (TomlException e)
        {
            // Tomlyn's own depth limit and other failures it throws rather than reports
            throw Fail(e.Line is int line ? $"{Path}:{line}: {e.Message}" : $"{Path}: {e.Message}");
        }
        catch (ArgumentException)
        {
            // Tomlyn's lexer throws (char.ConvertFromUtf32) on text holding a lone UTF-16 surrogate, which only a caller
            // handing in a string can give (the file reader's strict UTF-8 decoding refuses one); found by the long run
            // of ClusterConfigFuzzTests (a truncation cutting a surrogate pair)
            throw Fail($"{Path}: not valid TOML text (a lone UTF-16 surrogate)");
        }
        var firstError = doc.Diagnostics.FirstOrDefault(d => d.Kind == DiagnosticMessageKind.Error);
        if (firstError != null) throw Fail($"{Path}:{firstError.Span.Start.Line + 1}: {firstError.Message}");
        return doc;
    }

    private void Walk(DocumentSyntax doc)
    {
        foreach (var kv in doc.KeyValues)
            throw Error(kv, $"key '{Shown(KeyName(kv))}' must be inside [cluster] or [[node]]");

        TableSyntaxBase? cluster = null;
        var rules = new List<TableSyntaxBase>();
        foreach (var table in doc.Tables)
        {
            string name = ConfigText.KeyName(table.Name);
            if (table is TableArraySyntax && name == "node") Nodes.Add(ParseNode(table));
            else if (table is TableArraySyntax && name == "placement") rules.Add(table);
            else if (table is TableSyntax && name == "cluster")
            {
                if (cluster != null) throw Error(table, $"[cluster] appears twice (first on line {Line(cluster)})");
                cluster = table;
                ParseCluster(table);
            }
            else
            {
                string shown = table is TableArraySyntax ? $"[[{Shown(name)}]]" : $"[{Shown(name)}]";
                throw Error(table, $"unknown table {shown} (expected [cluster], [[node]] or [[placement]])");
            }
        }
        if (Nodes.Count == 0) throw Fail($"{Path}: no [[node]] entries");
        var ids = new HashSet<int>();
        foreach (var n in Nodes)
            if (!ids.Add(n.Id)) throw Fail($"{Path}:{n.Line}: node id {n.Id} appears twice");
        for (int i = 0; i < Nodes.Count; i++)
            if (!ids.Contains(i)) throw Fail($"{Path}: node ids must be 0..{Nodes.Count - 1}; {i} is missing");
        var addrs = new HashSet<string>();
        foreach (var n in Nodes)
            if (!addrs.Add(n.Address.ToString())) throw Fail($"{Path}:{n.Line}: address {Shown(n.AddressText)} is used by two nodes");
        Nodes.Sort((a, b) => a.Id.CompareTo(b.Id));
        foreach (var rule in rules) ParsePlacementRule(rule);
    }

    /// <summary>
    /// The key-value lines of a table, each key once: TOML forbids a key twice in one table, and the later
    /// value silently won ("cores = 1" then "cores = 2").
    /// </summary>
    private IEnumerable<(string Key, KeyValueSyntax Kv)> Keys(TableSyntaxBase table, string tableName)
    {
        var seen = new Dictionary<string, int>();
        foreach (var kv in table.Items.OfType<KeyValueSyntax>())
        {
            string key = KeyName(kv);
            if (seen.TryGetValue(key, out int first))
                throw Error(kv, $"key '{Shown(key)}' appears twice in this {tableName} (first on line {first})");
            seen.Add(key, Line(kv));
            yield return (key, kv);
        }
    }

    private void ParseCluster(TableSyntaxBase table)
    {
        foreach (var (key, kv) in Keys(table, "[cluster]"))
        {
            switch (key)
            {
                case "transport": Transport = Choice(kv, "tcp", "ucx"); break;
                case "ucx_tls":
                    UcxTls = Str(kv).Trim();
                    if (UcxTls.Length == 0 || UcxTls.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is ',' or '_' or '^' or ':')))
                        throw Error(kv, $"ucx_tls \"{Shown(UcxTls)}\" is not a UCX transport list like \"posix,self,cma\", \"tcp\" or \"rc,ud,self\"");
                    _tlsKey = kv;
                    break;
                case "compress": Compress = Choice(kv, "auto", "zstd", "none"); break;
                case "wait_spin_us": WaitSpinUs = Number(kv, 0, 1_000_000); break;
                case "placement": Placement = Choice(kv, "round-robin", "fill", "auto"); break;
                case "auto_start": AutoStart = Choice(kv, "local", "round-robin"); break;
                case "directory": Directory = Choice(kv, "distributed", "node0"); break;
                case "split_pages": SplitPages = kv.Value is BooleanValueSyntax sp ? sp.Value : throw Error(kv, "split_pages must be true or false"); break;
                case "forward_pages": ForwardPages = kv.Value is BooleanValueSyntax fp ? fp.Value : throw Error(kv, "forward_pages must be true or false"); break;
                case "forward_wakes": ForwardWakes = kv.Value is BooleanValueSyntax fw ? fw.Value : throw Error(kv, "forward_wakes must be true or false"); break;
                case "push_updates": PushUpdates = kv.Value is BooleanValueSyntax pu ? pu.Value : throw Error(kv, "push_updates must be true or false"); break;
                case "split_after": SplitAfter = (int)Integer(kv, 2, 1_000_000); break;
                case "node_timeout": NodeTimeout = Number(kv, 0.1, 3600); break;
                case "connect_timeout": ConnectTimeout = Number(kv, 0.1, 3600); break;
                default: throw Error(kv, $"unknown key '{Shown(key)}' in [cluster]");
            }
        }
        if (_tlsKey != null && Transport != "ucx")
            throw Error(_tlsKey, "ucx_tls is only used with transport = \"ucx\"");
    }

    private KeyValueSyntax? _tlsKey;

    /// <summary>
    /// Whether pages travel zstd-compressed. "auto": only over tcp between different hosts — compressing a page costs
    /// ~12 us and decompressing ~5 us (bench/Dqemu.Bench PageCodecBenchmarks), more than a 4 KiB page takes on
    /// loopback, shared memory or any fast fabric; all-zero pages travel as a tag either way.
    /// </summary>
    public bool CompressPages => Compress switch
    {
        "zstd" => true,
        "none" => false,
        _ => Transport == "tcp" && !Nodes.All(n => ClusterContext.IsLocal(n.Address.Address)),
    };

    private NodeConfig ParseNode(TableSyntaxBase table)
    {
        int? id = null;
        string? address = null;
        IPEndPoint? endpoint = null;
        int cores = 1;
        List<int>? cpus = null;
        bool? start = null;
        foreach (var (key, kv) in Keys(table, "[[node]]"))
        {
            switch (key)
            {
                case "id": id = (int)Integer(kv, 0, 63); break;
                case "address":
                    address = Str(kv);
                    if (!IPEndPoint.TryParse(address, out endpoint) || endpoint.Port == 0)
                        throw Error(kv, $"address \"{Shown(address)}\" is not host:port with a numeric IP address and a port");
                    break;
                case "cores": cores = (int)Integer(kv, 1, 1024); break;
                case "cpus": cpus = CpuList(kv, Str(kv)); break;
                case "start": start = kv.Value is BooleanValueSyntax b ? b.Value : throw Error(kv, "start must be true or false"); break;
                default: throw Error(kv, $"unknown key '{Shown(key)}' in [[node]]");
            }
        }
        int line = Line(table);
        if (id is null) throw Fail($"{Path}:{line}: [[node]] needs an id");
        if (endpoint is null) throw Fail($"{Path}:{line}: [[node]] {id} needs an address");
        return new NodeConfig(id.Value, endpoint, address!, cores, cpus, line, start);
    }

    /// <summary>A [[placement]] rule: thread = N or threads = [N, ...] (creation indexes; 0 is the main thread, which
    /// always starts on node 0) and node = K.</summary>
    private void ParsePlacementRule(TableSyntaxBase table)
    {
        var threads = new List<int>();
        int? node = null;
        foreach (var (key, kv) in Keys(table, "[[placement]]"))
        {
            switch (key)
            {
                case "thread": threads.Add((int)Integer(kv, 1, 1_000_000)); break;
                case "threads":
                    if (kv.Value is not ArraySyntax a || a.Items.ChildrenCount == 0) throw Error(kv, "threads must be a list of thread indexes like [1, 2]");
                    foreach (var item in a.Items)
                        threads.Add(item.Value is IntegerValueSyntax i && i.Value is >= 1 and <= 1_000_000
                            ? (int)i.Value : throw Error(kv, "threads must hold thread indexes from 1 (the first thread the guest creates) to 1000000"));
                    break;
                case "node":
                    node = (int)Integer(kv, 0, 63);
                    if (node >= Nodes.Count) throw Error(kv, $"node {node} is not in this cluster (nodes 0..{Nodes.Count - 1})");
                    break;
                default: throw Error(kv, $"unknown key '{Shown(key)}' in [[placement]] (thread, threads, node)");
            }
        }
        if (threads.Count == 0) throw Error(table, "[[placement]] needs thread = N or threads = [N, ...]");
        if (node is null) throw Error(table, "[[placement]] needs a node");
        foreach (int t in threads)
            if (!PlacementRules.TryAdd(t, node.Value)) throw Error(table, $"thread {t} is placed by two [[placement]] rules");
    }

    /// <summary>taskset's list syntax: "0", "0,2", "1-3", "0-1,4".</summary>
    private List<int> CpuList(KeyValueSyntax kv, string s)
    {
        var r = new List<int>();
        foreach (var part in s.Split(',', StringSplitOptions.TrimEntries))
        {
            var range = part.Split('-');
            if (range.Length is 1 or 2 && range.All(x => int.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            {
                int lo = int.Parse(range[0], CultureInfo.InvariantCulture), hi = int.Parse(range[^1], CultureInfo.InvariantCulture);
                if (lo <= hi && hi < 4096) { for (int i = lo; i <= hi; i++) r.Add(i); continue; }
            }
            throw Error(kv, $"cpus \"{Shown(s)}\" is not a CPU list like \"0\", \"0,2\" or \"1-3\"");
        }
        return r;
    }

    private string Choice(KeyValueSyntax kv, params string[] allowed)
    {
        string v = Str(kv);
        if (!allowed.Contains(v)) throw Error(kv, $"{KeyName(kv)} must be one of {string.Join(", ", allowed.Select(a => $"\"{a}\""))}, not \"{Shown(v)}\"");
        return v;
    }

    private string Str(KeyValueSyntax kv)
        => kv.Value is StringValueSyntax s ? s.Value ?? "" : throw Error(kv, $"{KeyName(kv)} must be a string");

    private long Integer(KeyValueSyntax kv, long min, long max)
    {
        if (kv.Value is not IntegerValueSyntax i) throw Error(kv, $"{KeyName(kv)} must be an integer");
        if (i.Value < min || i.Value > max) throw Error(kv, $"{KeyName(kv)} must be between {min} and {max}, not {i.Value}");
        return i.Value;
    }

    private double Number(KeyValueSyntax kv, double min, double max)
    {
        double v = kv.Value switch
        {
            IntegerValueSyntax i => i.Value,
            FloatValueSyntax f => f.Value,
            _ => throw Error(kv, $"{KeyName(kv)} must be a number"),
        };
        // written so that nan fails too (every comparison with NaN is false): node_timeout = nan passed, and
        // TimeSpan.FromSeconds(NaN) threw later, an internal error
        if (!(v >= min && v <= max)) throw Error(kv, $"{KeyName(kv)} must be between {min} and {max}");
        return v;
    }

    private static string KeyName(KeyValueSyntax kv) => ConfigText.KeyName(kv.Key);
    private static string Shown(string value) => ConfigText.Shown(value);
    private static int Line(SyntaxNode n) => n.Span.Start.Line + 1;
    private FatalException Error(SyntaxNode n, string message) => Fail($"{Path}:{Line(n)}: {message}");
    private static FatalException Fail(string message) => new(ExitCodes.Config, ConfigText.OneLine(message));
}
