using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.Host;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// Advanced SIMD floating point (vector and the scalar forms of the SIMD encodings): arithmetic, fused
/// multiply-add, min/max, compares, rounding, conversions, by-element multiplies. As for scalar FP, any
/// lane that comes out NaN sends the whole instruction to the C# implementation (<see cref="SimdSoft"/>),
/// which applies A64's NaN propagation and default NaN.
/// </summary>
public static partial class InstEmit
{
    private enum FpStore { Vector, Narrow }

    /// <summary>Lane mask for movmskps/movmskpd of a result with Q/scalar lanes.</summary>
    private static int FpLaneMask(bool dbl, bool q, bool scalar) => scalar ? 1 : dbl ? (q ? 3 : 1) : (q ? 15 : 3);

    /// <summary>
    /// xmm0 holds the result. If any live lane is NaN, calls <paramref name="soft"/> (which writes Vd);
    /// otherwise stores xmm0 (vector, scalar element, or narrowed half).
    /// </summary>
    private static void FpVecResult(EmitterContext ctx, A64Op op, int soft, bool dbl, FpStore kind = FpStore.Vector, int? laneMask = null, bool? qOverride = null,
        Action? fzRecompute = null)
    {
        var a = ctx.Asm;
        bool scalar = op.Scalar, q = qOverride ?? op.VectorQ;
        int d = op.Rd;
        var done = a.CreateLabel();
        a.movaps(xmm7, xmm0);
        if (dbl) { a.cmpunordpd(xmm7, xmm7); a.movmskpd(eax, xmm7); }
        else { a.cmpunordps(xmm7, xmm7); a.movmskps(eax, xmm7); }
        a.test(eax, laneMask ?? FpLaneMask(dbl, q, scalar));
        a.jne(ctx.Cold(done, () => EmitSoft(ctx, op, soft)));
        // multiplies, divides, fused multiply-adds: FPCR.FZ's tiny-before-rounding rule (InstEmitFpTiny.cs)
        if (fzRecompute != null) EmitFzTinyPacked(ctx, dbl, laneMask ?? FpLaneMask(dbl, q, scalar), fzRecompute);
        if (kind == FpStore.Narrow) StoreNarrowResult(ctx, op, d);
        else if (scalar) StoreScalarElem(ctx, d, xmm0, dbl ? 64 : 32);
        else StoreVec(ctx, d, xmm0, q);
        a.Label(ref done);
    }

    /// <summary>Loads an FP vector operand: scalar forms load just the element (zero above).</summary>
    private static void LoadFpVec(EmitterContext ctx, AssemblerRegisterXMM x, int n, A64Op op, bool dbl)
    {
        if (op.Scalar) LoadFpScalar(ctx, x, n, dbl);
        else LoadVec(ctx, x, n, op.VectorQ);
    }

    private static void FpArithPacked(EmitterContext ctx, int kind, bool dbl, AssemblerRegisterXMM dst, AssemblerRegisterXMM src)
    {
        var a = ctx.Asm;
        switch (kind)
        {
            case 0: if (dbl) a.addpd(dst, src); else a.addps(dst, src); break;
            case 1: if (dbl) a.subpd(dst, src); else a.subps(dst, src); break;
            case 2: if (dbl) a.mulpd(dst, src); else a.mulps(dst, src); break;
            default: if (dbl) a.divpd(dst, src); else a.divps(dst, src); break;
        }
    }

    /// <summary>Advanced SIMD three-same, FP part (bits 15..11 = 11xxx), vector and scalar.</summary>
    public static void SimdFpThreeSame(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int opc = op.FpThreeSameOpcode;
        bool u = op.U, hi = op.SizeHigh, dbl = op.Sz;
        bool q = op.VectorQ, scalar = op.Scalar;
        int d = op.Rd, n = op.Rn, m = op.Rm;
        int soft = SimdSoft.ThreeSame;
        switch ((u, hi, opc))
        {
            case (false, false, 2): // FADD
            case (false, true, 2):  // FSUB
            case (true, false, 3):  // FMUL
            case (true, false, 7):  // FDIV
            case (true, true, 2):   // FABD
                {
                    int kind = opc == 2 ? (u ? 1 : hi ? 1 : 0) : opc == 3 ? 2 : 3;
                    void Compute()
                    {
                        LoadFpVec(ctx, xmm0, n, op, dbl);
                        LoadFpVec(ctx, xmm1, m, op, dbl);
                        FpArithPacked(ctx, kind, dbl, xmm0, xmm1);
                    }
                    Compute();
                    if (u && hi) // FABD: |n - m|, after the NaN check would be the same: abs keeps NaN-ness
                    {
                        a.pcmpeqd(xmm1, xmm1);
                        if (dbl) a.psrlq(xmm1, 1); else a.psrld(xmm1, 1);
                        a.andps(xmm0, xmm1);
                    }
                    FpVecResult(ctx, op, soft, dbl, fzRecompute: kind >= 2 ? Compute : null);
                    return;
                }
            case (false, false, 0): // FMAXNM
            case (false, true, 0):  // FMINNM
            case (false, false, 6): // FMAX
            case (false, true, 6):  // FMIN
                {
                    LoadFpVec(ctx, xmm0, n, op, dbl);
                    LoadFpVec(ctx, xmm1, m, op, dbl);
                    var done = a.CreateLabel();
                    // any NaN input lane -> C#, out of line
                    a.movaps(xmm7, xmm0);
                    if (dbl) { a.cmpunordpd(xmm7, xmm1); a.movmskpd(eax, xmm7); }
                    else { a.cmpunordps(xmm7, xmm1); a.movmskps(eax, xmm7); }
                    a.test(eax, FpLaneMask(dbl, q, scalar));
                    a.jne(ctx.Cold(done, () => EmitSoft(ctx, op, soft)));
                    EmitMaxMinOrdered(ctx, dbl, hi, packed: true);
                    if (scalar) StoreScalarElem(ctx, d, xmm0, dbl ? 64 : 32); else StoreVec(ctx, d, xmm0, q);
                    a.Label(ref done);
                    return;
                }
            case (false, false, 1): // FMLA
            case (false, true, 1):  // FMLS
                {
                    if (!HostCpu.Fma) break;
                    void Compute()
                    {
                        LoadFpVec(ctx, xmm0, d, op, dbl);
                        LoadFpVec(ctx, xmm1, n, op, dbl);
                        LoadFpVec(ctx, xmm2, m, op, dbl);
                        EmitFmaPacked(ctx, dbl, hi);
                    }
                    Compute();
                    FpVecResult(ctx, op, soft, dbl, fzRecompute: Compute);
                    return;
                }
            case (false, false, 4): // FCMEQ
            case (true, false, 4):  // FCMGE
            case (true, true, 4):   // FCMGT
            case (true, false, 5):  // FACGE
            case (true, true, 5):   // FACGT
                {
                    LoadFpVec(ctx, xmm0, n, op, dbl);
                    LoadFpVec(ctx, xmm1, m, op, dbl);
                    if (opc == 5)
                    {
                        a.pcmpeqd(xmm2, xmm2);
                        if (dbl) a.psrlq(xmm2, 1); else a.psrld(xmm2, 1);
                        a.andps(xmm0, xmm2);
                        a.andps(xmm1, xmm2);
                    }
                    if (!u) { if (dbl) a.cmpeqpd(xmm0, xmm1); else a.cmpeqps(xmm0, xmm1); }
                    else
                    {
                        // n >= m is m <= n; n > m is m < n
                        if (hi) { if (dbl) a.cmpltpd(xmm1, xmm0); else a.cmpltps(xmm1, xmm0); }
                        else { if (dbl) a.cmplepd(xmm1, xmm0); else a.cmpleps(xmm1, xmm0); }
                        a.movaps(xmm0, xmm1);
                    }
                    if (scalar) StoreScalarElem(ctx, d, xmm0, dbl ? 64 : 32); else StoreVec(ctx, d, xmm0, q);
                    return;
                }
            case (true, false, 2): // FADDP
                if (scalar) break;
                LoadVec(ctx, xmm0, n, q);
                LoadVec(ctx, xmm1, m, q);
                EmitDeinterleave(ctx, dbl ? 64 : 32, q);
                FpArithPacked(ctx, 0, dbl, xmm0, xmm1);
                FpVecResult(ctx, op, soft, dbl);
                return;
        }
        EmitSoft(ctx, op, soft);
    }

    /// <summary>xmm0 = xmm0 +/- xmm1*xmm2 (fused), packed.</summary>
    private static void EmitFmaPacked(EmitterContext ctx, bool dbl, bool negate)
    {
        var a = ctx.Asm;
        if (!negate) { if (dbl) a.vfmadd231pd(xmm0, xmm1, xmm2); else a.vfmadd231ps(xmm0, xmm1, xmm2); }
        else { if (dbl) a.vfnmadd231pd(xmm0, xmm1, xmm2); else a.vfnmadd231ps(xmm0, xmm1, xmm2); }
    }

    /// <summary>FMUL, FMLA, FMLS by element (vector and scalar). FMULX goes soft.</summary>
    public static void SimdFpIndexed(EmitterContext ctx, A64Op op)
    {
        int opcode = op.Opcode4;
        bool u = op.U, dbl = op.Sz;
        int d = op.Rd, n = op.Rn, m = op.Rm;
        int h = op.IndexH ? 1 : 0, l = op.IndexL ? 1 : 0;
        int index = dbl ? h : (h << 1 | l);
        if ((opcode == 9 && u) || (opcode != 9 && !HostCpu.Fma)) { EmitSoft(ctx, op, SimdSoft.Indexed); return; }
        void Compute()
        {
            if (opcode == 9)
            {
                LoadFpVec(ctx, xmm0, n, op, dbl);
                EmitBroadcastElement(ctx, xmm1, m, index, dbl ? 64 : 32);
                FpArithPacked(ctx, 2, dbl, xmm0, xmm1);
            }
            else
            {
                LoadFpVec(ctx, xmm0, d, op, dbl);
                LoadFpVec(ctx, xmm1, n, op, dbl);
                EmitBroadcastElement(ctx, xmm2, m, index, dbl ? 64 : 32);
                EmitFmaPacked(ctx, dbl, opcode == 5);
            }
        }
        Compute();
        FpVecResult(ctx, op, SimdSoft.Indexed, dbl, fzRecompute: Compute);
    }

    /// <summary>Advanced SIMD two-register misc, FP part (vector and scalar).</summary>
    public static void SimdFpTwoMisc(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int opcode = op.MiscOpcode;
        bool u = op.U, hi = op.SizeHigh, dbl = op.Sz;
        bool q = op.VectorQ, scalar = op.Scalar;
        int d = op.Rd, n = op.Rn;
        int soft = SimdSoft.TwoMisc;
        switch ((opcode, hi))
        {
            case (15, true): // FABS / FNEG
                LoadFpVec(ctx, xmm0, n, op, dbl);
                a.pcmpeqd(xmm1, xmm1);
                if (u) { if (dbl) a.psllq(xmm1, 63); else a.pslld(xmm1, 31); a.xorps(xmm0, xmm1); }
                else { if (dbl) a.psrlq(xmm1, 1); else a.psrld(xmm1, 1); a.andps(xmm0, xmm1); }
                if (scalar) StoreScalarElem(ctx, d, xmm0, dbl ? 64 : 32); else StoreVec(ctx, d, xmm0, q);
                return;
            case (31, true): // FSQRT (U=1); FRECPX is soft
                if (!u) break;
                LoadFpVec(ctx, xmm0, n, op, dbl);
                if (dbl) a.sqrtpd(xmm0, xmm0); else a.sqrtps(xmm0, xmm0);
                FpVecResult(ctx, op, soft, dbl);
                return;
            case (24, false): case (25, false): case (24, true): case (25, true): // FRINT*
                {
                    if (opcode == 24 && hi && u) break;
                    LoadFpVec(ctx, xmm0, n, op, dbl);
                    // (24,lo) N / A, (25,lo) M / X, (24,hi) P, (25,hi) Z / I
                    if (opcode == 24 && !hi && u) EmitRoundTiesAway(ctx, dbl);
                    else
                    {
                        int rm = (opcode, hi, u) switch
                        {
                            (24, false, false) => 0,
                            (25, false, false) => 2,
                            (25, false, true) => 6,
                            (24, true, _) => 1,
                            (25, true, false) => 3,
                            _ => 7,
                        };
                        byte imm = RoundImm(rm);
                        if (dbl) a.roundpd(xmm0, xmm0, imm); else a.roundps(xmm0, xmm0, imm);
                    }
                    FpVecResult(ctx, op, soft, dbl);
                    return;
                }
            case (26, false): case (27, false): case (28, false): case (26, true): case (27, true): // FCVT[NMAPZ][SU]
                {
                    LoadFpVec(ctx, xmm0, n, op, dbl);
                    if (opcode == 28) EmitRoundTiesAway(ctx, dbl, inexact: true);
                    else if (!(opcode == 27 && hi))
                    {
                        int rm = (opcode, hi) switch { (26, false) => 0, (27, false) => 2, _ => 1 };
                        if (dbl) a.roundpd(xmm0, xmm0, RoundImm(rm, true)); else a.roundps(xmm0, xmm0, RoundImm(rm, true));
                    }
                    EmitFpToIntVector(ctx, op, u, dbl, q, scalar, soft);
                    return;
                }
            case (29, false): // SCVTF / UCVTF
                EmitIntToFpVector(ctx, op, u, dbl, q, scalar);
                return;
            case (23, false): // FCVTL, FCVTL2 (single to double)
                if (!dbl || u) break;
                if (op.Q) a.movq(xmm0, EmitterContext.VHigh(n)); else ctx.LoadV64(xmm0, n);
                a.cvtps2pd(xmm0, xmm0);
                FpVecResult(ctx, op, soft, true, FpStore.Vector, 3, qOverride: true); // always writes 128 bits
                return;
            case (22, false): // FCVTN, FCVTN2 (double to single)
                if (!dbl || u || scalar) break;
                {
                    void Compute() { ctx.LoadV(xmm0, n); a.cvtpd2ps(xmm0, xmm0); }
                    Compute();
                    FpVecResult(ctx, op, soft, false, FpStore.Narrow, 3, fzRecompute: Compute); // a double just below 2^-126 rounds up
                }
                return;
            case (12, true): case (13, true): case (14, true): // FCMGT/FCMGE, FCMEQ/FCMLE, FCMLT against zero
                {
                    LoadFpVec(ctx, xmm0, n, op, dbl);
                    a.xorps(xmm1, xmm1);
                    switch ((opcode, u))
                    {
                        case (12, false): if (dbl) a.cmpltpd(xmm1, xmm0); else a.cmpltps(xmm1, xmm0); a.movaps(xmm0, xmm1); break; // 0 < x
                        case (12, true): if (dbl) a.cmplepd(xmm1, xmm0); else a.cmpleps(xmm1, xmm0); a.movaps(xmm0, xmm1); break;  // 0 <= x
                        case (13, false): if (dbl) a.cmpeqpd(xmm0, xmm1); else a.cmpeqps(xmm0, xmm1); break;
                        case (13, true): if (dbl) a.cmplepd(xmm0, xmm1); else a.cmpleps(xmm0, xmm1); break;   // x <= 0
                        default: if (dbl) a.cmpltpd(xmm0, xmm1); else a.cmpltps(xmm0, xmm1); break;           // x < 0
                    }
                    if (scalar) StoreScalarElem(ctx, d, xmm0, dbl ? 64 : 32); else StoreVec(ctx, d, xmm0, q);
                    return;
                }
        }
        EmitSoft(ctx, op, soft);
    }

    /// <summary>Truncating conversion of xmm0's lanes to integers with the saturation check (C# on overflow).</summary>
    private static void EmitFpToIntVector(EmitterContext ctx, A64Op op, bool unsigned, bool dbl, bool q, bool scalar, int soft)
    {
        var a = ctx.Asm;
        int d = op.Rd;
        var ok = a.CreateLabel();
        var done = a.CreateLabel();
        if (!dbl)
        {
            a.cvttps2dq(xmm0, xmm0);
            if (unsigned) a.movmskps(eax, xmm0); // any negative lane: overflow, NaN, or <= -1
            else
            {
                a.movdqa(xmm1, xmm0);
                a.pcmpeqd(xmm1, Const(ctx, SignLanes(32)));
                a.movmskps(eax, xmm1);
            }
            a.test(eax, FpLaneMask(false, q, scalar));
            a.je(ok);
            EmitSoft(ctx, op, soft);
            a.jmp(done);
            a.Label(ref ok);
            if (scalar) StoreScalarElem(ctx, d, xmm0, 32); else StoreVec(ctx, d, xmm0, q);
            a.Label(ref done);
            return;
        }
        a.cvttsd2si(rcx, xmm0);
        if (unsigned) { a.test(rcx, rcx); a.js(done); } else { a.cmp(rcx, 1); a.jo(done); }
        if (!scalar)
        {
            a.movhlps(xmm1, xmm0);
            a.cvttsd2si(rdx, xmm1);
            if (unsigned) { a.test(rdx, rdx); a.js(done); } else { a.cmp(rdx, 1); a.jo(done); }
        }
        ctx.StoreVD(d, rcx);
        if (scalar) ctx.ClearVHigh(d); else ctx.StoreVHigh(d, rdx);
        a.jmp(ok);
        a.Label(ref done);
        EmitSoft(ctx, op, soft);
        a.Label(ref ok);
    }

    /// <summary>SCVTF/UCVTF (vector and scalar, integer in the SIMD register).</summary>
    private static void EmitIntToFpVector(EmitterContext ctx, A64Op op, bool unsigned, bool dbl, bool q, bool scalar)
    {
        var a = ctx.Asm;
        int d = op.Rd, n = op.Rn;
        if (!dbl)
        {
            LoadFpVec(ctx, xmm0, n, op, false);
            if (!unsigned) a.cvtdq2ps(xmm0, xmm0);
            else
            {
                // hi16 * 65536 + lo16: both exact, one rounding in the add
                a.movdqa(xmm1, xmm0);
                a.psrld(xmm1, 16);
                a.cvtdq2ps(xmm1, xmm1);
                a.mulps(xmm1, Const(ctx, SimdConst.Dup(0x4780000047800000UL))); // 65536.0f
                a.pslld(xmm0, 16);
                a.psrld(xmm0, 16);
                a.cvtdq2ps(xmm0, xmm0);
                a.addps(xmm0, xmm1);
            }
            if (scalar) StoreScalarElem(ctx, d, xmm0, 32); else StoreVec(ctx, d, xmm0, q);
            return;
        }
        a.mov(rcx, EmitterContext.VD(n));
        a.xorps(xmm0, xmm0);
        EmitInt64ToDouble(ctx, xmm0, rcx, unsigned);
        if (!scalar)
        {
            a.mov(rcx, EmitterContext.VHigh(n));
            a.xorps(xmm1, xmm1);
            EmitInt64ToDouble(ctx, xmm1, rcx, unsigned);
            a.unpcklpd(xmm0, xmm1);
        }
        ctx.StoreV(d, xmm0);
    }

    /// <summary>x (zeroed) = rcx converted to double, signed or unsigned. Clobbers rdx.</summary>
    private static void EmitInt64ToDouble(EmitterContext ctx, AssemblerRegisterXMM x, AssemblerRegister64 r, bool unsigned)
    {
        var a = ctx.Asm;
        if (!unsigned) { a.cvtsi2sd(x, r); return; }
        var big = a.CreateLabel();
        var done = a.CreateLabel();
        a.test(r, r);
        a.js(big);
        a.cvtsi2sd(x, r);
        a.jmp(done);
        a.Label(ref big);
        a.mov(rdx, r);
        a.shr(rdx, 1);
        a.and(r, 1);
        a.or(rdx, r);
        a.cvtsi2sd(x, rdx);
        a.addsd(x, x);
        a.Label(ref done);
        a.nop();
    }

    /// <summary>FADDP (scalar): the two lanes of Vn added.</summary>
    public static void SimdFaddpScalar(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool dbl = op.Sz;
        int n = op.Rn;
        if (dbl) { a.movsd(xmm0, EmitterContext.VD(n)); a.addsd(xmm0, EmitterContext.VHigh(n)); }
        else { a.movss(xmm0, EmitterContext.VS(n)); a.addss(xmm0, EmitterContext.VPart(n, 4, 4)); }
        FpScalarResult(ctx, op, SimdSoft.ScalarPairwise, dbl, op.Rd);
    }
}
