using System.Buffers.Binary;

namespace Dqemu.Runtime.Loader;

/// <summary>The parts of an ELF64 little-endian file the loader needs, validated on parse.</summary>
public sealed class ElfFile
{
    public const ushort EmAarch64 = 183;
    public const ushort EtExec = 2, EtDyn = 3;
    public const uint PtLoad = 1, PtInterp = 3, PtPhdr = 6, PtTls = 7, PtGnuStack = 0x6474e551;
    public const uint PfX = 1, PfW = 2, PfR = 4;

    public readonly record struct ProgramHeader(uint Type, uint Flags, ulong Offset, ulong VAddr, ulong FileSize, ulong MemSize, ulong Align);

    public string Path { get; }
    /// <summary>The file's length in bytes.</summary>
    public long Length { get; }
    public ushort Type { get; }
    public ulong Entry { get; }
    public ulong PhOff { get; }
    public ushort PhEntSize { get; }
    public IReadOnlyList<ProgramHeader> ProgramHeaders { get; }
    public string? Interpreter { get; }

    // the file's first bytes (all of it when it is short or was parsed from memory): headers, program headers, interpreter
    private readonly byte[] _head;

    private ElfFile(string path, byte[] head, long length, ushort type, ulong entry, ulong phoff, ushort phentsize, List<ProgramHeader> phdrs, string? interp)
    {
        Path = path; _head = head; Length = length; Type = type; Entry = entry; PhOff = phoff; PhEntSize = phentsize;
        ProgramHeaders = phdrs; Interpreter = interp;
    }

    // enough for the headers of any ordinary executable; segments are read straight into guest memory
    private const int HeadBytes = 64 * 1024;

    /// <summary>Copies <paramref name="dst"/>.Length bytes of the file from <paramref name="offset"/> (validated by
    /// Parse to lie inside the file) into <paramref name="dst"/>: from the head read at load, or read from the file.</summary>
    public void Read(ulong offset, Span<byte> dst)
    {
        if (offset + (ulong)dst.Length <= (ulong)_head.Length)
        {
            _head.AsSpan((int)offset, dst.Length).CopyTo(dst);
            return;
        }
        try
        {
            using var h = File.OpenHandle(Path, FileMode.Open, FileAccess.Read);
            ReadFully(h, dst, (long)offset);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FatalException(ExitCodes.NoInput, $"{Path}: cannot read ({e.Message})");
        }
    }

    private static void ReadFully(Microsoft.Win32.SafeHandles.SafeFileHandle h, Span<byte> dst, long offset)
    {
        while (dst.Length > 0)
        {
            int n = RandomAccess.Read(h, dst, offset);
            if (n <= 0) throw new IOException("the file is shorter than when it was opened");
            dst = dst[n..];
            offset += n;
        }
    }

    // the headers Parse needs lie past the head read: read the whole file and parse again
    private sealed class NeedWholeFile : Exception { }

    public static ElfFile Load(string path)
    {
        try
        {
            if (Directory.Exists(path)) throw new FatalException(ExitCodes.NoInput, $"{path}: is a directory");
            using var h = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
            long length = RandomAccess.GetLength(h);
            var head = new byte[(int)Math.Min(length, HeadBytes)];
            ReadFully(h, head, 0);
            try { return Parse(path, head, length); }
            catch (NeedWholeFile)
            {
                var whole = new byte[length];
                ReadFully(h, whole, 0);
                return Parse(path, whole, length);
            }
        }
        catch (FileNotFoundException) { throw new FatalException(ExitCodes.NoInput, $"{path}: no such file"); }
        catch (DirectoryNotFoundException) { throw new FatalException(ExitCodes.NoInput, $"{path}: no such file"); }
        catch (UnauthorizedAccessException) { throw new FatalException(ExitCodes.NoInput, $"{path}: permission denied"); }
        catch (IOException e) { throw new FatalException(ExitCodes.NoInput, $"{path}: cannot read ({e.Message})"); }
    }

    public static ElfFile Parse(string path, byte[] d) => Parse(path, d, d.Length);

    /// <summary>Parses the headers in <paramref name="d"/>, the first bytes of a file of <paramref name="length"/> bytes.</summary>
    private static ElfFile Parse(string path, byte[] d, long length)
    {
        FatalException Bad(string why) => new(ExitCodes.BadElf, $"{path}: {why}");
        if (d.Length < 4 || d[0] != 0x7f || d[1] != 'E' || d[2] != 'L' || d[3] != 'F') throw Bad("not an ELF file");
        if (d.Length < 64) throw Bad("truncated ELF header");
        if (d[4] != 2) throw new FatalException(ExitCodes.WrongArch, $"{path}: not a 64-bit ELF (AArch64 needs ELFCLASS64)");
        if (d[5] != 1) throw new FatalException(ExitCodes.WrongArch, $"{path}: not a little-endian ELF");
        ushort type = U16(d, 16), machine = U16(d, 18);
        if (machine != EmAarch64) throw new FatalException(ExitCodes.WrongArch, $"{path}: ELF is for machine {machine} ({MachineName(machine)}), not AArch64");
        if (type != EtExec && type != EtDyn) throw Bad($"ELF type {type} is not an executable");
        ulong entry = U64(d, 24), phoff = U64(d, 32);
        ushort phentsize = U16(d, 54), phnum = U16(d, 56);
        if (phnum == 0) throw Bad("no program headers");
        if (phentsize < 56) throw Bad("bad program header size");
        if (phoff > (ulong)length || phoff + (ulong)phentsize * phnum > (ulong)length) throw Bad("truncated (program headers past end of file)");
        if (phoff + (ulong)phentsize * phnum > (ulong)d.Length) throw new NeedWholeFile();
        var phdrs = new List<ProgramHeader>();
        string? interp = null;
        for (int i = 0; i < phnum; i++)
        {
            int o = (int)phoff + i * phentsize;
            var ph = new ProgramHeader(U32(d, o), U32(d, o + 4), U64(d, o + 8), U64(d, o + 16), U64(d, o + 32), U64(d, o + 40), U64(d, o + 48));
            if (ph.Type == PtLoad || ph.Type == PtInterp)
            {
                if (ph.Offset > (ulong)length || ph.FileSize > (ulong)length - ph.Offset) throw Bad("truncated (segment past end of file)");
                if (ph.FileSize > ph.MemSize && ph.Type == PtLoad) throw Bad("segment file size exceeds memory size");
                if (ph.Type == PtLoad && ph.VAddr + ph.MemSize >= Memory.GuestSpace.MmapTop) throw Bad($"segment at 0x{ph.VAddr:x} lies outside the guest address space");
                if (ph.Type == PtLoad && ph.Align > 1 && (ph.VAddr - ph.Offset) % Math.Min(ph.Align, 4096) != 0) throw Bad("misaligned segment");
            }
            if (ph.Type == PtInterp)
            {
                if (ph.Offset + ph.FileSize > (ulong)d.Length) throw new NeedWholeFile();
                int len = (int)ph.FileSize;
                while (len > 0 && d[(int)ph.Offset + len - 1] == 0) len--;
                interp = System.Text.Encoding.UTF8.GetString(d, (int)ph.Offset, len);
            }
            phdrs.Add(ph);
        }
        if (!phdrs.Any(p => p.Type == PtLoad)) throw Bad("no loadable segments");
        return new ElfFile(path, d, length, type, entry, phoff, phentsize, phdrs, interp);
    }

    private static string MachineName(ushort m) => m switch
    {
        3 => "x86", 62 => "x86-64", 40 => "ARM", 8 => "MIPS", 243 => "RISC-V", 21 => "PowerPC64", 20 => "PowerPC", 22 => "s390",
        _ => "unknown",
    };

    private static ushort U16(byte[] d, int o) => BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(o));
    private static uint U32(byte[] d, int o) => BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(o));
    private static ulong U64(byte[] d, int o) => BinaryPrimitives.ReadUInt64LittleEndian(d.AsSpan(o));
}
