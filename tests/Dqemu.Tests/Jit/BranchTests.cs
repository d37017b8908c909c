using Dqemu.JitX64.State;
using Xunit;

namespace Dqemu.Tests.Jit;

public unsafe class BranchTests
{
    [Fact]
    public void CbzFallsThroughOnNonZeroAndBackwardBranchesLink()
    {
        using var h = new JitHarness();
        h.X(0) = 10;
        var r = h.Run("""
            b 2f
        1:  cbz x0, 3f
            b 4f
        2:  b 1b
        3:  brk #1
        4:  nop
        """);
        Assert.Equal(ExitReason.Breakpoint, r);
        Assert.Equal(JitHarness.CodeAddress + 24, h.Cpu->Pc);
    }

    [Fact]
    public void BlAndRetReturn()
    {
        using var h = new JitHarness();
        h.RunToEnd("""
            bl 1f
            b 2f
        1:  ret
        2:  nop
        """);
        Assert.Equal(JitHarness.CodeAddress + 4, h.X(30));
    }

    [Fact]
    public void TbzTestsTheNamedBit()
    {
        using var h = new JitHarness();
        h.X(3) = 1UL << 40;
        var r = h.Run("""
            tbz x3, #40, 1f
            tbnz x3, #39, 1f
            b 2f
        1:  brk #7
        2:  nop
        """);
        Assert.Equal(ExitReason.Breakpoint, r);
        Assert.Equal(JitHarness.CodeAddress + 20, h.Cpu->Pc);
    }

    [Fact]
    public void UndefinedInstructionExitsAtItsPc()
    {
        using var h = new JitHarness();
        var r = h.Run(".inst 0x00000000");
        Assert.Equal(ExitReason.Undefined, r);
        Assert.Equal(JitHarness.CodeAddress, h.Cpu->Pc);
    }

    [Fact]
    public void MsrMrsNzcvRoundTrips()
    {
        using var h = new JitHarness();
        h.X(0) = 0xA000_0000; // N and C
        h.RunToEnd("""
            msr nzcv, x0
            mrs x1, nzcv
        """);
        Assert.Equal(0xA000_0000UL, h.X(1));
        Assert.Equal(0xA000_0000u, h.Nzcv);
    }

    [Theory]
    [InlineData(0x0000_0000u, "eq", false)]
    [InlineData(0x4000_0000u, "eq", true)]
    [InlineData(0x2000_0000u, "hi", true)]
    [InlineData(0x6000_0000u, "hi", false)]
    [InlineData(0x0000_0000u, "ls", true)]
    [InlineData(0x9000_0000u, "ge", true)]
    [InlineData(0x8000_0000u, "ge", false)]
    [InlineData(0x8000_0000u, "lt", true)]
    [InlineData(0x4000_0000u, "gt", false)]
    [InlineData(0x0000_0000u, "gt", true)]
    [InlineData(0x1000_0000u, "vs", true)]
    [InlineData(0x2000_0000u, "cs", true)]
    [InlineData(0x2000_0000u, "cc", false)]
    public void ConditionalBranchFollowsNzcv(uint nzcv, string cond, bool taken)
    {
        using var h = new JitHarness();
        h.X(0) = nzcv;
        var r = h.Run($"""
            msr nzcv, x0
            b.{cond} 1f
            brk #2
        1:  nop
        """);
        Assert.Equal(ExitReason.Breakpoint, r);
        Assert.Equal(JitHarness.CodeAddress + (taken ? 16UL : 8UL), h.Cpu->Pc);
    }
}

public class BranchDiffTests
{
    [Theory]
    [InlineData("b.eq 1f\n mrs x1, nzcv\n1: nop")]
    [InlineData("cbz x3, 1f\n cbnz w4, 1f\n tbz x5, #63, 1f\n bl 1f\n1: nop")]
    public void MatchesQemu(string snippet) => DiffTest.AssertSameAsQemu(snippet, 4);

    /// <summary>
    /// Code above 4 GiB, where a return address does not fit an imm32 (ld.so runs at 0xF0_0000_0000): BLR once
    /// built X30 through rax after loading its target there, and so "returned" to the next instruction.
    /// </summary>
    [Theory]
    [InlineData("adr x5, 1f\n blr x5\n mov x6, #1\n1: nop")]
    [InlineData("adr x30, 1f\n blr x30\n mov x6, #1\n1: nop")]
    [InlineData("adr x7, 1f\n bl 2f\n mov x6, #1\n2: br x7\n mov x8, #2\n1: adr x9, .")]
    [InlineData("adr x30, 1f\n ret\n mov x6, #1\n1: nop")]
    public void MatchesQemuAtHighAddress(string snippet) => DiffTest.AssertSameAsQemu(snippet, 2, HighCodeAddress);

    const ulong HighCodeAddress = 0x1_0000_0000 + JitHarness.CodeAddress;
}
