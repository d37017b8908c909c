using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Processes;

/// <summary>
/// GNU make as it builds: Debian's arm64 make (fetched with its closure by toolchains/make.sh into build/make/sysroot,
/// never stored in the repository) runs a Makefile with -j2 — two recipes at a time, each a host /bin/sh the emulated
/// make forks and execs, waited for with wait4 and SIGCHLD, with job tokens passed through a pipe. Under qemu-aarch64
/// and ./dqemu-native the files made and the exit status must be equal, and equal to the Makefile's known answer;
/// a failing recipe must stop both the same way. A recursive make (the sub-make is the arm64 binary again, executed
/// under the emulator, which qemu-aarch64 does only through binfmt_misc) shares the parent's job server across the
/// exec: checked under dqemu-native against the known answer.
/// </summary>
public class MakeTests(ITestOutputHelper output)
{
    private static string Root => Path.Combine(GuestRunner.RequireRepoRoot(), "build", "make", "sysroot");
    private static readonly string[] Names = ["a", "b", "c", "d", "e", "f"];

    private const string Makefile =
        "SRCS := a b c d e f\n" +
        "all: total.txt\n" +
        "%.out: %.in\n" +
        "\ttr a-z A-Z < $< > $@.tmp\n" +
        "\tsleep 0.05\n" +
        "\tmv $@.tmp $@\n" +
        "total.txt: $(SRCS:=.out)\n" +
        "\tcat $^ > $@\n" +
        "\twc -l < $@ >> $@\n" +
        "broken: total.txt\n" +
        "\tfalse\n" +
        "\techo never > never.txt\n" +
        "recursive: total.txt\n" +
        "\t$(MAKE) -C sub\n";

    private const string SubMakefile =
        "all: x.out y.out\n" +
        "\tcat x.out y.out > both.txt\n" +
        "%.out:\n" +
        "\techo \"sub $@\" > $@\n";

    private static string Expected => string.Concat(Names.Select(n => $"LINE OF {n.ToUpperInvariant()}\n")) + "6\n";

    private string Prepare()
    {
        string dir = Directory.CreateTempSubdirectory("dqemu-make-").FullName;
        File.WriteAllText(Path.Combine(dir, "Makefile"), Makefile);
        foreach (var n in Names) File.WriteAllText(Path.Combine(dir, n + ".in"), $"line of {n}\n");
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        File.WriteAllText(Path.Combine(dir, "sub", "Makefile"), SubMakefile);
        return dir;
    }

    private ProcessResult Make(string runner, string dir, params string[] args)
    {
        GuestRunner.EnsureMade(Path.Combine(Root, ".complete"), "make.sh", "apt-get with arm64 as a foreign architecture (root or sudo)");
        string[] all = ["-L", Root, Path.Combine(Root, "usr", "bin", "make"), "-s", .. args];
        var r = GuestRunner.Run(runner, all, GuestRunner.StandardGuestEnvironment, workingDirectory: dir, timeout: TimeSpan.FromSeconds(120));
        output.WriteLine($"{Path.GetFileName(runner)} make {string.Join(' ', args)}: {r.Describe()}\n{r.Stdout}{r.Stderr}");
        Assert.False(r.TimedOut, $"{Path.GetFileName(runner)}: make timed out");
        return r;
    }

    private static string Qemu => GuestRunner.FindOnPath("qemu-aarch64") ?? throw new InvalidOperationException("qemu-aarch64 not found on PATH");

    [Fact]
    public void ParallelBuildMatchesQemuAndTheKnownAnswer()
    {
        string q = Prepare(), d = Prepare();
        var reference = Make(Qemu, q, "-j2");
        Assert.Equal(0, reference.ExitCode);
        Assert.Equal(Expected, File.ReadAllText(Path.Combine(q, "total.txt")));
        var ours = Make(GuestRunner.DqemuBinary, d, "-j2");
        Assert.Equal(reference.ExitCode, ours.ExitCode);
        Assert.Equal(reference.Stdout, ours.Stdout);
        Assert.Equal(Expected, File.ReadAllText(Path.Combine(d, "total.txt")));
        // nothing left to do the second time: make compares the files' times
        var again = Make(GuestRunner.DqemuBinary, d, "-j2", "--question");
        Assert.Equal(0, again.ExitCode);
    }

    [Fact]
    public void FailingRecipeStopsAsUnderQemu()
    {
        string q = Prepare(), d = Prepare();
        var reference = Make(Qemu, q, "-j2", "broken");
        var ours = Make(GuestRunner.DqemuBinary, d, "-j2", "broken");
        Assert.NotEqual(0, reference.ExitCode);
        Assert.Equal(reference.ExitCode, ours.ExitCode);
        Assert.Equal(reference.Stdout, ours.Stdout);
        Assert.False(File.Exists(Path.Combine(d, "never.txt")));
        Assert.Equal(Expected, File.ReadAllText(Path.Combine(d, "total.txt")));
    }

    [Fact]
    public void RecursiveMakeSharesTheJobServerAcrossExec()
    {
        string d = Prepare();
        var r = Make(GuestRunner.DqemuBinary, d, "-j2", "recursive");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("sub x.out\nsub y.out\n", File.ReadAllText(Path.Combine(d, "sub", "both.txt")));
        Assert.Equal(Expected, File.ReadAllText(Path.Combine(d, "total.txt")));
    }
}
