using System.Text;
using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.State;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// The states the integer data-processing tests run from: a few random ones and a few whose X registers
/// hold only edge values (0, 1, INT32 and INT64 limits, all ones), each with a different NZCV.
/// </summary>
internal static class IntStates
{
    private static readonly ulong[] Edges =
    [
        0, 1, 0x7fffffff, 0x80000000, 0xffffffff, long.MaxValue, 0x8000000000000000, ulong.MaxValue,
        2, 0x100000000, 0xfffffffffffffffe, 0x7ffffffe, 0xffff, 0x8000,
    ];

    public static IEnumerable<MachineState> All()
    {
        for (int seed = 0; seed < 3; seed++) yield return MachineState.Random(7100 + seed);
        for (int k = 0; k < 4; k++)
        {
            var s = MachineState.Random(7200 + k);
            var r = new Random(7300 + k);
            // registers 0..7 cycle through the eight main edge values in a different order each time
            for (int i = 0; i < 31; i++)
                s.X[i] = i < 8 ? Edges[(i * (2 * k + 1) + k) % 8] : Edges[r.Next(Edges.Length)];
            s.Nzcv = (uint)((k * 5 + 3) % 16) << 28;
            yield return s;
        }
    }

    public static void Check(string snippet)
    {
        foreach (var s in All()) DiffTest.AssertSameAsQemu(snippet, s);
    }
}

public unsafe class AluTests
{
    [Theory]
    // add/subtract (immediate), SP forms
    [InlineData("add x9, x1, #0\n add x10, x2, #4095\n add x11, x3, #1, lsl #12\n add w12, w4, #4095, lsl #12\n add w13, w5, #0\n sub x14, x6, #4095\n sub w15, w7, #1, lsl #12")]
    [InlineData("add x1, x1, #17\n add w2, w2, #17\n sub x3, x3, #0xfff, lsl #12\n sub w4, w4, #1\n add x5, x5, #0")]
    [InlineData("mov x9, sp\n add x10, sp, #32\n sub sp, sp, #0x40\n add x11, sp, #0\n add x12, sp, #1, lsl #12\n add sp, x5, #8\n mov x13, sp\n add wsp, w6, #3\n mov x14, sp\n sub w15, wsp, #1")]
    [InlineData("adds x9, x1, #1\n mrs x20, nzcv\n adds w10, w2, #1\n mrs x21, nzcv\n subs x11, x3, #1\n mrs x22, nzcv\n subs w12, w4, #4095\n mrs x23, nzcv\n cmp x5, #0\n mrs x24, nzcv\n cmn w6, #1\n mrs x25, nzcv\n cmp w7, #0\n mrs x26, nzcv")]
    [InlineData("subs x9, x1, #0\n mrs x20, nzcv\n adds x10, x2, #0\n mrs x21, nzcv\n subs w11, w3, #0\n mrs x22, nzcv\n adds w12, w4, #0\n mrs x23, nzcv\n cmn x5, #1, lsl #12\n mrs x24, nzcv\n cmp w6, #4095, lsl #12\n mrs x25, nzcv\n adds x13, sp, #1\n mrs x26, nzcv\n cmp sp, #16\n mrs x27, nzcv\n cmn wsp, #4\n mrs x28, nzcv")]
    // add/subtract (shifted register)
    [InlineData("add x9, x1, x2\n add x10, x1, x2, lsl #1\n add x11, x3, x4, lsl #3\n add x12, x5, x6, lsr #63\n add x13, x7, x0, asr #17\n add w14, w1, w2, lsl #31\n add w15, w3, w4, asr #5\n add w16, w5, w6, lsr #1\n add w17, w7, w1, lsl #2\n add x18, x1, x2, lsl #63\n add x19, x3, x4, lsl #4")]
    [InlineData("sub x9, x1, x2\n sub x10, x1, x2, lsl #1\n sub w11, w3, w4, lsr #31\n sub x12, x5, x6, asr #63\n sub w13, w7, w0, lsl #3\n sub x1, x1, x1\n add w2, w2, w2, lsl #1")]
    [InlineData("subs x9, x1, x2\n mrs x20, nzcv\n subs w10, w3, w4, lsl #3\n mrs x21, nzcv\n adds x11, x5, x6, asr #63\n mrs x22, nzcv\n adds w12, w7, w0, lsr #31\n mrs x23, nzcv\n cmp x1, x2, lsl #1\n mrs x24, nzcv\n cmn w3, w4\n mrs x25, nzcv\n adds x13, x1, x2\n mrs x26, nzcv\n subs w14, w5, w6\n mrs x27, nzcv")]
    [InlineData("neg x13, x5\n neg w14, w6, lsl #4\n negs x15, x7\n mrs x26, nzcv\n negs w16, w0\n mrs x27, nzcv\n neg x17, x1, asr #63\n negs w18, w2, lsr #1\n mrs x28, nzcv")]
    [InlineData("add x9, xzr, x1\n sub x10, x1, xzr\n adds x11, x2, xzr, lsl #3\n mrs x20, nzcv\n subs xzr, x3, x4\n mrs x21, nzcv\n sub w12, wzr, w5, asr #2\n add x13, x6, xzr\n cmp wzr, w7\n mrs x22, nzcv\n adds wzr, w1, w2\n mrs x23, nzcv")]
    // add/subtract (extended register)
    [InlineData("add x9, x1, w2, uxtb\n add x10, x1, w2, uxth #1\n add x11, x3, w4, uxtw #2\n add x12, x5, x6, uxtx #3\n add x13, x7, w0, sxtb #4\n add x14, x1, w3, sxth\n add x15, x2, w4, sxtw #2\n add x16, x5, x6, sxtx #1\n add w17, w1, w2, uxtb #1\n add w18, w3, w4, sxth #4\n add w19, w5, w6, sxtb\n sub x20, x1, w2, sxtw #3\n sub w21, w3, w4, uxth #4")]
    [InlineData("add x9, sp, x1\n add x10, sp, w2, uxtw #4\n sub x11, sp, x3, lsl #2\n add sp, sp, x4, lsl #1\n mov x12, sp\n sub sp, x5, w6, sxtw\n mov x13, sp\n add wsp, w1, w2, uxtb\n mov x14, sp\n sub w15, wsp, w3, sxth #2")]
    [InlineData("adds x9, x1, w2, sxtw\n mrs x20, nzcv\n subs w10, w3, w4, uxtb #2\n mrs x21, nzcv\n cmp x5, w6, uxtw\n mrs x22, nzcv\n cmn sp, x7\n mrs x23, nzcv\n subs x11, sp, x0, sxtx #4\n mrs x24, nzcv\n adds x12, x1, xzr, uxtx\n mrs x25, nzcv\n cmp w1, w2, sxth #1\n mrs x26, nzcv\n subs w13, w5, w6, sxtb\n mrs x27, nzcv")]
    // add/subtract with carry
    [InlineData("adc x9, x1, x2\n adc w10, w3, w4\n sbc x11, x5, x6\n sbc w12, w7, w0\n ngc x13, x1\n ngc w14, w2\n adc x15, xzr, xzr\n sbc w16, wzr, wzr")]
    [InlineData("adcs x9, x1, x2\n mrs x20, nzcv\n adcs w10, w3, w4\n mrs x21, nzcv\n sbcs x11, x5, x6\n mrs x22, nzcv\n sbcs w12, w7, w0\n mrs x23, nzcv\n ngcs x13, x1\n mrs x24, nzcv\n adcs xzr, x2, x3\n mrs x25, nzcv\n ngcs w14, w4\n mrs x26, nzcv")]
    [InlineData("adds x9, x1, x2\n adcs x10, x3, x4\n sbcs x11, x5, x6\n mrs x20, nzcv\n subs w12, w1, w2\n sbcs w13, w3, w4\n adcs w14, w5, w6\n mrs x21, nzcv\n cmp x1, x2\n adc x15, x3, x4\n sbc x16, x5, x6")]
    // logical (immediate)
    [InlineData("and x9, x1, #0xff\n and x10, x2, #0xffffffff00000000\n and w11, w3, #0x55555555\n orr x12, x4, #0x8000000000000000\n orr w13, w5, #0xf0\n eor x14, x6, #0x0f0f0f0f0f0f0f0f\n eor w15, w7, #0x80000000\n mov x16, #0x5555555555555555\n orr w17, wzr, #0xfffffff0\n orr x18, xzr, #0x7ffffffffffff\n and x19, x1, #0x7fffffff\n eor x20, x2, #0xfffffffffffffffe\n and w21, w3, #0xfffffffe")]
    [InlineData("ands x9, x1, #0x1\n mrs x20, nzcv\n ands w10, w2, #0x80000000\n mrs x21, nzcv\n tst x3, #0x8000000000000000\n mrs x22, nzcv\n tst w4, #0xffff\n mrs x23, nzcv\n tst x5, #0xfffffffffffffffe\n mrs x24, nzcv\n ands x11, x6, #0xffff0000ffff0000\n mrs x25, nzcv\n ands w12, w7, #0xffffff\n mrs x26, nzcv\n ands x13, xzr, #1\n mrs x27, nzcv")]
    [InlineData("and sp, x1, #0xfffffffffffffff0\n mov x9, sp\n orr sp, xzr, #0x1000\n mov x10, sp\n eor wsp, w2, #1\n mov x11, sp\n orr x12, x3, #0x3ff0")]
    // logical (shifted register)
    [InlineData("and x9, x1, x2\n and w10, w3, w4, lsl #7\n bic x11, x5, x6, ror #13\n bic w12, w7, w0, asr #31\n orr x13, x1, x2, lsr #63\n orn w14, w3, w4, ror #1\n eor x15, x5, x6, asr #33\n eon w16, w7, w0\n eon x17, x1, x2, lsl #4\n orr w18, w3, w4, ror #31\n orn x19, x5, x6\n and x20, x1, xzr\n bic x21, x2, xzr\n eor w22, w3, w3, ror #16")]
    [InlineData("mov x9, x1\n mov w10, w2\n mvn x11, x3\n mvn w12, w4, lsl #3\n mov x13, xzr\n mvn w14, wzr\n mvn x15, xzr\n orr x16, xzr, x5, lsl #4\n eor x17, xzr, x6\n orr w18, wzr, w7, ror #5\n eon x19, xzr, x1, asr #2")]
    [InlineData("ands x9, x1, x2\n mrs x20, nzcv\n ands w10, w3, w4, lsr #2\n mrs x21, nzcv\n bics x11, x5, x6\n mrs x22, nzcv\n bics w12, w7, w0, ror #4\n mrs x23, nzcv\n tst x1, x2\n mrs x24, nzcv\n tst w3, w4, asr #7\n mrs x25, nzcv\n tst x5, xzr\n mrs x26, nzcv\n ands x13, xzr, x1\n mrs x27, nzcv\n bics xzr, x6, x7, lsl #63\n mrs x28, nzcv")]
    // move wide, ADR/ADRP
    [InlineData("movz x9, #0x1234\n movz x10, #0xffff, lsl #16\n movz x11, #0x8000, lsl #32\n movz x12, #0xabcd, lsl #48\n movz w13, #0xffff, lsl #16\n movn x14, #0\n movn x15, #0x1234, lsl #48\n movn w16, #0\n movn w17, #0x8000, lsl #16\n movn w18, #0xffff\n movz xzr, #5\n movn x19, #0xffff, lsl #32")]
    // MOVK right after MOVZ/MOVN/MOVK of the same register stores the whole constant (EmitterContext.ImmediateFromPrevious);
    // after another register's, an ADR, or a gap, it merges into what the register holds
    [InlineData("movz w9, #0x2f98\n movk w9, #0x428a, lsl #16\n movz x10, #0xbeef\n movk x10, #0xdead, lsl #16\n movk x10, #0xcafe, lsl #32\n movk x10, #0xf00d, lsl #48\n movn x11, #0\n movk x11, #0x1234, lsl #16\n movn w12, #0x1\n movk w12, #0\n movz x13, #0xffff, lsl #48\n movk w13, #0x55aa\n movn x14, #0x7, lsl #32\n movk w14, #0x8000, lsl #16\n movz w15, #0x1\n movk x15, #0x8000, lsl #48\n movz x16, #1\n movk x17, #2, lsl #16\n movz x18, #3\n add x19, x18, #1\n movk x18, #4, lsl #16\n adr x20, .\n movk x20, #0x5, lsl #32\n movz x21, #0x10\n movk x21, #0x20\n movk x21, #0x30, lsl #16\n movk x21, #0x40, lsl #16")]
    [InlineData("movk x1, #0x1234\n movk x2, #0xffff, lsl #16\n movk x3, #0x8000, lsl #16\n movk x4, #0x7fff, lsl #16\n movk x5, #0xabcd, lsl #32\n movk x6, #0, lsl #48\n movk w7, #0xffff\n movk w8, #0x8000, lsl #16\n movk w9, #0\n movk x10, #0xffff, lsl #48\n movk xzr, #1\n movk x11, #0x8001, lsl #32")]
    // (ADRP to another page is written as .inst: the in-process assembler leaves its relocation unresolved)
    [InlineData("adr x9, .\n adr x10, .+0x1000\n adr x11, .-4\n adrp x12, .\n .inst 0x9000080D\n .inst 0xF0FFFFEE\n adr x15, .+0xffffc\n adr xzr, .\n .inst 0xB0000030\n adr x17, .-0x100000")]
    // conditional compare / select
    [InlineData("cmp x1, x2\n ccmp x3, x4, #4, eq\n mrs x20, nzcv\n ccmp w5, w6, #15, ne\n mrs x21, nzcv\n ccmn x7, x0, #0, hs\n mrs x22, nzcv\n ccmn w1, w2, #9, lt\n mrs x23, nzcv\n ccmp x3, #31, #2, gt\n mrs x24, nzcv\n ccmn w4, #0, #8, le\n mrs x25, nzcv\n ccmp x5, #1, #6, al\n mrs x26, nzcv\n ccmp x6, xzr, #3, vs\n mrs x27, nzcv")]
    [InlineData("csel x9, x1, x2, eq\n csel w10, w3, w4, ne\n csinc x11, x5, x6, hs\n csinc w12, w7, w0, lo\n csinv x13, x1, x2, mi\n csinv w14, w3, w4, pl\n csneg x15, x5, x6, vs\n csneg w16, w7, w0, vc\n cset x17, hi\n csetm w18, ls\n cinc x19, x1, ge\n cneg w20, w2, lt\n csel x21, xzr, x3, gt\n csinc x22, x4, xzr, le\n csel x23, x5, x6, al\n csinc w24, w7, w0, nv\n cset w25, eq\n csetm x26, ne\n cinv x27, x1, eq\n csneg x28, xzr, xzr, ne")]
    [InlineData("cmp x1, x2\n csel x9, x3, x4, lt\n cmp w5, w6\n cset w10, hi\n adds x11, x1, x2\n csinc x12, x3, x4, vs\n ands w13, w5, w6\n csetm x14, mi\n ccmp x1, x2, #0, ne\n csneg w15, w3, w4, le")]
    [InlineData("subs w9, w1, w2\n b.hi 1f\n mov x10, #1\n1: adds x11, x3, x4\n b.vs 2f\n mov x12, #2\n2: ands w13, w5, w6\n b.mi 3f\n mov x14, #3\n3: ccmp x1, x2, #4, ne\n b.eq 4f\n mov x15, #4\n4: cmn w7, #3\n b.lo 5f\n mov x16, #5\n5: nop")]
    // data processing (1 source)
    [InlineData("rbit x9, x1\n rbit w10, w2\n rev16 x11, x3\n rev16 w12, w4\n rev32 x13, x5\n rev w14, w6\n rev x15, x7\n clz x16, x0\n clz w17, w1\n cls x18, x2\n cls w19, w3\n clz x20, xzr\n cls w21, wzr\n rev x22, xzr\n clz w23, w4\n cls x24, x5\n rbit x25, x6\n rev16 w26, w7")]
    [InlineData("clz x9, x1\n clz x10, x2\n clz w11, w3\n clz w12, w4\n cls x13, x5\n cls x14, x6\n cls w15, w7\n cls w16, w0\n rbit w17, w1\n rbit x18, x2\n cls xzr, x1\n clz wzr, w2")]
    // data processing (2 source)
    [InlineData("udiv x9, x1, x2\n udiv w10, w3, w4\n sdiv x11, x5, x6\n sdiv w12, w7, w0\n udiv x13, x1, xzr\n sdiv x14, x2, xzr\n udiv w15, wzr, w3\n sdiv x16, x3, x3\n udiv x17, x4, x5\n sdiv w18, w6, w1")]
    [InlineData("mov x1, #0x8000000000000000\n mov x2, #-1\n sdiv x9, x1, x2\n mov w3, #0x80000000\n mov w4, #-1\n sdiv w10, w3, w4\n sdiv x11, x2, x2\n udiv x12, x1, x2\n sdiv x13, x2, x1\n udiv w14, w3, w4\n mov x5, #0\n sdiv x15, x1, x5\n udiv w16, w3, w5\n mov x6, #7\n mov x7, #-2\n sdiv x17, x6, x7\n sdiv w18, w7, w6\n sdiv x19, x7, x6")]
    [InlineData("lsl x9, x1, x2\n lsl w10, w3, w4\n lsr x11, x5, x6\n lsr w12, w7, w0\n asr x13, x1, x3\n asr w14, w2, w5\n ror x15, x6, x7\n ror w16, w0, w1\n lsl x17, x1, xzr\n lsr x18, xzr, x2\n asr w19, w3, wzr")]
    [InlineData("mov x2, #65\n lsl x9, x1, x2\n mov w3, #33\n lsr w10, w1, w3\n mov x4, #-1\n asr x11, x1, x4\n asr w12, w1, w4\n ror x13, x1, x4\n ror w14, w1, w3\n mov x5, #64\n lsl x15, x1, x5\n lsr w16, w1, w5\n mov x6, #32\n lsl w17, w1, w6\n ror x18, x1, x6")]
    [InlineData("crc32b w9, w1, w2\n crc32h w10, w3, w4\n crc32w w11, w5, w6\n crc32x w12, w7, x0\n crc32cb w13, w1, w2\n crc32ch w14, w3, w4\n crc32cw w15, w5, w6\n crc32cx w16, w7, x0\n crc32x w17, wzr, xzr\n crc32cw w18, w1, wzr\n crc32b w19, wzr, w3\n crc32cx w20, w4, x5")]
    public void MatchesQemu(string snippet) => IntStates.Check(snippet);

    /// <summary>
    /// A MOVK right after the MOVZ that began its register's constant stores the whole constant (sha256's round
    /// constants are built so): one mov of 0x428a2f98, no masking and merging; 64-bit chains likewise. The values are
    /// the constants the instructions spell.
    /// </summary>
    [Fact]
    public void AMovkAfterAMovzStoresTheWholeConstant()
    {
        var log = new StringBuilder();
        using var h = new JitHarness(new JitX64.Translation.TranslatorOptions { CodeCacheSize = 16UL << 20, LogOutAsm = true, Log = t => log.Append(t) });
        h.RunToEnd("movz w6, #0x2f98\nmovk w6, #0x428a, lsl #16\nmovz x7, #0x3210\nmovk x7, #0x7654, lsl #16\nmovk x7, #0xba98, lsl #32\nmovk x7, #0xfedc, lsl #48");
        Assert.Equal(0x428a2f98UL, h.X(6));
        Assert.Equal(0xfedcba9876543210UL, h.X(7));
        string code = log.ToString();
        Assert.Contains(",428A2F98h", code);
        Assert.Contains(",0FEDCBA9876543210h", code);
        Assert.DoesNotContain(",428A0000h", code); // the or of the merging form
    }

    /// <summary>
    /// Blocks of few registers, each written and read again, so the register layer keeps them all in host registers and
    /// the emitters build results in a register's own copy (EmitterContext.ResultReg): updates in place (Rd = Rn op
    /// ...), operands swapped into the copy (Rd = Rn op Rd for ADD/AND/ORR/EOR), the forms that must not (SUB, a shifted
    /// Rd, EXTR with Rd = Rn) and W results in place, whose upper half must come out zero though the edge states fill it;
    /// also loads, extends, bitfield moves, conditional selects and multiply-adds into a cached Rd.
    /// </summary>
    [Theory]
    [InlineData("add w1, w1, #0\n add w1, w1, #5\n eor w2, w3, w2\n add w2, w1, w2\n sub w3, w1, w3\n add w1, w1, w2, lsl #3\n add w4, w1, w4, lsl #2\n extr w5, w5, w5, #11\n extr w6, w2, w6, #5\n movk w1, #0x1234, lsl #16\n mvn w2, w2\n mvn w3, w3, lsl #3\n orr w4, w4, w5, ror #7\n and w5, w5, #0xff00ff00\n eor w6, w6, w1\n add w1, w1, w6\n and w3, w4, w3\n orr w5, w6, w5\n add w6, w6, w6")]
    [InlineData("add x1, x1, #0\n eor x2, x3, x2\n add x4, x5, x4\n sub x6, x5, x6\n add x1, x1, x2, lsl #2\n add x3, x1, x3, lsl #1\n extr x5, x5, x5, #13\n extr x6, x5, x6, #60\n extr x4, x4, x1, #7\n movk x1, #0xbeef, lsl #32\n movk x2, #0x7777\n mvn x3, x3, ror #5\n orr x4, x4, x5, asr #9\n and x5, x5, #0xffff0000ffff0000\n eor x6, x6, #0x5555555555555555\n orr x1, x1, x6\n add x2, x2, x1\n and x3, x4, x3\n add x4, x4, x4, lsl #3")]
    [InlineData("add w7, w7, #0\n add x8, x7, x7\n add x8, x8, x7\n mov w1, w1\n add w2, w2, #0\n orr w3, w3, #1\n extr w4, w4, w4, #0\n lsl w5, w5, #4\n lsr w6, w6, #3\n add w1, w1, w2\n add w2, w2, w3\n add w3, w3, w4\n add w4, w4, w5\n add w5, w5, w6\n add w6, w6, w1\n sub w1, w2, w1, lsl #1\n eor w2, w2, w2\n bic w3, w4, w3\n orn w4, w4, w5\n eon w5, w6, w5")]
    [InlineData("add x1, x1, #1\n add x2, x2, #2\n add x3, x3, #3\n add x4, x4, #4\n add x5, x5, #5\n add x6, x6, #6\n sxtb w1, w1\n sxth x2, w2\n sxtw x3, w3\n uxtb w4, w4\n uxth w5, w5\n sbfm w6, w6, #0, #31\n eor x7, x7, x6\n ubfx w2, w2, #3, #9\n sbfx x3, x3, #5, #40\n lsl w4, w4, #7\n lsr w5, w5, #2\n asr w6, w6, #3\n ubfiz x1, x1, #4, #20\n sbfiz w2, w2, #2, #13\n add x3, x3, x1\n add x4, x4, x2\n add x5, x5, x3\n add x6, x6, x4")]
    [InlineData("add x1, x1, #1\n add x2, x2, #2\n add x3, x3, #3\n add x4, x4, #4\n add x5, x5, #5\n add x6, x6, #6\n cmp x1, x2\n csel w3, w3, w4, lt\n csinc w4, w4, w5, ge\n csneg x5, x5, x6, eq\n csel w6, w6, w1, ne\n csinv w1, w2, w1, hi\n mul w2, w2, w3\n madd x3, x3, x4, x5\n msub w4, w4, w5, w6\n mneg x5, x5, x6\n madd w6, w1, w6, w2\n msub x1, x2, x3, x1\n add x2, x2, x1\n add x3, x3, x2\n add x4, x4, x3\n add x5, x5, x4\n add x6, x6, x5")]
    [InlineData("add x1, x1, #1\n add x2, x2, #2\n add x3, x3, #3\n add x4, x4, #4\n add x5, x5, #5\n add x6, x6, #6\n mov x7, #32\n lslv w1, w1, w7\n lsrv x2, x2, x3\n asrv w3, w3, w2\n rorv w4, w4, w7\n lslv w5, w5, wzr\n eor x7, x7, x5\n add x6, x6, w1, sxtw #2\n add w1, w1, w2, uxtb\n sub x2, x2, w3, uxth #1\n add w3, w3, w3, sxtb #3\n add x4, x4, x1\n add x5, x5, x2\n add x7, x7, x3\n add x1, x1, x6")]
    [InlineData("add x1, x1, #1\n add x2, x2, #2\n add x3, x3, #3\n add x4, x4, #4\n add x5, x5, #5\n add x6, x6, #6\n adds w1, w1, #0\n mrs x20, nzcv\n subs w2, w2, w3\n mrs x21, nzcv\n adds x3, x4, x3\n mrs x22, nzcv\n ands w4, w5, w4\n mrs x23, nzcv\n ands w5, w5, #0xff\n mrs x24, nzcv\n bics w6, w6, w1\n mrs x25, nzcv\n adds x7, x7, w1, uxtw\n mrs x26, nzcv\n subs w1, w1, #1\n mrs x27, nzcv\n add x1, x1, x2\n add x2, x2, x3\n add x3, x3, x4\n add x4, x4, x5\n add x5, x5, x6\n add x6, x6, x7\n add x7, x7, x1")]
    [InlineData("add x1, x1, #1\n add x2, x2, #2\n add x3, x3, #3\n add x4, x4, #4\n add x5, x5, #5\n add x6, x6, #6\n cmp x1, x2\n mrs x20, nzcv\n cmp w3, w4, lsl #3\n mrs x21, nzcv\n cmp x5, xzr\n mrs x22, nzcv\n cmp w6, w1, asr #2\n mrs x23, nzcv\n cmp w2, w7\n mrs x24, nzcv\n mov w2, w2\n mov x3, x1\n mov w4, w5\n mov w5, w6\n add x1, x1, x2\n add x2, x2, x3\n add x3, x3, x4\n add x4, x4, x5\n add x5, x5, x6")]
    public void ResultsBuiltInCachedRegistersMatchQemu(string snippet) => IntStates.Check(snippet);

    private static readonly string[] Conds = ["eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"];

    public static IEnumerable<object[]> ConditionSnippets()
    {
        for (int g = 0; g < 16; g += 4)
        {
            var sb = new StringBuilder();
            for (int j = g; j < g + 4; j++)
            {
                int k = j - g;
                string c = Conds[j];
                sb.Append($"msr nzcv, x{(j % 8)}\n");
                sb.Append($"csel x{9 + k}, x1, x2, {c}\n csneg w{13 + k}, w3, w4, {c}\n");
                sb.Append($"ccmp x5, x6, #{j}, {c}\n mrs x{17 + k}, nzcv\n");
                sb.Append($"msr nzcv, x{(j + 3) % 8}\n ccmn w7, #{j + 3}, #{15 - j}, {c}\n mrs x{21 + k}, nzcv\n");
                if (j < 14) sb.Append($"cset w{25 + k}, {c}\n");
            }
            yield return [sb.ToString()];
        }
    }

    [Theory]
    [MemberData(nameof(ConditionSnippets))]
    public void EveryConditionMatchesQemu(string snippet) => IntStates.Check(snippet);

    [Theory]
    [InlineData(0x9240FC00u)] // AND (immediate) with a reserved all-ones mask
    [InlineData(0x1240FC00u)] // 32-bit AND (immediate) with N=1
    [InlineData(0xCBC00000u)] // SUB (shifted register) with shift type 11
    [InlineData(0x0A008000u)] // 32-bit AND (shifted register) by 32
    [InlineData(0x52C00000u)] // 32-bit MOVZ with hw=2
    [InlineData(0x8B20F400u)] // ADD (extended register) with shift 5
    [InlineData(0x5AC00C00u)] // REV with sf=0, opc=11
    [InlineData(0x1AC04C00u)] // CRC32X with sf=0
    [InlineData(0x3A400C00u)] // CCMN (immediate) with o2=1
    public void ReservedEncodingsAreUndefined(uint word)
    {
        using var h = new JitHarness();
        var r = h.Run([word]);
        Assert.Equal(ExitReason.Undefined, r);
        Assert.Equal(JitHarness.CodeAddress, h.Cpu->Pc);
    }

    [Theory]
    [InlineData("cmp x1, #0x10", "cmp x1, #0x10")]
    [InlineData("add sp, sp, #0x20", "add sp, sp, #0x20")]
    [InlineData("subs w3, w4, #1, lsl #12", "subs w3, w4, #1, lsl #12")]
    [InlineData("and x0, x1, #0xff", "and x0, x1, #0xff")]
    [InlineData("mov x0, x1", "mov x0, x1")]
    [InlineData("tst w2, w3", "tst w2, w3, lsl #0")]
    [InlineData("add x0, x1, w2, sxtw #2", "add x0, x1, w2, sxtw #2")]
    [InlineData("add x0, sp, x2", "add x0, sp, x2, uxtx #0")]
    [InlineData("movk x3, #0x1234, lsl #32", "movk x3, #0x1234, lsl #0x20")]
    [InlineData("csel w0, w1, w2, ge", "csel w0, w1, w2, ge")]
    [InlineData("ccmp x1, #3, #4, ne", "ccmp x1, #3, #4, ne")]
    [InlineData("lsr x0, x1, #4", "lsr x0, x1, #4")]
    [InlineData("sxtw x0, w1", "sxtw x0, w1")]
    [InlineData("ubfx x0, x1, #4, #8", "ubfm x0, x1, #4, #0xb")]
    [InlineData("mul w0, w1, w2", "mul w0, w1, w2")]
    [InlineData("umulh x0, x1, x2", "umulh x0, x1, x2")]
    [InlineData("crc32cx w0, w1, x2", "crc32cx w0, w1, x2")]
    [InlineData("extr x0, x1, x2, #7", "extr x0, x1, x2, #7")]
    public void DisassemblesAsExpected(string source, string expected)
    {
        uint word = A64Asm.Assemble(source)[0];
        Assert.Equal(expected, Disassembler.Disassemble(word, JitHarness.CodeAddress));
    }

    /// <summary>Every row of the ALU, bitfield and multiply tables decodes and disassembles cleanly.</summary>
    [Fact]
    public void EveryRowDecodesAndFormats()
    {
        var mine = new HashSet<string>(OpCodeTable.All
            .Where(d => d.Emit.Method.DeclaringType?.Name == "InstEmit" && IsMine(d.Emit.Method.Name))
            .Select(d => d.Name));
        Assert.True(mine.Count > 100, $"only {mine.Count} rows");
        var rnd = new Random(1);
        foreach (var d in OpCodeTable.All.Where(d => mine.Contains(d.Name)))
        {
            for (int i = 0; i < 50; i++)
            {
                uint op = ((uint)rnd.NextInt64() & ~d.Mask) | d.Value;
                var found = Dqemu.JitX64.Decoders.Decoder.Decode(op);
                Assert.NotNull(found);
                Assert.True(IsMine(found!.Emit.Method.Name), $"0x{op:x8} of {d.Name} decodes as {found.Name}");
                string text = Disassembler.Format(found!, op, 0x400000);
                Assert.DoesNotContain("{", text);
            }
        }
    }

    private static bool IsMine(string m) => m is "Add_Imm" or "Adds_Imm" or "Sub_Imm" or "Subs_Imm" or "Add_Shift" or "Adds_Shift"
        or "Sub_Shift" or "Subs_Shift" or "Add_Ext" or "Adds_Ext" or "Sub_Ext" or "Subs_Ext" or "Adc" or "Adcs" or "Sbc" or "Sbcs"
        or "And_Imm" or "Orr_Imm" or "Eor_Imm" or "Ands_Imm" or "And_Shift" or "Orr_Shift" or "Eor_Shift" or "Ands_Shift"
        or "Movz" or "Movn" or "Movk" or "Adr" or "Adrp" or "Ccmn_Reg" or "Ccmp_Reg" or "Ccmn_Imm" or "Ccmp_Imm"
        or "Csel" or "Csinc" or "Csinv" or "Csneg" or "Rbit_Gp" or "Rev16_Gp" or "Rev32_Gp" or "Rev64_Gp" or "Clz_Gp" or "Cls_Gp"
        or "Udiv" or "Sdiv" or "Lslv" or "Lsrv" or "Asrv" or "Rorv" or "Crc32b" or "Crc32h" or "Crc32w" or "Crc32x"
        or "Crc32cb" or "Crc32ch" or "Crc32cw" or "Crc32cx" or "Sbfm" or "Bfm" or "Ubfm" or "Extr"
        or "Madd" or "Msub" or "Smaddl" or "Smsubl" or "Umaddl" or "Umsubl" or "Smulh" or "Umulh";
}
