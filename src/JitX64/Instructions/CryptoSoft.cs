using Dqemu.JitX64.Decoders;
using System.Numerics;
using Dqemu.JitX64.State;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// The SHA1/SHA256/SHA512 instructions in C#, written from the Arm ARM pseudocode (SHA1C/P/M, SHA1H, SHA1SU0/1,
/// SHA256H/H2, SHA256SU0/1, SHA512H/H2, SHA512SU0/1). Word i of a vector is bits 32i+31..32i (element i of Vn.4S),
/// doubleword i bits 64i+63..64i. Every operand is read before Vd is written, so Vd may alias a source.
/// </summary>
internal static unsafe class CryptoSoft
{
    public static readonly int Sha = SoftRegistry.Register(ShaImpl);
    public static readonly int Sha512 = SoftRegistry.Register(Sha512Impl);

    private struct W4
    {
        public uint E0, E1, E2, E3;

        public uint this[int i]
        {
            readonly get => i switch { 0 => E0, 1 => E1, 2 => E2, _ => E3 };
            set { switch (i) { case 0: E0 = value; break; case 1: E1 = value; break; case 2: E2 = value; break; default: E3 = value; break; } }
        }
    }

    private static W4 Read(CpuState* c, int n)
    {
        uint* p = (uint*)GuestRegs.V(c, n);
        return new W4 { E0 = p[0], E1 = p[1], E2 = p[2], E3 = p[3] };
    }

    private static void Write(CpuState* c, int d, W4 v)
    {
        uint* p = (uint*)GuestRegs.V(c, d);
        p[0] = v.E0; p[1] = v.E1; p[2] = v.E2; p[3] = v.E3;
    }

    private static uint Rol(uint x, int k) => BitOperations.RotateLeft(x, k);
    private static uint Ror(uint x, int k) => BitOperations.RotateRight(x, k);
    private static uint Choose(uint x, uint y, uint z) => ((y ^ z) & x) ^ z;
    private static uint Parity(uint x, uint y, uint z) => x ^ y ^ z;
    private static uint Majority(uint x, uint y, uint z) => (x & y) | ((x | y) & z);

    private static void ShaImpl(CpuState* c, A64Op op)
    {
        int d = op.Rd, n = op.Rn, m = op.Rm;
        bool twoReg = op.ShaTwoRegister;
        if (twoReg)
        {
            switch (op.MiscOpcode)
            {
                case 0: // SHA1H Sd, Sn
                    GuestRegs.SetScalar(c, d, Rol(Read(c, n).E0, 30));
                    return;
                case 1: // SHA1SU1
                    {
                        W4 x = Read(c, d), y = Read(c, n), t = default, r = default;
                        // T = X ^ LSR(Y, 32) over 128 bits
                        t[0] = x[0] ^ y[1]; t[1] = x[1] ^ y[2]; t[2] = x[2] ^ y[3]; t[3] = x[3];
                        r[0] = Rol(t[0], 1); r[1] = Rol(t[1], 1); r[2] = Rol(t[2], 1);
                        r[3] = Rol(t[3], 1) ^ Rol(t[0], 2);
                        Write(c, d, r);
                        return;
                    }
                default: // SHA256SU0
                    {
                        W4 x = Read(c, d), y = Read(c, n), r = default;
                        // T = Y<31:0> : X<127:32>
                        for (int e = 0; e < 4; e++)
                        {
                            uint el = e < 3 ? x[e + 1] : y[0];
                            el = Ror(el, 7) ^ Ror(el, 18) ^ (el >> 3);
                            r[e] = el + x[e];
                        }
                        Write(c, d, r);
                        return;
                    }
            }
        }
        int opc = op.Sha3RegOpcode;
        switch (opc)
        {
            case 0: case 1: case 2: // SHA1C, SHA1P, SHA1M Qd, Sn, Vm.4S
                {
                    W4 x = Read(c, d), w = Read(c, m);
                    uint y = Read(c, n).E0;
                    for (int e = 0; e < 4; e++)
                    {
                        uint t = opc == 0 ? Choose(x[1], x[2], x[3]) : opc == 1 ? Parity(x[1], x[2], x[3]) : Majority(x[1], x[2], x[3]);
                        y = y + Rol(x[0], 5) + t + w[e];
                        x[1] = Rol(x[1], 30);
                        // <Y, X> = ROL(Y:X, 32) over 160 bits
                        uint top = x[3];
                        x[3] = x[2]; x[2] = x[1]; x[1] = x[0]; x[0] = y;
                        y = top;
                    }
                    Write(c, d, x);
                    return;
                }
            case 3: // SHA1SU0
                {
                    W4 a = Read(c, d), b = Read(c, n), k = Read(c, m), r = default;
                    // result = Vn<63:0> : Vd<127:64>, then ^ Vd ^ Vm
                    r[0] = a[2]; r[1] = a[3]; r[2] = b[0]; r[3] = b[1];
                    for (int e = 0; e < 4; e++) r[e] ^= a[e] ^ k[e];
                    Write(c, d, r);
                    return;
                }
            case 4: // SHA256H Qd, Qn, Vm.4S
                Write(c, d, Sha256Hash(Read(c, d), Read(c, n), Read(c, m), true));
                return;
            case 5: // SHA256H2 Qd, Qn, Vm.4S
                Write(c, d, Sha256Hash(Read(c, n), Read(c, d), Read(c, m), false));
                return;
            default: // SHA256SU1
                {
                    W4 a = Read(c, d), b = Read(c, n), k = Read(c, m), r = default;
                    // T0 = Vm<31:0> : Vn<127:32>; the first two words use Vm's upper words, the last two this result's lower words
                    uint T0(int e) => e < 3 ? b[e + 1] : k[0];
                    for (int e = 0; e < 4; e++)
                    {
                        uint el = e < 2 ? k[e + 2] : r[e - 2];
                        el = Ror(el, 17) ^ Ror(el, 19) ^ (el >> 10);
                        r[e] = el + a[e] + T0(e);
                    }
                    Write(c, d, r);
                    return;
                }
        }
    }

    private static ulong Ror64(ulong x, int k) => BitOperations.RotateRight(x, k);

    /// <summary>SHA512H, SHA512H2, SHA512SU1 (three-register group, opcode = bits 11..10) and SHA512SU0.</summary>
    private static void Sha512Impl(CpuState* c, A64Op op)
    {
        int d = op.Rd, n = op.Rn, m = op.Rm;
        ulong* pd = GuestRegs.V(c, d), pn = GuestRegs.V(c, n), pm = GuestRegs.V(c, m);
        ulong x0 = pn[0], x1 = pn[1], y0 = pm[0], y1 = pm[1], w0 = pd[0], w1 = pd[1], r0, r1;
        if (op.Sha512TwoRegister) // SHA512SU0 Vd.2D, Vn.2D
        {
            r0 = w0 + (Ror64(w1, 1) ^ Ror64(w1, 8) ^ (w1 >> 7));
            r1 = w1 + (Ror64(x0, 1) ^ Ror64(x0, 8) ^ (x0 >> 7));
        }
        else
        {
            switch (op.Sha512Opcode)
            {
                case 0: // SHA512H Qd, Qn, Vm.2D
                    {
                        ulong s1 = Ror64(y1, 14) ^ Ror64(y1, 18) ^ Ror64(y1, 41);
                        r1 = ((y1 & x0) ^ (~y1 & x1)) + s1 + w1;
                        ulong t = r1 + y0;
                        s1 = Ror64(t, 14) ^ Ror64(t, 18) ^ Ror64(t, 41);
                        r0 = ((t & y1) ^ (~t & x0)) + s1 + w0;
                        break;
                    }
                case 1: // SHA512H2 Qd, Qn, Vm.2D
                    {
                        ulong s0 = Ror64(y0, 28) ^ Ror64(y0, 34) ^ Ror64(y0, 39);
                        r1 = ((x0 & y1) ^ (x0 & y0) ^ (y1 & y0)) + s0 + w1;
                        s0 = Ror64(r1, 28) ^ Ror64(r1, 34) ^ Ror64(r1, 39);
                        r0 = ((r1 & y0) ^ (r1 & y1) ^ (y1 & y0)) + s0 + w0;
                        break;
                    }
                default: // SHA512SU1 Vd.2D, Vn.2D, Vm.2D (opcode 11 is RAX1, emitted inline)
                    r1 = w1 + (Ror64(x1, 19) ^ Ror64(x1, 61) ^ (x1 >> 6)) + y1;
                    r0 = w0 + (Ror64(x0, 19) ^ Ror64(x0, 61) ^ (x0 >> 6)) + y0;
                    break;
            }
        }
        pd[0] = r0;
        pd[1] = r1;
    }

    private static W4 Sha256Hash(W4 x, W4 y, W4 w, bool part1)
    {
        for (int e = 0; e < 4; e++)
        {
            uint chs = Choose(y[0], y[1], y[2]);
            uint maj = Majority(x[0], x[1], x[2]);
            uint t1 = y[3] + (Ror(y[0], 6) ^ Ror(y[0], 11) ^ Ror(y[0], 25)) + chs + w[e];
            x[3] = t1 + x[3];
            y[3] = t1 + (Ror(x[0], 2) ^ Ror(x[0], 13) ^ Ror(x[0], 22)) + maj;
            // <Y, X> = ROL(Y:X, 32) over 256 bits
            uint xTop = x[3], yTop = y[3];
            x[3] = x[2]; x[2] = x[1]; x[1] = x[0]; x[0] = yTop;
            y[3] = y[2]; y[2] = y[1]; y[1] = y[0]; y[0] = xTop;
        }
        return part1 ? x : y;
    }
}
