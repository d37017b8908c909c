using System.Runtime.InteropServices;
using Dqemu.Runtime.Syscalls;
using Xunit;

namespace Dqemu.Tests.Syscalls;

public class GuestStructsTests
{
    [Fact]
    public void StatLayoutsMatchTheKernelHeaders()
    {
        Assert.Equal(144, Marshal.SizeOf<HostStat>());
        Assert.Equal(128, Marshal.SizeOf<GuestStat>());
        // x86-64 (arch/x86/include/uapi/asm/stat.h)
        Assert.Equal(16, (int)Marshal.OffsetOf<HostStat>(nameof(HostStat.Nlink)));
        Assert.Equal(24, (int)Marshal.OffsetOf<HostStat>(nameof(HostStat.Mode)));
        Assert.Equal(40, (int)Marshal.OffsetOf<HostStat>(nameof(HostStat.Rdev)));
        Assert.Equal(48, (int)Marshal.OffsetOf<HostStat>(nameof(HostStat.Size)));
        Assert.Equal(56, (int)Marshal.OffsetOf<HostStat>(nameof(HostStat.Blksize)));
        Assert.Equal(64, (int)Marshal.OffsetOf<HostStat>(nameof(HostStat.Blocks)));
        Assert.Equal(72, (int)Marshal.OffsetOf<HostStat>(nameof(HostStat.Atime)));
        Assert.Equal(112, (int)Marshal.OffsetOf<HostStat>(nameof(HostStat.CtimeNsec)));
        // AArch64 (asm-generic/stat.h)
        Assert.Equal(16, (int)Marshal.OffsetOf<GuestStat>(nameof(GuestStat.Mode)));
        Assert.Equal(20, (int)Marshal.OffsetOf<GuestStat>(nameof(GuestStat.Nlink)));
        Assert.Equal(24, (int)Marshal.OffsetOf<GuestStat>(nameof(GuestStat.Uid)));
        Assert.Equal(32, (int)Marshal.OffsetOf<GuestStat>(nameof(GuestStat.Rdev)));
        Assert.Equal(48, (int)Marshal.OffsetOf<GuestStat>(nameof(GuestStat.Size)));
        Assert.Equal(56, (int)Marshal.OffsetOf<GuestStat>(nameof(GuestStat.Blksize)));
        Assert.Equal(64, (int)Marshal.OffsetOf<GuestStat>(nameof(GuestStat.Blocks)));
        Assert.Equal(72, (int)Marshal.OffsetOf<GuestStat>(nameof(GuestStat.Atime)));
        Assert.Equal(88, (int)Marshal.OffsetOf<GuestStat>(nameof(GuestStat.Mtime)));
        Assert.Equal(104, (int)Marshal.OffsetOf<GuestStat>(nameof(GuestStat.Ctime)));
        Assert.Equal(112, (int)Marshal.OffsetOf<GuestStat>(nameof(GuestStat.CtimeNsec)));
        Assert.Equal(12, Marshal.SizeOf<HostEpollEvent>());
        Assert.Equal(16, Marshal.SizeOf<GuestEpollEvent>());
    }

    [Fact]
    public void StatConversionMovesEveryField()
    {
        var h = new HostStat
        {
            Dev = 0x801, Ino = 123456789012, Nlink = 3, Mode = 0x81a4, Uid = 1000, Gid = 100, Rdev = 0x1234,
            Size = 1L << 40, Blksize = 4096, Blocks = 17, Atime = 1700000000, AtimeNsec = 1, Mtime = 1700000001,
            MtimeNsec = 2, Ctime = 1700000002, CtimeNsec = 999999999,
        };
        var g = GuestStructs.ToGuest(h);
        Assert.Equal(h.Dev, g.Dev);
        Assert.Equal(h.Ino, g.Ino);
        Assert.Equal(3u, g.Nlink);
        Assert.Equal(h.Mode, g.Mode);
        Assert.Equal(h.Uid, g.Uid);
        Assert.Equal(h.Gid, g.Gid);
        Assert.Equal(h.Rdev, g.Rdev);
        Assert.Equal(h.Size, g.Size);
        Assert.Equal(4096, g.Blksize);
        Assert.Equal(17, g.Blocks);
        Assert.Equal((h.Atime, h.AtimeNsec), (g.Atime, g.AtimeNsec));
        Assert.Equal((h.Mtime, h.MtimeNsec), (g.Mtime, g.MtimeNsec));
        Assert.Equal((h.Ctime, h.CtimeNsec), (g.Ctime, g.CtimeNsec));
        Assert.Equal(0UL, g.Pad1);
    }

    [Theory]
    [InlineData(0x4000, 0x10000)]   // O_DIRECTORY
    [InlineData(0x8000, 0x20000)]   // O_NOFOLLOW
    [InlineData(0x10000, 0x4000)]   // O_DIRECT
    [InlineData(0x20000, 0x8000)]   // O_LARGEFILE
    [InlineData(0x80000 | 0x800 | 0x400 | 0x200 | 0x40 | 2, 0x80000 | 0x800 | 0x400 | 0x200 | 0x40 | 2)] // shared bits
    [InlineData(0x404000, 0x410000)] // O_TMPFILE = __O_TMPFILE | O_DIRECTORY
    public void OpenFlagsTranslateBothWays(int guest, int host)
    {
        Assert.Equal(host, GuestStructs.OpenFlagsToHost(guest));
        Assert.Equal(guest, GuestStructs.OpenFlagsToGuest(host));
    }
}
