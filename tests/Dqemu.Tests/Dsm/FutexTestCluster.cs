using Dqemu.Dsm;
using Dqemu.Rdma;

namespace Dqemu.Tests.Dsm;

/// <summary>
/// Guest memory for futex tests: one array of 32-bit words shared by every node (the coherence the DSM would provide
/// is the host's own), at guest addresses <see cref="Base"/> + 4 i. Reads outside the array fail (EFAULT).
/// <see cref="For"/> gives each node a view that counts its reads.
/// </summary>
public sealed class SharedWords
{
    public const ulong Base = 0x4_0000;

    private readonly long[] _reads;

    public SharedWords(int count, int nodeCount)
    {
        Words = new uint[count];
        _reads = new long[nodeCount];
    }

    public uint[] Words { get; }

    public ulong Addr(int index) => Base + (ulong)index * 4;

    public ref uint this[int index] => ref Words[index];

    /// <summary>Runs at the start of every read (node, address): tests block here to act while a waiter reads.</summary>
    public Action<int, ulong>? BeforeRead { get; set; }

    /// <summary>TryReadWord calls node <paramref name="node"/> made so far.</summary>
    public long ReadsBy(int node) => Interlocked.Read(ref _reads[node]);

    public IFutexMemory For(int node) => new View(this, node);

    private sealed class View(SharedWords m, int node) : IFutexMemory
    {
        public bool TryReadWord(ulong addr, out uint value)
        {
            Interlocked.Increment(ref m._reads[node]);
            m.BeforeRead?.Invoke(node, addr);
            value = 0;
            if (addr < Base || (addr & 3) != 0) return false;
            ulong i = (addr - Base) / 4;
            if (i >= (ulong)m.Words.Length) return false;
            value = Volatile.Read(ref m.Words[i]);
            return true;
        }
    }
}

/// <summary>N futex engines over an <see cref="InMemoryNetwork"/> and one <see cref="SharedWords"/>.</summary>
public sealed class FutexTestCluster : IDisposable
{
    public FutexTestCluster(int nodeCount, int words = 64, int jitterSeed = -1, TimeSpan? rpcTimeout = null, int keepIdle = 0,
        bool pollable = false)
    {
        Net = new InMemoryNetwork(nodeCount, jitterSeed, pollable);
        Memory = new SharedWords(words, nodeCount);
        Nodes = new FutexEngine[nodeCount];
        for (int i = 0; i < nodeCount; i++)
            Nodes[i] = new FutexEngine(i, nodeCount, Net[i], Memory.For(i), rpcTimeout ?? TimeSpan.FromSeconds(10), keepIdle);
        for (int i = 0; i < nodeCount; i++) Net[i].Start(new Handler(Nodes[i]));
    }

    public InMemoryNetwork Net { get; }
    public SharedWords Memory { get; }
    public FutexEngine[] Nodes { get; }
    public FutexEngine this[int node] => Nodes[node];

    /// <summary>Messages sent so far, optionally only of the given types.</summary>
    public LoggedMessage[] Sent(params ushort[] types) =>
        Net.Sent.Where(m => types.Length == 0 || types.Contains(m.Type)).ToArray();

    /// <summary>
    /// Retires every registration kept idle (a wake from node 0 for each word reaches every registered node as a
    /// WakeLocal that finds no waiter), waits for the network to settle, and returns node 0's table size.
    /// </summary>
    public int RetireKeptRegistrations()
    {
        for (int i = 0; i < Memory.Words.Length; i++) Nodes[0].Wake(Memory.Addr(i), int.MaxValue, uint.MaxValue);
        Net.WaitIdle();
        return Nodes[0].GlobalEntries;
    }

    /// <summary>No engine failed and no handler threw.</summary>
    public void AssertHealthy()
    {
        for (int i = 0; i < Nodes.Length; i++)
        {
            Xunit.Assert.Null(Nodes[i].Failure);
            Xunit.Assert.Null(Net[i].HandlerException);
        }
    }

    public void Dispose()
    {
        // Release any thread a failed test left waiting, then stop the delivery threads.
        foreach (var n in Nodes) n.Fail("test cluster disposed");
        for (int i = 0; i < Nodes.Length; i++) Net.Release(i);
        Net.Dispose();
    }

    private sealed class Handler(FutexEngine engine) : IMessageHandler
    {
        public void OnMessage(int from, ushort type, ReadOnlySpan<byte> body)
        {
            if (!FutexEngine.IsFutexMessage(type)) throw new InvalidOperationException($"non-futex message 0x{type:x}");
            engine.OnMessage(from, type, body);
        }

        public void OnNodeLost(int lost, string reason) => engine.OnNodeLost(lost, reason);
    }
}
