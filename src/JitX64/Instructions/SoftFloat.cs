using System.Runtime.CompilerServices;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// A64 floating-point semantics in C# (FPProcessNaNs, FPMax/FPMin, FPMaxNum/FPMinNum, saturating FPToFixed,
/// FPRoundInt, FPConvert including half precision). Translated code runs the fast SSE sequence and comes
/// here only when the host result could differ: a NaN came out (propagation and the default NaN differ on
/// x86), an integer conversion saturated, or the operation has no SSE form. Values travel as raw bits
/// (esize 16, 32 or 64 in the low bits of a ulong). Arithmetic runs under the guest MXCSR that translated
/// code installed, so host float/double operations already round the way FPCR asks; explicit rounding
/// below never relies on the host's "current direction" mode.
/// FPSR cumulative exception flags are not maintained (see InstEmitFpScalar.cs).
/// </summary>
internal static class SoftFloat
{
    public const uint FpcrDN = 1u << 25;
    public const uint FpcrFZ = 1u << 24;

    public const int RoundTieEven = 0, RoundPosInf = 1, RoundNegInf = 2, RoundZero = 3, RoundTieAway = 4;

    public static int FpcrRMode(uint fpcr) => (int)((fpcr >> 22) & 3);

    // ---- classification ----

    public static ulong SignBit(int es) => 1UL << (es - 1);
    public static ulong ExpMask(int es) => es == 64 ? 0x7FF0_0000_0000_0000UL : es == 32 ? 0x7F80_0000UL : 0x7C00UL;
    public static ulong QuietBit(int es) => es == 64 ? 1UL << 51 : es == 32 ? 1UL << 22 : 1UL << 9;
    public static ulong DefaultNaN(int es) => es == 64 ? 0x7FF8_0000_0000_0000UL : es == 32 ? 0x7FC0_0000UL : 0x7E00UL;
    public static ulong Infinity(int es, bool neg) => ExpMask(es) | (neg ? SignBit(es) : 0);

    public static bool IsNaN(ulong x, int es) => (x & (SignBit(es) - 1)) > ExpMask(es);
    public static bool IsSNaN(ulong x, int es) => IsNaN(x, es) && (x & QuietBit(es)) == 0;
    public static bool IsQNaN(ulong x, int es) => IsNaN(x, es) && (x & QuietBit(es)) != 0;
    public static bool IsInf(ulong x, int es) => (x & (SignBit(es) - 1)) == ExpMask(es);
    public static bool IsZero(ulong x, int es) => (x & (SignBit(es) - 1)) == 0;
    public static bool IsNeg(ulong x, int es) => (x & SignBit(es)) != 0;

    /// <summary>Denormal, zero, or in the lowest normal binade: halving it may be inexact.</summary>
    private static bool Tiny(ulong x, int es) => ((x & ExpMask(es)) >> (es == 64 ? 52 : 23)) <= 1;

    public const uint FpcrAHP = 1u << 26;

    public static ulong ProcessNaN(ulong x, int es, uint fpcr) => (fpcr & FpcrDN) != 0 ? DefaultNaN(es) : x | QuietBit(es);

    /// <summary>FPProcessNaNs: the first signalling NaN, else the first quiet NaN, quietened.</summary>
    public static bool NaNs2(ulong a, ulong b, int es, uint fpcr, out ulong r)
    {
        if (IsSNaN(a, es)) r = ProcessNaN(a, es, fpcr);
        else if (IsSNaN(b, es)) r = ProcessNaN(b, es, fpcr);
        else if (IsNaN(a, es)) r = ProcessNaN(a, es, fpcr);
        else if (IsNaN(b, es)) r = ProcessNaN(b, es, fpcr);
        else { r = 0; return false; }
        return true;
    }

    public static bool NaNs3(ulong a, ulong b, ulong c, int es, uint fpcr, out ulong r)
    {
        if (IsSNaN(a, es)) r = ProcessNaN(a, es, fpcr);
        else if (IsSNaN(b, es)) r = ProcessNaN(b, es, fpcr);
        else if (IsSNaN(c, es)) r = ProcessNaN(c, es, fpcr);
        else if (IsNaN(a, es)) r = ProcessNaN(a, es, fpcr);
        else if (IsNaN(b, es)) r = ProcessNaN(b, es, fpcr);
        else if (IsNaN(c, es)) r = ProcessNaN(c, es, fpcr);
        else { r = 0; return false; }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double D(ulong x) => BitConverter.UInt64BitsToDouble(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float F(ulong x) => BitConverter.Int32BitsToSingle((int)(uint)x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong B(double d) => BitConverter.DoubleToUInt64Bits(d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong B(float f) => (uint)BitConverter.SingleToInt32Bits(f);

    /// <summary>A NaN produced from non-NaN operands is an invalid operation: the (positive) default NaN.</summary>
    private static ulong Fix(ulong r, int es) => IsNaN(r, es) ? DefaultNaN(es) : r;

    /// <summary>FZ: a denormal input reads as zero of the same sign.</summary>
    private static ulong Flush(ulong x, int es, uint fpcr)
    {
        if ((fpcr & FpcrFZ) != 0 && es != 16 && (x & ExpMask(es)) == 0) return x & SignBit(es);
        return x;
    }

    // ---- arithmetic ----

    public enum Op { Add, Sub, Mul, Div, Max, Min, MaxNum, MinNum, Mulx, Abd, RecpStep, RsqrtStep, NMul }

    public static ulong Binary(Op op, ulong a, ulong b, int es, uint fpcr)
    {
        a = Flush(a, es, fpcr); b = Flush(b, es, fpcr);
        switch (op)
        {
            case Op.MaxNum:
            case Op.MinNum:
                {
                    bool qa = IsQNaN(a, es), qb = IsQNaN(b, es);
                    ulong fill = Infinity(es, op == Op.MaxNum);
                    if (qa && !IsNaN(b, es)) a = fill;
                    else if (qb && !IsNaN(a, es)) b = fill;
                    return Binary(op == Op.MaxNum ? Op.Max : Op.Min, a, b, es, fpcr);
                }
            case Op.RecpStep:
            case Op.RsqrtStep:
                a ^= SignBit(es);
                break;
        }
        if (NaNs2(a, b, es, fpcr, out ulong r))
            return op == Op.NMul ? r ^ SignBit(es) : op == Op.Abd ? r & ~SignBit(es) : r;
        switch (op)
        {
            case Op.Add: return Fix(es == 64 ? B(D(a) + D(b)) : B(F(a) + F(b)), es);
            case Op.Sub: return Fix(es == 64 ? B(D(a) - D(b)) : B(F(a) - F(b)), es);
            case Op.Abd: return Fix(es == 64 ? B(D(a) - D(b)) : B(F(a) - F(b)), es) & ~SignBit(es);
            case Op.Mul: return Fix(es == 64 ? B(D(a) * D(b)) : B(F(a) * F(b)), es);
            case Op.NMul: return Fix(es == 64 ? B(D(a) * D(b)) : B(F(a) * F(b)), es) ^ SignBit(es);
            case Op.Div: return Fix(es == 64 ? B(D(a) / D(b)) : B(F(a) / F(b)), es);
            case Op.Mulx:
                if ((IsInf(a, es) && IsZero(b, es)) || (IsZero(a, es) && IsInf(b, es)))
                    return ((a ^ b) & SignBit(es)) | (es == 64 ? B(2.0) : B(2.0f));
                return Fix(es == 64 ? B(D(a) * D(b)) : B(F(a) * F(b)), es);
            case Op.Max:
            case Op.Min:
                {
                    bool max = op == Op.Max;
                    if (IsZero(a, es) && IsZero(b, es))
                        return max ? a & b : a | b; // +0 beats -0 for max, -0 for min
                    bool aLess = es == 64 ? D(a) < D(b) : F(a) < F(b);
                    return max ? (aLess ? b : a) : (aLess ? a : b);
                }
            case Op.RecpStep:
                if ((IsInf(a, es) && IsZero(b, es)) || (IsZero(a, es) && IsInf(b, es)))
                    return es == 64 ? B(2.0) : B(2.0f);
                if (IsInf(a, es) || IsInf(b, es)) return Infinity(es, ((a ^ b) & SignBit(es)) != 0);
                return es == 64 ? B(Math.FusedMultiplyAdd(D(a), D(b), 2.0)) : B(MathF.FusedMultiplyAdd(F(a), F(b), 2.0f));
            case Op.RsqrtStep:
                if ((IsInf(a, es) && IsZero(b, es)) || (IsZero(a, es) && IsInf(b, es)))
                    return es == 64 ? B(1.5) : B(1.5f);
                if (IsInf(a, es) || IsInf(b, es)) return Infinity(es, ((a ^ b) & SignBit(es)) != 0);
                // (3 + a*b) / 2 rounded once: halve an operand whose halving is exact (not in the lowest
                // binade); when both are that tiny the product cannot matter beyond the final rounding of 3 + ab
                if (es == 64)
                {
                    double x = D(a), y = D(b);
                    if (!Tiny(a, es)) return B(Math.FusedMultiplyAdd(x * 0.5, y, 1.5));
                    if (!Tiny(b, es)) return B(Math.FusedMultiplyAdd(x, y * 0.5, 1.5));
                    return B(Math.FusedMultiplyAdd(x, y, 3.0) * 0.5);
                }
                else
                {
                    float x = F(a), y = F(b);
                    if (!Tiny(a, es)) return B(MathF.FusedMultiplyAdd(x * 0.5f, y, 1.5f));
                    if (!Tiny(b, es)) return B(MathF.FusedMultiplyAdd(x, y * 0.5f, 1.5f));
                    return B(MathF.FusedMultiplyAdd(x, y, 3.0f) * 0.5f);
                }
        }
        return 0;
    }

    /// <summary>FPMulAdd(addend, op1, op2): addend + op1*op2 with one rounding.</summary>
    public static ulong MulAdd(ulong addend, ulong op1, ulong op2, int es, uint fpcr)
    {
        addend = Flush(addend, es, fpcr); op1 = Flush(op1, es, fpcr); op2 = Flush(op2, es, fpcr);
        bool infZero = (IsInf(op1, es) && IsZero(op2, es)) || (IsZero(op1, es) && IsInf(op2, es));
        if (NaNs3(addend, op1, op2, es, fpcr, out ulong r))
            return IsQNaN(addend, es) && infZero ? DefaultNaN(es) : r;
        if (es == 64) return Fix(B(Math.FusedMultiplyAdd(D(op1), D(op2), D(addend))), es);
        return Fix(B(MathF.FusedMultiplyAdd(F(op1), F(op2), F(addend))), es);
    }

    public static ulong Sqrt(ulong a, int es, uint fpcr)
    {
        a = Flush(a, es, fpcr);
        if (IsNaN(a, es)) return ProcessNaN(a, es, fpcr);
        return Fix(es == 64 ? B(Math.Sqrt(D(a))) : B(MathF.Sqrt(F(a))), es);
    }

    /// <summary>FPCompare as NZCV in bits 3..0: equal 0110, less 1000, greater 0010, unordered 0011.</summary>
    public static uint Compare(ulong a, ulong b, int es, uint fpcr)
    {
        a = Flush(a, es, fpcr); b = Flush(b, es, fpcr);
        if (IsNaN(a, es) || IsNaN(b, es)) return 0b0011;
        double x = es == 64 ? D(a) : F(a), y = es == 64 ? D(b) : F(b);
        if (x == y) return 0b0110;
        return x < y ? 0b1000u : 0b0010u;
    }

    /// <summary>Vector compares (FCMEQ/FCMGE/FCMGT/FACGE/FACGT): all-ones or zero; NaN compares false.</summary>
    public static bool CompareOp(int kind, ulong a, ulong b, int es, uint fpcr)
    {
        a = Flush(a, es, fpcr); b = Flush(b, es, fpcr);
        if (IsNaN(a, es) || IsNaN(b, es)) return false;
        if (kind >= 3) { a &= ~SignBit(es); b &= ~SignBit(es); }
        double x = es == 64 ? D(a) : F(a), y = es == 64 ? D(b) : F(b);
        return kind switch { 0 => x == y, 1 or 3 => x >= y, _ => x > y };
    }

    // ---- rounding to integral ----

    private static double RoundD(double x, int mode)
    {
        switch (mode)
        {
            case RoundPosInf: return Math.Ceiling(x);
            case RoundNegInf: return Math.Floor(x);
            case RoundZero: return Math.Truncate(x);
            case RoundTieAway:
                {
                    double t = Math.Truncate(x);
                    double d = x - t;
                    if (Math.Abs(d) >= 0.5) t += x < 0 ? -1.0 : 1.0;
                    return t == 0 ? Math.CopySign(0.0, x) : t;
                }
            default:
                {
                    double f = Math.Floor(x);
                    double d = x - f;
                    double r = f;
                    if (d > 0.5 || (d == 0.5 && Math.IEEERemainder(f, 2.0) != 0)) r = f + 1.0;
                    return r == 0 ? Math.CopySign(0.0, x) : r;
                }
        }
    }

    private static float RoundF(float x, int mode) => (float)RoundD(x, mode);

    /// <summary>FPRoundInt: FRINTN/P/M/Z/A/I/X.</summary>
    public static ulong RoundInt(ulong a, int es, int mode, uint fpcr)
    {
        a = Flush(a, es, fpcr);
        if (IsNaN(a, es)) return ProcessNaN(a, es, fpcr);
        if (IsInf(a, es) || IsZero(a, es)) return a;
        return es == 64 ? B(RoundD(D(a), mode)) : B(RoundF(F(a), mode));
    }

    // ---- conversions to and from integers ----

    /// <summary>FPToFixed: round by <paramref name="mode"/>, saturate, NaN gives 0.</summary>
    public static ulong ToInt(ulong a, int es, int fbits, bool unsigned, int intBits, int mode, uint fpcr)
    {
        a = Flush(a, es, fpcr);
        if (IsNaN(a, es)) return 0;
        double x = es == 64 ? D(a) : es == 32 ? F(a) : HalfToDouble(a);
        if (fbits != 0) x *= Pow2(fbits); // exact: a power of two; overflow saturates below anyway
        double r = RoundD(x, mode);
        if (unsigned)
        {
            if (r <= 0) return 0; // also -0 and negatives
            double lim = intBits == 64 ? 18446744073709551616.0 : intBits == 32 ? 4294967296.0 : 65536.0;
            if (r >= lim) return intBits == 64 ? ulong.MaxValue : (1UL << intBits) - 1;
            if (r >= 9223372036854775808.0) return (ulong)(long)(r - 9223372036854775808.0) + (1UL << 63);
            return (ulong)(long)r;
        }
        else
        {
            double hi = Pow2(intBits - 1);
            if (r >= hi) return (1UL << (intBits - 1)) - 1;
            if (r < -hi) return intBits == 64 ? 1UL << 63 : (ulong)(-(1L << (intBits - 1))) & (intBits == 64 ? ulong.MaxValue : (1UL << intBits) - 1);
            long v = (long)r;
            return intBits == 64 ? (ulong)v : (ulong)v & ((1UL << intBits) - 1);
        }
    }

    /// <summary>FixedToFP: an integer (already sign- or zero-extended to 64 bits) divided by 2^fbits.</summary>
    public static ulong FromInt(ulong v, bool unsigned, int fbits, int es, uint fpcr)
    {
        if (es == 16)
        {
            // convert exactly where possible, then round once to half
            double dv = unsigned ? UlongToDouble(v) : (long)v;
            return DoubleToHalf(B(dv * Pow2(-fbits)), fpcr);
        }
        if (es == 64)
        {
            double d = unsigned ? UlongToDouble(v) : (long)v;
            if (fbits != 0) d *= Pow2(-fbits);
            return B(d);
        }
        float f = unsigned ? UlongToFloat(v) : (float)(long)v;
        if (fbits != 0) f *= (float)Pow2(-fbits);
        return B(f);
    }

    /// <summary>2^n exactly (|n| well inside the double exponent range).</summary>
    public static double Pow2(int n) => BitConverter.UInt64BitsToDouble((ulong)(1023 + n) << 52);

    private static double UlongToDouble(ulong v)
    {
        if ((long)v >= 0) return (long)v;
        return (double)(long)((v >> 1) | (v & 1)) * 2.0;
    }

    private static float UlongToFloat(ulong v)
    {
        if ((long)v >= 0) return (long)v;
        return (float)(long)((v >> 1) | (v & 1)) * 2.0f;
    }

    // ---- precision conversions ----

    /// <summary>FPConvert between half (16), single (32) and double (64).</summary>
    public static ulong Convert(ulong a, int from, int to, uint fpcr)
    {
        a = Flush(a, from, fpcr);
        bool ahp = (fpcr & FpcrAHP) != 0;
        if (from == 16 && ahp)
            return to == 64 ? B(HalfToDouble(a, true)) : B((float)HalfToDouble(a, true)); // exact
        if (to == 16 && ahp)
        {
            // alternative half precision has no infinities or NaNs
            ulong sign = IsNeg(a, from) ? 0x8000UL : 0;
            if (IsNaN(a, from)) return sign;
            if (IsInf(a, from)) return sign | 0x7FFF;
        }
        if (IsNaN(a, from))
        {
            if ((fpcr & FpcrDN) != 0) return DefaultNaN(to);
            // FPConvertNaN: keep the sign and the top fraction bits, set the quiet bit
            ulong sign = IsNeg(a, from) ? SignBit(to) : 0;
            int fromFrac = from == 64 ? 52 : from == 32 ? 23 : 10;
            int toFrac = to == 64 ? 52 : to == 32 ? 23 : 10;
            ulong frac = a & ((1UL << fromFrac) - 1);
            frac = toFrac >= fromFrac ? frac << (toFrac - fromFrac) : frac >> (fromFrac - toFrac);
            return sign | ExpMask(to) | QuietBit(to) | frac;
        }
        double x = from == 64 ? D(a) : from == 32 ? F(a) : HalfToDouble(a, false);
        if (to == 64) return B(x);
        if (to == 32) return B((float)x); // cvtsd2ss rounds by MXCSR
        return DoubleToHalf(B(x), fpcr);
    }

    public static double HalfToDouble(ulong h, bool ahp = false)
    {
        bool neg = (h & 0x8000) != 0;
        int exp = (int)((h >> 10) & 0x1F);
        int frac = (int)(h & 0x3FF);
        double v;
        if (exp == 0x1F && !ahp) v = frac == 0 ? double.PositiveInfinity : double.NaN;
        else if (exp == 0) v = frac * Pow2(-24);
        else v = (1024 + frac) * Pow2(exp - 25);
        return neg ? -v : v;
    }

    /// <summary>Rounds a (non-NaN) double to IEEE half precision under the FPCR rounding mode.</summary>
    public static ulong DoubleToHalf(ulong d, uint fpcr)
    {
        ulong sign = (d >> 63) != 0 ? 0x8000UL : 0;
        if (IsNaN(d, 64)) return Convert(d, 64, 16, fpcr);
        if (IsInf(d, 64)) return sign | 0x7C00;
        if (IsZero(d, 64)) return sign;
        int mode = FpcrRMode(fpcr);
        int e = (int)((d >> 52) & 0x7FF);
        ulong m = d & ((1UL << 52) - 1);
        if (e == 0) e = 1; else m |= 1UL << 52;
        // value = m * 2^(e - 1075); target: half has 10 fraction bits, min exponent -14
        int unbiased = e - 1023; // exponent of bit 52
        int halfExp = Math.Max(unbiased, -14);
        int shift = 52 - 10 + (halfExp - unbiased); // bits dropped from m
        ulong q, rem, half;
        if (shift >= 64) { q = 0; rem = m; half = shift == 64 ? 1UL << 63 : 0; }
        else { q = m >> shift; rem = m & ((1UL << shift) - 1); half = 1UL << (shift - 1); }
        bool inexact = rem != 0;
        bool up = false;
        if (inexact)
        {
            bool sticky;
            switch (mode)
            {
                case RoundTieEven:
                    if (shift >= 64) { up = false; break; }
                    sticky = rem > half;
                    up = sticky || (rem == half && (q & 1) != 0);
                    break;
                case RoundPosInf: up = sign == 0; break;
                case RoundNegInf: up = sign != 0; break;
                default: up = false; break;
            }
        }
        if (up) q++;
        // q is the significand at exponent halfExp (with 2^10 the implicit bit)
        if (q >= 2048) { q >>= 1; halfExp++; }
        if (q == 0) return sign;
        int biased = q >= 1024 ? halfExp + 15 : 0;
        if (biased >= 31 && (fpcr & FpcrAHP) != 0)
        {
            if (biased > 31) return sign | 0x7FFF; // saturates (Invalid Operation)
            return sign | (31UL << 10) | (q & 0x3FF);
        }
        if (biased >= 31)
        {
            bool toInf = mode == RoundTieEven || (mode == RoundPosInf && sign == 0) || (mode == RoundNegInf && sign != 0);
            return sign | (toInf ? 0x7C00UL : 0x7BFFUL);
        }
        return sign | ((ulong)biased << 10) | (q & 0x3FF);
    }
}
