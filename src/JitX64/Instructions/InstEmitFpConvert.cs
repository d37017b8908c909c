using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// Conversions between floating point and general registers: FCVT[NPMZA][SU] (integer and fixed-point),
/// SCVTF/UCVTF, FMOV (general). A64 conversions to integers saturate (NaN gives 0) where x86's cvtt
/// returns the "integer indefinite" 0x80..0: the fast path converts with cvtt and takes the C# path only
/// when that sentinel (or, for unsigned targets, a negative / too large value) shows up.
/// </summary>
public static partial class InstEmit
{
    /// <summary>FCVT{N,P,M,Z,A}{S,U} Rd, Fn (integer) and FCVTZ{S,U} Rd, Fn, #fbits (fixed point).</summary>
    public static void FpCvtToInt(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int type = op.Ftype;
        int d = op.Rd;
        if (type >= 2) { if (d != 31) EmitSoft(ctx, op, FpSoft.ToInt); return; } // half precision
        bool dbl = type == 1;
        bool fixedPoint = op.FixedPoint;
        int rmode = op.Rmode, opcode = op.ConvOpcode;
        bool unsigned = (opcode & 1) != 0;
        if (fixedPoint && !sf && op.Scale < 32) { Undefined(ctx, op); return; }
        if (d == 31) return; // only FPSR would change, and FPSR flags are not tracked

        LoadFpScalar(ctx, xmm0, op.Rn, dbl);
        if (fixedPoint)
        {
            int fbits = op.FBits;
            if (dbl) { LoadConst64(ctx, xmm1, (ulong)(1023 + fbits) << 52); a.mulsd(xmm0, xmm1); }
            else { a.mov(eax, (127 + fbits) << 23); a.movd(xmm1, eax); a.mulss(xmm0, xmm1); }
        }
        else if (rmode == 0 && (opcode & 4) != 0) EmitRoundTiesAway(ctx, dbl, inexact: true);
        else if (rmode != 3)
        {
            byte imm = RoundImm(rmode, inexact: true); // rmode 0/1/2 = nearest/+inf/-inf like FRINT's
            if (dbl) a.roundsd(xmm0, xmm0, imm); else a.roundss(xmm0, xmm0, imm);
        }

        // the saturating cases in C#, out of line (a call in the instruction's own code would cost the block's cached
        // registers a spill before it and a reload after it on every run)
        var done = a.CreateLabel();
        Label Slow() => ctx.Cold(done, () => EmitSoft(ctx, op, FpSoft.ToInt));
        if (!unsigned)
        {
            if (sf) { if (dbl) a.cvttsd2si(rcx, xmm0); else a.cvttss2si(rcx, xmm0); a.cmp(rcx, 1); }
            else { if (dbl) a.cvttsd2si(ecx, xmm0); else a.cvttss2si(ecx, xmm0); a.cmp(ecx, 1); }
            a.jo(Slow()); // only the 0x80..0 sentinel overflows when 1 is subtracted
        }
        else
        {
            if (dbl) a.cvttsd2si(rcx, xmm0); else a.cvttss2si(rcx, xmm0);
            if (sf)
            {
                a.test(rcx, rcx);
                a.js(Slow()); // 2^63 or above, or negative
            }
            else
            {
                a.mov(rdx, rcx);
                a.shr(rdx, 32);
                a.jne(Slow()); // does not fit 32 unsigned bits
            }
        }
        ctx.StoreR(d, rcx, sf);
        a.Label(ref done);
    }

    /// <summary>SCVTF/UCVTF Fd, Rn (integer, and fixed point when bit 21 is clear).</summary>
    public static void FpCvtFromInt(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int type = op.Ftype;
        if (type >= 2) { EmitSoft(ctx, op, FpSoft.FromInt); return; }
        bool dbl = type == 1;
        bool fixedPoint = op.FixedPoint;
        bool unsigned = (op.ConvOpcode & 1) != 0;
        int d = op.Rd, n = op.Rn;
        if (fixedPoint && !sf && op.Scale < 32) { Undefined(ctx, op); return; }

        a.xorps(xmm0, xmm0);
        EmitIntToFp(ctx, n, sf, unsigned, dbl);
        if (fixedPoint)
        {
            int fbits = op.FBits;
            if (dbl) { LoadConst64(ctx, xmm1, (ulong)(1023 - fbits) << 52); a.mulsd(xmm0, xmm1); }
            else { a.mov(eax, (127 - fbits) << 23); a.movd(xmm1, eax); a.mulss(xmm0, xmm1); }
        }
        ctx.StoreV(d, xmm0);
    }

    /// <summary>xmm0 (already zeroed) = Wn/Xn converted, rounded once by MXCSR. Clobbers rcx, rdx.</summary>
    private static void EmitIntToFp(EmitterContext ctx, int n, bool sf, bool unsigned, bool dbl)
    {
        var a = ctx.Asm;
        if (!sf)
        {
            if (unsigned)
            {
                ctx.LoadW(rcx, n); // zero-extended: exact as a signed 64-bit value
                if (dbl) a.cvtsi2sd(xmm0, rcx); else a.cvtsi2ss(xmm0, rcx);
            }
            else
            {
                ctx.LoadW(rcx, n);
                if (dbl) a.cvtsi2sd(xmm0, ecx); else a.cvtsi2ss(xmm0, ecx);
            }
            return;
        }
        ctx.LoadX(rcx, n);
        if (!unsigned)
        {
            if (dbl) a.cvtsi2sd(xmm0, rcx); else a.cvtsi2ss(xmm0, rcx);
            return;
        }
        // unsigned 64: halve with a sticky bit when the top bit is set, convert, double
        var big = a.CreateLabel();
        var done = a.CreateLabel();
        a.test(rcx, rcx);
        a.js(big);
        if (dbl) a.cvtsi2sd(xmm0, rcx); else a.cvtsi2ss(xmm0, rcx);
        a.jmp(done);
        a.Label(ref big);
        a.mov(rdx, rcx);
        a.shr(rdx, 1);
        a.and(ecx, 1);
        a.or(rdx, rcx);
        if (dbl) { a.cvtsi2sd(xmm0, rdx); a.addsd(xmm0, xmm0); }
        else { a.cvtsi2ss(xmm0, rdx); a.addss(xmm0, xmm0); }
        a.Label(ref done); // binds to the caller's next instruction
    }

    // ---- FMOV (general) ----

    /// <summary>FMOV Wd, Sn / Xd, Dn.</summary>
    public static void FmovToGeneral(EmitterContext ctx, A64Op op)
    {
        bool sf = op.Sf;
        var r = ctx.ResultReg(op.Rd, rcx);
        if (sf) ctx.LoadV64(r, op.Rn); else ctx.LoadV32(r, op.Rn);
        ctx.StoreR(op.Rd, r, sf);
    }

    /// <summary>FMOV Sd, Wn / Dd, Xn: the rest of Vd is zeroed.</summary>
    public static void FmovFromGeneral(EmitterContext ctx, A64Op op)
    {
        if (op.Sf) ctx.StoreV64(op.Rd, ctx.Operand(op.Rn, rcx, true));
        else
        {
            ctx.LoadW(rcx, op.Rn);
            ctx.StoreV64(op.Rd, rcx);
        }
    }

    /// <summary>FMOV Xd, Vn.D[1].</summary>
    public static void FmovToGeneralHigh(EmitterContext ctx, A64Op op)
    {
        ctx.LoadVElement(rcx, op.Rn, 3, 1);
        ctx.StoreX(op.Rd, rcx);
    }

    /// <summary>FMOV Vd.D[1], Xn: the low half of Vd is kept.</summary>
    public static void FmovFromGeneralHigh(EmitterContext ctx, A64Op op)
    {
        ctx.LoadX(rcx, op.Rn);
        ctx.StoreVElement(op.Rd, 3, 1, rcx);
    }
}
