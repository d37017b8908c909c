using System.Text;
using System.Text.RegularExpressions;
using Dqemu.JitX64.Translation;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// The register layer's entry loads (EmitterContext.cs, Translator.PlanCache): a cached guest register whose first
/// access in the block is a write gets no load at the block's start, also when the writing emitter's code branches
/// only out of line (a load's address check); one read before its write keeps its load. The values come from the programs' own arithmetic; the host code is read from the translator's -d out_asm log. The
/// fault side (a faulting load whose destination was never loaded) is SplitRedirectFaultTests'.
/// </summary>
public sealed class RegisterLayerTests
{
    /// <summary>Runs <paramref name="code"/> translated in full and returns the host code the translator logged.</summary>
    private static string Run(string code, Action<JitHarness> setup, Action<JitHarness> check)
    {
        var log = new StringBuilder();
        using var h = new JitHarness(new TranslatorOptions { CodeCacheSize = 16UL << 20, LogOutAsm = true, Log = s => log.Append(s) });
        setup(h);
        h.RunToEnd(code);
        Assert.Equal(0, h.Translator.RegisterConflicts);
        check(h);
        return log.ToString();
    }

    /// <summary>Host instructions that load guest register <paramref name="r"/> from CpuState (X0 at rbx + 0).</summary>
    private static int LoadsOf(string outAsm, int r) =>
        Regex.Matches(outAsm, r == 0 ? @"mov r\w+,\[rbx\]" : $@"mov r\w+,\[rbx\+{8 * r:X}h\]").Count;

    [Theory]
    // x10 is read twice after the load writes it (worth a host register); the load's address check branches out of
    // line and back to the load, so the write is unconditional and x10's old value is never needed
    [InlineData("ldr x10, [x1]\nadd x12, x10, x10\nadd x13, x10, #1", false)]
    // the same block with x10 read first: its entry load stays
    [InlineData("add x11, x10, #1\nldr x10, [x1]\nadd x12, x10, x10\nadd x13, x10, #1", true)]
    public void ARegisterIsLoadedAtEntryOnlyWhenReadBeforeItsWrite(string code, bool readFirst)
    {
        string asm = Run(code,
            h => { h.X(1) = JitHarness.DataAddress; h.X(10) = 5; h.X(11) = 0; h.WriteU64(JitHarness.DataAddress, 21); },
            h =>
            {
                Assert.Equal(readFirst ? 6UL : 0UL, h.X(11));
                Assert.Equal(21UL, h.X(10));
                Assert.Equal(42UL, h.X(12));
                Assert.Equal(22UL, h.X(13));
            });
        if (readFirst) Assert.True(LoadsOf(asm, 10) >= 1, asm);
        else Assert.Equal(0, LoadsOf(asm, 10));
    }
}
