using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Dqemu.JitX64.Decoders.A64Bits;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// Advanced SIMD moves and permutes: DUP, INS, UMOV, SMOV, MOVI/MVNI/ORR/BIC/FMOV (vector immediate),
/// EXT, ZIP/UZP/TRN, TBL/TBX.
/// </summary>
public static partial class InstEmit
{
    /// <summary>Element size (0..3) and index from an imm5 field (lowest set bit gives the size).</summary>
    private static (int size, int index) Imm5(A64Op op)
    {
        int imm5 = op.Imm5;
        int size = System.Numerics.BitOperations.TrailingZeroCount(imm5);
        return (size, imm5 >> (size + 1));
    }

    /// <summary>xmm0 = the low (size) bits of eax/rax in every lane.</summary>
    private static void EmitBroadcastRax(EmitterContext ctx, int size)
    {
        var a = ctx.Asm;
        switch (size)
        {
            case 0: a.movd(xmm0, eax); a.pxor(xmm1, xmm1); a.pshufb(xmm0, xmm1); break;
            case 1: a.movd(xmm0, eax); a.pshuflw(xmm0, xmm0, 0); a.punpcklqdq(xmm0, xmm0); break;
            case 2: a.movd(xmm0, eax); a.pshufd(xmm0, xmm0, 0); break;
            default: a.movq(xmm0, rax); a.punpcklqdq(xmm0, xmm0); break;
        }
    }

    /// <summary>DUP Vd.T, Vn.Ts[i].</summary>
    public static void DupElement(EmitterContext ctx, A64Op op)
    {
        var (size, index) = Imm5(op);
        bool q = op.VectorQ;
        int n = op.Rn;
        switch (size)
        {
            case 2:
            case 3:
                // the element's dwords into every lane
                ctx.Asm.pshufd(xmm0, ctx.VOperand(n, xmm0), (byte)(size == 2 ? index * 0x55 : index == 0 ? 0x44 : 0xEE));
                break;
            default:
                ctx.LoadVElement(rax, n, size, index);
                EmitBroadcastRax(ctx, size);
                break;
        }
        StoreVec(ctx, op.Rd, xmm0, q);
    }

    /// <summary>DUP Vd.T, Wn/Xn.</summary>
    public static void DupGeneral(EmitterContext ctx, A64Op op)
    {
        var (size, _) = Imm5(op);
        if (size == 3) ctx.LoadX(rax, op.Rn); else ctx.LoadW(rax, op.Rn);
        EmitBroadcastRax(ctx, size);
        StoreVec(ctx, op.Rd, xmm0, op.VectorQ);
    }

    /// <summary>DUP (scalar) / MOV Bd|Hd|Sd|Dd, Vn.T[i].</summary>
    public static void DupScalar(EmitterContext ctx, A64Op op)
    {
        var (size, index) = Imm5(op);
        int d = op.Rd;
        ctx.LoadVElement(rcx, op.Rn, size, index);
        ctx.StoreV64(d, rcx);
    }

    /// <summary>INS Vd.Ts[i], Wn/Xn (MOV element from general); the other lanes are kept.</summary>
    public static void InsGeneral(EmitterContext ctx, A64Op op)
    {
        var (size, index) = Imm5(op);
        ctx.LoadX(rcx, op.Rn);
        ctx.StoreVElement(op.Rd, size, index, rcx);
    }

    /// <summary>INS Vd.Ts[i], Vn.Ts[j].</summary>
    public static void InsElement(EmitterContext ctx, A64Op op)
    {
        var (size, index) = Imm5(op);
        int src = op.Imm4 >> size;
        ctx.LoadVElement(rcx, op.Rn, size, src);
        ctx.StoreVElement(op.Rd, size, index, rcx);
    }

    /// <summary>UMOV Wd/Xd, Vn.Ts[i].</summary>
    public static void Umov(EmitterContext ctx, A64Op op)
    {
        var (size, index) = Imm5(op);
        ctx.LoadVElement(rcx, op.Rn, size, index);
        ctx.StoreX(op.Rd, rcx);
    }

    /// <summary>SMOV Wd/Xd, Vn.Ts[i].</summary>
    public static void Smov(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        var (size, index) = Imm5(op);
        bool x = op.Q;
        int n = op.Rn;
        ctx.LoadVElement(rcx, n, size, index);
        if (x)
        {
            if (size == 0) a.movsx(rcx, cl);
            else if (size == 1) a.movsx(rcx, cx);
            else a.movsxd(rcx, ecx);
        }
        else
        {
            if (size == 0) a.movsx(ecx, cl);
            else a.movsx(ecx, cx);
        }
        ctx.StoreR(op.Rd, rcx, x);
    }

    // ---- modified immediate ----

    /// <summary>AdvSIMDExpandImm.</summary>
    internal static ulong AdvSimdExpandImm(uint opBit, uint cmode, uint imm8)
    {
        ulong i = imm8;
        switch (cmode >> 1)
        {
            case 0: return Replicate(i, 32, 64);
            case 1: return Replicate(i << 8, 32, 64);
            case 2: return Replicate(i << 16, 32, 64);
            case 3: return Replicate(i << 24, 32, 64);
            case 4: return Replicate(i, 16, 64);
            case 5: return Replicate(i << 8, 16, 64);
            case 6: return (cmode & 1) == 0 ? Replicate((i << 8) | 0xFF, 32, 64) : Replicate((i << 16) | 0xFFFF, 32, 64);
        }
        if ((cmode & 1) == 0)
        {
            if (opBit == 0) return Replicate(i, 8, 64);
            ulong r = 0;
            for (int b = 0; b < 8; b++) if (((imm8 >> b) & 1) != 0) r |= 0xFFUL << (8 * b);
            return r;
        }
        if (opBit == 0) return Replicate(FpExpandImm(imm8, 32), 32, 64);
        return FpExpandImm(imm8, 64);
    }

    /// <summary>MOVI, MVNI, ORR, BIC (vector, immediate) and FMOV (vector, immediate).</summary>
    public static void SimdModImm(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool q = op.Q;
        uint opBit = op.U ? 1u : 0u;
        int cmode = op.Cmode, imm8 = op.SimdImm8;
        int d = op.Rd;
        ulong imm = AdvSimdExpandImm(opBit, (uint)cmode, (uint)imm8);
        bool logical = cmode < 12 && (cmode & 1) == 1; // ORR / BIC
        if (!logical)
        {
            bool invert = opBit == 1 && cmode < 14; // MVNI
            if (invert) imm = ~imm;
            if (q) LoadConstDup64(ctx, xmm0, imm); else LoadConst64(ctx, xmm0, imm);
            StoreVec(ctx, d, xmm0, q);
            return;
        }
        if (opBit == 1) imm = ~imm; // BIC: and with the complement
        LoadConstDup64(ctx, xmm1, imm);
        LoadVec(ctx, xmm0, d, q);
        if (opBit == 1) a.pand(xmm0, xmm1); else a.por(xmm0, xmm1);
        StoreVec(ctx, d, xmm0, q);
    }

    // ---- EXT, permutes, table lookups ----

    /// <summary>EXT Vd, Vn, Vm, #imm: bytes imm.. of the concatenation Vm:Vn.</summary>
    public static void Ext(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool q = op.VectorQ;
        int imm = op.Imm4;
        int d = op.Rd, n = op.Rn, m = op.Rm;
        if (q)
        {
            ctx.LoadV(xmm0, n);
            ctx.LoadV(xmm1, m);
            if (imm != 0) a.palignr(xmm1, xmm0, (sbyte)imm); else a.movdqa(xmm1, xmm0);
            ctx.StoreV(d, xmm1);
        }
        else
        {
            ctx.LoadV64(xmm0, n);
            ctx.LoadV64(xmm1, m);
            a.punpcklqdq(xmm0, xmm1);
            if (imm != 0) a.psrldq(xmm0, (sbyte)imm);
            StoreVec64(ctx, d, xmm0);
        }
    }

    /// <summary>UZP1/UZP2, TRN1/TRN2, ZIP1/ZIP2 (opc in bits 14..12).</summary>
    public static void Permute(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool q = op.VectorQ;
        int es = 8 << op.Size;
        int opc = op.PermuteOpcode;
        int d = op.Rd;
        LoadVec(ctx, xmm0, op.Rn, q);
        LoadVec(ctx, xmm1, op.Rm, q);
        bool second = (opc & 4) != 0;
        switch (opc & 3)
        {
            case 1: // UZP
                EmitDeinterleave(ctx, es, q);
                if (second) a.movdqa(xmm0, xmm1);
                break;
            case 3: // ZIP
                if (q && second)
                {
                    if (es == 8) a.punpckhbw(xmm0, xmm1); else if (es == 16) a.punpckhwd(xmm0, xmm1); else if (es == 32) a.punpckhdq(xmm0, xmm1); else a.punpckhqdq(xmm0, xmm1);
                }
                else
                {
                    if (es == 8) a.punpcklbw(xmm0, xmm1); else if (es == 16) a.punpcklwd(xmm0, xmm1); else if (es == 32) a.punpckldq(xmm0, xmm1); else a.punpcklqdq(xmm0, xmm1);
                    if (!q && second) a.psrldq(xmm0, 8);
                }
                break;
            case 2: // TRN
                switch (es)
                {
                    case 8:
                        a.pcmpeqw(xmm2, xmm2);
                        a.psrlw(xmm2, 8); // 0x00FF words
                        if (!second) { a.pand(xmm0, xmm2); a.psllw(xmm1, 8); }
                        else { a.psrlw(xmm0, 8); a.pandn(xmm2, xmm1); a.movdqa(xmm1, xmm2); }
                        a.por(xmm0, xmm1);
                        break;
                    case 16:
                        if (!second) { a.pslld(xmm1, 16); a.pblendw(xmm0, xmm1, 0xAA); }
                        else { a.psrld(xmm0, 16); a.pblendw(xmm0, xmm1, 0xAA); }
                        break;
                    case 32:
                        if (!second) { a.psllq(xmm1, 32); a.pblendw(xmm0, xmm1, 0xCC); }
                        else { a.psrlq(xmm0, 32); a.pblendw(xmm0, xmm1, 0xCC); }
                        break;
                    default:
                        if (!second) a.punpcklqdq(xmm0, xmm1); else a.punpckhqdq(xmm0, xmm1);
                        break;
                }
                break;
            default:
                Undefined(ctx, op);
                return;
        }
        StoreVec(ctx, d, xmm0, q);
    }

    /// <summary>TBL/TBX with 1 to 4 table registers (len in bits 14..13, TBX when bit 12 is set).</summary>
    public static void TableLookup(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool q = op.VectorQ;
        bool tbx = op.Tbx;
        int len = op.TableLen + 1;
        int d = op.Rd, n = op.Rn;
        LoadVec(ctx, xmm1, op.Rm, q); // indices
        a.pxor(xmm0, xmm0);
        nint bias = SimdConst.Dup(0x7070707070707070UL);
        for (int j = 0; j < len; j++)
        {
            ctx.LoadV(xmm2, (n + j) & 31);
            a.movdqa(xmm3, xmm1);
            if (j > 0) a.psubb(xmm3, Const(ctx, SimdConst.Dup(0x1010101010101010UL * (ulong)j)));
            a.paddusb(xmm3, Const(ctx, bias)); // >= 16 (or wrapped negative) sets bit 7: pshufb gives 0
            a.pshufb(xmm2, xmm3);
            a.por(xmm0, xmm2);
        }
        if (tbx)
        {
            // keep Vd's byte where the index is out of range
            a.movdqa(xmm4, xmm1);
            a.pminub(xmm4, Const(ctx, SimdConst.Dup(0x0101010101010101UL * (ulong)(16 * len - 1))));
            a.pcmpeqb(xmm4, xmm1); // in range
            LoadVec(ctx, xmm5, d, q);
            a.pandn(xmm4, xmm5);
            a.por(xmm0, xmm4);
        }
        StoreVec(ctx, d, xmm0, q);
    }
}
