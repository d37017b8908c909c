using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.Host;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// Advanced SIMD integer arithmetic: three-same, three-different, two-register misc, across lanes,
/// pairwise, by-element multiplies, and the scalar (D-register) forms of the same encodings. Each emitter
/// loads operands into xmm0/xmm1, computes with SSE2..SSE4.1 and stores 128 bits, or 64 bits with the upper
/// half of Vd zeroed. Encodings without a short SSE sequence go to <see cref="SimdSoft"/>.
/// </summary>
public static partial class InstEmit
{
    internal enum IntOp { Add, Sub, CmEq, CmGt, CmHi, CmGe, CmHs, CmTst, SMax, SMin, UMax, UMin, Mul, SAbd, UAbd, SQAdd, UQAdd, SQSub, UQSub, URHAdd }

    /// <summary>Sign bit of every <paramref name="es"/>-bit lane.</summary>
    private static nint SignLanes(int es) => SimdConst.Dup(es switch
    {
        8 => 0x8080808080808080UL,
        16 => 0x8000800080008000UL,
        32 => 0x8000000080000000UL,
        _ => 0x8000000000000000UL,
    });

    private static ulong LaneMaskDup(int es, ulong lane)
    {
        ulong r = 0;
        for (int i = 0; i < 64; i += es) r |= lane << i;
        return r;
    }

    /// <summary>dst = (dst &gt; src) signed, 64-bit lanes (pcmpgtq, or an SSE4.1 sequence). Clobbers xmm2-xmm5.</summary>
    private static void EmitPcmpgtq(EmitterContext ctx, AssemblerRegisterXMM dst, AssemblerRegisterXMM src)
    {
        var a = ctx.Asm;
        if (HostCpu.Sse42) { a.pcmpgtq(dst, src); return; }
        a.movdqa(xmm2, dst); a.pcmpgtd(xmm2, src);   // high dwords: signed >
        a.movdqa(xmm3, dst); a.pcmpeqd(xmm3, src);   // high dwords: equal
        LoadConst(ctx, xmm5, SignLanes(32));
        a.movdqa(xmm4, dst); a.pxor(xmm4, xmm5);
        a.pxor(xmm5, src);
        a.pcmpgtd(xmm4, xmm5);                        // low dwords: unsigned >
        a.pshufd(xmm4, xmm4, 0xA0);
        a.pand(xmm4, xmm3);
        a.por(xmm4, xmm2);
        a.pshufd(dst, xmm4, 0xF5);
    }

    /// <summary>
    /// dst = dst (op) src on <paramref name="es"/>-bit lanes. Uses xmm2-xmm5 and rax as scratch; dst and
    /// src must be below xmm2. Returns false when SSE has no sequence for that size (caller goes soft).
    /// </summary>
    internal static bool EmitIntOp(EmitterContext ctx, IntOp op, int es, AssemblerRegisterXMM dst, AssemblerRegisterXMM src)
    {
        var a = ctx.Asm;
        switch (op)
        {
            case IntOp.Add:
                if (es == 8) a.paddb(dst, src); else if (es == 16) a.paddw(dst, src); else if (es == 32) a.paddd(dst, src); else a.paddq(dst, src);
                return true;
            case IntOp.Sub:
                if (es == 8) a.psubb(dst, src); else if (es == 16) a.psubw(dst, src); else if (es == 32) a.psubd(dst, src); else a.psubq(dst, src);
                return true;
            case IntOp.CmEq:
                if (es == 8) a.pcmpeqb(dst, src); else if (es == 16) a.pcmpeqw(dst, src); else if (es == 32) a.pcmpeqd(dst, src); else a.pcmpeqq(dst, src);
                return true;
            case IntOp.CmGt:
                if (es == 8) a.pcmpgtb(dst, src); else if (es == 16) a.pcmpgtw(dst, src); else if (es == 32) a.pcmpgtd(dst, src); else EmitPcmpgtq(ctx, dst, src);
                return true;
            case IntOp.CmHi:
                {
                    // flip the sign bits and compare signed; src is copied so it survives
                    var sign = Const(ctx, SignLanes(es));
                    a.pxor(dst, sign);
                    a.movdqa(xmm6, src);
                    a.pxor(xmm6, sign);
                    return EmitIntOp(ctx, IntOp.CmGt, es, dst, xmm6);
                }
            case IntOp.CmGe:
            case IntOp.CmHs:
                if (es == 64)
                {
                    // !(src > dst)
                    a.movdqa(xmm6, src);
                    if (op == IntOp.CmHs)
                    {
                        var sign = Const(ctx, SignLanes(64));
                        a.pxor(xmm6, sign);
                        a.pxor(dst, sign);
                    }
                    EmitPcmpgtq(ctx, xmm6, dst);
                    a.pcmpeqd(dst, dst);
                    a.pxor(dst, xmm6);
                    return true;
                }
                // max(dst, src) == dst
                a.movdqa(xmm2, dst);
                EmitIntOp(ctx, op == IntOp.CmGe ? IntOp.SMax : IntOp.UMax, es, xmm2, src);
                return EmitIntOp(ctx, IntOp.CmEq, es, dst, xmm2);
            case IntOp.CmTst:
                a.pand(dst, src);
                a.pxor(xmm2, xmm2);
                EmitIntOp(ctx, IntOp.CmEq, es, dst, xmm2);
                a.pcmpeqd(xmm2, xmm2);
                a.pxor(dst, xmm2);
                return true;
            case IntOp.SMax:
                if (es == 8) a.pmaxsb(dst, src); else if (es == 16) a.pmaxsw(dst, src); else if (es == 32) a.pmaxsd(dst, src); else return false;
                return true;
            case IntOp.SMin:
                if (es == 8) a.pminsb(dst, src); else if (es == 16) a.pminsw(dst, src); else if (es == 32) a.pminsd(dst, src); else return false;
                return true;
            case IntOp.UMax:
                if (es == 8) a.pmaxub(dst, src); else if (es == 16) a.pmaxuw(dst, src); else if (es == 32) a.pmaxud(dst, src); else return false;
                return true;
            case IntOp.UMin:
                if (es == 8) a.pminub(dst, src); else if (es == 16) a.pminuw(dst, src); else if (es == 32) a.pminud(dst, src); else return false;
                return true;
            case IntOp.Mul:
                if (es == 16) { a.pmullw(dst, src); return true; }
                if (es == 32) { a.pmulld(dst, src); return true; }
                if (es != 8) return false;
                // bytes: even bytes from a 16-bit multiply, odd bytes from the multiply of the high bytes
                a.movdqa(xmm2, dst);
                a.pmullw(xmm2, src);
                a.psrlw(dst, 8);
                a.movdqa(xmm3, src);
                a.psrlw(xmm3, 8);
                a.pmullw(dst, xmm3);
                a.psllw(dst, 8);
                a.pcmpeqw(xmm3, xmm3);
                a.psrlw(xmm3, 8);
                a.pand(xmm2, xmm3);
                a.por(dst, xmm2);
                return true;
            case IntOp.SAbd:
            case IntOp.UAbd:
                if (es == 64) return false;
                a.movdqa(xmm2, dst);
                EmitIntOp(ctx, op == IntOp.SAbd ? IntOp.SMax : IntOp.UMax, es, xmm2, src);
                EmitIntOp(ctx, op == IntOp.SAbd ? IntOp.SMin : IntOp.UMin, es, dst, src);
                EmitIntOp(ctx, IntOp.Sub, es, xmm2, dst);
                a.movdqa(dst, xmm2);
                return true;
            case IntOp.SQAdd:
                if (es == 8) a.paddsb(dst, src); else if (es == 16) a.paddsw(dst, src); else return false;
                return true;
            case IntOp.UQAdd:
                if (es == 8) a.paddusb(dst, src); else if (es == 16) a.paddusw(dst, src); else return false;
                return true;
            case IntOp.SQSub:
                if (es == 8) a.psubsb(dst, src); else if (es == 16) a.psubsw(dst, src); else return false;
                return true;
            case IntOp.UQSub:
                if (es == 8) a.psubusb(dst, src); else if (es == 16) a.psubusw(dst, src); else return false;
                return true;
            case IntOp.URHAdd:
                if (es == 8) a.pavgb(dst, src); else if (es == 16) a.pavgw(dst, src); else return false;
                return true;
        }
        return false;
    }

    /// <summary>Stores xmm0 as the result: vector (Q), or a scalar of <paramref name="es"/> bits.</summary>
    private static void StoreSimdResult(EmitterContext ctx, A64Op op, int d, int es, AssemblerRegisterXMM x)
    {
        if (!op.Scalar || es == 64) { StoreVec(ctx, d, x, op.VectorQ); return; }
        StoreScalarElem(ctx, d, x, es);
    }

    /// <summary>Vd = lane 0 of x (es bits), every other bit zero.</summary>
    internal static void StoreScalarElem(EmitterContext ctx, int d, AssemblerRegisterXMM x, int es)
    {
        var a = ctx.Asm;
        if (es == 64) { a.movq(x, x); ctx.StoreV(d, x); return; }
        a.movd(eax, x);
        if (es == 8) a.movzx(eax, al); else if (es == 16) a.movzx(eax, ax);
        ctx.StoreV64(d, rax);
    }

    // ---- three same ----

    private static readonly IntOp?[] ThreeSameS =
    [
        null, IntOp.SQAdd, null, null, null, IntOp.SQSub, IntOp.CmGt, IntOp.CmGe,
        null, null, null, null, IntOp.SMax, IntOp.SMin, IntOp.SAbd, IntOp.SAbd,
        IntOp.Add, IntOp.CmTst, IntOp.Mul, IntOp.Mul,
    ];

    private static readonly IntOp?[] ThreeSameU =
    [
        null, IntOp.UQAdd, IntOp.URHAdd, null, null, IntOp.UQSub, IntOp.CmHi, IntOp.CmHs,
        null, null, null, null, IntOp.UMax, IntOp.UMin, IntOp.UAbd, IntOp.UAbd,
        IntOp.Sub, IntOp.CmEq, IntOp.Mul, null,
    ];

    /// <summary>Advanced SIMD three-same (integer part), vector and scalar.</summary>
    public static void SimdThreeSame(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int opcode = op.ThreeSameOpcode;
        bool u = op.U, q = op.VectorQ;
        int es = 8 << op.Size;
        int d = op.Rd, n = op.Rn, m = op.Rm;
        if (opcode == 3) { SimdLogic3(ctx, op); return; }
        if (opcode is 20 or 21 or 23)
        {
            IntOp pop = opcode == 23 ? IntOp.Add : opcode == 20 ? (u ? IntOp.UMax : IntOp.SMax) : (u ? IntOp.UMin : IntOp.SMin);
            if (n == m && q && CanIntOp(pop, es))
            {
                // the strlen/memchr idiom "umaxp v0.16b, v0.16b, v0.16b": both halves of the result are equal
                // and the operations are commutative, so pair up [evens|odds] with [odds|evens]
                ctx.LoadV(xmm0, n);
                if (es == 32) a.pshufd(xmm0, xmm0, 0xD8);
                else if (es < 32)
                    a.pshufb(xmm0, Const(ctx, es == 8
                        ? SimdConst.Bytes([0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15])
                        : SimdConst.Bytes([0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15])));
                a.pshufd(xmm1, xmm0, 0x4E);
                EmitIntOp(ctx, pop, es, xmm0, xmm1);
                ctx.StoreV(d, xmm0);
                return;
            }
            LoadVec(ctx, xmm0, n, q);
            LoadVec(ctx, xmm1, m, q);
            EmitDeinterleave(ctx, es, q);
            if (!EmitIntOp(ctx, pop, es, xmm0, xmm1)) { EmitSoft(ctx, op, SimdSoft.ThreeSame); return; }
            StoreVec(ctx, d, xmm0, q);
            return;
        }
        if (opcode == 8 && es >= 16) { EmitShiftByRegister(ctx, op, u, es, q); return; }
        IntOp? kind = opcode < 20 ? (u ? ThreeSameU[opcode] : ThreeSameS[opcode]) : null;
        if (kind == null || (kind == IntOp.Mul && u) || !CanIntOp(kind.Value, es))
        {
            EmitSoft(ctx, op, SimdSoft.ThreeSame);
            return;
        }
        LoadVec(ctx, xmm0, n, q);
        LoadVec(ctx, xmm1, m, q);
        bool saturating = kind is IntOp.SQAdd or IntOp.UQAdd or IntOp.SQSub or IntOp.UQSub;
        if (saturating)
        {
            // the wrapped result differs from the saturated one exactly in the lanes that saturated
            a.movdqa(xmm6, xmm0);
            EmitIntOp(ctx, kind is IntOp.SQAdd or IntOp.UQAdd ? IntOp.Add : IntOp.Sub, es, xmm6, xmm1);
        }
        EmitIntOp(ctx, kind.Value, es, xmm0, xmm1);
        if (saturating) EmitQcIfDiffer(ctx, xmm0, xmm6, op.Scalar ? es / 8 : 16);
        if (opcode == 15)
        {
            // SABA/UABA accumulate
            LoadVec(ctx, xmm1, d, q);
            EmitIntOp(ctx, IntOp.Add, es, xmm0, xmm1);
        }
        else if (opcode == 18)
        {
            // MLA/MLS
            LoadVec(ctx, xmm1, d, q);
            if (u) { EmitIntOp(ctx, IntOp.Sub, es, xmm1, xmm0); a.movdqa(xmm0, xmm1); }
            else EmitIntOp(ctx, IntOp.Add, es, xmm0, xmm1);
        }
        StoreSimdResult(ctx, op, d, es, xmm0);
    }

    /// <summary>
    /// SSHL/USHL. Compilers shift a whole vector by one variable amount as dup + (neg +) [su]shl, so when
    /// every count element equals the first one the shift is one SSE shift by an xmm count (SSE gives 0, or
    /// the sign for arithmetic shifts, for counts past the width, as A64 does); per-lane counts go to C#.
    /// </summary>
    private static void EmitShiftByRegister(EmitterContext ctx, A64Op op, bool u, int es, bool q)
    {
        var a = ctx.Asm;
        int d = op.Rd, n = op.Rn, m = op.Rm;
        var slow = a.CreateLabel();
        var right = a.CreateLabel();
        var store = a.CreateLabel();
        var done = a.CreateLabel();
        bool single = op.Scalar || (es == 64 && !q);
        if (!single)
        {
            LoadVec(ctx, xmm1, m, q);
            if (es == 16) { a.pshuflw(xmm2, xmm1, 0); a.punpcklqdq(xmm2, xmm2); a.pcmpeqw(xmm2, xmm1); }
            else if (es == 32) { a.pshufd(xmm2, xmm1, 0); a.pcmpeqd(xmm2, xmm1); }
            else { a.pshufd(xmm2, xmm1, 0x44); a.pcmpeqd(xmm2, xmm1); }
            a.pmovmskb(eax, xmm2);
            if (!q) a.and(eax, 0xFF);
            a.cmp(eax, q ? 0xFFFF : 0xFF);
            a.jne(slow);
        }
        a.movsx(ecx, EmitterContext.VB(m));
        LoadVec(ctx, xmm0, n, q);
        a.test(ecx, ecx);
        a.js(right);
        a.movd(xmm3, ecx);
        if (es == 16) a.psllw(xmm0, xmm3); else if (es == 32) a.pslld(xmm0, xmm3); else a.psllq(xmm0, xmm3);
        a.jmp(store);
        a.Label(ref right);
        a.neg(ecx);
        if (u)
        {
            a.movd(xmm3, ecx);
            if (es == 16) a.psrlw(xmm0, xmm3); else if (es == 32) a.psrld(xmm0, xmm3); else a.psrlq(xmm0, xmm3);
        }
        else
        {
            a.mov(edx, es - 1);
            a.cmp(ecx, edx);
            a.cmova(ecx, edx); // past the width: all sign bits
            a.movd(xmm3, ecx);
            if (es == 16) a.psraw(xmm0, xmm3);
            else if (es == 32) a.psrad(xmm0, xmm3);
            else
            {
                // ((x ^ s) >>> c) - (s >>> c), s = the sign bit
                LoadConst(ctx, xmm4, SignLanes(64));
                a.pxor(xmm0, xmm4);
                a.psrlq(xmm0, xmm3);
                a.psrlq(xmm4, xmm3);
                a.psubq(xmm0, xmm4);
            }
        }
        a.Label(ref store);
        StoreVec(ctx, d, xmm0, q);
        if (!single)
        {
            a.jmp(done);
            a.Label(ref slow);
            EmitSoft(ctx, op, SimdSoft.ThreeSame);
            a.Label(ref done);
        }
    }

    private static bool CanIntOp(IntOp op, int es) => op switch
    {
        IntOp.SMax or IntOp.SMin or IntOp.UMax or IntOp.UMin or IntOp.SAbd or IntOp.UAbd => es < 64,
        IntOp.Mul => es < 64,
        IntOp.SQAdd or IntOp.UQAdd or IntOp.SQSub or IntOp.UQSub or IntOp.URHAdd => es <= 16,
        _ => true,
    };

    /// <summary>AND, BIC, ORR, ORN, EOR, BSL, BIT, BIF (size selects the operation).</summary>
    private static void SimdLogic3(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool u = op.U, q = op.VectorQ;
        int sel = op.Size;
        int d = op.Rd, n = op.Rn, m = op.Rm;
        if (!u && sel == 2 && n == m)
        {
            // MOV (vector)
            LoadVec(ctx, xmm0, n, q);
            StoreVec(ctx, d, xmm0, q);
            return;
        }
        LoadVec(ctx, xmm0, n, q);
        LoadVec(ctx, xmm1, m, q);
        switch ((u, sel))
        {
            case (false, 0): a.pand(xmm0, xmm1); break;
            case (false, 1): a.pandn(xmm1, xmm0); a.movdqa(xmm0, xmm1); break;
            case (false, 2): a.por(xmm0, xmm1); break;
            case (false, 3): a.pcmpeqd(xmm2, xmm2); a.pxor(xmm1, xmm2); a.por(xmm0, xmm1); break;
            case (true, 0): a.pxor(xmm0, xmm1); break;
            case (true, 1): // BSL: ((n ^ m) & d) ^ m
                LoadVec(ctx, xmm2, d, q);
                a.pxor(xmm0, xmm1); a.pand(xmm0, xmm2); a.pxor(xmm0, xmm1);
                break;
            case (true, 2): // BIT: ((n ^ d) & m) ^ d
                LoadVec(ctx, xmm2, d, q);
                a.pxor(xmm0, xmm2); a.pand(xmm0, xmm1); a.pxor(xmm0, xmm2);
                break;
            default: // BIF: ((n ^ d) & ~m) ^ d
                LoadVec(ctx, xmm2, d, q);
                a.pxor(xmm0, xmm2); a.pandn(xmm1, xmm0); a.pxor(xmm1, xmm2); a.movdqa(xmm0, xmm1);
                break;
        }
        StoreVec(ctx, d, xmm0, q);
    }

    /// <summary>
    /// Splits the concatenation n:m (xmm0:xmm1, each 64 or 128 bits) into xmm0 = even-numbered elements
    /// and xmm1 = odd-numbered ones, as pairwise operations and UZP1/UZP2 need.
    /// </summary>
    internal static void EmitDeinterleave(EmitterContext ctx, int es, bool q)
    {
        var a = ctx.Asm;
        if (es == 64)
        {
            a.movdqa(xmm2, xmm0);
            a.punpcklqdq(xmm0, xmm1);
            a.punpckhqdq(xmm2, xmm1);
            a.movdqa(xmm1, xmm2);
            return;
        }
        if (!q) a.punpcklqdq(xmm0, xmm1); // [n.lo, m.lo]
        if (es == 32)
        {
            a.pshufd(xmm0, xmm0, 0xD8);
            if (q) a.pshufd(xmm1, xmm1, 0xD8);
        }
        else
        {
            nint mask = es == 8
                ? SimdConst.Bytes([0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15])
                : SimdConst.Bytes([0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15]);
            LoadConst(ctx, xmm3, mask);
            a.pshufb(xmm0, xmm3);
            if (q) a.pshufb(xmm1, xmm3);
        }
        if (q)
        {
            a.movdqa(xmm2, xmm0);
            a.punpcklqdq(xmm0, xmm1);
            a.punpckhqdq(xmm2, xmm1);
            a.movdqa(xmm1, xmm2);
        }
        else a.pshufd(xmm1, xmm0, 0xEE);
    }

    /// <summary>ADDP (scalar): Dd = Vn.D[0] + Vn.D[1].</summary>
    public static void SimdAddpScalar(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        a.mov(rcx, EmitterContext.VD(op.Rn));
        a.add(rcx, EmitterContext.VHigh(op.Rn));
        ctx.StoreV64(op.Rd, rcx);
    }

    // ---- two-register miscellaneous (integer) ----

    public static void SimdTwoMisc(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int opcode = op.MiscOpcode;
        bool u = op.U, q = op.VectorQ;
        int size = op.Size, es = 8 << size;
        int d = op.Rd, n = op.Rn;
        switch (opcode)
        {
            case 0:
            case 1: // REV64, REV32, REV16
                {
                    int container = opcode == 1 ? 2 : u ? 4 : 8; // bytes
                    int eb = es / 8;
                    Span<byte> mask = stackalloc byte[16];
                    for (int i = 0; i < 16; i++)
                    {
                        int c0 = i / container * container, within = i - c0;
                        int elem = within / eb, b = within % eb;
                        int src = c0 + (container / eb - 1 - elem) * eb + b;
                        mask[i] = (byte)src;
                    }
                    LoadVec(ctx, xmm0, n, q);
                    a.pshufb(xmm0, Const(ctx, SimdConst.Bytes(mask)));
                    StoreVec(ctx, d, xmm0, q);
                    return;
                }
            case 2:
                if (es <= 16) { EmitAddLongPairwise(ctx, op, u, es, q, accumulate: false); return; }
                break;
            case 6:
                if (es <= 16) { EmitAddLongPairwise(ctx, op, u, es, q, accumulate: true); return; }
                break;
            case 5:
                if (!u) // CNT
                {
                    LoadVec(ctx, xmm0, n, q);
                    EmitPopcntBytes(ctx);
                    StoreVec(ctx, d, xmm0, q);
                    return;
                }
                if (size == 0) // NOT
                {
                    LoadVec(ctx, xmm0, n, q);
                    a.pcmpeqd(xmm1, xmm1);
                    a.pxor(xmm0, xmm1);
                    StoreVec(ctx, d, xmm0, q);
                    return;
                }
                break; // RBIT
            case 8: case 9: case 10: // CMGT/CMGE, CMEQ/CMLE, CMLT against zero
                {
                    LoadVec(ctx, xmm0, n, q);
                    a.pxor(xmm1, xmm1);
                    switch ((opcode, u))
                    {
                        case (8, false): EmitIntOp(ctx, IntOp.CmGt, es, xmm0, xmm1); break;   // x > 0
                        case (8, true): EmitIntOp(ctx, IntOp.CmGe, es, xmm0, xmm1); break;    // x >= 0
                        case (9, false): EmitIntOp(ctx, IntOp.CmEq, es, xmm0, xmm1); break;   // x == 0
                        case (9, true): // x <= 0  ==  !(x > 0)
                            EmitIntOp(ctx, IntOp.CmGt, es, xmm0, xmm1);
                            a.pcmpeqd(xmm1, xmm1);
                            a.pxor(xmm0, xmm1);
                            break;
                        default: // x < 0  ==  0 > x
                            EmitIntOp(ctx, IntOp.CmGt, es, xmm1, xmm0);
                            a.movdqa(xmm0, xmm1);
                            break;
                    }
                    StoreSimdResult(ctx, op, d, es, xmm0);
                    return;
                }
            case 11: // ABS, NEG
                LoadVec(ctx, xmm0, n, q);
                if (u)
                {
                    a.pxor(xmm1, xmm1);
                    EmitIntOp(ctx, IntOp.Sub, es, xmm1, xmm0);
                    a.movdqa(xmm0, xmm1);
                }
                else if (es == 8) a.pabsb(xmm0, xmm0);
                else if (es == 16) a.pabsw(xmm0, xmm0);
                else if (es == 32) a.pabsd(xmm0, xmm0);
                else
                {
                    // 64-bit: (x ^ s) - s with s = x >> 63 (arithmetic), built from the high dwords
                    a.pshufd(xmm1, xmm0, 0xF5);
                    a.psrad(xmm1, 31);
                    a.pxor(xmm0, xmm1);
                    a.psubq(xmm0, xmm1);
                }
                StoreSimdResult(ctx, op, d, es, xmm0);
                return;
            case 18: // XTN (U=0), SQXTUN (U=1)
            case 20: // SQXTN (U=0), UQXTN (U=1)
                if (op.Scalar) break;
                if (opcode == 18 && !u)
                {
                    ctx.LoadV(xmm0, n);
                    EmitNarrow(ctx, es * 2);
                    StoreNarrowResult(ctx, op, d);
                    return;
                }
                if (es == 32) break; // from 64-bit lanes: no SSE pack
                ctx.LoadV(xmm0, n);
                a.movdqa(xmm6, xmm0);
                if (opcode == 20 && u)
                {
                    // unsigned saturation of unsigned lanes: clamp, then the (signed-input) unsigned pack is exact
                    a.movdqa(xmm1, Const(ctx, SimdConst.Dup(es == 8 ? 0x00FF00FF00FF00FFUL : 0x0000FFFF0000FFFFUL)));
                    if (es == 8) a.pminuw(xmm0, xmm1); else a.pminud(xmm0, xmm1);
                }
                if (opcode == 20 && !u) { if (es == 8) a.packsswb(xmm0, xmm0); else a.packssdw(xmm0, xmm0); }
                else { if (es == 8) a.packuswb(xmm0, xmm0); else a.packusdw(xmm0, xmm0); }
                // a lane saturated exactly when its narrowed value, widened back, is not the source lane
                a.movdqa(xmm1, xmm0);
                EmitWiden(ctx, xmm1, es, signed: opcode == 20 && !u);
                EmitQcIfDiffer(ctx, xmm1, xmm6, 16);
                StoreNarrowResult(ctx, op, d);
                return;
            case 19: // SHLL: widen then shift by the element size
                {
                    if (q) a.movq(xmm0, EmitterContext.VHigh(n)); else ctx.LoadV64(xmm0, n);
                    EmitWiden(ctx, xmm0, es, signed: false);
                    EmitShiftLeftImm(ctx, xmm0, es * 2, es);
                    ctx.StoreV(d, xmm0);
                    return;
                }
        }
        EmitSoft(ctx, op, SimdSoft.TwoMisc);
    }

    /// <summary>
    /// FPSR.QC for a saturating result computed with SSE: <paramref name="sat"/> holds the result and
    /// <paramref name="exact"/> what its lanes would be had none saturated (the wrapped sum, or the source lanes);
    /// when any of their low <paramref name="bytes"/> bytes differ, an out-of-line path sets QC. Not saturating
    /// costs a pcmpeqb, a pmovmskb, a not, a test and a branch not taken. Clobbers <paramref name="exact"/> and eax.
    /// </summary>
    private static void EmitQcIfDiffer(EmitterContext ctx, AssemblerRegisterXMM sat, AssemblerRegisterXMM exact, int bytes)
    {
        var a = ctx.Asm;
        var back = a.CreateLabel();
        a.pcmpeqb(exact, sat);
        a.pmovmskb(eax, exact);
        a.not(eax);
        a.test(eax, (1 << bytes) - 1);
        a.jne(ctx.Cold(back, () => ctx.SetFpsrBits(State.FpsrBits.QC)));
        a.Label(ref back);
    }

    /// <summary>xmm0 = popcount of each byte of xmm0 (nibble table through pshufb). Clobbers xmm1-xmm3.</summary>
    private static void EmitPopcntBytes(EmitterContext ctx)
    {
        var a = ctx.Asm;
        LoadConst(ctx, xmm3, SimdConst.Bytes([0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4]));
        LoadConst(ctx, xmm2, SimdConst.Dup(0x0F0F0F0F0F0F0F0FUL));
        a.movdqa(xmm1, xmm0);
        a.psrlw(xmm1, 4);
        a.pand(xmm1, xmm2);
        a.pand(xmm0, xmm2);
        a.movdqa(xmm2, xmm3);
        a.pshufb(xmm2, xmm0);
        a.pshufb(xmm3, xmm1);
        a.paddb(xmm2, xmm3);
        a.movdqa(xmm0, xmm2);
    }

    /// <summary>SADDLP/UADDLP/SADALP/UADALP for byte and halfword sources.</summary>
    private static void EmitAddLongPairwise(EmitterContext ctx, A64Op op, bool u, int es, bool q, bool accumulate)
    {
        var a = ctx.Asm;
        int d = op.Rd;
        LoadVec(ctx, xmm0, op.Rn, q);
        if (es == 8)
        {
            LoadConst(ctx, xmm1, SimdConst.Dup(0x0101010101010101UL));
            if (u) a.pmaddubsw(xmm0, xmm1);           // unsigned bytes * 1, summed in pairs
            else { a.pmaddubsw(xmm1, xmm0); a.movdqa(xmm0, xmm1); } // 1 * signed bytes
        }
        else
        {
            if (u)
            {
                // bias to signed, pmaddwd, remove the bias (2 * 0x8000)
                LoadConst(ctx, xmm1, SignLanes(16));
                a.pxor(xmm0, xmm1);
                LoadConst(ctx, xmm1, SimdConst.Dup(0x0001000100010001UL));
                a.pmaddwd(xmm0, xmm1);
                LoadConst(ctx, xmm1, SimdConst.Dup(0x0001000000010000UL));
                a.paddd(xmm0, xmm1);
            }
            else
            {
                LoadConst(ctx, xmm1, SimdConst.Dup(0x0001000100010001UL));
                a.pmaddwd(xmm0, xmm1);
            }
        }
        if (accumulate)
        {
            LoadVec(ctx, xmm1, d, q);
            EmitIntOp(ctx, IntOp.Add, es * 2, xmm0, xmm1);
        }
        StoreVec(ctx, d, xmm0, q);
    }

    /// <summary>Narrows xmm0's <paramref name="wes"/>-bit lanes to their low halves, packed into the low 64 bits.</summary>
    private static void EmitNarrow(EmitterContext ctx, int wes)
    {
        var a = ctx.Asm;
        if (wes == 64) { a.pshufd(xmm0, xmm0, 0x08); return; }
        nint mask = wes == 16
            ? SimdConst.Bytes([0, 2, 4, 6, 8, 10, 12, 14, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80])
            : SimdConst.Bytes([0, 1, 4, 5, 8, 9, 12, 13, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]);
        a.pshufb(xmm0, Const(ctx, mask));
    }

    /// <summary>Writes a narrowed result (low 64 bits of xmm0): XTN-style to the low half with the upper zeroed, "2" forms to the upper half.</summary>
    private static void StoreNarrowResult(EmitterContext ctx, A64Op op, int d)
    {
        if (op.Q) ctx.StoreVHigh(d, xmm0);
        else StoreVec64(ctx, d, xmm0);
    }

    /// <summary>Sign- or zero-extends the low 64 bits of x from <paramref name="es"/>-bit lanes to twice that.</summary>
    internal static void EmitWiden(EmitterContext ctx, AssemblerRegisterXMM x, int es, bool signed)
    {
        var a = ctx.Asm;
        switch (es)
        {
            case 8: if (signed) a.pmovsxbw(x, x); else a.pmovzxbw(x, x); break;
            case 16: if (signed) a.pmovsxwd(x, x); else a.pmovzxwd(x, x); break;
            default: if (signed) a.pmovsxdq(x, x); else a.pmovzxdq(x, x); break;
        }
    }

    // ---- across lanes ----

    public static void SimdAcross(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int opcode = op.MiscOpcode;
        bool u = op.U, q = op.VectorQ;
        int es = 8 << op.Size;
        int d = op.Rd, n = op.Rn;
        int bytes = q ? 16 : 8;
        if (opcode == 3)
        {
            // SADDLV/UADDLV
            LoadVec(ctx, xmm0, n, q);
            if (es == 8 && u)
            {
                a.pxor(xmm1, xmm1);
                a.psadbw(xmm0, xmm1);
                if (q) { a.pshufd(xmm1, xmm0, 0xEE); a.paddq(xmm0, xmm1); }
                StoreScalarElem(ctx, d, xmm0, 16);
                return;
            }
            // widen (both halves when Q) and add-reduce at twice the width
            if (q)
            {
                a.pshufd(xmm1, xmm0, 0xEE);
                EmitWiden(ctx, xmm1, es, !u);
            }
            EmitWiden(ctx, xmm0, es, !u);
            if (q) EmitIntOp(ctx, IntOp.Add, es * 2, xmm0, xmm1);
            EmitReduce(ctx, IntOp.Add, es * 2, 16);
            StoreScalarElem(ctx, d, xmm0, es * 2);
            return;
        }
        IntOp kind = opcode switch
        {
            27 => IntOp.Add,
            10 => u ? IntOp.UMax : IntOp.SMax,
            26 => u ? IntOp.UMin : IntOp.SMin,
            _ => IntOp.Add,
        };
        if (opcode is not (27 or 10 or 26)) { EmitSoft(ctx, op, SimdSoft.Across); return; }
        LoadVec(ctx, xmm0, n, q);
        if (opcode == 27 && es == 8)
        {
            a.pxor(xmm1, xmm1);
            a.psadbw(xmm0, xmm1);
            if (q) { a.pshufd(xmm1, xmm0, 0xEE); a.paddq(xmm0, xmm1); }
            StoreScalarElem(ctx, d, xmm0, 8);
            return;
        }
        EmitReduce(ctx, kind, es, bytes);
        StoreScalarElem(ctx, d, xmm0, es);
    }

    /// <summary>Folds the low <paramref name="bytes"/> bytes of xmm0 into lane 0 with <paramref name="kind"/>.</summary>
    private static void EmitReduce(EmitterContext ctx, IntOp kind, int es, int bytes)
    {
        var a = ctx.Asm;
        for (int k = bytes / 2; k >= es / 8; k /= 2)
        {
            a.movdqa(xmm1, xmm0);
            a.psrldq(xmm1, (sbyte)k);
            EmitIntOp(ctx, kind, es, xmm0, xmm1);
        }
    }

    // ---- three different ----

    public static void SimdThreeDiff(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int opcode = op.Opcode4;
        bool u = op.U, part2 = op.Q;
        int es = 8 << op.Size, wes = es * 2;
        int d = op.Rd, n = op.Rn, m = op.Rm;
        switch (opcode)
        {
            case 0: case 1: case 2: case 3: // [SU]ADDL, [SU]ADDW, [SU]SUBL, [SU]SUBW
                {
                    bool wide = (opcode & 1) != 0;
                    if (wide) ctx.LoadV(xmm0, n);
                    else { LoadHalf(ctx, xmm0, n, part2); EmitWiden(ctx, xmm0, es, !u); }
                    LoadHalf(ctx, xmm1, m, part2);
                    EmitWiden(ctx, xmm1, es, !u);
                    EmitIntOp(ctx, opcode >= 2 ? IntOp.Sub : IntOp.Add, wes, xmm0, xmm1);
                    ctx.StoreV(d, xmm0);
                    return;
                }
            case 4: case 6: // ADDHN, SUBHN (the rounding forms go soft)
                if (u) break;
                {
                    ctx.LoadV(xmm0, n);
                    ctx.LoadV(xmm1, m);
                    EmitIntOp(ctx, opcode == 4 ? IntOp.Add : IntOp.Sub, wes, xmm0, xmm1);
                    if (wes == 16) a.psrlw(xmm0, 8); else if (wes == 32) a.psrld(xmm0, 16); else a.psrlq(xmm0, 32);
                    EmitNarrow(ctx, wes);
                    StoreNarrowResult(ctx, op, d);
                    return;
                }
            case 5: case 7: // [SU]ABAL, [SU]ABDL: widen, subtract, absolute value
                {
                    LoadHalf(ctx, xmm0, n, part2);
                    LoadHalf(ctx, xmm1, m, part2);
                    EmitWiden(ctx, xmm0, es, !u);
                    EmitWiden(ctx, xmm1, es, !u);
                    EmitIntOp(ctx, IntOp.Sub, wes, xmm0, xmm1);
                    if (wes == 16) a.pabsw(xmm0, xmm0);
                    else if (wes == 32) a.pabsd(xmm0, xmm0);
                    else { a.pshufd(xmm1, xmm0, 0xF5); a.psrad(xmm1, 31); a.pxor(xmm0, xmm1); a.psubq(xmm0, xmm1); }
                    if (opcode == 5)
                    {
                        ctx.LoadV(xmm1, d);
                        EmitIntOp(ctx, IntOp.Add, wes, xmm0, xmm1);
                    }
                    ctx.StoreV(d, xmm0);
                    return;
                }
            case 8: case 10: case 12: // [SU]MLAL, [SU]MLSL, [SU]MULL
                {
                    LoadHalf(ctx, xmm0, n, part2);
                    LoadHalf(ctx, xmm1, m, part2);
                    EmitMulLong(ctx, es, !u);
                    if (opcode != 12)
                    {
                        ctx.LoadV(xmm1, d);
                        if (opcode == 8) EmitIntOp(ctx, IntOp.Add, wes, xmm0, xmm1);
                        else { EmitIntOp(ctx, IntOp.Sub, wes, xmm1, xmm0); a.movdqa(xmm0, xmm1); }
                    }
                    ctx.StoreV(d, xmm0);
                    return;
                }
        }
        EmitSoft(ctx, op, SimdSoft.ThreeDiff);
    }

    /// <summary>x = the low (or, for "2" forms, the high) 64 bits of Vn.</summary>
    private static void LoadHalf(EmitterContext ctx, AssemblerRegisterXMM x, int n, bool high)
        => ctx.Asm.movq(x, high ? EmitterContext.VHigh(n) : EmitterContext.VD(n));

    /// <summary>xmm0 = widening multiply of the low 64 bits of xmm0 and xmm1 (es-bit lanes to 2*es).</summary>
    private static void EmitMulLong(EmitterContext ctx, int es, bool signed)
    {
        var a = ctx.Asm;
        EmitWiden(ctx, xmm0, es, signed);
        EmitWiden(ctx, xmm1, es, signed);
        if (es == 8) a.pmullw(xmm0, xmm1);
        else if (es == 16) a.pmulld(xmm0, xmm1);
        else if (signed) a.pmuldq(xmm0, xmm1);
        else a.pmuludq(xmm0, xmm1);
    }

    // ---- by element (integer) ----

    /// <summary>MUL, MLA, MLS by element (H and S); the long and saturating forms go soft.</summary>
    public static void SimdIndexedInt(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int opcode = op.Opcode4;
        bool u = op.U, q = op.VectorQ;
        int size = op.Size, es = 8 << size;
        int d = op.Rd, n = op.Rn;
        bool isMul = opcode == 8 && !u, isMla = opcode == 0 && u, isMls = opcode == 4 && u;
        bool isMull = opcode is 2 or 6 or 10;
        if (!(isMul || isMla || isMls || isMull) || op.Scalar) { EmitSoft(ctx, op, SimdSoft.Indexed); return; }
        int h = op.IndexH ? 1 : 0, l = op.IndexL ? 1 : 0, mb = op.IndexM ? 1 : 0;
        int index, mreg;
        if (size == 1) { index = h << 2 | l << 1 | mb; mreg = op.Rm4; }
        else { index = h << 1 | l; mreg = op.Rm; }
        if (isMull)
        {
            bool part2 = op.Q;
            LoadHalf(ctx, xmm0, n, part2);
            EmitBroadcastElement(ctx, xmm1, mreg, index, es);
            EmitMulLong(ctx, es, !u);
            if (opcode != 10)
            {
                ctx.LoadV(xmm1, d);
                if (opcode == 2) EmitIntOp(ctx, IntOp.Add, es * 2, xmm0, xmm1);
                else { EmitIntOp(ctx, IntOp.Sub, es * 2, xmm1, xmm0); a.movdqa(xmm0, xmm1); }
            }
            ctx.StoreV(d, xmm0);
            return;
        }
        LoadVec(ctx, xmm0, n, q);
        EmitBroadcastElement(ctx, xmm1, mreg, index, es);
        EmitIntOp(ctx, IntOp.Mul, es, xmm0, xmm1);
        if (!isMul)
        {
            LoadVec(ctx, xmm1, d, q);
            if (isMla) EmitIntOp(ctx, IntOp.Add, es, xmm0, xmm1);
            else { EmitIntOp(ctx, IntOp.Sub, es, xmm1, xmm0); a.movdqa(xmm0, xmm1); }
        }
        StoreVec(ctx, d, xmm0, q);
    }

    /// <summary>x = element <paramref name="index"/> of Vm in every lane.</summary>
    internal static void EmitBroadcastElement(EmitterContext ctx, AssemblerRegisterXMM x, int m, int index, int es)
    {
        var a = ctx.Asm;
        int off = index * es / 8;
        switch (es)
        {
            case 8:
                a.movzx(eax, EmitterContext.VPart(m, 1, off));
                a.movd(x, eax);
                a.pxor(xmm7, xmm7);
                a.pshufb(x, xmm7);
                break;
            case 16:
                a.movzx(eax, EmitterContext.VPart(m, 2, off));
                a.movd(x, eax);
                a.pshuflw(x, x, 0);
                a.punpcklqdq(x, x);
                break;
            case 32:
                a.movd(x, EmitterContext.VPart(m, 4, off));
                a.pshufd(x, x, 0);
                break;
            default:
                a.movq(x, EmitterContext.VPart(m, 8, off));
                a.punpcklqdq(x, x);
                break;
        }
    }
}
