using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// Advanced SIMD shifts by immediate (vector and scalar). SSE has no byte shifts and no 64-bit arithmetic
/// shift: bytes shift as words and are masked; arithmetic shifts of bytes and quadwords use
/// sra(x, s) = ((x ^ m) &gt;&gt;&gt; s) - (m &gt;&gt;&gt; s) with m the lane's sign bit. Saturating shifts and
/// the fixed-point conversions run in <see cref="SimdSoft"/>. Register-controlled shifts (SSHL, USHL, ...)
/// are in SimdSoft too.
/// </summary>
public static partial class InstEmit
{
    /// <summary>x &lt;&lt;= s on es-bit lanes (s &lt; es). Uses rax for constants.</summary>
    internal static void EmitShiftLeftImm(EmitterContext ctx, AssemblerRegisterXMM x, int es, int s)
    {
        var a = ctx.Asm;
        if (s == 0) return;
        if (s >= es) { a.pxor(x, x); return; }
        switch (es)
        {
            case 8:
                a.psllw(x, (sbyte)s);
                a.pand(x, Const(ctx, SimdConst.Dup(LaneMaskDup(8, (0xFFUL << s) & 0xFF))));
                break;
            case 16: a.psllw(x, (sbyte)s); break;
            case 32: a.pslld(x, (sbyte)s); break;
            default: a.psllq(x, (sbyte)s); break;
        }
    }

    /// <summary>x &gt;&gt;&gt;= s (logical) on es-bit lanes, 0 &lt; s &lt;= es.</summary>
    internal static void EmitShiftRightLogicalImm(EmitterContext ctx, AssemblerRegisterXMM x, int es, int s)
    {
        var a = ctx.Asm;
        if (s == 0) return;
        if (s >= es) { a.pxor(x, x); return; }
        switch (es)
        {
            case 8:
                a.psrlw(x, (sbyte)s);
                a.pand(x, Const(ctx, SimdConst.Dup(LaneMaskDup(8, 0xFFUL >> s))));
                break;
            case 16: a.psrlw(x, (sbyte)s); break;
            case 32: a.psrld(x, (sbyte)s); break;
            default: a.psrlq(x, (sbyte)s); break;
        }
    }

    /// <summary>x &gt;&gt;= s (arithmetic) on es-bit lanes, 0 &lt; s &lt;= es.</summary>
    internal static void EmitShiftRightArithImm(EmitterContext ctx, AssemblerRegisterXMM x, int es, int s)
    {
        var a = ctx.Asm;
        if (s >= es) s = es - 1;
        if (s == 0) return;
        switch (es)
        {
            case 16: a.psraw(x, (sbyte)s); break;
            case 32: a.psrad(x, (sbyte)s); break;
            default:
                {
                    ulong sign = 1UL << (es - 1);
                    a.pxor(x, Const(ctx, SimdConst.Dup(LaneMaskDup(es, sign))));
                    EmitShiftRightLogicalImm(ctx, x, es, s);
                    var bias = Const(ctx, SimdConst.Dup(LaneMaskDup(es, sign >> s)));
                    if (es == 8) a.psubb(x, bias); else a.psubq(x, bias);
                    break;
                }
        }
    }

    /// <summary>x = x &gt;&gt; s with rounding (adds bit s-1 of the source). Clobbers xmm6.</summary>
    private static void EmitShiftRightRounding(EmitterContext ctx, AssemblerRegisterXMM x, int es, int s, bool signed)
    {
        var a = ctx.Asm;
        a.movdqa(xmm6, x);
        EmitShiftRightLogicalImm(ctx, xmm6, es, s - 1);
        a.pand(xmm6, Const(ctx, SimdConst.Dup(LaneMaskDup(es, 1))));
        if (signed) EmitShiftRightArithImm(ctx, x, es, s); else EmitShiftRightLogicalImm(ctx, x, es, s);
        EmitIntOp(ctx, IntOp.Add, es, x, xmm6);
    }

    /// <summary>Advanced SIMD shift by immediate, vector and scalar.</summary>
    public static void SimdShiftImm(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int opcode = op.ShiftOpcode;
        bool u = op.U, q = op.VectorQ;
        int es = op.ShiftEsize;
        int rshift = op.RightShift, lshift = op.LeftShift;
        int d = op.Rd, n = op.Rn;
        switch (opcode)
        {
            case 0: case 2: case 4: case 6: // [SU]SHR, [SU]SRA, [SU]RSHR, [SU]RSRA
                LoadVec(ctx, xmm0, n, q);
                if (opcode >= 4) EmitShiftRightRounding(ctx, xmm0, es, rshift, !u);
                else if (u) EmitShiftRightLogicalImm(ctx, xmm0, es, rshift);
                else EmitShiftRightArithImm(ctx, xmm0, es, rshift);
                if (opcode is 2 or 6)
                {
                    LoadVec(ctx, xmm1, d, q);
                    EmitIntOp(ctx, IntOp.Add, es, xmm0, xmm1);
                }
                StoreVec(ctx, d, xmm0, q);
                return;
            case 8: // SRI
                if (!u) break;
                {
                    ulong shifted = rshift >= es ? 0 : A64Bits.Ones(es) >> rshift;
                    LoadVec(ctx, xmm0, n, q);
                    EmitShiftRightLogicalImm(ctx, xmm0, es, rshift);
                    LoadVec(ctx, xmm1, d, q);
                    a.pand(xmm1, Const(ctx, SimdConst.Dup(LaneMaskDup(es, ~shifted & A64Bits.Ones(es)))));
                    a.por(xmm0, xmm1);
                    StoreVec(ctx, d, xmm0, q);
                    return;
                }
            case 10: // SHL, SLI
                LoadVec(ctx, xmm0, n, q);
                EmitShiftLeftImm(ctx, xmm0, es, lshift);
                if (u)
                {
                    ulong shifted = (A64Bits.Ones(es) << lshift) & A64Bits.Ones(es);
                    LoadVec(ctx, xmm1, d, q);
                    a.pand(xmm1, Const(ctx, SimdConst.Dup(LaneMaskDup(es, ~shifted & A64Bits.Ones(es)))));
                    a.por(xmm0, xmm1);
                }
                StoreVec(ctx, d, xmm0, q);
                return;
            case 16: case 17: // SHRN, RSHRN (the U forms are saturating)
                if (u || op.Scalar) break;
                {
                    int wes = es * 2;
                    ctx.LoadV(xmm0, n);
                    if (opcode == 17) EmitShiftRightRounding(ctx, xmm0, wes, rshift, false);
                    else EmitShiftRightLogicalImm(ctx, xmm0, wes, rshift);
                    EmitNarrow(ctx, wes);
                    StoreNarrowResult(ctx, op, d);
                    return;
                }
            case 20: // SSHLL, USHLL (SXTL, UXTL)
                {
                    bool part2 = op.Q;
                    LoadHalf(ctx, xmm0, n, part2);
                    EmitWiden(ctx, xmm0, es, !u);
                    EmitShiftLeftImm(ctx, xmm0, es * 2, lshift);
                    ctx.StoreV(d, xmm0);
                    return;
                }
        }
        EmitSoft(ctx, op, SimdSoft.ShiftImm);
    }

    /// <summary>Register-controlled shifts and everything else in SimdSoft: one helper call.</summary>
    public static void SimdSoftThreeSame(EmitterContext ctx, A64Op op) => EmitSoft(ctx, op, SimdSoft.ThreeSame);
    public static void SimdSoftThreeDiff(EmitterContext ctx, A64Op op) => EmitSoft(ctx, op, SimdSoft.ThreeDiff);
    public static void SimdSoftTwoMisc(EmitterContext ctx, A64Op op) => EmitSoft(ctx, op, SimdSoft.TwoMisc);
    public static void SimdSoftShiftImm(EmitterContext ctx, A64Op op) => EmitSoft(ctx, op, SimdSoft.ShiftImm);
    public static void SimdSoftIndexed(EmitterContext ctx, A64Op op) => EmitSoft(ctx, op, SimdSoft.Indexed);
    public static void SimdSoftAcross(EmitterContext ctx, A64Op op) => EmitSoft(ctx, op, SimdSoft.Across);
    public static void SimdSoftScalarPairwise(EmitterContext ctx, A64Op op) => EmitSoft(ctx, op, SimdSoft.ScalarPairwise);
}
