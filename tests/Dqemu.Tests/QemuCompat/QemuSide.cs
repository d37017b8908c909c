using Xunit;

namespace Dqemu.Tests.QemuCompat;

/// <summary>
/// Runs a guest under qemu-aarch64 (the reference) and under ./dqemu-native with the same arguments and
/// environment, each in a fresh working directory, for the tests of qemu's command-line habits.
/// </summary>
internal static class QemuSide
{
    public static string Qemu =>
        GuestRunner.FindOnPath("qemu-aarch64")
        ?? throw new Xunit.Sdk.XunitException("qemu-aarch64 not found on PATH; run toolchains/install.sh (Debian package qemu-user)");

    public static string Guest(string name)
    {
        var path = Path.Combine(GuestRunner.GuestBinaryDir, name);
        Assert.True(File.Exists(path), $"{path} is missing; run ./build.sh (or toolchains/build-guests.sh)");
        var source = Path.Combine(GuestRunner.GuestSourceDir, name + ".c");
        if (File.Exists(source))
            Assert.True(File.GetLastWriteTimeUtc(path) >= File.GetLastWriteTimeUtc(source), $"{path} is older than its source; run ./build.sh");
        return path;
    }

    public static string Dqemu
    {
        get
        {
            var d = GuestRunner.DqemuBinary;
            Assert.True(File.Exists(d), $"{d} is missing; run ./build.sh");
            return d;
        }
    }

    /// <summary>The standard guest environment plus <paramref name="extra"/>.</summary>
    public static Dictionary<string, string> Env(params (string Name, string Value)[] extra)
    {
        var env = new Dictionary<string, string>(GuestRunner.StandardGuestEnvironment);
        foreach (var (k, v) in extra) env[k] = v;
        return env;
    }

    /// <summary>Runs <paramref name="exe"/> in a fresh directory, which <paramref name="inDir"/> may inspect before it goes.</summary>
    public static ProcessResult Run(string exe, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> env,
        Action<string>? inDir = null, TimeSpan? timeout = null)
    {
        var cwd = GuestRunner.CreateTempDirectory("qemucompat");
        try
        {
            var r = GuestRunner.Run(exe, args, env, null, cwd, timeout ?? TimeSpan.FromSeconds(60));
            Assert.False(r.TimedOut, $"{Path.GetFileName(exe)} {string.Join(' ', args)} timed out");
            inDir?.Invoke(cwd);
            return r;
        }
        finally
        {
            GuestRunner.DeleteDirectory(cwd);
        }
    }

    /// <summary>The guest's stdout and exit status under both, which must be equal; returns (qemu, dqemu).</summary>
    public static (ProcessResult Qemu, ProcessResult Dqemu) Both(IReadOnlyList<string> qemuArgs, IReadOnlyList<string> dqemuArgs,
        IReadOnlyDictionary<string, string> env)
    {
        var q = Run(Qemu, qemuArgs, env);
        var d = Run(Dqemu, dqemuArgs, env);
        Assert.True(q.ExitCode == d.ExitCode, $"exit status: qemu-aarch64 {q.Describe()}, dqemu-native {d.Describe()}\n{d.Stderr}");
        Assert.Equal(q.Stdout, d.Stdout);
        return (q, d);
    }
}
