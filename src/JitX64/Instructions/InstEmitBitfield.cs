using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using static Dqemu.JitX64.Decoders.A64Bits;
using static Dqemu.JitX64.Translation.EmitterContext;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// SBFM/BFM/UBFM and EXTR. Each emitter recognises its common aliases (LSL/LSR/ASR immediate, SXT*/UXT*,
/// SBFX/UBFX/SBFIZ/UBFIZ, ROR) and picks a short x86 sequence; everything else goes through two shifts.
/// </summary>
public static partial class InstEmit
{
    public static void Sbfm(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int n = sf ? 64 : 32;
        int rd = op.Rd, rn = op.Rn;
        int r = op.Immr, s = op.Imms;
        if (rd == 31) return;
        if (rn == 31) { ctx.StoreXImm(rd, 0); return; }

        if (r == 0 && (s == 7 || s == 15 || (s == 31 && sf)))
        {
            // SXTB / SXTH / SXTW from Rn's host copy or straight from the guest register file
            var t = ctx.ResultReg(rd, rcx);
            if (ctx.Cached(rn) is { } h)
            {
                if (s == 31) a.movsxd(t, R32(h));
                else if (sf) { if (s == 7) a.movsx(t, R8(h)); else a.movsx(t, R16(h)); }
                else if (s == 7) a.movsx(R32(t), R8(h));
                else a.movsx(R32(t), R16(h));
            }
            else
            {
                if (s == 31) a.movsxd(t, W(rn));
                else if (sf) a.movsx(t, XPart(rn, s == 7 ? 1 : 2));
                else a.movsx(R32(t), XPart(rn, s == 7 ? 1 : 2));
            }
            ctx.StoreR(rd, t, sf);
            return;
        }
        var d = ctx.ResultReg(rd, rcx);
        ctx.LoadFirst(d, rn, sf, opClears: r != 0 || s != n - 1); // ASR #0 emits no shift; every other form shifts
        if (s == n - 1)
        {
            IntAlu.Shift(a, 2, d, r, sf); // ASR
        }
        else
        {
            ShiftField(a, d, r, s, n, sf, rightShift: 2); // SBFX / SBFIZ
        }
        ctx.StoreR(rd, d, sf);
    }

    public static void Ubfm(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int n = sf ? 64 : 32;
        int rd = op.Rd, rn = op.Rn;
        int r = op.Immr, s = op.Imms;
        if (rd == 31) return;
        if (rn == 31) { ctx.StoreXImm(rd, 0); return; }

        if (r == 0 && (s == 7 || s == 15 || s == 31))
        {
            // UXTB / UXTH / (64-bit) UBFX #0, #32 from Rn's host copy or straight from the guest register file
            var t = ctx.ResultReg(rd, rcx);
            if (ctx.Cached(rn) is { } h)
            {
                if (s == 7) a.movzx(R32(t), R8(h));
                else if (s == 15) a.movzx(R32(t), R16(h));
                else a.mov(R32(t), R32(h));
            }
            else
            {
                if (s == 7) a.movzx(R32(t), XPart(rn, 1));
                else if (s == 15) a.movzx(R32(t), XPart(rn, 2));
                else a.mov(R32(t), W(rn));
            }
            ctx.StoreR(rd, t, sf);
            return;
        }
        var d = ctx.ResultReg(rd, rcx);
        ctx.LoadFirst(d, rn, sf);
        if (s == n - 1)
        {
            IntAlu.Shift(a, 1, d, r, sf); // LSR (#0 only in the 64-bit form: W r = 0, s = 31 is the move above)
        }
        else if (s + 1 == r)
        {
            IntAlu.Shift(a, 0, d, n - r, sf); // LSL
        }
        else if (s >= r)
        {
            // UBFX
            int width = s - r + 1;
            if (width <= 31)
            {
                IntAlu.Shift(a, 1, d, r, sf);
                if (sf) a.and(d, (int)Ones(width)); else a.and(R32(d), (int)Ones(width));
            }
            else
            {
                ShiftField(a, d, r, s, n, sf, rightShift: 1);
            }
        }
        else
        {
            ShiftField(a, d, r, s, n, sf, rightShift: 1); // UBFIZ
        }
        ctx.StoreR(rd, d, sf);
    }

    /// <summary>
    /// The general bitfield move on <paramref name="x"/>: a left shift puts field bit s on top, then a right shift (1 logical for
    /// UBFM, 2 arithmetic for SBFM) takes bits s..r to the bottom (s &gt;= r, *BFX) or bits s..0 to bit n-r
    /// (s &lt; r, *BFIZ).
    /// </summary>
    private static void ShiftField(Iced.Intel.Assembler a, Iced.Intel.AssemblerRegister64 x, int r, int s, int n, bool sf, int rightShift)
    {
        IntAlu.Shift(a, 0, x, n - 1 - s, sf);
        IntAlu.Shift(a, rightShift, x, s >= r ? n - 1 - s + r : r - 1 - s, sf);
    }

    /// <summary>BFI / BFXIL: insert a field of Rn into Rd, keeping Rd's other bits.</summary>
    public static void Bfm(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int n = sf ? 64 : 32;
        int rd = op.Rd, rn = op.Rn;
        int r = op.Immr, s = op.Imms;
        if (rd == 31) return;

        int width, lsb;
        if (s >= r) { width = s - r + 1; lsb = 0; }
        else { width = s + 1; lsb = n - r; }
        if (width == n)
        {
            // the whole register (BFXIL #0, #n): a move
            ctx.LoadR(rcx, rn, sf);
            ctx.StoreR(rd, rcx, sf);
            return;
        }

        // rcx = field in place, zero elsewhere
        ctx.LoadR(rcx, rn, sf);
        if (rn != 31)
        {
            if (s >= r)
            {
                IntAlu.Shift(a, 0, rcx, n - 1 - s, sf);
                IntAlu.Shift(a, 1, rcx, n - width, sf);
            }
            else
            {
                IntAlu.Shift(a, 0, rcx, n - width, sf);
                IntAlu.Shift(a, 1, rcx, n - width - lsb, sf);
            }
        }
        ulong keep = ~(Ones(width) << lsb);
        if (sf)
        {
            if ((long)keep == (int)keep)
            {
                ctx.LoadX(rdx, rd);
                a.and(rdx, (int)keep);
            }
            else
            {
                a.mov(rdx, keep);
                a.and(rdx, X(rd));
            }
            if (rn != 31) a.or(rdx, rcx);
        }
        else
        {
            ctx.LoadW(rdx, rd);
            a.and(edx, (int)(uint)keep);
            if (rn != 31) a.or(edx, ecx);
        }
        ctx.StoreR(rd, rdx, sf);
    }

    /// <summary>EXTR: (Rn:Rm) &gt;&gt; lsb; ROR (immediate) when Rn == Rm.</summary>
    public static void Extr(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int n = sf ? 64 : 32;
        int rd = op.Rd, rn = op.Rn, rm = op.Rm;
        int lsb = op.Imm6;
        if (rd == 31) return;
        var d = lsb == 0 ? rcx : ctx.ResultReg(rd, rcx, rn == rm ? -1 : rn);
        ctx.LoadFirst(d, rm, sf);
        if (lsb != 0)
        {
            if (rn == rm) IntAlu.Shift(a, 3, d, lsb, sf);
            else
            {
                IntAlu.Shift(a, 1, d, lsb, sf);
                if (rn != 31)
                {
                    ctx.LoadR(rdx, rn, sf);
                    IntAlu.Shift(a, 0, rdx, n - lsb, sf);
                    if (sf) a.or(d, rdx); else a.or(R32(d), edx);
                }
            }
        }
        ctx.StoreR(rd, d, sf);
    }
}
