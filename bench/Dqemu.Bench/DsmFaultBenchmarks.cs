using Dqemu.Testing;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Dqemu.Dsm;
using Dqemu.Rdma;
using Dqemu.Rdma.Ucx;

namespace Dqemu.Bench;

/// <summary>
/// Remote page-fault latency of the DSM engine: two <see cref="DsmNode"/>s (node 0 and node 1) in this process,
/// joined by real transports on loopback — <see cref="TcpTransport"/> or <see cref="UcxTransport"/> (UCX picks
/// shared memory between the two workers) — each over an array-backed <see cref="IPageStore"/> (no mprotect, no
/// guest). The calling thread plays both nodes' guest threads: it polls the transport of the node it acts for while
/// it waits, as a faulting guest thread does; the other node's messages are handled by its transport's own thread
/// (woken by the transport), as on a node whose guest threads are busy. <see cref="Home"/> picks a page whose
/// directory entry lives on node 0 or on node 1 (distributed home policy: home = page % 2), which changes which hops
/// are local calls and which are messages. The page holds heap-like data (small integers, pointers, zeros) that zstd
/// shrinks but not to nothing; pages travel raw (as the runtime sends them on loopback and over UCX) except in
/// <see cref="WriteFaultPingPongZstd"/>.
/// </summary>
/// <remarks>
/// In-process toolchain: BenchmarkDotNet's default out-of-process toolchain rebuilds the project (and its
/// references) into their own bin/obj folders, which would race with other builds of the tree; in process the
/// measured code is the same. A short job keeps the whole class (12 cases) near two minutes.
/// </remarks>
[Config(typeof(DsmFaultBenchmarks.ShortInProcess))]
public class DsmFaultBenchmarks
{
    private const int StorePages = 64;

    public sealed class ShortInProcess : ManualConfig
    {
        public ShortInProcess()
        {
            AddColumn(StatisticColumn.Median);
            AddJob(Job.Default
                .WithWarmupCount(3)
                .WithIterationCount(10)
                .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(250))
                .WithToolchain(InProcessEmitToolchain.Instance)
                .WithId("ShortInProcess"));
        }
    }

    /// <summary>The node holding the benchmarked page's directory entry.</summary>
    [Params(0, 1)]
    public int Home { get; set; }

    /// <summary>The transport joining the two nodes: "tcp" or "ucx".</summary>
    [Params("tcp", "ucx")]
    public string Transport { get; set; } = "tcp";

    private ITransport _t0 = null!, _t1 = null!;
    private DsmNode _n0 = null!, _n1 = null!;
    private ArrayPageStore _s0 = null!, _s1 = null!;
    private ulong _page;
    private long _readTicks, _reads;

    [GlobalSetup(Targets = [nameof(WriteFaultPingPong), nameof(ReadFaultAfterInvalidate)])]
    public void SetupRaw() => Setup(compress: false);

    [GlobalSetup(Target = nameof(WriteFaultPingPongZstd))]
    public void SetupCompressed() => Setup(compress: true);

    private ITransport Connect(IPEndPoint[] eps, int self) => Transport switch
    {
        "tcp" => TcpTransport.Connect(eps, self, TimeSpan.FromSeconds(10), 0xD5A),
        "ucx" => UcxTransport.Connect(eps, self, TimeSpan.FromSeconds(10), 0xD5A),
        _ => throw new ArgumentException($"unknown transport {Transport}"),
    };

    private void Setup(bool compress)
    {
        var eps = new IPEndPoint[2];
        for (int i = 0; i < 2; i++)
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            eps[i] = (IPEndPoint)s.LocalEndPoint!;
        }
        var connect0 = Task.Run(() => Connect(eps, 0));
        _t1 = Connect(eps, 1);
        _t0 = connect0.GetAwaiter().GetResult();

        var options = new DsmOptions { Compress = compress, AcquireTimeout = TimeSpan.FromSeconds(10) };
        _s0 = new ArrayPageStore(StorePages, initial: PageState.Modified);
        _s1 = new ArrayPageStore(StorePages, initial: PageState.Invalid);
        _n0 = new DsmNode(0, 2, _t0, _s0, options);
        _n1 = new DsmNode(1, 2, _t1, _s1, options);
        _t0.Start(new Handler(_n0));
        _t1.Start(new Handler(_n1));

        _page = 0x20 + (ulong)Home; // page % 2 == Home
        if (_n0.HomeOf(_page) != Home || _n1.HomeOf(_page) != Home)
            throw new InvalidOperationException($"page 0x{_page:x} is not homed on node {Home}");

        // Node 0 starts as the Modified owner: its copy is the page's contents.
        var contents = HeapLikePage(seed: 7);
        _s0.Fill(_page, contents);
        var wire = new byte[PageCodec.MaxEncodedLength(DsmNode.PageSize)];
        int n = PageCodec.Shared.Encode(contents, wire, out var encoding);
        if (encoding != PageEncoding.Zstd)
            throw new InvalidOperationException($"benchmark page encodes as {encoding}, not zstd");
        Console.WriteLine($"// DsmFault setup: {Transport}, page 0x{_page:x} home node {Home}, compress={compress}, " +
                          $"page zstd-codes {DsmNode.PageSize} -> {n} bytes");
        _readTicks = _reads = 0;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        try
        {
            foreach (var (name, node) in new[] { ("node 0", _n0), ("node 1", _n1) })
            {
                var st = node.Stats;
                Console.WriteLine($"// DsmFault {name}: failure={node.Failure ?? "none"}, read faults {st.ReadFaults}, " +
                                  $"write faults {st.WriteFaults}, upgrades {st.Upgrades}, pages sent {st.PagesSent} " +
                                  $"(zstd {st.CompressedPagesSent}, zero {st.ZeroPagesSent}), fault latency mean " +
                                  $"{st.MeanFaultLatencyUs:0.0} us (read p99 {st.ReadWaits.P99Us:0.0} us, write p99 {st.WriteWaits.P99Us:0.0} us)");
                if (node.Failure is { } f) throw new InvalidOperationException($"DSM {name} failed: {f}");
            }
            if (_reads > 0)
                Console.WriteLine($"// DsmFault node 1 read fault alone (all phases): mean " +
                                  $"{_readTicks * 1e6 / Stopwatch.Frequency / _reads:0.00} us over {_reads} reads");
        }
        finally
        {
            _t0.Dispose();
            _t1.Dispose();
        }
    }

    /// <summary>
    /// Node 1 takes the page for writing from node 0, then node 0 takes it back: two remote write faults, each a
    /// 4 KiB page moved raw (FetchInvalidate to the owner, PageData to the writer, Ack to the home).
    /// </summary>
    [Benchmark(OperationsPerInvoke = 2)]
    public void WriteFaultPingPong() => PingPong();

    /// <summary><see cref="WriteFaultPingPong"/> with <see cref="DsmOptions.Compress"/> on: the page travels zstd-coded
    /// (what compress = "zstd" costs).</summary>
    [Benchmark(OperationsPerInvoke = 2)]
    public void WriteFaultPingPongZstd() => PingPong();

    private void PingPong()
    {
        _n1.Acquire(_page, write: true);
        _s1.Touch(_page); // the guest's store that took the fault
        _n0.Acquire(_page, write: true);
        _s0.Touch(_page);
    }

    /// <summary>
    /// Node 0 writes, then node 1 reads: one invocation is node 0's upgrade (after the first invocation both hold the
    /// page Shared: Invalidate to node 1, InvAck, Grant; no data) plus node 1's read fault (ReadReq, Forward to node 0,
    /// PageData to node 1, Ack). Node 1's read alone is printed at cleanup (timed around the call, all phases).
    /// </summary>
    [Benchmark]
    public void ReadFaultAfterInvalidate()
    {
        _n0.Acquire(_page, write: true);
        _s0.Touch(_page);
        long t = Stopwatch.GetTimestamp();
        _n1.Acquire(_page, write: false);
        _readTicks += Stopwatch.GetTimestamp() - t;
        _reads++;
    }

    /// <summary>Small integers, pointer-like values and zeros, as a heap page looks; zstd level 1 gets it to 1954 of 4096 bytes.</summary>
    private static byte[] HeapLikePage(int seed)
    {
        var rng = new Random(seed);
        var page = new byte[DsmNode.PageSize];
        for (int i = 0; i < page.Length; i += 8)
        {
            ulong v = (i / 8 % 4) switch
            {
                0 => (ulong)rng.Next(100_000),
                1 => 0x0000_ffff_a000_0000UL + (ulong)rng.Next(1 << 20) * 16,
                2 => (ulong)rng.NextInt64(),
                _ => 0UL,
            };
            BitConverter.TryWriteBytes(page.AsSpan(i), v);
        }
        return page;
    }

    private sealed class Handler(DsmNode node) : IMessageHandler
    {
        public void OnMessage(int from, ushort type, ReadOnlySpan<byte> body)
        {
            if (DsmNode.IsDsmMessage(type)) node.OnMessage(from, type, body);
            else node.Fail($"non-DSM message 0x{type:x} from node {from}");
        }

        public void OnNodeLost(int lost, string reason) => node.OnNodeLost(lost, reason);
    }
}
