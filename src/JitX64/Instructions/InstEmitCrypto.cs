using Dqemu.JitX64.Translation;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// The cryptographic extension. AES and 64-bit PMULL map onto AES-NI and pclmulqdq (the A64 and x86 AES states
/// use the same byte order: byte i of Vn is byte i of the xmm register). On a host without AES-NI (or without
/// pclmulqdq) those instructions are undefined here, and <see cref="Features.HwCap"/> does not advertise
/// HWCAP_AES (HWCAP_PMULL), so a guest that checks AT_HWCAP takes its software path. The SHA instructions are
/// computed by <see cref="CryptoSoft"/> on every host (x86 SHA-NI keeps the state in a different order).
/// </summary>
public static partial class InstEmit
{
    public static void Aes(EmitterContext ctx, uint op)
    {
        if (!HostAes) { Undefined(ctx, op); return; }
        var a = ctx.Asm;
        int d = (int)(op & 31), n = (int)((op >> 5) & 31);
        switch ((op >> 12) & 3)
        {
            case 0: // AESE: ShiftRows(SubBytes(Vd ^ Vn)) = aesenclast with a zero round key
            case 1: // AESD: InvShiftRows(InvSubBytes(Vd ^ Vn)) = aesdeclast with a zero round key
                a.movdqu(xmm0, EmitterContext.V(d));
                a.movdqu(xmm1, EmitterContext.V(n));
                a.pxor(xmm0, xmm1);
                a.pxor(xmm1, xmm1);
                if (((op >> 12) & 3) == 0) a.aesenclast(xmm0, xmm1);
                else a.aesdeclast(xmm0, xmm1);
                break;
            case 2: // AESMC: x86 has no bare MixColumns; aesdeclast undoes the ShiftRows/SubBytes that aesenc applies
                a.movdqu(xmm0, EmitterContext.V(n));
                a.pxor(xmm1, xmm1);
                a.aesdeclast(xmm0, xmm1);
                a.aesenc(xmm0, xmm1);
                break;
            default: // AESIMC
                a.aesimc(xmm0, EmitterContext.V(n));
                break;
        }
        a.movdqu(EmitterContext.V(d), xmm0);
    }

    /// <summary>PMULL/PMULL2 Vd.1Q: the 64 x 64 -> 128-bit carry-less product of the low (PMULL2: high) doublewords.</summary>
    public static void Pmull64(EmitterContext ctx, uint op)
    {
        if (!HostPclmul) { Undefined(ctx, op); return; }
        var a = ctx.Asm;
        int d = (int)(op & 31), n = (int)((op >> 5) & 31), m = (int)((op >> 16) & 31);
        bool part2 = ((op >> 30) & 1) != 0;
        a.movdqu(xmm0, EmitterContext.V(n));
        a.movdqu(xmm1, EmitterContext.V(m));
        a.pclmulqdq(xmm0, xmm1, (byte)(part2 ? 0x11 : 0x00));
        a.movdqu(EmitterContext.V(d), xmm0);
    }

    /// <summary>The SHA1 and SHA256 instructions, through the C# implementation.</summary>
    public static void Sha(EmitterContext ctx, uint op) => EmitSoft(ctx, op, CryptoSoft.Sha);
}
