using Dqemu.Runtime.Memory;
using Dqemu.Runtime.Syscalls;
using Xunit;

namespace Dqemu.Tests.Syscalls;

/// <summary>mmap, munmap, mprotect, mremap, madvise and brk through the table, checked against GuestSpace.</summary>
[Collection("Syscalls")]
public unsafe class MemorySyscallTests
{
    private const int Brk = 214, Munmap = 215, Mremap = 216, Mmap = 222, Mprotect = 226, Madvise = 233, Mincore = 232;
    private const int Openat = 56, Close = 57, Pread64 = 67, Pwrite64 = 68, Ftruncate = 46, Unlinkat = 35;
    private const ulong Rw = 3, R = 1, Rx = 5;
    private const ulong Private = 2, Shared = 1, Anon = 0x20, Fixed = 0x10, NoReplace = 0x100000;
    private const ulong Page = GuestSpace.PageSize;
    private readonly SyscallHarness h;

    public MemorySyscallTests(SyscallHarness harness) => h = harness;

    private ulong MapAnon(ulong len, ulong prot = Rw, ulong addr = 0, ulong extra = 0)
    {
        long r = h.Call(Mmap, addr, len, prot, Private | Anon | extra, ulong.MaxValue, 0);
        Assert.True(r > 0, $"mmap failed: {r}");
        return (ulong)r;
    }

    [Fact]
    public void AnonymousMmapIsTopDownAlignedZeroedAndRecorded()
    {
        ulong a = MapAnon(3 * Page + 5);
        try
        {
            Assert.Equal(0UL, a % Page);
            Assert.True(a + 4 * Page <= GuestSpace.MmapTop && a >= GuestSpace.MmapBottom);
            var v = h.Space.Find(a)!;
            Assert.Equal(GuestProt.Read | GuestProt.Write, v.Prot);
            Assert.True(v.End >= a + 4 * Page);
            Assert.True(h.Bytes(a, (int)(4 * Page)).IndexOfAnyExcept((byte)0) < 0);
            h.Bytes(a, 10).Fill(7);
            ulong b = MapAnon(Page);
            Assert.True(b + Page <= a, "the next mapping goes below the previous one");
            h.Call(Munmap, b, Page);
        }
        finally { h.Call(Munmap, a, 4 * Page); }
        Assert.True(h.Space.IsFree(a, a + 4 * Page));
    }

    [Fact]
    public void BadArgumentsAreRefused()
    {
        Assert.Equal(-Errno.EINVAL, h.Call(Mmap, 0, 0, Rw, Private | Anon, ulong.MaxValue, 0));
        Assert.Equal(-Errno.EINVAL, h.Call(Mmap, 0, Page, Rw, Anon, ulong.MaxValue, 0)); // neither shared nor private
        Assert.Equal(-Errno.EINVAL, h.Call(Mmap, 0x5000_0001, Page, Rw, Private | Anon | Fixed, ulong.MaxValue, 0));
        Assert.Equal(-Errno.EPERM, h.Call(Mmap, 0x1000, Page, Rw, Private | Anon | Fixed, ulong.MaxValue, 0));
        Assert.Equal(-Errno.ENOMEM, h.Call(Mmap, GuestSpace.Size - Page, 2 * Page, Rw, Private | Anon | Fixed, ulong.MaxValue, 0));
        Assert.Equal(-Errno.EINVAL, h.Call(Mmap, 0, Page, Rw | 0x40, Private | Anon, ulong.MaxValue, 0));
        Assert.Equal(-Errno.EBADF, h.Call(Mmap, 0, Page, R, Shared, 999, 0));
        Assert.Equal(-Errno.EINVAL, h.Call(Munmap, 0x5000_0001, Page));
        Assert.Equal(-Errno.EINVAL, h.Call(Munmap, 0x5000_0000, 0));
        Assert.Equal(-Errno.EINVAL, h.Call(Mprotect, 0x5000_0001, Page, R));
    }

    [Fact]
    public void HintIsHonouredWhenFreeAndFixedReplaces()
    {
        const ulong hint = 0x30_0000_0000;
        ulong a = MapAnon(4 * Page, Rw, hint);
        try
        {
            Assert.Equal(hint, a);
            h.Bytes(a, (int)(4 * Page)).Fill(0x55);
            // occupied hint: placed elsewhere
            ulong b = MapAnon(Page, Rw, hint);
            Assert.NotEqual(hint, b);
            h.Call(Munmap, b, Page);
            // MAP_FIXED over the second page: zeroed, neighbours kept, vma split
            Assert.Equal((long)(a + Page), h.Call(Mmap, a + Page, Page, R, Private | Anon | Fixed, ulong.MaxValue, 0));
            Assert.Equal(0, h.Bytes(a + Page, 1)[0]);
            Assert.Equal(0x55, h.Bytes(a, 1)[0]);
            Assert.Equal(0x55, h.Bytes(a + 2 * Page, 1)[0]);
            Assert.Equal(GuestProt.Read, h.Space.Find(a + Page)!.Prot);
            Assert.Equal(GuestProt.Read | GuestProt.Write, h.Space.Find(a + 2 * Page)!.Prot);
            // MAP_FIXED_NOREPLACE: refuses an occupied range, takes a free one
            Assert.Equal(-Errno.EEXIST, h.Call(Mmap, a, Page, Rw, Private | Anon | NoReplace, ulong.MaxValue, 0));
            Assert.Equal((long)(a + 4 * Page), h.Call(Mmap, a + 4 * Page, Page, Rw, Private | Anon | NoReplace, ulong.MaxValue, 0));
        }
        finally { h.Call(Munmap, a, 5 * Page); }
    }

    [Fact]
    public void MunmapSplitsAndMprotectChangesRights()
    {
        ulong a = MapAnon(4 * Page);
        try
        {
            Assert.Equal(0, h.Call(Munmap, a + Page, Page));
            Assert.False(h.Space.IsAccessible(a + Page, 1, GuestProt.Read));
            Assert.True(h.Space.IsAccessible(a, Page, GuestProt.Write));
            Assert.True(h.Space.IsAccessible(a + 2 * Page, 2 * Page, GuestProt.Write));
            // mprotect across the hole fails with ENOMEM
            Assert.Equal(-Errno.ENOMEM, h.Call(Mprotect, a, 3 * Page, R));
            Assert.Equal(0, h.Call(Mprotect, a + 2 * Page, Page, R));
            Assert.False(h.Space.IsAccessible(a + 2 * Page, 1, GuestProt.Write));
            Assert.True(h.Space.IsAccessible(a + 2 * Page, 1, GuestProt.Read));
            Assert.True(h.Space.IsAccessible(a + 3 * Page, 1, GuestProt.Write));
            // PROT_EXEC is recorded for the guest, but the host page never becomes executable
            Assert.Equal(0, h.Call(Mprotect, a + 3 * Page, Page, Rx));
            Assert.Equal(GuestProt.Read | GuestProt.Exec, h.Space.Find(a + 3 * Page)!.Prot);
            Assert.Equal("r--p", HostPerms((ulong)h.Space.Base + a + 3 * Page));
            Assert.Equal(0, h.Call(Mprotect, a, 0, R)); // empty range
        }
        finally { h.Call(Munmap, a, 4 * Page); }
    }

    private static string HostPerms(ulong hostAddr)
    {
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var parts = line.Split(' ', 3);
            var range = parts[0].Split('-');
            ulong s = Convert.ToUInt64(range[0], 16), e = Convert.ToUInt64(range[1], 16);
            if (hostAddr >= s && hostAddr < e) return parts[1];
        }
        return "unmapped";
    }

    [Fact]
    public void MremapShrinksGrowsInPlaceAndMoves()
    {
        const ulong at = 0x31_0000_0000;
        ulong a = MapAnon(2 * Page, Rw, at);
        Assert.Equal(at, a);
        h.Bytes(a, (int)(2 * Page)).Fill(0x11);
        // grow in place: the next pages are free
        Assert.Equal((long)a, h.Call(Mremap, a, 2 * Page, 4 * Page, 0, 0));
        Assert.Equal(0x11, h.Bytes(a + 2 * Page - 1, 1)[0]);
        Assert.Equal(0, h.Bytes(a + 3 * Page, 1)[0]);
        Assert.True(h.Space.IsAccessible(a, 4 * Page, GuestProt.Write));
        // shrink
        Assert.Equal((long)a, h.Call(Mremap, a, 4 * Page, 3 * Page, 0, 0));
        Assert.True(h.Space.IsFree(a + 3 * Page, a + 4 * Page));
        // block the way, then grow: without MAYMOVE it fails, with it the contents move
        ulong blocker = MapAnon(Page, R, a + 3 * Page);
        Assert.Equal(a + 3 * Page, blocker);
        Assert.Equal(-Errno.ENOMEM, h.Call(Mremap, a, 3 * Page, 64 * Page, 0, 0));
        long moved = h.Call(Mremap, a, 3 * Page, 64 * Page, 1, 0);
        Assert.True(moved > 0 && (ulong)moved != a, $"mremap: {moved}");
        ulong m = (ulong)moved;
        Assert.Equal(0x11, h.Bytes(m, 1)[0]);
        Assert.Equal(0x11, h.Bytes(m + 2 * Page - 1, 1)[0]);
        Assert.Equal(0, h.Bytes(m + 63 * Page, 1)[0]);
        Assert.True(h.Space.IsFree(a, a + 3 * Page));
        Assert.True(h.Space.IsAccessible(m, 64 * Page, GuestProt.Read | GuestProt.Write));
        // MREMAP_FIXED to a chosen address
        const ulong target = 0x32_0000_0000;
        Assert.Equal((long)target, h.Call(Mremap, m, 64 * Page, 64 * Page, 3, target));
        Assert.Equal(0x11, h.Bytes(target, 1)[0]);
        Assert.True(h.Space.IsFree(m, m + 64 * Page));
        // a range that is not mapped
        Assert.Equal(-Errno.EFAULT, h.Call(Mremap, m, Page, 2 * Page, 1, 0));
        h.Call(Munmap, target, 64 * Page);
        h.Call(Munmap, blocker, Page);
        // the reservation has no holes where the mappings were
        Assert.Equal("---p", HostPerms((ulong)h.Space.Base + a));
        Assert.Equal("---p", HostPerms((ulong)h.Space.Base + m));
    }

    [Fact]
    public void MadviseDontneedZeroesAnonymousPages()
    {
        ulong a = MapAnon(3 * Page);
        try
        {
            h.Bytes(a, (int)(3 * Page)).Fill(9);
            Assert.Equal(0, h.Call(Madvise, a + Page, Page, 4));
            Assert.Equal(9, h.Bytes(a + Page - 1, 1)[0]);
            Assert.True(h.Bytes(a + Page, (int)Page).IndexOfAnyExcept((byte)0) < 0);
            Assert.Equal(9, h.Bytes(a + 2 * Page, 1)[0]);
            Assert.Equal(-Errno.EINVAL, h.Call(Madvise, a, Page, 12345));
            Assert.Equal(0, h.Call(Madvise, a, Page, 3)); // WILLNEED: a hint
            ulong vec = SyscallHarness.Scratch + 0x8000;
            Assert.Equal(0, h.Call(Mincore, a, 3 * Page, vec));
        }
        finally { h.Call(Munmap, a, 3 * Page); }
        Assert.Equal(-Errno.ENOMEM, h.Call(Madvise, a, Page, 4));
        Assert.Equal(-Errno.ENOMEM, h.Call(Mincore, a, Page, SyscallHarness.Scratch));
    }

    [Fact]
    public void BrkGrowsZeroedAndShrinks()
    {
        ulong start = (ulong)h.Call(Brk, 0UL);
        Assert.Equal(SyscallHarness.BrkStart, start);
        Assert.Equal((long)(start + 3 * Page + 100), h.Call(Brk, start + 3 * Page + 100));
        Assert.True(h.Space.IsAccessible(start, 4 * Page, GuestProt.Write));
        Assert.True(h.Bytes(start, (int)(4 * Page)).IndexOfAnyExcept((byte)0) < 0);
        h.Bytes(start, 10).Fill(1);
        Assert.Equal((long)(start + Page), h.Call(Brk, start + Page));
        Assert.False(h.Space.IsAccessible(start + Page, 1, GuestProt.Read));
        Assert.Equal(1, h.Bytes(start, 1)[0]);
        Assert.Equal((long)(start + Page), h.Call(Brk, start - Page)); // below the start: unchanged
        Assert.Equal((long)start, h.Call(Brk, start));
    }

    [Fact]
    public void FileMappingsShareWithTheFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dqemu-map-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, Enumerable.Range(0, 8192).Select(i => (byte)('a' + i % 26)).ToArray());
        long fd = h.Call(Openat, (ulong)unchecked((ulong)-100L), h.Str(path), 2 /* O_RDWR */, 0);
        Assert.True(fd >= 0, $"openat: {fd}");
        try
        {
            long sh = h.Call(Mmap, 0, 8192, Rw, Shared, (ulong)fd, 0);
            long pv = h.Call(Mmap, 0, 8192, Rw, Private, (ulong)fd, 0);
            long off = h.Call(Mmap, 0, 4096, R, Shared, (ulong)fd, 4096);
            Assert.True(sh > 0 && pv > 0 && off > 0);
            Assert.Equal((byte)'a', h.Bytes((ulong)sh, 1)[0]);
            Assert.Equal((byte)('a' + 4096 % 26), h.Bytes((ulong)off, 1)[0]);
            Assert.EndsWith(Path.GetFileName(path), h.Space.Find((ulong)sh)!.Name);
            "SHARED"u8.CopyTo(h.Bytes((ulong)sh + 10, 6));
            "PRIVATE"u8.CopyTo(h.Bytes((ulong)pv + 20, 7));
            var file = File.ReadAllBytes(path);
            Assert.Equal("SHARED", System.Text.Encoding.ASCII.GetString(file, 10, 6));
            Assert.Equal((byte)('a' + 20 % 26), file[20]);
            // a write through the fd is seen by the shared mapping
            ulong buf = h.Str("XY", 0x100);
            Assert.Equal(2, h.Call(Pwrite64, (ulong)fd, buf, 2, 5000));
            Assert.Equal((byte)'X', h.Bytes((ulong)sh + 5000, 1)[0]);
            // a shared mapping of a read-only fd cannot become writable
            long ro = h.Call(Openat, unchecked((ulong)-100L), h.Str(path), 0, 0);
            long rom = h.Call(Mmap, 0, 4096, R, Shared, (ulong)ro, 0);
            Assert.True(rom > 0);
            Assert.Equal(-Errno.EACCES, h.Call(Mprotect, (ulong)rom, 4096, Rw));
            Assert.Equal(GuestProt.Read, h.Space.Find((ulong)rom)!.Prot);
            h.Call(Munmap, (ulong)rom, 4096);
            h.Call(Close, (ulong)ro);
            // growing a file mapping keeps its pages
            long grown = h.Call(Mremap, (ulong)sh, 8192, 16 * Page, 1, 0);
            Assert.True(grown > 0);
            Assert.Equal((byte)'S', h.Bytes((ulong)grown + 10, 1)[0]);
            h.Call(Munmap, (ulong)grown, 16 * Page);
            h.Call(Munmap, (ulong)pv, 8192);
            h.Call(Munmap, (ulong)off, 4096);
            Assert.True(h.Space.IsFree((ulong)sh, (ulong)sh + 8192));
        }
        finally
        {
            h.Call(Close, (ulong)fd);
            File.Delete(path);
        }
    }

    [Fact]
    public void FailedFileMappingLeavesTheRangeReserved()
    {
        long dirFd = h.Call(Openat, unchecked((ulong)-100L), h.Str("/"), 0x4000 /* guest O_DIRECTORY */, 0);
        Assert.True(dirFd >= 0);
        const ulong at = 0x33_0000_0000;
        long r = h.Call(Mmap, at, Page, R, Shared | Fixed, (ulong)dirFd, 0);
        Assert.True(r < 0);
        Assert.True(h.Space.IsFree(at, at + Page));
        Assert.Equal("---p", HostPerms((ulong)h.Space.Base + at));
        h.Call(Close, (ulong)dirFd);
    }
}
