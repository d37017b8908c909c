using System.Buffers.Binary;
using Dqemu.Dsm;

namespace Dqemu.Tests.Dsm;

/// <summary>
/// The guest memory of every node of an in-memory cluster: per node and page 4096 bytes and a protection state, and
/// at every <see cref="IPageStore.Protect"/> a check of the coherence invariant across nodes (one Modified copy and
/// nothing else, or any number of Shared copies). Violations are recorded, not thrown (Protect runs on delivery
/// threads); tests assert <see cref="Violations"/> is empty.
/// </summary>
public sealed class InMemoryMemory
{
    private readonly object _lock = new();
    private readonly Dictionary<(int Node, ulong Page), byte[]> _data = new();
    private readonly Dictionary<(int Node, ulong Page), PageState> _state = new();
    private readonly List<string> _violations = new();
    private readonly InMemoryPageStore[] _stores;

    public InMemoryMemory(int nodeCount)
    {
        NodeCount = nodeCount;
        _stores = new InMemoryPageStore[nodeCount];
        for (int i = 0; i < nodeCount; i++) _stores[i] = new InMemoryPageStore(this, i);
    }

    public int NodeCount { get; }
    public InMemoryPageStore this[int node] => _stores[node];
    public int ProtectCalls { get; private set; }

    public string[] Violations { get { lock (_lock) return _violations.ToArray(); } }

    /// <summary>The guest view's protection (node 0 starts with everything read/write, the others with nothing).</summary>
    public PageState StateOf(int node, ulong page)
    {
        lock (_lock) return StateLocked(node, page);
    }

    private PageState StateLocked(int node, ulong page) =>
        _state.TryGetValue((node, page), out var s) ? s : node == 0 ? PageState.Modified : PageState.Invalid;

    private byte[] DataLocked(int node, ulong page)
    {
        if (!_data.TryGetValue((node, page), out var d)) _data[(node, page)] = d = new byte[DsmNode.PageSize];
        return d;
    }

    internal void Protect(int node, ulong page, PageState state)
    {
        lock (_lock)
        {
            ProtectCalls++;
            _state[(node, page)] = state;
            int modified = 0, valid = 0;
            for (int n = 0; n < NodeCount; n++)
            {
                var s = StateLocked(n, page);
                if (s == PageState.Modified) modified++;
                if (s != PageState.Invalid) valid++;
            }
            if (modified > 1 || (modified == 1 && valid > 1))
            {
                var all = string.Join(", ", Enumerable.Range(0, NodeCount).Select(n => $"{n}:{StateLocked(n, page)}"));
                _violations.Add($"page 0x{page:x} after node {node} -> {state}: {all}");
            }
        }
    }

    /// <summary>Sets node's view of the page from the engine's state read under the same lock as the engine's own
    /// Protect calls (as ClusterMemory does for a prefetched page's first touch): a newer change always wins.</summary>
    public void Reprotect(int node, ulong page, Func<PageState> state)
    {
        lock (_lock) Protect(node, page, state());
    }

    internal void Read(int node, ulong page, Span<byte> dst)
    {
        lock (_lock) DataLocked(node, page).CopyTo(dst);
    }

    internal void Write(int node, ulong page, ReadOnlySpan<byte> src)
    {
        lock (_lock) src.CopyTo(DataLocked(node, page));
    }

    /// <summary>What a guest store would do: succeeds only while the guest view is writable (a real store would
    /// fault otherwise), atomically with respect to Protect.</summary>
    public bool TryIncrement(int node, ulong page, int offset)
    {
        lock (_lock)
        {
            if (StateLocked(node, page) != PageState.Modified) return false;
            var d = DataLocked(node, page);
            BinaryPrimitives.WriteUInt64LittleEndian(d.AsSpan(offset), BinaryPrimitives.ReadUInt64LittleEndian(d.AsSpan(offset)) + 1);
            return true;
        }
    }

    /// <summary>What a guest load would do: succeeds only while the guest view is readable.</summary>
    public bool TryRead(int node, ulong page, int offset, out ulong value)
    {
        lock (_lock)
        {
            value = 0;
            if (StateLocked(node, page) == PageState.Invalid) return false;
            value = BinaryPrimitives.ReadUInt64LittleEndian(DataLocked(node, page).AsSpan(offset));
            return true;
        }
    }

    /// <summary>Reads a node's copy whatever its state (the alias mapping).</summary>
    public byte[] Copy(int node, ulong page)
    {
        lock (_lock) return DataLocked(node, page).ToArray();
    }

    /// <summary>Whether a node's copy holds exactly <paramref name="expected"/> (the alias mapping, without a copy).</summary>
    public bool CopyEquals(int node, ulong page, ReadOnlySpan<byte> expected)
    {
        lock (_lock) return DataLocked(node, page).AsSpan().SequenceEqual(expected);
    }

    /// <summary>What managed code does through the alias mapping while it holds a write pin: adds one to the
    /// 64-bit word at <paramref name="offset"/> whatever the guest view allows.</summary>
    public ulong IncrementAlias(int node, ulong page, int offset)
    {
        lock (_lock)
        {
            var d = DataLocked(node, page).AsSpan(offset);
            ulong v = BinaryPrimitives.ReadUInt64LittleEndian(d) + 1;
            BinaryPrimitives.WriteUInt64LittleEndian(d, v);
            return v;
        }
    }

    /// <summary>Writes a node's copy whatever its state (to set up contents).</summary>
    public void Fill(int node, ulong page, ReadOnlySpan<byte> src)
    {
        lock (_lock) src.CopyTo(DataLocked(node, page));
    }
}

/// <summary>One node's <see cref="IPageStore"/> over <see cref="InMemoryMemory"/>.</summary>
public sealed class InMemoryPageStore(InMemoryMemory memory, int node) : IPageStore
{
    public void Protect(ulong page, PageState state) => memory.Protect(node, page, state);
    public void Read(ulong page, Span<byte> dst) => memory.Read(node, page, dst);
    public void Write(ulong page, ReadOnlySpan<byte> src) => memory.Write(node, page, src);
}
