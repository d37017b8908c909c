using System.Net;
using System.Net.Sockets;
using Dqemu.Rdma;

namespace Dqemu.Runtime.Cluster;

/// <summary>What node 0 and the workers share: the loaded cluster file, its token, pinning, loss reports.</summary>
internal sealed unsafe class ClusterContext
{
    public ClusterConfig Config { get; }
    public ulong Token { get; }
    public int Self { get; }

    private static int _reported;

    private ClusterContext(ClusterConfig config, ulong token, int self)
    {
        Config = config;
        Token = token;
        Self = self;
    }

    public static ClusterContext Load(string path, int self)
    {
        // read once: the token must hash the bytes that were parsed
        byte[] bytes = ClusterFileReader.Read(path);
        var config = ClusterConfig.Parse(path, ClusterFileReader.Decode(path, bytes));
        if (self >= config.Nodes.Count)
            throw new FatalException(ExitCodes.Usage, $"--node {self}: {path} describes nodes 0..{config.Nodes.Count - 1} only");
        return new ClusterContext(config, ClusterProtocol.Token(bytes), self);
    }

    public NodeConfig Node(int id) => Config.Nodes[id];

    /// <summary>"node 1 (127.0.0.1:7401)", as the transport names nodes.</summary>
    public string Name(int id) => $"node {id} ({Config.Nodes[id].Address})";

    public TcpTransportOptions TransportOptions()
    {
        var timeout = TimeSpan.FromSeconds(Config.NodeTimeout);
        var hb = TimeSpan.FromMilliseconds(Math.Min(200, timeout.TotalMilliseconds / 4));
        return new TcpTransportOptions { PeerTimeout = timeout, HeartbeatInterval = hb, WaitSpin = WaitSpin };
    }

    private TimeSpan WaitSpin => TimeSpan.FromTicks((long)(Config.WaitSpinUs * TimeSpan.TicksPerMicrosecond));

    /// <summary>
    /// Fails with one line (exit 69) when the cluster file's transport cannot run on this host, before node 0 starts any
    /// worker (each would fail the same way and print its own line).
    /// </summary>
    public void CheckTransport()
    {
        if (Config.Transport != "ucx") return;
        try
        {
            if (Config.UcxTls != null) Dqemu.Rdma.Ucx.UcxTransport.Probe(Config.UcxTls);
            else Dqemu.Rdma.Ucx.UcxLibrary.Load();
        }
        catch (TransportUnavailableException e) { throw new FatalException(ExitCodes.Unavailable, e.Message); }
    }

    /// <summary>
    /// Joins the mesh on the cluster file's transport. TCP: our own sockets. UCX: the same TCP mesh for start-up and
    /// liveness, every message over UCX (see <see cref="Dqemu.Rdma.Ucx.UcxTransport"/>).
    /// </summary>
    /// <exception cref="TransportConnectException">a node could not be reached.</exception>
    /// <exception cref="TransportUnavailableException">the transport cannot run here (UCX missing, bad ucx_tls).</exception>
    public ITransport Connect()
    {
        var endpoints = Config.Nodes.Select(n => n.Address).ToArray();
        var timeout = TimeSpan.FromSeconds(Config.ConnectTimeout);
        if (Config.Transport == "ucx")
            return Dqemu.Rdma.Ucx.UcxTransport.Connect(endpoints, Self, timeout, Token,
                new Dqemu.Rdma.Ucx.UcxTransportOptions { Tls = Config.UcxTls, Control = TransportOptions(), WaitSpin = WaitSpin });
        return TcpTransport.Connect(endpoints, Self, timeout, Token, TransportOptions());
    }

    /// <summary>True when <paramref name="address"/> belongs to this host (loopback, or one it can bind).</summary>
    public static bool IsLocal(IPAddress address)
    {
        if (IPAddress.IsLoopback(address)) return true;
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) return false;
        try
        {
            using var s = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(address, 0)); // EADDRNOTAVAIL unless one of this host's addresses
            return true;
        }
        catch (SocketException) { return false; }
    }

    /// <summary>
    /// A config error (exit 78, one line) when node <paramref name="id"/>'s <c>cpus</c> name a CPU that this host
    /// does not have or does not let this process use. Every CPU is checked: pinning alone fails only when none of
    /// them is usable, and "0,99" pinned to 0 without a word.
    /// </summary>
    public void CheckCpus(int id)
    {
        var node = Node(id);
        if (node.Cpus is not { Count: > 0 } cpus || HostCpus.FirstUnusable(cpus) is not int cpu) return;
        throw new FatalException(ExitCodes.Config,
            $"{Config.Path}:{node.Line}: node {id}'s cpus name CPU {cpu}, which this host does not have " +
            "or does not let this process use");
    }

    /// <summary>
    /// Pins every thread of this process (and so every thread created later, which inherits the mask) to the
    /// node's <c>cpus</c>; nothing when the node has none. A CPU the host does not have is a config error.
    /// </summary>
    public void PinSelf()
    {
        var node = Node(Self);
        if (node.Cpus is not { Count: > 0 } cpus) return;
        CheckCpus(Self);
        int words = (cpus.Max() / 64) + 1;
        var mask = new ulong[Math.Max(words, 16)];
        foreach (int c in cpus) mask[c / 64] |= 1UL << (c % 64);
        var tids = new List<int>();
        try
        {
            foreach (var d in Directory.EnumerateDirectories("/proc/self/task"))
                if (int.TryParse(Path.GetFileName(d), out int tid)) tids.Add(tid);
        }
        catch (IOException) { }
        if (tids.Count == 0) tids.Add(0);
        fixed (ulong* m = mask)
        {
            foreach (int tid in tids)
            {
                if (ClusterNative.sched_setaffinity(tid, (nuint)(mask.Length * 8), m) == 0) continue;
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno == 3) continue; // ESRCH: the thread ended meanwhile
                throw new FatalException(ExitCodes.Config,
                    $"{Config.Path}:{node.Line}: node {Self} cannot pin itself to cpus {string.Join(",", cpus)} (errno {errno}: " +
                    $"{(errno == 22 ? "no such CPU on this host, or not allowed" : "sched_setaffinity failed")})");
            }
        }
    }

    /// <summary>
    /// The one line a node prints when another is lost:
    /// "node 1 (127.0.0.1:7401) lost: &lt;reason&gt; [seen by node 2]", or "[seen by node 2, reported to node 0]"
    /// when another node saw it first and told this one (the nodes of one machine share a terminal: the tag
    /// says which node printed the line). The transport's reasons usually start with the node's name already;
    /// that prefix is not repeated.
    /// </summary>
    public string LostLine(int node, string reason, int seenBy = -1)
    {
        string name = Name(node);
        if (reason.StartsWith(name + " ", StringComparison.Ordinal)) reason = reason[(name.Length + 1)..];
        string tag = seenBy < 0 || seenBy == Self ? $"seen by node {Self}" : $"seen by node {seenBy}, reported to node {Self}";
        return $"{name} lost: {reason} [{tag}]";
    }

    /// <summary>
    /// Tells every other peer (but the lost one) that <paramref name="node"/> is lost, so that every node
    /// names the node that died rather than the first one that left after it. Best effort, at most 0.5 s.
    /// </summary>
    public void Broadcast(ITransport transport, int node, string reason)
    {
        var body = ClusterProtocol.EncodeNodeLost(node, reason);
        var tell = new Thread(() =>
        {
            for (int n = 0; n < transport.NodeCount; n++)
            {
                if (n == node || n == Self) continue;
                try { transport.Send(n, ClusterProtocol.NodeLost, body); }
                catch (Exception e) when (e is NodeLostException or ObjectDisposedException) { }
            }
        }) { IsBackground = true, Name = "dqemu-cluster-lost" };
        tell.Start();
        tell.Join(500);
    }

    /// <summary>Prints one line (the first caller only: a node reports one loss) and returns true if it did. A later
    /// caller waits (up to a second) until that line is out: it is about to end the process, and ending it while the
    /// first caller still writes would lose the line (a worker that saw a node lost and heard of it from node 0 at
    /// once exited 69 without a word).</summary>
    public static bool ReportOnce(string line)
    {
        if (Interlocked.Exchange(ref _reported, 1) != 0)
        {
            _reportPrinted.Wait(TimeSpan.FromSeconds(1));
            return false;
        }
        try
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"dqemu-native: {line}");
            Console.Error.Flush();
        }
        catch (IOException) { }
        finally
        {
            _reportPrinted.Set();
        }
        return true;
    }

    private static readonly ManualResetEventSlim _reportPrinted = new();

    /// <summary>Ends this process now with <paramref name="status"/>: no managed shutdown, guest threads included.</summary>
    public static void ExitNow(int status)
    {
        Profiling.PerfMap.FlushActive();
        try { Console.Error.Flush(); Console.Out.Flush(); } catch (IOException) { }
        ClusterNative._exit(status);
    }
}
