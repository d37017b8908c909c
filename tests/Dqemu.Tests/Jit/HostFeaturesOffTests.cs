using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Jit;

/// <summary>
/// The translator's fallbacks, taken on this host by naming its x86 extensions in DQEMU_HOST_FEATURES_OFF
/// (src/JitX64/Host/HostCpu.cs): without FMA3 and SSE4.2 the guests' floating-point and SIMD output still equals
/// qemu-aarch64's; without SHA-NI the SHA1/SHA256 instructions run as helpers, give the FIPS known answers, and
/// AT_HWCAP no longer advertises them. An unknown name is refused with one line.
/// </summary>
public class HostFeaturesOffTests(ITestOutputHelper output)
{
    private const string Off = "DQEMU_HOST_FEATURES_OFF";

    [Theory]
    [InlineData("fp_math")]
    [InlineData("fp_env")]
    [InlineData("simd_neon")]
    public void WithoutFmaAndSse42TheGuestMatchesQemu(string guest) =>
        GuestProgramTests.AssertSameAsQemu(output, guest, Path.Combine(GuestRunner.GuestSourceDir, guest + ".c"),
            Path.Combine(GuestRunner.GuestBinaryDir, guest), [], [], dqemuEnv: new Dictionary<string, string> { [Off] = "fma,sse42" });

    [Fact]
    public void WithoutShaNiShaRunsAsHelpersAndIsNotAdvertised()
    {
        string guest = Path.Combine(GuestRunner.GuestBinaryDir, "crypto");
        Assert.True(File.Exists(guest), $"{guest} is missing; run ./build.sh");
        var qemu = GuestRunner.Run(GuestRunner.FindOnPath("qemu-aarch64") ?? "qemu-aarch64", [guest, "sha-bits"], GuestRunner.StandardGuestEnvironment, timeout: GuestRunner.DefaultTimeout);
        var env = new Dictionary<string, string>(GuestRunner.StandardGuestEnvironment) { [Off] = "sha" };
        var ours = GuestRunner.Run(GuestRunner.DqemuBinary, [guest, "sha-bits"], env, timeout: GuestRunner.DefaultTimeout);
        output.WriteLine($"qemu-aarch64: {qemu.Describe()}\n{qemu.Stdout}\ndqemu-native: {ours.Describe()}\n{ours.Stdout}{ours.Stderr}");
        // the guest's status counts wrong known answers (FIPS 180 SHA-1/SHA-256, FIPS-197 AES, a C carry-less multiply)
        Assert.Equal(0, qemu.ExitCode);
        Assert.Equal(0, ours.ExitCode);
        string[] q = qemu.Stdout.Split('\n'), o = ours.Stdout.Split('\n');
        Assert.StartsWith("hwcap aes=", q[0]);
        Assert.EndsWith(" sha1=1 sha2=1", q[0]); // qemu's -cpu max has both
        Assert.Equal(q[0].Replace("sha1=1 sha2=1", "sha1=0 sha2=0"), o[0]);
        Assert.Equal(q[1..], o[1..]);
        Assert.Contains(o, l => l.StartsWith("sha256(abc) ba7816bf", StringComparison.Ordinal) && l.EndsWith(" ok", StringComparison.Ordinal));
    }

    /// <summary>With SHA-NI (where the host has it) the SHA1/SHA2 bits are qemu's -cpu max's.</summary>
    [Fact]
    public void WithShaNiShaIsAdvertisedAsUnderQemu()
    {
        bool shaNi = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal)).Split(' ').Contains("sha_ni");
        string guest = Path.Combine(GuestRunner.GuestBinaryDir, "crypto");
        var qemu = GuestRunner.Run(GuestRunner.FindOnPath("qemu-aarch64") ?? "qemu-aarch64", [guest, "sha-bits"], GuestRunner.StandardGuestEnvironment, timeout: GuestRunner.DefaultTimeout);
        var ours = GuestRunner.Run(GuestRunner.DqemuBinary, [guest, "sha-bits"], GuestRunner.StandardGuestEnvironment, timeout: GuestRunner.DefaultTimeout);
        Assert.Equal(0, ours.ExitCode);
        string first = ours.Stdout.Split('\n')[0];
        // without SHA-NI the bits are clear (the helpers are slower than OpenSSL's generic code): Features.HwCap
        Assert.Equal(shaNi ? qemu.Stdout.Split('\n')[0] : qemu.Stdout.Split('\n')[0].Replace("sha1=1 sha2=1", "sha1=0 sha2=0"), first);
        Assert.Equal(qemu.Stdout.Split('\n')[1..], ours.Stdout.Split('\n')[1..]);
    }

    [Fact]
    public void AnUnknownNameIsRefusedWithOneLine()
    {
        var env = new Dictionary<string, string>(GuestRunner.StandardGuestEnvironment) { [Off] = "sha,avx9" };
        var r = GuestRunner.Run(GuestRunner.DqemuBinary, [Path.Combine(GuestRunner.GuestBinaryDir, "exit_ret42")], env, timeout: TimeSpan.FromSeconds(30));
        Assert.Equal(64, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.Equal("dqemu-native: DQEMU_HOST_FEATURES_OFF: 'avx9' is not one of fma, sse42, aes, pclmul, sha\n", r.Stderr);
    }
}
