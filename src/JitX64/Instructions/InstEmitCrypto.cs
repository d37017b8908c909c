using Dqemu.JitX64.Translation;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// The cryptographic extension. AES and 64-bit PMULL map onto AES-NI and pclmulqdq (the A64 and x86 AES states
/// use the same byte order: byte i of Vn is byte i of the xmm register). On a host without AES-NI (or without
/// pclmulqdq) those instructions are undefined here, and <see cref="Features.HwCap"/> does not advertise
/// HWCAP_AES (HWCAP_PMULL), so a guest that checks AT_HWCAP takes its software path. The SHA instructions are
/// computed by <see cref="CryptoSoft"/> on every host (x86 SHA-NI keeps the state in a different order), SHA512's
/// too (x86 has no SHA-512 instructions before SHA512-NI); SHA3's EOR3, BCAX, RAX1 and XAR are a few SSE instructions.
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

    /// <summary>SHA512H, SHA512H2, SHA512SU0, SHA512SU1, through the C# implementation.</summary>
    public static void Sha512(EmitterContext ctx, uint op) => EmitSoft(ctx, op, CryptoSoft.Sha512);

    /// <summary>
    /// FEAT_SHA3: EOR3 Vd = Vn ^ Vm ^ Va; BCAX Vd = Vn ^ (Vm &amp; ~Va); RAX1 Vd.2D = Vn ^ ROL(Vm, 1);
    /// XAR Vd.2D = ROR(Vn ^ Vm, imm6). Every operand is loaded before Vd is written.
    /// </summary>
    public static void Sha3(EmitterContext ctx, uint op)
    {
        var a = ctx.Asm;
        int d = (int)(op & 31), n = (int)((op >> 5) & 31), m = (int)((op >> 16) & 31), ra = (int)((op >> 10) & 31);
        a.movdqu(xmm0, EmitterContext.V(n));
        a.movdqu(xmm1, EmitterContext.V(m));
        if ((op & 0xFFC00000) == 0xCE000000) // EOR3 (bit 21 clear), BCAX (set)
        {
            a.movdqu(xmm2, EmitterContext.V(ra));
            if (((op >> 21) & 1) == 0) { a.pxor(xmm0, xmm1); a.pxor(xmm0, xmm2); }
            else { a.pandn(xmm2, xmm1); a.pxor(xmm0, xmm2); }
        }
        else if ((op & 0xFFE00000) == 0xCE800000) // XAR
        {
            int r = (int)((op >> 10) & 63);
            a.pxor(xmm0, xmm1);
            if (r != 0)
            {
                a.movdqa(xmm1, xmm0);
                a.psrlq(xmm1, (sbyte)r);
                a.psllq(xmm0, (sbyte)(64 - r));
                a.por(xmm0, xmm1);
            }
        }
        else // RAX1
        {
            a.movdqa(xmm2, xmm1);
            a.psllq(xmm1, 1);
            a.psrlq(xmm2, 63);
            a.por(xmm1, xmm2);
            a.pxor(xmm0, xmm1);
        }
        a.movdqu(EmitterContext.V(d), xmm0);
    }
}
