using Dqemu.JitX64.Host;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Dqemu.Runtime.Host;

/// <summary><see cref="IHostMemory"/> on Linux: mmap/mprotect through Tmds.LibC.</summary>
public sealed unsafe class LinuxHostMemory : IHostMemory
{
    public static LinuxHostMemory Instance { get; } = new();

    private const int MapNoReserve = 0x4000;

    public int PageSize => 4096;

    public nint Reserve(ulong size)
    {
        void* p = mmap(null, (size_t)size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MapNoReserve, -1, 0);
        if (p == MAP_FAILED) throw new OutOfMemoryException($"cannot reserve {size >> 20} MiB of address space (errno {errno})");
        return (nint)p;
    }

    public void Commit(nint address, ulong size, HostProtection protection)
    {
        void* p = mmap((void*)address, (size_t)size, ToProt(protection), MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MapNoReserve, -1, 0);
        if (p == MAP_FAILED) throw new OutOfMemoryException($"cannot map {size} bytes at 0x{address:x} (errno {errno})");
    }

    public bool MapsFiles => true;

    public bool TryMapFilePrivate(nint address, ulong size, HostProtection protection, int fd, ulong offset)
    {
        void* p = mmap((void*)address, (size_t)size, ToProt(protection), MAP_PRIVATE | MAP_FIXED, fd, (long)offset);
        if (p != MAP_FAILED) return true;
        // a failed MAP_FIXED may already have taken the old pages away: the range is zeroed memory again, as Commit leaves it
        Commit(address, size, protection);
        return false;
    }

    // MADV_POPULATE_WRITE (Linux 5.14): older kernels answer EINVAL, and the pages fault in one by one as before
    private const int MadvPopulateWrite = 23;

    public void Populate(nint address, ulong size) => PageToucher.Request(address, size);

    /// <summary>Populates [address, address + size) now, in one call (best effort, as <see cref="Populate"/>).</summary>
    internal static void PopulateNow(nint address, ulong size) => madvise((void*)address, (size_t)size, MadvPopulateWrite);

    public void Protect(nint address, ulong size, HostProtection protection)
    {
        if (mprotect((void*)address, (size_t)size, ToProt(protection)) != 0)
            throw new InvalidOperationException($"mprotect 0x{address:x}+{size} failed (errno {errno})");
    }

    public void Decommit(nint address, ulong size)
    {
        void* p = mmap((void*)address, (size_t)size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MapNoReserve, -1, 0);
        if (p == MAP_FAILED) throw new InvalidOperationException($"cannot decommit 0x{address:x} (errno {errno})");
    }

    public void Release(nint address, ulong size) => munmap((void*)address, (size_t)size);

    public static int ToProt(HostProtection p)
    {
        int r = PROT_NONE;
        if ((p & HostProtection.Read) != 0) r |= PROT_READ;
        if ((p & HostProtection.Write) != 0) r |= PROT_WRITE;
        if ((p & HostProtection.Execute) != 0) r |= PROT_EXEC;
        return r;
    }
}
