using System.Buffers.Binary;
using System.Text;

namespace Dqemu.Runtime.Loader;

/// <summary>
/// The function symbols of an ELF file (its .symtab, else its .dynsym: a stripped library still has the latter),
/// sorted by address for a binary search, for naming guest code (the perf map). Reading never refuses a file: a
/// missing, truncated or odd table gives fewer symbols, or none. Addresses are the file's own (unbiased).
/// </summary>
public sealed class ElfSymbols
{
    public static readonly ElfSymbols None = new([], [], []);

    private const uint ShtSymtab = 2, ShtDynsym = 11;
    private const int ShdrSize = 64, SymSize = 24;
    private const byte SttFunc = 2, SttGnuIfunc = 10;
    private const byte StbLocal = 0, StbGlobal = 1, StbWeak = 2;
    /// <summary>A table or string table larger than this is not read (libc's .dynsym is ~70 KiB).</summary>
    private const ulong MaxTableBytes = 64 << 20;

    private readonly ulong[] _start;
    private readonly ulong[] _end;
    private readonly string[] _name;

    private ElfSymbols(ulong[] start, ulong[] end, string[] name) { _start = start; _end = end; _name = name; }

    public int Count => _start.Length;

    /// <summary>
    /// The function containing <paramref name="address"/> and how far into it the address is, or false. A symbol
    /// of size 0 (hand-written assembly often has one) reaches the next symbol, as perf reads such symbols.
    /// </summary>
    public bool TryFind(ulong address, out string name, out ulong offset)
    {
        int lo = 0, hi = _start.Length - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (_start[mid] <= address) { found = mid; lo = mid + 1; } else hi = mid - 1;
        }
        if (found >= 0 && address < _end[found])
        {
            name = _name[found];
            offset = address - _start[found];
            return true;
        }
        name = "";
        offset = 0;
        return false;
    }

    /// <summary>The function symbols of <paramref name="elf"/>; <see cref="None"/> when it has no usable table.</summary>
    public static ElfSymbols Read(ElfFile elf)
    {
        try { return ReadTable(elf, ShtSymtab) ?? ReadTable(elf, ShtDynsym) ?? None; }
        catch (FatalException) { return None; } // the file cannot be read any more: no names, the run goes on
    }

    private static ElfSymbols? ReadTable(ElfFile elf, uint wanted)
    {
        ulong length = (ulong)elf.Length;
        if (elf.ShOff == 0 || elf.ShNum == 0 || elf.ShEntSize != ShdrSize) return null;
        ulong tableBytes = (ulong)elf.ShNum * ShdrSize;
        if (elf.ShOff > length || tableBytes > length - elf.ShOff) return null;
        var sh = new byte[tableBytes];
        elf.Read(elf.ShOff, sh);
        for (int i = 0; i < elf.ShNum; i++)
        {
            var s = sh.AsSpan(i * ShdrSize, ShdrSize);
            if (U32(s, 4) != wanted) continue;
            ulong off = U64(s, 24), size = U64(s, 32);
            uint link = U32(s, 40);
            if (link >= elf.ShNum) return null;
            var str = sh.AsSpan((int)link * ShdrSize, ShdrSize);
            ulong strOff = U64(str, 24), strSize = U64(str, 32);
            if (!Inside(off, size, length) || !Inside(strOff, strSize, length)) return null;
            var syms = new byte[size - size % SymSize];
            var strings = new byte[strSize];
            elf.Read(off, syms);
            elf.Read(strOff, strings);
            return Build(syms, strings);
        }
        return null;
    }

    private static bool Inside(ulong off, ulong size, ulong length) => size <= MaxTableBytes && off <= length && size <= length - off;

    private readonly record struct Sym(ulong Start, ulong Size, string Name, int Rank);

    /// <summary>
    /// Defined FUNC and IFUNC symbols by address. Of several at one address (aliases: puts and _IO_puts) the one a
    /// reader would look for is kept: fewest leading underscores, then global before weak before local, then the
    /// shortest name.
    /// </summary>
    private static ElfSymbols Build(byte[] syms, byte[] strings)
    {
        var list = new List<Sym>();
        for (int o = 0; o + SymSize <= syms.Length; o += SymSize)
        {
            var s = syms.AsSpan(o, SymSize);
            byte type = (byte)(s[4] & 15), bind = (byte)(s[4] >> 4);
            ushort shndx = BinaryPrimitives.ReadUInt16LittleEndian(s[6..]);
            ulong value = U64(s, 8), size = U64(s, 16);
            if ((type != SttFunc && type != SttGnuIfunc) || shndx == 0 || value == 0) continue;
            string name = NameAt(strings, U32(s, 0));
            if (name.Length == 0) continue;
            int underscores = 0;
            while (underscores < name.Length && name[underscores] == '_') underscores++;
            int bindRank = bind == StbGlobal ? 0 : bind == StbWeak ? 1 : bind == StbLocal ? 2 : 3;
            list.Add(new Sym(value, size, name, underscores * 4 + bindRank));
        }
        list.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start)
            : a.Rank != b.Rank ? a.Rank.CompareTo(b.Rank)
            : a.Name.Length != b.Name.Length ? a.Name.Length.CompareTo(b.Name.Length)
            : string.CompareOrdinal(a.Name, b.Name));
        var start = new List<ulong>(list.Count);
        var size0 = new List<ulong>(list.Count);
        var names = new List<string>(list.Count);
        foreach (var s in list)
        {
            if (start.Count > 0 && start[^1] == s.Start)
            {
                size0[^1] = Math.Max(size0[^1], s.Size); // an alias with a size gives the size-0 one its extent
                continue;
            }
            start.Add(s.Start);
            size0.Add(s.Size);
            names.Add(s.Name);
        }
        var end = new ulong[start.Count];
        for (int i = 0; i < end.Length; i++)
            end[i] = size0[i] != 0 ? start[i] + size0[i] : i + 1 < end.Length ? start[i + 1] : start[i] + 4;
        return new ElfSymbols(start.ToArray(), end, names.ToArray());
    }

    private static string NameAt(byte[] strings, uint at)
    {
        if (at >= strings.Length) return "";
        int n = Array.IndexOf(strings, (byte)0, (int)at);
        if (n < 0) n = strings.Length;
        return Encoding.UTF8.GetString(strings, (int)at, n - (int)at);
    }

    private static uint U32(ReadOnlySpan<byte> d, int o) => BinaryPrimitives.ReadUInt32LittleEndian(d[o..]);
    private static ulong U64(ReadOnlySpan<byte> d, int o) => BinaryPrimitives.ReadUInt64LittleEndian(d[o..]);
}
