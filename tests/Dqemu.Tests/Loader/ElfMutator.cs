namespace Dqemu.Tests.Loader;

/// <summary>One corrupted copy of an ELF file and what was done to it (for failure messages).</summary>
internal sealed record ElfMutant(int Number, string Description, byte[] Bytes);

/// <summary>
/// Corrupted copies of an ELF file, the same sequence for the same file and seed: a mutant gets one to three of
/// a field of the ELF header or of a program header set to a boundary value (0, 1, 2^32, 2^63, 2^64-1...), the
/// original plus or minus a little, or random bits; a byte of the headers changed; a program header retyped; the
/// user's probe that found issue 14's first defect (EI_VERSION and large p_offset, p_memsz, p_align and p_paddr
/// bytes in four program headers); and, last, a truncation (inside the headers, at or near a segment's end, or
/// anywhere).
/// </summary>
internal sealed class ElfMutator
{
    private static readonly ulong[] Boundaries =
    [
        0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0x1001, 0xffff, 0x10000, 0x7fff_ffff, 0x8000_0000,
        0xffff_ffff, 1UL << 32, (1UL << 32) + 1, 1UL << 39, (1UL << 40) - 0x1000, 1UL << 40, 0xfe_0000_0000, 0xff_ff00_0000,
        1UL << 47, 1UL << 48, (1UL << 63) - 1, 1UL << 63, ulong.MaxValue - 0xfff, ulong.MaxValue - 1, ulong.MaxValue,
    ];

    private static readonly uint[] Types =
        [Elf64.PtNull, Elf64.PtLoad, Elf64.PtDynamic, Elf64.PtInterp, Elf64.PtNote, Elf64.PtPhdr, Elf64.PtTls, 0x6474e551, 0x6474e552, 0xffff_ffff];

    private readonly byte[] _original;
    private readonly Random _random;
    private readonly int _phoff, _phnum, _headersEnd;
    private int _count;

    public ElfMutator(byte[] original, int seed)
    {
        _original = original;
        _random = new Random(seed);
        _phoff = Elf64.PhOff(original);
        _phnum = Elf64.PhNum(original);
        _headersEnd = Elf64.HeadersEnd(original);
    }

    public ElfMutant Next()
    {
        var bytes = (byte[])_original.Clone();
        var what = new List<string>();
        int edits = _random.Next(10) switch { < 6 => 1, < 9 => 2, _ => 3 };
        for (int i = 0; i < edits; i++) what.Add(Edit(bytes));
        if (_random.Next(5) == 0) bytes = Truncate(bytes, what);
        return new ElfMutant(++_count, string.Join("; ", what), bytes);
    }

    private string Edit(byte[] b)
    {
        switch (_random.Next(20))
        {
            case < 8: // a program header field
            {
                int i = _random.Next(_phnum);
                var (off, width, name) = Elf64.PhdrFields[_random.Next(Elf64.PhdrFields.Length)];
                ulong v = Value(Elf64.Get(b, _phoff + i * Elf64.PhdrSize + off, width), width);
                Elf64.Set(b, _phoff + i * Elf64.PhdrSize + off, width, v);
                return $"phdr[{i}].{name} = 0x{v:x}";
            }
            case < 12: // an ELF header field
            {
                var (off, width, name) = Elf64.HeaderFields[_random.Next(Elf64.HeaderFields.Length)];
                ulong v = Value(Elf64.Get(b, off, width), width);
                Elf64.Set(b, off, width, v);
                return $"{name} = 0x{v:x}";
            }
            case < 16: // any byte of the headers
            {
                int at = _random.Next(_headersEnd);
                byte v = _random.Next(2) == 0 ? (byte)(b[at] ^ (1 << _random.Next(8))) : (byte)_random.Next(256);
                b[at] = v;
                return $"byte 0x{at:x} = 0x{v:x2}";
            }
            case < 18: // a retyped program header
            {
                int i = _random.Next(_phnum);
                uint t = Types[_random.Next(Types.Length)];
                Elf64.Set(b, _phoff + i * Elf64.PhdrSize + Elf64.PType, 4, t);
                return $"phdr[{i}].p_type = 0x{t:x}";
            }
            default: // the probe of issue 14's first defect: EI_VERSION (half the time), then one byte of four fields of four headers
            {
                if (_random.Next(2) == 0) b[Elf64.EiVersion] = (byte)_random.Next(256);
                int first = _random.Next(Math.Max(1, _phnum - 3));
                for (int i = first; i < Math.Min(_phnum, first + 4); i++)
                    foreach (int field in new[] { Elf64.POffset, Elf64.PMemsz, Elf64.PAlign, Elf64.PPaddr })
                        b[_phoff + i * Elf64.PhdrSize + field + 2 + _random.Next(6)] = (byte)(0x40 + _random.Next(0xc0));
                return $"EI_VERSION = {b[Elf64.EiVersion]}, large p_offset/p_memsz/p_align/p_paddr bytes in phdr[{first}..]";
            }
        }
    }

    /// <summary>A new value for a field of <paramref name="width"/> bytes that held <paramref name="old"/>.</summary>
    private ulong Value(ulong old, int width)
    {
        ulong mask = width == 8 ? ulong.MaxValue : (1UL << (8 * width)) - 1;
        ulong v = _random.Next(4) switch
        {
            0 or 1 => Boundaries[_random.Next(Boundaries.Length)],
            2 => old + (ulong)(_random.Next(-4, 5) * (_random.Next(2) == 0 ? 1 : 0x1000)),
            _ => (ulong)_random.NextInt64() ^ ((ulong)_random.Next(2) << 63),
        };
        return v & mask;
    }

    private byte[] Truncate(byte[] b, List<string> what)
    {
        int length = _random.Next(3) switch
        {
            0 => _random.Next(_headersEnd + 1),
            1 => SegmentEnd() + _random.Next(-2, 3),
            _ => _random.Next(b.Length),
        };
        length = Math.Clamp(length, 0, b.Length);
        what.Add($"cut to {length} bytes");
        return b[..length];
    }

    // the end of a PT_LOAD's file bytes in the original
    private int SegmentEnd()
    {
        var loads = Elf64.Segments(_original).Where(s => s.Type == Elf64.PtLoad).ToList();
        var s = loads[_random.Next(loads.Count)];
        return (int)(s.Offset + s.FileSize);
    }
}
