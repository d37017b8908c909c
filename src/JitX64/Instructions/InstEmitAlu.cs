using Dqemu.JitX64.Decoders;
using System.Runtime.InteropServices;
using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Dqemu.JitX64.Translation.EmitterContext;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// A64 base integer data processing: add/subtract (immediate, shifted, extended, with carry), logical
/// (immediate, shifted), move wide, ADR/ADRP, conditional compare/select, 1- and 2-source operations.
/// Results are computed in rcx/rdx (rax is clobbered by flag capture and flag loads); a result is stored
/// before the flags are captured so that the capture stays the last host instruction (a following B.cond
/// then needs no flag reload). 32-bit forms use 32-bit x86 operations, which zero-extend and give 32-bit flags.
/// </summary>
public static partial class InstEmit
{
    // ---------------- add/subtract (immediate) ----------------

    public static void Add_Imm(EmitterContext ctx, A64Op op) => AddSubImm(ctx, op, GpOp.Add, false);
    public static void Adds_Imm(EmitterContext ctx, A64Op op) => AddSubImm(ctx, op, GpOp.Add, true);
    public static void Sub_Imm(EmitterContext ctx, A64Op op) => AddSubImm(ctx, op, GpOp.Sub, false);
    public static void Subs_Imm(EmitterContext ctx, A64Op op) => AddSubImm(ctx, op, GpOp.Sub, true);

    private static void AddSubImm(EmitterContext ctx, A64Op op, GpOp kind, bool setFlags)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int rd = op.Rd, rn = op.Rn;
        int imm = op.Imm12 << (op.Sh ? 12 : 0);
        if (!setFlags)
        {
            // LEA when the host flags hold NZCV: a B.cond or CCMP after this add then reads them there
            bool keepFlags = imm != 0 && ctx.HostFlagsLive;
            // Rd and Rn are SP when 31; x = x +/- imm on the register itself where it lives
            if (sf && rd == rn && !keepFlags && ctx.AddInPlace(rd, imm, kind == GpOp.Sub)) return;
            var d = rn == 31 ? rcx : ctx.ResultReg(rd, rcx);
            if (d == rcx) ctx.LoadRsp(rcx, rn, sf); else ctx.LoadFirst(d, rn, sf, opClears: imm != 0);
            if (keepFlags)
            {
                int disp = kind == GpOp.Sub ? -imm : imm;
                if (sf) a.lea(d, __[d + disp]); else a.lea(R32(d), __[d + disp]);
            }
            else if (imm != 0) IntAlu.RI(a, kind, d, imm, sf);
            ctx.StoreRsp(rd, d, sf);
            return;
        }
        // flag-setting: Rn may be SP, Rd 31 is XZR (CMP/CMN)
        if (rd == 31 && kind == GpOp.Sub)
        {
            if (ctx.Cached(rn) is { } h) { if (sf) a.cmp(h, imm); else a.cmp(R32(h), imm); }
            else a.cmp(sf ? X(rn) : W(rn), imm);
        }
        else
        {
            var d = rn == 31 ? rcx : ctx.ResultReg(rd, rcx);
            if (d == rcx) ctx.LoadRsp(rcx, rn, sf); else ctx.LoadFirst(d, rn, sf);
            IntAlu.RI(a, kind, d, imm, sf); // also with imm 0: the flags (and a W result's upper half cleared)
            ctx.StoreR(rd, d, sf);
        }
        IntAlu.Capture(ctx, kind);
    }

    // ---------------- add/subtract (shifted register) ----------------

    public static void Add_Shift(EmitterContext ctx, A64Op op) => AddSubShift(ctx, op, GpOp.Add, false);
    public static void Adds_Shift(EmitterContext ctx, A64Op op) => AddSubShift(ctx, op, GpOp.Add, true);
    public static void Sub_Shift(EmitterContext ctx, A64Op op) => AddSubShift(ctx, op, GpOp.Sub, false);
    public static void Subs_Shift(EmitterContext ctx, A64Op op) => AddSubShift(ctx, op, GpOp.Sub, true);

    private static void AddSubShift(EmitterContext ctx, A64Op op, GpOp kind, bool setFlags)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int rd = op.Rd, rn = op.Rn, rm = op.Rm;
        int type = op.Shift;
        int amount = op.Imm6;
        if (type == 3 || (!sf && amount > 31)) { ctx.ExitBlock(ExitReason.Undefined, ctx.Pc); return; }
        if (!setFlags && rd == 31) return;

        // LEA for a shift of 1-3, and for none when the host flags hold NZCV (LEA leaves them to a reader after it)
        if (!setFlags && kind == GpOp.Add && type == 0 && rm != 31 && (amount is >= 1 and <= 3 || amount == 0 && ctx.HostFlagsLive))
        {
            var sum = ctx.ResultReg(rd, rcx, rm);
            ctx.LoadFirst(sum, rn, sf);
            var m = ctx.Operand(rm, rdx, sf);
            int scale = 1 << amount;
            if (sf) a.lea(sum, __[sum + m * scale]); else a.lea(R32(sum), __[sum + m * scale]);
            ctx.StoreR(rd, sum, sf);
            return;
        }
        if (kind == GpOp.Sub && rn == 31 && !setFlags)
        {
            // NEG
            ctx.LoadR(rcx, rm, sf);
            IntAlu.Shift(a, type, rcx, amount, sf);
            if (sf) a.neg(rcx); else a.neg(ecx);
            ctx.StoreR(rd, rcx, sf);
            return;
        }
        if (setFlags && rd == 31 && kind == GpOp.Sub && rn != 31)
        {
            // CMP: Rn's host copy (or rcx loaded with it) against Rm, shifted; nothing is written
            var left = ctx.Operand(rn, rcx, sf);
            if (rm == 31) { if (sf) a.cmp(left, 0); else a.cmp(R32(left), 0); }
            else if (amount == 0)
            {
                if (ctx.Cached(rm) is { } hm) { if (sf) a.cmp(left, hm); else a.cmp(R32(left), R32(hm)); }
                else if (sf) a.cmp(left, X(rm)); else a.cmp(R32(left), W(rm));
            }
            else
            {
                ctx.LoadR(rdx, rm, sf);
                IntAlu.Shift(a, type, rdx, amount, sf);
                if (sf) a.cmp(left, rdx); else a.cmp(R32(left), edx);
            }
            IntAlu.Capture(ctx, kind);
            return;
        }
        // Rd = Rn + Rd: add Rn to Rd's copy in place
        if (kind == GpOp.Add && amount == 0 && rm == rd && rd != 31 && rn != rd && rn != 31) (rn, rm) = (rm, rn);
        var d = ctx.ResultReg(rd, rcx, rm); // Capture reads only the host flags the operation left
        ctx.LoadFirst(d, rn, sf);
        if (amount == 0 || rm == 31) IntAlu.RG(ctx, kind, d, rm, sf);
        else
        {
            ctx.LoadR(rdx, rm, sf);
            IntAlu.Shift(a, type, rdx, amount, sf);
            IntAlu.RR(a, kind, d, rdx, sf);
        }
        ctx.StoreR(rd, d, sf);
        if (setFlags) IntAlu.Capture(ctx, kind);
    }

    // ---------------- add/subtract (extended register) ----------------

    public static void Add_Ext(EmitterContext ctx, A64Op op) => AddSubExt(ctx, op, GpOp.Add, false);
    public static void Adds_Ext(EmitterContext ctx, A64Op op) => AddSubExt(ctx, op, GpOp.Add, true);
    public static void Sub_Ext(EmitterContext ctx, A64Op op) => AddSubExt(ctx, op, GpOp.Sub, false);
    public static void Subs_Ext(EmitterContext ctx, A64Op op) => AddSubExt(ctx, op, GpOp.Sub, true);

    private static void AddSubExt(EmitterContext ctx, A64Op op, GpOp kind, bool setFlags)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int rd = op.Rd, rn = op.Rn, rm = op.Rm;
        int option = op.Option;
        int shift = op.Imm3;
        if (shift > 4) { ctx.ExitBlock(ExitReason.Undefined, ctx.Pc); return; }

        // Rn 31 is SP here (LoadRsp); Rd's own host copy takes the sum when neither is SP
        var d = rn == 31 ? rcx : ctx.ResultReg(rd, rcx, rm);
        if (d == rcx) ctx.LoadRsp(rcx, rn, sf); else ctx.LoadFirst(d, rn, sf);
        IntAlu.LoadExtended(ctx, rdx, rm, option);
        if (!setFlags && kind == GpOp.Add && shift <= 3)
        {
            if (sf) a.lea(d, __[d + rdx * (1 << shift)]); else a.lea(R32(d), __[d + rdx * (1 << shift)]);
        }
        else
        {
            if (shift != 0) a.shl(rdx, (byte)shift);
            IntAlu.RR(a, kind, d, rdx, sf);
        }
        if (setFlags)
        {
            ctx.StoreR(rd, d, sf);
            IntAlu.Capture(ctx, kind);
        }
        else ctx.StoreRsp(rd, d, sf);
    }

    // ---------------- add/subtract with carry ----------------

    public static void Adc(EmitterContext ctx, A64Op op) => AdcSbc(ctx, op, GpOp.Adc, false);
    public static void Adcs(EmitterContext ctx, A64Op op) => AdcSbc(ctx, op, GpOp.Adc, true);
    public static void Sbc(EmitterContext ctx, A64Op op) => AdcSbc(ctx, op, GpOp.Sbb, false);
    public static void Sbcs(EmitterContext ctx, A64Op op) => AdcSbc(ctx, op, GpOp.Sbb, true);

    private static void AdcSbc(EmitterContext ctx, A64Op op, GpOp kind, bool setFlags)
    {
        bool sf = op.Sf;
        int rd = op.Rd, rn = op.Rn, rm = op.Rm;
        if (!setFlags && rd == 31) return;
        ctx.LoadR(rcx, rn, sf);
        if (kind == GpOp.Adc) ctx.LoadCarryToHostCf(); else ctx.LoadBorrowToHostCf();
        IntAlu.RG(ctx, kind, rcx, rm, sf);
        ctx.StoreR(rd, rcx, sf);
        if (setFlags) IntAlu.Capture(ctx, kind);
    }

    // ---------------- logical (immediate) ----------------

    public static void And_Imm(EmitterContext ctx, A64Op op) => LogicalImm(ctx, op, GpOp.And, false);
    public static void Orr_Imm(EmitterContext ctx, A64Op op) => LogicalImm(ctx, op, GpOp.Or, false);
    public static void Eor_Imm(EmitterContext ctx, A64Op op) => LogicalImm(ctx, op, GpOp.Xor, false);
    public static void Ands_Imm(EmitterContext ctx, A64Op op) => LogicalImm(ctx, op, GpOp.And, true);

    private static void LogicalImm(EmitterContext ctx, A64Op op, GpOp kind, bool setFlags)
    {
        var a = ctx.Asm;
        if (op.LogicalImmediate is not ulong value) { ctx.ExitBlock(ExitReason.Undefined, ctx.Pc); return; }
        bool sf = op.Sf;
        int rd = op.Rd, rn = op.Rn;
        if (!sf) value &= 0xffffffff;

        if (!setFlags && kind == GpOp.Or && rn == 31)
        {
            // MOV (bitmask immediate); Rd 31 is SP here
            ctx.StoreImm64(X(rd), value);
            return;
        }
        bool fitsImm = !sf || (long)value == (int)value;
        if (setFlags && rd == 31 && rn != 31)
        {
            // TST
            if (fitsImm && ctx.Cached(rn) is { } h) { if (sf) a.test(h, (int)value); else a.test(R32(h), (int)value); }
            else if (fitsImm) a.test(sf ? X(rn) : W(rn), (int)value);
            else
            {
                a.mov(rdx, value);
                a.test(X(rn), rdx);
            }
            ctx.CaptureFlagsLogic();
            return;
        }
        var d = ctx.ResultReg(rd, rcx);
        ctx.LoadFirst(d, rn, sf);
        // AND with the low byte or half: a zero-extending move, shorter than AND's imm32 and leaving the host flags
        // (NZCV a B.cond or CCMP after it reads there)
        if (!setFlags && kind == GpOp.And && value is 0xff or 0xffff)
        {
            if (value == 0xff) a.movzx(R32(d), R8(d)); else a.movzx(R32(d), R16(d));
        }
        else if (fitsImm) IntAlu.RI(a, kind, d, (int)value, sf);
        else
        {
            a.mov(rdx, value);
            IntAlu.RR(a, kind, d, rdx, sf);
        }
        if (setFlags)
        {
            ctx.StoreR(rd, d, sf);
            ctx.CaptureFlagsLogic();
        }
        else ctx.StoreRsp(rd, d, sf);
    }

    // ---------------- logical (shifted register) ----------------

    public static void And_Shift(EmitterContext ctx, A64Op op) => LogicalShift(ctx, op, GpOp.And, false);
    public static void Orr_Shift(EmitterContext ctx, A64Op op) => LogicalShift(ctx, op, GpOp.Or, false);
    public static void Eor_Shift(EmitterContext ctx, A64Op op) => LogicalShift(ctx, op, GpOp.Xor, false);
    public static void Ands_Shift(EmitterContext ctx, A64Op op) => LogicalShift(ctx, op, GpOp.And, true);

    /// <summary>AND/BIC/ORR/ORN/EOR/EON/ANDS/BICS; bit 21 (N) inverts the shifted operand.</summary>
    private static void LogicalShift(EmitterContext ctx, A64Op op, GpOp kind, bool setFlags)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int rd = op.Rd, rn = op.Rn, rm = op.Rm;
        int type = op.Shift;
        int amount = op.Imm6;
        bool invert = op.InvertRm;
        if (!sf && amount > 31) { ctx.ExitBlock(ExitReason.Undefined, ctx.Pc); return; }
        if (!setFlags && rd == 31) return;

        if (kind == GpOp.Or && rn == 31)
        {
            // MOV / MVN (register), with an optional shift
            if (rm == 31)
            {
                ctx.StoreXImm(rd, invert ? (sf ? ulong.MaxValue : 0xffffffffUL) : 0);
                return;
            }
            // into Rd's copy: a plain MOV loads its source there; a shift or a NOT builds the value in place
            var mv = ctx.ResultReg(rd, rcx);
            ctx.LoadFirst(mv, rm, sf, opClears: amount != 0 || invert);
            IntAlu.Shift(a, type, mv, amount, sf);
            if (invert) { if (sf) a.not(mv); else a.not(R32(mv)); }
            ctx.StoreR(rd, mv, sf);
            return;
        }

        AssemblerRegister64 d;
        if (amount == 0 && !invert && rm != 31)
        {
            if (setFlags && rd == 31 && rn != 31)
            {
                // TST (register)
                ctx.LoadR(rcx, rm, sf);
                if (ctx.Cached(rn) is { } h) { if (sf) a.test(h, rcx); else a.test(R32(h), ecx); }
                else if (sf) a.test(X(rn), rcx); else a.test(W(rn), ecx);
                ctx.CaptureFlagsLogic();
                return;
            }
            // Rd = Rn op Rd (AND, ORR, EOR commute): op Rn into Rd's copy in place
            if (rm == rd && rd != 31 && rn != rd && rn != 31) (rn, rm) = (rm, rn);
            d = ctx.ResultReg(rd, rcx, rm);
            ctx.LoadFirst(d, rn, sf);
            IntAlu.RG(ctx, kind, d, rm, sf);
        }
        else
        {
            d = ctx.ResultReg(rd, rcx, rm);
            ctx.LoadFirst(d, rn, sf);
            if (rm == 31)
            {
                IntAlu.RI(a, kind, d, invert ? -1 : 0, sf);
            }
            else
            {
                ctx.LoadR(rdx, rm, sf);
                IntAlu.Shift(a, type, rdx, amount, sf);
                if (invert) { if (sf) a.not(rdx); else a.not(edx); }
                IntAlu.RR(a, kind, d, rdx, sf);
            }
        }
        ctx.StoreR(rd, d, sf);
        if (setFlags) ctx.CaptureFlagsLogic();
    }

    // ---------------- move wide ----------------

    public static void Movz(EmitterContext ctx, A64Op op)
    {
        int hw = op.Hw;
        ctx.StoreXImm(op.Rd, (ulong)op.Imm16 << (16 * hw));
    }

    public static void Movn(EmitterContext ctx, A64Op op)
    {
        int hw = op.Hw;
        ulong v = ~((ulong)op.Imm16 << (16 * hw));
        if (!op.Sf) v &= 0xffffffff;
        ctx.StoreXImm(op.Rd, v);
    }

    public static void Movk(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int rd = op.Rd;
        if (rd == 31) return;
        bool sf = op.Sf;
        int shift = 16 * op.Hw;
        ulong imm = (ulong)op.Imm16 << shift;
        ulong keep = ~(0xffffUL << shift);
        if (ctx.ImmediateFromPrevious(rd) is ulong known)
        {
            // the previous instruction set Rd to a constant (MOVZ, MOVN, MOVK): the new one whole
            ulong v = (known & keep) | imm;
            ctx.StoreXImm(rd, sf ? v : v & 0xffffffff);
            return;
        }
        var d = ctx.ResultReg(rd, rcx); // in Rd's host copy when it has one (MOVZ/MOVK chains build constants there)
        ctx.LoadFirst(d, rd, sf);
        if (!sf)
        {
            a.and(R32(d), (int)(uint)keep); // 32-bit: clears the upper half of an in-place update too
            if (imm != 0) a.or(R32(d), (int)(uint)imm);
        }
        else
        {
            if ((long)keep == (int)keep) a.and(d, (int)keep);
            else
            {
                a.mov(rdx, keep);
                a.and(d, rdx);
            }
            if (imm != 0)
            {
                if (imm <= int.MaxValue) a.or(d, (int)imm);
                else { a.mov(rdx, imm); a.or(d, rdx); }
            }
        }
        ctx.StoreX(rd, d);
    }

    // ---------------- PC-relative addresses ----------------

    public static void Adr(EmitterContext ctx, A64Op op)
        => ctx.StoreXImm(op.Rd, ctx.Pc + (ulong)op.AdrOffset);

    public static void Adrp(EmitterContext ctx, A64Op op)
        => ctx.StoreXImm(op.Rd, (ctx.Pc & ~0xfffUL) + (ulong)(op.AdrOffset << 12));

    // ---------------- conditional compare ----------------

    public static void Ccmn_Reg(EmitterContext ctx, A64Op op) => CondCompare(ctx, op, GpOp.Add, false);
    public static void Ccmp_Reg(EmitterContext ctx, A64Op op) => CondCompare(ctx, op, GpOp.Sub, false);
    public static void Ccmn_Imm(EmitterContext ctx, A64Op op) => CondCompare(ctx, op, GpOp.Add, true);
    public static void Ccmp_Imm(EmitterContext ctx, A64Op op) => CondCompare(ctx, op, GpOp.Sub, true);

    /// <summary>
    /// NZCV = cond ? flags(Rn op operand) : #nzcv, without branches: the condition goes to sil, the compare
    /// (a CMP on Rn's host copy where it has one) is captured into ax, and a cmov picks the immediate flags when the
    /// condition failed; that is NZCV, planned as a capture and left in the host flags for the reader after.
    /// </summary>
    private static void CondCompare(EmitterContext ctx, A64Op op, GpOp kind, bool immediate)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int rn = op.Rn, rm = op.Rm;
        int cond = op.Cond;
        int nzcv = op.Nzcv;

        void Compare()
        {
            if (kind == GpOp.Sub)
            {
                var left = ctx.Operand(rn, rcx, sf);
                if (immediate || rm == 31) { int imm = immediate ? op.Imm5 : 0; if (sf) a.cmp(left, imm); else a.cmp(R32(left), imm); }
                else if (ctx.Cached(rm) is { } hm) { if (sf) a.cmp(left, hm); else a.cmp(R32(left), R32(hm)); }
                else if (sf) a.cmp(left, X(rm)); else a.cmp(R32(left), W(rm));
                return;
            }
            ctx.LoadR(rcx, rn, sf);
            if (immediate) IntAlu.RI(a, kind, rcx, op.Imm5, sf);
            else IntAlu.RG(ctx, kind, rcx, rm, sf);
        }

        if (cond >= 14)
        {
            Compare();
            IntAlu.Capture(ctx, kind);
            return;
        }
        ctx.SetIf(ctx.LoadCondition(cond), sil);
        Compare();
        if (kind == GpOp.Add) a.cmc(); // stored C is inverted
        a.lahf();
        a.seto(al);
        a.mov(edx, (int)Flags.ArmToHost((uint)nzcv << 28));
        a.test(sil, sil);
        a.cmovz(eax, edx);
        ctx.CaptureStoredLayout(eax);
    }

    // ---------------- conditional select ----------------

    public static void Csel(EmitterContext ctx, A64Op op) => CondSelect(ctx, op, 0);
    public static void Csinc(EmitterContext ctx, A64Op op) => CondSelect(ctx, op, 1);
    public static void Csinv(EmitterContext ctx, A64Op op) => CondSelect(ctx, op, 2);
    public static void Csneg(EmitterContext ctx, A64Op op) => CondSelect(ctx, op, 3);

    /// <summary>Rd = cond ? Rn : f(Rm) with f = identity, +1, NOT, negate (kind 0..3).</summary>
    private static void CondSelect(EmitterContext ctx, A64Op op, int kind)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int rd = op.Rd, rn = op.Rn, rm = op.Rm;
        int cond = op.Cond;
        if (rd == 31) return;
        if (cond >= 14)
        {
            ctx.LoadR(rcx, rn, sf);
            ctx.StoreR(rd, rcx, sf);
            return;
        }
        if (rn == 31 && rm == 31 && (kind == 1 || kind == 2))
        {
            // CSET / CSETM: !cond as 1 or all ones
            var c = ctx.LoadCondition(cond ^ 1);
            a.mov(ecx, 0);
            ctx.SetIf(c, cl);
            if (kind == 2) { if (sf) a.neg(rcx); else a.neg(ecx); }
            ctx.StoreR(rd, rcx, sf);
            return;
        }
        var hc = ctx.LoadCondition(cond);
        var d = ctx.ResultReg(rd, rcx, rm);
        ctx.LoadFirst(d, rn, sf, opClears: false); // the 64-bit CMOV may keep it as it is
        ctx.LoadR(rdx, rm, sf);
        // flag-neutral forms only: the host flags hold NZCV
        if (kind >= 2) { if (sf) a.not(rdx); else a.not(edx); }
        if (kind == 1 || kind == 3) { if (sf) a.lea(rdx, __[rdx + 1]); else a.lea(edx, __[rdx + 1]); }
        ctx.CMovUnless(hc, d, rdx);
        ctx.StoreR(rd, d, sf);
    }

    // ---------------- data processing (1 source) ----------------

    public static void Rbit_Gp(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int rd = op.Rd;
        if (rd == 31) return;
        ctx.LoadR(rcx, op.Rn, sf);
        if (sf)
        {
            a.bswap(rcx);
            RbitStep64(a, 4, 0x0F0F0F0F0F0F0F0FUL);
            RbitStep64(a, 2, 0x3333333333333333UL);
            RbitStep64(a, 1, 0x5555555555555555UL);
        }
        else
        {
            a.bswap(ecx);
            RbitStep32(a, 4, 0x0F0F0F0F);
            RbitStep32(a, 2, 0x33333333);
            RbitStep32(a, 1, 0x55555555);
        }
        ctx.StoreR(rd, rcx, sf);
    }

    /// <summary>rcx = ((rcx &gt;&gt; k) &amp; m) | ((rcx &amp; m) &lt;&lt; k).</summary>
    private static void RbitStep64(Assembler a, int k, ulong mask)
    {
        a.mov(rax, mask);
        a.mov(rdx, rcx);
        a.shr(rdx, (byte)k);
        a.and(rdx, rax);
        a.and(rcx, rax);
        if (k == 4) { a.shl(rcx, 4); a.or(rcx, rdx); }
        else a.lea(rcx, __[rdx + rcx * (1 << k)]);
    }

    private static void RbitStep32(Assembler a, int k, int mask)
    {
        a.mov(edx, ecx);
        a.shr(edx, (byte)k);
        a.and(edx, mask);
        a.and(ecx, mask);
        if (k == 4) { a.shl(ecx, 4); a.or(ecx, edx); }
        else a.lea(ecx, __[rdx + rcx * (1 << k)]);
    }

    public static void Rev16_Gp(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int rd = op.Rd;
        if (rd == 31) return;
        ctx.LoadR(rcx, op.Rn, sf);
        if (sf)
        {
            a.mov(rax, 0x00FF00FF00FF00FFUL);
            a.mov(rdx, rcx);
            a.shr(rdx, 8);
            a.and(rdx, rax);
            a.and(rcx, rax);
            a.shl(rcx, 8);
            a.or(rcx, rdx);
        }
        else
        {
            a.bswap(ecx);
            a.ror(ecx, 16);
        }
        ctx.StoreR(rd, rcx, sf);
    }

    /// <summary>REV32 (64-bit) and REV (32-bit): byte-reverse each word.</summary>
    public static void Rev32_Gp(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int rd = op.Rd;
        if (rd == 31) return;
        ctx.LoadR(rcx, op.Rn, sf);
        if (sf) { a.bswap(rcx); a.ror(rcx, 32); }
        else a.bswap(ecx);
        ctx.StoreR(rd, rcx, sf);
    }

    public static void Rev64_Gp(EmitterContext ctx, A64Op op)
    {
        int rd = op.Rd;
        if (rd == 31) return;
        ctx.LoadX(rcx, op.Rn);
        ctx.Asm.bswap(rcx);
        ctx.StoreX(rd, rcx);
    }

    public static void Clz_Gp(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int rd = op.Rd, rn = op.Rn;
        if (rd == 31) return;
        if (rn == 31) { ctx.StoreXImm(rd, sf ? 64UL : 32UL); return; }
        // bsr leaves the destination undefined for a zero source: select 2*width-1 then, which the final
        // xor turns into width.
        if (sf)
        {
            a.mov(edx, 127);
            a.bsr(rcx, X(rn));
            a.cmovz(ecx, edx);
            a.xor(ecx, 63);
        }
        else
        {
            a.mov(edx, 63);
            a.bsr(ecx, W(rn));
            a.cmovz(ecx, edx);
            a.xor(ecx, 31);
        }
        ctx.StoreR(rd, rcx, sf);
    }

    /// <summary>CLS(x) = CLZ((x ^ (x &lt;&lt; 1)) | 1): never a zero source for bsr.</summary>
    public static void Cls_Gp(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int rd = op.Rd, rn = op.Rn;
        if (rd == 31) return;
        if (rn == 31) { ctx.StoreXImm(rd, sf ? 63UL : 31UL); return; }
        ctx.LoadR(rcx, rn, sf);
        if (sf)
        {
            a.lea(rdx, __[rcx + rcx]);
            a.xor(rdx, rcx);
            a.or(rdx, 1);
            a.bsr(rdx, rdx);
            a.xor(edx, 63);
        }
        else
        {
            a.lea(edx, __[rcx + rcx]);
            a.xor(edx, ecx);
            a.or(edx, 1);
            a.bsr(edx, edx);
            a.xor(edx, 31);
        }
        ctx.StoreR(rd, rdx, sf);
    }

    // ---------------- data processing (2 source) ----------------

    public static void Udiv(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int rd = op.Rd, rn = op.Rn, rm = op.Rm;
        if (rd == 31) return;
        if (rn == 31 || rm == 31) { ctx.StoreXImm(rd, 0); return; }
        var done = a.CreateLabel();
        // a zero divisor gives 0 (x86 div would fault)
        a.xor(eax, eax);
        a.xor(edx, edx);
        if (sf)
        {
            a.mov(rcx, X(rm));
            a.test(rcx, rcx);
            a.je(done);
            a.mov(rax, X(rn));
            a.div(rcx);
        }
        else
        {
            a.mov(ecx, W(rm));
            a.test(ecx, ecx);
            a.je(done);
            a.mov(eax, W(rn));
            a.div(ecx);
        }
        a.Label(ref done);
        ctx.StoreX(rd, rax);
    }

    public static void Sdiv(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int rd = op.Rd, rn = op.Rn, rm = op.Rm;
        if (rd == 31) return;
        if (rn == 31 || rm == 31) { ctx.StoreXImm(rd, 0); return; }
        var normal = a.CreateLabel();
        var done = a.CreateLabel();
        // divisor 0 gives 0 and divisor -1 gives -dividend (wrapping MIN / -1 to MIN, where x86 idiv faults):
        // both are (-dividend) & divisor.
        if (sf)
        {
            a.mov(rax, X(rn));
            a.mov(rcx, X(rm));
            a.lea(rdx, __[rcx + 1]);
            a.cmp(rdx, 1);
            a.ja(normal);
            a.neg(rax);
            a.and(rax, rcx);
            a.jmp(done);
            a.Label(ref normal);
            a.cqo();
            a.idiv(rcx);
        }
        else
        {
            a.mov(eax, W(rn));
            a.mov(ecx, W(rm));
            a.lea(edx, __[rcx + 1]);
            a.cmp(edx, 1);
            a.ja(normal);
            a.neg(eax);
            a.and(eax, ecx);
            a.jmp(done);
            a.Label(ref normal);
            a.cdq();
            a.idiv(ecx);
        }
        a.Label(ref done);
        ctx.StoreX(rd, rax);
    }

    public static void Lslv(EmitterContext ctx, A64Op op) => ShiftVariable(ctx, op, 0);
    public static void Lsrv(EmitterContext ctx, A64Op op) => ShiftVariable(ctx, op, 1);
    public static void Asrv(EmitterContext ctx, A64Op op) => ShiftVariable(ctx, op, 2);
    public static void Rorv(EmitterContext ctx, A64Op op) => ShiftVariable(ctx, op, 3);

    /// <summary>x86 masks a cl count to 6 (64-bit) or 5 (32-bit) bits, exactly the A64 "amount mod width".</summary>
    private static void ShiftVariable(EmitterContext ctx, A64Op op, int type)
    {
        var a = ctx.Asm;
        bool sf = op.Sf;
        int rd = op.Rd, rn = op.Rn, rm = op.Rm;
        if (rd == 31) return;
        bool shifts = rm != 31 && rn != 31;
        if (shifts) ctx.LoadW(rcx, rm); // the count first: then Rd's host copy can take the value whatever Rm is
        var d = ctx.ResultReg(rd, rdx);
        ctx.LoadFirst(d, rn, sf, opClears: shifts);
        if (shifts)
        {
            if (sf)
            {
                switch (type)
                {
                    case 0: a.shl(d, cl); break;
                    case 1: a.shr(d, cl); break;
                    case 2: a.sar(d, cl); break;
                    default: a.ror(d, cl); break;
                }
            }
            else
            {
                var d32 = R32(d);
                switch (type)
                {
                    case 0: a.shl(d32, cl); break;
                    case 1: a.shr(d32, cl); break;
                    case 2: a.sar(d32, cl); break;
                    default: a.ror(d32, cl); break;
                }
            }
        }
        ctx.StoreR(rd, d, sf);
    }

    public static void Crc32b(EmitterContext ctx, A64Op op) => Crc32(ctx, op, 0, false);
    public static void Crc32h(EmitterContext ctx, A64Op op) => Crc32(ctx, op, 1, false);
    public static void Crc32w(EmitterContext ctx, A64Op op) => Crc32(ctx, op, 2, false);
    public static void Crc32x(EmitterContext ctx, A64Op op) => Crc32(ctx, op, 3, false);
    public static void Crc32cb(EmitterContext ctx, A64Op op) => Crc32(ctx, op, 0, true);
    public static void Crc32ch(EmitterContext ctx, A64Op op) => Crc32(ctx, op, 1, true);
    public static void Crc32cw(EmitterContext ctx, A64Op op) => Crc32(ctx, op, 2, true);
    public static void Crc32cx(EmitterContext ctx, A64Op op) => Crc32(ctx, op, 3, true);

    /// <summary>
    /// CRC32C maps onto SSE4.2 crc32 (same reflected Castagnoli polynomial, no pre/post inversion). CRC32
    /// (polynomial 0x04C11DB7) runs a byte-at-a-time table loop inline: no helper call.
    /// </summary>
    private static void Crc32(EmitterContext ctx, A64Op op, int size, bool castagnoli)
    {
        var a = ctx.Asm;
        int rd = op.Rd, rn = op.Rn, rm = op.Rm;
        if (rd == 31) return;
        ctx.LoadW(rcx, rn);
        if (castagnoli)
        {
            if (rm == 31)
            {
                a.xor(edx, edx);
                switch (size)
                {
                    case 0: a.crc32(ecx, dl); break;
                    case 1: a.crc32(ecx, dx); break;
                    case 2: a.crc32(ecx, edx); break;
                    default: a.crc32(rcx, rdx); break;
                }
            }
            else
            {
                switch (size)
                {
                    case 0: a.crc32(ecx, XPart(rm, 1)); break;
                    case 1: a.crc32(ecx, XPart(rm, 2)); break;
                    case 2: a.crc32(ecx, XPart(rm, 4)); break;
                    default: a.crc32(rcx, X(rm)); break;
                }
            }
            ctx.StoreX(rd, rcx);
            return;
        }

        // crc ^= data; then per byte: crc = T[crc & 0xff] ^ (crc >> 8)
        a.mov(r8, (ulong)IntAlu.Crc32Table);
        if (rm == 31) a.xor(edx, edx);
        else
        {
            switch (size)
            {
                case 0: a.movzx(edx, XPart(rm, 1)); break;
                case 1: a.movzx(edx, XPart(rm, 2)); break;
                case 2: a.mov(edx, W(rm)); break;
                default: a.mov(rdx, X(rm)); break;
            }
        }
        a.xor(ecx, edx);
        int bytes = size == 3 ? 4 : 1 << size;
        for (int i = 0; i < bytes; i++) Crc32Byte(a);
        if (size == 3)
        {
            a.shr(rdx, 32);
            a.xor(ecx, edx);
            for (int i = 0; i < 4; i++) Crc32Byte(a);
        }
        ctx.StoreX(rd, rcx);
    }

    private static void Crc32Byte(Assembler a)
    {
        a.movzx(eax, cl);
        a.shr(ecx, 8);
        a.xor(ecx, __dword_ptr[r8 + rax * 4]);
    }
}

/// <summary>The integer operations the data-processing emitters share, in 64- and 32-bit forms.</summary>
internal enum GpOp { Add, Sub, And, Or, Xor, Adc, Sbb }

internal static class IntAlu
{
    /// <summary>Reflected CRC-32 (0xEDB88320) byte table in native memory, for inline table lookups.</summary>
    public static readonly nint Crc32Table = BuildCrc32Table();

    private static unsafe nint BuildCrc32Table()
    {
        uint* t = (uint*)NativeMemory.AlignedAlloc(256 * sizeof(uint), 64);
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
            t[i] = c;
        }
        return (nint)t;
    }

    /// <summary>Records NZCV after an add-like (ADD/ADC) or subtract-like (SUB/SBB) x86 operation.</summary>
    public static void Capture(EmitterContext ctx, GpOp kind)
    {
        switch (kind)
        {
            case GpOp.Add:
            case GpOp.Adc: ctx.CaptureFlagsAdd(); break;
            case GpOp.Sub:
            case GpOp.Sbb: ctx.CaptureFlagsSub(); break;
            default: ctx.CaptureFlagsLogic(); break;
        }
    }

    public static void RR(Assembler a, GpOp op, AssemblerRegister64 d, AssemblerRegister64 s, bool sf)
    {
        if (sf)
        {
            switch (op)
            {
                case GpOp.Add: a.add(d, s); break;
                case GpOp.Sub: a.sub(d, s); break;
                case GpOp.And: a.and(d, s); break;
                case GpOp.Or: a.or(d, s); break;
                case GpOp.Xor: a.xor(d, s); break;
                case GpOp.Adc: a.adc(d, s); break;
                case GpOp.Sbb: a.sbb(d, s); break;
            }
        }
        else
        {
            var d32 = R32(d);
            var s32 = R32(s);
            switch (op)
            {
                case GpOp.Add: a.add(d32, s32); break;
                case GpOp.Sub: a.sub(d32, s32); break;
                case GpOp.And: a.and(d32, s32); break;
                case GpOp.Or: a.or(d32, s32); break;
                case GpOp.Xor: a.xor(d32, s32); break;
                case GpOp.Adc: a.adc(d32, s32); break;
                case GpOp.Sbb: a.sbb(d32, s32); break;
            }
        }
    }

    public static void RM(Assembler a, GpOp op, AssemblerRegister64 d, AssemblerMemoryOperand m, bool sf)
    {
        if (sf)
        {
            switch (op)
            {
                case GpOp.Add: a.add(d, m); break;
                case GpOp.Sub: a.sub(d, m); break;
                case GpOp.And: a.and(d, m); break;
                case GpOp.Or: a.or(d, m); break;
                case GpOp.Xor: a.xor(d, m); break;
                case GpOp.Adc: a.adc(d, m); break;
                case GpOp.Sbb: a.sbb(d, m); break;
            }
        }
        else
        {
            var d32 = R32(d);
            switch (op)
            {
                case GpOp.Add: a.add(d32, m); break;
                case GpOp.Sub: a.sub(d32, m); break;
                case GpOp.And: a.and(d32, m); break;
                case GpOp.Or: a.or(d32, m); break;
                case GpOp.Xor: a.xor(d32, m); break;
                case GpOp.Adc: a.adc(d32, m); break;
                case GpOp.Sbb: a.sbb(d32, m); break;
            }
        }
    }

    public static void RI(Assembler a, GpOp op, AssemblerRegister64 d, int imm, bool sf)
    {
        if (sf)
        {
            switch (op)
            {
                case GpOp.Add: a.add(d, imm); break;
                case GpOp.Sub: a.sub(d, imm); break;
                case GpOp.And: a.and(d, imm); break;
                case GpOp.Or: a.or(d, imm); break;
                case GpOp.Xor: a.xor(d, imm); break;
                case GpOp.Adc: a.adc(d, imm); break;
                case GpOp.Sbb: a.sbb(d, imm); break;
            }
        }
        else
        {
            var d32 = R32(d);
            switch (op)
            {
                case GpOp.Add: a.add(d32, imm); break;
                case GpOp.Sub: a.sub(d32, imm); break;
                case GpOp.And: a.and(d32, imm); break;
                case GpOp.Or: a.or(d32, imm); break;
                case GpOp.Xor: a.xor(d32, imm); break;
                case GpOp.Adc: a.adc(d32, imm); break;
                case GpOp.Sbb: a.sbb(d32, imm); break;
            }
        }
    }

    /// <summary>d = d op guest register <paramref name="r"/>, where 31 reads as zero.</summary>
    public static void RG(EmitterContext ctx, GpOp op, AssemblerRegister64 d, int r, bool sf)
    {
        var a = ctx.Asm;
        if (r == 31) RI(a, op, d, 0, sf);
        else if (ctx.Cached(r) is { } h) RR(a, op, d, h, sf);
        else RM(a, op, d, sf ? X(r) : W(r), sf);
    }

    /// <summary>LSL/LSR/ASR/ROR by a constant (0 emits nothing).</summary>
    public static void Shift(Assembler a, int type, AssemblerRegister64 r, int amount, bool sf)
    {
        if (amount == 0) return;
        byte n = (byte)amount;
        if (sf)
        {
            switch (type)
            {
                case 0: a.shl(r, n); break;
                case 1: a.shr(r, n); break;
                case 2: a.sar(r, n); break;
                default: a.ror(r, n); break;
            }
        }
        else
        {
            var r32 = R32(r);
            switch (type)
            {
                case 0: a.shl(r32, n); break;
                case 1: a.shr(r32, n); break;
                case 2: a.sar(r32, n); break;
                default: a.ror(r32, n); break;
            }
        }
    }

    /// <summary>
    /// Loads guest register <paramref name="r"/> (31 reads as zero) extended by UXTB..SXTX into
    /// <paramref name="dst"/> (all 64 bits meaningful; 32-bit users take the low half).
    /// </summary>
    public static void LoadExtended(EmitterContext ctx, AssemblerRegister64 dst, int r, int option)
    {
        var a = ctx.Asm;
        if (r == 31) { a.mov(R32(dst), 0); return; }
        if (ctx.Cached(r) is { } h)
        {
            switch (option)
            {
                case 0: a.movzx(R32(dst), R8(h)); break;
                case 1: a.movzx(R32(dst), R16(h)); break;
                case 2: a.mov(R32(dst), R32(h)); break;
                case 4: a.movsx(dst, R8(h)); break;
                case 5: a.movsx(dst, R16(h)); break;
                case 6: a.movsxd(dst, R32(h)); break;
                default: a.mov(dst, h); break;
            }
            return;
        }
        switch (option)
        {
            case 0: a.movzx(R32(dst), XPart(r, 1)); break;
            case 1: a.movzx(R32(dst), XPart(r, 2)); break;
            case 2: a.mov(R32(dst), W(r)); break;
            case 4: a.movsx(dst, XPart(r, 1)); break;
            case 5: a.movsx(dst, XPart(r, 2)); break;
            case 6: a.movsxd(dst, W(r)); break;
            default: a.mov(dst, X(r)); break;
        }
    }
}
