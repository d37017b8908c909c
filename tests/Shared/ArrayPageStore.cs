using Dqemu.Dsm;

namespace Dqemu.Testing;

/// <summary>
/// One node's guest memory for pages [0, pages) as the engines see it: one array, and the protection the engine last
/// set, recorded (not enforced) so that a stand-in for the guest can check it. Shared by the heap audit's in-process
/// cluster and the DSM fault benchmarks (linked into bench/Dqemu.Bench).
/// </summary>
public sealed class ArrayPageStore(int pages, PageState initial) : IPageStore
{
    private readonly byte[] _data = new byte[pages * DsmNode.PageSize];
    private readonly int[] _state = Enumerable.Repeat((int)initial, pages).ToArray();

    private Span<byte> PageSpan(ulong page) => _data.AsSpan(checked((int)page * DsmNode.PageSize), DsmNode.PageSize);

    public void Protect(ulong page, PageState state) => Volatile.Write(ref _state[checked((int)page)], (int)state);
    public void Read(ulong page, Span<byte> dst) => PageSpan(page).CopyTo(dst);
    public void Write(ulong page, ReadOnlySpan<byte> src) => src.CopyTo(PageSpan(page));

    /// <summary>Sets a page's contents whatever its protection (the set-up, not a guest store).</summary>
    public void Fill(ulong page, ReadOnlySpan<byte> src) => src.CopyTo(PageSpan(page));

    /// <summary>The guest's store after its write fault: increments the page's first word, which must be writable now.</summary>
    public ulong Touch(ulong page)
    {
        if (Volatile.Read(ref _state[checked((int)page)]) != (int)PageState.Modified)
            throw new InvalidOperationException($"page 0x{page:x} is not writable after a write fault");
        var word = PageSpan(page)[..8];
        ulong v = BitConverter.ToUInt64(word) + 1;
        BitConverter.TryWriteBytes(word, v);
        return v;
    }

    /// <summary>The guest's load after a read fault: the page's first word, which must be readable now.</summary>
    public ulong Load(ulong page)
    {
        if (Volatile.Read(ref _state[checked((int)page)]) < (int)PageState.Shared)
            throw new InvalidOperationException($"page 0x{page:x} is not readable after a read fault");
        return BitConverter.ToUInt64(PageSpan(page)[..8]);
    }
}
