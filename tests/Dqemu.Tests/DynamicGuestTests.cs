using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests;

/// <summary>
/// Dynamically linked guests (built by toolchains/build-guests.sh into build/guests/dyn/: a fixed list of
/// tests/guests programs without -static, and tests/guests/dyn/dlopen_lib with its libdyntest.so). Each runs
/// under "qemu-aarch64 -L /usr/aarch64-linux-gnu", the reference, and under dqemu-native, once with the same
/// -L and once without it (the default sysroot); stdout and exit status must be identical. The comparison
/// is GuestProgramTests', so the same // ARGS:, // STDIN:, // ENV: and // TIMEOUT: lines apply.
/// </summary>
public class DynamicGuestTests(ITestOutputHelper output)
{
    const string NoGuests = "(no dynamic guests found)";
    public const string Sysroot = "/usr/aarch64-linux-gnu";

    /// <summary>Threaded guests run this many times under dqemu-native (GuestProgramTests runs the static ones more).</summary>
    const int ThreadedRuns = 3;

    static string DynDir => Path.Combine(GuestRunner.GuestBinaryDir, "dyn");

    /// <summary>Every executable in build/guests/dyn (shared libraries excluded).</summary>
    public static TheoryData<string> Guests()
    {
        var data = new TheoryData<string>();
        var root = GuestRunner.RepoRoot;
        var dir = root == null ? null : Path.Combine(root, "build", "guests", "dyn");
        var names = dir == null || !Directory.Exists(dir)
            ? []
            : Directory.EnumerateFiles(dir)
                .Select(Path.GetFileName)
                .OfType<string>()
                .Where(n => !n.Contains(".so") && !n.EndsWith(".tmp", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal)
                .ToList();
        if (names.Count == 0)
            data.Add(NoGuests);
        foreach (var n in names)
            data.Add(n);
        return data;
    }

    [Theory]
    [MemberData(nameof(Guests))]
    public void MatchesQemuWithSysroot(string guest) => Compare(guest, ["-L", Sysroot]);

    [Theory]
    [MemberData(nameof(Guests))]
    public void MatchesQemuWithDefaultSysroot(string guest) => Compare(guest, []);

    /// <summary>
    /// With the smallest code cache (512 KiB: 256 KiB of blocks) a dynamic guest, which translates 0.6-1 MiB, has it
    /// emptied several times while it runs, threads included (Translator.Reuse.cs), and still gives qemu's output.
    /// </summary>
    [Theory]
    [MemberData(nameof(Guests))]
    public void MatchesQemuWithTheSmallestCodeCache(string guest) => Compare(guest, ["-L", Sysroot, "--code-cache-size", "512K"]);

    /// <summary>That the runs above do empty the cache: --stats counts it, and the output is still qemu's.</summary>
    [Fact]
    public void TheSmallestCodeCacheIsEmptiedAndRefilled()
    {
        var binary = Path.Combine(DynDir, "mt_condvar");
        RequireBuilt(binary, SourceOf("mt_condvar"));
        var qemu = GuestRunner.Run(GuestRunner.FindOnPath("qemu-aarch64") ?? "qemu-aarch64", ["-L", Sysroot, binary], GuestRunner.StandardGuestEnvironment);
        var r = GuestRunner.Run(GuestRunner.DqemuBinary, ["--stats", "--code-cache-size", "512K", "-L", Sysroot, binary], GuestRunner.StandardGuestEnvironment);
        output.WriteLine(r.Stderr);
        Assert.Equal(0, qemu.ExitCode);
        Assert.Equal((qemu.ExitCode, qemu.Stdout), (r.ExitCode, r.Stdout));
        var m = System.Text.RegularExpressions.Regex.Match(r.Stderr, @"code cache used +(\d+) KiB \(of 512 KiB, emptied (\d+) times\)");
        Assert.True(m.Success, r.Stderr);
        Assert.InRange(int.Parse(m.Groups[1].Value), 1, 512);
        Assert.InRange(int.Parse(m.Groups[2].Value), 2, 1000);
    }

    /// <summary>
    /// The dlopen guest must not only agree with qemu (a library that fails to load would agree too) but
    /// load the library, call into it, and unload it.
    /// </summary>
    [Fact]
    public void DlopenGuestLoadsCallsAndClosesTheLibrary()
    {
        var binary = Path.Combine(DynDir, "dlopen_lib");
        var library = Path.Combine(DynDir, "libdyntest.so");
        RequireBuilt(binary, SourceOf("dlopen_lib"));
        RequireBuilt(library, Path.Combine(GuestRunner.GuestSourceDir, "dyn", "dyntest_lib.c"));
        var dqemu = GuestRunner.DqemuBinary;
        if (!File.Exists(dqemu))
            Assert.Fail($"{dqemu} is missing; run ./build.sh");

        var cwd = GuestRunner.CreateTempDirectory("dlopen-dqemu");
        try
        {
            var r = GuestRunner.Run(dqemu, ["-L", Sysroot, binary], GuestRunner.StandardGuestEnvironment, null, cwd);
            output.WriteLine(r.Stdout);
            Assert.True(r.ExitCode == 0 && !r.TimedOut, $"dlopen_lib: {r.Describe()}\n{r.Stdout}\n{r.Stderr}");
            foreach (var line in new[]
                     {
                         "libdyntest: constructor (counter 7)", "dlopen ok", "sum_squares(100) = 338350",
                         "apply(triple, 5) = 22", "tls calls = 101", "libdyntest: destructor (calls 7)", "dlclose = 0",
                         "loaded after dlclose: no",
                     })
                Assert.Contains(line + "\n", r.Stdout);
        }
        finally
        {
            GuestRunner.DeleteDirectory(cwd);
        }
    }

    void Compare(string guest, IReadOnlyList<string> dqemuOptions)
    {
        if (guest == NoGuests)
            Assert.Fail($"no dynamically linked guests in {(GuestRunner.RepoRoot == null ? "build/guests/dyn" : DynDir)}; run ./build.sh (or toolchains/build-guests.sh)");
        if (!Directory.Exists(Sysroot))
            Assert.Fail($"{Sysroot} (the AArch64 glibc) is missing; run toolchains/install.sh (Debian package libc6-arm64-cross)");
        int runs = guest.StartsWith("mt_", StringComparison.Ordinal) ? ThreadedRuns : 1;
        GuestProgramTests.AssertSameAsQemu(output, "dyn/" + guest, SourceOf(guest), Path.Combine(DynDir, guest),
            ["-L", Sysroot], dqemuOptions, runs);
    }

    /// <summary>tests/guests/dyn/NAME.c when it exists (dynamic-only guests), else tests/guests/NAME.c.</summary>
    static string SourceOf(string guest)
    {
        var own = Path.Combine(GuestRunner.GuestSourceDir, "dyn", guest + ".c");
        return File.Exists(own) ? own : Path.Combine(GuestRunner.GuestSourceDir, guest + ".c");
    }

    static void RequireBuilt(string binary, string source)
    {
        if (!File.Exists(binary))
            Assert.Fail($"{binary} is missing; run ./build.sh (or toolchains/build-guests.sh)");
        if (File.GetLastWriteTimeUtc(binary) < File.GetLastWriteTimeUtc(source))
            Assert.Fail($"{binary} is older than {source}; run ./build.sh (or toolchains/build-guests.sh)");
    }
}
