using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Processes;

/// <summary>
/// Python's subprocess (vfork and exec through _posixsubprocess, the exec error pipe, pipes, wait and kill): Debian's
/// arm64 python3.11 (fetched with its closure by toolchains/python.sh into build/python/sysroot, never stored in the
/// repository) runs tests/python/subprocess_calls.py under qemu-aarch64 (the reference) and ./dqemu-native; stdout and
/// exit status must be equal. With "self" the script also starts the arm64 interpreter again, which only
/// dqemu-native can execute (qemu-aarch64 needs binfmt_misc): checked against the script's known output.
/// </summary>
public class PythonSubprocessTests(ITestOutputHelper output)
{
    private static string Root => Path.Combine(GuestRunner.RequireRepoRoot(), "build", "python", "sysroot");
    private static string Script => Path.Combine(GuestRunner.RequireRepoRoot(), "tests", "python", "subprocess_calls.py");

    private ProcessResult Python(string runner, params string[] args)
    {
        GuestRunner.EnsureMade(Path.Combine(Root, ".complete"), "python.sh", "apt-get with arm64 as a foreign architecture (root or sudo)");
        string[] all = ["-L", Root, Path.Combine(Root, "usr", "bin", "python3.11"), "-S", Script, .. args];
        var r = GuestRunner.Run(runner, all, GuestRunner.StandardGuestEnvironment, timeout: TimeSpan.FromSeconds(120));
        output.WriteLine($"{Path.GetFileName(runner)}: {r.Describe()}\n{r.Stdout}{r.Stderr}");
        Assert.False(r.TimedOut, $"{Path.GetFileName(runner)} timed out");
        return r;
    }

    [Fact]
    public void SubprocessCallsMatchQemu()
    {
        var qemu = GuestRunner.FindOnPath("qemu-aarch64") ?? throw new InvalidOperationException("qemu-aarch64 not found on PATH");
        var reference = Python(qemu);
        Assert.Equal(0, reference.ExitCode);
        Assert.EndsWith("done\n", reference.Stdout);
        var ours = Python(GuestRunner.DqemuBinary);
        Assert.Equal(reference.Stdout, ours.Stdout);
        Assert.Equal(reference.ExitCode, ours.ExitCode);
    }

    [Fact]
    public void AChildInterpreterRunsUnderTheEmulator()
    {
        var r = Python(GuestRunner.DqemuBinary, "self");
        Assert.Equal(0, r.ExitCode);
        Assert.EndsWith("python child: 0 child python True\ndone\n", r.Stdout);
    }
}
