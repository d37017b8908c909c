using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Dqemu.Runtime.Loader;

/// <summary>
/// The parts of an ELF64 little-endian file the loader needs, validated on parse. A file is refused (status 65,
/// 67 for another class or machine) when either reference refuses it:
/// qemu-aarch64 checks e_ident (class, data, EI_VERSION = EV_CURRENT), e_machine, e_ehsize = 64 and
/// e_phentsize = 56; Linux's binfmt_elf checks the program header table (at most 64 KiB, inside the file),
/// p_filesz &lt;= p_memsz, a PT_INTERP of 2..PATH_MAX bytes ending in NUL, and (by mapping it) a PT_LOAD's file
/// offset congruent to its address modulo the page size. Both ignore p_align and p_paddr, and so does this.
/// What a segment's address must satisfy depends on where it is loaded: <see cref="ImageLoader"/> checks that.
/// </summary>
public sealed class ElfFile
{
    public const ushort EmAarch64 = 183;
    public const ushort EtExec = 2, EtDyn = 3;
    public const uint PtLoad = 1, PtInterp = 3, PtPhdr = 6, PtTls = 7, PtGnuStack = 0x6474e551;
    public const uint PfX = 1, PfW = 2, PfR = 4;
    public const int EhdrSize = 64, PhdrSize = 56;
    /// <summary>Linux refuses a larger program header table (load_elf_phdrs).</summary>
    public const int MaxPhdrTableBytes = 65536;
    /// <summary>Linux's PATH_MAX: the longest PT_INTERP it accepts, NUL included.</summary>
    public const int PathMax = 4096;

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
    /// <summary>e_shoff, e_shentsize, e_shnum, e_shstrndx as the file gives them, unchecked: loading never needs the
    /// section headers; <see cref="ElfSymbols"/> checks them before use.</summary>
    public ulong ShOff { get; private init; }
    public ushort ShEntSize { get; private init; }
    public ushort ShNum { get; private init; }
    /// <summary>Read from a file on disk (<see cref="Load"/>), whose pages the loader may map, not parsed from memory.</summary>
    public bool OnDisk { get; private set; }

    // the file's first bytes (all of it when it is short or was parsed from memory)
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
            using var h = RegularFile.Open(Path);
            ReadFully(h, dst, (long)offset);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FatalException(ExitCodes.NoInput, $"{Path}: cannot read ({e.Message})");
        }
    }

    private static void ReadFully(SafeFileHandle h, Span<byte> dst, long offset)
    {
        while (dst.Length > 0)
        {
            int n = RandomAccess.Read(h, dst, offset);
            if (n <= 0) throw new IOException("the file is shorter than when it was opened");
            dst = dst[n..];
            offset += n;
        }
    }

    /// <summary>Reads and validates the headers of the ELF file at <paramref name="path"/> (a regular file: see
    /// <see cref="RegularFile.Open"/>); reads no more than the headers need.</summary>
    public static ElfFile Load(string path)
    {
        using var h = RegularFile.Open(path);
        try
        {
            long length = RandomAccess.GetLength(h);
            var head = new byte[(int)Math.Min(length, HeadBytes)];
            ReadFully(h, head, 0);
            var elf = Parse(path, head, length, (offset, dst) => ReadFully(h, dst, offset));
            elf.OnDisk = true;
            return elf;
        }
        catch (IOException e) { throw new FatalException(ExitCodes.NoInput, $"{path}: cannot read ({e.Message})"); }
    }

    /// <summary>Parses a whole file held in memory (<paramref name="path"/> only names it in messages).</summary>
    public static ElfFile Parse(string path, byte[] d) => Parse(path, d, d.Length, null);

    /// <summary>
    /// Parses the headers of a file of <paramref name="length"/> bytes whose first bytes are <paramref name="head"/>;
    /// <paramref name="readMore"/> reads parts past them (every read is first checked to lie inside the file).
    /// </summary>
    private static ElfFile Parse(string path, byte[] head, long length, Action<long, Span<byte>>? readMore)
    {
        FatalException Bad(string why) => new(ExitCodes.BadElf, $"{path}: {why}");
        ulong fileLength = (ulong)length;
        // bytes [offset, offset+count) of the file; the caller has checked they lie inside it
        byte[] Bytes(ulong offset, int count)
        {
            var b = new byte[count];
            if (offset + (ulong)count <= (ulong)head.Length) head.AsSpan((int)offset, count).CopyTo(b);
            else readMore!((long)offset, b);
            return b;
        }

        var d = head;
        if (d.Length < 4 || d[0] != 0x7f || d[1] != 'E' || d[2] != 'L' || d[3] != 'F') throw Bad("not an ELF file");
        if (d.Length < EhdrSize) throw Bad("truncated ELF header");
        if (d[4] != 2) throw new FatalException(ExitCodes.WrongArch, $"{path}: not a 64-bit ELF (AArch64 needs ELFCLASS64)");
        if (d[5] != 1) throw new FatalException(ExitCodes.WrongArch, $"{path}: not a little-endian ELF");
        if (d[6] != 1) throw Bad($"ELF version {d[6]} is not EV_CURRENT (1)");
        ushort type = U16(d, 16), machine = U16(d, 18);
        if (machine != EmAarch64) throw new FatalException(ExitCodes.WrongArch, $"{path}: ELF is for machine {machine} ({MachineName(machine)}), not AArch64");
        if (type != EtExec && type != EtDyn) throw Bad($"ELF type {type} is not an executable");
        ulong entry = U64(d, 24), phoff = U64(d, 32);
        ushort ehsize = U16(d, 52), phentsize = U16(d, 54), phnum = U16(d, 56);
        if (ehsize != EhdrSize) throw Bad($"ELF header size {ehsize} is not {EhdrSize}");
        if (phentsize != PhdrSize) throw Bad($"program header size {phentsize} is not {PhdrSize}");
        if (phnum == 0) throw Bad("no program headers");
        int tableBytes = phnum * PhdrSize;
        if (tableBytes > MaxPhdrTableBytes) throw Bad($"{phnum} program headers: more than {MaxPhdrTableBytes} bytes of them");
        if (phoff > fileLength || (ulong)tableBytes > fileLength - phoff) throw Bad("truncated (program headers past end of file)");

        var table = Bytes(phoff, tableBytes);
        var phdrs = new List<ProgramHeader>(phnum);
        string? interp = null;
        for (int i = 0; i < phnum; i++)
        {
            int o = i * PhdrSize;
            var ph = new ProgramHeader(U32(table, o), U32(table, o + 4), U64(table, o + 8), U64(table, o + 16), U64(table, o + 32), U64(table, o + 40), U64(table, o + 48));
            string Which() => $"program header {i} ({(ph.Type == PtLoad ? "PT_LOAD" : "PT_INTERP")})";
            if (ph.Type == PtLoad)
            {
                if (ph.FileSize > ph.MemSize) throw Bad($"{Which()}: file size 0x{ph.FileSize:x} exceeds memory size 0x{ph.MemSize:x}");
                if (ph.Offset > fileLength || ph.FileSize > fileLength - ph.Offset) throw Bad($"truncated ({Which()} past end of file)");
                // the address range itself (where the segment goes) is ImageLoader's to check; here only that it
                // is a range at all: past the top of a 64-bit address space it wraps
                if (ph.VAddr > MaxEnd || ph.MemSize > MaxEnd - ph.VAddr) throw Bad($"{Which()}: 0x{ph.VAddr:x} + 0x{ph.MemSize:x} wraps around the address space");
                // Linux and qemu mmap the file there, which needs the same offset within a page
                if (ph.FileSize != 0 && ph.Offset % PageSize != ph.VAddr % PageSize)
                    throw Bad($"{Which()}: file offset 0x{ph.Offset:x} and address 0x{ph.VAddr:x} differ within a page");
            }
            else if (ph.Type == PtInterp && interp == null) // Linux uses the first PT_INTERP
            {
                if (ph.FileSize < 2 || ph.FileSize > PathMax) throw Bad($"{Which()}: {ph.FileSize} bytes is not a path (2 to {PathMax})");
                if (ph.Offset > fileLength || ph.FileSize > fileLength - ph.Offset) throw Bad($"truncated ({Which()} past end of file)");
                var name = Bytes(ph.Offset, (int)ph.FileSize);
                if (name[^1] != 0) throw Bad($"{Which()}: the path does not end in NUL");
                interp = System.Text.Encoding.UTF8.GetString(name, 0, Array.IndexOf(name, (byte)0));
            }
            phdrs.Add(ph);
        }
        if (!phdrs.Any(p => p.Type == PtLoad)) throw Bad("no loadable segments");
        return new ElfFile(path, head, length, type, entry, phoff, phentsize, phdrs, interp)
        {
            ShOff = U64(d, 40), ShEntSize = U16(d, 58), ShNum = U16(d, 60),
        };
    }

    private const ulong PageSize = Memory.GuestSpace.PageSize;
    // the highest end a segment may have: its pages are mapped whole, and rounding up a higher end overflows
    private const ulong MaxEnd = ulong.MaxValue & ~(PageSize - 1);

    private static string MachineName(ushort m) => m switch
    {
        3 => "x86", 62 => "x86-64", 40 => "ARM", 8 => "MIPS", 243 => "RISC-V", 21 => "PowerPC64", 20 => "PowerPC", 22 => "s390",
        _ => "unknown",
    };

    private static ushort U16(byte[] d, int o) => BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(o));
    private static uint U32(byte[] d, int o) => BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(o));
    private static ulong U64(byte[] d, int o) => BinaryPrimitives.ReadUInt64LittleEndian(d.AsSpan(o));
}
