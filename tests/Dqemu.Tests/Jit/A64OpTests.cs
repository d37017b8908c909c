using Dqemu.JitX64.Decoders;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// A64Op's fields read what the instruction says: each case is assembled from text by GNU as and its fields are
/// compared with the operands written in that text (registers, immediates, offsets, conditions), so a field with a
/// wrong bit position or a wrong sign extension fails here before it misleads an emitter.
/// </summary>
public sealed class A64OpTests
{
    private static A64Op Op(string text) => new(A64Asm.Assemble(text)[0]);

    [Fact]
    public void RegistersAndDataProcessingFields()
    {
        var add = Op("add x3, sp, #0x123, lsl #12");
        Assert.Equal((3, 31, 0x123, true, true), (add.Rd, add.Rn, add.Imm12, add.Sh, add.Sf));

        var sub = Op("sub w5, w6, w7, asr #9");
        Assert.Equal((5, 6, 7, 2, 9, false), (sub.Rd, sub.Rn, sub.Rm, sub.Shift, sub.Imm6, sub.Sf));

        var ext = Op("add x1, x2, w3, sxtw #3");
        Assert.Equal((6, 3), (ext.Option, ext.Imm3)); // sxtw is option 110

        Assert.True(Op("bic x1, x2, x3").InvertRm);
        Assert.False(Op("and x1, x2, x3").InvertRm);
        Assert.Equal(0x00ff00ff00ff00ffUL, Op("orr x0, x1, #0x00ff00ff00ff00ff").LogicalImmediate);
        Assert.Equal(0xfffffffeUL, Op("and w0, w1, #0xfffffffe").LogicalImmediate);

        var ubfx = Op("ubfx x1, x2, #8, #12"); // UBFM x1, x2, #8, #19
        Assert.Equal((true, 8, 19), (ubfx.N, ubfx.Immr, ubfx.Imms));

        var movk = Op("movk x9, #0xbeef, lsl #48");
        Assert.Equal((9, 3, 0xbeef), (movk.Rd, movk.Hw, movk.Imm16));

        var madd = Op("madd x1, x2, x3, x4");
        Assert.Equal((1, 2, 3, 4), (madd.Rd, madd.Rn, madd.Rm, madd.Ra));

        var ccmp = Op("ccmp w1, #17, #10, le");
        Assert.Equal((1, 17, 10, 13), (ccmp.Rn, ccmp.Imm5, ccmp.Nzcv, ccmp.Cond));
        Assert.Equal(11, Op("csel x0, x1, x2, lt").Cond);
    }

    [Fact]
    public void PcRelativeOffsetsAreSignExtendedAndScaled()
    {
        Assert.Equal(-0x1234L, Op("adr x0, .-0x1234").AdrOffset);
        Assert.Equal(0xfffffL, Op("adr x0, .+0xfffff").AdrOffset);
        Assert.Equal(-(1L << 20), Op("adr x0, .-0x100000").AdrOffset);
        Assert.Equal(-8L, Op("b .-8").Offset26);
        Assert.Equal((1L << 27) - 4, Op("bl .+0x7fffffc").Offset26);
        var bcond = Op("b.ne .+0x40");
        Assert.Equal((0x40L, 1), (bcond.Offset19, bcond.BranchCond));
        Assert.Equal(-(1L << 20), Op("cbz x3, .-0x100000").Offset19);
        Assert.Equal(-0x200L, Op("ldr x1, .-0x200").Offset19);
        var tbnz = Op("tbnz x3, #37, .-0x20");
        Assert.Equal((37, -0x20L, 3), (tbnz.TestBit, tbnz.Offset14, tbnz.Rt));
        Assert.Equal(5, Op("tbz w3, #5, .+8").TestBit);
    }

    [Fact]
    public void SystemFields()
    {
        // TPIDR_EL0 is op0 3 (o0 1), op1 3, CRn 13, CRm 0, op2 2
        Assert.Equal((1 << 14) | (3 << 11) | (13 << 7) | (0 << 3) | 2, Op("mrs x0, tpidr_el0").SysReg);
        Assert.Equal(9, Op("dmb ishld").CRm);
        Assert.Equal(0x1234, Op("svc #0x1234").Imm16);
    }

    [Fact]
    public void LoadAndStoreFields()
    {
        var pre = Op("ldr x1, [x2, #-17]!");
        Assert.Equal((1, 2, 3, -17L, 3, 1), (pre.Rt, pre.Rn, pre.LsSize, pre.SImm9, pre.Imm9Index, pre.LsOpc));
        Assert.Equal(1, Op("strh w1, [x2], #255").Imm9Index);
        Assert.Equal(0, Op("ldur w1, [x2, #-1]").Imm9Index);

        var scaled = Op("ldrsh x1, [x2, #0x7fe]");
        Assert.Equal((1, 2, 0x3ff), (scaled.LsSize, scaled.LsOpc, scaled.Imm12));

        var reg = Op("ldr w1, [x2, w3, uxtw #2]");
        Assert.Equal((3, 2, true), (reg.Rm, reg.Option, reg.IndexScaled));
        Assert.False(Op("ldr w1, [x2, x3]").IndexScaled);

        var q = Op("str q1, [x2, #32]");
        Assert.Equal((true, 0, 2, 2), (q.V, q.LsSize, q.LsOpc, q.Imm12));

        var ldp = Op("ldp x1, x2, [sp, #-16]!");
        Assert.Equal((1, 2, 31, 2, true, -2L, 3), (ldp.Rt, ldp.Rt2, ldp.Rn, ldp.PairOpc, ldp.L, ldp.SImm7, ldp.PairIndex));
        var stp = Op("stp d1, d2, [x3], #64");
        Assert.Equal((true, false, 8L, 1), (stp.V, stp.L, stp.SImm7, stp.PairIndex));

        var ldaxp = Op("ldaxp x1, x2, [x3]");
        Assert.Equal((true, 1, 2, 3), (ldaxp.PairSz, ldaxp.Rt, ldaxp.Rt2, ldaxp.Rn));
        var stlxr = Op("stlxr w4, w5, [x6]");
        Assert.Equal((4, 5, 6, 2, 1), (stlxr.Rs, stlxr.Rt, stlxr.Rn, stlxr.LsSize, stlxr.MemGroup));
        Assert.Equal(7, Op(".arch armv8.3-a+rcpc\nldapr x1, [x2]").MemGroup);

        var ldumax = Op("ldumaxal w1, w2, [x3]"); // o3 0, opc 110
        Assert.Equal((1, 2, 3, 6), (ldumax.Rs, ldumax.Rt, ldumax.Rn, ldumax.AtomicOpc));
        Assert.Equal(8, Op("swp x1, x2, [x3]").AtomicOpc);
    }

    [Fact]
    public void SimdStructureFields()
    {
        var ld4 = Op("ld4 {v0.8h, v1.8h, v2.8h, v3.8h}, [x1], x2"); // opcode 0000, size 01
        Assert.Equal((true, true, true, 0, 1, 2), (ld4.Q, ld4.L, ld4.PostIndex, ld4.StructOpcode, ld4.StructSize, ld4.Rm));
        var st2 = Op("st2 {v4.s, v5.s}[3], [x1]"); // opcode 100, S 1 (index<0>), size 00, R 1 (two registers), Q 1 (index<1>)
        Assert.Equal((false, false, 4, true, 0, true, true), (st2.L, st2.PostIndex, st2.SingleOpcode, st2.StructS, st2.StructSize, st2.StructR, st2.Q));
        Assert.False(Op("st1 {v4.s}[3], [x1]").StructR);
    }

    [Fact]
    public void FloatingPointFields()
    {
        var fmadd = Op("fnmsub d1, d2, d3, d4");
        Assert.Equal((1, 2, 3, 4, 1, true, true), (fmadd.Rd, fmadd.Rn, fmadd.Rm, fmadd.Ra, fmadd.Ftype, fmadd.O1, fmadd.O0));
        Assert.Equal(3, Op("fadd h1, h2, h3").Ftype);
        Assert.Equal(3, Op("fsub s1, s2, s3").FpOpcode2);
        Assert.Equal(0x70, Op("fmov d0, #1.0").FpImm8);
        Assert.Equal(0x80, Op("fmov s0, #-2.0").FpImm8);

        var fcvt = Op("fcvt h1, d2");
        Assert.Equal((1, 3), (fcvt.Ftype, fcvt.FcvtTo));
        Assert.Equal(3, Op("frintz s1, s2").FrintMode);
        Assert.Equal(7, Op("frinti d1, d2").FrintMode);
        Assert.Equal(3, Op("fsqrt d1, d2").FpOpcode1);

        var fcmp = Op("fcmpe s1, #0.0");
        Assert.Equal((true, true), (fcmp.CmpWithZero, fcmp.CmpSignalling));
        Assert.False(Op("fcmp d1, d2").CmpWithZero);

        var fixedPt = Op("fcvtzs x1, d2, #10");
        Assert.Equal((true, true, 10, 3, 0), (fixedPt.Sf, fixedPt.FixedPoint, fixedPt.FBits, fixedPt.Rmode, fixedPt.ConvOpcode));
        var ucvtf = Op("ucvtf s1, w2");
        Assert.Equal((false, false, 0, 3), (ucvtf.Sf, ucvtf.FixedPoint, ucvtf.Rmode, ucvtf.ConvOpcode));
    }

    [Fact]
    public void AdvancedSimdFields()
    {
        var add = Op("add v1.4s, v2.4s, v3.4s");
        Assert.Equal((true, false, false, 2, 0b10000), (add.Q, add.U, add.Scalar, add.Size, add.ThreeSameOpcode));
        var cmhs = Op("cmhs d1, d2, d3");
        Assert.Equal((true, true, 3, 0b00111), (cmhs.Scalar, cmhs.U, cmhs.Size, cmhs.ThreeSameOpcode));
        // the scalar groups' bit 30 is a fixed 1: they still work on 64 bits at most
        Assert.Equal((true, false, true, false), (add.VectorQ, Op("add v1.2s, v2.2s, v3.2s").VectorQ, cmhs.Q, cmhs.VectorQ));

        var fmin = Op("fmin v1.2d, v2.2d, v3.2d"); // U 0, a 1, sz 1, opcode 11110
        Assert.Equal((true, true, 0b110), (fmin.SizeHigh, fmin.Sz, fmin.FpThreeSameOpcode));

        Assert.Equal(0b01011, Op("abs v1.8b, v2.8b").MiscOpcode);
        var ssubl2 = Op("ssubl2 v1.4s, v2.8h, v3.8h"); // three different, opcode 0010
        Assert.Equal((true, 1, 0b0010), (ssubl2.Q, ssubl2.Size, ssubl2.Opcode4));
        var fmla = Op("fmla v1.4s, v2.4s, v3.s[3]"); // index H:L
        Assert.Equal((true, true, false, 3), (fmla.IndexH, fmla.IndexL, fmla.IndexM, fmla.Rm));
        var mulh = Op("mul v1.8h, v2.8h, v15.h[5]"); // index H:L:M = 101, Rm V0..V15
        Assert.Equal((true, false, true, 15), (mulh.IndexH, mulh.IndexL, mulh.IndexM, mulh.Rm4));

        var movi = Op("movi v1.4s, #0xab, lsl #16"); // cmode 0100
        Assert.Equal((0b0100, 0xab), (movi.Cmode, movi.SimdImm8));
        var ushr = Op("ushr v1.2d, v2.2d, #3"); // immh:immb = 128 - 3
        Assert.Equal((0b1111, 125, 64, 3), (ushr.Immh, ushr.ImmHB, ushr.ShiftEsize, ushr.RightShift));
        var shl = Op("shl v1.8h, v2.8h, #5");
        Assert.Equal((16, 5), (shl.ShiftEsize, shl.LeftShift));
        var sqshrn = Op("sqshrn b1, h2, #7"); // immh gives the narrow size
        Assert.Equal((8, 7), (sqshrn.ShiftEsize, sqshrn.RightShift));
        Assert.Equal(12, Op("scvtf v1.4s, v2.4s, #12").RightShift); // fbits

        Assert.Equal(7, Op("ext v1.16b, v2.16b, v3.16b, #7").Imm4);
        var tbx = Op("tbx v1.16b, {v2.16b, v3.16b, v4.16b}, v5.16b");
        Assert.Equal((2, true), (tbx.TableLen, tbx.Tbx));
        Assert.Equal(0b111, Op("zip2 v1.4s, v2.4s, v3.4s").PermuteOpcode);
        var dup = Op("dup v1.8h, v2.h[5]"); // imm5 = index:1:0
        Assert.Equal(0b10110, dup.Imm5);
    }
}
