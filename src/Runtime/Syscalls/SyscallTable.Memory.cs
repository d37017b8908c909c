using System.Text;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Memory;
using static Dqemu.Runtime.Syscalls.Errno;
using static Dqemu.Runtime.Syscalls.Sys;
using Nr = Dqemu.Runtime.Host.HostSyscall.Nr;

namespace Dqemu.Runtime.Syscalls;

/// <summary>
/// The guest's memory layout: brk, mmap, munmap, mprotect, mremap, madvise and friends, kept in
/// <see cref="GuestSpace"/> (invariant 1: every guest mapping lives inside the one reservation at Base + addr,
/// and a range leaves the reservation only by being replaced atomically, never unmapped, so no host
/// allocation can land in it). Host pages are never executable: guest PROT_EXEC is only recorded.
/// All run on node 0, which owns the layout.
/// </summary>
public static unsafe partial class SyscallTable
{
    private const ulong PageMask = GuestSpace.PageSize - 1;
    /// <summary>Linux's default vm.mmap_min_addr: fixed mappings below it are refused.</summary>
    public const ulong MmapMinAddr = 0x10000;
    private const int MapShared = 1, MapPrivate = 2, MapSharedValidate = 3, MapTypeMask = 0xf, MapFixed = 0x10,
        MapAnonymous = 0x20, MapNoreserve = 0x4000, MapPopulate = 0x8000, MapNonblock = 0x10000, MapSync = 0x80000,
        MapFixedNoreplace = 0x100000;
    private const int MremapMaymove = 1, MremapFixed = 2, MremapDontunmap = 4;
    private const long EOVERFLOW = 75;

    /// <summary>Serialises layout changes (find a free range, then map it) across threads.</summary>
    private static readonly object LayoutLock = new();

    static partial void AddMemory(SyscallEntry?[] t)
    {
        const SyscallSite N = SyscallSite.Node0;
        t.Add(214, "brk", N, Brk);
        t.Add(215, "munmap", N, Munmap);
        t.Add(216, "mremap", N, Mremap);
        t.Add(222, "mmap", N, Mmap);
        t.Add(MprotectNumber, "mprotect", N, Mprotect);
        t.Add(227, "msync", N, Msync);
        t.Add(228, "mlock", N, c => Mlock(c, X64Mlock));
        t.Add(229, "munlock", N, c => Mlock(c, X64Munlock));
        t.Add(230, "mlockall", N, c => (int)c.A0 is 0 or 4 || ((int)c.A0 & ~7) != 0 ? -EINVAL : 0); // flags: MCL_CURRENT 1, FUTURE 2, ONFAULT 4 (not alone)
        t.Add(231, "munlockall", N, c => 0);
        t.Add(232, "mincore", N, Mincore);
        t.Add(233, "madvise", N, Madvise);
        t.Add(284, "mlock2", N, c => Mlock(c, 325));
    }

    private static long Brk(SyscallContext c)
    {
        lock (LayoutLock) return (long)c.Mem.Brk(c.A0);
    }

    /// <summary>Guest PROT_* to <see cref="GuestProt"/>; false for bits Linux/AArch64 would refuse.</summary>
    private static bool ProtOf(ulong prot, out GuestProt p)
    {
        const ulong ProtBti = 0x10, ProtGrowsdown = 0x01000000, ProtGrowsup = 0x02000000;
        p = (GuestProt)(prot & 7);
        ulong rest = prot & ~(7UL | ProtBti | ProtGrowsdown | ProtGrowsup);
        return rest == 0 && (prot & (ProtGrowsdown | ProtGrowsup)) != (ProtGrowsdown | ProtGrowsup);
    }

    private static int HostProt(GuestProt p) => LinuxHostMemory.ToProt(GuestSpace.ToHost(p));

    private static long Mmap(SyscallContext c)
    {
        ulong addr = c.A0, len = c.A1, off = c.A5;
        int flags = (int)c.A3, fd = (int)c.A4, type = flags & MapTypeMask;
        if (type != MapShared && type != MapPrivate && type != MapSharedValidate) return -EINVAL;
        if (len == 0 || (off & PageMask) != 0) return -EINVAL;
        if (!ProtOf(c.A2, out var prot)) return -EINVAL;
        ulong plen = GuestSpace.PageUp(len);
        if (plen < len || plen > GuestSpace.Size) return -ENOMEM;
        bool anon = (flags & MapAnonymous) != 0;
        if (!anon && off + plen < off) return -EOVERFLOW;
        bool noReplace = (flags & MapFixedNoreplace) != 0, atFixed = noReplace || (flags & MapFixed) != 0;

        lock (LayoutLock)
        {
            ulong at;
            if (atFixed)
            {
                if ((addr & PageMask) != 0) return -EINVAL;
                if (addr + plen > GuestSpace.Size || addr + plen < addr) return -ENOMEM;
                if (addr < MmapMinAddr) return -EPERM;
                if (noReplace && !c.Mem.IsFree(addr, addr + plen)) return -EEXIST;
                at = addr;
            }
            else
            {
                ulong hint = addr >= MmapMinAddr ? GuestSpace.PageUp(addr) : 0;
                at = c.Mem.FindFree(plen, hint);
                if (at == 0) return -ENOMEM;
            }

            if (anon && (type == MapPrivate || c.Mem.Coherence != null))
            {
                try { c.Mem.MapFixed(at, plen, prot, ""); }
                catch (OutOfMemoryException) { return -ENOMEM; }
                return (long)at;
            }

            if (c.Mem.Coherence != null)
            {
                long copied = MapFileByCopy(c, at, plen, prot, fd, off);
                if (!IsError(copied) && !anon) NoteCode(c, at, plen, prot, fd, off);
                return copied;
            }

            // shared anonymous or file-backed: the host maps it straight into the reservation, replacing
            // whatever was there in one step
            bool wasFree = c.Mem.IsFree(at, at + plen);
            int hflags = type | MapFixed | (flags & (MapAnonymous | MapNoreserve | MapPopulate | MapNonblock))
                | (type == MapSharedValidate ? flags & MapSync : 0);
            long r = Call(Nr.Mmap, H(c, at), (long)plen, HostProt(prot), hflags, anon ? -1 : fd, anon ? 0 : (long)off);
            if (IsError(r))
            {
                if (wasFree) c.Mem.Unmap(at, plen); // make sure the range is reserved again
                return r;
            }
            c.Mem.RecordMapping(at, plen, prot, anon ? "/dev/zero (deleted)" : FdName(fd));
            if (!anon) NoteCode(c, at, plen, prot, fd, off);
            return (long)at;
        }
    }

    /// <summary>--perf-map: an executable file mapping may be a library the dynamic linker loads; its symbols name
    /// the blocks translated from it.</summary>
    private static void NoteCode(SyscallContext c, ulong at, ulong plen, GuestProt prot, int fd, ulong off)
    {
        if (c.Process.Modules is { } modules && (prot & GuestProt.Exec) != 0) modules.AddFileMapping(FdName(fd), at, plen, off);
    }

    /// <summary>
    /// A file mapping when guest memory is shared by a cluster: the host cannot map a file into the memory the
    /// nodes share page by page, so the file's contents are read into fresh memory, which the DSM then moves like
    /// any other. Private mappings behave exactly so; writes to a MAP_SHARED file mapping do not reach the file
    /// (README: cluster limits).
    /// </summary>
    private static long MapFileByCopy(SyscallContext c, ulong at, ulong plen, GuestProt prot, int fd, ulong off)
    {
        string name = FdName(fd);
        var st = stackalloc byte[144]; // x86-64 struct stat; st_size at 48
        long sr = Call(Nr.Fstat, fd, (long)st);
        if (IsError(sr)) return sr;
        long size = *(long*)(st + 48);
        try { c.Mem.MapFixed(at, plen, GuestProt.Read | GuestProt.Write, name); }
        catch (OutOfMemoryException) { return -ENOMEM; }
        ulong want = (ulong)size > off ? Math.Min(plen, (ulong)size - off) : 0;
        ulong done = 0;
        if (want > 0 && Ok(c, at, want, GuestProt.Write))
        {
            while (done < want)
            {
                long r = Call(Nr.Pread64, fd, H(c, at + done), (long)(want - done), (long)(off + done));
                if (IsError(r))
                {
                    c.Mem.Unmap(at, plen);
                    return r;
                }
                if (r == 0) break;
                done += (ulong)r;
            }
        }
        c.Mem.Coherence!.ReleaseResident();
        if (prot != (GuestProt.Read | GuestProt.Write)) c.Mem.Protect(at, plen, prot);
        return (long)at;
    }

    /// <summary>The path an fd refers to, for /proc/self/maps.</summary>
    private static string FdName(int fd)
    {
        var buf = stackalloc byte[PathMax];
        byte[] link = GuestPath.ToBytes($"/proc/self/fd/{fd}");
        long r;
        fixed (byte* p = link) r = Call(Nr.Readlinkat, AtFdcwd, (long)p, (long)buf, PathMax);
        return r > 0 ? Encoding.UTF8.GetString(buf, (int)r) : "";
    }

    private static long Munmap(SyscallContext c)
    {
        ulong addr = c.A0, len = c.A1;
        if ((addr & PageMask) != 0 || len == 0) return -EINVAL;
        ulong plen = GuestSpace.PageUp(len);
        if (plen < len || addr + plen > GuestSpace.Size || addr + plen < addr) return -EINVAL;
        lock (LayoutLock) c.Mem.Unmap(addr, plen);
        c.Process.Modules?.Unmapped(addr, addr + plen);
        return 0;
    }

    /// <summary>mprotect's number: a worker that delegated one gets the new protections with the answer.</summary>
    public const int MprotectNumber = 226;

    private static long Mprotect(SyscallContext c)
    {
        ulong addr = c.A0, len = c.A1;
        if ((addr & PageMask) != 0) return -EINVAL;
        if (!ProtOf(c.A2, out var prot)) return -EINVAL;
        if (len == 0) return 0;
        ulong plen = GuestSpace.PageUp(len);
        if (plen < len || addr + plen > GuestSpace.Size || addr + plen < addr) return -ENOMEM;
        lock (LayoutLock)
        {
            try { return c.Mem.Protect(addr, plen, prot) ? 0 : -ENOMEM; }
            catch (InvalidOperationException) { return -EACCES; } // e.g. PROT_WRITE on a shared read-only file mapping
        }
    }

    /// <summary>
    /// mremap: shrinking unmaps the tail; growing happens in place when the pages after the mapping are free,
    /// else (MREMAP_MAYMOVE) at a new address; MREMAP_FIXED moves to the given address. Contents move with the
    /// host's mremap, so anonymous and file mappings alike keep their pages without copying.
    /// </summary>
    private static long Mremap(SyscallContext c)
    {
        ulong old = c.A0, oldLenIn = c.A1, newLenIn = c.A2, newAddr = c.A4;
        int flags = (int)c.A3;
        if ((old & PageMask) != 0 || (flags & ~7) != 0) return -EINVAL;
        if ((flags & MremapFixed) != 0 && (flags & MremapMaymove) == 0) return -EINVAL;
        ulong oldLen = GuestSpace.PageUp(oldLenIn), newLen = GuestSpace.PageUp(newLenIn);
        if (newLenIn == 0 || newLen < newLenIn || oldLen < oldLenIn || newLen > Sys.TaskSize) return -EINVAL;
        // an old range that wraps or leaves the address space is refused before anything is unmapped (it would reach
        // past the reservation)
        if (old + oldLen < old || old + oldLen > GuestSpace.Size) return -EINVAL;
        if (oldLen == 0) return -EINVAL; // duplicating a shared mapping is not supported
        bool dontUnmap = (flags & MremapDontunmap) != 0;
        if (dontUnmap && ((flags & MremapMaymove) == 0 || oldLen != newLen)) return -EINVAL;

        lock (LayoutLock)
        {
            // as Linux: the old range must lie in one mapping, except a tail a shrink unmaps (a plain shrink looks at
            // nothing else; a fixed move drops the tail first and moves what is left)
            var v = c.Mem.Find(old);
            bool plainShrink = newLen <= oldLen && (flags & (MremapFixed | MremapDontunmap)) == 0;
            if (v == null || (!plainShrink && v.End < old + Math.Min(oldLen, newLen))) return -EFAULT;
            var prot = v.Prot;
            string name = v.Name;

            if ((flags & MremapFixed) != 0)
            {
                if ((newAddr & PageMask) != 0) return -EINVAL;
                if (newAddr + newLen > GuestSpace.Size || newAddr + newLen < newAddr) return -EINVAL;
                if (newAddr < old + oldLen && old < newAddr + newLen) return -EINVAL;
                if (newAddr < MmapMinAddr) return -EPERM;
                if (newLen < oldLen)
                {
                    c.Mem.Unmap(old + newLen, oldLen - newLen);
                    oldLen = newLen;
                }
                return dontUnmap ? MoveDontUnmap(c, old, oldLen, newAddr, prot, name) : Move(c, old, oldLen, newLen, newAddr, prot, name);
            }
            if (dontUnmap)
            {
                ulong to = c.Mem.FindFree(newLen);
                return to == 0 ? -ENOMEM : MoveDontUnmap(c, old, oldLen, to, prot, name);
            }
            if (newLen <= oldLen)
            {
                if (newLen < oldLen) c.Mem.Unmap(old + newLen, oldLen - newLen);
                return (long)old;
            }
            if (old + newLen <= GuestSpace.Size && old + newLen > old && c.Mem.IsFree(old + oldLen, old + newLen))
                return Move(c, old, oldLen, newLen, old, prot, name);
            if ((flags & MremapMaymove) == 0) return -ENOMEM;
            ulong dest = c.Mem.FindFree(newLen);
            if (dest == 0) return -ENOMEM;
            return Move(c, old, oldLen, newLen, dest, prot, name);
        }
    }

    /// <summary>
    /// Moves [old, old+oldLen) to dest with size newLen (dest may equal old: growth in place). The pages go
    /// first to a host address outside the reservation (MREMAP_DONTUNMAP leaves the source range mapped, so
    /// the reservation never has a hole), then, resized, to Base + dest, replacing what was there.
    /// </summary>
    private static long Move(SyscallContext c, ulong old, ulong oldLen, ulong newLen, ulong dest, GuestProt prot, string name)
    {
        // shared cluster memory: the host must not move the pages the nodes share by file offset
        if (c.Mem.Coherence != null) return MoveByCopy(c, old, oldLen, newLen, dest, prot, name);
        // the host moves pages with their host protection: a write-protected code page must arrive writable
        c.Mem.ReleaseCodeRange(old, oldLen, byWrite: false);
        long tmp = Call(Nr.Mremap, H(c, old), (long)oldLen, (long)oldLen, MremapMaymove | MremapDontunmap, 0);
        if (IsError(tmp)) return MoveByCopy(c, old, oldLen, newLen, dest, prot, name);
        long r = Call(Nr.Mremap, tmp, (long)oldLen, (long)newLen, MremapMaymove | MremapFixed, H(c, dest));
        if (IsError(r))
        {
            Call(Nr.Mremap, tmp, (long)oldLen, (long)oldLen, MremapMaymove | MremapFixed, H(c, old));
            return r;
        }
        if (dest != old) c.Mem.Unmap(old, oldLen); // the DONTUNMAP leftovers go back to the reservation
        c.Mem.RecordMapping(dest, newLen, prot, name);
        return (long)dest;
    }

    private static long MoveDontUnmap(SyscallContext c, ulong old, ulong len, ulong dest, GuestProt prot, string name)
    {
        if (c.Mem.Coherence != null)
        {
            long r0 = MoveByCopy(c, old, len, len, dest, prot, name);
            if (!IsError(r0)) c.Mem.MapFixed(old, len, prot, name); // the source stays mapped, emptied
            return r0;
        }
        c.Mem.ReleaseCodeRange(old, len, byWrite: false); // as in Move
        long r = Call(Nr.Mremap, H(c, old), (long)len, (long)len, MremapMaymove | MremapFixed | MremapDontunmap, H(c, dest));
        if (IsError(r)) return r;
        c.Mem.RecordMapping(dest, len, prot, name);
        return (long)dest;
    }

    /// <summary>Fallback when the host has no MREMAP_DONTUNMAP for this mapping: copy (readable anonymous memory).</summary>
    private static long MoveByCopy(SyscallContext c, ulong old, ulong oldLen, ulong newLen, ulong dest, GuestProt prot, string name)
    {
        if (dest == old)
        {
            c.Mem.MapFixed(old + oldLen, newLen - oldLen, prot, name);
            return (long)old;
        }
        if ((prot & GuestProt.Read) == 0) return -ENOMEM;
        c.Mem.MapFixed(dest, newLen, GuestProt.Read | GuestProt.Write, name);
        ulong copy = Math.Min(oldLen, newLen);
        if (!Ok(c, old, copy, GuestProt.Read) || !Ok(c, dest, copy, GuestProt.Write)) return -EFAULT; // make both present here
        // guarded: a file page past the end of its file faults (SIGBUS) and what is left of the copy stays zero
        Host.GuardedCopy.Copy(c.Mem.Base + dest, c.Mem.Base + old, copy);
        c.Mem.Coherence?.ReleaseResident();
        c.Mem.Protect(dest, newLen, prot);
        c.Mem.Unmap(old, oldLen);
        return (long)dest;
    }

    /// <summary>
    /// madvise on a cluster's shared memory: the host's MADV_DONTNEED would keep a shared page's contents, so the
    /// discarding advices (DONTNEED, FREE, REMOVE) map the range afresh instead, zero on every node as Linux gives
    /// private anonymous memory (a private file mapping reads back zeros too: README, cluster limits); the others
    /// are hints. Nothing is pinned: the range need not be present here.
    /// </summary>
    private static long MadviseShared(SyscallContext c, ulong addr, ulong plen, int advice, bool passToHost)
    {
        var pieces = c.Mem.Pieces(addr, addr + plen);
        ulong covered = 0;
        foreach (var p in pieces) covered += p.End - p.Start;
        if (passToHost && advice is 4 or 8 or 9)
            foreach (var p in pieces) c.Mem.MapFixed(p.Start, p.End - p.Start, p.Prot, p.Name);
        return covered == plen ? 0 : -ENOMEM;
    }

    private static long Madvise(SyscallContext c)
    {
        ulong addr = c.A0, len = c.A1;
        int advice = (int)c.A2;
        if ((addr & PageMask) != 0) return -EINVAL;
        bool passToHost;
        switch (advice)
        {
            case 4: case 8: case 9: case 18: case 19: case 22: case 23: // DONTNEED FREE REMOVE WIPEONFORK KEEPONFORK POPULATE_*
                passToHost = true; break;
            case 0: case 1: case 2: case 3: case 10: case 11: case 12: case 13: case 14: case 15: case 16: case 17:
            case 20: case 21: case 25: // hints: nothing to do for an emulated guest
                passToHost = false; break;
            default:
                return -EINVAL;
        }
        ulong plen = GuestSpace.PageUp(len);
        if (plen < len || addr + plen < addr) return -EINVAL;
        if (plen == 0) return 0;
        if (addr + plen > GuestSpace.Size) return -ENOMEM;
        lock (LayoutLock)
        {
            if (c.Mem.Coherence != null) return MadviseShared(c, addr, plen, advice, passToHost);
            bool mapped = c.Mem.IsAccessible(addr, plen, GuestProt.None);
            if (passToHost)
            {
                // MADV_DONTNEED on the host has the guest's semantics: private anonymous pages read back as
                // zero, private file pages as the file's contents; code translated from them is stale
                if (advice is 4 or 8 or 9) c.Mem.ReleaseCodeRange(addr, plen, byWrite: false);
                long r = Call(Nr.Madvise, H(c, addr), (long)plen, advice);
                if (r < 0) return r;
            }
            return mapped ? 0 : -ENOMEM;
        }
    }

    private static long Msync(SyscallContext c)
    {
        ulong addr = c.A0, len = c.A1;
        int flags = (int)c.A2;
        if ((addr & PageMask) != 0 || (flags & ~7) != 0 || (flags & 5) == 5) return -EINVAL;
        ulong plen = GuestSpace.PageUp(len); // wraps to 0 for the last page's lengths, as Linux's PAGE_ALIGN: nothing to do
        if (addr + plen < addr) return -ENOMEM;
        if (plen == 0) return 0;
        if (!c.Mem.IsAccessible(addr, plen, GuestProt.None)) return -ENOMEM;
        return Call(Nr.Msync, H(c, addr), (long)plen, flags);
    }

    /// <summary>mlock, munlock, mlock2 as Linux's do_mlock: the length page-aligned with the start's offset (wrapping to 0
    /// is nothing to do), a range that wraps EINVAL, one not all mapped ENOMEM.</summary>
    private static long Mlock(SyscallContext c, long hostNr)
    {
        ulong offset = c.A0 & PageMask, start = c.A0 - offset, len = GuestSpace.PageUp(c.A1 + offset);
        if (start + len < start) return -EINVAL;
        if (len == 0) return 0;
        if (start + len > GuestSpace.Size || !c.Mem.IsAccessible(start, len, GuestProt.None)) return -ENOMEM;
        return Call(hostNr, H(c, start), (long)len, (int)c.A2);
    }

    private static long Mincore(SyscallContext c)
    {
        ulong addr = c.A0, len = c.A1;
        if ((addr & PageMask) != 0) return -EINVAL;
        // Linux's order: the range against the address space (ENOMEM), the vector against it even when empty (EFAULT)
        if (addr + len < addr || addr + len > Sys.TaskSize) return -ENOMEM;
        ulong plen = GuestSpace.PageUp(len), pages = plen / GuestSpace.PageSize;
        if (c.A2 + pages < c.A2 || c.A2 + pages > Sys.TaskSize) return -EFAULT;
        if (plen == 0) return 0;
        if (addr + plen > GuestSpace.Size || !c.Mem.IsAccessible(addr, plen, GuestProt.None)) return -ENOMEM;
        if (!Ok(c, c.A2, plen / GuestSpace.PageSize, GuestProt.Write)) return -EFAULT;
        return Call(X64Mincore, H(c, addr), (long)plen, H(c, c.A2));
    }
}
