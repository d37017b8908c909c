using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Dqemu.Rdma;

namespace Dqemu.Bench;

/// <summary>
/// Round-trip latency between two transports on loopback in this process (TCP, or UCX over shared memory): node 0
/// sends a message, node 1's receiving thread echoes it, and the caller waits for the echo polling node 0's
/// transport as a faulting guest thread does (<see cref="TransportSpin"/>). A remote page fault costs at least one
/// such round trip (request small, reply a page).
/// </summary>
[Config(typeof(DsmFaultBenchmarks.ShortInProcess))]
public class TransportBenchmarks
{
    [Params("tcp", "ucx")]
    public string Transport { get; set; } = "tcp";

    private ITransport _a = null!, _b = null!;
    private readonly byte[] _small = new byte[16];
    private readonly byte[] _page = new byte[4096];
    private int _replies;

    private sealed class Echo(TransportBenchmarks owner) : IMessageHandler
    {
        public void OnMessage(int from, ushort type, ReadOnlySpan<byte> body) => owner._b.Send(from, type, body);
        public void OnNodeLost(int node, string reason) => Console.Error.WriteLine($"echo side lost {reason}");
    }

    private sealed class Reply(TransportBenchmarks owner) : IMessageHandler
    {
        public void OnMessage(int from, ushort type, ReadOnlySpan<byte> body) => Interlocked.Increment(ref owner._replies);
        public void OnNodeLost(int node, string reason) => Console.Error.WriteLine($"caller side lost {reason}");
    }

    [GlobalSetup]
    public void Setup()
    {
        var eps = new IPEndPoint[2];
        for (int i = 0; i < 2; i++)
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            eps[i] = (IPEndPoint)s.LocalEndPoint!;
        }
        ITransport Connect(int self) => Transport == "ucx"
            ? Dqemu.Rdma.Ucx.UcxTransport.Connect(eps, self, TimeSpan.FromSeconds(10), 42)
            : TcpTransport.Connect(eps, self, TimeSpan.FromSeconds(10), 42);
        var a = Task.Run(() => Connect(0));
        _b = Connect(1);
        _a = a.GetAwaiter().GetResult();
        _b.Start(new Echo(this));
        _a.Start(new Reply(this));
        new Random(1).NextBytes(_page);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _a.Dispose();
        _b.Dispose();
    }

    private void RoundTrip(ReadOnlySpan<byte> body)
    {
        int target = Volatile.Read(ref _replies) + 1;
        _a.Send(1, 1, body);
        var spin = new TransportSpin(_a);
        try
        {
            while (Volatile.Read(ref _replies) < target)
                if (!spin.Next()) Thread.Yield();
        }
        finally
        {
            spin.End();
        }
    }

    [Benchmark(Baseline = true)]
    public void RoundTripSmall() => RoundTrip(_small);

    [Benchmark]
    public void RoundTripPage() => RoundTrip(_page);
}

/// <summary>What PageCodec costs per 4 KiB page, both directions, for the three kinds of page.</summary>
[MemoryDiagnoser]
[Config(typeof(DsmFaultBenchmarks.ShortInProcess))]
public class PageCodecBenchmarks
{
    private PageCodec _codec = PageCodec.Shared;

    private readonly byte[] _page = new byte[4096];
    private readonly byte[] _wire = new byte[4096];
    private readonly byte[] _back = new byte[4096];
    private int _encodedLength;
    private PageEncoding _encoding;

    [Params("zero", "heap", "random")]
    public string Kind { get; set; } = "heap";

    /// <summary>zstd level: 1 is what the DSM uses (PageCodec.Shared); negative levels trade ratio for speed.</summary>
    [Params(1, -1, -5)]
    public int Level { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(5);
        if (Kind == "random") rng.NextBytes(_page);
        else if (Kind == "heap")
            for (int i = 0; i < _page.Length; i += 8)
                BitConverter.TryWriteBytes(_page.AsSpan(i), (i / 8 % 3) switch { 0 => (ulong)rng.Next(1000), 1 => 0x7f00_1000_0000UL + (ulong)i, _ => 0UL });
        _codec = Level == 1 ? PageCodec.Shared : new PageCodec(Level);
        _encodedLength = _codec.Encode(_page, _wire, out _encoding);
    }

    [Benchmark]
    public int Encode() => _codec.Encode(_page, _wire, out _);

    [Benchmark]
    public void Decode() => _codec.Decode(_encoding, _wire.AsSpan(0, _encodedLength), _back);
}
