using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.Translation;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

public static partial class InstEmit
{
    public static void B(EmitterContext ctx, A64Op op)
        => ctx.Goto(ctx.Pc + (ulong)op.Offset26);

    public static void Bl(EmitterContext ctx, A64Op op)
    {
        ctx.StoreXImm(30, ctx.Pc + 4);
        ctx.Goto(ctx.Pc + (ulong)op.Offset26, call: true);
    }

    public static void B_Cond(EmitterContext ctx, A64Op op)
    {
        ulong target = ctx.Pc + (ulong)op.Offset19;
        int cond = op.BranchCond;
        if (cond >= 14) ctx.Goto(target);
        else ctx.BranchIf(cond, target);
    }

    public static void Cbz(EmitterContext ctx, A64Op op) => CompareAndBranch(ctx, op, nonZero: false);
    public static void Cbnz(EmitterContext ctx, A64Op op) => CompareAndBranch(ctx, op, nonZero: true);

    private static void CompareAndBranch(EmitterContext ctx, A64Op op, bool nonZero)
    {
        var a = ctx.Asm;
        ulong target = ctx.Pc + (ulong)op.Offset19;
        int rt = op.Rt;
        if (rt == 31)
        {
            if (nonZero) ctx.BranchTo(ctx.Pc + 4); else ctx.BranchTo(target);
            return;
        }
        if (ctx.Cached(rt) is { } h) { if (op.Sf) a.test(h, h); else a.test(EmitterContext.R32(h), EmitterContext.R32(h)); }
        else if (op.Sf) a.cmp(EmitterContext.X(rt), 0); else a.cmp(EmitterContext.W(rt), 0);
        ctx.BranchOnHostFlags(nonZero ? Iced.Intel.Code.Jne_rel32_64 : Iced.Intel.Code.Je_rel32_64, target);
    }

    public static void Tbz(EmitterContext ctx, A64Op op) => TestBitAndBranch(ctx, op, nonZero: false);
    public static void Tbnz(EmitterContext ctx, A64Op op) => TestBitAndBranch(ctx, op, nonZero: true);

    private static void TestBitAndBranch(EmitterContext ctx, A64Op op, bool nonZero)
    {
        var a = ctx.Asm;
        ulong target = ctx.Pc + (ulong)op.Offset14;
        int bit = op.TestBit;
        int rt = op.Rt;
        if (rt == 31)
        {
            if (nonZero) ctx.BranchTo(ctx.Pc + 4); else ctx.BranchTo(target);
            return;
        }
        if (ctx.Cached(rt) is { } h) a.bt(h, (byte)bit);
        else a.bt(EmitterContext.X(rt), (byte)bit);
        ctx.BranchOnHostFlags(nonZero ? Iced.Intel.Code.Jb_rel32_64 : Iced.Intel.Code.Jae_rel32_64, target);
    }

    public static void Br(EmitterContext ctx, A64Op op)
    {
        ctx.LoadX(rax, op.Rn);
        ctx.BranchIndirect(rax);
    }

    public static void Blr(EmitterContext ctx, A64Op op)
    {
        // read before writing X30 (BLR X30 branches to the old value), and not into rax: StoreXImm goes
        // through rax when the return address does not fit an imm32 (code above 2 GiB, e.g. ld.so)
        ctx.LoadX(rcx, op.Rn);
        ctx.StoreXImm(30, ctx.Pc + 4);
        ctx.BranchIndirect(rcx);
    }

    public static void Ret(EmitterContext ctx, A64Op op) => ctx.Return(op.Rn);
}
