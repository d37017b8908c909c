using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Cluster;

/// <summary>
/// The diagnosis of a hang (DQEMU_DIAGNOSE=1, <c>dqemu-native --diagnose PID</c>) as the cluster tests get it when a run
/// times out: tests/guests/diag/hang_futex.c, whose one thread waits forever on a futex word and another computes
/// forever, runs until the time limit, and the dump taken before the kill must name those guest threads, what they do
/// and pcs inside the guest's code, each node's transport threads and the futex word in the engine's table.
/// </summary>
[Collection(MultiNodeCollection.Name)]
public sealed class DiagnosisTests(ITestOutputHelper output)
{
    private static readonly TimeSpan HangFor = TimeSpan.FromSeconds(3);

    [Theory]
    [MemberData(nameof(Transports))]
    public void ATimedOutClusterRunPrintsWhatEveryGuestThreadWaitsFor(string transport)
    {
        string guest = BuildHangGuest();
        using var cluster = new LoopbackCluster(transport, 2);
        var r = ThreadedGuests.RunIn(LoopbackCluster.Binary, ["--cluster", cluster.ConfigPath, guest],
            GuestRunner.StandardGuestEnvironment, null, HangFor);
        output.WriteLine($"{r.Describe()}, stdout:\n{r.Stdout}\nstderr:\n{r.Stderr}");
        Assert.True(r.TimedOut, $"the hanging guest ended: {r.Describe()}");
        var (textStart, textEnd, gate) = Addresses(r.Stdout);
        int at = r.Stderr.IndexOf(ClusterDiagnosis.Marker, StringComparison.Ordinal);
        Assert.True(at >= 0, "no diagnosis in the timed-out run's stderr");
        string dump = r.Stderr[at..];

        // both nodes answered
        Assert.Equal(2, Regex.Matches(dump, @"^dqemu-native diagnosis of pid \d+", RegexOptions.Multiline).Count);
        Assert.Contains("node 0 of 2:", dump);
        Assert.Contains("node 1 of 2:", dump);
        // the waiter: in futex wait on the gate, a pc in the guest's code; the futex engine of its node lists the word
        var waiter = GuestLines(dump).Where(g => g.What.Contains($"in syscall futex (98): wait on 0x{gate:x} while it holds 0")).ToList();
        Assert.True(waiter.Count == 1, $"{waiter.Count} guest threads waiting on the gate 0x{gate:x}:\n{dump}");
        Assert.InRange(waiter[0].Pc, textStart, textEnd);
        Assert.Matches($@"futex:.* local 0x{gate:x}: 1 waiting, registered True", dump);
        // the spinner: running guest code; main: joining the waiter (a futex wait on the word holding its tid)
        var guests = GuestLines(dump);
        Assert.Contains(guests, g => g.What.StartsWith("running guest code", StringComparison.Ordinal) && g.Pc >= textStart && g.Pc < textEnd);
        Assert.Contains(guests, g => g.What.StartsWith("in syscall futex (98): wait", StringComparison.Ordinal) &&
                                     g.What.EndsWith($" while it holds {waiter[0].Tid}", StringComparison.Ordinal));
        Assert.Equal(3, guests.Select(g => g.Tid).Distinct().Count());
        // each node's transport threads
        Assert.Equal(2, Regex.Matches(dump, transport == "tcp" ? "tcp receive loop, connection to node" : "ucx progress loop").Count);
        // the native stacks, from gdb (toolchains/install.sh installs it)
        Assert.True(GuestRunner.FindOnPath("gdb") != null, "gdb not found; run toolchains/install.sh (Debian package gdb)");
        Assert.Equal(2, Regex.Matches(dump, "^native stacks \\(gdb\\):", RegexOptions.Multiline).Count);
        Assert.Matches(@"\n  #0 ", dump);
        var left = cluster.WaitForNoProcesses(TimeSpan.FromSeconds(10));
        Assert.True(left.Count == 0, $"processes left after the kill: {string.Join(", ", left)}");
    }

    /// <summary>One node, no cluster: with the variable the process answers (its guest threads named as above);
    /// without it, nothing listens and there is no diagnosis thread — it costs nothing — and --diagnose says so in one
    /// line with 69.</summary>
    [Fact]
    public void OneNodeAnswersOnlyWithTheVariable()
    {
        string guest = BuildHangGuest();
        string? with = null, without = null, threadsWithout = null;
        var r1 = GuestRunner.Run(LoopbackCluster.Binary, [guest], ClusterDiagnosis.Environment(GuestRunner.StandardGuestEnvironment),
            timeout: HangFor, onTimeout: pid => with = GuestRunner.Run(LoopbackCluster.Binary, ["--diagnose", pid.ToString()]).Stdout);
        var r2 = GuestRunner.Run(LoopbackCluster.Binary, [guest], GuestRunner.StandardGuestEnvironment, timeout: HangFor, onTimeout: pid =>
        {
            threadsWithout = string.Join(",", Directory.EnumerateDirectories($"/proc/{pid}/task").Select(d => File.ReadAllText(Path.Combine(d, "comm")).Trim()));
            var d = GuestRunner.Run(LoopbackCluster.Binary, ["--diagnose", pid.ToString()]);
            without = $"{d.ExitCode}|{d.Stdout}|{d.Stderr}";
            return "";
        });
        output.WriteLine($"with:\n{with}\nwithout: {without}\nthreads without: {threadsWithout}");
        Assert.True(r1.TimedOut && r2.TimedOut, $"the hanging guest ended: {r1.Describe()}, {r2.Describe()}");
        var (textStart, textEnd, gate) = Addresses(r1.Stdout);
        var guests = GuestLines(with ?? "");
        Assert.Contains(guests, g => g.What.Contains($"wait on 0x{gate:x} while it holds 0") && g.Pc >= textStart && g.Pc < textEnd);
        Assert.Contains(guests, g => g.What.StartsWith("running guest code", StringComparison.Ordinal));
        Assert.Contains("\"dqemu-diagnose\"", with);
        Assert.DoesNotContain("dqemu-diagnose", threadsWithout);
        var parts = without!.Split('|');
        Assert.Equal("69", parts[0]);
        Assert.Equal("", parts[1]);
        Assert.Matches(@"^dqemu-native: --diagnose: process \d+ does not answer \(not a dqemu-native started with DQEMU_DIAGNOSE=1, or gone\)\n$", parts[2]);
    }

    /// <summary>
    /// After answering a request the diagnosis thread waits for the next one without holding a descriptor: Linux takes
    /// the number of accept()'s new descriptor before it blocks, so a thread waiting in accept() held fd 3, and the
    /// guest's next open() got 4 where Linux and qemu-aarch64 give 3.
    /// </summary>
    [Fact]
    public void AnsweringLeavesTheGuestsLowestDescriptorFree()
    {
        string guest = BuildDiagGuest("open_after_request");
        var psi = new System.Diagnostics.ProcessStartInfo(LoopbackCluster.Binary) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(guest);
        foreach (var (k, v) in ClusterDiagnosis.Environment(GuestRunner.StandardGuestEnvironment)) psi.Environment[k] = v;
        using var p = System.Diagnostics.Process.Start(psi)!;
        try
        {
            Assert.Equal("ready", p.StandardOutput.ReadLine());
            var d = GuestRunner.Run(LoopbackCluster.Binary, ["--diagnose", p.Id.ToString(CultureInfo.InvariantCulture)]);
            Assert.True(d.ExitCode == 0 && d.Stdout.Contains("guest thread", StringComparison.Ordinal), $"no diagnosis: {d.Describe()}\n{d.Stdout}{d.Stderr}");
            p.StandardInput.WriteLine("go");
            p.StandardInput.Close();
            string rest = p.StandardOutput.ReadToEnd();
            Assert.True(p.WaitForExit(30_000), "the guest did not end");
            Assert.Equal(0, p.ExitCode);
            Assert.Equal("open -> 3\n", rest);
        }
        finally
        {
            if (!p.HasExited) p.Kill();
        }
    }

    [Theory]
    [InlineData("abc", 64, "dqemu-native: --diagnose needs a process id, not 'abc'")]
    [InlineData("0", 64, "dqemu-native: --diagnose needs a process id, not '0'")]
    public void ABadDiagnoseArgumentIsOneLine(string arg, int status, string line)
    {
        var r = GuestRunner.Run(LoopbackCluster.Binary, ["--diagnose", arg]);
        Assert.Equal(status, r.ExitCode);
        Assert.Equal(line + "\n", r.Stderr);
    }

    public static TheoryData<string> Transports() => LoopbackCluster.TransportData();

    private readonly record struct GuestLine(int Tid, ulong Pc, string What);

    /// <summary>Every "guest thread T, pc 0x..: what" of a dump.</summary>
    private static List<GuestLine> GuestLines(string dump) =>
        Regex.Matches(dump, @"guest thread (\d+), pc 0x([0-9a-f]+): (.*)$", RegexOptions.Multiline)
            .Select(m => new GuestLine(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
                ulong.Parse(m.Groups[2].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture), m.Groups[3].Value))
            .ToList();

    /// <summary>The guest's own report: its code's range and the gate's address.</summary>
    private static (ulong TextStart, ulong TextEnd, ulong Gate) Addresses(string stdout)
    {
        var t = Regex.Match(stdout, @"text 0x([0-9a-f]+) 0x([0-9a-f]+)\ngate 0x([0-9a-f]+)\nstarted\n");
        Assert.True(t.Success, $"the guest did not start as it should: {stdout}");
        ulong Hex(int i) => ulong.Parse(t.Groups[i].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return (Hex(1), Hex(2), Hex(3));
    }

    /// <summary>tests/guests/diag/hang_futex.c built static for AArch64 into build/guests/diag (again when the source is newer).</summary>
    private static string BuildHangGuest() => BuildDiagGuest("hang_futex");

    /// <summary>tests/guests/diag/NAME.c built static for AArch64 into build/guests/diag (again when the source is newer).</summary>
    private static string BuildDiagGuest(string name)
    {
        var root = GuestRunner.RequireRepoRoot();
        var src = Path.Combine(root, "tests", "guests", "diag", name + ".c");
        var bin = Path.Combine(root, "build", "guests", "diag", name);
        if (!File.Exists(LoopbackCluster.Binary)) Assert.Fail($"{LoopbackCluster.Binary} is missing; run ./build.sh");
        if (File.Exists(bin) && File.GetLastWriteTimeUtc(bin) >= File.GetLastWriteTimeUtc(src)) return bin;
        var cc = GuestRunner.FindOnPath("aarch64-linux-gnu-gcc")
                 ?? throw new InvalidOperationException("aarch64-linux-gnu-gcc not found; run toolchains/install.sh (Debian package gcc-aarch64-linux-gnu)");
        Directory.CreateDirectory(Path.GetDirectoryName(bin)!);
        string tmp = bin + $".{System.Environment.ProcessId}.tmp";
        var r = GuestRunner.Run(cc, ["-O2", "-static", "-pthread", "-o", tmp, src], timeout: TimeSpan.FromSeconds(120));
        if (r.ExitCode != 0) Assert.Fail($"building {src} failed: {r.Describe()}\n{r.Stderr}");
        File.Move(tmp, bin, overwrite: true);
        return bin;
    }
}
