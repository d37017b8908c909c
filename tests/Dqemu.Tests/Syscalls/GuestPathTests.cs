using System.Text;
using Dqemu.Runtime.Syscalls;
using Xunit;

namespace Dqemu.Tests.Syscalls;

public class GuestPathTests
{
    private static string S(byte[] b)
    {
        Assert.Equal(0, b[^1]);
        return Encoding.UTF8.GetString(b, 0, b.Length - 1);
    }

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s + "\0");

    [Fact]
    public void WithoutSysrootPathsAreUnchanged()
    {
        Assert.Equal("/lib/libc.so.6", S(GuestPath.Resolve(null, B("/lib/libc.so.6"), _ => true)));
        Assert.Equal("rel/x", S(GuestPath.Resolve("", B("rel/x"), _ => true)));
    }

    [Fact]
    public void AbsolutePathsPreferTheSysrootWhenTheFileExistsThere()
    {
        var seen = new List<string>();
        bool Exists(byte[] p) { seen.Add(S(p)); return S(p) == "/sysroot/lib/ld-linux-aarch64.so.1"; }
        Assert.Equal("/sysroot/lib/ld-linux-aarch64.so.1", S(GuestPath.Resolve("/sysroot/", B("/lib/ld-linux-aarch64.so.1"), Exists)));
        Assert.Equal("/tmp/out.txt", S(GuestPath.Resolve("/sysroot", B("/tmp/out.txt"), Exists)));
        Assert.Equal(new[] { "/sysroot/lib/ld-linux-aarch64.so.1", "/sysroot/tmp/out.txt" }, seen);
    }

    [Fact]
    public void RelativeAndEmptyPathsNeverUseTheSysroot()
    {
        Assert.Equal("lib/x", S(GuestPath.Resolve("/sysroot", B("lib/x"), _ => true)));
        Assert.Equal("", S(GuestPath.Resolve("/sysroot", B(""), _ => true)));
    }

    [Fact]
    public void RootSysrootMeansNoRedirection()
    {
        Assert.Equal("/etc/passwd", S(GuestPath.Resolve("/", B("/etc/passwd"), _ => true)));
        Assert.Equal("/", S(GuestPath.Resolve("/sysroot", B("/"), _ => true)));
        Assert.Equal("//", S(GuestPath.Resolve("/sysroot", B("//"), _ => true)));
    }

    [Theory]
    [InlineData("/proc/self/exe", GuestPath.Special.Exe)]
    [InlineData("/proc/self/maps", GuestPath.Special.Maps)]
    [InlineData("/proc/4242/exe", GuestPath.Special.Exe)]
    [InlineData("/proc/4243/exe", GuestPath.Special.None)]
    [InlineData("/proc/self/exe/x", GuestPath.Special.None)]
    [InlineData("/proc/self/cwd", GuestPath.Special.None)]
    [InlineData("proc/self/exe", GuestPath.Special.None)]
    [InlineData("/proc/cpuinfo", GuestPath.Special.Cpuinfo)]
    [InlineData("/proc/self/stat", GuestPath.Special.Stat)]
    [InlineData("/proc/4242/smaps", GuestPath.Special.Smaps)]
    [InlineData("/proc/self/status", GuestPath.Special.Status)]
    [InlineData("/proc/4243/stat", GuestPath.Special.None)]
    [InlineData("/proc/self/statm", GuestPath.Special.Statm)]
    [InlineData("/proc/self/statmx", GuestPath.Special.None)]
    [InlineData("/proc/4242/comm", GuestPath.Special.Comm)]
    [InlineData("/proc/thread-self/comm", GuestPath.Special.TaskComm)]
    [InlineData("/proc/self/task/4245/comm", GuestPath.Special.TaskComm)]
    [InlineData("/proc/self/task/4245/commx", GuestPath.Special.None)]
    [InlineData("/proc/thread-self/stat", GuestPath.Special.TaskStat)]
    [InlineData("/proc/4242/task/4245/stat", GuestPath.Special.TaskStat)]
    [InlineData("/proc/self/task/0245/stat", GuestPath.Special.None)]
    [InlineData("/proc/self/task//stat", GuestPath.Special.None)]
    [InlineData("/proc/self/task/12x/stat", GuestPath.Special.None)]
    public void ProcSelfEntriesAreRecognised(string path, GuestPath.Special expected)
    {
        Assert.Equal(expected, GuestPath.Classify(B(path), 4242));
    }

    [Fact]
    public void TaskStatNamesItsThread()
    {
        Assert.Equal(GuestPath.Special.TaskStat, GuestPath.Classify(B("/proc/self/task/4245/stat"), 4242, out int tid));
        Assert.Equal(4245, tid);
        Assert.Equal(GuestPath.Special.TaskStat, GuestPath.Classify(B("/proc/thread-self/stat"), 4242, out tid));
        Assert.Equal(0, tid);
    }
}
