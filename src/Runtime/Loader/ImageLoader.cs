using Dqemu.Runtime.Memory;

namespace Dqemu.Runtime.Loader;

/// <summary>Where an ELF image landed in the guest.</summary>
public sealed record LoadedImage(ElfFile Elf, ulong Bias, ulong Entry, ulong PhdrAddress, int PhNum, int PhEnt, ulong End);

/// <summary>Maps an ELF's PT_LOAD segments into the guest space with their protections, bss zeroed.</summary>
public static class ImageLoader
{
    /// <summary>
    /// Maps <paramref name="elf"/>'s PT_LOAD segments: an ET_EXEC where its addresses say, an ET_DYN with its lowest
    /// page at <paramref name="pieBase"/>. The image must fit below <see cref="GuestSpace.MmapTop"/> (above it: the
    /// stack) in free memory; otherwise the file is refused (status 65) with nothing mapped. Work is per range of
    /// pages, never per page: a segment of 2^39 bytes costs what a small one does.
    /// </summary>
    public static LoadedImage Load(GuestSpace space, ElfFile elf, ulong pieBase)
    {
        var loads = elf.ProgramHeaders.Where(p => p.Type == ElfFile.PtLoad).ToList();
        // ElfFile.Parse checked that no segment's page-rounded end wraps past 2^64
        ulong lo = loads.Min(p => GuestSpace.PageDown(p.VAddr));
        ulong hi = loads.Max(p => GuestSpace.PageUp(p.VAddr + p.MemSize));
        ulong bias = Bias(elf, pieBase);
        ulong start = lo + bias;
        if (start > GuestSpace.MmapTop || hi - lo > GuestSpace.MmapTop - start)
            throw new FatalException(ExitCodes.BadElf, elf.Type == ElfFile.EtDyn
                ? $"{elf.Path}: the segments span 0x{hi - lo:x} bytes, more than the guest address space has from 0x{start:x} to 0x{GuestSpace.MmapTop:x}"
                : $"{elf.Path}: the segments (0x{lo:x}-0x{hi:x}) do not fit in the guest address space (below 0x{GuestSpace.MmapTop:x})");
        if (!space.IsFree(start, hi + bias))
            throw new FatalException(ExitCodes.BadElf, $"{elf.Path}: segments overlap memory already in use");

        var runs = ProtectionRuns(loads, bias);
        // map every page the segments touch writable first: segments may share a page, and mapping one after
        // copying the other would zero it; one call per stretch of contiguous pages
        foreach (var (from, to) in Contiguous(runs))
            space.MapFixed(from, to - from, GuestProt.Read | GuestProt.Write, elf.Path);
        // a segment's whole pages that no other segment touches are the file's own pages, mapped as Linux maps them
        // (the guest pays for a page when it touches it); the rest of its file bytes are copied
        using var file = elf.OnDisk && space.MapsFilePages ? RegularFile.Open(elf.Path) : null;
        foreach (var p in loads)
        {
            ulong at = p.VAddr + bias, fileEnd = at + p.FileSize;
            var (from, to) = file != null ? OwnFilePages(p, loads, bias) : default;
            if (file != null && from < to
                && space.TryMapFilePages(from, to - from, GuestProt.Read | GuestProt.Write, (int)file.DangerousGetHandle(),
                    GuestSpace.PageDown(p.Offset) + (from - GuestSpace.PageDown(at))))
            {
                Copy(elf, space, p.Offset, at, Math.Max(at, from) - at);
                ulong tail = Math.Max(at, to);
                Copy(elf, space, p.Offset + (tail - at), tail, fileEnd - tail);
            }
            else Copy(elf, space, p.Offset, at, p.FileSize);
        }
        foreach (var (from, to, prot) in runs)
            space.Protect(from, to - from, prot);

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

    /// <summary>What <see cref="Load"/> adds to the file's addresses: 0 for an ET_EXEC, for an ET_DYN what puts its lowest
    /// page at <paramref name="pieBase"/>.</summary>
    public static ulong Bias(ElfFile elf, ulong pieBase) =>
        elf.Type == ElfFile.EtDyn ? pieBase - elf.ProgramHeaders.Where(p => p.Type == ElfFile.PtLoad).Min(p => GuestSpace.PageDown(p.VAddr)) : 0;

    // a span (copies of file bytes go through one) is at most int.MaxValue bytes
    private const int CopyChunk = 1 << 30;

    /// <summary>Copies <paramref name="length"/> bytes of the file from <paramref name="offset"/> to guest <paramref name="at"/>.</summary>
    private static void Copy(ElfFile elf, GuestSpace space, ulong offset, ulong at, ulong length)
    {
        for (ulong done = 0; done < length;)
        {
            int chunk = (int)Math.Min(length - done, CopyChunk);
            elf.Read(offset + done, space.Span(at + done, chunk));
            done += (ulong)chunk;
        }
    }

    /// <summary>
    /// The pages [From, To) (biased) that hold only segment <paramref name="p"/>'s file bytes (and, in its first page,
    /// the file's bytes before them, as under Linux) and that no other segment touches: those can be the file's pages.
    /// The page holding the end of its file bytes is not among them (past the end it has zeros, or another segment's
    /// bytes). Empty when there are none, or when another segment lies inside (a malformed file: everything is copied).
    /// </summary>
    private static (ulong From, ulong To) OwnFilePages(ElfFile.ProgramHeader p, List<ElfFile.ProgramHeader> loads, ulong bias)
    {
        ulong from = GuestSpace.PageDown(p.VAddr) + bias, to = GuestSpace.PageDown(p.VAddr + p.FileSize) + bias;
        // whether another segment's pages meet [lo, hi)
        bool Other(ulong lo, ulong hi) => loads.Any(q => !q.Equals(p) && Pages(q, bias) is var (s, e) && s < hi && lo < e);
        while (from < to && Other(from, from + GuestSpace.PageSize)) from += GuestSpace.PageSize;
        while (from < to && Other(to - GuestSpace.PageSize, to)) to -= GuestSpace.PageSize;
        return from < to && Other(from, to) ? (0, 0) : (from, to);
    }

    /// <summary>
    /// The pages the segments cover (biased), in ascending order, as maximal runs of one protection: a page two
    /// segments share gets both segments' rights. A sweep over the segments' page-range ends.
    /// </summary>
    private static List<(ulong Start, ulong End, GuestProt Prot)> ProtectionRuns(List<ElfFile.ProgramHeader> loads, ulong bias)
    {
        var edges = new List<(ulong At, GuestProt Prot, int Delta)>();
        foreach (var p in loads)
        {
            var (s, e) = Pages(p, bias);
            if (s == e) continue;
            edges.Add((s, Prot(p.Flags), 1));
            edges.Add((e, Prot(p.Flags), -1));
        }
        edges.Sort((a, b) => a.At.CompareTo(b.At));
        var runs = new List<(ulong Start, ulong End, GuestProt Prot)>();
        int active = 0, read = 0, write = 0, exec = 0;
        ulong at = 0;
        foreach (var (edge, prot, delta) in edges)
        {
            if (active > 0 && edge > at)
            {
                var gp = (read > 0 ? GuestProt.Read : 0) | (write > 0 ? GuestProt.Write : 0) | (exec > 0 ? GuestProt.Exec : 0);
                if (runs.Count > 0 && runs[^1].End == at && runs[^1].Prot == gp) runs[^1] = (runs[^1].Start, edge, gp);
                else runs.Add((at, edge, gp));
            }
            active += delta;
            if ((prot & GuestProt.Read) != 0) read += delta;
            if ((prot & GuestProt.Write) != 0) write += delta;
            if ((prot & GuestProt.Exec) != 0) exec += delta;
            at = edge;
        }
        return runs;
    }

    /// <summary>The pages segment <paramref name="p"/> covers, biased: [Start, End).</summary>
    private static (ulong Start, ulong End) Pages(ElfFile.ProgramHeader p, ulong bias) =>
        (GuestSpace.PageDown(p.VAddr) + bias, GuestSpace.PageUp(p.VAddr + p.MemSize) + bias);

    /// <summary>Runs merged where one ends where the next starts.</summary>
    private static IEnumerable<(ulong Start, ulong End)> Contiguous(List<(ulong Start, ulong End, GuestProt Prot)> runs)
    {
        for (int i = 0; i < runs.Count;)
        {
            int j = i;
            while (j + 1 < runs.Count && runs[j + 1].Start == runs[j].End) j++;
            yield return (runs[i].Start, runs[j].End);
            i = j + 1;
        }
    }

    private static GuestProt Prot(uint flags) =>
        ((flags & ElfFile.PfR) != 0 ? GuestProt.Read : 0)
        | ((flags & ElfFile.PfW) != 0 ? GuestProt.Write : 0)
        | ((flags & ElfFile.PfX) != 0 ? GuestProt.Exec : 0);
}
