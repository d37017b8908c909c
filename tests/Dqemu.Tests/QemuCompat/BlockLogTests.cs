using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;

namespace Dqemu.Tests.QemuCompat;

/// <summary>
/// -d exec, -d cpu, -d nochain and -D against qemu-aarch64 7.2 on tests/guests/block_log.c, whose code under test lies
/// in one page-aligned section smaller than a page ("probe_text"): there both translators end blocks at the same
/// places (every branch; no page boundary cuts a qemu block; no block reaches either's length limit), so the blocks
/// entered there, in order, are exactly comparable. Outside it the two run different library code (glibc picks string
/// functions by the CPU features each reports).
/// </summary>
public partial class BlockLogTests
{
    [GeneratedRegex(@"^probe_text 0x([0-9a-f]+) 0x([0-9a-f]+)\ncpu_probe 0x([0-9a-f]+)\n")]
    private static partial Regex Bounds();

    [GeneratedRegex(@"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]{16}/([0-9a-f]{16})/[0-9a-f]{8}/[0-9a-f]{8}\] ", RegexOptions.Multiline)]
    private static partial Regex TraceLine();

    private static (string Stdout, string Log) Run(string exe, string[] options)
    {
        var g = QemuSide.Guest("block_log");
        string? log = null;
        var r = QemuSide.Run(exe, [.. options, "-D", "log.txt", g], QemuSide.Env(), dir => log = File.ReadAllText(Path.Combine(dir, "log.txt")));
        Assert.True(r.ExitCode == 0, $"{Path.GetFileName(exe)}: {r.Describe()}\n{r.Stderr}");
        Assert.Equal("", r.Stderr);
        return (r.Stdout, log!);
    }

    private static (ulong Start, ulong Stop, ulong Probe) ParseBounds(string stdout)
    {
        var m = Bounds().Match(stdout);
        Assert.True(m.Success, stdout);
        ulong H(int i) => ulong.Parse(m.Groups[i].Value, NumberStyles.HexNumber);
        Assert.True(H(2) - H(1) < 4096 && H(1) % 4096 == 0, $"probe_text must be one page-aligned page at most: {stdout}");
        return (H(1), H(2), H(3));
    }

    [Fact]
    public void ExecNochainEntersTheSameBlocksInTheSameOrderAsQemu()
    {
        var (qOut, qLog) = Run(QemuSide.Qemu, ["-d", "exec,nochain"]);
        var (dOut, dLog) = Run(QemuSide.Dqemu, ["-d", "exec,nochain"]);
        Assert.Equal(qOut, dOut);
        var (start, stop, probe) = ParseBounds(dOut);
        List<ulong> Pcs(string log) => TraceLine().Matches(log).Select(m => ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber))
            .Where(pc => pc >= start && pc < stop).ToList();
        var q = Pcs(qLog);
        var d = Pcs(dLog);
        Assert.True(q.Count > 100, $"qemu's log has {q.Count} blocks in probe_text");
        Assert.Contains(probe, q);
        Assert.Equal(q, d);
        // every line of ours is a Trace line
        Assert.All(dLog.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.Matches(TraceLine(), l + "\n"));
    }

    /// <summary>The registers at cpu_probe (x0-x28 set to known values, N set by a cmp, x30 the return address into
    /// main) as qemu prints them, line for line; SP and X29 are stack addresses, and the stack lies elsewhere in qemu.</summary>
    [Fact]
    public void CpuDumpAtTheProbeEqualsQemusButForTheStack()
    {
        var (qOut, qLog) = Run(QemuSide.Qemu, ["-d", "cpu,nochain"]);
        var (dOut, dLog) = Run(QemuSide.Dqemu, ["-d", "cpu,nochain"]);
        Assert.Equal(qOut, dOut);
        var (_, _, probe) = ParseBounds(dOut);
        string Dump(string log)
        {
            int at = log.IndexOf($" PC={probe:x16} ", StringComparison.Ordinal);
            Assert.True(at >= 0, "no register dump at cpu_probe");
            var lines = log[at..].Split('\n').Take(12).ToArray();
            lines[10] = Regex.Replace(lines[10], @"^X29=[0-9a-f]{16} (X30=[0-9a-f]{16})  SP=[0-9a-f]{16}$", "X29=<stack> $1  SP=<stack>");
            return string.Join('\n', lines);
        }
        string expected = Dump(qLog);
        Assert.Contains("X00=0000000000001000 X01=0000000000001101", expected);
        Assert.Contains("X29=<stack> X30=", expected);
        Assert.Equal(expected, Dump(dLog));
    }

    /// <summary>Without -d the translated code has no hook: the same guest gives no log at all.</summary>
    [Fact]
    public void NoItemsNoLog()
    {
        var (_, log) = Run(QemuSide.Dqemu, ["-d", "in_asm", "-d", "nochain"]);
        Assert.Equal("", log);
    }
}
