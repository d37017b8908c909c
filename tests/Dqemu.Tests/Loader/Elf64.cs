using System.Buffers.Binary;

namespace Dqemu.Tests.Loader;

/// <summary>
/// Where the fields of an ELF64 header and program header lie (System V gABI), and reading and patching them in a
/// copy of a file: the loader tests build their bad images from real ones this way.
/// </summary>
internal static class Elf64
{
    public const int EhdrSize = 64, PhdrSize = 56;
    public const int EiClass = 4, EiData = 5, EiVersion = 6;
    public const int EType = 16, EMachine = 18, EVersion = 20, EEntry = 24, EPhoff = 32, EShoff = 40, EFlags = 48,
        EEhsize = 52, EPhentsize = 54, EPhnum = 56, EShentsize = 58, EShnum = 60, EShstrndx = 62;
    public const int PType = 0, PFlags = 4, POffset = 8, PVaddr = 16, PPaddr = 24, PFilesz = 32, PMemsz = 40, PAlign = 48;
    public const uint PtNull = 0, PtLoad = 1, PtDynamic = 2, PtInterp = 3, PtNote = 4, PtPhdr = 6, PtTls = 7;
    public const ushort EtExec = 2, EtDyn = 3;
    public const uint PfX = 1, PfW = 2, PfR = 4;

    /// <summary>(offset, width) of every ELF header field after e_ident, for the mutator.</summary>
    public static readonly (int Offset, int Width, string Name)[] HeaderFields =
    [
        (EType, 2, "e_type"), (EMachine, 2, "e_machine"), (EVersion, 4, "e_version"), (EEntry, 8, "e_entry"),
        (EPhoff, 8, "e_phoff"), (EShoff, 8, "e_shoff"), (EFlags, 4, "e_flags"), (EEhsize, 2, "e_ehsize"),
        (EPhentsize, 2, "e_phentsize"), (EPhnum, 2, "e_phnum"), (EShentsize, 2, "e_shentsize"), (EShnum, 2, "e_shnum"),
        (EShstrndx, 2, "e_shstrndx"),
    ];

    /// <summary>(offset within a program header, width) of its fields.</summary>
    public static readonly (int Offset, int Width, string Name)[] PhdrFields =
    [
        (PType, 4, "p_type"), (PFlags, 4, "p_flags"), (POffset, 8, "p_offset"), (PVaddr, 8, "p_vaddr"),
        (PPaddr, 8, "p_paddr"), (PFilesz, 8, "p_filesz"), (PMemsz, 8, "p_memsz"), (PAlign, 8, "p_align"),
    ];

    public static ulong Get(byte[] f, int offset, int width) => width switch
    {
        1 => f[offset],
        2 => BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(offset)),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(offset)),
        8 => BinaryPrimitives.ReadUInt64LittleEndian(f.AsSpan(offset)),
        _ => throw new ArgumentOutOfRangeException(nameof(width)),
    };

    /// <summary>Stores the low <paramref name="width"/> bytes of <paramref name="value"/>.</summary>
    public static void Set(byte[] f, int offset, int width, ulong value)
    {
        switch (width)
        {
            case 1: f[offset] = (byte)value; break;
            case 2: BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(offset), (ushort)value); break;
            case 4: BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(offset), (uint)value); break;
            case 8: BinaryPrimitives.WriteUInt64LittleEndian(f.AsSpan(offset), value); break;
            default: throw new ArgumentOutOfRangeException(nameof(width));
        }
    }

    public static int PhOff(byte[] f) => checked((int)Get(f, EPhoff, 8));
    public static int PhNum(byte[] f) => (int)Get(f, EPhnum, 2);
    /// <summary>The file offset of program header <paramref name="i"/> (of an unmutated file).</summary>
    public static int Phdr(byte[] f, int i) => PhOff(f) + i * PhdrSize;
    public static int HeadersEnd(byte[] f) => Phdr(f, PhNum(f));

    public readonly record struct Segment(int Index, uint Type, uint Flags, ulong Offset, ulong VAddr, ulong FileSize, ulong MemSize);

    /// <summary>The program headers of a file whose header is sound (an original, or a mutant the loader accepted).</summary>
    public static List<Segment> Segments(byte[] f)
    {
        var list = new List<Segment>();
        for (int i = 0; i < PhNum(f); i++)
        {
            int o = Phdr(f, i);
            list.Add(new Segment(i, (uint)Get(f, o + PType, 4), (uint)Get(f, o + PFlags, 4), Get(f, o + POffset, 8),
                Get(f, o + PVaddr, 8), Get(f, o + PFilesz, 8), Get(f, o + PMemsz, 8)));
        }
        return list;
    }

    /// <summary>The index of the first program header of <paramref name="type"/>.</summary>
    public static int IndexOf(byte[] f, uint type) => Segments(f).First(s => s.Type == type).Index;
}
