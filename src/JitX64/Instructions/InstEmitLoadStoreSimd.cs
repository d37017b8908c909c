using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>Advanced SIMD load/store multiple and single structures (LD1-LD4, ST1-ST4, LD1R-LD4R).</summary>
public static partial class InstEmit
{
    /// <summary>
    /// LD1-4/ST1-4 (multiple structures), with no offset, post-index by the transfer size (Rm = 31) or by Xm.
    /// Q = bit 30, L = bit 22, post = bit 23, opcode = bits 15..12, size = bits 11..10. Registers wrap mod 32.
    /// </summary>
    public static void SimdLdStMulti(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool q = op.Q, load = op.L, post = op.PostIndex;
        int rt = op.Rt, rn = op.Rn, rm = op.Rm;
        int size = op.StructSize;
        (int rpt, int selem) = op.StructOpcode switch
        {
            0 => (1, 4), 2 => (4, 1), 4 => (1, 3), 6 => (3, 1), 7 => (1, 1), 8 => (1, 2), 10 => (2, 1), _ => (0, 0),
        };
        if (rpt == 0 || (size == 3 && !q && selem > 1)) { Undefined(ctx, op); return; }
        int regBytes = q ? 16 : 8;
        var mode = post ? LdSt.Index.Post : LdSt.Index.Offset;
        LdSt.Address(ctx, rn, post ? regBytes * rpt * selem : 0, mode, span: regBytes * rpt * selem, postRm: post && rm != 31 ? rm : -1);

        if (selem == 1)
        {
            // LD1/ST1 of 1-4 registers: each register is one contiguous 8- or 16-byte block
            for (int r = 0; r < rpt; r++)
            {
                int reg = (rt + r) & 31;
                if (load)
                {
                    LdSt.LoadVecTo(ctx, xmm0, q ? 4 : 3, r * regBytes);
                    LdSt.WriteV(ctx, reg, xmm0);
                }
                else LdSt.StoreVec(ctx, reg, q ? 4 : 3, r * regBytes);
            }
        }
        else if (q && LdSt.TryEmitInterleaveShuffle(ctx, rt, selem, size, load))
        {
            // done with PSHUFB
        }
        else
        {
            // interleaved structures: element e of register t+s sits at memory (e*selem + s)*esize
            int eb = 1 << size;
            int elems = regBytes / eb;
            for (int e = 0; e < elems; e++)
                for (int s = 0; s < selem; s++)
                {
                    int reg = (rt + s) & 31;
                    var mem = LdSt.Mem(eb, (e * selem + s) * eb);
                    var vec = EmitterContext.VPart(reg, eb, e * eb);
                    if (load)
                    {
                        LdSt.MovRegFromMem(a, rcx, eb, mem);
                        ctx.StoreVPart(reg, eb, e * eb, rcx);
                    }
                    else
                    {
                        LdSt.MovRegFromMem(a, rcx, eb, vec);
                        EmitterContext.StoreSized(a, mem, eb, rcx);
                    }
                }
            if (load && !q)
                for (int s = 0; s < selem; s++) ctx.ClearVHigh((rt + s) & 31);
        }
        LdSt.Writeback(ctx, rn, mode);
    }

    /// <summary>
    /// LD1-4/ST1-4 (single structure, one lane) and LD1R-LD4R, with the same offset forms. opcode = bits 15..13,
    /// S = bit 12, R = bit 21; selem = opcode&lt;0&gt;:R + 1. Other lanes and the rest of the register are kept.
    /// </summary>
    public static void SimdLdStSingle(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int q = op.Q ? 1 : 0;
        bool load = op.L, post = op.PostIndex;
        int rt = op.Rt, rn = op.Rn, rm = op.Rm;
        int opcode = op.SingleOpcode;
        int s12 = op.StructS ? 1 : 0;
        int size = op.StructSize;
        int selem = (((opcode & 1) << 1) | (op.StructR ? 1 : 0)) + 1;
        int scale = opcode >> 1;
        var mode = post ? LdSt.Index.Post : LdSt.Index.Offset;

        if (scale == 3)
        {
            // LDnR: load one structure and replicate each element across its register
            if (!load || s12 != 0) { Undefined(ctx, op); return; }
            int eb = 1 << size;
            LdSt.Address(ctx, rn, post ? eb * selem : 0, mode, span: eb * selem, postRm: post && rm != 31 ? rm : -1);
            if (size < 3) a.mov(rax, size switch { 0 => 0x0101010101010101UL, 1 => 0x0001000100010001UL, _ => 0x0000000100000001UL });
            for (int s = 0; s < selem; s++)
            {
                LdSt.MovRegFromMem(a, rcx, eb, LdSt.Mem(eb, s * eb));
                if (size < 3) a.imul(rcx, rax);
                a.movq(xmm0, rcx);
                if (q != 0) a.punpcklqdq(xmm0, xmm0);
                LdSt.WriteV(ctx, (rt + s) & 31, xmm0);
            }
            LdSt.Writeback(ctx, rn, mode);
            return;
        }

        int index;
        switch (scale)
        {
            case 0: index = (q << 3) | (s12 << 2) | size; break;
            case 1:
                if ((size & 1) != 0) { Undefined(ctx, op); return; }
                index = (q << 2) | (s12 << 1) | (size >> 1);
                break;
            default:
                if (size == 0) index = (q << 1) | s12;
                else if (size == 1 && s12 == 0) { scale = 3; index = q; }
                else { Undefined(ctx, op); return; }
                break;
        }
        int bytes = 1 << scale;
        LdSt.Address(ctx, rn, post ? bytes * selem : 0, mode, span: bytes * selem, postRm: post && rm != 31 ? rm : -1);
        for (int s = 0; s < selem; s++)
        {
            var mem = LdSt.Mem(bytes, s * bytes);
            var vec = EmitterContext.VPart((rt + s) & 31, bytes, index * bytes);
            if (load)
            {
                LdSt.MovRegFromMem(a, rcx, bytes, mem);
                ctx.StoreVPart((rt + s) & 31, bytes, index * bytes, rcx);
            }
            else
            {
                LdSt.MovRegFromMem(a, rcx, bytes, vec);
                EmitterContext.StoreSized(a, mem, bytes, rcx);
            }
        }
        LdSt.Writeback(ctx, rn, mode);
    }
}

internal static partial class LdSt
{
    private static readonly Dictionary<(bool, int, int), (nint Base, ulong Used)> ShuffleMasks = new();
    private static readonly bool HostSsse3 = System.Runtime.Intrinsics.X86.Ssse3.IsSupported;

    /// <summary>
    /// LD2-LD4/ST2-ST4 with Q = 1 as byte shuffles: the n 16-byte memory chunks (or registers) are loaded
    /// into xmm0..xmm3 and each result is the OR of PSHUFBs of the inputs it takes bytes from. Used when that
    /// is shorter than moving element by element (bytes and halfwords; words only for LD2/ST2).
    /// Returns false (emitting nothing) when the element loop is as short or the host lacks SSSE3.
    /// </summary>
    public static bool TryEmitInterleaveShuffle(EmitterContext ctx, int rt, int n, int size, bool load)
    {
        if (!HostSsse3) return false;
        var (masks, used) = GetShuffleMasks(load, n, size);
        int pairs = System.Numerics.BitOperations.PopCount(used);
        int shuffleCost = 1 + 2 * n + 3 * pairs - n;
        int loopCost = 2 * (16 >> size) * n;
        if (shuffleCost >= loopCost) return false;

        var a = ctx.Asm;
        a.mov(rax, (ulong)masks);
        for (int i = 0; i < n; i++)
        {
            var x = new AssemblerRegisterXMM(Iced.Intel.Register.XMM0 + i);
            if (load) a.movdqu(x, Mem(16, 16 * i));
            else a.movdqu(x, EmitterContext.V((rt + i) & 31));
        }
        for (int o = 0; o < n; o++)
        {
            bool first = true;
            for (int i = 0; i < n; i++)
            {
                if ((used & (1UL << (o * n + i))) == 0) continue;
                var x = new AssemblerRegisterXMM(Iced.Intel.Register.XMM0 + i);
                var dst = first ? xmm4 : xmm5;
                a.movdqa(dst, x);
                a.pshufb(dst, __xmmword_ptr[rax + (o * n + i) * 16]);
                if (!first) a.por(xmm4, xmm5);
                first = false;
            }
            if (load) ctx.StoreV((rt + o) & 31, xmm4);
            else a.movdqu(Mem(16, 16 * o), xmm4);
        }
        return true;
    }

    /// <summary>
    /// PSHUFB masks, 16-byte aligned, mask (o, i) at (o*n + i)*16: for loads output o is register t+o and input
    /// i memory chunk i; for stores output o is memory chunk o and input i register t+i. Bit o*n+i of
    /// <c>Used</c> says the pair contributes at all. Built once per form and kept for the process.
    /// </summary>
    private static unsafe (nint Base, ulong Used) GetShuffleMasks(bool load, int n, int size)
    {
        lock (ShuffleMasks)
        {
            if (ShuffleMasks.TryGetValue((load, n, size), out var m)) return m;
            int eb = 1 << size;
            byte* p = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(n * n * 16), 16);
            new Span<byte>(p, n * n * 16).Fill(0x80);
            ulong used = 0;
            for (int o = 0; o < n; o++)
                for (int b = 0; b < 16; b++)
                {
                    int input, from;
                    if (load)
                    {
                        // register o, byte b = element b/eb: memory byte ((b/eb)*n + o)*eb + b%eb
                        int src = ((b / eb) * n + o) * eb + b % eb;
                        input = src / 16;
                        from = src % 16;
                    }
                    else
                    {
                        // memory chunk o, byte b: structure e, field j of that structure
                        int pos = o * 16 + b;
                        int e = pos / (n * eb), j = pos % (n * eb) / eb;
                        input = j;
                        from = e * eb + pos % eb;
                    }
                    p[(o * n + input) * 16 + b] = (byte)from;
                    used |= 1UL << (o * n + input);
                }
            m = ((nint)p, used);
            ShuffleMasks[(load, n, size)] = m;
            return m;
        }
    }
}
