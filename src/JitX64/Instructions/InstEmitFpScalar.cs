using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.Host;
using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Dqemu.JitX64.Decoders.A64Bits;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// Scalar floating point (single and double; half precision only through FCVT).
///
/// Every arithmetic result goes through SSE and is then checked for NaN (ucomis + jp, one not-taken
/// branch to a cold path after the block's exits, EmitterContext.Cold): a NaN result means either a NaN operand (A64 picks the first signalling NaN, x86 the first
/// operand) or an invalid operation (A64's default NaN is positive, x86's negative), so that case is
/// recomputed by the C# implementation in <see cref="SoftFloat"/>, which also honours FPCR.DN.
/// FPCR.RMode and FZ reach SSE through MXCSR (InstEmitSystem mirrors them); FPCR.DN and AHP are honoured
/// by the C# paths (a NaN result always takes them).
///
/// FPSR's cumulative flags are MXCSR's sticky bits (InstEmitSystem reads them for MRS FPSR): the SSE fast
/// paths raise the same IEEE flags A64 does for arithmetic, square root, compares (FCMPE/FCCMPE use comis,
/// which signals on quiet NaNs), rounding (only FRINTX and the conversions raise Inexact) and conversions.
/// MXCSR is saved and restored around every call into C#, so managed code adds no flags. Known gaps, all
/// in corner cases: instructions implemented only in C# (estimates,
/// FMULX, saturating shifts, half-precision conversions, ...) raise no flags; FCVTZU of a negative value
/// misses Invalid and of a value in [2^63, 2^64) raises it spuriously; fixed-point conversions of huge
/// values can add Overflow; IDC is not reported; a result FPCR.FZ flushes (see below) raises Inexact instead of
/// Underflow. With FPCR.FZ set, A64 flushes a result that is tiny before rounding while x86 flushes after
/// rounding: multiplies, divides and fused multiply-adds check for a result of the smallest normal's magnitude
/// (InstEmitFpTiny.cs).
/// </summary>
public static partial class InstEmit
{
    private static void LoadFpScalar(EmitterContext ctx, AssemblerRegisterXMM x, int n, bool dbl)
    {
        if (dbl) ctx.LoadV64(x, n);
        else ctx.LoadV32(x, n);
    }

    /// <summary>
    /// xmm0 holds a scalar result with every bit above it zero. Stores it to Vd unless it is a NaN, in which
    /// case the C# implementation <paramref name="soft"/> computes the A64 result instead. Operations whose result
    /// can round up to the smallest normal (multiply, divide, fused multiply-add) pass <paramref name="fzRecompute"/>,
    /// which computes xmm0 again: FPCR.FZ's tiny-before-rounding rule (<see cref="EmitFzTinyScalar"/>).
    /// </summary>
    internal static void FpScalarResult(EmitterContext ctx, A64Op op, int soft, bool dbl, int d, Action? fzRecompute = null)
    {
        var a = ctx.Asm;
        var done = a.CreateLabel();
        if (dbl) a.ucomisd(xmm0, xmm0); else a.ucomiss(xmm0, xmm0);
        a.jp(ctx.Cold(done, () => EmitSoft(ctx, op, soft)));
        if (fzRecompute != null) EmitFzTinyScalar(ctx, dbl, fzRecompute);
        ctx.StoreV(d, xmm0);
        a.Label(ref done);
    }

    /// <summary>xmm = the sign bit of a double (bits 63) or single (bit 31) in the low lane only.</summary>
    private static void LoadSignMaskScalar(EmitterContext ctx, AssemblerRegisterXMM x, bool dbl)
    {
        if (dbl) LoadConst64(ctx, x, 1UL << 63);
        else { ctx.Asm.mov(eax, unchecked((int)0x80000000)); ctx.Asm.movd(x, eax); }
    }

    // ---- FP data-processing (2 source) ----

    /// <summary>FMUL, FDIV, FADD, FSUB, FNMUL (opcode in bits 15..12).</summary>
    public static void FpDp2(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool dbl = op.Sz;
        int d = op.Rd, n = op.Rn, m = op.Rm;
        int opc = op.FpOpcode2;
        void Compute()
        {
            LoadFpScalar(ctx, xmm0, n, dbl);
            var src = ctx.VScalarOperand(m, xmm1, dbl);
            switch (opc)
            {
                case 0:
                case 8:
                    if (dbl) a.mulsd(xmm0, src); else a.mulss(xmm0, src);
                    break;
                case 1: if (dbl) a.divsd(xmm0, src); else a.divss(xmm0, src); break;
                case 2: if (dbl) a.addsd(xmm0, src); else a.addss(xmm0, src); break;
                case 3: if (dbl) a.subsd(xmm0, src); else a.subss(xmm0, src); break;
            }
            if (opc == 8)
            {
                LoadSignMaskScalar(ctx, xmm2, dbl);
                a.xorps(xmm0, xmm2);
            }
        }
        Compute();
        // a sum or difference below the smallest normal is exact (both operands are multiples of the smallest denormal)
        FpScalarResult(ctx, op, FpSoft.Dp2, dbl, d, opc is 0 or 1 or 8 ? Compute : null);
    }

    /// <summary>FMAX, FMIN, FMAXNM, FMINNM: SSE max/min on ordered operands, C# when either is NaN.</summary>
    public static void FpMaxMin(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool dbl = op.Sz;
        bool min = op.FpOpcode2 is 5 or 7; // FMIN, FMINNM
        int d = op.Rd, n = op.Rn, m = op.Rm;
        LoadFpScalar(ctx, xmm0, n, dbl);
        LoadFpScalar(ctx, xmm1, m, dbl);
        var done = a.CreateLabel();
        if (dbl) a.ucomisd(xmm0, xmm1); else a.ucomiss(xmm0, xmm1);
        a.jp(ctx.Cold(done, () => EmitSoft(ctx, op, FpSoft.Dp2)));
        EmitMaxMinOrdered(ctx, dbl, min, packed: false);
        ctx.StoreV(d, xmm0);
        a.Label(ref done);
    }

    /// <summary>
    /// xmm0 = max/min(xmm0, xmm1) for non-NaN lanes with A64's zero rule (max(+0,-0) = +0, min = -0):
    /// x86 returns the second operand on equality, so combining both operand orders with AND (max) or
    /// OR (min) gives the A64 sign. Clobbers xmm1, xmm2.
    /// </summary>
    internal static void EmitMaxMinOrdered(EmitterContext ctx, bool dbl, bool min, bool packed)
    {
        var a = ctx.Asm;
        a.movaps(xmm2, xmm0);
        if (packed)
        {
            if (dbl) { if (min) { a.minpd(xmm0, xmm1); a.minpd(xmm1, xmm2); } else { a.maxpd(xmm0, xmm1); a.maxpd(xmm1, xmm2); } }
            else { if (min) { a.minps(xmm0, xmm1); a.minps(xmm1, xmm2); } else { a.maxps(xmm0, xmm1); a.maxps(xmm1, xmm2); } }
        }
        else
        {
            if (dbl) { if (min) { a.minsd(xmm0, xmm1); a.minsd(xmm1, xmm2); } else { a.maxsd(xmm0, xmm1); a.maxsd(xmm1, xmm2); } }
            else { if (min) { a.minss(xmm0, xmm1); a.minss(xmm1, xmm2); } else { a.maxss(xmm0, xmm1); a.maxss(xmm1, xmm2); } }
        }
        if (min) a.orps(xmm0, xmm1); else a.andps(xmm0, xmm1);
    }

    // ---- FP data-processing (1 source) ----

    public static void FpMovReg(EmitterContext ctx, A64Op op)
    {
        int d = op.Rd, n = op.Rn;
        if (op.Sz) ctx.LoadV64(rax, n); else ctx.LoadV32(rax, n);
        ctx.StoreV64(d, rax);
    }

    public static void FpAbs(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int d = op.Rd, n = op.Rn;
        if (op.Sz) { ctx.LoadV64(rax, n); a.btr(rax, 63); }
        else { ctx.LoadV32(rax, n); a.and(eax, 0x7FFFFFFF); }
        ctx.StoreV64(d, rax);
    }

    public static void FpNeg(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int d = op.Rd, n = op.Rn;
        if (op.Sz) { ctx.LoadV64(rax, n); a.btc(rax, 63); }
        else { ctx.LoadV32(rax, n); a.xor(eax, unchecked((int)0x80000000)); }
        ctx.StoreV64(d, rax);
    }

    public static void FpSqrt(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool dbl = op.Sz;
        LoadFpScalar(ctx, xmm0, op.Rn, dbl);
        if (dbl) a.sqrtsd(xmm0, xmm0); else a.sqrtss(xmm0, xmm0);
        FpScalarResult(ctx, op, FpSoft.Dp1, dbl, op.Rd);
    }

    /// <summary>FCVT between precisions (type in bits 23..22, target in opc bits 16..15). Half goes to C#.</summary>
    public static void FpCvtPrecision(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int from = op.Ftype, to = op.FcvtTo;
        int d = op.Rd, n = op.Rn;
        if (from == to || from == 2 || to == 2) { Undefined(ctx, op); return; }
        if (from == 0 && to == 1)
        {
            ctx.LoadV32(xmm0, n);
            a.cvtss2sd(xmm0, xmm0);
            FpScalarResult(ctx, op, FpSoft.Dp1, true, d);
        }
        else if (from == 1 && to == 0)
        {
            void Compute() { a.xorps(xmm0, xmm0); a.cvtsd2ss(xmm0, ctx.VScalarOperand(n, xmm1, true)); }
            Compute();
            FpScalarResult(ctx, op, FpSoft.Dp1, false, d, Compute); // a double just below 2^-126 rounds up to it
        }
        else EmitSoft(ctx, op, FpSoft.Dp1);
    }

    /// <summary>FRINTN/P/M/Z/A/X/I (rmode in bits 17..15).</summary>
    public static void FpRoundInt(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool dbl = op.Sz;
        int rm = op.FrintMode;
        if (rm == 5) { Undefined(ctx, op); return; }
        if (rm == 4)
        {
            LoadFpScalar(ctx, xmm0, op.Rn, dbl);
            EmitRoundTiesAway(ctx, dbl);
        }
        else
        {
            a.xorps(xmm0, xmm0);
            byte imm = RoundImm(rm);
            var src = ctx.VScalarOperand(op.Rn, xmm1, dbl);
            if (dbl) a.roundsd(xmm0, src, imm);
            else a.roundss(xmm0, src, imm);
        }
        FpScalarResult(ctx, op, FpSoft.Dp1, dbl, op.Rd);
    }

    /// <summary>
    /// roundsd immediate for an A64 FRINT rmode (0 N, 1 P, 2 M, 3 Z, 6 X, 7 I): bit 3 suppresses the
    /// inexact flag, which only FRINTX raises (and conversions, which pass <paramref name="inexact"/>).
    /// </summary>
    internal static byte RoundImm(int rm, bool inexact = false)
    {
        byte imm = rm switch
        {
            0 => 0,       // nearest even
            1 => 2,       // toward +inf
            2 => 1,       // toward -inf
            3 => 3,       // toward zero
            _ => 4,       // MXCSR mode (= FPCR.RMode)
        };
        return (byte)(rm == 6 || inexact ? imm : imm | 8);
    }

    /// <summary>
    /// xmm0 = round-half-away-from-zero of each lane of xmm0 (packed; zero lanes stay zero, so it serves the
    /// scalar case too). Lanes with |a| &gt;= 2^52 (2^23 for single), infinities and NaNs are integral or special
    /// and take trunc(a) (which quietens NaNs, raising Invalid only for signalling ones). The others use
    /// t = trunc(a), d = a - t (exact) and t + copysign(1, a) when |d| &gt;= 0.5, with integer compares, so no
    /// spurious FP exception is raised; <paramref name="inexact"/> raises Inexact for non-integral inputs (the
    /// FCVTA* conversions). Independent of the MXCSR rounding mode. Clobbers xmm1-xmm7, rax.
    /// </summary>
    internal static void EmitRoundTiesAway(EmitterContext ctx, bool dbl, bool inexact = false)
    {
        var a = ctx.Asm;
        a.pcmpeqd(xmm3, xmm3);
        if (dbl) a.psrlq(xmm3, 1); else a.psrld(xmm3, 1);       // abs mask
        a.movdqa(xmm4, xmm0);
        a.pand(xmm4, xmm3);                                      // |a|
        LoadConst(ctx, xmm5, SimdConst.Dup(dbl ? 0x4330000000000000UL : 0x4B0000004B000000UL));
        a.pcmpgtd(xmm5, xmm4);
        if (dbl) a.pshufd(xmm5, xmm5, 0xF5);                     // small lanes: |a| < 2^52 / 2^23
        a.movdqa(xmm1, xmm0);
        a.pand(xmm1, xmm5);                                      // a where small, else +0
        byte trunc = (byte)(inexact ? 3 : 8 | 3);
        if (dbl) a.roundpd(xmm2, xmm1, trunc); else a.roundps(xmm2, xmm1, trunc); // t
        a.movdqa(xmm4, xmm1);
        if (dbl) a.subpd(xmm4, xmm2); else a.subps(xmm4, xmm2);  // d = a - t, exact
        a.pand(xmm4, xmm3);                                      // |d|
        LoadConst(ctx, xmm6, SimdConst.Dup(dbl ? 0x3FDFFFFF00000000UL : 0x3EFFFFFF3EFFFFFFUL));
        a.pcmpgtd(xmm4, xmm6);
        if (dbl) a.pshufd(xmm4, xmm4, 0xF5);                     // |d| >= 0.5
        LoadConst(ctx, xmm6, SimdConst.Dup(dbl ? 0x3FF0000000000000UL : 0x3F8000003F800000UL)); // 1.0
        a.movdqa(xmm7, xmm3);
        a.pandn(xmm7, xmm0);                                     // sign of a
        a.por(xmm6, xmm7);
        if (dbl) a.addpd(xmm6, xmm2); else a.addps(xmm6, xmm2);  // t + copysign(1, a), exact
        a.pand(xmm6, xmm4);
        a.pandn(xmm4, xmm2);
        a.por(xmm4, xmm6);                                       // small lanes' result (+0 in the others)
        if (dbl) a.roundpd(xmm1, xmm0, 8 | 3); else a.roundps(xmm1, xmm0, 8 | 3); // big/special lanes
        a.pandn(xmm5, xmm1);
        a.por(xmm4, xmm5);
        a.movdqa(xmm0, xmm4);
    }

    // ---- compares and selects ----

    /// <summary>Host-format NZCV (see <see cref="Flags"/>) from the flags of ucomis: 8 instructions, no branch.</summary>
    internal static void EmitNzcvFromUcomis(EmitterContext ctx)
    {
        var a = ctx.Asm;
        a.mov(eax, (int)Flags.ArmToHost(0b0110u << 28)); // equal
        a.mov(ecx, (int)Flags.ArmToHost(0b1000u << 28));
        a.cmovb(eax, ecx);                                // less (or unordered, fixed below)
        a.mov(ecx, (int)Flags.ArmToHost(0b0010u << 28));
        a.cmova(eax, ecx);                                // greater
        a.mov(ecx, (int)Flags.ArmToHost(0b0011u << 28));
        a.cmovp(eax, ecx);                                // unordered
        ctx.CaptureStoredLayout(eax);
    }

    /// <summary>Compares Vn with Vm or +0.0; the signalling forms (FCMPE, FCCMPE) use comis, which raises
    /// Invalid Operation for quiet NaNs too, as A64 does.</summary>
    private static void EmitFcmpCore(EmitterContext ctx, A64Op op, bool withZero, bool signalling)
    {
        var a = ctx.Asm;
        bool dbl = op.Sz;
        LoadFpScalar(ctx, xmm0, op.Rn, dbl);
        if (withZero) a.xorps(xmm1, xmm1);
        else LoadFpScalar(ctx, xmm1, op.Rm, dbl);
        if (signalling) { if (dbl) a.comisd(xmm0, xmm1); else a.comiss(xmm0, xmm1); }
        else { if (dbl) a.ucomisd(xmm0, xmm1); else a.ucomiss(xmm0, xmm1); }
        EmitNzcvFromUcomis(ctx);
    }

    /// <summary>FCMP/FCMPE (bit 3: compare with +0.0, bit 4: signalling).</summary>
    public static void Fcmp(EmitterContext ctx, A64Op op) => EmitFcmpCore(ctx, op, op.CmpWithZero, op.CmpSignalling);

    /// <summary>FCCMP/FCCMPE: NZCV = cond ? compare(n, m) : #nzcv.</summary>
    public static void Fccmp(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int cond = op.Cond;
        var doCmp = a.CreateLabel();
        var done = a.CreateLabel();
        ctx.JumpIf(cond, doCmp);
        ctx.SetNzcvConst((uint)op.Nzcv << 28);
        a.jmp(done);
        a.Label(ref doCmp);
        EmitFcmpCore(ctx, op, false, op.CmpSignalling);
        a.Label(ref done);
    }

    /// <summary>FCSEL: Vd = cond ? Vn : Vm (scalar).</summary>
    public static void Fcsel(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int cond = op.Cond;
        int d = op.Rd;
        var hc = cond < 14 ? ctx.LoadCondition(cond) : default;
        if (op.Sz) { ctx.LoadV64(rcx, op.Rn); ctx.LoadV64(rdx, op.Rm); }
        else { ctx.LoadV32(rcx, op.Rn); ctx.LoadV32(rdx, op.Rm); }
        if (cond < 14) ctx.CMovUnless(hc, rcx, rdx); // AL and NV: always Vn
        ctx.StoreV64(d, rcx);
    }

    /// <summary>FMOV (scalar, immediate).</summary>
    public static void FpMovImm(EmitterContext ctx, A64Op op)
    {
        int d = op.Rd;
        ulong v = FpExpandImm((uint)op.FpImm8, op.Sz ? 64 : 32);
        ctx.Asm.mov(rax, v);
        ctx.StoreV64(d, rax);
    }

    // ---- FP data-processing (3 source) ----

    /// <summary>FMADD, FMSUB, FNMADD, FNMSUB: fused (FMA3 when the host has it, else C#).</summary>
    public static void FpMulAdd(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool dbl = op.Sz;
        int d = op.Rd, n = op.Rn, m = op.Rm, ra = op.Ra;
        if (!HostCpu.Fma) { EmitSoft(ctx, op, FpSoft.Dp3); return; }
        bool o1 = op.O1, o0 = op.O0;
        void Compute()
        {
            LoadFpScalar(ctx, xmm0, ra, dbl);
            LoadFpScalar(ctx, xmm1, n, dbl);
            var src = ctx.VScalarOperand(m, xmm2, dbl);
            // xmm0 = a (+/-) n*m, negations as A64 applies them to the operands
            switch ((o1 ? 2 : 0) | (o0 ? 1 : 0))
            {
                case 0: if (dbl) a.vfmadd231sd(xmm0, xmm1, src); else a.vfmadd231ss(xmm0, xmm1, src); break;   // a + n*m
                case 1: if (dbl) a.vfnmadd231sd(xmm0, xmm1, src); else a.vfnmadd231ss(xmm0, xmm1, src); break; // a - n*m
                case 2: if (dbl) a.vfnmsub231sd(xmm0, xmm1, src); else a.vfnmsub231ss(xmm0, xmm1, src); break; // -a - n*m
                case 3: if (dbl) a.vfmsub231sd(xmm0, xmm1, src); else a.vfmsub231ss(xmm0, xmm1, src); break;   // -a + n*m
            }
        }
        Compute();
        FpScalarResult(ctx, op, FpSoft.Dp3, dbl, d, Compute);
    }
}

/// <summary>C# implementations of the scalar FP encoding groups, for the slow paths above.</summary>
internal static unsafe class FpSoft
{
    public static readonly int Dp1 = SoftRegistry.Register(Dp1Impl);
    public static readonly int Dp2 = SoftRegistry.Register(Dp2Impl);
    public static readonly int Dp3 = SoftRegistry.Register(Dp3Impl);
    public static readonly int ToInt = SoftRegistry.Register(ToIntImpl);
    public static readonly int FromInt = SoftRegistry.Register(FromIntImpl);

    private static int TypeSize(int type) => type switch { 0 => 32, 1 => 64, _ => 16 };
    private static ulong Mask(int es) => es == 64 ? ulong.MaxValue : (1UL << es) - 1;

    private static ulong ReadScalar(CpuState* c, int n, int es) => GuestRegs.V(c, n)[0] & Mask(es);

    private static void Dp1Impl(CpuState* c, A64Op op)
    {
        int es = TypeSize(op.Ftype);
        int opcode = op.FpOpcode1;
        ulong x = ReadScalar(c, op.Rn, es);
        uint fpcr = c->Fpcr;
        ulong r;
        if (opcode == 3) r = SoftFloat.Sqrt(x, es, fpcr);
        else if (opcode is 4 or 5 or 7) r = SoftFloat.Convert(x, es, TypeSize(op.FcvtTo), fpcr);
        else if (opcode >= 8)
        {
            int rm = op.FrintMode;
            int mode = rm switch
            {
                0 => SoftFloat.RoundTieEven,
                1 => SoftFloat.RoundPosInf,
                2 => SoftFloat.RoundNegInf,
                3 => SoftFloat.RoundZero,
                4 => SoftFloat.RoundTieAway,
                _ => SoftFloat.FpcrRMode(fpcr),
            };
            r = SoftFloat.RoundInt(x, es, mode, fpcr);
        }
        else r = x;
        GuestRegs.SetScalar(c, op.Rd, r);
    }

    private static void Dp2Impl(CpuState* c, A64Op op)
    {
        int es = TypeSize(op.Ftype);
        ulong x = ReadScalar(c, op.Rn, es);
        ulong y = ReadScalar(c, op.Rm, es);
        var kind = op.FpOpcode2 switch
        {
            0 => SoftFloat.Op.Mul,
            1 => SoftFloat.Op.Div,
            2 => SoftFloat.Op.Add,
            3 => SoftFloat.Op.Sub,
            4 => SoftFloat.Op.Max,
            5 => SoftFloat.Op.Min,
            6 => SoftFloat.Op.MaxNum,
            7 => SoftFloat.Op.MinNum,
            _ => SoftFloat.Op.NMul,
        };
        GuestRegs.SetScalar(c, op.Rd, SoftFloat.Binary(kind, x, y, es, c->Fpcr));
    }

    private static void Dp3Impl(CpuState* c, A64Op op)
    {
        int es = TypeSize(op.Ftype);
        ulong n = ReadScalar(c, op.Rn, es);
        ulong m = ReadScalar(c, op.Rm, es);
        ulong a = ReadScalar(c, op.Ra, es);
        bool o1 = op.O1, o0 = op.O0;
        ulong sign = SoftFloat.SignBit(es);
        if (o1) a ^= sign;        // FNMADD, FNMSUB negate the addend
        if (o0 != o1) n ^= sign;  // FMSUB, FNMADD negate the product
        GuestRegs.SetScalar(c, op.Rd, SoftFloat.MulAdd(a, n, m, es, c->Fpcr));
    }

    /// <summary>FCVT[NPMZA][SU] to a general register, integer and fixed-point forms.</summary>
    private static void ToIntImpl(CpuState* c, A64Op op)
    {
        int es = TypeSize(op.Ftype);
        bool sf = op.Sf;
        bool fixedPoint = op.FixedPoint;
        int rmode = op.Rmode, opcode = op.ConvOpcode;
        int fbits = fixedPoint ? op.FBits : 0;
        bool unsigned = (opcode & 1) != 0;
        int mode = rmode switch
        {
            0 => (opcode & 4) != 0 ? SoftFloat.RoundTieAway : SoftFloat.RoundTieEven,
            1 => SoftFloat.RoundPosInf,
            2 => SoftFloat.RoundNegInf,
            _ => SoftFloat.RoundZero,
        };
        ulong x = ReadScalar(c, op.Rn, es);
        ulong r = SoftFloat.ToInt(x, es, fbits, unsigned, sf ? 64 : 32, mode, c->Fpcr);
        GuestRegs.SetX(c, op.Rd, r);
    }

    /// <summary>SCVTF/UCVTF from a general register (integer and fixed-point), used for half precision.</summary>
    private static void FromIntImpl(CpuState* c, A64Op op)
    {
        int es = TypeSize(op.Ftype);
        bool sf = op.Sf;
        bool fixedPoint = op.FixedPoint;
        bool unsigned = (op.ConvOpcode & 1) != 0;
        int fbits = fixedPoint ? op.FBits : 0;
        ulong v = GuestRegs.GetX(c, op.Rn);
        if (!sf) v = unsigned ? (uint)v : (ulong)(long)(int)(uint)v;
        GuestRegs.SetScalar(c, op.Rd, SoftFloat.FromInt(v, unsigned, fbits, es, c->Fpcr));
    }
}
