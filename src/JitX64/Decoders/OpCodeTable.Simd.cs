using Dqemu.JitX64.Instructions;

namespace Dqemu.JitX64.Decoders;

/// <summary>
/// Advanced SIMD data processing (no loads/stores). Rows are expanded per arrangement so reserved
/// size/Q combinations stay undefined and the disassembly names the arrangement: in patterns 'Q' is bit 30
/// and "ZZ" bits 23..22 (integer size), 'S' bit 22 (FP size). In formats {T} is the arrangement, {Tw} the
/// 128-bit arrangement of twice the element size, {Tp} the pairwise-long one, {2} the "2" suffix of Q=1
/// forms, {E..} / {Ew..} scalar registers of the element size / twice it.
/// </summary>
public static partial class OpCodeTable
{
    // in a class of its own: partial-class field initializers run in file order, after All may be built
    private static string[] Arr => Arrangements.Names;
    private static class Arrangements { public static readonly string[] Names = ["8b", "16b", "4h", "8h", "2s", "4s", "1d", "2d"]; }
    private const string BHSD = "8b,16b,4h,8h,2s,4s,2d", BHS = "8b,16b,4h,8h,2s,4s", HS = "4h,8h,2s,4s", B8 = "8b,16b";
    private const string BH = "8b,16b,4h,8h", Q2S = "2s,4s", Q4H = "4h,8h";

    private static string FormatV(string format, int size, int q)
    {
        string f = format.Replace("{T}", Arr[size * 2 + q]).Replace("{2}", q == 1 ? "2" : "");
        if (size < 3)
        {
            f = f.Replace("{Tw}", Arr[(size + 1) * 2 + 1]).Replace("{Tp}", Arr[(size + 1) * 2 + q]);
            f = f.Replace("{Ew", "{" + "BHSD"[size + 1]);
        }
        f = f.Replace("{es}", (8 << size).ToString()).Replace("{e}", "bhsd"[size].ToString());
        return f.Replace("{E", "{" + "BHSD"[size]);
    }

    private static string SizeBits(int size) => size switch { 0 => "00", 1 => "01", 2 => "10", _ => "11" };

    /// <summary>
    /// <paramref name="pattern"/> with bit <paramref name="q"/> for 'Q', <paramref name="size"/>'s two bits for "ZZ" and
    /// bit <paramref name="s"/> for 'S' (a letter given -1 stays), in one new string: the table is built at every start,
    /// and a Replace per letter left a garbage string per row.
    /// </summary>
    private static string Fill(string pattern, int q, int size = -1, int s = -1) => string.Create(pattern.Length, (pattern, q, size, s),
        static (dst, a) =>
        {
            bool high = true;
            for (int i = 0; i < dst.Length; i++)
            {
                char c = a.pattern[i];
                dst[i] = c switch
                {
                    'Q' when a.q >= 0 => (char)('0' + a.q),
                    'S' when a.s >= 0 => (char)('0' + a.s),
                    'Z' when a.size >= 0 => (char)('0' + ((a.size >> ((high = !high) ? 0 : 1)) & 1)),
                    _ => c,
                };
            }
        });

    /// <summary>One row per arrangement in <paramref name="arrs"/> (Q and "ZZ" filled in).</summary>
    private static void AddV(this List<InstDescriptor> t, string name, string pattern, InstEmitter e, string format, string arrs)
    {
        string rowName = name.Replace("{2}", "") + " (vector)";
        foreach (var range in arrs.AsSpan().Split(','))
        {
            int idx = Array.IndexOf(Arr, arrs[range]);
            int size = idx / 2, q = idx % 2;
            t.AddLazy(rowName, Fill(pattern, q, size), e, format, size, q);
        }
    }

    /// <summary>Scalar rows: one per element size in <paramref name="sizes"/> ("bhsd" letters).</summary>
    private static void AddSc(this List<InstDescriptor> t, string name, string pattern, InstEmitter e, string format, string sizes)
    {
        string rowName = name + " (scalar)";
        foreach (char c in sizes)
        {
            int size = "bhsd".IndexOf(c);
            t.AddLazy(rowName, Fill(pattern, -1, size), e, format, size, 0);
        }
    }

    /// <summary>FP vector rows: 2s, 4s, 2d ('S' is sz, 'Q' is Q).</summary>
    private static void AddVF(this List<InstDescriptor> t, string name, string pattern, InstEmitter e, string format, bool singleOnly = false)
    {
        string rowName = name + " (vector)";
        foreach (var (sz, q, arr) in new[] { (0, 0, "2s"), (0, 1, "4s"), (1, 1, "2d") })
        {
            if (singleOnly && sz == 1) continue;
            t.Add(rowName, Fill(pattern, q, s: sz), e, format.Replace("{T}", arr));
        }
    }

    static partial void AddSimd(List<InstDescriptor> t)
    {
        AddSimdThreeSame(t);
        AddSimdTwoMisc(t);
        AddSimdOther(t);
        AddSimdShiftAndIndexed(t);
    }

    private static void AddSimdThreeSame(List<InstDescriptor> t)
    {
        InstEmitter e = InstEmit.SimdThreeSame;
        void V(string mn, char u, string opc, string arrs)
            => t.AddV(mn.ToUpperInvariant(), "0Q" + u + "01110ZZ1mmmmm" + opc + "1nnnnnddddd", e, mn + " {Vd}.{T}, {Vn}.{T}, {Vm}.{T}", arrs);
        V("shadd", '0', "00000", BHS); V("uhadd", '1', "00000", BHS);
        V("sqadd", '0', "00001", BHSD); V("uqadd", '1', "00001", BHSD);
        V("srhadd", '0', "00010", BHS); V("urhadd", '1', "00010", BHS);
        V("shsub", '0', "00100", BHS); V("uhsub", '1', "00100", BHS);
        V("sqsub", '0', "00101", BHSD); V("uqsub", '1', "00101", BHSD);
        V("cmgt", '0', "00110", BHSD); V("cmhi", '1', "00110", BHSD);
        V("cmge", '0', "00111", BHSD); V("cmhs", '1', "00111", BHSD);
        V("sshl", '0', "01000", BHSD); V("ushl", '1', "01000", BHSD);
        V("sqshl", '0', "01001", BHSD); V("uqshl", '1', "01001", BHSD);
        V("srshl", '0', "01010", BHSD); V("urshl", '1', "01010", BHSD);
        V("sqrshl", '0', "01011", BHSD); V("uqrshl", '1', "01011", BHSD);
        V("smax", '0', "01100", BHS); V("umax", '1', "01100", BHS);
        V("smin", '0', "01101", BHS); V("umin", '1', "01101", BHS);
        V("sabd", '0', "01110", BHS); V("uabd", '1', "01110", BHS);
        V("saba", '0', "01111", BHS); V("uaba", '1', "01111", BHS);
        V("add", '0', "10000", BHSD); V("sub", '1', "10000", BHSD);
        V("cmtst", '0', "10001", BHSD); V("cmeq", '1', "10001", BHSD);
        V("mla", '0', "10010", BHS); V("mls", '1', "10010", BHS);
        V("mul", '0', "10011", BHS); V("pmul", '1', "10011", B8);
        V("smaxp", '0', "10100", BHS); V("umaxp", '1', "10100", BHS);
        V("sminp", '0', "10101", BHS); V("uminp", '1', "10101", BHS);
        V("sqdmulh", '0', "10110", HS); V("sqrdmulh", '1', "10110", HS);
        V("addp", '0', "10111", BHSD);
        // logic: size selects the operation
        string[] logic = ["and", "bic", "orr", "orn", "eor", "bsl", "bit", "bif"];
        for (int i = 0; i < 8; i++)
            t.AddV(logic[i].ToUpperInvariant(), "0Q" + (i >> 2) + "01110" + SizeBits(i & 3) + "1mmmmm000111nnnnnddddd", e,
                logic[i] + " {Vd}.{T}, {Vn}.{T}, {Vm}.{T}", B8);

        // FP three-same
        InstEmitter f = InstEmit.SimdFpThreeSame;
        void F(string mn, char u, char a, string opc)
            => t.AddVF(mn.ToUpperInvariant(), "0Q" + u + "01110" + a + "S1mmmmm" + opc + "1nnnnnddddd", f, mn + " {Vd}.{T}, {Vn}.{T}, {Vm}.{T}");
        F("fmaxnm", '0', '0', "11000"); F("fmla", '0', '0', "11001"); F("fadd", '0', '0', "11010"); F("fmulx", '0', '0', "11011");
        F("fcmeq", '0', '0', "11100"); F("fmax", '0', '0', "11110"); F("frecps", '0', '0', "11111");
        F("fminnm", '0', '1', "11000"); F("fmls", '0', '1', "11001"); F("fsub", '0', '1', "11010"); F("fmin", '0', '1', "11110");
        F("frsqrts", '0', '1', "11111");
        F("fmaxnmp", '1', '0', "11000"); F("faddp", '1', '0', "11010"); F("fmul", '1', '0', "11011"); F("fcmge", '1', '0', "11100");
        F("facge", '1', '0', "11101"); F("fmaxp", '1', '0', "11110"); F("fdiv", '1', '0', "11111");
        F("fminnmp", '1', '1', "11000"); F("fabd", '1', '1', "11010"); F("fcmgt", '1', '1', "11100"); F("facgt", '1', '1', "11101");
        F("fminp", '1', '1', "11110");

        // scalar three-same
        void S(string mn, char u, string opc, string sizes)
            => t.AddSc(mn.ToUpperInvariant(), "01" + u + "11110ZZ1mmmmm" + opc + "1nnnnnddddd", e, mn + " {Ed}, {En}, {Em}", sizes);
        S("sqadd", '0', "00001", "bhsd"); S("uqadd", '1', "00001", "bhsd");
        S("sqsub", '0', "00101", "bhsd"); S("uqsub", '1', "00101", "bhsd");
        S("cmgt", '0', "00110", "d"); S("cmhi", '1', "00110", "d");
        S("cmge", '0', "00111", "d"); S("cmhs", '1', "00111", "d");
        S("sshl", '0', "01000", "d"); S("ushl", '1', "01000", "d");
        S("sqshl", '0', "01001", "bhsd"); S("uqshl", '1', "01001", "bhsd");
        S("srshl", '0', "01010", "d"); S("urshl", '1', "01010", "d");
        S("sqrshl", '0', "01011", "bhsd"); S("uqrshl", '1', "01011", "bhsd");
        S("add", '0', "10000", "d"); S("sub", '1', "10000", "d");
        S("cmtst", '0', "10001", "d"); S("cmeq", '1', "10001", "d");
        S("sqdmulh", '0', "10110", "hs"); S("sqrdmulh", '1', "10110", "hs");
        void SF(string mn, char u, char a, string opc)
            => t.AddFpSD(mn.ToUpperInvariant(), "01" + u + "11110" + a + "T1mmmmm" + opc + "1nnnnnddddd", f, mn + " {Fd}, {Fn}, {Fm}");
        SF("fmulx", '0', '0', "11011"); SF("fcmeq", '0', '0', "11100"); SF("frecps", '0', '0', "11111"); SF("frsqrts", '0', '1', "11111");
        SF("fcmge", '1', '0', "11100"); SF("facge", '1', '0', "11101"); SF("fabd", '1', '1', "11010");
        SF("fcmgt", '1', '1', "11100"); SF("facgt", '1', '1', "11101");

        // scalar pairwise
        t.Add("ADDP", "0101111011110001101110nnnnnddddd", InstEmit.SimdAddpScalar, "addp {Dd}, {Vn}.2d");
        t.AddFpSD("FADDP", "011111100T110000110110nnnnnddddd", InstEmit.SimdFaddpScalar, "faddp {Fd}, {Vn}.2{f}");
        t.AddFpSD("FMAXNMP", "011111100T110000110010nnnnnddddd", InstEmit.SimdSoftScalarPairwise, "fmaxnmp {Fd}, {Vn}.2{f}");
        t.AddFpSD("FMAXP", "011111100T110000111110nnnnnddddd", InstEmit.SimdSoftScalarPairwise, "fmaxp {Fd}, {Vn}.2{f}");
        t.AddFpSD("FMINNMP", "011111101T110000110010nnnnnddddd", InstEmit.SimdSoftScalarPairwise, "fminnmp {Fd}, {Vn}.2{f}");
        t.AddFpSD("FMINP", "011111101T110000111110nnnnnddddd", InstEmit.SimdSoftScalarPairwise, "fminp {Fd}, {Vn}.2{f}");
    }

    private static void AddSimdTwoMisc(List<InstDescriptor> t)
    {
        InstEmitter e = InstEmit.SimdTwoMisc;
        void V(string mn, char u, string opc, string arrs, string fmt = "{Vd}.{T}, {Vn}.{T}", string size = "ZZ")
            => t.AddV(mn.ToUpperInvariant(), "0Q" + u + "01110" + size + "10000" + opc + "10nnnnnddddd", e, mn + " " + fmt, arrs);
        V("rev64", '0', "00000", BHS); V("rev32", '1', "00000", BH); V("rev16", '0', "00001", B8);
        V("saddlp", '0', "00010", BHS, "{Vd}.{Tp}, {Vn}.{T}"); V("uaddlp", '1', "00010", BHS, "{Vd}.{Tp}, {Vn}.{T}");
        V("suqadd", '0', "00011", BHSD); V("usqadd", '1', "00011", BHSD);
        V("cls", '0', "00100", BHS); V("clz", '1', "00100", BHS);
        V("cnt", '0', "00101", B8); V("not", '1', "00101", B8, size: "00"); V("rbit", '1', "00101", B8, size: "01");
        V("sadalp", '0', "00110", BHS, "{Vd}.{Tp}, {Vn}.{T}"); V("uadalp", '1', "00110", BHS, "{Vd}.{Tp}, {Vn}.{T}");
        V("sqabs", '0', "00111", BHSD); V("sqneg", '1', "00111", BHSD);
        V("cmgt", '0', "01000", BHSD, "{Vd}.{T}, {Vn}.{T}, #0"); V("cmge", '1', "01000", BHSD, "{Vd}.{T}, {Vn}.{T}, #0");
        V("cmeq", '0', "01001", BHSD, "{Vd}.{T}, {Vn}.{T}, #0"); V("cmle", '1', "01001", BHSD, "{Vd}.{T}, {Vn}.{T}, #0");
        V("cmlt", '0', "01010", BHSD, "{Vd}.{T}, {Vn}.{T}, #0");
        V("abs", '0', "01011", BHSD); V("neg", '1', "01011", BHSD);
        V("xtn{2}", '0', "10010", BHS, "{Vd}.{T}, {Vn}.{Tw}"); V("sqxtun{2}", '1', "10010", BHS, "{Vd}.{T}, {Vn}.{Tw}");
        V("shll{2}", '1', "10011", BHS, "{Vd}.{Tw}, {Vn}.{T}, #{es}");
        V("sqxtn{2}", '0', "10100", BHS, "{Vd}.{T}, {Vn}.{Tw}"); V("uqxtn{2}", '1', "10100", BHS, "{Vd}.{T}, {Vn}.{Tw}");

        // FP two-register misc
        InstEmitter f = InstEmit.SimdFpTwoMisc;
        void F(string mn, char u, char hi, string opc, bool singleOnly = false)
            => t.AddVF(mn.ToUpperInvariant(), "0Q" + u + "01110" + hi + "S10000" + opc + "10nnnnnddddd", f, mn + " {Vd}.{T}, {Vn}.{T}", singleOnly);
        F("frintn", '0', '0', "11000"); F("frintm", '0', '0', "11001"); F("fcvtns", '0', '0', "11010"); F("fcvtms", '0', '0', "11011");
        F("fcvtas", '0', '0', "11100"); F("scvtf", '0', '0', "11101");
        F("fcmgt", '0', '1', "01100"); F("fcmeq", '0', '1', "01101"); F("fcmlt", '0', '1', "01110"); F("fabs", '0', '1', "01111");
        F("frintp", '0', '1', "11000"); F("frintz", '0', '1', "11001"); F("fcvtps", '0', '1', "11010"); F("fcvtzs", '0', '1', "11011");
        F("urecpe", '0', '1', "11100", true); F("frecpe", '0', '1', "11101");
        F("frinta", '1', '0', "11000"); F("frintx", '1', '0', "11001"); F("fcvtnu", '1', '0', "11010"); F("fcvtmu", '1', '0', "11011");
        F("fcvtau", '1', '0', "11100"); F("ucvtf", '1', '0', "11101");
        F("fcmge", '1', '1', "01100"); F("fcmle", '1', '1', "01101"); F("fneg", '1', '1', "01111");
        F("frinti", '1', '1', "11001"); F("fcvtpu", '1', '1', "11010"); F("fcvtzu", '1', '1', "11011");
        F("ursqrte", '1', '1', "11100", true); F("frsqrte", '1', '1', "11101"); F("fsqrt", '1', '1', "11111");
        // precision conversions: sz=0 half<->single, sz=1 single<->double
        for (int q = 0; q < 2; q++)
        {
            string s2 = q == 1 ? "2" : "";
            string P(char u, char sz, string opc) => "0" + q + u + "011100" + sz + "10000" + opc + "10nnnnnddddd";
            t.Add("FCVTN", P('0', '0', "10110"), f, $"fcvtn{s2} {{Vd}}.{(q == 1 ? "8h" : "4h")}, {{Vn}}.4s");
            t.Add("FCVTN", P('0', '1', "10110"), f, $"fcvtn{s2} {{Vd}}.{(q == 1 ? "4s" : "2s")}, {{Vn}}.2d");
            t.Add("FCVTXN", P('1', '1', "10110"), f, $"fcvtxn{s2} {{Vd}}.{(q == 1 ? "4s" : "2s")}, {{Vn}}.2d");
            t.Add("FCVTL", P('0', '0', "10111"), f, $"fcvtl{s2} {{Vd}}.4s, {{Vn}}.{(q == 1 ? "8h" : "4h")}");
            t.Add("FCVTL", P('0', '1', "10111"), f, $"fcvtl{s2} {{Vd}}.2d, {{Vn}}.{(q == 1 ? "4s" : "2s")}");
        }

        // scalar two-register misc
        void S(string mn, char u, string opc, string sizes, string fmt = "{Ed}, {En}")
            => t.AddSc(mn.ToUpperInvariant(), "01" + u + "11110ZZ10000" + opc + "10nnnnnddddd", e, mn + " " + fmt, sizes);
        S("suqadd", '0', "00011", "bhsd"); S("usqadd", '1', "00011", "bhsd");
        S("sqabs", '0', "00111", "bhsd"); S("sqneg", '1', "00111", "bhsd");
        S("cmgt", '0', "01000", "d", "{Ed}, {En}, #0"); S("cmge", '1', "01000", "d", "{Ed}, {En}, #0");
        S("cmeq", '0', "01001", "d", "{Ed}, {En}, #0"); S("cmle", '1', "01001", "d", "{Ed}, {En}, #0");
        S("cmlt", '0', "01010", "d", "{Ed}, {En}, #0");
        S("abs", '0', "01011", "d"); S("neg", '1', "01011", "d");
        S("sqxtun", '1', "10010", "bhs", "{Ed}, {Ewn}"); S("sqxtn", '0', "10100", "bhs", "{Ed}, {Ewn}"); S("uqxtn", '1', "10100", "bhs", "{Ed}, {Ewn}");
        void SF(string mn, char u, char hi, string opc, string fmt = "{Fd}, {Fn}")
            => t.AddFpSD(mn.ToUpperInvariant(), "01" + u + "11110" + hi + "T10000" + opc + "10nnnnnddddd", f, mn + " " + fmt);
        SF("fcvtns", '0', '0', "11010"); SF("fcvtms", '0', '0', "11011"); SF("fcvtas", '0', '0', "11100"); SF("scvtf", '0', '0', "11101");
        SF("fcmgt", '0', '1', "01100", "{Fd}, {Fn}, #0.0"); SF("fcmeq", '0', '1', "01101", "{Fd}, {Fn}, #0.0");
        SF("fcmlt", '0', '1', "01110", "{Fd}, {Fn}, #0.0");
        SF("fcvtps", '0', '1', "11010"); SF("fcvtzs", '0', '1', "11011"); SF("frecpe", '0', '1', "11101"); SF("frecpx", '0', '1', "11111");
        SF("fcvtnu", '1', '0', "11010"); SF("fcvtmu", '1', '0', "11011"); SF("fcvtau", '1', '0', "11100"); SF("ucvtf", '1', '0', "11101");
        SF("fcmge", '1', '1', "01100", "{Fd}, {Fn}, #0.0"); SF("fcmle", '1', '1', "01101", "{Fd}, {Fn}, #0.0");
        SF("fcvtpu", '1', '1', "11010"); SF("fcvtzu", '1', '1', "11011"); SF("frsqrte", '1', '1', "11101");
        t.Add("FCVTXN", "0111111001100001011010nnnnnddddd", f, "fcvtxn {Sd}, {Dn}");

        // across lanes
        InstEmitter x = InstEmit.SimdAcross;
        void A(string mn, char u, string opc, string fmt)
            => t.AddV(mn.ToUpperInvariant(), "0Q" + u + "01110ZZ11000" + opc + "10nnnnnddddd", x, mn + " " + fmt, "8b,16b,4h,8h,4s");
        A("saddlv", '0', "00011", "{Ewd}, {Vn}.{T}"); A("uaddlv", '1', "00011", "{Ewd}, {Vn}.{T}");
        A("smaxv", '0', "01010", "{Ed}, {Vn}.{T}"); A("umaxv", '1', "01010", "{Ed}, {Vn}.{T}");
        A("sminv", '0', "11010", "{Ed}, {Vn}.{T}"); A("uminv", '1', "11010", "{Ed}, {Vn}.{T}");
        A("addv", '0', "11011", "{Ed}, {Vn}.{T}");
        t.Add("FMAXNMV", "0110111000110000110010nnnnnddddd", x, "fmaxnmv {Sd}, {Vn}.4s");
        t.Add("FMINNMV", "0110111010110000110010nnnnnddddd", x, "fminnmv {Sd}, {Vn}.4s");
        t.Add("FMAXV", "0110111000110000111110nnnnnddddd", x, "fmaxv {Sd}, {Vn}.4s");
        t.Add("FMINV", "0110111010110000111110nnnnnddddd", x, "fminv {Sd}, {Vn}.4s");
    }

    private static void AddSimdOther(List<InstDescriptor> t)
    {
        // three different
        InstEmitter e = InstEmit.SimdThreeDiff;
        void D(string mn, char u, string opc, string arrs, string fmt)
            => t.AddV(mn.ToUpperInvariant(), "0Q" + u + "01110ZZ1mmmmm" + opc + "00nnnnnddddd", e, mn + "{2} " + fmt, arrs);
        const string L = "{Vd}.{Tw}, {Vn}.{T}, {Vm}.{T}", W = "{Vd}.{Tw}, {Vn}.{Tw}, {Vm}.{T}", N = "{Vd}.{T}, {Vn}.{Tw}, {Vm}.{Tw}";
        D("saddl", '0', "0000", BHS, L); D("uaddl", '1', "0000", BHS, L);
        D("saddw", '0', "0001", BHS, W); D("uaddw", '1', "0001", BHS, W);
        D("ssubl", '0', "0010", BHS, L); D("usubl", '1', "0010", BHS, L);
        D("ssubw", '0', "0011", BHS, W); D("usubw", '1', "0011", BHS, W);
        D("addhn", '0', "0100", BHS, N); D("raddhn", '1', "0100", BHS, N);
        D("sabal", '0', "0101", BHS, L); D("uabal", '1', "0101", BHS, L);
        D("subhn", '0', "0110", BHS, N); D("rsubhn", '1', "0110", BHS, N);
        D("sabdl", '0', "0111", BHS, L); D("uabdl", '1', "0111", BHS, L);
        D("smlal", '0', "1000", BHS, L); D("umlal", '1', "1000", BHS, L);
        D("sqdmlal", '0', "1001", HS, L);
        D("smlsl", '0', "1010", BHS, L); D("umlsl", '1', "1010", BHS, L);
        D("sqdmlsl", '0', "1011", HS, L);
        D("smull", '0', "1100", BHS, L); D("umull", '1', "1100", BHS, L);
        D("sqdmull", '0', "1101", HS, L);
        D("pmull", '0', "1110", B8, L);
        void DS(string mn, string opc)
            => t.AddSc(mn.ToUpperInvariant(), "01011110ZZ1mmmmm" + opc + "00nnnnnddddd", e, mn + " {Ewd}, {En}, {Em}", "hs");
        DS("sqdmlal", "1001"); DS("sqdmlsl", "1011"); DS("sqdmull", "1101");

        // copy
        string[] imm5 = ["iiii1", "iii10", "ii100", "i1000"];
        for (int s = 0; s < 4; s++)
        {
            string el = "bhsd"[s].ToString();
            string arrs = s == 3 ? "2d" : s == 0 ? B8 : s == 1 ? Q4H : Q2S;
            t.AddV("DUP", "0Q001110000" + imm5[s] + "000001nnnnnddddd", InstEmit.DupElement, "dup {Vd}.{T}, {Vn}." + el + "[{#i}]", arrs);
            t.AddV("DUP", "0Q001110000" + imm5[s] + "000011nnnnnddddd", InstEmit.DupGeneral, "dup {Vd}.{T}, " + (s == 3 ? "{Xn}" : "{Wn}"), arrs);
            t.Add("DUP", "01011110000" + imm5[s] + "000001nnnnnddddd", InstEmit.DupScalar, "mov {" + "BHSD"[s] + "d}, {Vn}." + el + "[{#i}]");
            t.Add("INS", "01001110000" + imm5[s] + "000111nnnnnddddd", InstEmit.InsGeneral, "mov {Vd}." + el + "[{#i}], " + (s == 3 ? "{Xn}" : "{Wn}"));
            string imm4 = s switch { 0 => "jjjj", 1 => "jjj-", 2 => "jj--", _ => "j---" };
            t.Add("INS", "01101110000" + imm5[s] + "0" + imm4 + "1nnnnnddddd", InstEmit.InsElement, "mov {Vd}." + el + "[{#i}], {Vn}." + el + "[{#j}]");
            if (s < 3) t.Add("UMOV", "00001110000" + imm5[s] + "001111nnnnnddddd", InstEmit.Umov, (s == 2 ? "mov" : "umov") + " {Wd}, {Vn}." + el + "[{#i}]");
            else t.Add("UMOV", "01001110000" + imm5[s] + "001111nnnnnddddd", InstEmit.Umov, "mov {Xd}, {Vn}.d[{#i}]");
            if (s < 2) t.Add("SMOV", "00001110000" + imm5[s] + "001011nnnnnddddd", InstEmit.Smov, "smov {Wd}, {Vn}." + el + "[{#i}]");
            if (s < 3) t.Add("SMOV", "01001110000" + imm5[s] + "001011nnnnnddddd", InstEmit.Smov, "smov {Xd}, {Vn}." + el + "[{#i}]");
        }

        // modified immediate (imm8 = abc:defgh is the field 'i')
        InstEmitter mi = InstEmit.SimdModImm;
        t.AddV("MOVI", "0Q00111100000iii0ss001iiiiiddddd", mi, "movi {Vd}.{T}, #{#i}, lsl #(8*{#s})", Q2S);
        t.AddV("MVNI", "0Q10111100000iii0ss001iiiiiddddd", mi, "mvni {Vd}.{T}, #{#i}, lsl #(8*{#s})", Q2S);
        t.AddV("ORR", "0Q00111100000iii0ss101iiiiiddddd", mi, "orr {Vd}.{T}, #{#i}, lsl #(8*{#s})", Q2S);
        t.AddV("BIC", "0Q10111100000iii0ss101iiiiiddddd", mi, "bic {Vd}.{T}, #{#i}, lsl #(8*{#s})", Q2S);
        t.AddV("MOVI", "0Q00111100000iii10s001iiiiiddddd", mi, "movi {Vd}.{T}, #{#i}, lsl #(8*{#s})", Q4H);
        t.AddV("MVNI", "0Q10111100000iii10s001iiiiiddddd", mi, "mvni {Vd}.{T}, #{#i}, lsl #(8*{#s})", Q4H);
        t.AddV("ORR", "0Q00111100000iii10s101iiiiiddddd", mi, "orr {Vd}.{T}, #{#i}, lsl #(8*{#s})", Q4H);
        t.AddV("BIC", "0Q10111100000iii10s101iiiiiddddd", mi, "bic {Vd}.{T}, #{#i}, lsl #(8*{#s})", Q4H);
        t.AddV("MOVI", "0Q00111100000iii110s01iiiiiddddd", mi, "movi {Vd}.{T}, #{#i}, msl #(8+8*{#s})", Q2S);
        t.AddV("MVNI", "0Q10111100000iii110s01iiiiiddddd", mi, "mvni {Vd}.{T}, #{#i}, msl #(8+8*{#s})", Q2S);
        t.AddV("MOVI", "0Q00111100000iii111001iiiiiddddd", mi, "movi {Vd}.{T}, #{#i}", B8);
        t.Add("MOVI", "0010111100000iii111001iiiiiddddd", mi, "movi {Dd}, #bytemask:{#i}");
        t.Add("MOVI", "0110111100000iii111001iiiiiddddd", mi, "movi {Vd}.2d, #bytemask:{#i}");
        t.AddV("FMOV", "0Q00111100000iii111101iiiiiddddd", mi, "fmov {Vd}.{T}, #imm8:{#i}", Q2S);
        t.Add("FMOV", "0110111100000iii111101iiiiiddddd", mi, "fmov {Vd}.2d, #imm8:{#i}");

        // permutes, EXT, table lookups
        string[] perm = ["", "uzp1", "trn1", "zip1", "", "uzp2", "trn2", "zip2"];
        for (int o = 0; o < 8; o++)
        {
            if (perm[o].Length == 0) continue;
            string bits = Convert.ToString(o, 2).PadLeft(3, '0');
            t.AddV(perm[o].ToUpperInvariant(), "0Q001110ZZ0mmmmm0" + bits + "10nnnnnddddd", InstEmit.Permute, perm[o] + " {Vd}.{T}, {Vn}.{T}, {Vm}.{T}", BHSD);
        }
        t.Add("EXT", "00101110000mmmmm00iii0nnnnnddddd", InstEmit.Ext, "ext {Vd}.8b, {Vn}.8b, {Vm}.8b, {#i}");
        t.Add("EXT", "01101110000mmmmm0iiii0nnnnnddddd", InstEmit.Ext, "ext {Vd}.16b, {Vn}.16b, {Vm}.16b, {#i}");
        for (int len = 0; len < 4; len++)
            for (int x = 0; x < 2; x++)
            {
                string lb = Convert.ToString(len, 2).PadLeft(2, '0');
                t.AddV(x == 0 ? "TBL" : "TBX", "0Q001110000mmmmm0" + lb + x + "00nnnnnddddd", InstEmit.TableLookup,
                    (x == 0 ? "tbl" : "tbx") + " {Vd}.{T}, [{Vn}.16b x" + (len + 1) + "], {Vm}.{T}", B8);
            }
    }

    private static void AddSimdShiftAndIndexed(List<InstDescriptor> t)
    {
        // shift by immediate: immh:immb is the field 'h'; its fixed leading bits give the element size
        InstEmitter e = InstEmit.SimdShiftImm;
        string[] immh = ["0001hhh", "001hhhh", "01hhhhh", "1hhhhhh"];
        string[] sizesAll = ["8b,16b", "4h,8h", "2s,4s", "2d"];
        void V(string mn, char u, string opc, string fmt, int maxSize = 3, int minSize = 0)
        {
            for (int s = minSize; s <= maxSize; s++)
                t.AddV(mn.ToUpperInvariant(), "0Q" + u + "011110" + immh[s] + opc + "1nnnnnddddd", e, mn + " " + fmt.Replace("{es}", (8 << s).ToString()), sizesAll[s]);
        }
        // AddV derives the arrangement from the row's own Q and element size (patterns carry no "ZZ" here)
        const string R = "{Vd}.{T}, {Vn}.{T}, #{es}-{#h}", Lf = "{Vd}.{T}, {Vn}.{T}, #{#h}";
        V("sshr", '0', "00000", R); V("ushr", '1', "00000", R); V("ssra", '0', "00010", R); V("usra", '1', "00010", R);
        V("srshr", '0', "00100", R); V("urshr", '1', "00100", R); V("srsra", '0', "00110", R); V("ursra", '1', "00110", R);
        V("sri", '1', "01000", R); V("shl", '0', "01010", Lf); V("sli", '1', "01010", Lf);
        V("sqshlu", '1', "01100", Lf); V("sqshl", '0', "01110", Lf); V("uqshl", '1', "01110", Lf);
        const string Nw = "{Vd}.{T}, {Vn}.{Tw}, #{es}-{#h}";
        V("shrn{2}", '0', "10000", Nw, 2); V("rshrn{2}", '0', "10001", Nw, 2); V("sqshrun{2}", '1', "10000", Nw, 2); V("sqrshrun{2}", '1', "10001", Nw, 2);
        V("sqshrn{2}", '0', "10010", Nw, 2); V("sqrshrn{2}", '0', "10011", Nw, 2); V("uqshrn{2}", '1', "10010", Nw, 2); V("uqrshrn{2}", '1', "10011", Nw, 2);
        V("sshll{2}", '0', "10100", "{Vd}.{Tw}, {Vn}.{T}, #{#h}", 2); V("ushll{2}", '1', "10100", "{Vd}.{Tw}, {Vn}.{T}, #{#h}", 2);
        V("scvtf", '0', "11100", R, 3, 2); V("ucvtf", '1', "11100", R, 3, 2);
        V("fcvtzs", '0', "11111", R, 3, 2); V("fcvtzu", '1', "11111", R, 3, 2);
        // scalar shift by immediate
        void S(string mn, char u, string opc, string fmt, string sizes)
        {
            foreach (char c in sizes)
            {
                int s = "bhsd".IndexOf(c);
                t.AddLazy(mn.ToUpperInvariant(), "01" + u + "111110" + immh[s] + opc + "1nnnnnddddd", e, mn + " " + fmt.Replace("{es}", (8 << s).ToString()), s, 0);
            }
        }
        const string SR = "{Ed}, {En}, #{es}-{#h}", SL = "{Ed}, {En}, #{#h}";
        S("sshr", '0', "00000", SR, "d"); S("ushr", '1', "00000", SR, "d"); S("ssra", '0', "00010", SR, "d"); S("usra", '1', "00010", SR, "d");
        S("srshr", '0', "00100", SR, "d"); S("urshr", '1', "00100", SR, "d"); S("srsra", '0', "00110", SR, "d"); S("ursra", '1', "00110", SR, "d");
        S("sri", '1', "01000", SR, "d"); S("shl", '0', "01010", SL, "d"); S("sli", '1', "01010", SL, "d");
        S("sqshlu", '1', "01100", SL, "bhsd"); S("sqshl", '0', "01110", SL, "bhsd"); S("uqshl", '1', "01110", SL, "bhsd");
        const string SN = "{Ed}, {Ewn}, #{es}-{#h}";
        S("sqshrn", '0', "10010", SN, "bhs"); S("sqrshrn", '0', "10011", SN, "bhs"); S("uqshrn", '1', "10010", SN, "bhs");
        S("uqrshrn", '1', "10011", SN, "bhs"); S("sqshrun", '1', "10000", SN, "bhs"); S("sqrshrun", '1', "10001", SN, "bhs");
        S("scvtf", '0', "11100", SR, "sd"); S("ucvtf", '1', "11100", SR, "sd"); S("fcvtzs", '0', "11111", SR, "sd"); S("fcvtzu", '1', "11111", SR, "sd");

        // vector x indexed element: index bits H (11), L (21), M (20)
        void X(string mn, char u, string opc, InstEmitter em, bool scalar, bool fp, string fmt, string sizes)
        {
            foreach (char c in sizes)
            {
                int s = "bhsd".IndexOf(c);
                int idxBits = fp ? (s == 3 ? 1 : 2) : (s == 1 ? 3 : 2);
                for (int idx = 0; idx < (1 << idxBits); idx++)
                {
                    char h, l, m;
                    string rm;
                    if (!fp && s == 1) { h = Bit(idx, 2); l = Bit(idx, 1); m = Bit(idx, 0); rm = "mmmm"; }
                    else if (fp && s == 3) { h = Bit(idx, 0); l = '0'; m = 'm'; rm = "mmmm"; }
                    else { h = Bit(idx, 1); l = Bit(idx, 0); m = 'm'; rm = "mmmm"; }
                    string size = fp ? (s == 3 ? "11" : "10") : SizeBits(s);
                    string head = scalar ? "01" + u + "11111" : "0Q" + u + "01111";
                    string p = head + size + l + m + rm + opc + h + "0nnnnnddddd";
                    string f = mn + " " + fmt.Replace("{i}", idx.ToString());
                    string nm = mn.Replace("{2}", "").ToUpperInvariant() + " (by element)";
                    if (scalar) t.AddLazy(nm, p, em, f, s, 0);
                    else
                    {
                        string arrs = fp ? (s == 3 ? "2d" : Q2S) : (s == 1 ? Q4H : Q2S);
                        foreach (var range in arrs.AsSpan().Split(','))
                        {
                            int ai = Array.IndexOf(Arr, arrs[range]);
                            t.AddLazy(nm, Fill(p, ai % 2), em, f, ai / 2, ai % 2);
                        }
                    }
                }
            }
        }
        static char Bit(int v, int b) => ((v >> b) & 1) != 0 ? '1' : '0';
        InstEmitter xi = InstEmit.SimdIndexedInt, xf = InstEmit.SimdFpIndexed;
        const string XV = "{Vd}.{T}, {Vn}.{T}, {Vm}.{e}[{i}]", XL = "{Vd}.{Tw}, {Vn}.{T}, {Vm}.{e}[{i}]";
        X("mla", '1', "0000", xi, false, false, XV, "hs"); X("mls", '1', "0100", xi, false, false, XV, "hs"); X("mul", '0', "1000", xi, false, false, XV, "hs");
        X("smlal{2}", '0', "0010", xi, false, false, XL, "hs"); X("umlal{2}", '1', "0010", xi, false, false, XL, "hs");
        X("smlsl{2}", '0', "0110", xi, false, false, XL, "hs"); X("umlsl{2}", '1', "0110", xi, false, false, XL, "hs");
        X("smull{2}", '0', "1010", xi, false, false, XL, "hs"); X("umull{2}", '1', "1010", xi, false, false, XL, "hs");
        X("sqdmlal{2}", '0', "0011", xi, false, false, XL, "hs"); X("sqdmlsl{2}", '0', "0111", xi, false, false, XL, "hs");
        X("sqdmull{2}", '0', "1011", xi, false, false, XL, "hs");
        X("sqdmulh", '0', "1100", xi, false, false, XV, "hs"); X("sqrdmulh", '0', "1101", xi, false, false, XV, "hs");
        X("fmla", '0', "0001", xf, false, true, XV, "sd"); X("fmls", '0', "0101", xf, false, true, XV, "sd");
        X("fmul", '0', "1001", xf, false, true, XV, "sd"); X("fmulx", '1', "1001", xf, false, true, XV, "sd");
        const string XS = "{Ed}, {En}, {Vm}.{e}[{i}]", XSL = "{Ewd}, {En}, {Vm}.{e}[{i}]";
        X("fmla", '0', "0001", xf, true, true, XS, "sd"); X("fmls", '0', "0101", xf, true, true, XS, "sd");
        X("fmul", '0', "1001", xf, true, true, XS, "sd"); X("fmulx", '1', "1001", xf, true, true, XS, "sd");
        X("sqdmlal", '0', "0011", xi, true, false, XSL, "hs"); X("sqdmlsl", '0', "0111", xi, true, false, XSL, "hs");
        X("sqdmull", '0', "1011", xi, true, false, XSL, "hs");
        X("sqdmulh", '0', "1100", xi, true, false, XS, "hs"); X("sqrdmulh", '0', "1101", xi, true, false, XS, "hs");
    }
}
