using System.Text;
using Dqemu.Runtime.Memory;
using Dqemu.Runtime.Signals;
using Dqemu.Runtime.Syscalls;
using Xunit;

namespace Dqemu.Tests.Syscalls;

[Collection("Syscalls")]
public unsafe class FileSyscallTests
{
    private const int Getcwd = 17, Fcntl = 25, Mkdirat = 34, Unlinkat = 35, Openat = 56, Close = 57, Pipe2 = 59,
        Getdents64 = 61, Lseek = 62, Read = 63, Write = 64, Readv = 65, Writev = 66, Readlinkat = 78, Newfstatat = 79,
        Fstat = 80;
    private const ulong AtFdcwd = unchecked((ulong)-100L);
    private const ulong Page = GuestSpace.PageSize;
    private readonly SyscallHarness h;

    public FileSyscallTests(SyscallHarness harness) => h = harness;

    private static string TempPath() => Path.Combine(Path.GetTempPath(), $"dqemu-sys-{Guid.NewGuid():N}");

    private long Open(string path, int flags, int mode = 0644) => h.Call(Openat, AtFdcwd, h.Str(path, 0x4000), (ulong)flags, (ulong)mode);

    [Fact]
    public void FstatAndNewfstatatFillTheAarch64Layout()
    {
        string path = TempPath();
        File.WriteAllBytes(path, new byte[12345]);
        try
        {
            long fd = Open(path, 0);
            Assert.True(fd >= 0);
            ulong buf = SyscallHarness.Scratch + 0x1000;
            h.Bytes(buf, 128).Fill(0xcc);
            Assert.Equal(0, h.Call(Fstat, (ulong)fd, buf));
            var st = h.Space.Read<GuestStat>(buf);
            Assert.Equal(12345, st.Size);
            Assert.Equal(0x8000u, st.Mode & 0xf000); // S_IFREG
            Assert.Equal(1u, st.Nlink);
            Assert.True(st.Blksize > 0);
            Assert.Equal(0u, st.Unused4);
            var info = new FileInfo(path);
            Assert.Equal(new DateTimeOffset(info.LastWriteTimeUtc).ToUnixTimeSeconds(), st.Mtime);

            ulong buf2 = SyscallHarness.Scratch + 0x2000;
            Assert.Equal(0, h.Call(Newfstatat, AtFdcwd, h.Str(path, 0x4000), buf2, 0));
            Assert.Equal(st.Ino, h.Space.Read<GuestStat>(buf2).Ino);
            Assert.Equal(-Errno.ENOENT, h.Call(Newfstatat, AtFdcwd, h.Str(path + ".missing", 0x4000), buf2, 0));
            Assert.Equal(-Errno.EFAULT, h.Call(Fstat, (ulong)fd, 0x10UL));
            // AT_EMPTY_PATH on the fd itself
            Assert.Equal(0, h.Call(Newfstatat, (ulong)fd, h.Str("", 0x4000), buf2, 0x1000));
            Assert.Equal(12345, h.Space.Read<GuestStat>(buf2).Size);
            h.Call(Close, (ulong)fd);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void OpenFlagsAndFcntlUseTheGuestEncoding()
    {
        string dir = Directory.CreateTempSubdirectory("dqemu-sys-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "f"), "x");
            // guest O_DIRECTORY (0x4000) is host O_DIRECT: it must be translated
            long d = Open(dir, 0x4000);
            Assert.True(d >= 0, $"open dir: {d}");
            Assert.Equal(-Errno.ENOTDIR, Open(Path.Combine(dir, "f"), 0x4000));
            long fl = h.Call(Fcntl, (ulong)d, 3);
            Assert.True((fl & 0x20000) != 0, "F_GETFL reports the guest's O_LARGEFILE");
            Assert.True((fl & 0x4000) != 0, "F_GETFL reports the guest's O_DIRECTORY");
            h.Call(Close, (ulong)d);
            // O_NOFOLLOW (guest 0x8000) on a symlink: ELOOP
            File.CreateSymbolicLink(Path.Combine(dir, "l"), "f");
            Assert.Equal(-Errno.ELOOP, Open(Path.Combine(dir, "l"), 0x8000));
            long f = Open(Path.Combine(dir, "f"), 2);
            Assert.Equal(0, h.Call(Fcntl, (ulong)f, 4, 0x400)); // F_SETFL O_APPEND
            Assert.True((h.Call(Fcntl, (ulong)f, 3) & 0x400) != 0);
            Assert.Equal(-Errno.EINVAL, h.Call(Fcntl, (ulong)f, 9999));
            h.Call(Close, (ulong)f);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ReadAndWriteGoStraightToGuestMemoryAndFaultWhereLinuxDoes()
    {
        ulong fds = SyscallHarness.Scratch + 0x3000;
        Assert.Equal(0, h.Call(Pipe2, fds, 0));
        int r = h.Space.Read<int>(fds), w = h.Space.Read<int>(fds + 4);
        ulong msg = h.Str("hello pipe", 0x3100);
        Assert.Equal(10, h.Call(Write, (ulong)w, msg, 10));
        // a buffer that runs into an unmapped page: the kernel stops at the fault as Linux does (checked on Linux):
        // a pipe read that cannot copy its whole first chunk fails with EFAULT and leaves the data in the pipe
        ulong end = SyscallHarness.Scratch + SyscallHarness.ScratchSize;
        Assert.Equal(-Errno.EFAULT, h.Call(Read, (ulong)r, end - 4, 100));
        Assert.Equal(-Errno.EFAULT, h.Call(Read, (ulong)r, end, 10));
        Assert.Equal(10, h.Call(Read, (ulong)r, SyscallHarness.Scratch + 0x3700, 100));
        Assert.Equal("hello pipe", Encoding.ASCII.GetString(h.Bytes(SyscallHarness.Scratch + 0x3700, 10)));
        Assert.Equal(10, h.Call(Write, (ulong)w, msg, 10));
        Assert.Equal(-Errno.EFAULT, h.Call(Write, (ulong)w, 0x10UL, 10));
        // a read from a file returns what it copied before the fault
        string path = TempPath();
        File.WriteAllText(path, "hello file");
        try
        {
            long f = Open(path, 0);
            Assert.Equal(4, h.Call(Read, (ulong)f, end - 4, 100));
            Assert.Equal("hell", Encoding.ASCII.GetString(h.Bytes(end - 4, 4)));
            h.Call(Close, (ulong)f);
        }
        finally { File.Delete(path); }
        Assert.Equal(10, h.Call(Read, (ulong)r, SyscallHarness.Scratch + 0x3700, 100)); // empty the pipe again
        // writev / readv with guest iovecs
        ulong iov = SyscallHarness.Scratch + 0x3200;
        ulong a = h.Str("abc", 0x3300), b = h.Str("defgh", 0x3400);
        h.Space.Write(iov, a); h.Space.Write(iov + 8, 3UL);
        h.Space.Write(iov + 16, 0UL); h.Space.Write(iov + 24, 0UL);
        h.Space.Write(iov + 32, b); h.Space.Write(iov + 40, 5UL);
        Assert.Equal(8, h.Call(Writev, (ulong)w, iov, 3));
        ulong o1 = SyscallHarness.Scratch + 0x3500, o2 = SyscallHarness.Scratch + 0x3600;
        h.Space.Write(iov, o1); h.Space.Write(iov + 8, 8UL);
        h.Space.Write(iov + 16, o2); h.Space.Write(iov + 24, 20UL);
        Assert.Equal(2, h.Call(Write, (ulong)w, h.Str("ij", 0x3800), 2));
        Assert.Equal(10, h.Call(Readv, (ulong)r, iov, 2));
        Assert.Equal("abcdefgh", Encoding.ASCII.GetString(h.Bytes(o1, 8)));
        Assert.Equal("ij", Encoding.ASCII.GetString(h.Bytes(o2, 2)));
        Assert.Equal(-Errno.EINVAL, h.Call(Readv, (ulong)r, iov, 5000));
        h.Call(Close, (ulong)r);
        h.Call(Close, (ulong)w);
    }

    [Fact]
    public void WriteToABrokenPipeRaisesSigpipe()
    {
        var (p, t) = h.NewProcess();
        ulong fds = SyscallHarness.Scratch + 0x3000;
        Assert.Equal(0, h.Call(Pipe2, fds, 0));
        int r = h.Space.Read<int>(fds), w = h.Space.Read<int>(fds + 4);
        h.Call(Close, (ulong)r);
        // SIG_IGN: just EPIPE
        p.SigHandlers[13 * 4] = 1;
        Assert.Equal(-Errno.EPIPE, h.Call(Write, (ulong)w, h.Str("x", 0x3100), 1));
        Assert.False(t.Exited);
        Assert.Equal(0UL, t.Pending);
        // default: the process dies of SIGPIPE once the dispatcher delivers it
        p.SigHandlers[13 * 4] = 0;
        Assert.Equal(-Errno.EPIPE, h.Call(Write, (ulong)w, h.Str("x", 0x3100), 1));
        Assert.Equal(1UL << 12, t.Pending);
        SignalDelivery.DeliverPending(p, t);
        Assert.True(t.Exited);
        Assert.Equal(128 + 13, p.ExitStatus);
        h.Call(Close, (ulong)w);
        h.NewProcess();
    }

    [Fact]
    public void ReadlinkOfProcSelfExeIsTheGuestExecutable()
    {
        ulong buf = SyscallHarness.Scratch + 0x5000;
        long n = h.Call(Readlinkat, AtFdcwd, h.Str("/proc/self/exe"), buf, 256);
        Assert.Equal("/opt/guest/prog", Encoding.UTF8.GetString(h.Bytes(buf, (int)n)));
        n = h.Call(Readlinkat, AtFdcwd, h.Str($"/proc/{Environment.ProcessId}/exe"), buf, 4);
        Assert.Equal("/opt", Encoding.UTF8.GetString(h.Bytes(buf, (int)n)));
        Assert.Equal(-Errno.EINVAL, h.Call(Readlinkat, AtFdcwd, h.Str("/proc/self/exe"), buf, 0));
        string dir = Directory.CreateTempSubdirectory("dqemu-sys-").FullName;
        try
        {
            File.CreateSymbolicLink(Path.Combine(dir, "l"), "target/name");
            n = h.Call(Readlinkat, AtFdcwd, h.Str(Path.Combine(dir, "l")), buf, 256);
            Assert.Equal("target/name", Encoding.UTF8.GetString(h.Bytes(buf, (int)n)));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ProcSelfMapsDescribesTheGuestLayout()
    {
        long fd = h.Call(Openat, AtFdcwd, h.Str("/proc/self/maps"), 0, 0);
        Assert.True(fd >= 0);
        ulong buf = SyscallHarness.Scratch + 0x10000;
        long n = h.Call(Read, (ulong)fd, buf, 0x10000);
        h.Call(Close, (ulong)fd);
        string text = Encoding.UTF8.GetString(h.Bytes(buf, (int)n));
        Assert.Contains($"{SyscallHarness.Scratch:x8}-{SyscallHarness.Scratch + SyscallHarness.ScratchSize:x8} rw-p", text);
        Assert.Contains("scratch", text);
    }

    [Fact]
    public void GetcwdChecksTheBufferSize()
    {
        ulong buf = SyscallHarness.Scratch + 0x6000;
        long n = h.Call(Getcwd, buf, 4096);
        Assert.True(n > 1);
        Assert.Equal(Directory.GetCurrentDirectory() + "\0", Encoding.UTF8.GetString(h.Bytes(buf, (int)n)));
        Assert.Equal(-Errno.ERANGE, h.Call(Getcwd, buf, 1));
    }

    [Fact]
    public void DirectoriesListAndRemove()
    {
        string dir = Directory.CreateTempSubdirectory("dqemu-sys-").FullName;
        try
        {
            Assert.Equal(0, h.Call(Mkdirat, AtFdcwd, h.Str(Path.Combine(dir, "sub")), 0x1ed));
            Assert.Equal(-Errno.EEXIST, h.Call(Mkdirat, AtFdcwd, h.Str(Path.Combine(dir, "sub")), 0x1ed));
            File.WriteAllText(Path.Combine(dir, "file"), "");
            long d = Open(dir, 0x4000);
            ulong buf = SyscallHarness.Scratch + 0x20000;
            long n = h.Call(Getdents64, (ulong)d, buf, 4096);
            Assert.True(n > 0);
            var names = new List<string>();
            for (long off = 0; off < n;)
            {
                ushort reclen = h.Space.Read<ushort>(buf + (ulong)off + 16);
                var name = h.Bytes(buf + (ulong)off + 19, reclen - 19);
                names.Add(Encoding.UTF8.GetString(name[..name.IndexOf((byte)0)]));
                off += reclen;
            }
            names.Sort(StringComparer.Ordinal);
            Assert.Equal(new[] { ".", "..", "file", "sub" }, names);
            h.Call(Close, (ulong)d);
            Assert.Equal(0, h.Call(Unlinkat, AtFdcwd, h.Str(Path.Combine(dir, "sub")), 0x200));
            Assert.Equal(0, h.Call(Unlinkat, AtFdcwd, h.Str(Path.Combine(dir, "file")), 0));
            Assert.Empty(Directory.GetFileSystemEntries(dir));
            Assert.Equal(-Errno.EFAULT, h.Call(Unlinkat, AtFdcwd, 0x10UL, 0));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void SysrootIsTriedFirstForAbsolutePaths()
    {
        string root = Directory.CreateTempSubdirectory("dqemu-sysroot-").FullName;
        string real = TempPath();
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "lib"));
            File.WriteAllText(Path.Combine(root, "lib", "libfoo.so"), "from sysroot");
            File.WriteAllText(real, "from host");
            h.NewProcess(root);
            ulong buf = SyscallHarness.Scratch + 0x7000;
            long fd = Open("/lib/libfoo.so", 0);
            Assert.True(fd >= 0);
            Assert.Equal(12, h.Call(Read, (ulong)fd, buf, 100));
            h.Call(Close, (ulong)fd);
            fd = Open(real, 0);
            Assert.True(fd >= 0, "a path missing from the sysroot is the host's");
            Assert.Equal(9, h.Call(Read, (ulong)fd, buf, 100));
            h.Call(Close, (ulong)fd);
            Assert.Equal(0, h.Call(Newfstatat, AtFdcwd, h.Str("/lib/libfoo.so", 0x4000), buf, 0));
            Assert.Equal(12, h.Space.Read<GuestStat>(buf).Size);
        }
        finally
        {
            h.NewProcess();
            Directory.Delete(root, true);
            File.Delete(real);
        }
    }

    [Fact]
    public void TheEmulatorsOwnFdsAreNotTheGuestsToClose()
    {
        // an fd the emulator holds, moved up where the runtime's own live, between two of the guest's
        ulong high = EmulatorFds.Floor + 300;
        while (h.Call(Fcntl, high - 1, 1) != -Errno.EBADF || h.Call(Fcntl, high, 1) != -Errno.EBADF
               || h.Call(Fcntl, high + 1, 1) != -Errno.EBADF) high += 3;
        long fd = Open("/dev/null", 0);
        Assert.Equal((long)high, h.Call(24, (ulong)fd, high, 0x80000)); // dup3(fd, high, O_CLOEXEC)
        h.Call(Close, (ulong)fd);
        EmulatorFds.Add((int)high);
        Assert.Equal(-Errno.EBADF, h.Call(Close, high));
        Assert.Equal(-Errno.EBUSY, h.Call(24, 1UL, high, 0)); // dup3 onto it
        // close_range over it closes the guest's fds around it and leaves it open
        ulong a = high - 1, b = high + 1;
        Assert.Equal((long)a, h.Call(24, 1UL, a, 0));
        Assert.Equal((long)b, h.Call(24, 1UL, b, 0));
        Assert.Equal(0, h.Call(436, a, b, 0));
        Assert.Equal(-Errno.EBADF, h.Call(Fcntl, a, 1));
        Assert.Equal(-Errno.EBADF, h.Call(Fcntl, b, 1));
        Assert.True(h.Call(Fcntl, high, 1) >= 0);
    }

    [Fact]
    public void UnknownIoctlIsRefusedAndTerminalOnesPassThrough()
    {
        ulong fds = SyscallHarness.Scratch + 0x3000;
        Assert.Equal(0, h.Call(Pipe2, fds, 0));
        int r = h.Space.Read<int>(fds), w = h.Space.Read<int>(fds + 4);
        h.Call(Write, (ulong)w, h.Str("12345", 0x3100), 5);
        ulong avail = SyscallHarness.Scratch + 0x3200;
        Assert.Equal(0, h.Call(29, (ulong)r, 0x541B, avail)); // FIONREAD
        Assert.Equal(5, h.Space.Read<int>(avail));
        Assert.Equal(-Errno.ENOTTY, h.Call(29, (ulong)r, 0x5401, SyscallHarness.Scratch + 0x3300)); // TCGETS on a pipe
        Assert.Equal(-Errno.ENOTTY, h.Call(29, (ulong)r, 0xdead, 0));
        Assert.Equal(-Errno.EFAULT, h.Call(29, (ulong)r, 0x541B, 0x10));
        h.Call(Close, (ulong)r);
        h.Call(Close, (ulong)w);
    }
}
