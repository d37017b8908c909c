using System.Text.RegularExpressions;
using Xunit;

namespace Dqemu.Tests;

/// <summary>What --stats reports about the emulator itself on a short one-node run.</summary>
public class StatsTests
{
    /// <summary>
    /// The stats name the translation cost per guest instruction and the managed heap's activity; a short guest
    /// allocates a few MiB and, with the gen0 budget the binary is built with (Runtime.csproj), never collects: a
    /// collection there was 8 ms of a 49 ms hello world. The one collection of a nearly empty heap at start-up
    /// (ManagedHeapPrefault committing gen0 ahead) is counted apart.
    /// </summary>
    [Fact]
    public void ShortRunReportsTranslationCostAndNoCollection()
    {
        var guest = Path.Combine(GuestRunner.GuestBinaryDir, "demo");
        Assert.True(File.Exists(guest), $"{guest} is missing; run ./build.sh");
        var r = GuestRunner.Run(GuestRunner.DqemuBinary, ["--stats", guest], timeout: TimeSpan.FromSeconds(60));
        Assert.False(r.TimedOut);
        Assert.Equal(0, r.ExitCode);
        var perInsn = Regex.Match(r.Stderr, @"translation time +[0-9.]+ ms \(([0-9.]+) us per guest insn\)");
        Assert.True(perInsn.Success, r.Stderr);
        Assert.True(double.Parse(perInsn.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, r.Stderr);
        var heap = Regex.Match(r.Stderr, @"managed heap +(\d+) KiB allocated, (\d+) collections \(gen1 (\d+), gen2 (\d+)\); (\d+) at start-up");
        Assert.True(heap.Success, r.Stderr);
        Assert.True(int.Parse(heap.Groups[1].Value) > 0, r.Stderr);
        Assert.Equal("0", heap.Groups[2].Value);
        Assert.True(int.Parse(heap.Groups[5].Value) <= 1, r.Stderr);
    }

    /// <summary>Blocks translated again once hot (Translator.Tiers.cs) are counted; with --tier-up 0 there are none.</summary>
    [Fact]
    public void BlocksTranslatedAgainOnceHotAreCounted()
    {
        var guest = Path.Combine(GuestRunner.GuestBinaryDir, "sha256");
        Assert.True(File.Exists(guest), $"{guest} is missing; run ./build.sh");
        var tiered = GuestRunner.Run(GuestRunner.DqemuBinary, ["--stats", "--tier-up", "100", guest], timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(0, tiered.ExitCode);
        var m = Regex.Match(tiered.Stderr, @"blocks translated +(\d+) \((\d+) of them again, in full, once hot\)");
        Assert.True(m.Success, tiered.Stderr);
        Assert.InRange(int.Parse(m.Groups[2].Value), 1, int.Parse(m.Groups[1].Value) - 1);
        var full = GuestRunner.Run(GuestRunner.DqemuBinary, ["--stats", "--tier-up", "0", guest], timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(0, full.ExitCode);
        Assert.Equal(tiered.Stdout, full.Stdout);
        Assert.Matches(@"blocks translated +\d+\n", full.Stderr);
    }
}
