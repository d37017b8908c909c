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
    public static void Sbfm(EmitterContext ctx, uint op)
    {
        var a = ctx.Asm;
        bool sf = Sf(op);
        int n = sf ? 64 : 32;
        int rd = Rd(op), rn = Rn(op);
        int r = (int)Bits(op, 16, 6), s = (int)Bits(op, 10, 6);
        if (rd == 31) return;
        if (rn == 31) { ctx.StoreXImm(rd, 0); return; }

        if (r == 0 && (s == 7 || s == 15 || (s == 31 && sf)))
        {
            // SXTB / SXTH / SXTW straight from the guest register file
            int off = CpuOffsets.Xn(rn);
            if (s == 31) a.movsxd(rcx, __dword_ptr[rbx + off]);
            else if (sf) a.movsx(rcx, s == 7 ? __byte_ptr[rbx + off] : __word_ptr[rbx + off]);
            else a.movsx(ecx, s == 7 ? __byte_ptr[rbx + off] : __word_ptr[rbx + off]);
            ctx.StoreR(rd, rcx, sf);
            return;
        }
        ctx.LoadR(rcx, rn, sf);
        if (s == n - 1)
        {
            IntAlu.Shift(a, 2, rcx, r, sf); // ASR
        }
        else
        {
            ShiftField(a, r, s, n, sf, rightShift: 2); // SBFX / SBFIZ
        }
        ctx.StoreR(rd, rcx, sf);
    }

    public static void Ubfm(EmitterContext ctx, uint op)
    {
        var a = ctx.Asm;
        bool sf = Sf(op);
        int n = sf ? 64 : 32;
        int rd = Rd(op), rn = Rn(op);
        int r = (int)Bits(op, 16, 6), s = (int)Bits(op, 10, 6);
        if (rd == 31) return;
        if (rn == 31) { ctx.StoreXImm(rd, 0); return; }

        if (r == 0 && (s == 7 || s == 15 || s == 31))
        {
            // UXTB / UXTH / (64-bit) UBFX #0, #32
            int off = CpuOffsets.Xn(rn);
            if (s == 7) a.movzx(ecx, __byte_ptr[rbx + off]);
            else if (s == 15) a.movzx(ecx, __word_ptr[rbx + off]);
            else a.mov(ecx, __dword_ptr[rbx + off]);
            ctx.StoreR(rd, rcx, sf);
            return;
        }
        ctx.LoadR(rcx, rn, sf);
        if (s == n - 1)
        {
            IntAlu.Shift(a, 1, rcx, r, sf); // LSR
        }
        else if (s + 1 == r)
        {
            IntAlu.Shift(a, 0, rcx, n - r, sf); // LSL
        }
        else if (s >= r)
        {
            // UBFX
            int width = s - r + 1;
            if (width <= 31)
            {
                IntAlu.Shift(a, 1, rcx, r, sf);
                if (sf) a.and(rcx, (int)Ones(width)); else a.and(ecx, (int)Ones(width));
            }
            else
            {
                ShiftField(a, r, s, n, sf, rightShift: 1);
            }
        }
        else
        {
            ShiftField(a, r, s, n, sf, rightShift: 1); // UBFIZ
        }
        ctx.StoreR(rd, rcx, sf);
    }

    /// <summary>
    /// The general bitfield move on rcx: a left shift puts field bit s on top, then a right shift (1 logical for
    /// UBFM, 2 arithmetic for SBFM) takes bits s..r to the bottom (s &gt;= r, *BFX) or bits s..0 to bit n-r
    /// (s &lt; r, *BFIZ).
    /// </summary>
    private static void ShiftField(Iced.Intel.Assembler a, int r, int s, int n, bool sf, int rightShift)
    {
        IntAlu.Shift(a, 0, rcx, n - 1 - s, sf);
        IntAlu.Shift(a, rightShift, rcx, s >= r ? n - 1 - s + r : r - 1 - s, sf);
    }

    /// <summary>BFI / BFXIL: insert a field of Rn into Rd, keeping Rd's other bits.</summary>
    public static void Bfm(EmitterContext ctx, uint op)
    {
        var a = ctx.Asm;
        bool sf = Sf(op);
        int n = sf ? 64 : 32;
        int rd = Rd(op), rn = Rn(op);
        int r = (int)Bits(op, 16, 6), s = (int)Bits(op, 10, 6);
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
    public static void Extr(EmitterContext ctx, uint op)
    {
        var a = ctx.Asm;
        bool sf = Sf(op);
        int n = sf ? 64 : 32;
        int rd = Rd(op), rn = Rn(op), rm = Rm(op);
        int lsb = (int)Bits(op, 10, 6);
        if (rd == 31) return;
        ctx.LoadR(rcx, rm, sf);
        if (lsb != 0)
        {
            if (rn == rm) IntAlu.Shift(a, 3, rcx, lsb, sf);
            else
            {
                IntAlu.Shift(a, 1, rcx, lsb, sf);
                if (rn != 31)
                {
                    ctx.LoadR(rdx, rn, sf);
                    IntAlu.Shift(a, 0, rdx, n - lsb, sf);
                    if (sf) a.or(rcx, rdx); else a.or(ecx, edx);
                }
            }
        }
        ctx.StoreR(rd, rcx, sf);
    }
}
