using Xunit;

namespace Dqemu.Tests.QemuCompat;

/// <summary>
/// qemu's environment variables QEMU_SET_ENV, QEMU_UNSET_ENV, QEMU_ARGV0, QEMU_STRACE, QEMU_LOG_FILENAME and their
/// options (-E, -U, -0, -strace, -D): the guest (tests/guests/argv_env.c prints its argv and sorted environment)
/// sees under dqemu-native what it sees under qemu-aarch64 7.2.
/// </summary>
public class QemuEnvironmentTests
{
    [Fact]
    public void SetUnsetAndArgv0FromTheEnvironmentAsQemu()
    {
        var g = QemuSide.Guest("argv_env");
        var env = QemuSide.Env(("QEMU_SET_ENV", "X=1,Y=two words"), ("QEMU_UNSET_ENV", "DQEMU_TEST_VAR,LC_ALL"), ("QEMU_ARGV0", "/foo/zz"));
        var (q, _) = QemuSide.Both([g, "a", "b"], [g, "a", "b"], env);
        Assert.Contains("argv[0] basename=zz", q.Stdout);
        Assert.Contains("  Y=two words", q.Stdout);
        Assert.Contains("DQEMU_TEST_VAR=(unset)", q.Stdout);
    }

    /// <summary>Options come after the variables, so they win; -E and -U take comma lists; the last change to a
    /// variable stays, whichever kind it is.</summary>
    [Fact]
    public void OptionsOverrideVariablesAndTheLastChangeWins()
    {
        var g = QemuSide.Guest("argv_env");
        var env = QemuSide.Env(("QEMU_SET_ENV", "X=1,V=9"), ("QEMU_ARGV0", "fromenv"));
        string[] opts = ["-E", "X=2", "-E", "Z=3,W=4", "-U", "PATH,V", "-E", "PATH=/bin", "-U", "W", "-0", "fromopt"];
        var (q, _) = QemuSide.Both([.. opts, g], [.. opts, g], env);
        Assert.Contains("  X=2", q.Stdout);
        Assert.Contains("  PATH=/bin", q.Stdout);
        Assert.DoesNotContain("  W=4", q.Stdout);
        Assert.Contains("argv[0] basename=fromopt", q.Stdout);
    }

    /// <summary>QEMU_STRACE with any value, even empty, turns on the syscall log.</summary>
    [Fact]
    public void QemuStraceWithAnEmptyValueLogsSyscalls()
    {
        var g = QemuSide.Guest("exit_ret42");
        var (q, d) = QemuSide.Both([g], [g], QemuSide.Env(("QEMU_STRACE", "")));
        Assert.Contains(" exit_group(42)", q.Stderr);
        Assert.Contains(" exit_group(42)", d.Stderr);
    }

    /// <summary>-D (and QEMU_LOG_FILENAME) takes the strace lines off stderr into the file, as qemu's strace is one
    /// of its log items.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LogFileTakesTheStraceLines(bool fromEnvironment)
    {
        var g = QemuSide.Guest("exit_ret42");
        string[] args = fromEnvironment ? ["-strace", g] : ["-strace", "-D", "log.txt", g];
        var env = fromEnvironment ? QemuSide.Env(("QEMU_LOG_FILENAME", "log.txt")) : QemuSide.Env();
        string? qemuLog = null, dqemuLog = null;
        var q = QemuSide.Run(QemuSide.Qemu, args, env, dir => qemuLog = File.ReadAllText(Path.Combine(dir, "log.txt")));
        var d = QemuSide.Run(QemuSide.Dqemu, args, env, dir => dqemuLog = File.ReadAllText(Path.Combine(dir, "log.txt")));
        Assert.Equal(42, q.ExitCode);
        Assert.Equal(42, d.ExitCode);
        Assert.Equal(q.Stdout, d.Stdout);
        Assert.Equal("", q.Stderr);
        Assert.Equal("", d.Stderr);
        Assert.Matches(@"(?m)^\d+ exit_group\(42\)$", qemuLog);
        Assert.Matches(@"(?m)^\d+ exit_group\(42\)$", dqemuLog);
    }

    [Fact]
    public void LogFileThatCannotBeCreatedIsOneLineAndStatus73()
    {
        var g = QemuSide.Guest("exit_ret42");
        var d = QemuSide.Run(QemuSide.Dqemu, ["-D", "/nonexistent-dir/log.txt", g], QemuSide.Env());
        Assert.Equal(73, d.ExitCode);
        Assert.Matches(@"^dqemu-native: -D /nonexistent-dir/log.txt: cannot create the log file \([^\n]*\)\n$", d.Stderr);
    }

    [Theory]
    [InlineData("QEMU_SET_ENV", "X=1,NOEQUALS", "QEMU_SET_ENV needs VAR=VALUE[,VAR=VALUE...], not 'NOEQUALS'")]
    [InlineData("QEMU_UNSET_ENV", "A=1", "QEMU_UNSET_ENV needs VAR[,VAR...], not 'A=1'")]
    [InlineData("QEMU_LOG", "exec,bogus", "unknown QEMU_LOG item 'bogus' (known: in_asm, out_asm, exec, cpu, nochain)")]
    public void BadVariableIsOneLineAndStatus64(string name, string value, string message)
    {
        var g = QemuSide.Guest("exit_ret42");
        var d = QemuSide.Run(QemuSide.Dqemu, [g], QemuSide.Env((name, value)));
        Assert.Equal(64, d.ExitCode);
        Assert.Equal($"dqemu-native: {message}\n", d.Stderr);
        // qemu refuses the same values (its usage text, status 1)
        Assert.Equal(1, QemuSide.Run(QemuSide.Qemu, [g], QemuSide.Env((name, value))).ExitCode);
    }
}
