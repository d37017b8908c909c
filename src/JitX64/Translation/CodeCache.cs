using Dqemu.JitX64.Host;
using Iced.Intel;

namespace Dqemu.JitX64.Translation;

/// <summary>
/// Executable memory for translated blocks and the map from guest PC to host code. Lookups are lock-free
/// (a concurrent dictionary); placing code takes a lock, so threads may translate while others run. The first
/// <see cref="StubRegion"/> bytes hold the fixed stubs (placed once, never moved); blocks fill the rest upwards until
/// <see cref="Translator"/> empties it (<see cref="ResetBlocks"/>, once no thread can be in a block any more).
/// </summary>
public sealed unsafe class CodeCache
{
    private readonly IHostMemory _host;
    private readonly byte* _base;
    private readonly ulong _size;
    /// <summary>The stubs' part of the cache: [0, StubRegion) (the stubs take about 20 KiB).</summary>
    public const ulong StubRegion = 256UL << 10;

    /// <summary>The smallest cache: the stubs' part and 256 KiB of blocks.</summary>
    public const ulong MinSize = StubRegion + (256UL << 10);
    private ulong _stubUsed;
    private ulong _used = StubRegion; // the blocks' cursor
    private ulong _committed;
    private readonly object _placeLock = new();
    private readonly BlockTable _blocks = new();
    private readonly BufferWriter _writer = new();

    public CodeCache(IHostMemory host, ulong size, ICodeListener? listener = null)
    {
        _host = host;
        _size = size;
        if (size < MinSize) throw new ArgumentOutOfRangeException(nameof(size), $"a code cache needs {MinSize >> 10} KiB at least");
        _base = (byte*)host.Reserve(size);
        Listener = listener;
    }

    /// <summary>Told of every stub placed with a name, and (by the <see cref="Translator"/>) of every block.</summary>
    public ICodeListener? Listener { get; }

    public nint Base => (nint)_base;
    public ulong Size => _size;
    /// <summary>Bytes in use: the stubs and the blocks placed since the last <see cref="ResetBlocks"/>.</summary>
    public ulong Used => _stubUsed + _used - StubRegion;
    /// <summary>Bytes still free for blocks.</summary>
    public ulong BlockRoom => _size - _used;
    /// <summary>The host address just past the code the last Place put down.</summary>
    public ulong LastEnd { get; private set; }
    /// <summary>How many times the blocks' part was emptied (<see cref="ResetBlocks"/>).</summary>
    public int Resets { get; private set; }
    public int BlockCount => _blocks.Count;

    /// <summary>Where the blocks' part begins: every block lies in [BlocksStart, Base + Size).</summary>
    public ulong BlocksStart => (ulong)_base + StubRegion;

    public bool Contains(ulong hostAddress) => hostAddress >= (ulong)_base && hostAddress < (ulong)_base + _size;

    public nint Lookup(ulong guestPc) => _blocks.Lookup(guestPc);

    internal void Publish(ulong guestPc, nint code) => _blocks.Set(guestPc, code);

    /// <summary>Forgets every translation (the code stays until memory is reused; callers must unlink).</summary>
    public void ForgetAll() => _blocks.Clear();

    /// <summary>Forgets the translation of <paramref name="guestPc"/> when it is <paramref name="code"/> (the code stays).</summary>
    public void Forget(ulong guestPc, nint code) => _blocks.Remove(guestPc, code);

    /// <summary>
    /// Empties the blocks' part: the next block goes to its start again. Only when no thread can be running, or about to
    /// run, a block placed before (<see cref="Translator"/> makes sure); the stubs stay.
    /// </summary>
    public void ResetBlocks()
    {
        lock (_placeLock)
        {
            _blocks.Clear();
            _used = StubRegion;
            Resets++;
        }
    }

    /// <summary>Assembles the stub <paramref name="asm"/> at the next free address of the stubs' part and returns that address.</summary>
    public ulong Place(Assembler asm) => Place(asm, default, default);

    /// <summary>As <see cref="Place(Assembler)"/> for a fixed stub: the <see cref="Listener"/> learns its name.</summary>
    public ulong Place(Assembler asm, string stubName)
    {
        lock (_placeLock)
        {
            ulong at = Place(asm, default, default);
            Listener?.StubPlaced(at, LastEnd - at, stubName);
            return at;
        }
    }

    /// <summary>As <see cref="Place(Assembler, ReadOnlySpan{int}, Span{uint})"/> for a stub (the stubs' part).</summary>
    public ulong Place(Assembler asm, ReadOnlySpan<int> indices, Span<uint> offsets) => Place(asm, indices, offsets, block: false);

    /// <summary>As <see cref="Place(Assembler, ReadOnlySpan{int}, Span{uint})"/> for a translated block (the blocks' part);
    /// <see cref="CodeCacheFullException"/> when it has no room left.</summary>
    public ulong PlaceBlock(Assembler asm, ReadOnlySpan<int> indices, Span<uint> offsets) => Place(asm, indices, offsets, block: true);

    /// <summary>Tells the <see cref="Listener"/> that [<paramref name="start"/>, <paramref name="end"/>) of code already
    /// placed is the stub <paramref name="name"/> (a list that holds several stubs, <see cref="JitStubs"/>).</summary>
    public void NameStub(ulong start, ulong end, string name) => Listener?.StubPlaced(start, end - start, name);

    /// <summary>
    /// Assembles <paramref name="asm"/> at the next free address and returns that address; offsets[k] becomes
    /// the offset of the instruction with index indices[k] in the Assembler's list (uint.MaxValue past its end).
    /// <see cref="LinearEncoder"/> lays the code out; a list it does not take goes through Iced's BlockEncoder
    /// (<see cref="SlowPlacements"/> counts those).
    /// </summary>
    private ulong Place(Assembler asm, ReadOnlySpan<int> indices, Span<uint> offsets, bool block)
    {
        lock (_placeLock)
        {
            ref ulong used = ref block ? ref _used : ref _stubUsed;
            ulong limit = block ? _size : StubRegion;
            ulong rip = (ulong)_base + used;
            var list = asm.Instructions;
            if (_linear.TryLayout(list, rip))
            {
                ulong end = Reserve(used, _linear.Length, limit);
                if (_linear.TryWrite(_base + used, rip))
                {
                    for (int k = 0; k < indices.Length; k++)
                        offsets[k] = indices[k] < list.Count ? _linear.OffsetOf(indices[k]) : uint.MaxValue;
                    used = end;
                    LastEnd = rip + (ulong)_linear.Length;
                    return rip;
                }
            }
            SlowPlacements++;
            _writer.Clear();
            var result = asm.Assemble(_writer, rip, BlockEncoderOptions.ReturnNewInstructionOffsets);
            var newOffsets = result.Result[0].NewInstructionOffsets;
            for (int k = 0; k < indices.Length; k++)
                offsets[k] = indices[k] < newOffsets.Length ? newOffsets[indices[k]] : uint.MaxValue;
            int len = _writer.Length;
            ulong slowEnd = Reserve(used, len, limit);
            _writer.CopyTo(new Span<byte>(_base + used, len));
            used = slowEnd;
            LastEnd = rip + (ulong)len;
            return rip;
        }
    }

    /// <summary>Lists placed through Iced's BlockEncoder because <see cref="LinearEncoder"/> did not take them.</summary>
    public int SlowPlacements { get; private set; }

    private readonly LinearEncoder _linear = new();

    /// <summary>Commits room for <paramref name="length"/> bytes at offset <paramref name="used"/>, below
    /// <paramref name="limit"/>; returns the next free offset after them.</summary>
    private ulong Reserve(ulong used, int length, ulong limit)
    {
        ulong end = (used + (ulong)length + 15) & ~15UL;
        if (end > limit) throw new CodeCacheFullException();
        EnsureCommitted(end);
        return end;
    }

    /// <summary>Commits [0, end) (the stubs' part is committed whole, with the first block) and has the pages up to
    /// <see cref="PopulateAhead"/> past it populated, so that code is written into pages already there: a python3 start
    /// writes 7 MiB of code, 1,700 page faults of ~10 µs each on these VMs when each page faults in on its first write.</summary>
    private void EnsureCommitted(ulong end)
    {
        end = Math.Max(end, StubRegion);
        if (end > _committed)
        {
            const ulong chunk = 4UL << 20;
            ulong newCommitted = Math.Min(_size, (end + chunk - 1) & ~(chunk - 1));
            _host.Commit((nint)(_base + _committed), newCommitted - _committed, HostProtection.All);
            _committed = newCommitted;
        }
        if (end + PopulateAhead / 2 > _populated)
        {
            ulong to = Math.Min(_committed, (end + PopulateAhead + 4095) & ~4095UL); // page aligned, as _populated is
            if (to > _populated)
            {
                _host.Populate((nint)(_base + _populated), to - _populated);
                _populated = to;
            }
        }
    }

    // a short stretch (a short run should not back pages it never writes), asked for again when half of it is used, so
    // that a host populating in the background (LinuxHostMemory) keeps ahead of the code written
    private const ulong PopulateAhead = 512 << 10;
    private ulong _populated;

    /// <summary>
    /// Points the "jmp rel32" or "jcc rel32" that ends at <paramref name="siteEnd"/> to <paramref name="target"/>. Skipped (and false)
    /// when the displacement straddles a cache line, where the 4-byte store would not be seen atomically
    /// by another core fetching it; that exit then keeps going through the dispatcher.
    /// </summary>
    public static bool Patch(ulong siteEnd, ulong target) => Patch(siteEnd, target, out _);

    /// <summary>As <see cref="Patch(ulong, ulong)"/>; <paramref name="before"/> is the displacement the site had
    /// (<see cref="Unpatch"/> puts it back).</summary>
    public static bool Patch(ulong siteEnd, ulong target, out int before)
    {
        // only the rel32 of a "jmp rel32" (E9) or a "jcc rel32" (0F 80-8F) ending at siteEnd is ever rewritten
        byte* end = (byte*)siteEnd;
        before = 0;
        if (end[-5] != 0xE9 && !(end[-6] == 0x0F && (end[-5] & 0xF0) == 0x80)) return false;
        ulong disp = siteEnd - 4;
        if ((disp & 63) > 60) return false;
        long rel = (long)target - (long)siteEnd;
        if (rel != (int)rel) return false;
        before = Volatile.Read(ref *(int*)disp);
        Volatile.Write(ref *(int*)disp, (int)rel);
        return true;
    }

    /// <summary>True when the rel32 ending at <paramref name="siteEnd"/> leads to <paramref name="target"/>.</summary>
    public static bool Reaches(ulong siteEnd, ulong target) =>
        (long)target - (long)siteEnd == Volatile.Read(ref *(int*)(siteEnd - 4));

    /// <summary>Gives a site <see cref="Patch(ulong, ulong, out int)"/> rewrote its displacement back (one atomic
    /// 4-byte store, as the patch was).</summary>
    public static void Unpatch(ulong siteEnd, int before) => Volatile.Write(ref *(int*)(siteEnd - 4), before);

    private sealed class BufferWriter : CodeWriter
    {
        private byte[] _buf = new byte[64 * 1024];
        public int Length { get; private set; }
        public void Clear() => Length = 0;
        public override void WriteByte(byte value)
        {
            if (Length == _buf.Length) Array.Resize(ref _buf, _buf.Length * 2);
            _buf[Length++] = value;
        }
        public void CopyTo(Span<byte> dst) => _buf.AsSpan(0, Length).CopyTo(dst);
    }
}

public sealed class CodeCacheFullException : Exception
{
    public CodeCacheFullException() : base("code cache full") { }
}
