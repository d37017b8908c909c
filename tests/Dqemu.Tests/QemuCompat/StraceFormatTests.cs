using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.QemuCompat;

/// <summary>
/// --strace lines against qemu-aarch64 7.2's -strace on tests/guests/file_io.c: the calls whose arguments are paths,
/// descriptors, flags and static data (not stack or mmap addresses, which differ between the two) must read
/// the same, line for line in order, once the pid is set aside.
/// </summary>
public partial class StraceFormatTests(ITestOutputHelper output)
{
    static readonly HashSet<string> Compared =
        ["openat", "close", "lseek", "mkdirat", "unlinkat", "renameat", "linkat", "symlinkat", "ftruncate", "fsync", "umask", "exit_group"];

    [GeneratedRegex(@"^(\d+) ([a-z_0-9]+)\((.*)$")]
    private static partial Regex Line();

    private static List<string> Lines(string stderr, int[] pids) =>
        stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => Line().Match(l)).Where(m => m.Success && Compared.Contains(m.Groups[2].Value))
            .Select(m => $"PID {m.Groups[2].Value}({m.Groups[3].Value}").ToList();

    [Fact]
    public void FileCallsReadAsQemus()
    {
        var g = QemuSide.Guest("file_io");
        var (q, d) = QemuSide.Both(["-strace", g], ["--strace", g], QemuSide.Env());
        var ql = Lines(q.Stderr, []);
        var dl = Lines(d.Stderr, []);
        output.WriteLine(string.Join('\n', dl));
        Assert.True(ql.Count > 40, $"qemu printed {ql.Count} comparable lines");
        Assert.Contains(ql, l => l.StartsWith("PID openat(AT_FDCWD,\"d/a.txt\",O_RDWR|O_CREAT|O_TRUNC,0666) = 3", StringComparison.Ordinal));
        Assert.Contains(ql, l => l.EndsWith(" = -1 errno=17 (File exists)", StringComparison.Ordinal));
        Assert.Equal(ql, dl);
    }

    /// <summary>Every line of ours starts as qemu's do ("PID name(" or "PID Unknown syscall N"), so scripts keyed on
    /// it work; write's buffer is qemu's 32-bit %#x, and brk's result a 16-digit address.</summary>
    [Fact]
    public void EveryLineHasQemusShape()
    {
        var g = QemuSide.Guest("exit_ret42");
        var (q, d) = QemuSide.Both(["-strace", g], ["--strace", g], QemuSide.Env());
        var lines = d.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => Assert.Matches(@"^\d+ ([a-z_0-9]+\(.*\)( = (-1 errno=\d+ \(.+\)|-?\d+|0x[0-9a-f]{16}))?|Unknown syscall \d+)$", l));
        Assert.Matches(@"(?m)^\d+ write\(1,0x[0-9a-f]{1,8},25\) = 25$", d.Stderr);
        Assert.Matches(@"(?m)^\d+ brk\(NULL\) = 0x[0-9a-f]{16}$", d.Stderr);
        Assert.EndsWith(" exit_group(42)", lines[^1]);
        Assert.EndsWith(" exit_group(42)", q.Stderr.TrimEnd('\n').Split('\n')[^1]);
    }
}
