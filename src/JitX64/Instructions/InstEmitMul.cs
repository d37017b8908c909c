using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.Translation;
using static Dqemu.JitX64.Translation.EmitterContext;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>Data processing (3 source): MADD/MSUB, the widening multiply-adds, SMULH/UMULH.</summary>
public static partial class InstEmit
{
    public static void Madd(EmitterContext ctx, A64Op op) => MulAdd(ctx, op, false);
    public static void Msub(EmitterContext ctx, A64Op op) => MulAdd(ctx, op, true);

    private static void MulAdd(EmitterContext ctx, A64Op op, bool sub)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int rd = op.Rd, rn = op.Rn, rm = op.Rm, ra = op.Ra;
        if (rd == 31) return;
        if (rn == 31 || rm == 31)
        {
            // the product is zero
            ctx.LoadR(rcx, ra, sf);
            ctx.StoreR(rd, rcx, sf);
            return;
        }
        // the product in Rd's host copy when Rm and Ra, read after it, are other registers
        var p = rd == rm || rd == ra ? rcx : ctx.ResultReg(rd, rcx);
        ctx.LoadFirst(p, rn, sf);
        if (ctx.Cached(rm) is { } h) { if (sf) a.imul(p, h); else a.imul(R32(p), R32(h)); }
        else if (sf) a.imul(p, X(rm)); else a.imul(R32(p), W(rm));
        AccumulateAndStore(ctx, rd, ra, sub, sf, p);
    }

    /// <summary>Rd = Ra ± <paramref name="p"/> (the product), width <paramref name="sf"/>.</summary>
    private static void AccumulateAndStore(EmitterContext ctx, int rd, int ra, bool sub, bool sf, Iced.Intel.AssemblerRegister64 p)
    {
        var a = ctx.Asm;
        if (!sub)
        {
            if (ra != 31) IntAlu.RG(ctx, GpOp.Add, p, ra, sf);
            ctx.StoreR(rd, p, sf);
        }
        else if (ra == 31)
        {
            if (sf) a.neg(p); else a.neg(R32(p));
            ctx.StoreR(rd, p, sf);
        }
        else
        {
            ctx.LoadR(rdx, ra, sf);
            if (sf) a.sub(rdx, p); else a.sub(edx, R32(p));
            ctx.StoreR(rd, rdx, sf);
        }
    }

    public static void Smaddl(EmitterContext ctx, A64Op op) => MulAddLong(ctx, op, true, false);
    public static void Smsubl(EmitterContext ctx, A64Op op) => MulAddLong(ctx, op, true, true);
    public static void Umaddl(EmitterContext ctx, A64Op op) => MulAddLong(ctx, op, false, false);
    public static void Umsubl(EmitterContext ctx, A64Op op) => MulAddLong(ctx, op, false, true);

    /// <summary>Xd = Xa ± ext(Wn) * ext(Wm): the 64-bit product of two 32-bit operands fits one imul.</summary>
    private static void MulAddLong(EmitterContext ctx, A64Op op, bool signed, bool sub)
    {
        var a = ctx.Asm;
        int rd = op.Rd, rn = op.Rn, rm = op.Rm, ra = op.Ra;
        if (rd == 31) return;
        if (rn == 31 || rm == 31)
        {
            ctx.LoadX(rcx, ra);
            ctx.StoreX(rd, rcx);
            return;
        }
        if (signed)
        {
            a.movsxd(rcx, W(rn));
            a.movsxd(rdx, W(rm));
        }
        else
        {
            a.mov(ecx, W(rn));
            a.mov(edx, W(rm));
        }
        a.imul(rcx, rdx);
        AccumulateAndStore(ctx, rd, ra, sub, true, rcx);
    }

    public static void Smulh(EmitterContext ctx, A64Op op) => MulHigh(ctx, op, true);
    public static void Umulh(EmitterContext ctx, A64Op op) => MulHigh(ctx, op, false);

    private static void MulHigh(EmitterContext ctx, A64Op op, bool signed)
    {
        var a = ctx.Asm;
        int rd = op.Rd, rn = op.Rn, rm = op.Rm;
        if (rd == 31) return;
        if (rn == 31 || rm == 31) { ctx.StoreXImm(rd, 0); return; }
        a.mov(rax, X(rn));
        if (signed) a.imul(X(rm)); else a.mul(X(rm));
        ctx.StoreX(rd, rdx);
    }
}
