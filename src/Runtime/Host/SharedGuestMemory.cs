using System.Runtime.InteropServices;
using Dqemu.JitX64.Host;
using Dqemu.Runtime.Syscalls;
using static Tmds.Linux.LibC;

namespace Dqemu.Runtime.Host;

/// <summary>
/// Guest memory for a cluster node: the reservation is a MAP_SHARED view of one memfd, and a second mapping
/// of the same memfd (the alias) is always readable and writable. The coherence engine changes the guest
/// view's protection page by page (mprotect: a page a node does not hold faults) while it reads and writes
/// page contents through the alias, which never faults. A one-node run keeps private anonymous memory
/// (<see cref="LinuxHostMemory"/>); this class serves only the one guest reservation.
/// </summary>
public sealed unsafe class SharedGuestMemory : IHostMemory
{
    private const int MfdCloexec = 1, FallocPunchHole = 2, FallocKeepSize = 1;
    private const int MapShared = 1, MapNoReserve = 0x4000;

    private int _fd = -1;
    private byte* _view;
    private ulong _size;

    /// <summary>The always-writable mapping of the reservation (guest address g at Alias + g), null before <see cref="Reserve"/>.</summary>
    public byte* Alias { get; private set; }

    public int PageSize => 4096;

    public nint Reserve(ulong size)
    {
        if (_view != null) throw new InvalidOperationException("the guest memory is reserved once");
        // libc, not HostSyscall: the guest memory exists before the translator that holds the syscall thunk
        byte* name = stackalloc byte[] { (byte)'d', (byte)'q', (byte)'e', (byte)'m', (byte)'u', 0 };
        int fd = Native.memfd_create(name, MfdCloexec);
        if (fd < 0) throw new OutOfMemoryException($"memfd_create failed (errno {Marshal.GetLastPInvokeError()})");
        // above the guest's fd numbers, like every descriptor the emulator keeps (EmulatorFds)
        fd = EmulatorFds.MoveHigh(fd, out _);
        if (Native.ftruncate(fd, (long)size) != 0)
            throw new OutOfMemoryException($"cannot size the guest memory file to {size >> 30} GiB (errno {Marshal.GetLastPInvokeError()})");
        void* view = mmap(null, (Tmds.Linux.size_t)size, PROT_NONE, MapShared | MapNoReserve, fd, 0);
        if (view == MAP_FAILED) throw new OutOfMemoryException($"cannot map {size >> 30} GiB of guest memory (errno {Marshal.GetLastPInvokeError()})");
        void* alias = mmap(null, (Tmds.Linux.size_t)size, PROT_READ | PROT_WRITE, MapShared | MapNoReserve, fd, 0);
        if (alias == MAP_FAILED) throw new OutOfMemoryException($"cannot map the guest memory's alias view (errno {Marshal.GetLastPInvokeError()})");
        _fd = fd;
        _view = (byte*)view;
        _size = size;
        Alias = (byte*)alias;
        return (nint)view;
    }

    /// <summary>Fresh zeroed memory: the file's pages are dropped (a hole reads as zeros) before access is given.</summary>
    public void Commit(nint address, ulong size, HostProtection protection)
    {
        Discard(address, size);
        Protect(address, size, protection);
    }

    /// <summary>Never: every node's view and alias must be the one shared file, so file pages are copied in.</summary>
    public bool TryMapFilePrivate(nint address, ulong size, HostProtection protection, int fd, ulong offset) => false;

    public bool MapsFiles => false;

    public void Populate(nint address, ulong size) => LinuxHostMemory.Instance.Populate(address, size);

    public void Protect(nint address, ulong size, HostProtection protection)
    {
        if (mprotect((void*)address, (Tmds.Linux.size_t)size, LinuxHostMemory.ToProt(protection)) != 0)
            throw new InvalidOperationException($"mprotect 0x{address:x}+{size} failed (errno {Marshal.GetLastPInvokeError()})");
    }

    public void Decommit(nint address, ulong size)
    {
        Protect(address, size, HostProtection.None);
        Discard(address, size);
    }

    public void Release(nint address, ulong size) => throw new InvalidOperationException("the guest memory lives as long as the process");

    private void Discard(nint address, ulong size)
    {
        ulong offset = (ulong)((byte*)address - _view);
        if (offset >= _size || size > _size - offset) throw new ArgumentOutOfRangeException(nameof(address), "outside the guest memory");
        if (Native.fallocate(_fd, FallocPunchHole | FallocKeepSize, (long)offset, (long)size) != 0)
            throw new InvalidOperationException($"cannot discard guest memory at 0x{offset:x}+{size} (errno {Marshal.GetLastPInvokeError()})");
    }

    private static class Native
    {
        [DllImport("libc.so.6", SetLastError = true)]
        public static extern int memfd_create(byte* name, uint flags);
        [DllImport("libc.so.6", SetLastError = true)]
        public static extern int ftruncate(int fd, long length);
        [DllImport("libc.so.6", SetLastError = true)]
        public static extern int fallocate(int fd, int mode, long offset, long length);
    }
}
