using Dqemu.JitX64.Translation;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// Flag liveness (EmitterContext.Flags.cs): in a block translated in full a capture of NZCV that nothing reads emits
/// nothing, one that only readers finding it in the host flags read skips its store, and every other capture stays.
/// Each case checks the registers and NZCV against the program's own answer (worked out by hand below), how many
/// captures the plan dropped, and that no block had to be emitted again. The guests fault_regs (a signal handler's
/// NZCV at faults between flag writes) and the differential fuzzer check the rest against qemu-aarch64.
/// </summary>
public sealed class FlagLivenessTests
{
    /// <summary>Runs <paramref name="code"/> and checks how many captures the plan dropped and kept in the host flags
    /// only (<paramref name="dropped"/>, <paramref name="hostOnly"/>; null: not checked) and that no block was redone.</summary>
    private static JitHarness Run(string code, Action<JitHarness> setup, int? dropped, int? hostOnly, bool liveness = true)
    {
        var h = new JitHarness(new TranslatorOptions { FlagLiveness = liveness });
        setup(h);
        long d0 = h.Translator.FlagCapturesDropped, h0 = h.Translator.FlagStoresDropped;
        h.RunToEnd(code);
        Assert.Equal(0, h.Translator.FlagConflicts);
        if (dropped is { } d) Assert.Equal(d, h.Translator.FlagCapturesDropped - d0);
        if (hostOnly is { } o) Assert.Equal(o, h.Translator.FlagStoresDropped - h0);
        return h;
    }

    private const uint N = 8u << 28, Z = 4u << 28, C = 2u << 28, V = 1u << 28;

    [Fact]
    public void ACompareNothingReadsIsDroppedAndOneReadInTheHostFlagsIsNotStored()
    {
        // cmp x1, x2 (5 - 9) is overwritten unread; cmp x2, x1 (9 - 5: N=0 Z=0 C=1 V=0) is read by the csel alone
        // (ge holds: x3 = x1 = 5); adds x4 (5 + 9 = 14, no carry) is the block's last write: live at its end
        var h = Run("cmp x1, x2\ncmp x2, x1\ncsel x3, x1, x2, ge\nadds x4, x1, x2",
            h => { h.X(1) = 5; h.X(2) = 9; }, 1, 1);
        using (h)
        {
            Assert.Equal(5UL, h.X(3));
            Assert.Equal(14UL, h.X(4));
            Assert.Equal(0u, h.Nzcv);
        }
    }

    [Fact]
    public void AFlagValueIsStoredBeforeAnAccessThatMayFault()
    {
        // subs's flags (3 - 3: Z=1 C=1) are overwritten by the cmp, but a load sits between: a fault there would show
        // them to a signal handler, so the capture stays; the cmp (3 - 4: N=1, C=0) ends the block
        var h = Run("subs x1, x1, x2\nldr x5, [x0]\ncmp x2, x3",
            h => { h.X(0) = JitHarness.DataAddress; h.X(1) = 3; h.X(2) = 3; h.X(3) = 4; h.WriteU64(JitHarness.DataAddress, 77); }, 0, 0);
        using (h)
        {
            Assert.Equal(0UL, h.X(1));
            Assert.Equal(77UL, h.X(5));
            Assert.Equal(N, h.Nzcv);
        }
    }

    [Fact]
    public void AReaderAfterAnOperationThatClobbersTheHostFlagsReadsTheStoredValue()
    {
        // cmp x1, #0 (Z=1 C=1) is read by the cset after an eor that changes the host flags: it must be stored;
        // cset hi (C=1 and Z=0) is 0; the last cmn (7 + 1 = 8: nothing set) ends the block
        var h = Run("cmp x1, #0\neor x2, x2, #7\ncset x3, hi\ncset x4, eq\ncmn x2, #1",
            h => { h.X(1) = 0; h.X(2) = 0; h.X(3) = 9; }, 0, 0);
        using (h)
        {
            Assert.Equal(7UL, h.X(2));
            Assert.Equal(0UL, h.X(3));
            Assert.Equal(1UL, h.X(4));
            Assert.Equal(0u, h.Nzcv);
        }
    }

    [Theory]
    [InlineData("add x2, x2, #7")]          // LEA instead of ADD
    [InlineData("sub w2, w2, #0xff9")]      // LEA, 32 bits (4096 - 4089)
    [InlineData("add x2, x2, x6")]          // LEA for a register without shift
    [InlineData("and x2, x5, #0xff")]       // MOVZX (0x107 & 0xff = 7)
    public void AnOperationThatSetsNoFlagsLeavesThemInTheHostFlags(string between)
    {
        // as above, but the operation between the cmp and its readers has a form that leaves the host flags alone,
        // which it picks while they hold NZCV: both csets read them there and the cmp's capture is not stored
        var h = Run($"cmp x1, #0\n{between}\ncset x3, hi\ncset x4, eq\ncmn x2, #1",
            h => { h.X(1) = 0; h.X(2) = between.StartsWith("sub") ? 0xFF9UL + 7 : 0; h.X(3) = 9; h.X(5) = 0x107; h.X(6) = 7; }, 0, 1);
        using (h)
        {
            Assert.Equal(7UL, h.X(2));
            Assert.Equal(0UL, h.X(3));
            Assert.Equal(1UL, h.X(4));
            Assert.Equal(0u, h.Nzcv);
        }
    }

    [Fact]
    public void ACarryChainKeepsEveryCarryItReads()
    {
        // adds (all ones + 1: C=1, Z=1) feeds adcs (0 + 0 + C = 1) feeds adc (2 + 3 + 0); the tst (x1 & x1 = 0: Z=1)
        // overwrites adcs's flags unread after the adc; adds and adcs are each read by the next instruction in the host
        // flags: neither is stored
        var h = Run("adds x1, x1, x2\nadcs x3, x3, x4\nadc x5, x5, x6\ntst x1, x1",
            h => { h.X(1) = ulong.MaxValue; h.X(2) = 1; h.X(3) = 0; h.X(4) = 0; h.X(5) = 2; h.X(6) = 3; }, 0, 2);
        using (h)
        {
            Assert.Equal(0UL, h.X(1));
            Assert.Equal(1UL, h.X(3));
            Assert.Equal(5UL, h.X(5));
            Assert.Equal(Z, h.Nzcv);
        }
    }

    [Fact]
    public void WithoutLivenessEveryCaptureIsStored()
    {
        var h = Run("cmp x1, x2\ncmp x2, x1\ncsel x3, x1, x2, ge\nadds x4, x1, x2",
            h => { h.X(1) = 5; h.X(2) = 9; }, 0, 0, liveness: false);
        using (h)
        {
            Assert.Equal(5UL, h.X(3));
            Assert.Equal(0u, h.Nzcv);
        }
    }

    [Theory]
    [InlineData("ccmp x1, x2, #0, eq", 4, 4, Z | C)]   // eq holds (cmp x1, x2 equal): compare 4 - 4
    [InlineData("ccmp x1, x3, #9, ne", 4, 4, N | V)]   // ne fails: #9 = N, V
    [InlineData("ccmn x1, x3, #2, hs", 4, 4, 0u)]       // hs holds (C=1 after 4 - 4): 4 + 1, nothing set
    public void AConditionalCompareReadsTheCompareBeforeIt(string ccmp, ulong a, ulong b, uint nzcv)
    {
        // the cmp before it is read by the ccmp in the host flags (not stored) and the ccmp's result ends the block
        var h = Run($"cmp x1, x2\n{ccmp}", h => { h.X(1) = a; h.X(2) = b; h.X(3) = 1; }, null, 1);
        using (h) Assert.Equal(nzcv, h.Nzcv);
    }

    [Theory]
    [InlineData(5UL, 9UL, 3UL, 7UL)] // cmp 5 - 9: eq fails, ccmp gives #0: lt fails, x5 = x4 = 7
    [InlineData(9UL, 9UL, 3UL, 3UL)] // eq holds, ccmp 3 - 7: N, lt holds, x5 = x3 = 3
    [InlineData(9UL, 9UL, 8UL, 7UL)] // eq holds, ccmp 8 - 7: lt fails, x5 = x4 = 7
    public void AConditionalComparesResultIsReadInTheHostFlags(ulong x1, ulong x2, ulong x3, ulong expected)
    {
        // the cmp's value is read by the ccmp alone, the ccmp's by the csel alone (the last cmp overwrites it): both
        // stay in the host flags, so neither is stored; the last cmp (x1 - x1: Z, C) ends the block
        var h = Run("cmp x1, x2\nccmp x3, x4, #0, eq\ncsel x5, x3, x4, lt\ncmp x1, x1",
            h => { h.X(1) = x1; h.X(2) = x2; h.X(3) = x3; h.X(4) = 7; }, 0, 2);
        using (h)
        {
            Assert.Equal(expected, h.X(5));
            Assert.Equal(Z | C, h.Nzcv);
        }
    }

    [Theory]
    [InlineData(4UL, 4UL, 1UL)] // eq holds: ccmp 4 - 3 (C), hs holds: x6 = 1
    [InlineData(4UL, 5UL, 0UL)] // eq fails: #0, hs fails: x6 = 0
    public void AConditionalCompareReadAfterAMultiplyIsStoredAndReadBack(ulong x1, ulong x2, ulong expected)
    {
        // bc's loop: the ccmp's value is read after a madd, whose imul changes the host flags, so it is stored and
        // the cset reads the field (the ccmp sets no host flags for nobody); the cmp's is read by the ccmp in them
        var h = Run("cmp x1, x2\nccmp x1, x3, #0, eq\nmadd x5, x1, x2, x3\ncset x6, hs",
            h => { h.X(1) = x1; h.X(2) = x2; h.X(3) = 3; }, 0, 1);
        using (h)
        {
            Assert.Equal(expected, h.X(6));
            Assert.Equal(x1 * x2 + 3, h.X(5));
            Assert.Equal(expected == 1 ? C : 0u, h.Nzcv);
        }
    }

    [Fact]
    public unsafe void AConditionalCompareReadByALoopsBackEdgeSetsTheHostFlagsAsWellAsStoring()
    {
        // gawk's field-splitting loop: the b.hi back edge is an exit as well (the loop's exit-request check), so the
        // ccmp's value is stored, and the b.hi reads it in the host flags the ccmp set, not by loading the field just
        // stored. The loop runs over "abc" and stops at the space: (c - 9) & 0xff > 1 unless c is a space (ccmp #0)
        var log = new System.Text.StringBuilder();
        using var h = new JitHarness(new TranslatorOptions { CodeCacheSize = 16UL << 20, LogOutAsm = true, Log = s => log.Append(s) });
        "abc def"u8.CopyTo(new Span<byte>(h.Memory(JitHarness.DataAddress), 7));
        h.X(1) = JitHarness.DataAddress;
        h.RunToEnd("""
            mov x2, #0
            loop:
            ldrb w3, [x1], #1
            sub w4, w3, #9
            and w4, w4, #0xff
            cmp w3, #0x20
            ccmp w4, #1, #0, ne
            add x2, x2, #1
            b.hi loop
            """);
        Assert.Equal(0, h.Translator.FlagConflicts);
        Assert.Equal(4UL, h.X(2));
        Assert.Equal(JitHarness.DataAddress + 4, h.X(1));
        Assert.Equal(0u, h.Nzcv);
        Assert.DoesNotContain("movzx eax,word [rbx+108h]", log.ToString());
    }

    [Theory]
    [InlineData(1UL, 2UL, 1UL)] // ne: fccmp's #4 (Z) without comparing, cset eq = 1
    [InlineData(2UL, 2UL, 0UL)] // eq: 1.0 < 2.0 gives N, cset eq = 0
    public void AFloatingConditionalComparesTwoWaysJoinBeforeTheReader(ulong x1, ulong x2, ulong expected)
    {
        // FCCMP's two ways (the constant, the compare) meet at a label before the cset: the compare's capture left
        // NZCV in the host flags, the constant did not, so the cset must read the stored field
        var h = Run("fmov d0, #1.0\nfmov d1, #2.0\ncmp x1, x2\nfccmp d0, d1, #4, eq\ncset x5, eq",
            h => { h.X(1) = x1; h.X(2) = x2; }, null, null);
        using (h)
        {
            Assert.Equal(expected, h.X(5));
            Assert.Equal(expected == 1 ? Z : N, h.Nzcv);
        }
    }
}
