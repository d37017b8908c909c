using Dqemu.Runtime.Memory;

namespace Dqemu.Runtime.Loader;

/// <summary>Where an ELF image landed in the guest.</summary>
public sealed record LoadedImage(ElfFile Elf, ulong Bias, ulong Entry, ulong PhdrAddress, int PhNum, int PhEnt, ulong End);

/// <summary>Maps an ELF's PT_LOAD segments into the guest space with their protections, bss zeroed.</summary>
public static class ImageLoader
{
    public static LoadedImage Load(GuestSpace space, ElfFile elf, ulong pieBase)
    {
        var loads = elf.ProgramHeaders.Where(p => p.Type == ElfFile.PtLoad).ToList();
        ulong lo = loads.Min(p => GuestSpace.PageDown(p.VAddr));
        ulong hi = loads.Max(p => GuestSpace.PageUp(p.VAddr + p.MemSize));
        ulong bias = elf.Type == ElfFile.EtDyn ? pieBase - lo : 0;
        if (!space.IsFree(lo + bias, hi + bias))
            throw new FatalException(ExitCodes.BadElf, $"{elf.Path}: segments overlap memory already in use");

        // map every page the segments touch writable first: segments may share a page, and
        // mapping one after copying the other would zero it
        var unmapped = new SortedSet<ulong>();
        foreach (var p in loads)
        {
            ulong s = GuestSpace.PageDown(p.VAddr + bias), e = GuestSpace.PageUp(p.VAddr + p.MemSize + bias);
            for (ulong page = s; page < e; page += GuestSpace.PageSize)
                if (space.Find(page) == null) unmapped.Add(page);
        }
        // one call per run of pages (a page at a time cost a static hello world ~200 maps and as many mprotects)
        foreach (var (start, bytes, _) in Runs(unmapped.Select(page => (page, 0))))
            space.MapFixed(start, bytes, GuestProt.Read | GuestProt.Write, elf.Path);
        foreach (var p in loads)
            elf.Read(p.Offset, space.Span(p.VAddr + bias, (int)p.FileSize));

        // final protections: a page shared by two segments gets both segments' rights
        var prot = new Dictionary<ulong, GuestProt>();
        foreach (var p in loads)
        {
            var gp = GuestProt.None;
            if ((p.Flags & ElfFile.PfR) != 0) gp |= GuestProt.Read;
            if ((p.Flags & ElfFile.PfW) != 0) gp |= GuestProt.Write;
            if ((p.Flags & ElfFile.PfX) != 0) gp |= GuestProt.Exec;
            ulong s = GuestSpace.PageDown(p.VAddr + bias), e = GuestSpace.PageUp(p.VAddr + p.MemSize + bias);
            for (ulong page = s; page < e; page += GuestSpace.PageSize)
                prot[page] = prot.TryGetValue(page, out var old) ? old | gp : gp;
        }
        foreach (var (start, bytes, gp) in Runs(prot.OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value))))
            space.Protect(start, bytes, gp);

        ulong phdr = 0;
        var pt = elf.ProgramHeaders.FirstOrDefault(p => p.Type == ElfFile.PtPhdr);
        if (pt.Type == ElfFile.PtPhdr) phdr = pt.VAddr + bias;
        else
        {
            foreach (var p in loads)
                if (elf.PhOff >= p.Offset && elf.PhOff < p.Offset + p.FileSize) { phdr = p.VAddr + (elf.PhOff - p.Offset) + bias; break; }
        }
        ulong end = loads.Max(p => p.VAddr + p.MemSize) + bias;
        return new LoadedImage(elf, bias, elf.Entry + bias, phdr, elf.ProgramHeaders.Count, elf.PhEntSize, end);
    }

    /// <summary>Consecutive pages (in ascending order) with equal values, as (start, bytes, value) runs.</summary>
    private static IEnumerable<(ulong Start, ulong Bytes, T Value)> Runs<T>(IEnumerable<(ulong Page, T Value)> pages)
    {
        ulong start = 0, next = 0;
        T value = default!;
        bool open = false;
        foreach (var (page, v) in pages)
        {
            if (open && page == next && EqualityComparer<T>.Default.Equals(v, value)) { next += GuestSpace.PageSize; continue; }
            if (open) yield return (start, next - start, value);
            (start, next, value, open) = (page, page + GuestSpace.PageSize, v, true);
        }
        if (open) yield return (start, next - start, value);
    }
}
