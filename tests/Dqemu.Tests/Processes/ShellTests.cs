using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Processes;

/// <summary>
/// Programs that start programs: Debian's busybox (arm64, static; fetched by toolchains/busybox.sh) runs shell
/// scripts with pipelines, subshells, command substitution, redirections, background jobs, traps and nested shells —
/// fork, vfork, execve, wait4, pipes, SIGCHLD and rt_sigsuspend under the emulator. Each script runs as
/// "busybox sh -c SCRIPT" under qemu-aarch64 (the reference) and under ./dqemu-native in fresh working directories;
/// stdout and exit status must be equal. A script must not depend on its directory's name or on timing.
/// </summary>
public class ShellTests(BusyboxFixture fx, ITestOutputHelper output) : IClassFixture<BusyboxFixture>
{
    public static TheoryData<string, string> Scripts => new()
    {
        { "pipelines", "echo one two three | tr ' ' '\\n' | sort -r | head -n 2; printf 'a\\nb\\nc\\n' | wc -l; " +
                       "seq 1 5 | awk '{s+=$1} END {print s}'; echo abc | rev | cut -c1-2; yes | head -n 3" },
        { "subshells", "(exit 3); echo \"subshell status $?\"; (echo inside; exit 0) && echo ok; x=1; (x=2; echo \"inner $x\"); " +
                       "echo \"outer $x\"; (cd / && ls -d bin); echo $(( (2 + 3) * 4 ))" },
        { "command substitution", "a=$(echo hello | tr a-z A-Z); b=`expr 6 \\* 7`; echo \"$a $b\"; echo \"$(echo $(echo nested))\"; " +
                                  "n=$(seq 3 | wc -l); echo \"lines $n\"; for w in $(echo x y z); do printf '%s-' $w; done; echo" },
        { "redirections", "echo first > f; echo second >> f; cat < f; wc -l < f; ls nosuchfile 2> err; echo \"status $?\"; " +
                          "grep -c nosuchfile err; exec 3> g; echo 'via fd3' >&3; exec 3>&-; cat g; { echo grouped; echo out; } > h; " +
                          "cat h; cat <<END\nhere $((1+1))\nEND\necho after heredoc" },
        { "background jobs", "sleep 0.2 & p=$!; echo started; wait $p; echo \"waited $?\"; (sleep 0.1; exit 7) & wait $!; " +
                             "echo \"bg status $?\"; for i in 1 2 3; do (echo \"job $i\" > j$i) & done; wait; cat j1 j2 j3; " +
                             "trap 'echo got USR1' USR1; kill -USR1 $$; echo 'after trap'" },
        { "statuses and nested shells", "sh -c 'kill -9 $$'; echo \"killed: $?\"; sh -c 'exit 4'; echo \"inner exit: $?\"; false; " +
                                        "echo \"false: $?\"; ! true; echo \"not true: $?\"; sh -c 'echo nested $0 $1' zero one; exit 5" },
        { "traps on SIGCHLD", "trap 'echo chld' CHLD; sleep 0.1 & wait; echo a; true; echo b; (exit 2); echo \"c $?\"; " +
                              "(trap 'echo inner chld' CHLD; sleep 0.05 & wait; echo sub done); echo top" },
        { "loops over processes", "i=0; while [ $i -lt 20 ]; do i=$((i+1)); echo $i | tr 0-9 a-j > /dev/null; done; echo \"loops $i\"; " +
                                  "for f in 1 2 3 4 5; do echo $f; done | while read x; do echo \"read $x\"; done | tail -n 2" },
    };

    [Theory]
    [MemberData(nameof(Scripts))]
    public void ScriptMatchesQemu(string name, string script)
    {
        var reference = fx.Run(fx.Qemu, [fx.Busybox, "sh", "-c", script], name + "-qemu");
        output.WriteLine($"qemu-aarch64: {reference.Describe()}\n{reference.Stdout}{reference.Stderr}");
        Assert.False(reference.TimedOut, $"{name}: qemu-aarch64 timed out");
        var ours = fx.Run(fx.Dqemu, [fx.Busybox, "sh", "-c", script], name + "-dqemu");
        output.WriteLine($"dqemu-native: {ours.Describe()}\n{ours.Stdout}{ours.Stderr}");
        Assert.False(ours.TimedOut, $"{name}: dqemu-native timed out");
        Assert.Equal(reference.Stdout, ours.Stdout);
        Assert.Equal(reference.ExitCode, ours.ExitCode);
    }

    /// <summary>
    /// execve of AArch64 programs, which qemu-aarch64 runs only through binfmt_misc: the busybox binary by its path,
    /// a "#!" script whose interpreter is that busybox, and a nested busybox shell, each run by a fresh dqemu-native.
    /// Known answers: what the scripts print and their exit status.
    /// </summary>
    [Fact]
    public void AArch64ProgramsAreExecutedUnderTheEmulator()
    {
        string bb = fx.Busybox;
        string script = $"{bb} echo by path; printf '#!{bb} sh\\necho \"script $0 $1\"\\nexit 6\\n' > s; chmod +x s; ./s arg; " +
                        "echo \"script status $?\"; " + bb + " sh -c 'echo \"nested $0\"' zero; exec ./s last";
        var r = fx.Run(fx.Dqemu, [bb, "sh", "-c", script], "exec-aarch64");
        output.WriteLine($"{r.Describe()}\n{r.Stdout}{r.Stderr}");
        Assert.False(r.TimedOut);
        Assert.Equal("by path\nscript ./s arg\nscript status 6\nnested zero\nscript ./s last\n", r.Stdout);
        Assert.Equal(6, r.ExitCode);
    }
}

/// <summary>Fetches busybox when missing (toolchains/busybox.sh; a failure fails the tests, never skips them) and
/// finds qemu-aarch64 and ./dqemu-native.</summary>
public sealed class BusyboxFixture
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public string Busybox { get; }
    public string Qemu { get; }
    public string Dqemu { get; }

    public BusyboxFixture()
    {
        var root = GuestRunner.RequireRepoRoot();
        Busybox = Path.Combine(root, "build", "busybox", "busybox");
        Qemu = GuestRunner.FindOnPath("qemu-aarch64")
            ?? throw new InvalidOperationException("qemu-aarch64 not found on PATH; run toolchains/install.sh (Debian package qemu-user) or ./build.sh");
        Dqemu = GuestRunner.DqemuBinary;
        GuestRunner.EnsureMade(Busybox, "busybox.sh", "apt-get access to Debian's arm64 packages");
    }

    /// <summary>Runs a command in a fresh working directory.</summary>
    public ProcessResult Run(string exe, IEnumerable<string> args, string name) =>
        GuestRunner.Run(exe, args, GuestRunner.StandardGuestEnvironment, workingDirectory: GuestRunner.CreateTempDirectory("shell-" + name.Replace(' ', '-')),
            timeout: Timeout);
}
