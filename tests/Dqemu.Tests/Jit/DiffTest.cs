using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// Differential checks: a snippet run from one state under qemu-aarch64 and under our translator must
/// leave every register, NZCV and the data page identical.
/// </summary>
public static class DiffTest
{
    public static void AssertSameAsQemu(string snippet, MachineState init, ulong codeAddress = JitHarness.CodeAddress)
    {
        var expected = QemuOracle.Run(snippet, init, codeAddress);
        using var h = new JitHarness();
        h.SetState(init);
        h.RunToEnd(snippet, codeAddress);
        var diff = MachineState.Diff(expected, h.GetState());
        Assert.True(diff.Count == 0, $"after:\n{snippet}\n" + string.Join("\n", diff));
    }

    /// <summary>Runs each snippet from several random states (seeds 0..count-1).</summary>
    public static void AssertSameAsQemu(string snippet, int states, ulong codeAddress = JitHarness.CodeAddress)
    {
        for (int seed = 0; seed < states; seed++) AssertSameAsQemu(snippet, MachineState.Random(seed), codeAddress);
    }
}
