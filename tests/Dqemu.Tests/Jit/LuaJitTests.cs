using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Jit;

/// <summary>
/// A real guest JIT: Debian's arm64 LuaJIT (fetched with its library closure by toolchains/luajit.sh into
/// build/luajit/sysroot, never stored in the repository) runs the scripts in tests/luajit/ under qemu-aarch64, the
/// reference, and under ./dqemu-native with the same -L; stdout and exit status must be equal. Each script checks its
/// own answers (closed forms, or the interpreter's answer for the same function under jit.off) and that the JIT is
/// on and compiled traces (jit.status(), jit.util.traceinfo), and ends with "ok". Debian's build keeps its machine
/// code area RX and makes it RW with mprotect to write or patch traces (LUAJIT_SECURITY_MCODE), so this exercises
/// the invalidation by mprotect; tests/guests/self_modify writes code without one.
/// </summary>
public class LuaJitTests(ITestOutputHelper output)
{
    private static string Root => Path.Combine(GuestRunner.RequireRepoRoot(), "build", "luajit", "sysroot");

    public static TheoryData<string> Scripts() => new() { "numeric", "strings", "tables" };

    [Theory]
    [MemberData(nameof(Scripts))]
    public void ScriptMatchesQemu(string script) => Compare(script, []);

    /// <summary>With the smallest code cache, which the JIT's retranslation fills and empties about a hundred times
    /// (Translator.Reuse.cs) while traces are dropped page by page (Translator.Drop.cs).</summary>
    [Theory]
    [MemberData(nameof(Scripts))]
    public void ScriptMatchesQemuWithTheSmallestCodeCache(string script) => Compare(script, ["--code-cache-size", "512K"]);

    private void Compare(string script, string[] options)
    {
        GuestRunner.EnsureMade(Path.Combine(Root, ".complete"), "luajit.sh", "apt-get with arm64 as a foreign architecture (root or sudo)");
        var qemu = GuestRunner.FindOnPath("qemu-aarch64") ?? throw new InvalidOperationException("qemu-aarch64 not found on PATH");
        string path = Path.Combine(GuestRunner.GuestSourceDir, "..", "luajit", script + ".lua");
        string[] args = ["-L", Root, Path.Combine(Root, "usr", "bin", "luajit"), path];
        var timeout = TimeSpan.FromSeconds(120);
        var reference = GuestRunner.Run(qemu, args, GuestRunner.StandardGuestEnvironment, timeout: timeout);
        Assert.False(reference.TimedOut, "qemu-aarch64 timed out");
        Assert.Equal(0, reference.ExitCode);
        Assert.EndsWith("jit on, traces compiled: yes\nok\n", reference.Stdout);
        var r = GuestRunner.Run(GuestRunner.DqemuBinary, [.. options, .. args], GuestRunner.StandardGuestEnvironment, timeout: timeout);
        output.WriteLine(r.Stdout);
        output.WriteLine(r.Stderr);
        Assert.False(r.TimedOut, "dqemu-native timed out");
        Assert.Equal(reference.Stdout, r.Stdout);
        Assert.Equal(reference.ExitCode, r.ExitCode);
    }
}
