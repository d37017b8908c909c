using Xunit;

namespace Dqemu.Tests;

/// <summary>Checks of the test harness itself (host programs only, no emulator needed).</summary>
public class GuestRunnerTests
{
    [Fact]
    public void RepoRootIsFound()
    {
        var root = GuestRunner.RequireRepoRoot();
        Assert.True(File.Exists(Path.Combine(root, "dqemu-native.sln")));
    }

    [Fact]
    public void RunCapturesOutputExitCodeStdinEnvAndCwd()
    {
        var dir = GuestRunner.CreateTempDirectory("runner");
        try
        {
            var env = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["FOO"] = "bar" };
            var r = GuestRunner.Run("/bin/sh", ["-c", "cat; echo \"$FOO $1\"; pwd; echo err >&2; exit 3", "sh", "arg one"],
                env, stdin: "in\n", workingDirectory: dir);
            Assert.False(r.TimedOut);
            Assert.Equal(3, r.ExitCode);
            Assert.Equal($"in\nbar arg one\n{dir}\n", r.Stdout);
            Assert.Equal("err\n", r.Stderr);
        }
        finally
        {
            GuestRunner.DeleteDirectory(dir);
        }
    }

    [Fact]
    public void SignalDeathIs128PlusSignal()
    {
        var r = GuestRunner.Run("/bin/sh", ["-c", "kill -ABRT $$"]);
        Assert.Equal(134, r.ExitCode);
    }

    [Fact]
    public void TimeoutKillsTheProcess()
    {
        var r = GuestRunner.Run("/bin/sh", ["-c", "sleep 30"], timeout: TimeSpan.FromMilliseconds(300));
        Assert.True(r.TimedOut);
        Assert.True(r.Elapsed < TimeSpan.FromSeconds(20));
    }

    [Fact]
    public void SpecDirectivesAreParsed()
    {
        var spec = GuestSpec.Parse([
            "// ARGS: one \"two words\" '' 'it''s' a\\ b \"q\\\"x\"",
            "// STDIN: first line",
            "// STDIN:",
            "//STDIN:   indented  ",
            "// ENV: A=1=2",
            "// TIMEOUT: 7.5",
            "int main(void) { return 0; } // ARGS: ignored? no: directives must start the line",
        ]);
        Assert.Equal(["one", "two words", "", "its", "a b", "q\"x"], spec.Args);
        Assert.Equal("first line\n\n  indented  \n", spec.Stdin);
        Assert.Equal([new KeyValuePair<string, string>("A", "1=2")], spec.Env);
        Assert.Equal(TimeSpan.FromSeconds(7.5), spec.Timeout);
    }
}
