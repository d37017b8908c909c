using System.Collections.Concurrent;
using Dqemu.JitX64.Host;
using Iced.Intel;

namespace Dqemu.JitX64.Translation;

/// <summary>
/// Executable memory for translated blocks and the map from guest PC to host code. Lookups are lock-free
/// (a concurrent dictionary); placing code takes a lock, so threads may translate while others run.
/// </summary>
public sealed unsafe class CodeCache
{
    private readonly IHostMemory _host;
    private readonly byte* _base;
    private readonly ulong _size;
    private ulong _used;
    private ulong _committed;
    private readonly object _placeLock = new();
    private readonly ConcurrentDictionary<ulong, nint> _blocks = new();
    private readonly BufferWriter _writer = new();

    public CodeCache(IHostMemory host, ulong size, ICodeListener? listener = null)
    {
        _host = host;
        _size = size;
        _base = (byte*)host.Reserve(size);
        Listener = listener;
    }

    /// <summary>Told of every stub placed with a name, and (by the <see cref="Translator"/>) of every block.</summary>
    public ICodeListener? Listener { get; }

    public nint Base => (nint)_base;
    public ulong Size => _size;
    public ulong Used => _used;
    public int BlockCount => _blocks.Count;

    public bool Contains(ulong hostAddress) => hostAddress >= (ulong)_base && hostAddress < (ulong)_base + _size;

    public nint Lookup(ulong guestPc) => _blocks.TryGetValue(guestPc, out var p) ? p : 0;

    internal void Publish(ulong guestPc, nint code) => _blocks[guestPc] = code;

    /// <summary>Forgets every translation (the code stays until memory is reused; callers must unlink).</summary>
    public void ForgetAll() => _blocks.Clear();

    /// <summary>Assembles <paramref name="asm"/> at the next free address and returns that address.</summary>
    public ulong Place(Assembler asm) => Place(asm, default, default);

    /// <summary>As <see cref="Place(Assembler)"/> for a fixed stub: the <see cref="Listener"/> learns its name.</summary>
    public ulong Place(Assembler asm, string stubName)
    {
        lock (_placeLock)
        {
            ulong at = Place(asm, default, default);
            Listener?.StubPlaced(at, (ulong)_base + _used - at, stubName);
            return at;
        }
    }

    /// <summary>Tells the <see cref="Listener"/> that [<paramref name="start"/>, <paramref name="end"/>) of code already
    /// placed is the stub <paramref name="name"/> (a list that holds several stubs, <see cref="JitStubs"/>).</summary>
    public void NameStub(ulong start, ulong end, string name) => Listener?.StubPlaced(start, end - start, name);

    /// <summary>
    /// Assembles <paramref name="asm"/> at the next free address and returns that address; offsets[k] becomes
    /// the offset of the instruction with index indices[k] in the Assembler's list (uint.MaxValue past its end).
    /// <see cref="LinearEncoder"/> lays the code out; a list it does not take goes through Iced's BlockEncoder
    /// (<see cref="SlowPlacements"/> counts those).
    /// </summary>
    public ulong Place(Assembler asm, ReadOnlySpan<int> indices, Span<uint> offsets)
    {
        lock (_placeLock)
        {
            ulong rip = (ulong)_base + _used;
            var list = asm.Instructions;
            if (_linear.TryLayout(list))
            {
                ulong end = Reserve(_linear.Length);
                if (_linear.TryWrite(_base + _used, rip))
                {
                    for (int k = 0; k < indices.Length; k++)
                        offsets[k] = indices[k] < list.Count ? _linear.OffsetOf(indices[k]) : uint.MaxValue;
                    _used = end;
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
            ulong slowEnd = Reserve(len);
            _writer.CopyTo(new Span<byte>(_base + _used, len));
            _used = slowEnd;
            return rip;
        }
    }

    /// <summary>Lists placed through Iced's BlockEncoder because <see cref="LinearEncoder"/> did not take them.</summary>
    public int SlowPlacements { get; private set; }

    private readonly LinearEncoder _linear = new();

    /// <summary>Commits room for <paramref name="length"/> bytes at the free address; returns the next free address after them.</summary>
    private ulong Reserve(int length)
    {
        ulong end = (_used + (ulong)length + 15) & ~15UL;
        if (end > _size) throw new CodeCacheFullException();
        EnsureCommitted(end);
        return end;
    }

    private void EnsureCommitted(ulong end)
    {
        if (end <= _committed) return;
        const ulong chunk = 4UL << 20;
        ulong newCommitted = Math.Min(_size, (end + chunk - 1) & ~(chunk - 1));
        _host.Commit((nint)(_base + _committed), newCommitted - _committed, HostProtection.All);
        _committed = newCommitted;
    }

    /// <summary>
    /// Points the "jmp rel32" or "jcc rel32" that ends at <paramref name="siteEnd"/> to <paramref name="target"/>. Skipped (and false)
    /// when the displacement straddles a cache line, where the 4-byte store would not be seen atomically
    /// by another core fetching it; that exit then keeps going through the dispatcher.
    /// </summary>
    public static bool Patch(ulong siteEnd, ulong target)
    {
        // only the rel32 of a "jmp rel32" (E9) or a "jcc rel32" (0F 80-8F) ending at siteEnd is ever rewritten
        byte* end = (byte*)siteEnd;
        if (end[-5] != 0xE9 && !(end[-6] == 0x0F && (end[-5] & 0xF0) == 0x80)) return false;
        ulong disp = siteEnd - 4;
        if ((disp & 63) > 60) return false;
        long rel = (long)target - (long)siteEnd;
        if (rel != (int)rel) return false;
        Volatile.Write(ref *(int*)disp, (int)rel);
        return true;
    }

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
