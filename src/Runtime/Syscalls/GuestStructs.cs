using System.Runtime.InteropServices;

namespace Dqemu.Runtime.Syscalls;

/// <summary>x86-64 <c>struct stat</c> (arch/x86/include/uapi/asm/stat.h), 144 bytes.</summary>
[StructLayout(LayoutKind.Sequential, Size = 144)]
public struct HostStat
{
    public ulong Dev;
    public ulong Ino;
    public ulong Nlink;
    public uint Mode;
    public uint Uid;
    public uint Gid;
    public int Pad0;
    public ulong Rdev;
    public long Size;
    public long Blksize;
    public long Blocks;
    public long Atime;
    public ulong AtimeNsec;
    public long Mtime;
    public ulong MtimeNsec;
    public long Ctime;
    public ulong CtimeNsec;
    public long Unused0, Unused1, Unused2;
}

/// <summary>AArch64 <c>struct stat</c> (asm-generic/stat.h), 128 bytes.</summary>
[StructLayout(LayoutKind.Sequential, Size = 128)]
public struct GuestStat
{
    public ulong Dev;
    public ulong Ino;
    public uint Mode;
    public uint Nlink;
    public uint Uid;
    public uint Gid;
    public ulong Rdev;
    public ulong Pad1;
    public long Size;
    public int Blksize;
    public int Pad2;
    public long Blocks;
    public long Atime;
    public ulong AtimeNsec;
    public long Mtime;
    public ulong MtimeNsec;
    public long Ctime;
    public ulong CtimeNsec;
    public uint Unused4;
    public uint Unused5;
}

/// <summary>x86-64 <c>struct epoll_event</c>: packed, 12 bytes.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1, Size = 12)]
public struct HostEpollEvent
{
    public uint Events;
    public ulong Data;
}

/// <summary>AArch64 <c>struct epoll_event</c>: naturally aligned, 16 bytes.</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
public struct GuestEpollEvent
{
    public uint Events;
    public uint Pad;
    public ulong Data;
}

/// <summary>The guest's and the host's struct layouts and flag encodings where they differ.</summary>
public static class GuestStructs
{
    public static GuestStat ToGuest(in HostStat h) => new()
    {
        Dev = h.Dev,
        Ino = h.Ino,
        Mode = h.Mode,
        Nlink = (uint)h.Nlink,
        Uid = h.Uid,
        Gid = h.Gid,
        Rdev = h.Rdev,
        Size = h.Size,
        Blksize = (int)h.Blksize,
        Blocks = h.Blocks,
        Atime = h.Atime,
        AtimeNsec = h.AtimeNsec,
        Mtime = h.Mtime,
        MtimeNsec = h.MtimeNsec,
        Ctime = h.Ctime,
        CtimeNsec = h.CtimeNsec,
    };

    // open(2) flags: AArch64 moves four bits relative to the asm-generic values x86-64 uses.
    public const int GuestODirectory = 0x4000, GuestONofollow = 0x8000, GuestODirect = 0x10000, GuestOLargefile = 0x20000;
    public const int HostODirect = 0x4000, HostOLargefile = 0x8000, HostODirectory = 0x10000, HostONofollow = 0x20000;
    private const int Moved = 0x4000 | 0x8000 | 0x10000 | 0x20000;

    public static int OpenFlagsToHost(int g)
    {
        int h = g & ~Moved;
        if ((g & GuestODirectory) != 0) h |= HostODirectory;
        if ((g & GuestONofollow) != 0) h |= HostONofollow;
        if ((g & GuestODirect) != 0) h |= HostODirect;
        if ((g & GuestOLargefile) != 0) h |= HostOLargefile;
        return h;
    }

    public static int OpenFlagsToGuest(int h)
    {
        int g = h & ~Moved;
        if ((h & HostODirectory) != 0) g |= GuestODirectory;
        if ((h & HostONofollow) != 0) g |= GuestONofollow;
        if ((h & HostODirect) != 0) g |= GuestODirect;
        if ((h & HostOLargefile) != 0) g |= GuestOLargefile;
        return g;
    }

    public static HostEpollEvent ToHost(in GuestEpollEvent g) => new() { Events = g.Events, Data = g.Data };
    public static GuestEpollEvent ToGuest(in HostEpollEvent h) => new() { Events = h.Events, Data = h.Data };
}
