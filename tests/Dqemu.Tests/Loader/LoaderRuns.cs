using Xunit;

namespace Dqemu.Tests.Loader;

/// <summary>
/// The programs the loader tests corrupt (built by toolchains/build-guests.sh), and runs of a corrupted copy under
/// dqemu-native and qemu-aarch64 with the checks every run must pass.
/// </summary>
internal static class LoaderRuns
{
    /// <summary>A small static AArch64 program (ET_EXEC): prints one line and exits 42.</summary>
    public static string StaticGuest => Guest("exit_ret42");

    /// <summary>A dynamically linked one (ET_DYN with a PT_INTERP).</summary>
    public static string DynamicGuest => Guest(Path.Combine("dyn", "demo"));

    /// <summary>What the unmodified static guest does (under qemu-aarch64 as under dqemu-native).</summary>
    public const int StaticGuestStatus = 42;
    public const string StaticGuestStdout = "main returns 42 (argc=1)\n";

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    /// <summary>qemu-aarch64 hangs on some bad images (e.g. huge overlapping segments): less time for it.</summary>
    public static readonly TimeSpan QemuTimeout = TimeSpan.FromSeconds(5);

    private static string Guest(string name)
    {
        var path = Path.Combine(GuestRunner.GuestBinaryDir, name);
        if (!File.Exists(path)) Assert.Fail($"guest binary {path} is missing; run ./build.sh (or toolchains/build-guests.sh)");
        return path;
    }

    /// <summary>Writes <paramref name="bytes"/> as an executable file (qemu-aarch64, like execve, runs no other).</summary>
    public static string WriteExecutable(string dir, string name, byte[] bytes)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    public static ProcessResult Dqemu(string path) =>
        GuestRunner.Run(GuestRunner.DqemuBinary, [path], GuestRunner.StandardGuestEnvironment, timeout: Timeout);

    public static ProcessResult Qemu(string path)
    {
        var qemu = GuestRunner.FindOnPath("qemu-aarch64")
            ?? throw new InvalidOperationException("qemu-aarch64 not found on PATH; run toolchains/install.sh (Debian package qemu-user)");
        return GuestRunner.Run(qemu, [path], GuestRunner.StandardGuestEnvironment, timeout: QemuTimeout);
    }

    /// <summary>
    /// The emulator's refusal of a bad file: within the time limit, status <paramref name="status"/>, and one line
    /// on stderr, "dqemu-native: ..." (printable: no binary bytes from the file).
    /// </summary>
    public static void AssertRefused(ProcessResult r, int status, string what)
    {
        Assert.False(r.TimedOut, $"{what}: still running after {Timeout.TotalSeconds} s");
        Assert.True(r.ExitCode == status, $"{what}: {r.Describe()}, expected exit {status}; stderr: {r.Stderr}");
        AssertOneLine(r.Stderr, what);
    }

    public static void AssertOneLine(string stderr, string what)
    {
        Assert.True(stderr.StartsWith("dqemu-native: ", StringComparison.Ordinal) && stderr.EndsWith('\n') && stderr.Count(c => c == '\n') == 1,
            $"{what}: stderr is not one 'dqemu-native: ' line: [{stderr}]");
        Assert.False(stderr[..^1].Any(char.IsControl), $"{what}: stderr holds control characters: [{stderr}]");
    }

    /// <summary>No sign of a .NET failure: an unhandled exception's trace, or the emulator's internal error.</summary>
    public static void AssertNoTrace(ProcessResult r, string what)
    {
        Assert.False(r.Stderr.Contains("   at ", StringComparison.Ordinal) || r.Stderr.Contains("Unhandled exception", StringComparison.Ordinal)
            || r.Stderr.Contains("internal error", StringComparison.Ordinal), $"{what}: a .NET failure on stderr: {r.Stderr}");
        Assert.True(r.ExitCode != 70, $"{what}: exit 70 (internal error): {r.Stderr}");
    }

    /// <summary>The unmodified static guest's behaviour: its output and status.</summary>
    public static void AssertRanLikeTheOriginal(ProcessResult r, string what)
    {
        Assert.False(r.TimedOut, $"{what}: still running after {Timeout.TotalSeconds} s");
        AssertNoTrace(r, what);
        Assert.True(r.ExitCode == StaticGuestStatus && r.Stdout == StaticGuestStdout,
            $"{what}: {r.Describe()}, stdout [{r.Stdout}], stderr [{r.Stderr}]; expected exit {StaticGuestStatus} and [{StaticGuestStdout}]");
    }
}
