using Dqemu.Runtime.Loader;

namespace Dqemu.Runtime.Profiling;

/// <summary>
/// The ELF images in the guest's memory (the executable, its dynamic linker, the libraries the linker maps) with
/// their symbols, for naming guest code addresses. Names are looked up at translation time only: a sorted array of
/// images and a binary search in the image's symbols, no lock. Images are added by the loader and by the mmap syscall
/// (a PROT_EXEC mapping of a file that is an AArch64 ELF); a later image replaces those it overlaps, and munmap of
/// a whole image forgets it.
/// </summary>
public sealed class GuestModules
{
    /// <summary>One image: guest range [Start, End) of its executable mapping; guest address = file address + Bias.</summary>
    private sealed record Image(ulong Start, ulong End, ulong Bias, string Name, ElfSymbols Symbols);

    private readonly object _lock = new();
    private volatile Image[] _images = [];
    /// <summary>Symbols by host path: a library mapped again (dlopen after dlclose) is read once. Under _lock.</summary>
    private readonly Dictionary<string, ElfSymbols> _byPath = new();

    /// <summary>An image <see cref="ImageLoader"/> placed (the executable, its dynamic linker) with
    /// <paramref name="bias"/>: all of its pages.</summary>
    public void AddImage(ElfFile elf, ulong bias)
    {
        var loads = elf.ProgramHeaders.Where(p => p.Type == ElfFile.PtLoad).ToList();
        ulong lo = loads.Min(p => Memory.GuestSpace.PageDown(p.VAddr)), hi = loads.Max(p => Memory.GuestSpace.PageUp(p.VAddr + p.MemSize));
        ElfSymbols symbols;
        lock (_lock) symbols = SymbolsLocked(elf);
        Add(new Image(lo + bias, hi + bias, bias, Path.GetFileName(elf.Path), symbols));
    }

    /// <summary>
    /// The guest mapped [<paramref name="start"/>, +<paramref name="length"/>) of the host file <paramref name="path"/>
    /// from <paramref name="fileOffset"/> with PROT_EXEC. When the file is an AArch64 ELF its image's bias follows from
    /// the PT_LOAD holding that offset (file offsets and addresses agree within a segment); anything else is ignored.
    /// </summary>
    public void AddFileMapping(string path, ulong start, ulong length, ulong fileOffset)
    {
        if (path.Length == 0 || path[0] != '/') return;
        ElfFile elf;
        try { elf = ElfFile.Load(path); }
        catch (FatalException) { return; } // not an ELF, another machine, gone: code there stays unnamed
        foreach (var p in elf.ProgramHeaders)
        {
            if (p.Type != ElfFile.PtLoad || fileOffset < p.Offset || fileOffset - p.Offset >= Math.Max(p.FileSize, 1)) continue;
            ulong bias = start - (p.VAddr + (fileOffset - p.Offset));
            ElfSymbols symbols;
            lock (_lock) symbols = SymbolsLocked(elf);
            Add(new Image(start, start + length, bias, Path.GetFileName(path), symbols));
            return;
        }
    }

    /// <summary>[start, end) was unmapped: images wholly inside it are forgotten (dlclose unmaps a library at once).</summary>
    public void Unmapped(ulong start, ulong end)
    {
        lock (_lock)
        {
            var now = _images;
            if (now.Any(i => i.Start >= start && i.End <= end)) _images = now.Where(i => !(i.Start >= start && i.End <= end)).ToArray();
        }
    }

    private void Add(Image image)
    {
        lock (_lock)
        {
            var list = _images.Where(i => i.End <= image.Start || i.Start >= image.End).ToList();
            list.Add(image);
            list.Sort((a, b) => a.Start.CompareTo(b.Start));
            _images = list.ToArray();
        }
    }

    private ElfSymbols SymbolsLocked(ElfFile elf)
    {
        if (!_byPath.TryGetValue(elf.Path, out var s)) _byPath[elf.Path] = s = ElfSymbols.Read(elf);
        return s;
    }

    /// <summary>
    /// The perf-map name of guest address <paramref name="pc"/>: <c>function+0xOFF</c> inside a function of a known
    /// image, <c>[file+0xADDR]</c> (the address in the file's own numbering, as objdump shows it) elsewhere in one,
    /// <c>[guest 0xPC]</c> outside every image (anonymous memory: code a guest generates).
    /// </summary>
    public string NameOf(ulong pc)
    {
        var images = _images;
        int lo = 0, hi = images.Length - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (images[mid].Start <= pc) { found = mid; lo = mid + 1; } else hi = mid - 1;
        }
        if (found < 0 || pc >= images[found].End) return $"[guest 0x{pc:x}]";
        var img = images[found];
        ulong fileAddress = pc - img.Bias;
        return img.Symbols.TryFind(fileAddress, out string name, out ulong offset)
            ? $"{name}+0x{offset:x}"
            : $"[{img.Name}+0x{fileAddress:x}]";
    }
}
