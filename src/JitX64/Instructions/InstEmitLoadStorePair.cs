using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.Translation;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

public static partial class InstEmit
{
    /// <summary>
    /// LDP/STP/LDNP/STNP/LDPSW, GPR and SIMD&amp;FP: opc = bits 31..30, V = bit 26, bits 24..23 = 00 non-temporal
    /// offset, 01 post-index, 10 offset, 11 pre-index, L = bit 22. Both values are loaded before either
    /// register is written (a fault on the second leaves Rt alone), then the registers, then the base.
    /// </summary>
    public static void LdStPair(EmitterContext ctx, A64Op op)
    {
        int opc = op.PairOpc;
        bool simd = op.V;
        bool load = op.L;
        int rt = op.Rt, rt2 = op.Rt2, rn = op.Rn;
        int scale = simd ? 2 + opc : 2 + (opc >> 1);
        int bytes = 1 << scale;
        long offset = op.SImm7 << scale;
        var mode = op.PairIndex switch { 1 => LdSt.Index.Post, 3 => LdSt.Index.Pre, _ => LdSt.Index.Offset };
        int d = LdSt.Address(ctx, rn, offset, mode, 2 * bytes, reuse: true);
        if (simd)
        {
            if (load)
            {
                LdSt.LoadVecTo(ctx, xmm0, scale, d);
                // the second straight into Vt2's host copy when it has one: if it faults, nothing was written yet
                var second = rt2 == rt ? xmm1 : ctx.VResultReg(rt2, xmm1);
                LdSt.LoadVecTo(ctx, second, scale, d + bytes);
                LdSt.WriteV(ctx, rt, xmm0);
                LdSt.WriteV(ctx, rt2, second);
            }
            else
            {
                LdSt.StoreVec(ctx, rt, scale, d);
                LdSt.StoreVec(ctx, rt2, scale, d + bytes);
            }
        }
        else if (load)
        {
            bool signed = opc == 1; // LDPSW
            LdSt.LoadGprTo(ctx, rcx, scale, signed, to64: signed, disp: d);
            // the second straight into Rt2's host copy when it has one: if it faults, nothing was written yet
            var second = ctx.ResultReg(rt2, rdx);
            LdSt.LoadGprTo(ctx, second, scale, signed, to64: signed, disp: d + bytes);
            ctx.StoreX(rt2, second);
            ctx.StoreX(rt, rcx); // Rt last: with Rt == Rt2 qemu leaves the first value
        }
        else
        {
            LdSt.StoreGpr(ctx, rt, scale, d, rcx);
            LdSt.StoreGpr(ctx, rt2, scale, d + bytes, rdx);
        }
        LdSt.Writeback(ctx, rn, mode);
    }
}
