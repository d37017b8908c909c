using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// States for FP/SIMD differential tests: random ones, and ones whose V registers hold special values
/// (zeros, infinities, quiet and signalling NaNs, denormals, halves, values at integer limits) in every
/// 32-bit or 64-bit lane.
/// </summary>
public static class FpStates
{
    public static readonly ulong[] Doubles =
    [
        0x0000000000000000, 0x8000000000000000, 0x7FF0000000000000, 0xFFF0000000000000, // ±0, ±inf
        0x7FF8000000000000, 0xFFF8000000000000, 0x7FF8000000000123, 0xFFFC00000000ABCD, // quiet NaNs
        0x7FF0000000000001, 0xFFF4000000000000, 0x7FF7FFFFFFFFFFFF,                     // signalling NaNs
        0x0000000000000001, 0x000FFFFFFFFFFFFF, 0x8000000000000001,                     // denormals
        0x3FF8000000000000, 0xC004000000000000, 0x3FE0000000000000, 0xBFE0000000000000, // 1.5 -2.5 0.5 -0.5
        0x43E0000000000000, 0xC3E0000000000000, 0x43F0000000000000, 0x43DFFFFFFFFFFFFF, // ±2^63 2^64 <2^63
        0x41E0000000000000, 0xC1E0000000000000, 0x41F0000000000000, 0x41DFFFFFFFC00000, // ±2^31 2^32 2^31-1
        0x7FEFFFFFFFFFFFFF, 0x0010000000000000, 0x3FF0000000000000, 0xBFF0000000000000, // max, min normal, ±1
        0x4004000000000000, 0x400C000000000000, 0xC00C000000000000, 0x4330000000000001, // 2.5 3.5 -3.5 2^52+1
        0x3FDFFFFFFFFFFFFF, 0x47EFFFFFE0000000, 0x36A0000000000000, 0x40F0000000000000, // <0.5, float max, tiny, 65536
    ];

    public static readonly uint[] Floats =
    [
        0x00000000, 0x80000000, 0x7F800000, 0xFF800000,
        0x7FC00000, 0xFFC00000, 0x7FC00123, 0xFFE0ABCD,
        0x7F800001, 0xFFA00000, 0x7FBFFFFF,
        0x00000001, 0x007FFFFF, 0x80000001,
        0x3FC00000, 0xC0200000, 0x3F000000, 0xBF000000,
        0x5F000000, 0xDF000000, 0x5F800000, 0x4F000000,
        0xCF000000, 0x4F800000, 0x4EFFFFFF, 0x7F7FFFFF,
        0x00800000, 0x3F800000, 0xBF800000, 0x40200000,
        0x40600000, 0xC0600000, 0x4B000001, 0x3EFFFFFF,
        0x477FE000, 0x33800000, 0x47800000, 0x4B7FFFFF,
    ];

    public static MachineState Special(int seed)
    {
        var s = MachineState.Random(1000 + seed);
        var r = new Random(seed);
        for (int i = 0; i < 32; i++)
        {
            if (r.Next(2) == 0)
            {
                s.V[2 * i] = Doubles[r.Next(Doubles.Length)];
                s.V[2 * i + 1] = Doubles[r.Next(Doubles.Length)];
            }
            else
            {
                for (int h = 0; h < 2; h++)
                    s.V[2 * i + h] = Floats[r.Next(Floats.Length)] | ((ulong)Floats[r.Next(Floats.Length)] << 32);
            }
        }
        // some small integers for conversions from general registers
        for (int i = 20; i < 24; i++) s.X[i] = (ulong)(r.Next(-100, 100));
        return s;
    }

    /// <summary>Random states 0..randomCount-1, then special-value states.</summary>
    public static void Check(string snippet, int randomCount = 3, int specialCount = 10)
    {
        for (int i = 0; i < randomCount; i++) DiffTest.AssertSameAsQemu(snippet, MachineState.Random(i));
        for (int i = 0; i < specialCount; i++) DiffTest.AssertSameAsQemu(snippet, Special(i));
    }

    /// <summary>As <see cref="Check"/>, with FPCR set (rounding mode, FZ, DN) by the snippet itself from x28.</summary>
    public static void CheckWithFpcr(string snippet, uint fpcr, int specialCount = 6)
    {
        string s = $"msr fpcr, x28\n{snippet}\nmsr fpcr, xzr";
        for (int i = 0; i < 2 + specialCount; i++)
        {
            var st = i < 2 ? MachineState.Random(i) : Special(i);
            st.X[28] = fpcr;
            DiffTest.AssertSameAsQemu(s, st);
        }
    }
}

public class FpScalarTests
{
    [Theory]
    [InlineData("fadd d0, d1, d2\nfadd s3, s4, s5\nfadd d6, d6, d6\nfsub d7, d8, d9\nfsub s10, s11, s12")]
    [InlineData("fmul d0, d1, d2\nfmul s3, s4, s5\nfdiv d6, d7, d8\nfdiv s9, s10, s11\nfnmul d12, d13, d14\nfnmul s15, s16, s17")]
    [InlineData("fmax d0, d1, d2\nfmax s3, s4, s5\nfmin d6, d7, d8\nfmin s9, s10, s11")]
    [InlineData("fmaxnm d0, d1, d2\nfmaxnm s3, s4, s5\nfminnm d6, d7, d8\nfminnm s9, s10, s11\nfmaxnm d12, d12, d13")]
    [InlineData("fmadd d0, d1, d2, d3\nfmadd s4, s5, s6, s7\nfmsub d8, d9, d10, d11\nfmsub s12, s13, s14, s15")]
    [InlineData("fnmadd d0, d1, d2, d3\nfnmadd s4, s5, s6, s7\nfnmsub d8, d9, d10, d11\nfnmsub s12, s13, s14, s15")]
    [InlineData("fabs d0, d1\nfabs s2, s3\nfneg d4, d5\nfneg s6, s7\nfmov d8, d9\nfmov s10, s11\nfsqrt d12, d13\nfsqrt s14, s15")]
    [InlineData("fcvt d0, s1\nfcvt s2, d3\nfcvt h4, s5\nfcvt h6, d7\nfcvt s8, h9\nfcvt d10, h11")]
    [InlineData("frintn d0, d1\nfrintp d2, d3\nfrintm d4, d5\nfrintz d6, d7\nfrinta d8, d9\nfrintx d10, d11\nfrinti d12, d13")]
    [InlineData("frintn s0, s1\nfrintp s2, s3\nfrintm s4, s5\nfrintz s6, s7\nfrinta s8, s9\nfrintx s10, s11\nfrinti s12, s13")]
    [InlineData("fmov d0, #1.0\nfmov s1, #-2.5\nfmov d2, #0.125\nfmov s3, #31.0\nfmov d4, #-1.9375")]
    [InlineData("fmov x0, d1\nfmov w2, s3\nfmov d4, x5\nfmov s6, w7\nfmov x8, v9.d[1]\nfmov v10.d[1], x11\nfmov d12, xzr\nfmov v13.d[1], xzr")]
    public void Arithmetic(string snippet) => FpStates.Check(snippet);

    [Theory]
    [InlineData("fcmp d1, d2\nmrs x1, nzcv\nfcmp s3, s4\nmrs x2, nzcv\nfcmp d5, #0.0\nmrs x3, nzcv\nfcmp s6, #0.0\nmrs x4, nzcv\nfcmpe d7, d8\nmrs x5, nzcv\nfcmpe s9, #0.0")]
    [InlineData("fcmp d1, d1\nmrs x1, nzcv\nfccmp d2, d3, #5, eq\nmrs x2, nzcv\nfccmp s4, s5, #0xa, ne\nmrs x3, nzcv\nfccmpe d6, d7, #3, al\nmrs x4, nzcv")]
    [InlineData("fcsel d0, d1, d2, eq\nfcsel s3, s4, s5, lt\nfcsel d6, d7, d8, hi\nfcsel s9, s10, s11, al\nfcmp d12, d13\nfcsel d14, d15, d16, mi")]
    public void CompareAndSelect(string snippet) => FpStates.Check(snippet);

    [Theory]
    [InlineData("fcvtzs x0, d1\nfcvtzs w2, d3\nfcvtzs x4, s5\nfcvtzs w6, s7\nfcvtzu x8, d9\nfcvtzu w10, d11\nfcvtzu x12, s13\nfcvtzu w14, s15")]
    [InlineData("fcvtns x0, d1\nfcvtns w2, s3\nfcvtnu x4, d5\nfcvtnu w6, s7\nfcvtps x8, d9\nfcvtpu w10, s11\nfcvtms x12, d13\nfcvtmu x14, s15")]
    [InlineData("fcvtas x0, d1\nfcvtas w2, s3\nfcvtau x4, d5\nfcvtau w6, s7\nfcvtas x8, s9\nfcvtau w10, d11")]
    [InlineData("fcvtzs x0, d1, #3\nfcvtzs w2, s3, #31\nfcvtzu x4, d5, #64\nfcvtzu w6, s7, #1\nfcvtzs x8, s9, #10\nfcvtzu w10, d11, #32")]
    [InlineData("scvtf d0, x1\nscvtf s2, w3\nucvtf d4, x5\nucvtf s6, w7\nscvtf s8, x9\nucvtf s10, x11\nucvtf d12, w13\nscvtf d14, w15\nscvtf d16, x20\nucvtf s17, w21")]
    [InlineData("scvtf d0, x1, #3\nscvtf s2, w3, #32\nucvtf d4, x5, #64\nucvtf s6, w7, #1\nscvtf s8, x9, #20\nucvtf d10, w11, #16")]
    public void Conversions(string snippet) => FpStates.Check(snippet);

    [Theory]
    [InlineData(0x00400000u)] // round toward +inf
    [InlineData(0x00800000u)] // toward -inf
    [InlineData(0x00C00000u)] // toward zero
    [InlineData(0x02000000u)] // default NaN
    [InlineData(0x01000000u)] // flush to zero
    [InlineData(0x02C00000u)] // default NaN, toward zero
    public void RoundingModesAndDefaultNaN(uint fpcr) => FpStates.CheckWithFpcr(
        "fadd d0, d1, d2\nfmul s3, s4, s5\nfdiv d6, d7, d8\nfmadd d9, d10, d11, d12\nfrinti d13, d14\nfrintx s15, s16\n" +
        "fcvtns x0, d17\nscvtf s18, x1\nucvtf d19, x2\nfcvt s20, d21\nfcvt h22, d23\nfsqrt s24, s25\nfmaxnm d26, d27, d29\nfrinta d30, d31", fpcr);

    [Theory]
    [InlineData(0x00400000u)]
    [InlineData(0x00800000u)]
    [InlineData(0x00C00000u)]
    [InlineData(0x02000000u)]
    [InlineData(0x01000000u)]
    public void VectorRoundingModesAndDefaultNaN(uint fpcr) => FpStates.CheckWithFpcr(
        "fadd v0.4s, v1.4s, v2.4s\nfmul v3.2d, v4.2d, v5.2d\nfdiv v6.2s, v7.2s, v8.2s\nfmla v9.2d, v10.2d, v11.2d\nfrinti v12.4s, v13.4s\n" +
        "frintx v14.2d, v15.2d\nfcvtns v16.4s, v17.4s\nscvtf v18.2d, v19.2d\nucvtf v20.4s, v21.4s\nfcvtn v22.2s, v23.2d\nfcvtl v24.2d, v25.2s\n" +
        "fsqrt v26.4s, v27.4s\nfminnm v28.2d, v29.2d, v30.2d\nfrecpe v31.4s, v0.4s\nfrsqrte v1.2d, v2.2d\nfrecps v3.4s, v4.4s, v5.4s\nfcvtn v6.4h, v7.4s", fpcr);

    /// <summary>
    /// FPCR.FZ flushes a result that is tiny before rounding, x86's FTZ one that is tiny after rounding: products and
    /// fused sums just below the smallest normal that round up to it (n*m = (2^25-1)*2^-151 for singles,
    /// (2^54-1)*2^-1076 for doubles, both signs; 2^-125 - (2^25+1)*2^-151 through FMSUB/FMLS; doubles just below
    /// 2^-126 narrowed by FCVT/FCVTN) are zero under FZ, as
    /// under qemu-aarch64, in every rounding mode, and the smallest normal without FZ. Scalar, vector and by-element
    /// forms (each has its own out-of-line recomputation).
    /// </summary>
    [Theory]
    [InlineData(0x01000000u)] // FZ
    [InlineData(0x01400000u)] // FZ, toward +inf
    [InlineData(0x01800000u)] // FZ, toward -inf
    [InlineData(0x01C00000u)] // FZ, toward zero
    [InlineData(0x00000000u)] // no FZ
    public void FlushToZeroTestsTininessBeforeRounding(uint fpcr)
    {
        const ulong sn = 0x21118e00, sm = 0x1ee12000, sn2 = 0x3f400000, sm2 = 0x00aaaaab, s2t = 0x01000000, ss = 0x80000000;
        const ulong dn = 0x3feffff800000000, dm = 0x0010000400010000, ds = 0x8000000000000000;
        var st = MachineState.Random(7);
        void V(int v, ulong lo, ulong hi) { st.V[2 * v] = lo; st.V[2 * v + 1] = hi; }
        V(1, sn | (sn | ss) << 32, sn | (sn | ss) << 32);
        V(2, sm | sm << 32, sm | sm << 32);
        V(3, 0, 0);
        V(4, s2t | (s2t | ss) << 32, s2t | s2t << 32);
        V(5, sn2 | (sn2 | ss) << 32, sn2 | sn2 << 32);
        V(6, sm2 | sm2 << 32, sm2 | sm2 << 32);
        V(7, dn, dn | ds);
        V(8, dm, dm);
        V(9, 0x380FFFFFF0000000, 0xB80FFFFFF8000000); // (2^-126)(1 - 2^-25) and -(2^-126)(1 - 2^-26): round to the smallest normal
        st.X[28] = fpcr;
        DiffTest.AssertSameAsQemu(
            "msr fpcr, x28\n" +
            "fmadd s10, s1, s2, s3\nfmul s11, s1, s2\nfnmul s12, s1, s2\nfmsub s13, s5, s6, s4\nfnmadd s14, s1, s2, s3\n" +
            "fnmsub s15, s5, s6, s4\nfmadd d16, d7, d8, d3\nfmul d17, d7, d8\n" +
            "mov v18.16b, v3.16b\nfmla v18.4s, v1.4s, v2.4s\nmov v19.16b, v4.16b\nfmls v19.4s, v5.4s, v6.4s\n" +
            "fmul v20.4s, v1.4s, v2.4s\nfmul v21.2d, v7.2d, v8.2d\nmov v22.16b, v3.16b\nfmla v22.2d, v7.2d, v8.d[0]\n" +
            "fmul v23.4s, v1.4s, v2.s[1]\nmov v24.16b, v4.16b\nfmls v24.4s, v5.4s, v6.s[0]\nmov v25.16b, v3.16b\nfmla s25, s1, v2.s[0]\n" +
            "fmla v26.2s, v1.2s, v2.2s\nfmul d27, d7, v8.d[1]\nfcvt s28, d9\nfcvtn v29.2s, v9.2d\n" +
            "msr fpcr, xzr", st);
    }

    /// <summary>
    /// Under FZ a vector result with one lane at the smallest normal is computed again toward zero for that lane only:
    /// its neighbours keep FPCR's rounding. The differential fuzzer's cases (seed 20261209): FMLS by element toward
    /// +inf, lane 2 = -2^-126 (lane 1, 130.77, came out 1 ulp low), and FMLA by element to nearest with DN, lane 0 tiny
    /// (lane 1, 1.118e9, 1 ulp low); both against qemu-aarch64.
    /// </summary>
    [Theory]
    [InlineData("fmls v16.4s, v14.4s, v30.s[0]", 0x01400000u, 14, 0xbf8f16256ffe2c4bUL, 0x4330000000000000UL,
        16, 0x421545e55f800000UL, 0xaf4f417a80800000UL, 30, 0x2a9f9ea442a731baUL, 0xcf593e21c4603000UL)]
    [InlineData("fmla v10.2s, v4.2s, v16.s[2]", 0x03000000u, 4, 0x43cba000aa3a3c27UL, 0x19ffed0e83616f52UL,
        10, 0x4e85460a80800000UL, 0x3f8000017f7fffffUL, 16, 0xc27fb86cec7f70daUL, 0xbdc56777866aceefUL)]
    public void ALaneAtTheSmallestNormalLeavesItsNeighboursRoundedAsFpcrSays(string insn, uint fpcr,
        int a, ulong aLo, ulong aHi, int b, ulong bLo, ulong bHi, int c, ulong cLo, ulong cHi)
    {
        var st = MachineState.Random(3);
        void V(int v, ulong lo, ulong hi) { st.V[2 * v] = lo; st.V[2 * v + 1] = hi; }
        V(a, aLo, aHi);
        V(b, bLo, bHi);
        V(c, cLo, cHi);
        st.X[28] = fpcr;
        DiffTest.AssertSameAsQemu($"msr fpcr, x28\n{insn}\nmsr fpcr, xzr", st);
    }

    [Fact]
    public void NanPrintsPositiveOnZeroDivZero()
    {
        var s = MachineState.Random(1);
        s.V[2] = 0; s.V[4] = 0; s.V[6] = 0x7FF0000000000000; s.V[8] = 0xFFF0000000000000;
        DiffTest.AssertSameAsQemu("fdiv d0, d1, d2\nfadd d5, d3, d4\nfmul d6, d1, d3\nfsqrt d7, d4", s);
    }
}
