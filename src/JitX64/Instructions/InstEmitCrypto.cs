using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.Host;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// The cryptographic extension. AES and 64-bit PMULL map onto AES-NI and pclmulqdq (the A64 and x86 AES states
/// use the same byte order: byte i of Vn is byte i of the xmm register). On a host without AES-NI (or without
/// pclmulqdq) those instructions are undefined here, and <see cref="Features.HwCap"/> does not advertise
/// HWCAP_AES (HWCAP_PMULL), so a guest that checks AT_HWCAP takes its software path. SHA1 and SHA256 map onto
/// SHA-NI where the host has it and are computed by <see cref="CryptoSoft"/> where not; SHA512 is always computed
/// there (x86 has no SHA-512 instructions before SHA512-NI); SHA3's EOR3, BCAX, RAX1 and XAR are a few SSE instructions.
/// </summary>
public static partial class InstEmit
{
    public static void Aes(EmitterContext ctx, A64Op op)
    {
        if (!HostCpu.Aes) { Undefined(ctx, op); return; }
        var a = ctx.Asm;
        int d = op.Rd, n = op.Rn;
        switch (op.MiscOpcode)
        {
            case 0b00100: // AESE: ShiftRows(SubBytes(Vd ^ Vn)) = aesenclast with a zero round key
            case 0b00101: // AESD: InvShiftRows(InvSubBytes(Vd ^ Vn)) = aesdeclast with a zero round key
                ctx.LoadV(xmm0, d);
                ctx.LoadV(xmm1, n);
                a.pxor(xmm0, xmm1);
                a.pxor(xmm1, xmm1);
                if (op.MiscOpcode == 0b00100) a.aesenclast(xmm0, xmm1);
                else a.aesdeclast(xmm0, xmm1);
                break;
            case 0b00110: // AESMC: x86 has no bare MixColumns; aesdeclast undoes the ShiftRows/SubBytes that aesenc applies
                ctx.LoadV(xmm0, n);
                a.pxor(xmm1, xmm1);
                a.aesdeclast(xmm0, xmm1);
                a.aesenc(xmm0, xmm1);
                break;
            default: // AESIMC
                a.aesimc(xmm0, EmitterContext.V(n));
                break;
        }
        ctx.StoreV(d, xmm0);
    }

    /// <summary>PMULL/PMULL2 Vd.1Q: the 64 x 64 -> 128-bit carry-less product of the low (PMULL2: high) doublewords.</summary>
    public static void Pmull64(EmitterContext ctx, A64Op op)
    {
        if (!HostCpu.Pclmul) { Undefined(ctx, op); return; }
        var a = ctx.Asm;
        int d = op.Rd, n = op.Rn, m = op.Rm;
        bool part2 = op.Q;
        ctx.LoadV(xmm0, n);
        ctx.LoadV(xmm1, m);
        a.pclmulqdq(xmm0, xmm1, (byte)(part2 ? 0x11 : 0x00));
        ctx.StoreV(d, xmm0);
    }

    /// <summary>
    /// The SHA1 and SHA256 instructions: SHA-NI where the host has it (<see cref="HostCpu.Sha"/>), else the C#
    /// implementation. A64 keeps word i of a state in lane i (SHA256H's Qd = a,b,c,d, Qn = e,f,g,h; SHA1's Qd =
    /// a,b,c,d and Sn = e); x86 keeps SHA1's state and message words from the top lane down, and SHA256's as ABEF and
    /// CDGH, so the operands are shuffled in and out. Every operand is read before Vd is written.
    /// </summary>
    public static void Sha(EmitterContext ctx, A64Op op)
    {
        if (!HostCpu.Sha) { EmitSoft(ctx, op, CryptoSoft.Sha); return; }
        int d = op.Rd, n = op.Rn, m = op.Rm;
        if (!op.ShaTwoRegister)
            switch (op.Sha3RegOpcode)
            {
                case <= 2 and var f: Sha1Rounds(ctx, d, n, m, f); return; // SHA1C, SHA1P, SHA1M
                case 3: Sha1Su0(ctx, d, n, m); return;
                case 4: Sha256Rounds(ctx, d, n, m, high: false); return; // SHA256H
                case 5: Sha256Rounds(ctx, d, n, m, high: true); return;  // SHA256H2
                default: Sha256Su1(ctx, d, n, m); return;
            }
        var a = ctx.Asm;
        switch (op.MiscOpcode)
        {
            case 0: // SHA1H Sd, Sn: ROL(Sn, 30), the rest of Vd cleared
                a.mov(eax, EmitterContext.VS(n));
                a.rol(eax, 30);
                a.movd(xmm0, eax);
                ctx.StoreV(d, xmm0);
                return;
            case 1: Sha1Su1(ctx, d, n); return;
            default: // SHA256SU0: Vd[i] + sigma0(W[i+1]) over W = Vd, Vn[0] is sha256msg1 exactly
                ctx.LoadV(xmm0, d);
                ctx.LoadV(xmm1, n);
                a.sha256msg1(xmm0, xmm1);
                ctx.StoreV(d, xmm0);
                return;
        }
    }

    /// <summary>The SHA1 round constants of Choose (SHA1C), Parity (SHA1P) and Majority (SHA1M) rounds.</summary>
    private static readonly uint[] Sha1K = [0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC];

    /// <summary>
    /// SHA1C/SHA1P/SHA1M Qd, Sn, Vm.4S: four rounds with the function sha1rnds4's immediate selects (0, 1, 2). A64 adds
    /// no round constant (the program has added it to W); sha1rnds4 adds K itself, so K is taken off W first. The first
    /// message word carries E.
    /// </summary>
    private static void Sha1Rounds(EmitterContext ctx, int d, int n, int m, int function)
    {
        var a = ctx.Asm;
        ctx.LoadV(xmm1, d);
        a.pshufd(xmm1, xmm1, 0x1B); // a in the top lane
        ctx.LoadV(xmm2, m);
        a.pshufd(xmm2, xmm2, 0x1B); // W0 in the top lane
        LoadConstDup32(ctx, xmm3, Sha1K[function]);
        a.psubd(xmm2, xmm3);
        a.movd(xmm3, EmitterContext.VS(n));
        a.pslldq(xmm3, 12);
        a.paddd(xmm2, xmm3); // W0 + E
        a.sha1rnds4(xmm1, xmm2, (byte)function);
        a.pshufd(xmm1, xmm1, 0x1B);
        ctx.StoreV(d, xmm1);
    }

    /// <summary>SHA1SU0 Vd, Vn, Vm: (Vn[1:0] : Vd[3:2]) ^ Vd ^ Vm.</summary>
    private static void Sha1Su0(EmitterContext ctx, int d, int n, int m)
    {
        var a = ctx.Asm;
        ctx.LoadV(xmm0, n);
        ctx.LoadV(xmm1, d);
        ctx.LoadV(xmm2, m);
        a.palignr(xmm0, xmm1, 8);
        a.pxor(xmm0, xmm1);
        a.pxor(xmm0, xmm2);
        ctx.StoreV(d, xmm0);
    }

    /// <summary>SHA1SU1 Vd, Vn: T = Vd ^ (Vn >> 32); each word ROL 1, and the top one also ^ ROL(T[0], 2).</summary>
    private static void Sha1Su1(EmitterContext ctx, int d, int n)
    {
        var a = ctx.Asm;
        ctx.LoadV(xmm0, n);
        ctx.LoadV(xmm1, d);
        a.psrldq(xmm0, 4);
        a.pxor(xmm0, xmm1);
        Rol1(ctx, xmm0, xmm1);
        a.movdqa(xmm2, xmm0);
        a.pslldq(xmm2, 12); // ROL(T[0], 1) alone in the top lane
        Rol1(ctx, xmm2, xmm1);
        a.pxor(xmm0, xmm2);
        ctx.StoreV(d, xmm0);
    }

    /// <summary>x = each 32-bit lane of x rotated left by 1 (t is clobbered).</summary>
    private static void Rol1(EmitterContext ctx, AssemblerRegisterXMM x, AssemblerRegisterXMM t)
    {
        var a = ctx.Asm;
        a.movdqa(t, x);
        a.pslld(x, 1);
        a.psrld(t, 31);
        a.por(x, t);
    }

    /// <summary>
    /// SHA256H Qd, Qn, Vm.4S (X = Vd, Y = Vn: the new a,b,c,d) and SHA256H2 (X = Vn, Y = Vd: the new e,f,g,h): four
    /// rounds as two sha256rnds2 over ABEF/CDGH. After the first two rounds ABEF' is the CDGH of the last two, so the
    /// result's c,d (g,h) are a,b (e,f) of ABEF'.
    /// </summary>
    private static void Sha256Rounds(EmitterContext ctx, int d, int n, int m, bool high)
    {
        var a = ctx.Asm;
        ctx.LoadV(xmm1, high ? n : d); // X = a,b,c,d
        ctx.LoadV(xmm2, high ? d : n); // Y = e,f,g,h
        ctx.LoadV(xmm0, m);             // sha256rnds2 reads W+K from xmm0
        a.movdqa(xmm3, xmm2);
        a.shufps(xmm3, xmm1, 0x11); // ABEF: f,e,b,a from the bottom lane
        a.movdqa(xmm4, xmm2);
        a.shufps(xmm4, xmm1, 0xBB); // CDGH: h,g,d,c
        a.sha256rnds2(xmm4, xmm3);  // rounds 0-1: xmm4 = ABEF'
        a.pshufd(xmm0, xmm0, 0x0E);
        a.sha256rnds2(xmm3, xmm4);  // rounds 2-3: xmm3 = ABEF''
        a.shufps(xmm3, xmm4, high ? (byte)0x11 : (byte)0xBB); // e,f,g,h or a,b,c,d
        ctx.StoreV(d, xmm3);
    }

    /// <summary>SHA256SU1 Vd, Vn, Vm: sha256msg2 of Vd + (Vm[0] : Vn[3:1]) with W14, W15 = Vm[2], Vm[3].</summary>
    private static void Sha256Su1(EmitterContext ctx, int d, int n, int m)
    {
        var a = ctx.Asm;
        ctx.LoadV(xmm1, m);
        ctx.LoadV(xmm0, n);
        a.movdqa(xmm2, xmm1);
        a.palignr(xmm2, xmm0, 4); // Vn[1], Vn[2], Vn[3], Vm[0]
        ctx.LoadV(xmm0, d);
        a.paddd(xmm2, xmm0);
        a.sha256msg2(xmm2, xmm1);
        ctx.StoreV(d, xmm2);
    }

    /// <summary>SHA512H, SHA512H2, SHA512SU0, SHA512SU1, through the C# implementation.</summary>
    public static void Sha512(EmitterContext ctx, A64Op op) => EmitSoft(ctx, op, CryptoSoft.Sha512);

    public static void Eor3(EmitterContext ctx, A64Op op) => Sha3(ctx, op, Sha3Op.Eor3);
    public static void Bcax(EmitterContext ctx, A64Op op) => Sha3(ctx, op, Sha3Op.Bcax);
    public static void Rax1(EmitterContext ctx, A64Op op) => Sha3(ctx, op, Sha3Op.Rax1);
    public static void Xar(EmitterContext ctx, A64Op op) => Sha3(ctx, op, Sha3Op.Xar);

    private enum Sha3Op { Eor3, Bcax, Rax1, Xar }

    /// <summary>
    /// FEAT_SHA3: EOR3 Vd = Vn ^ Vm ^ Va; BCAX Vd = Vn ^ (Vm &amp; ~Va); RAX1 Vd.2D = Vn ^ ROL(Vm, 1);
    /// XAR Vd.2D = ROR(Vn ^ Vm, imm6). Every operand is loaded before Vd is written.
    /// </summary>
    private static void Sha3(EmitterContext ctx, A64Op op, Sha3Op kind)
    {
        var a = ctx.Asm;
        int d = op.Rd, n = op.Rn, m = op.Rm, ra = op.Ra;
        ctx.LoadV(xmm0, n);
        ctx.LoadV(xmm1, m);
        if (kind is Sha3Op.Eor3 or Sha3Op.Bcax)
        {
            ctx.LoadV(xmm2, ra);
            if (kind == Sha3Op.Eor3) { a.pxor(xmm0, xmm1); a.pxor(xmm0, xmm2); }
            else { a.pandn(xmm2, xmm1); a.pxor(xmm0, xmm2); }
        }
        else if (kind == Sha3Op.Xar)
        {
            int r = op.Imm6;
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
        ctx.StoreV(d, xmm0);
    }
}
