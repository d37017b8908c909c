using System.Globalization;
using System.Text.RegularExpressions;
using Dqemu.Runtime.Loader;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests;

/// <summary>
/// --perf-map: /tmp/perf-PID.map as perf reads it (START SIZE name, hex), naming translated blocks by the guest's
/// symbols (tests/guests/perf_hot.c: a hot function hot_spin called from main). The names expected come from the
/// guest's source and from binutils (aarch64-linux-gnu-nm), the output from qemu-aarch64, the sampling from perf.
/// </summary>
public partial class PerfMapTests(ITestOutputHelper output)
{
    static string StaticGuest => Path.Combine(GuestRunner.GuestBinaryDir, "perf_hot");
    static string DynamicGuest => Path.Combine(GuestRunner.GuestBinaryDir, "dyn", "perf_hot");
    const string Sysroot = DynamicGuestTests.Sysroot;

    sealed record MapLine(ulong Start, ulong Size, string Name);

    [GeneratedRegex(@"^([0-9a-f]+) ([0-9a-f]+) (\S.*)$")]
    private static partial Regex LineFormat();

    /// <summary>Runs dqemu-native and returns its result and its map's lines (the map file is deleted; it must exist
    /// exactly when <paramref name="expectMap"/>).</summary>
    static (ProcessResult Result, List<MapLine> Map) RunWithMap(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null,
        bool expectMap = true, Action<int>? onStarted = null)
    {
        int pid = 0;
        var r = GuestRunner.Run(GuestRunner.DqemuBinary, args, env ?? GuestRunner.StandardGuestEnvironment,
            timeout: TimeSpan.FromSeconds(60), onStarted: id => { pid = id; onStarted?.Invoke(id); });
        Assert.False(r.TimedOut, r.Stderr);
        string path = $"/tmp/perf-{pid}.map";
        try
        {
            Assert.True(File.Exists(path) == expectMap, $"{path} {(expectMap ? "is missing" : "was written without being asked for")}; stderr: {r.Stderr}");
            return (r, expectMap ? Parse(File.ReadAllLines(path)) : []);
        }
        finally { File.Delete(path); }
    }

    /// <summary>Every line is START SIZE name with hex numbers and a size above 0; no two regions overlap.</summary>
    static List<MapLine> Parse(string[] lines)
    {
        Assert.NotEmpty(lines);
        var map = new List<MapLine>();
        foreach (var line in lines)
        {
            var m = LineFormat().Match(line);
            Assert.True(m.Success, $"not a perf map line: '{line}'");
            var l = new MapLine(ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber), ulong.Parse(m.Groups[2].Value, NumberStyles.HexNumber), m.Groups[3].Value);
            Assert.True(l.Size > 0, $"empty region: '{line}'");
            map.Add(l);
        }
        var sorted = map.OrderBy(l => l.Start).ToList();
        for (int i = 1; i < sorted.Count; i++)
            Assert.True(sorted[i - 1].Start + sorted[i - 1].Size <= sorted[i].Start, $"regions overlap: {sorted[i - 1]} and {sorted[i]}");
        return map;
    }

    static void AssertNamed(List<MapLine> map, string function) =>
        Assert.True(map.Any(l => Regex.IsMatch(l.Name, $@"^{Regex.Escape(function)}\+0x[0-9a-f]+$")),
            $"no block named {function}+0xOFF among {map.Count} lines: {string.Join(", ", map.Select(l => l.Name).Distinct().Take(60))}");

    static ProcessResult Qemu(IEnumerable<string> args)
    {
        var qemu = GuestRunner.FindOnPath("qemu-aarch64");
        Assert.True(qemu != null, "qemu-aarch64 not found on PATH; run toolchains/install.sh (Debian package qemu-user)");
        var r = GuestRunner.Run(qemu!, args, GuestRunner.StandardGuestEnvironment, timeout: TimeSpan.FromSeconds(60));
        Assert.False(r.TimedOut);
        return r;
    }

    static void RequireGuest(string path) => Assert.True(File.Exists(path), $"{path} is missing; run ./build.sh");

    [Fact]
    public void StaticGuestBlocksAreNamedByItsSymbolsAndItsOutputIsQemus()
    {
        RequireGuest(StaticGuest);
        var (r, map) = RunWithMap(["--perf-map", StaticGuest, "1000"]);
        var q = Qemu([StaticGuest, "1000"]);
        Assert.Equal(q.ExitCode, r.ExitCode);
        Assert.Equal(q.Stdout, r.Stdout);
        foreach (var f in new[] { "hot_spin", "main", "_start", "__libc_start_main", "puts" }) AssertNamed(map, f);
        // the fixed stubs carry their own names
        Assert.Contains(map, l => l.Name == "dqemu:enter");
        Assert.Contains(map, l => l.Name == "dqemu:exit");
        // the block at hot_spin's entry starts at offset 0 of it
        Assert.Contains(map, l => l.Name == "hot_spin+0x0");
    }

    [Fact]
    public void DynamicGuestBlocksInLibcAndTheLinkerAreNamedToo()
    {
        RequireGuest(DynamicGuest);
        var (r, map) = RunWithMap(["--perf-map", "-L", Sysroot, DynamicGuest, "1000"]);
        var q = Qemu(["-L", Sysroot, DynamicGuest, "1000"]);
        Assert.Equal(q.ExitCode, r.ExitCode);
        Assert.Equal(q.Stdout, r.Stdout);
        // the executable's own .symtab, libc's .dynsym (libc is mapped by the dynamic linker through mmap)
        foreach (var f in new[] { "hot_spin", "main", "puts", "__libc_start_main", "exit" }) AssertNamed(map, f);
        // a block in a loaded image but in no function of its table: the file's own address
        Assert.Contains(map, l => Regex.IsMatch(l.Name, @"^\[ld-linux-aarch64\.so\.1\+0x[0-9a-f]+\]$"));
    }

    /// <summary>
    /// The map's descriptor and whatever the runtime opens for its flushing (signal registrations) stay above the
    /// guest's numbers: dup_fcntl checks that open() gets the lowest free fd, and its output must stay qemu's.
    /// </summary>
    [Theory]
    [InlineData("dup_fcntl")]
    [InlineData("file_io")]
    public void GuestFileDescriptorsAreUnchanged(string guest)
    {
        var path = Path.Combine(GuestRunner.GuestBinaryDir, guest);
        RequireGuest(path);
        var dir = GuestRunner.CreateTempDirectory("perfmap-fd");
        try
        {
            int pid = 0;
            var r = GuestRunner.Run(GuestRunner.DqemuBinary, ["--perf-map", path], GuestRunner.StandardGuestEnvironment, workingDirectory: dir,
                timeout: TimeSpan.FromSeconds(60), onStarted: id => pid = id);
            File.Delete($"/tmp/perf-{pid}.map");
            var qemu = GuestRunner.FindOnPath("qemu-aarch64");
            Assert.True(qemu != null, "qemu-aarch64 not found on PATH; run toolchains/install.sh (Debian package qemu-user)");
            var q = GuestRunner.Run(qemu!, [path], GuestRunner.StandardGuestEnvironment, workingDirectory: dir, timeout: TimeSpan.FromSeconds(60));
            Assert.Equal(q.ExitCode, r.ExitCode);
            Assert.Equal(q.Stdout, r.Stdout);
        }
        finally { GuestRunner.DeleteDirectory(dir); }
    }

    /// <summary>qemu 8's spelling and the two environment variables switch the map on; nothing else does.</summary>
    [Theory]
    [InlineData("-perfmap", null)]
    [InlineData("--perfmap", null)]
    [InlineData(null, "DQEMU_PERF_MAP")]
    [InlineData(null, "QEMU_PERFMAP")]
    [InlineData(null, null)]
    public void OptionSpellingsAndEnvironment(string? option, string? variable)
    {
        RequireGuest(StaticGuest);
        var env = new Dictionary<string, string>(GuestRunner.StandardGuestEnvironment);
        if (variable != null) env[variable] = "1";
        var args = new List<string>();
        if (option != null) args.Add(option);
        args.AddRange([StaticGuest, "1000"]);
        bool expect = option != null || variable != null;
        var (r, map) = RunWithMap(args, env, expectMap: expect);
        Assert.Equal(0, r.ExitCode);
        if (expect) AssertNamed(map, "hot_spin");
    }

    /// <summary>
    /// No line is lost however the guest ends: exit_group from main's return, death by SIGABRT (abort, a default
    /// action) and by SIGILL (an undefined instruction): every block --stats counts has its line, and the last
    /// function the guest ran is in the map.
    /// </summary>
    [Theory]
    [InlineData("perf_hot", 0, "hot_spin")]
    [InlineData("abort_sig", 134, "abort")]
    [InlineData("undef_insn", 132, "main")]
    public void EveryTranslatedBlockIsWrittenBeforeTheProcessEnds(string guest, int status, string function)
    {
        var path = Path.Combine(GuestRunner.GuestBinaryDir, guest);
        RequireGuest(path);
        var (r, map) = RunWithMap(["--perf-map", "--stats", path]);
        Assert.Equal(status, r.ExitCode);
        var translated = Regex.Match(r.Stderr, @"blocks translated +(\d+)");
        Assert.True(translated.Success, r.Stderr);
        Assert.Equal(int.Parse(translated.Groups[1].Value, CultureInfo.InvariantCulture), map.Count(l => !l.Name.StartsWith("dqemu:", StringComparison.Ordinal)));
        AssertNamed(map, function);
    }

    /// <summary>
    /// SIGTERM from outside ends the emulator as before (143), after the buffered lines are written: the run is
    /// killed once it has used 0.2 s of CPU (it is in hot_spin's loop by then), well before the one-second flush.
    /// </summary>
    [Fact]
    public void SigtermFromOutsideStillWritesTheMap()
    {
        RequireGuest(StaticGuest);
        var (r, map) = RunWithMap(["--perf-map", StaticGuest, "30000000000"], onStarted: pid => Task.Run(() =>
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            while (CpuTicks(pid) < 20 && sw.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(10);
            using var kill = System.Diagnostics.Process.Start("kill", ["-TERM", pid.ToString(CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
        }));
        Assert.Equal(143, r.ExitCode);
        AssertNamed(map, "hot_spin");
        AssertNamed(map, "main");
    }

    /// <summary>utime + stime of process <paramref name="pid"/> in clock ticks (1/100 s), 0 once it is gone.</summary>
    static long CpuTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture);
        }
        catch (IOException) { return long.MaxValue; }
    }

    /// <summary>
    /// The point of the map: perf samples the emulator running perf_hot for about a second, and perf report, reading
    /// /tmp/perf-PID.map, puts hot_spin among the hottest symbols. Needs perf (linux-perf) and the right to sample
    /// (root, or perf_event_paranoid &lt;= 2 for one's own process); without either the test fails and says so.
    /// </summary>
    [Fact]
    public void PerfReportNamesTheHotGuestFunction()
    {
        RequireGuest(StaticGuest);
        var perf = GuestRunner.FindOnPath("perf");
        Assert.True(perf != null, "perf not found on PATH; run toolchains/install.sh (Debian package linux-perf)");
        var dir = GuestRunner.CreateTempDirectory("perfmap");
        int? pid = null;
        try
        {
            string data = Path.Combine(dir, "perf.data");
            var rec = GuestRunner.Run(perf!, ["record", "-o", data, "--", GuestRunner.DqemuBinary, "--perf-map", StaticGuest, "300000000"],
                GuestRunner.StandardGuestEnvironment, timeout: TimeSpan.FromSeconds(120));
            output.WriteLine($"perf record: {rec.Describe()}, {rec.Elapsed.TotalSeconds:F2} s\n{rec.Stderr}");
            Assert.True(rec.ExitCode == 0 && File.Exists(data),
                $"perf record could not sample dqemu-native ({rec.Describe()}); perf needs root or kernel.perf_event_paranoid <= 2: {rec.Stderr}");
            Assert.Contains("hot_spin(300000000) = ", rec.Stdout);

            var byPid = GuestRunner.Run(perf!, ["report", "-i", data, "--stdio", "--sort", "pid"], GuestRunner.StandardGuestEnvironment);
            var m = Regex.Match(byPid.Stdout, @"(\d+):dqemu-native");
            if (m.Success) pid = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);

            var report = GuestRunner.Run(perf!, ["report", "-i", data, "--stdio", "--sort", "sym"], GuestRunner.StandardGuestEnvironment);
            Assert.Equal(0, report.ExitCode);
            // "    89.75%  [.] hot_spin+0x20": the top rows, hottest first
            var rows = report.Stdout.Split('\n').Where(l => Regex.IsMatch(l, @"^\s+[0-9.]+%\s")).Take(5).ToList();
            output.WriteLine(string.Join("\n", rows));
            Assert.True(rows.Any(l => Regex.IsMatch(l, @"\[\.\] hot_spin\+0x[0-9a-f]+\s*$")),
                $"hot_spin is not among the 5 hottest symbols:\n{string.Join("\n", rows)}");
        }
        finally
        {
            if (pid != null) File.Delete($"/tmp/perf-{pid}.map");
            GuestRunner.DeleteDirectory(dir);
        }
    }

    /// <summary>
    /// A two-node cluster: node 0 starts its worker with --perf-map, and each process writes the map of the code it
    /// translated under its own pid; the worker names its blocks by the executable's symbols (the threads placed on
    /// it run consumer or producer, and start_thread before them).
    /// </summary>
    [Fact]
    public void EachClusterNodeWritesItsOwnMap()
    {
        var guest = Path.Combine(GuestRunner.GuestBinaryDir, "mt_condvar");
        RequireGuest(guest);
        using var cluster = new Cluster.LoopbackCluster("tcp", 2);
        int node0 = 0;
        Task<int>? worker = null;
        var r = GuestRunner.Run(GuestRunner.DqemuBinary, ["--perf-map", "--cluster", cluster.ConfigPath, guest], GuestRunner.StandardGuestEnvironment,
            timeout: TimeSpan.FromSeconds(120), onStarted: pid =>
            {
                node0 = pid;
                worker = Task.Run(() => cluster.WaitForWorker(1, TimeSpan.FromSeconds(60)));
            });
        int workerPid = worker!.GetAwaiter().GetResult();
        string map0 = $"/tmp/perf-{node0}.map", map1 = $"/tmp/perf-{workerPid}.map";
        try
        {
            output.WriteLine(r.Stderr);
            Assert.False(r.TimedOut, r.Stderr);
            Assert.Equal(0, r.ExitCode);
            Assert.True(File.Exists(map0), $"node 0 wrote no {map0}");
            Assert.True(File.Exists(map1), $"the worker (pid {workerPid}) wrote no {map1}");
            var m0 = Parse(File.ReadAllLines(map0));
            var m1 = Parse(File.ReadAllLines(map1));
            AssertNamed(m0, "main");
            AssertNamed(m1, "start_thread");
            Assert.True(m1.Any(l => l.Name.StartsWith("consumer+", StringComparison.Ordinal) || l.Name.StartsWith("producer+", StringComparison.Ordinal)),
                $"the worker's map names neither consumer nor producer: {string.Join(", ", m1.Select(l => l.Name).Distinct().Take(60))}");
        }
        finally
        {
            File.Delete(map0);
            File.Delete(map1);
        }
    }

    /// <summary>
    /// --profile: the report at exit puts hot_spin's loop first, with the count the code implies (the loop's first
    /// round runs in the block before it, which falls into the loop: rounds - 1 iterations of the loop's own block;
    /// a self-loop counts every iteration, and without linking every entry), and prints 20 rows; the guest's output
    /// is unchanged.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ProfileNamesTheHottestBlocksWithTheirCounts(bool noLink)
    {
        RequireGuest(StaticGuest);
        const long rounds = 2_000_000;
        var args = new List<string> { "--profile" };
        if (noLink) args.Add("--no-link");
        args.AddRange([StaticGuest, rounds.ToString(CultureInfo.InvariantCulture)]);
        var r = GuestRunner.Run(GuestRunner.DqemuBinary, args, GuestRunner.StandardGuestEnvironment, timeout: TimeSpan.FromSeconds(60));
        output.WriteLine(r.Stderr);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal($"hot_spin({rounds}) = ", r.Stdout[..$"hot_spin({rounds}) = ".Length]);
        var header = Regex.Match(r.Stderr, @"dqemu-native profile: (\d+) block executions; the 20 most run blocks:");
        Assert.True(header.Success, r.Stderr);
        var rows = Regex.Matches(r.Stderr, @"^ +(\d+) +[0-9.]+%  0x([0-9a-f]+) +(\S.*)$", RegexOptions.Multiline);
        Assert.Equal(20, rows.Count);
        Assert.Matches(@"^hot_spin\+0x[0-9a-f]+$", rows[0].Groups[3].Value);
        Assert.Equal(rounds - 1, long.Parse(rows[0].Groups[1].Value, CultureInfo.InvariantCulture));
        Assert.True(long.Parse(header.Groups[1].Value, CultureInfo.InvariantCulture) > rounds);
        // hottest first
        var counts = rows.Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(counts.OrderByDescending(c => c), counts);
    }

    /// <summary>The symbol reader against binutils: a function's address and an address inside it name that function.</summary>
    [Fact]
    public void SymbolsMatchNm()
    {
        RequireGuest(StaticGuest);
        var syms = ElfSymbols.Read(ElfFile.Load(StaticGuest));
        ulong hot = NmAddress(["--defined-only", StaticGuest], "hot_spin");
        Assert.True(syms.TryFind(hot, out var name, out var offset));
        Assert.Equal(("hot_spin", 0UL), (name, offset));
        Assert.True(syms.TryFind(hot + 8, out name, out offset));
        Assert.Equal(("hot_spin", 8UL), (name, offset));

        // libc has no .symtab: its .dynsym; puts and _IO_puts are one function, and the name a reader looks for wins
        string libc = Path.Combine(Sysroot, "lib", "libc.so.6");
        var dyn = ElfSymbols.Read(ElfFile.Load(libc));
        ulong puts = NmAddress(["-D", "--defined-only", libc], "puts");
        Assert.Equal(puts, NmAddress(["-D", "--defined-only", libc], "_IO_puts"));
        Assert.True(dyn.TryFind(puts + 4, out name, out offset));
        Assert.Equal(("puts", 4UL), (name, offset));
    }

    static ulong NmAddress(string[] args, string symbol)
    {
        var nm = GuestRunner.FindOnPath("aarch64-linux-gnu-nm");
        Assert.True(nm != null, "aarch64-linux-gnu-nm not found; run toolchains/install.sh (binutils-aarch64-linux-gnu comes with gcc-aarch64-linux-gnu)");
        var r = GuestRunner.Run(nm!, args);
        Assert.Equal(0, r.ExitCode);
        var m = Regex.Match(r.Stdout, $@"^([0-9a-f]+) [TtWi] {Regex.Escape(symbol)}(@@?\S+)?$", RegexOptions.Multiline);
        Assert.True(m.Success, $"nm does not list {symbol}");
        return ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber);
    }
}
