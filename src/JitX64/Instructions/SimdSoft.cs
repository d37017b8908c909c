using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.State;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// C# implementations of the Advanced SIMD encoding groups, one per group, reading the instruction's A64Op fields
/// the way the Arm ARM pseudocode does. Translated code calls them for instructions without an SSE sequence
/// (saturating shifts, doubling multiplies, estimates, ...) and for the rare inputs where the SSE sequence
/// would differ (NaN results, saturating conversions). Every function reads all its operands before it
/// writes Vd, so Vd may alias a source. Saturating operations set FPSR.QC in CpuState (<see cref="Sat"/>);
/// FP exception flags raised here are discarded (EmitSoft restores MXCSR).
/// </summary>
internal static unsafe class SimdSoft
{
    public static readonly int ThreeSame = SoftRegistry.Register(ThreeSameImpl);
    public static readonly int ThreeDiff = SoftRegistry.Register(ThreeDiffImpl);
    public static readonly int TwoMisc = SoftRegistry.Register(TwoMiscImpl);
    public static readonly int Across = SoftRegistry.Register(AcrossImpl);
    public static readonly int ShiftImm = SoftRegistry.Register(ShiftImmImpl);
    public static readonly int Indexed = SoftRegistry.Register(IndexedImpl);
    public static readonly int ScalarPairwise = SoftRegistry.Register(ScalarPairwiseImpl);

    // ---- helpers ----

    private static ulong Mask(int es) => es == 64 ? ulong.MaxValue : (1UL << es) - 1;
    private static long SExt(ulong v, int es) => es == 64 ? (long)v : (long)(v << (64 - es)) >> (64 - es);
    private static Int128 Val(ulong v, int es, bool unsigned) => unsigned ? (Int128)(v & Mask(es)) : (Int128)SExt(v, es);

    /// <summary>The Arm ARM's SignedSatQ/UnsignedSatQ: <paramref name="v"/> clamped to an es-bit lane, setting
    /// FPSR.QC when it had to be clamped.</summary>
    private static ulong Sat(CpuState* c, Int128 v, int es, bool unsigned)
    {
        Int128 hi = unsigned ? (Int128)Mask(es) : ((Int128)1 << (es - 1)) - 1;
        Int128 lo = unsigned ? 0 : -((Int128)1 << (es - 1));
        if (v > hi) { v = hi; c->Fpsr |= FpsrBits.QC; }
        else if (v < lo) { v = lo; c->Fpsr |= FpsrBits.QC; }
        return (ulong)(long)v & Mask(es);
    }

    private struct Vec
    {
        public ulong Lo, Hi;
    }

    private static Vec Read(CpuState* c, int n)
    {
        ulong* p = GuestRegs.V(c, n);
        return new Vec { Lo = p[0], Hi = p[1] };
    }

    private static ulong Get(ref Vec v, int i, int es)
    {
        fixed (Vec* p = &v) return GuestRegs.Elem((ulong*)p, i, es);
    }

    private static void Set(ref Vec v, int i, int es, ulong x)
    {
        fixed (Vec* p = &v) GuestRegs.SetElem((ulong*)p, i, es, x);
    }

    /// <summary>Writes Vd: 128 bits, or the low 64 with the upper half zeroed.</summary>
    private static void Write(CpuState* c, int d, Vec r, bool q)
    {
        ulong* p = GuestRegs.V(c, d);
        p[0] = r.Lo;
        p[1] = q ? r.Hi : 0;
    }

    /// <summary>Writes a scalar element result (all other bits of Vd zero).</summary>
    private static void WriteScalar(CpuState* c, int d, ulong x, int es) => GuestRegs.SetScalar(c, d, x & Mask(es));

    // ---- integer lane operations ----

    private static Int128 ShiftReg(Int128 v, int shift, bool round, int es)
    {
        if (shift >= 0)
        {
            if (shift >= es) return v == 0 ? 0 : v < 0 ? -((Int128)1 << 70) : ((Int128)1 << 70); // saturates / wraps to 0
            return v << shift;
        }
        int r = -shift;
        if (r > 100) r = 100;
        Int128 rc = round ? (Int128)1 << (r - 1) : 0;
        return (v + rc) >> r;
    }

    /// <summary>Three-same integer lane op (opcode = bits 15..11), not the pairwise and logic ones.</summary>
    private static ulong ThreeSameLane(CpuState* c, int opcode, bool u, int es, ulong a, ulong b, ulong d)
    {
        Int128 x = Val(a, es, u), y = Val(b, es, u);
        ulong m = Mask(es);
        switch (opcode)
        {
            case 0: return (ulong)(long)((x + y) >> 1) & m;                     // SHADD/UHADD
            case 1: return Sat(c, x + y, es, u);                                    // SQADD/UQADD
            case 2: return (ulong)(long)((x + y + 1) >> 1) & m;                 // SRHADD/URHADD
            case 4: return (ulong)(long)((x - y) >> 1) & m;                     // SHSUB/UHSUB
            case 5: return Sat(c, x - y, es, u);                                    // SQSUB/UQSUB
            case 6: return x > y ? m : 0;                                        // CMGT/CMHI
            case 7: return x >= y ? m : 0;                                       // CMGE/CMHS
            case 8:                                                              // SSHL/USHL
            case 9:                                                              // SQSHL/UQSHL
            case 10:                                                             // SRSHL/URSHL
            case 11:                                                             // SQRSHL/UQRSHL
                {
                    int sh = (sbyte)(byte)b;
                    Int128 r = ShiftReg(x, sh, opcode >= 10, es);
                    return (opcode & 1) != 0 ? Sat(c, r, es, u) : (ulong)(long)(r & (Int128)m) & m;
                }
            case 12: return (ulong)(long)(x > y ? x : y) & m;                    // SMAX/UMAX
            case 13: return (ulong)(long)(x < y ? x : y) & m;                    // SMIN/UMIN
            case 14: return (ulong)(long)(x > y ? x - y : y - x) & m;            // SABD/UABD
            case 15: return (d + ((ulong)(long)(x > y ? x - y : y - x))) & m;    // SABA/UABA
            case 16: return (u ? a - b : a + b) & m;                             // ADD/SUB
            case 17: return u ? ((a & m) == (b & m) ? m : 0) : ((a & b & m) != 0 ? m : 0); // CMEQ/CMTST
            case 18: return (u ? d - a * b : d + a * b) & m;                     // MLA/MLS
            case 19:                                                              // MUL/PMUL
                if (!u) return a * b & m;
                {
                    ulong r = 0;
                    for (int i = 0; i < es; i++) if (((b >> i) & 1) != 0) r ^= a << i;
                    return r & m;
                }
            case 22:                                                              // SQDMULH/SQRDMULH
                {
                    Int128 p = 2 * (Int128)SExt(a, es) * SExt(b, es);
                    if (u) p += (Int128)1 << (es - 1);
                    return Sat(c, p >> es, es, false);
                }
        }
        return 0;
    }

    private static void ThreeSameImpl(CpuState* c, A64Op op)
    {
        bool scalar = op.Scalar, q = op.VectorQ, u = op.U;
        int opcode = op.ThreeSameOpcode;
        if (opcode >= 24) { FpThreeSame(c, op); return; }
        int es = 8 << op.Size;
        Vec n = Read(c, op.Rn), m = Read(c, op.Rm), d = Read(c, op.Rd), r = default;
        if (opcode == 3)
        {
            // logic: AND BIC ORR ORN / EOR BSL BIT BIF
            ulong Logic(ulong a, ulong b, ulong dd) => (op.Size, u) switch
            {
                (0, false) => a & b,
                (1, false) => a & ~b,
                (2, false) => a | b,
                (3, false) => a | ~b,
                (0, true) => a ^ b,
                (1, true) => (dd & a) | (~dd & b),
                (2, true) => (a & b) | (dd & ~b),
                _ => (dd & b) | (a & ~b),
            };
            r.Lo = Logic(n.Lo, m.Lo, d.Lo);
            r.Hi = Logic(n.Hi, m.Hi, d.Hi);
            Write(c, op.Rd, r, q);
            return;
        }
        int lanes = scalar ? 1 : (q ? 128 : 64) / es;
        if (opcode is 20 or 21 or 23)
        {
            // pairwise over the concatenation n:m
            int half = lanes / 2;
            for (int i = 0; i < lanes; i++)
            {
                ref Vec src = ref (i < half ? ref n : ref m);
                int j = (i % half) * 2;
                ulong a = Get(ref src, j, es), b = Get(ref src, j + 1, es);
                ulong res = opcode == 23 ? (a + b) & Mask(es) : ThreeSameLane(c, opcode == 20 ? 12 : 13, u, es, a, b, 0);
                Set(ref r, i, es, res);
            }
            Write(c, op.Rd, r, q);
            return;
        }
        for (int i = 0; i < lanes; i++)
            Set(ref r, i, es, ThreeSameLane(c, opcode, u, es, Get(ref n, i, es), Get(ref m, i, es), Get(ref d, i, es)));
        if (scalar) WriteScalar(c, op.Rd, r.Lo, es);
        else Write(c, op.Rd, r, q);
    }

    // ---- three different ----

    private static void ThreeDiffImpl(CpuState* c, A64Op op)
    {
        bool scalar = op.Scalar, q = op.VectorQ, u = op.U;
        int opcode = op.Opcode4;
        int es = 8 << op.Size, wes = es * 2;
        int lanes = scalar ? 1 : 64 / es;
        Vec n = Read(c, op.Rn), m = Read(c, op.Rm), d = Read(c, op.Rd), r = default;
        int part = q ? lanes : 0; // "2" forms read the upper halves of narrow operands
        if (opcode is 4 or 6)
        {
            // ADDHN/RADDHN/SUBHN/RSUBHN: wide operands, narrow result into the lower or upper half
            if (q) r.Lo = d.Lo;
            for (int i = 0; i < lanes; i++)
            {
                ulong a = Get(ref n, i, wes), b = Get(ref m, i, wes);
                ulong s = opcode == 4 ? a + b : a - b;
                if (u) s += 1UL << (es - 1);
                Set(ref r, part + i, es, (s & Mask(wes)) >> es);
            }
            Write(c, op.Rd, r, true);
            if (!q) GuestRegs.V(c, op.Rd)[1] = 0;
            return;
        }
        for (int i = 0; i < lanes; i++)
        {
            bool wideFirst = opcode is 1 or 3;
            Int128 a = wideFirst ? Val(Get(ref n, i, wes), wes, u) : Val(Get(ref n, part + i, es), es, u);
            Int128 b = Val(Get(ref m, part + i, es), es, u);
            Int128 acc = Val(Get(ref d, i, wes), wes, u);
            ulong v;
            switch (opcode)
            {
                case 0: case 1: v = (ulong)(long)(a + b) & Mask(wes); break;                   // ADDL, ADDW
                case 2: case 3: v = (ulong)(long)(a - b) & Mask(wes); break;                   // SUBL, SUBW
                case 5: v = (ulong)(long)(acc + (a > b ? a - b : b - a)) & Mask(wes); break;  // ABAL
                case 7: v = (ulong)(long)(a > b ? a - b : b - a) & Mask(wes); break;          // ABDL
                case 8: v = (ulong)(long)(acc + a * b) & Mask(wes); break;                     // MLAL
                case 10: v = (ulong)(long)(acc - a * b) & Mask(wes); break;                    // MLSL
                case 12: v = (ulong)(long)(a * b) & Mask(wes); break;                          // MULL
                case 9: v = Sat(c, acc + SExtI(Sat(c, 2 * a * b, wes, false), wes), wes, false); break;  // SQDMLAL
                case 11: v = Sat(c, acc - SExtI(Sat(c, 2 * a * b, wes, false), wes), wes, false); break; // SQDMLSL
                case 13: v = Sat(c, 2 * a * b, wes, false); break;                                 // SQDMULL
                default:                                                                         // PMULL
                    {
                        ulong x = (ulong)(long)a & Mask(es), y = (ulong)(long)b & Mask(es), pr = 0;
                        for (int k = 0; k < es; k++) if (((y >> k) & 1) != 0) pr ^= x << k;
                        v = pr;
                        break;
                    }
            }
            Set(ref r, i, wes, v);
        }
        if (scalar) WriteScalar(c, op.Rd, r.Lo, wes);
        else Write(c, op.Rd, r, true);
    }

    private static Int128 SExtI(ulong v, int es) => SExt(v, es);

    // ---- two-register miscellaneous ----

    private static void TwoMiscImpl(CpuState* c, A64Op op)
    {
        bool scalar = op.Scalar, q = op.VectorQ, u = op.U;
        int opcode = op.MiscOpcode;
        int size = op.Size;
        if (opcode >= 12 && !(opcode is 18 or 19 or 20)) { FpTwoMisc(c, op); return; }
        if (opcode == 22 || opcode == 23) { FpTwoMisc(c, op); return; }
        int es = 8 << size;
        int lanes = scalar ? 1 : (q ? 128 : 64) / es;
        Vec n = Read(c, op.Rn), d = Read(c, op.Rd), r = default;
        switch (opcode)
        {
            case 0:
            case 1: // REV64 / REV32 (U) / REV16
                {
                    int container = opcode == 1 ? 16 : u ? 32 : 64;
                    int per = container / es;
                    for (int i = 0; i < lanes; i++)
                    {
                        int baseIdx = i / per * per;
                        Set(ref r, i, es, Get(ref n, baseIdx + (per - 1 - (i - baseIdx)), es));
                    }
                    break;
                }
            case 2:
            case 6: // SADDLP/UADDLP, SADALP/UADALP
                {
                    int wl = lanes / 2;
                    for (int i = 0; i < wl; i++)
                    {
                        Int128 s = Val(Get(ref n, 2 * i, es), es, u) + Val(Get(ref n, 2 * i + 1, es), es, u);
                        if (opcode == 6) s += Val(Get(ref d, i, es * 2), es * 2, u);
                        Set(ref r, i, es * 2, (ulong)(long)s & Mask(es * 2));
                    }
                    break;
                }
            case 3: // SUQADD / USQADD
                for (int i = 0; i < lanes; i++)
                {
                    Int128 a = Val(Get(ref n, i, es), es, !u), acc = Val(Get(ref d, i, es), es, u);
                    Set(ref r, i, es, Sat(c, a + acc, es, u));
                }
                break;
            case 4: // CLS / CLZ
                for (int i = 0; i < lanes; i++)
                {
                    ulong x = Get(ref n, i, es);
                    int cnt;
                    if (u) cnt = System.Numerics.BitOperations.LeadingZeroCount(x) - (64 - es);
                    else
                    {
                        ulong y = (x ^ (x >> 1)) & (Mask(es) >> 1);
                        cnt = System.Numerics.BitOperations.LeadingZeroCount(y) - (64 - es) - 1;
                    }
                    Set(ref r, i, es, (ulong)cnt);
                }
                break;
            case 5: // CNT / NOT / RBIT
                for (int i = 0; i < (q ? 16 : 8); i++)
                {
                    ulong x = Get(ref n, i, 8);
                    ulong v = !u ? (ulong)System.Numerics.BitOperations.PopCount(x)
                        : size == 0 ? ~x & 0xFF
                        : ReverseByte(x);
                    Set(ref r, i, 8, v);
                }
                break;
            case 7: // SQABS / SQNEG
                for (int i = 0; i < lanes; i++)
                {
                    Int128 a = Val(Get(ref n, i, es), es, false);
                    Set(ref r, i, es, Sat(c, u ? -a : (a < 0 ? -a : a), es, false));
                }
                break;
            case 8: case 9: case 10: case 11: // CMGT/CMGE/CMEQ/CMLE/CMLT zero, ABS/NEG
                for (int i = 0; i < lanes; i++)
                {
                    long a = SExt(Get(ref n, i, es), es);
                    ulong mm = Mask(es);
                    ulong v = (opcode, u) switch
                    {
                        (8, false) => a > 0 ? mm : 0,
                        (8, true) => a >= 0 ? mm : 0,
                        (9, false) => a == 0 ? mm : 0,
                        (9, true) => a <= 0 ? mm : 0,
                        (10, _) => a < 0 ? mm : 0,
                        (11, false) => (ulong)(a < 0 ? -a : a) & mm,
                        _ => (ulong)(-a) & mm,
                    };
                    Set(ref r, i, es, v);
                }
                break;
            case 18:
            case 20: // XTN/SQXTUN (18), SQXTN/UQXTN (20); SHLL is 19
                {
                    int nl = scalar ? 1 : 64 / es;
                    int part = q ? nl : 0;
                    if (q) r.Lo = d.Lo;
                    for (int i = 0; i < nl; i++)
                    {
                        ulong w = Get(ref n, i, es * 2);
                        ulong v = opcode == 18 && !u ? w & Mask(es)
                            : opcode == 18 ? Sat(c, Val(w, es * 2, false), es, true)   // SQXTUN
                            : Sat(c, Val(w, es * 2, u), es, u);                         // SQXTN/UQXTN
                        Set(ref r, part + i, es, v);
                    }
                    if (scalar) { WriteScalar(c, op.Rd, r.Lo, es); return; }
                    Write(c, op.Rd, r, q);
                    return;
                }
            case 19: // SHLL
                {
                    int nl = 64 / es;
                    int part = q ? nl : 0;
                    for (int i = 0; i < nl; i++) Set(ref r, i, es * 2, (Get(ref n, part + i, es) << es) & Mask(es * 2));
                    Write(c, op.Rd, r, true);
                    return;
                }
        }
        if (scalar) WriteScalar(c, op.Rd, r.Lo, es);
        else Write(c, op.Rd, r, q);
    }

    private static ulong ReverseByte(ulong x)
    {
        ulong r = 0;
        for (int i = 0; i < 8; i++) if (((x >> i) & 1) != 0) r |= 1UL << (7 - i);
        return r;
    }

    // ---- across lanes ----

    private static void AcrossImpl(CpuState* c, A64Op op)
    {
        bool q = op.Q, u = op.U;
        int opcode = op.MiscOpcode;
        int size = op.Size;
        Vec n = Read(c, op.Rn);
        if (opcode is 12 or 15)
        {
            // FMAXNMV/FMINNMV (12), FMAXV/FMINV (15): 4S, reduced pairwise as the Arm ARM does
            bool min = (size & 2) != 0;
            var kind = opcode == 12 ? (min ? SoftFloat.Op.MinNum : SoftFloat.Op.MaxNum) : (min ? SoftFloat.Op.Min : SoftFloat.Op.Max);
            uint fpcr = c->Fpcr;
            ulong a = SoftFloat.Binary(kind, Get(ref n, 0, 32), Get(ref n, 1, 32), 32, fpcr);
            ulong b = SoftFloat.Binary(kind, Get(ref n, 2, 32), Get(ref n, 3, 32), 32, fpcr);
            WriteScalar(c, op.Rd, SoftFloat.Binary(kind, a, b, 32, fpcr), 32);
            return;
        }
        int es = 8 << size;
        int lanes = (q ? 128 : 64) / es;
        Int128 acc = Val(Get(ref n, 0, es), es, u);
        for (int i = 1; i < lanes; i++)
        {
            Int128 x = Val(Get(ref n, i, es), es, u);
            acc = opcode switch
            {
                3 or 27 => acc + x,                 // SADDLV/UADDLV, ADDV
                10 => x > acc ? x : acc,            // SMAXV/UMAXV
                _ => x < acc ? x : acc,             // SMINV/UMINV
            };
        }
        int res = opcode == 3 ? es * 2 : es;
        WriteScalar(c, op.Rd, (ulong)(long)acc & Mask(res), res);
    }

    // ---- shift by immediate ----

    private static void ShiftImmImpl(CpuState* c, A64Op op)
    {
        bool scalar = op.Scalar, q = op.VectorQ, u = op.U;
        int opcode = op.ShiftOpcode;
        int es = op.ShiftEsize;
        if (opcode is 28 or 31) { FpFixedVector(c, op); return; }
        int lanes = scalar ? 1 : (q ? 128 : 64) / es;
        int rshift = op.RightShift, lshift = op.LeftShift;
        Vec n = Read(c, op.Rn), d = Read(c, op.Rd), r = default;
        ulong m = Mask(es);
        switch (opcode)
        {
            case 0: case 2: case 4: case 6: // SSHR SSRA SRSHR SRSRA (and U forms)
                for (int i = 0; i < lanes; i++)
                {
                    Int128 x = Val(Get(ref n, i, es), es, u);
                    Int128 v = ShiftReg(x, -rshift, opcode >= 4, es);
                    ulong res = (ulong)(long)v & m;
                    if (opcode is 2 or 6) res = (res + Get(ref d, i, es)) & m;
                    Set(ref r, i, es, res);
                }
                break;
            case 8: // SRI
                for (int i = 0; i < lanes; i++)
                {
                    ulong keep = rshift >= es ? m : ~(m >> rshift) & m;
                    ulong sh = rshift >= es ? 0 : Get(ref n, i, es) >> rshift;
                    Set(ref r, i, es, (Get(ref d, i, es) & keep) | sh);
                }
                break;
            case 10: // SHL / SLI
                for (int i = 0; i < lanes; i++)
                {
                    ulong sh = (Get(ref n, i, es) << lshift) & m;
                    ulong v = u ? (Get(ref d, i, es) & ~(m << lshift) & m) | sh : sh;
                    Set(ref r, i, es, v);
                }
                break;
            case 12: case 14: // SQSHLU (U, 12), SQSHL/UQSHL (14)
                for (int i = 0; i < lanes; i++)
                {
                    bool srcUnsigned = opcode == 14 && u;
                    bool dstUnsigned = opcode == 12 || u;
                    Int128 x = Val(Get(ref n, i, es), es, srcUnsigned);
                    Set(ref r, i, es, Sat(c, x << lshift, es, dstUnsigned));
                }
                break;
            case 16: case 17: case 18: case 19: // SHRN RSHRN / SQSHRUN SQRSHRUN (U), SQSHRN SQRSHRN / UQSHRN UQRSHRN
                {
                    int nes = es; // immh selects the narrow size
                    int wes = es * 2;
                    int nl = scalar ? 1 : 64 / nes;
                    int part = q ? nl : 0;
                    if (q) r.Lo = d.Lo;
                    bool round = (opcode & 1) != 0;
                    for (int i = 0; i < nl; i++)
                    {
                        ulong w = Get(ref n, i, wes);
                        ulong v;
                        if (opcode <= 17 && !u) v = (ulong)(long)ShiftReg(Val(w, wes, true), -rshift, round, wes) & Mask(nes);  // SHRN/RSHRN
                        else if (opcode <= 17) v = Sat(c, ShiftReg(Val(w, wes, false), -rshift, round, wes), nes, true);                // SQSHRUN
                        else v = Sat(c, ShiftReg(Val(w, wes, u), -rshift, round, wes), nes, u);                                          // [SU]Q[R]SHRN
                        Set(ref r, part + i, nes, v);
                    }
                    if (scalar) { WriteScalar(c, op.Rd, r.Lo, nes); return; }
                    Write(c, op.Rd, r, q);
                    return;
                }
            case 20: // SSHLL/USHLL
                {
                    int wes = es * 2;
                    int nl = 64 / es;
                    int part = q ? nl : 0;
                    for (int i = 0; i < nl; i++)
                        Set(ref r, i, wes, (ulong)(long)(Val(Get(ref n, part + i, es), es, u) << lshift) & Mask(wes));
                    Write(c, op.Rd, r, true);
                    return;
                }
        }
        if (scalar) WriteScalar(c, op.Rd, r.Lo, es);
        else Write(c, op.Rd, r, q);
    }

    /// <summary>SCVTF/UCVTF (opcode 28) and FCVTZS/FCVTZU (31), fixed point, vector and scalar.</summary>
    private static void FpFixedVector(CpuState* c, A64Op op)
    {
        int es = op.ShiftEsize;
        bool scalar = op.Scalar, q = op.VectorQ, u = op.U;
        int opcode = op.ShiftOpcode;
        int fbits = op.RightShift;
        int lanes = scalar ? 1 : (q ? 128 : 64) / es;
        Vec n = Read(c, op.Rn), r = default;
        uint fpcr = c->Fpcr;
        for (int i = 0; i < lanes; i++)
        {
            ulong x = Get(ref n, i, es);
            ulong v = opcode == 28
                ? SoftFloat.FromInt(u ? x : (ulong)SExt(x, es), u, fbits, es, fpcr)
                : SoftFloat.ToInt(x, es, fbits, u, es, SoftFloat.RoundZero, fpcr);
            Set(ref r, i, es, v);
        }
        if (scalar) WriteScalar(c, op.Rd, r.Lo, es);
        else Write(c, op.Rd, r, q);
    }

    // ---- vector x indexed element ----

    private static void IndexedImpl(CpuState* c, A64Op op)
    {
        bool scalar = op.Scalar, q = op.VectorQ, u = op.U;
        int opcode = op.Opcode4;
        int size = op.Size;
        int h = op.IndexH ? 1 : 0, l = op.IndexL ? 1 : 0, mbit = op.IndexM ? 1 : 0;
        bool fp = opcode is 1 or 5 or 9; // FMLA, FMLS, FMUL/FMULX; the rest are integer
        int es, index, mreg;
        if (fp)
        {
            bool dbl = (size & 1) != 0;
            es = dbl ? 64 : 32;
            index = dbl ? h : h << 1 | l;
            mreg = op.Rm;
        }
        else
        {
            es = 8 << size;
            if (size == 1) { index = h << 2 | l << 1 | mbit; mreg = op.Rm4; }
            else { index = h << 1 | l; mreg = op.Rm; }
        }
        Vec n = Read(c, op.Rn), mv = Read(c, mreg), d = Read(c, op.Rd), r = default;
        ulong e = Get(ref mv, index, es);
        uint fpcr = c->Fpcr;
        if (fp)
        {
            int lanes = scalar ? 1 : (q ? 128 : 64) / es;
            for (int i = 0; i < lanes; i++)
            {
                ulong a = Get(ref n, i, es);
                ulong v = opcode switch
                {
                    1 => SoftFloat.MulAdd(Get(ref d, i, es), a, e, es, fpcr),
                    5 => SoftFloat.MulAdd(Get(ref d, i, es), a ^ SoftFloat.SignBit(es), e, es, fpcr),
                    _ => SoftFloat.Binary(u ? SoftFloat.Op.Mulx : SoftFloat.Op.Mul, a, e, es, fpcr),
                };
                Set(ref r, i, es, v);
            }
            if (scalar) WriteScalar(c, op.Rd, r.Lo, es);
            else Write(c, op.Rd, r, q);
            return;
        }
        bool longOp = opcode is 2 or 3 or 6 or 7 or 10 or 11;
        if (longOp)
        {
            int wes = es * 2;
            int nl = scalar ? 1 : 64 / es;
            int part = q ? nl : 0;
            bool signedness = opcode is 3 or 7 or 11 ? false : u;
            Int128 y = Val(e, es, signedness);
            for (int i = 0; i < nl; i++)
            {
                Int128 x = Val(Get(ref n, part + i, es), es, signedness);
                Int128 acc = Val(Get(ref d, i, wes), wes, signedness);
                ulong v = opcode switch
                {
                    2 => (ulong)(long)(acc + x * y) & Mask(wes),                  // SMLAL/UMLAL
                    6 => (ulong)(long)(acc - x * y) & Mask(wes),                  // SMLSL/UMLSL
                    10 => (ulong)(long)(x * y) & Mask(wes),                       // SMULL/UMULL
                    3 => Sat(c, acc + SExtI(Sat(c, 2 * x * y, wes, false), wes), wes, false),   // SQDMLAL
                    7 => Sat(c, acc - SExtI(Sat(c, 2 * x * y, wes, false), wes), wes, false),   // SQDMLSL
                    _ => Sat(c, 2 * x * y, wes, false),                              // SQDMULL
                };
                Set(ref r, i, wes, v);
            }
            if (scalar) WriteScalar(c, op.Rd, r.Lo, wes);
            else Write(c, op.Rd, r, true);
            return;
        }
        {
            int lanes = scalar ? 1 : (q ? 128 : 64) / es;
            for (int i = 0; i < lanes; i++)
            {
                ulong a = Get(ref n, i, es), acc = Get(ref d, i, es);
                ulong v = opcode switch
                {
                    0 => acc + a * e,                                            // MLA
                    4 => acc - a * e,                                            // MLS
                    8 => a * e,                                                  // MUL
                    12 => ThreeSameLane(c, 22, false, es, a, e, 0),                 // SQDMULH
                    13 => ThreeSameLane(c, 22, true, es, a, e, 0),                  // SQRDMULH
                    _ => 0,
                };
                Set(ref r, i, es, v & Mask(es));
            }
            if (scalar) WriteScalar(c, op.Rd, r.Lo, es);
            else Write(c, op.Rd, r, q);
        }
    }

    // ---- floating point groups ----

    /// <summary>FP three-same (opcode bits 15..11 = 11xxx), vector and scalar.</summary>
    private static void FpThreeSame(CpuState* c, A64Op op)
    {
        bool scalar = op.Scalar, q = op.VectorQ, u = op.U;
        int opcode = op.FpThreeSameOpcode;
        bool a = op.SizeHigh;
        int es = op.Sz ? 64 : 32;
        int lanes = scalar ? 1 : (q ? 128 : 64) / es;
        uint fpcr = c->Fpcr;
        Vec n = Read(c, op.Rn), m = Read(c, op.Rm), d = Read(c, op.Rd), r = default;
        bool pairwise = u && !a && opcode is 0 or 2 or 6 || u && a && opcode is 0 or 6;
        for (int i = 0; i < lanes; i++)
        {
            ulong x, y;
            if (pairwise)
            {
                int half = lanes / 2;
                ref Vec src = ref (i < half ? ref n : ref m);
                int j = (i % half) * 2;
                x = Get(ref src, j, es); y = Get(ref src, j + 1, es);
            }
            else { x = Get(ref n, i, es); y = Get(ref m, i, es); }
            ulong acc = Get(ref d, i, es);
            ulong ones = Mask(es);
            ulong v = (u, a, opcode) switch
            {
                (false, false, 0) => SoftFloat.Binary(SoftFloat.Op.MaxNum, x, y, es, fpcr),
                (false, false, 1) => SoftFloat.MulAdd(acc, x, y, es, fpcr),
                (false, false, 2) => SoftFloat.Binary(SoftFloat.Op.Add, x, y, es, fpcr),
                (false, false, 3) => SoftFloat.Binary(SoftFloat.Op.Mulx, x, y, es, fpcr),
                (false, false, 4) => SoftFloat.CompareOp(0, x, y, es, fpcr) ? ones : 0,
                (false, false, 6) => SoftFloat.Binary(SoftFloat.Op.Max, x, y, es, fpcr),
                (false, false, 7) => SoftFloat.Binary(SoftFloat.Op.RecpStep, x, y, es, fpcr),
                (false, true, 0) => SoftFloat.Binary(SoftFloat.Op.MinNum, x, y, es, fpcr),
                (false, true, 1) => SoftFloat.MulAdd(acc, x ^ SoftFloat.SignBit(es), y, es, fpcr),
                (false, true, 2) => SoftFloat.Binary(SoftFloat.Op.Sub, x, y, es, fpcr),
                (false, true, 6) => SoftFloat.Binary(SoftFloat.Op.Min, x, y, es, fpcr),
                (false, true, 7) => SoftFloat.Binary(SoftFloat.Op.RsqrtStep, x, y, es, fpcr),
                (true, false, 0) => SoftFloat.Binary(SoftFloat.Op.MaxNum, x, y, es, fpcr),
                (true, false, 2) => SoftFloat.Binary(SoftFloat.Op.Add, x, y, es, fpcr),
                (true, false, 3) => SoftFloat.Binary(SoftFloat.Op.Mul, x, y, es, fpcr),
                (true, false, 4) => SoftFloat.CompareOp(1, x, y, es, fpcr) ? ones : 0,
                (true, false, 5) => SoftFloat.CompareOp(3, x, y, es, fpcr) ? ones : 0,
                (true, false, 6) => SoftFloat.Binary(SoftFloat.Op.Max, x, y, es, fpcr),
                (true, false, 7) => SoftFloat.Binary(SoftFloat.Op.Div, x, y, es, fpcr),
                (true, true, 0) => SoftFloat.Binary(SoftFloat.Op.MinNum, x, y, es, fpcr),
                (true, true, 2) => SoftFloat.Binary(SoftFloat.Op.Abd, x, y, es, fpcr),
                (true, true, 4) => SoftFloat.CompareOp(2, x, y, es, fpcr) ? ones : 0,
                (true, true, 5) => SoftFloat.CompareOp(4, x, y, es, fpcr) ? ones : 0,
                (true, true, 6) => SoftFloat.Binary(SoftFloat.Op.Min, x, y, es, fpcr),
                _ => 0,
            };
            Set(ref r, i, es, v);
        }
        if (scalar) WriteScalar(c, op.Rd, r.Lo, es);
        else Write(c, op.Rd, r, q);
    }

    /// <summary>FP two-register miscellaneous (opcodes 12..31 with size&lt;1&gt; and U), vector and scalar.</summary>
    private static void FpTwoMisc(CpuState* c, A64Op op)
    {
        bool scalar = op.Scalar, q = op.VectorQ, u = op.U;
        int opcode = op.MiscOpcode;
        bool hi = op.SizeHigh;
        bool sz = op.Sz;
        int es = sz ? 64 : 32;
        uint fpcr = c->Fpcr;
        Vec n = Read(c, op.Rn), d = Read(c, op.Rd), r = default;
        if (opcode is 22 or 23 && !hi)
        {
            // FCVTN/FCVTXN (22) and FCVTL (23): sz=0 half<->single, sz=1 single<->double
            int wide = sz ? 64 : 32, narrow = sz ? 32 : 16;
            int nl = scalar ? 1 : 64 / narrow;
            int part = q ? nl : 0;
            if (opcode == 22)
            {
                if (q) r.Lo = d.Lo;
                for (int i = 0; i < nl; i++)
                {
                    ulong x = Get(ref n, i, wide);
                    ulong v = u ? ConvertToOdd(x, fpcr) : SoftFloat.Convert(x, wide, narrow, fpcr);
                    Set(ref r, part + i, narrow, v);
                }
                if (scalar) WriteScalar(c, op.Rd, r.Lo, narrow);
                else Write(c, op.Rd, r, q);
            }
            else
            {
                for (int i = 0; i < nl; i++) Set(ref r, i, wide, SoftFloat.Convert(Get(ref n, part + i, narrow), narrow, wide, fpcr));
                Write(c, op.Rd, r, true);
            }
            return;
        }
        int lanes = scalar ? 1 : (q ? 128 : 64) / es;
        for (int i = 0; i < lanes; i++)
        {
            ulong x = Get(ref n, i, es);
            ulong ones = Mask(es);
            ulong zero = 0;
            ulong v;
            switch ((opcode, hi))
            {
                case (24, false): v = SoftFloat.RoundInt(x, es, u ? SoftFloat.RoundTieAway : SoftFloat.RoundTieEven, fpcr); break; // FRINTN / FRINTA
                case (25, false): v = SoftFloat.RoundInt(x, es, u ? SoftFloat.FpcrRMode(fpcr) : SoftFloat.RoundNegInf, fpcr); break; // FRINTM / FRINTX
                case (24, true): v = SoftFloat.RoundInt(x, es, SoftFloat.RoundPosInf, fpcr); break; // FRINTP
                case (25, true): v = SoftFloat.RoundInt(x, es, u ? SoftFloat.FpcrRMode(fpcr) : SoftFloat.RoundZero, fpcr); break; // FRINTZ / FRINTI
                case (26, false): v = SoftFloat.ToInt(x, es, 0, u, es, SoftFloat.RoundTieEven, fpcr); break; // FCVTNS/NU
                case (27, false): v = SoftFloat.ToInt(x, es, 0, u, es, SoftFloat.RoundNegInf, fpcr); break; // FCVTMS/MU
                case (28, false): v = SoftFloat.ToInt(x, es, 0, u, es, SoftFloat.RoundTieAway, fpcr); break; // FCVTAS/AU
                case (29, false): v = SoftFloat.FromInt(u ? x : (ulong)SExt(x, es), u, 0, es, fpcr); break; // SCVTF/UCVTF
                case (26, true): v = SoftFloat.ToInt(x, es, 0, u, es, SoftFloat.RoundPosInf, fpcr); break; // FCVTPS/PU
                case (27, true): v = SoftFloat.ToInt(x, es, 0, u, es, SoftFloat.RoundZero, fpcr); break; // FCVTZS/ZU
                case (12, true): v = SoftFloat.CompareOp(u ? 1 : 2, x, zero, es, fpcr) ? ones : 0; break; // FCMGT / FCMGE zero
                case (13, true): v = u ? (SoftFloat.CompareOp(1, zero, x, es, fpcr) ? ones : 0) : (SoftFloat.CompareOp(0, x, zero, es, fpcr) ? ones : 0); break; // FCMEQ / FCMLE
                case (14, true): v = SoftFloat.CompareOp(2, zero, x, es, fpcr) ? ones : 0; break; // FCMLT zero
                case (15, true): v = u ? x ^ SoftFloat.SignBit(es) : x & ~SoftFloat.SignBit(es); break; // FNEG / FABS
                case (31, true): v = u ? SoftFloat.Sqrt(x, es, fpcr) : FpRecpX(x, es, fpcr); break; // FSQRT / FRECPX
                case (28, true): v = u ? RSqrtEstimateU32(x) : RecipEstimateU32(x); break; // URSQRTE / URECPE
                case (29, true): v = u ? FpRSqrtEstimate(x, es, fpcr) : FpRecipEstimate(x, es, fpcr); break; // FRSQRTE / FRECPE
                default: v = 0; break;
            }
            Set(ref r, i, es, v);
        }
        if (scalar) WriteScalar(c, op.Rd, r.Lo, es);
        else Write(c, op.Rd, r, q);
    }

    /// <summary>FCVTXN: double to single with round-to-odd.</summary>
    private static ulong ConvertToOdd(ulong x, uint fpcr)
    {
        if (SoftFloat.IsNaN(x, 64)) return SoftFloat.Convert(x, 64, 32, fpcr);
        bool fz = (fpcr & SoftFloat.FpcrFZ) != 0;
        if (fz && (x & SoftFloat.ExpMask(64)) == 0) x &= SoftFloat.SignBit(64); // denormal input reads as zero
        double dv = SoftFloat.D(x);
        if (fz && dv != 0 && Math.Abs(dv) < SoftFloat.Pow2(-126)) return dv < 0 ? 0x80000000UL : 0; // tiny output flushes
        float f = (float)dv; // nearest; fix up to odd when inexact
        if (float.IsInfinity(f) && !double.IsInfinity(dv))
            return SoftFloat.B(dv > 0 ? float.MaxValue : -float.MaxValue);
        if ((double)f == dv) return SoftFloat.B(f);
        uint bits = (uint)BitConverter.SingleToInt32Bits(f);
        // truncate toward zero then set the lowest bit
        if (Math.Abs((double)f) > Math.Abs(dv)) bits--;
        return bits | 1;
    }

    private static ulong FpRecpX(ulong x, int es, uint fpcr)
    {
        if (SoftFloat.IsNaN(x, es)) return SoftFloat.ProcessNaN(x, es, fpcr);
        ulong sign = x & SoftFloat.SignBit(es);
        ulong expMask = SoftFloat.ExpMask(es);
        int fracBits = es == 64 ? 52 : 23;
        ulong exp = (x & expMask) >> fracBits;
        ulong maxExp = expMask >> fracBits;
        if (exp == 0) return sign | ((maxExp - 1) << fracBits);
        return sign | ((~exp & maxExp) << fracBits);
    }

    // Arm ARM RecipEstimate / RecipSqrtEstimate (the 8-bit estimate algorithms), and the FP wrappers.
    private static int RecipEstimate(int a)
    {
        a = a * 2 + 1;
        int b = (1 << 19) / a;
        return (b + 1) / 2;
    }

    private static int RecipSqrtEstimate(int a)
    {
        if (a < 256) a = a * 2 + 1; else { a = (a >> 1) << 1; a = (a + 1) * 2; }
        int b = 512;
        while (a * (b + 1) * (b + 1) < (1 << 28)) b++;
        return (b + 1) / 2;
    }

    private static ulong RecipEstimateU32(ulong x)
    {
        uint v = (uint)x;
        if ((v & 0x80000000) == 0) return 0xFFFFFFFF;
        return (ulong)RecipEstimate((int)(v >> 23)) << 23;
    }

    private static ulong RSqrtEstimateU32(ulong x)
    {
        uint v = (uint)x;
        if ((v & 0xC0000000) == 0) return 0xFFFFFFFF;
        return (ulong)RecipSqrtEstimate((int)(v >> 23)) << 23;
    }

    private static ulong FpRecipEstimate(ulong x, int es, uint fpcr)
    {
        if (SoftFloat.IsNaN(x, es)) return SoftFloat.ProcessNaN(x, es, fpcr);
        bool neg = SoftFloat.IsNeg(x, es);
        if (SoftFloat.IsInf(x, es)) return neg ? SoftFloat.SignBit(es) : 0;
        if (SoftFloat.IsZero(x, es) || ((fpcr & SoftFloat.FpcrFZ) != 0 && (x & SoftFloat.ExpMask(es)) == 0)) return SoftFloat.Infinity(es, neg);
        int fracBits = es == 64 ? 52 : 23, expBits = es == 64 ? 11 : 8;
        int bias = (1 << (expBits - 1)) - 1;
        ulong frac = x & ((1UL << fracBits) - 1);
        int exp = (int)((x >> fracBits) & ((1UL << expBits) - 1));
        ulong sign = neg ? SoftFloat.SignBit(es) : 0;
        // tiny values overflow the reciprocal
        if (frac != 0 || exp != 0)
        {
            if (exp == 0 && (frac >> (fracBits - 2)) == 0)
            {
                int rm = SoftFloat.FpcrRMode(fpcr);
                bool overflowToInf = rm == 0 || (rm == 1 && !neg) || (rm == 2 && neg);
                return overflowToInf ? SoftFloat.Infinity(es, neg) : sign | (SoftFloat.ExpMask(es) - (1UL << fracBits)) | ((1UL << fracBits) - 1);
            }
        }
        if (exp >= 2 * bias - 1 + (es == 64 ? 0 : 0) && exp >= (es == 64 ? 2045 : 253))
        {
            if ((fpcr & SoftFloat.FpcrFZ) != 0) return sign;
        }
        // normalise the fraction to 52 bits
        ulong f52 = es == 64 ? frac : frac << 29;
        int e = exp;
        if (e == 0)
        {
            if (((f52 >> 51) & 1) == 0) { e = -1; f52 = (f52 << 2) & ((1UL << 52) - 1); }
            else f52 = (f52 << 1) & ((1UL << 52) - 1);
        }
        int scaled = (int)(0x100 | (f52 >> 44));
        int resultExp = es == 64 ? 2045 - e : 253 - e;
        int est = RecipEstimate(scaled);
        ulong resFrac = (ulong)(est & 0xFF) << 44;
        if (resultExp == 0) resFrac = (1UL << 51) | (resFrac >> 1);
        else if (resultExp == -1) { resFrac = (1UL << 50) | (resFrac >> 2); resultExp = 0; }
        if (es == 64) return sign | ((ulong)resultExp << 52) | resFrac;
        return sign | ((ulong)resultExp << 23) | (resFrac >> 29);
    }

    private static ulong FpRSqrtEstimate(ulong x, int es, uint fpcr)
    {
        if (SoftFloat.IsNaN(x, es)) return SoftFloat.ProcessNaN(x, es, fpcr);
        bool neg = SoftFloat.IsNeg(x, es);
        bool zero = SoftFloat.IsZero(x, es) || ((fpcr & SoftFloat.FpcrFZ) != 0 && (x & SoftFloat.ExpMask(es)) == 0);
        if (zero) return SoftFloat.Infinity(es, neg);
        if (neg) return SoftFloat.DefaultNaN(es);
        if (SoftFloat.IsInf(x, es)) return 0;
        int fracBits = es == 64 ? 52 : 23, expBits = es == 64 ? 11 : 8;
        ulong frac = x & ((1UL << fracBits) - 1);
        int exp = (int)((x >> fracBits) & ((1UL << expBits) - 1));
        ulong f52 = es == 64 ? frac : frac << 29;
        int e = exp;
        if (e == 0)
        {
            while (((f52 >> 51) & 1) == 0) { f52 = (f52 << 1) & ((1UL << 52) - 1); e--; }
            f52 = (f52 << 1) & ((1UL << 52) - 1);
        }
        int scaled = (e & 1) == 0 ? (int)(0x100 | (f52 >> 44)) : (int)(0x80 | (f52 >> 45));
        int resultExp = es == 64 ? (3068 - e) / 2 : (380 - e) / 2;
        int est = RecipSqrtEstimate(scaled);
        if (es == 64) return ((ulong)resultExp << 52) | ((ulong)(est & 0xFF) << 44);
        return ((ulong)resultExp << 23) | ((ulong)(est & 0xFF) << 15);
    }

    /// <summary>Scalar pairwise: ADDP (D), FADDP, FMAXNMP, FMINNMP, FMAXP, FMINP.</summary>
    private static void ScalarPairwiseImpl(CpuState* c, A64Op op)
    {
        int opcode = op.MiscOpcode;
        bool u = op.U;
        Vec n = Read(c, op.Rn);
        if (!u) { WriteScalar(c, op.Rd, n.Lo + n.Hi, 64); return; }
        bool sz = op.Sz, min = op.SizeHigh;
        int es = sz ? 64 : 32;
        ulong a = Get(ref n, 0, es), b = Get(ref n, 1, es);
        var kind = opcode switch
        {
            12 => min ? SoftFloat.Op.MinNum : SoftFloat.Op.MaxNum,
            13 => SoftFloat.Op.Add,
            _ => min ? SoftFloat.Op.Min : SoftFloat.Op.Max,
        };
        WriteScalar(c, op.Rd, SoftFloat.Binary(kind, a, b, es, c->Fpcr), es);
    }
}
