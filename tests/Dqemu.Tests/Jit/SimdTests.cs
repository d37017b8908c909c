using System.Numerics;
using Dqemu.JitX64.Decoders;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// Differential tests of the Advanced SIMD data-processing rows against qemu-aarch64: every instruction in
/// every arrangement, from random states, states whose lanes hold integer edge values (0, 1, 0x7f, 0x80,
/// 0xff.., sign boundaries) and FP special values.
/// </summary>
public class SimdTests
{
    private const string BHSD = "8b,16b,4h,8h,2s,4s,2d", BHS = "8b,16b,4h,8h,2s,4s", HS = "4h,8h,2s,4s", B8 = "8b,16b", FPA = "2s,4s,2d";

    private static MachineState EdgeState(int seed)
    {
        var s = MachineState.Random(500 + seed);
        var r = new Random(seed);
        ulong[] lanes64 = [0, 1, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, ulong.MaxValue, 0x00000000FFFFFFFF, 0xFFFFFFFF00000000, 63, 64, 0xFFFFFFFFFFFFFFC1];
        byte[] bytes = [0, 1, 2, 7, 8, 15, 16, 31, 32, 0x3F, 0x40, 0x7E, 0x7F, 0x80, 0x81, 0xC0, 0xF8, 0xFE, 0xFF];
        for (int i = 0; i < 64; i++)
        {
            switch (r.Next(3))
            {
                case 0: s.V[i] = lanes64[r.Next(lanes64.Length)]; break;
                case 1:
                    ulong v = 0;
                    for (int b = 0; b < 8; b++) v |= (ulong)bytes[r.Next(bytes.Length)] << (8 * b);
                    s.V[i] = v;
                    break;
                default:
                    ulong w = 0;
                    ushort[] halves = [0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x00FF, 0xFF00, 15, 16, 0xFFF0];
                    for (int b = 0; b < 4; b++) w |= (ulong)halves[r.Next(halves.Length)] << (16 * b);
                    s.V[i] = w;
                    break;
            }
        }
        return s;
    }

    private static void Check(string snippet, bool fp = false)
    {
        for (int i = 0; i < 3; i++) DiffTest.AssertSameAsQemu(snippet, MachineState.Random(i));
        for (int i = 0; i < 4; i++) DiffTest.AssertSameAsQemu(snippet, EdgeState(i));
        for (int i = 0; i < (fp ? 8 : 2); i++) DiffTest.AssertSameAsQemu(snippet, FpStates.Special(i));
    }

    private static string Gen(string arrs, Func<string, int, string> line)
        => string.Join("\n", arrs.Split(',').Select((a, i) => line(a, i)));

    private static string Three(string mn, string arrs) => Gen(arrs, (a, i) => $"{mn} v{i * 3}.{a}, v{i * 3 + 1}.{a}, v{i * 3 + 2}.{a}");
    private static string Two(string mn, string arrs, string suffix = "") => Gen(arrs, (a, i) => $"{mn} v{i * 2}.{a}, v{i * 2 + 1}.{a}{suffix}");

    private static string Wide(string a) => a switch { "8b" or "16b" => "8h", "4h" or "8h" => "4s", _ => "2d" };
    private static string Pair(string a) => a switch { "8b" => "4h", "16b" => "8h", "4h" => "2s", "8h" => "4s", "2s" => "1d", _ => "2d" };
    private static bool Hi(string a) => a is "16b" or "8h" or "4s";

    public static IEnumerable<object[]> ThreeSameCases()
    {
        string[] bhsd = ["sqadd", "uqadd", "sqsub", "uqsub", "cmgt", "cmhi", "cmge", "cmhs", "sshl", "ushl", "sqshl", "uqshl",
            "srshl", "urshl", "sqrshl", "uqrshl", "add", "sub", "cmtst", "cmeq", "addp"];
        string[] bhs = ["shadd", "uhadd", "srhadd", "urhadd", "shsub", "uhsub", "smax", "umax", "smin", "umin", "sabd", "uabd",
            "saba", "uaba", "mla", "mls", "mul", "smaxp", "umaxp", "sminp", "uminp"];
        foreach (var mn in bhsd) yield return [Three(mn, BHSD)];
        foreach (var mn in bhs) yield return [Three(mn, BHS)];
        yield return [Three("sqdmulh", HS) + "\n" + Three("sqrdmulh", HS).Replace("v0.", "v30.")];
        yield return [Three("pmul", B8) + "\n" + Three("and", B8).Replace("v0.", "v9.") + "\n" + Three("bic", B8).Replace("v3.", "v10.")];
        yield return [Three("orr", B8) + "\n" + Three("orn", B8).Replace("v0.", "v9.") + "\n" + Three("eor", B8).Replace("v3.", "v10.") + "\nmov v20.16b, v21.16b\nmov v22.8b, v23.8b"];
        yield return [Three("bsl", B8) + "\n" + Three("bit", B8).Replace("v0.", "v9.") + "\n" + Three("bif", B8).Replace("v3.", "v10.")];
        yield return ["add v0.16b, v0.16b, v0.16b\ncmeq v1.16b, v1.16b, v1.16b\nsub v2.2d, v3.2d, v2.2d\nmla v4.4s, v4.4s, v4.4s\nbsl v5.16b, v5.16b, v6.16b"];
        // scalar
        yield return ["sqadd b0, b1, b2\nsqadd h3, h4, h5\nsqadd s6, s7, s8\nsqadd d9, d10, d11\nuqadd b12, b13, b14\nuqsub d15, d16, d17\nsqsub s18, s19, s20\nuqadd h21, h22, h23"];
        yield return ["cmgt d0, d1, d2\ncmhi d3, d4, d5\ncmge d6, d7, d8\ncmhs d9, d10, d11\ncmtst d12, d13, d14\ncmeq d15, d16, d17\nadd d18, d19, d20\nsub d21, d22, d23"];
        yield return ["sshl d0, d1, d2\nushl d3, d4, d5\nsrshl d6, d7, d8\nurshl d9, d10, d11\nsqshl b12, b13, b14\nuqshl h15, h16, h17\nsqrshl s18, s19, s20\nuqrshl d21, d22, d23"];
        yield return ["sqdmulh h0, h1, h2\nsqdmulh s3, s4, s5\nsqrdmulh h6, h7, h8\nsqrdmulh s9, s10, s11\naddp d12, v13.2d"];
    }

    [Theory]
    [MemberData(nameof(ThreeSameCases))]
    public void ThreeSame(string snippet) => Check(snippet);

    public static IEnumerable<object[]> FpThreeSameCases()
    {
        string[] all = ["fmaxnm", "fmla", "fadd", "fmulx", "fcmeq", "fmax", "frecps", "fminnm", "fmls", "fsub", "fmin", "frsqrts",
            "fmaxnmp", "faddp", "fmul", "fcmge", "facge", "fmaxp", "fdiv", "fminnmp", "fabd", "fcmgt", "facgt", "fminp"];
        foreach (var mn in all) yield return [Three(mn, FPA)];
        foreach (var mn in new[] { "fmulx", "fcmeq", "frecps", "frsqrts", "fcmge", "facge", "fabd", "fcmgt", "facgt" })
            yield return [$"{mn} s0, s1, s2\n{mn} d3, d4, d5\n{mn} s6, s6, s7\n{mn} d8, d9, d9"];
        yield return ["faddp s0, v1.2s\nfaddp d2, v3.2d\nfmaxnmp s4, v5.2s\nfmaxnmp d6, v7.2d\nfminnmp s8, v9.2s\nfmaxp d10, v11.2d\nfminp s12, v13.2s\nfminp d14, v15.2d"];
        yield return ["fmaxnmv s0, v1.4s\nfminnmv s2, v3.4s\nfmaxv s4, v5.4s\nfminv s6, v7.4s"];
    }

    [Theory]
    [MemberData(nameof(FpThreeSameCases))]
    public void FpThreeSame(string snippet) => Check(snippet, fp: true);

    public static IEnumerable<object[]> TwoMiscCases()
    {
        yield return [Two("rev64", BHS) + "\n" + Two("rev32", "8b,16b,4h,8h").Replace("v0.", "v20.").Replace("v1.", "v21.") + "\n" + Two("rev16", B8).Replace("v0.", "v30.")];
        yield return [Gen(BHS, (a, i) => $"saddlp v{i * 2}.{Pair(a)}, v{i * 2 + 1}.{a}\nuaddlp v{i * 2 + 16}.{Pair(a)}, v{i * 2 + 1}.{a}")];
        yield return [Gen(BHS, (a, i) => $"sadalp v{i * 2}.{Pair(a)}, v{i * 2 + 1}.{a}\nuadalp v{i * 2 + 16}.{Pair(a)}, v{i * 2 + 17}.{a}")];
        foreach (var mn in new[] { "suqadd", "usqadd", "sqabs", "sqneg", "abs", "neg" }) yield return [Two(mn, BHSD)];
        foreach (var mn in new[] { "cls", "clz" }) yield return [Two(mn, BHS)];
        yield return [Two("cnt", B8) + "\n" + Two("not", B8).Replace("v0.", "v10.").Replace("v1.", "v11.") + "\n" + Two("rbit", B8).Replace("v0.", "v20.").Replace("v2.", "v22.")];
        foreach (var mn in new[] { "cmgt", "cmge", "cmeq", "cmle", "cmlt" }) yield return [Two(mn, BHSD, ", #0")];
        foreach (var mn in new[] { "xtn", "sqxtun", "sqxtn", "uqxtn" })
            yield return [Gen(BHS, (a, i) => $"{mn}{(Hi(a) ? "2" : "")} v{i * 2}.{a}, v{i * 2 + 1}.{Wide(a)}")];
        yield return [Gen(BHS, (a, i) => $"shll{(Hi(a) ? "2" : "")} v{i * 2}.{Wide(a)}, v{i * 2 + 1}.{a}, #{(a.EndsWith('b') ? 8 : a.EndsWith('h') ? 16 : 32)}")];
        // scalar
        yield return ["suqadd b0, b1\nusqadd h2, h3\nsqabs s4, s5\nsqneg d6, d7\ncmgt d8, d9, #0\ncmge d10, d11, #0\ncmeq d12, d13, #0\ncmle d14, d15, #0\ncmlt d16, d17, #0\nabs d18, d19\nneg d20, d21"];
        yield return ["sqxtn b0, h1\nsqxtn h2, s3\nsqxtn s4, d5\nuqxtn b6, h7\nuqxtn s8, d9\nsqxtun h10, s11\nsqxtun b12, h13\nsqxtun s14, d15"];
    }

    [Theory]
    [MemberData(nameof(TwoMiscCases))]
    public void TwoMisc(string snippet) => Check(snippet);

    public static IEnumerable<object[]> FpTwoMiscCases()
    {
        string[] all = ["frintn", "frintm", "fcvtns", "fcvtms", "fcvtas", "scvtf", "fcmgt", "fcmeq", "fcmlt", "fabs", "frintp", "frintz",
            "fcvtps", "fcvtzs", "frecpe", "frinta", "frintx", "fcvtnu", "fcvtmu", "fcvtau", "ucvtf", "fcmge", "fcmle", "fneg", "frinti",
            "fcvtpu", "fcvtzu", "frsqrte", "fsqrt"];
        foreach (var mn in all)
            yield return [Two(mn, FPA, mn.StartsWith("fcm") ? ", #0.0" : "")];
        yield return [Two("urecpe", "2s,4s") + "\n" + Two("ursqrte", "2s,4s").Replace("v0.", "v10.").Replace("v2.", "v12.")];
        yield return ["fcvtn v0.4h, v1.4s\nfcvtn2 v2.8h, v3.4s\nfcvtn v4.2s, v5.2d\nfcvtn2 v6.4s, v7.2d\nfcvtxn v8.2s, v9.2d\nfcvtxn2 v10.4s, v11.2d\nfcvtxn s12, d13"];
        yield return ["fcvtl v0.4s, v1.4h\nfcvtl2 v2.4s, v3.8h\nfcvtl v4.2d, v5.2s\nfcvtl2 v6.2d, v7.4s"];
        foreach (var mn in new[] { "fcvtns", "fcvtms", "fcvtas", "scvtf", "fcvtps", "fcvtzs", "frecpe", "frecpx", "fcvtnu", "fcvtmu", "fcvtau", "ucvtf", "fcvtpu", "fcvtzu", "frsqrte" })
            yield return [$"{mn} s0, s1\n{mn} d2, d3\n{mn} s4, s4\n{mn} d5, d6"];
        yield return ["fcmgt s0, s1, #0.0\nfcmeq d2, d3, #0.0\nfcmlt s4, s5, #0.0\nfcmge d6, d7, #0.0\nfcmle s8, s9, #0.0\nfcmgt d10, d11, #0.0"];
    }

    [Theory]
    [MemberData(nameof(FpTwoMiscCases))]
    public void FpTwoMisc(string snippet) => Check(snippet, fp: true);

    public static IEnumerable<object[]> AcrossAndDiffCases()
    {
        const string AC = "8b,16b,4h,8h,4s";
        static string L(string a) => a.EndsWith('b') ? "h" : a.EndsWith('h') ? "s" : "d";
        static string E(string a) => a.EndsWith('b') ? "b" : a.EndsWith('h') ? "h" : "s";
        yield return [Gen(AC, (a, i) => $"saddlv {L(a)}{i}, v{i + 10}.{a}\nuaddlv {L(a)}{i + 20}, v{i + 10}.{a}")];
        foreach (var mn in new[] { "smaxv", "umaxv", "sminv", "uminv", "addv" })
            yield return [Gen(AC, (a, i) => $"{mn} {E(a)}{i}, v{i + 10}.{a}")];
        foreach (var mn in new[] { "saddl", "uaddl", "ssubl", "usubl", "sabal", "uabal", "sabdl", "uabdl", "smlal", "umlal", "smlsl", "umlsl", "smull", "umull" })
            yield return [Gen(BHS, (a, i) => $"{mn}{(Hi(a) ? "2" : "")} v{i * 3}.{Wide(a)}, v{i * 3 + 1}.{a}, v{i * 3 + 2}.{a}")];
        foreach (var mn in new[] { "saddw", "uaddw", "ssubw", "usubw" })
            yield return [Gen(BHS, (a, i) => $"{mn}{(Hi(a) ? "2" : "")} v{i * 3}.{Wide(a)}, v{i * 3 + 1}.{Wide(a)}, v{i * 3 + 2}.{a}")];
        foreach (var mn in new[] { "addhn", "raddhn", "subhn", "rsubhn" })
            yield return [Gen(BHS, (a, i) => $"{mn}{(Hi(a) ? "2" : "")} v{i * 3}.{a}, v{i * 3 + 1}.{Wide(a)}, v{i * 3 + 2}.{Wide(a)}")];
        foreach (var mn in new[] { "sqdmlal", "sqdmlsl", "sqdmull" })
            yield return [Gen(HS, (a, i) => $"{mn}{(Hi(a) ? "2" : "")} v{i * 3}.{Wide(a)}, v{i * 3 + 1}.{a}, v{i * 3 + 2}.{a}") +
                $"\n{mn} s20, h21, h22\n{mn} d23, s24, s25"];
        yield return ["pmull v0.8h, v1.8b, v2.8b\npmull2 v3.8h, v4.16b, v5.16b"];
    }

    [Theory]
    [MemberData(nameof(AcrossAndDiffCases))]
    public void AcrossAndThreeDifferent(string snippet) => Check(snippet);

    public static IEnumerable<object[]> MoveCases()
    {
        yield return ["dup v0.16b, v1.b[15]\ndup v2.8b, v3.b[3]\ndup v4.8h, v5.h[7]\ndup v6.4h, v7.h[0]\ndup v8.4s, v9.s[3]\ndup v10.2s, v11.s[1]\ndup v12.2d, v13.d[1]\ndup v14.2d, v14.d[0]"];
        yield return ["dup v0.16b, w1\ndup v2.8b, w3\ndup v4.8h, w5\ndup v6.4h, w7\ndup v8.4s, w9\ndup v10.2s, w11\ndup v12.2d, x13\ndup v14.2d, xzr\ndup v15.4s, wzr"];
        yield return ["mov b0, v1.b[9]\nmov h2, v3.h[5]\nmov s4, v5.s[2]\nmov d6, v7.d[1]\nmov d8, v8.d[0]"];
        yield return ["mov v0.b[9], w1\nmov v2.h[5], w3\nmov v4.s[2], w5\nmov v6.d[1], x7\nmov v8.d[0], xzr\nmov v9.b[0], wzr"];
        yield return ["mov v0.b[9], v1.b[15]\nmov v2.h[5], v3.h[0]\nmov v4.s[2], v5.s[3]\nmov v6.d[1], v7.d[0]\nmov v8.s[0], v8.s[1]"];
        yield return ["umov w0, v1.b[9]\numov w2, v3.h[5]\nmov w4, v5.s[3]\nmov x6, v7.d[1]\nsmov w8, v9.b[15]\nsmov w10, v11.h[2]\nsmov x12, v13.b[0]\nsmov x14, v15.h[7]\nsmov x16, v17.s[1]\numov wzr, v1.b[0]"];
        yield return ["movi v0.4s, #0x5a\nmovi v1.2s, #0xff, lsl #8\nmovi v2.4s, #0x80, lsl #16\nmovi v3.2s, #0x12, lsl #24\nmvni v4.4s, #0x5a\nmvni v5.2s, #0x3, lsl #24"];
        yield return ["orr v0.4s, #0x5a\norr v1.2s, #0xff, lsl #8\nbic v2.4s, #0x80, lsl #16\nbic v3.2s, #0x12, lsl #24\norr v4.8h, #0x7\nbic v5.4h, #0xf0, lsl #8\norr v6.4h, #0x1, lsl #8\nbic v7.8h, #0x3"];
        yield return ["movi v0.8h, #0x5a\nmovi v1.4h, #0xff, lsl #8\nmvni v2.8h, #0x80\nmvni v3.4h, #0x12, lsl #8\nmovi v4.4s, #0x5a, msl #8\nmovi v5.2s, #0x1, msl #16\nmvni v6.4s, #0x5a, msl #16\nmvni v7.2s, #0x7, msl #8"];
        yield return ["movi v0.16b, #0x5a\nmovi v1.8b, #0xff\nmovi d2, #0xff00ff0000ffff00\nmovi v3.2d, #0xffffffffffffffff\nmovi v4.2d, #0\nmovi d5, #0"];
        yield return ["fmov v0.4s, #1.0\nfmov v1.2s, #-2.5\nfmov v2.2d, #0.125\nfmov v3.2d, #-31.0"];
        yield return ["ext v0.16b, v1.16b, v2.16b, #0\next v3.16b, v4.16b, v5.16b, #15\next v6.8b, v7.8b, v8.8b, #3\next v9.8b, v10.8b, v11.8b, #7\next v12.16b, v13.16b, v14.16b, #8\next v15.16b, v15.16b, v15.16b, #5"];
        foreach (var mn in new[] { "uzp1", "uzp2", "trn1", "trn2", "zip1", "zip2" })
            yield return [Three(mn, BHSD)];
        yield return ["tbl v0.16b, {v1.16b}, v2.16b\ntbl v3.8b, {v4.16b, v5.16b}, v6.8b\ntbl v7.16b, {v8.16b, v9.16b, v10.16b}, v11.16b\ntbl v12.8b, {v30.16b, v31.16b, v0.16b, v1.16b}, v13.8b"];
        yield return ["tbx v0.16b, {v1.16b}, v2.16b\ntbx v3.8b, {v4.16b, v5.16b}, v6.8b\ntbx v7.16b, {v8.16b, v9.16b, v10.16b}, v11.16b\ntbx v12.8b, {v30.16b, v31.16b, v0.16b, v1.16b}, v13.8b\ntbl v14.16b, {v14.16b}, v14.16b"];
    }

    [Theory]
    [MemberData(nameof(MoveCases))]
    public void Moves(string snippet) => Check(snippet);

    public static IEnumerable<object[]> ShiftCases()
    {
        static int Es(string a) => a.EndsWith('b') ? 8 : a.EndsWith('h') ? 16 : a.EndsWith('s') ? 32 : 64;
        foreach (var mn in new[] { "sshr", "ushr", "ssra", "usra", "srshr", "urshr", "srsra", "ursra", "sri" })
            yield return [Gen(BHSD, (a, i) => $"{mn} v{i * 2}.{a}, v{i * 2 + 1}.{a}, #{1 + (i * 5) % Es(a)}\n{mn} v{i * 2 + 16}.{a}, v{i * 2 + 1}.{a}, #{Es(a)}")];
        foreach (var mn in new[] { "shl", "sli", "sqshlu", "sqshl", "uqshl" })
            yield return [Gen(BHSD, (a, i) => $"{mn} v{i * 2}.{a}, v{i * 2 + 1}.{a}, #{(i * 5) % Es(a)}\n{mn} v{i * 2 + 16}.{a}, v{i * 2 + 1}.{a}, #{Es(a) - 1}")];
        foreach (var mn in new[] { "shrn", "rshrn", "sqshrun", "sqrshrun", "sqshrn", "sqrshrn", "uqshrn", "uqrshrn" })
            yield return [Gen(BHS, (a, i) => $"{mn}{(Hi(a) ? "2" : "")} v{i * 2}.{a}, v{i * 2 + 1}.{Wide(a)}, #{1 + (i * 3) % Es(a)}\n{mn}{(Hi(a) ? "2" : "")} v{i * 2 + 16}.{a}, v{i * 2 + 1}.{Wide(a)}, #{Es(a)}")];
        foreach (var mn in new[] { "sshll", "ushll" })
            yield return [Gen(BHS, (a, i) => $"{mn}{(Hi(a) ? "2" : "")} v{i * 2}.{Wide(a)}, v{i * 2 + 1}.{a}, #{(i * 3) % Es(a)}")];
        yield return ["sxtl v0.8h, v1.8b\nsxtl2 v2.4s, v3.8h\nuxtl v4.2d, v5.2s\nuxtl2 v6.8h, v7.16b"];
        foreach (var mn in new[] { "scvtf", "ucvtf", "fcvtzs", "fcvtzu" })
            yield return [$"{mn} v0.4s, v1.4s, #1\n{mn} v2.2s, v3.2s, #32\n{mn} v4.2d, v5.2d, #64\n{mn} v6.2d, v7.2d, #3\n{mn} s8, s9, #5\n{mn} d10, d11, #60"];
        yield return ["sshr d0, d1, #1\nushr d2, d3, #64\nssra d4, d5, #63\nusra d6, d7, #7\nsrshr d8, d9, #64\nurshr d10, d11, #1\nsrsra d12, d13, #32\nursra d14, d15, #64\nsri d16, d17, #64\nshl d18, d19, #63\nsli d20, d21, #0"];
        yield return ["sqshlu b0, b1, #3\nsqshl h2, h3, #15\nuqshl s4, s5, #1\nsqshl d6, d7, #63\nsqshrn b8, h9, #1\nsqrshrn h10, s11, #16\nuqshrn s12, d13, #32\nuqrshrn b14, h15, #3\nsqshrun h16, s17, #5\nsqrshrun s18, d19, #1"];
    }

    [Theory]
    [MemberData(nameof(ShiftCases))]
    public void Shifts(string snippet) => Check(snippet, fp: snippet.Contains("cvt"));

    public static IEnumerable<object[]> IndexedCases()
    {
        yield return ["mul v0.8h, v1.8h, v2.h[7]\nmul v3.4h, v4.4h, v15.h[2]\nmul v5.4s, v6.4s, v31.s[3]\nmul v7.2s, v8.2s, v9.s[0]\nmla v10.8h, v11.8h, v12.h[5]\nmla v13.2s, v14.2s, v16.s[1]\nmls v17.4h, v18.4h, v9.h[0]\nmls v20.4s, v21.4s, v22.s[2]"];
        foreach (var mn in new[] { "smlal", "umlal", "smlsl", "umlsl", "smull", "umull", "sqdmlal", "sqdmlsl", "sqdmull" })
            yield return [$"{mn} v0.4s, v1.4h, v2.h[7]\n{mn}2 v3.4s, v4.8h, v15.h[2]\n{mn} v5.2d, v6.2s, v31.s[3]\n{mn}2 v7.2d, v8.4s, v9.s[0]"];
        yield return ["sqdmulh v0.8h, v1.8h, v2.h[7]\nsqdmulh v3.2s, v4.2s, v5.s[1]\nsqrdmulh v6.4h, v7.4h, v8.h[3]\nsqrdmulh v9.4s, v10.4s, v11.s[2]\nsqdmulh h12, h13, v14.h[6]\nsqrdmulh s15, s16, v17.s[3]\nsqdmull s18, h19, v1.h[1]\nsqdmlal d20, s21, v22.s[2]\nsqdmlsl s23, h24, v15.h[4]"];
        foreach (var mn in new[] { "fmla", "fmls", "fmul", "fmulx" })
            yield return [$"{mn} v0.4s, v1.4s, v2.s[3]\n{mn} v3.2s, v4.2s, v5.s[1]\n{mn} v6.2d, v7.2d, v8.d[1]\n{mn} v9.2d, v10.2d, v31.d[0]\n{mn} s11, s12, v13.s[2]\n{mn} d14, d15, v16.d[1]\n{mn} v17.4s, v17.4s, v17.s[0]"];
    }

    [Theory]
    [MemberData(nameof(IndexedCases))]
    public void Indexed(string snippet) => Check(snippet, fp: snippet.Contains("fm"));

    /// <summary>The idioms glibc's string functions are built from (strlen/memchr/strchr style).</summary>
    [Theory]
    [InlineData("cmeq v0.16b, v1.16b, #0\numaxp v2.16b, v0.16b, v0.16b\nfmov x3, d2\nshrn v4.8b, v0.8h, #4\nfmov x5, d4\naddp v6.16b, v0.16b, v0.16b\nfmov x7, d6")]
    [InlineData("cmeq v0.16b, v1.16b, v2.16b\nand v3.16b, v0.16b, v4.16b\naddp v5.16b, v3.16b, v3.16b\naddp v5.16b, v5.16b, v5.16b\nmov x6, v5.d[0]\nbic v7.16b, v3.16b, v0.16b\numinv b8, v1.16b\numaxv h9, v2.8h\nfmov w10, s8")]
    [InlineData("dup v0.16b, w1\ncmeq v2.16b, v3.16b, v0.16b\ncmhs v4.16b, v3.16b, v0.16b\norr v5.16b, v2.16b, v4.16b\numinp v6.16b, v5.16b, v5.16b\nfmov x7, d6\nrev64 v8.16b, v3.16b\ncnt v9.16b, v3.16b\nuaddlv h10, v9.16b\nfmov w11, s10")]
    public void StringIdioms(string snippet) => Check(snippet);

    /// <summary>Shifts by one variable amount, as compilers emit them (dup, neg, sshl/ushl).</summary>
    [Theory]
    [InlineData("dup v1.4s, w2\nushl v0.4s, v3.4s, v1.4s\nneg v4.4s, v1.4s\nsshl v5.4s, v3.4s, v4.4s\nushl v6.4s, v3.4s, v4.4s\nsshl v7.2s, v3.2s, v1.2s")]
    [InlineData("dup v1.8h, w5\nushl v0.8h, v3.8h, v1.8h\nneg v4.8h, v1.8h\nsshl v5.8h, v3.8h, v4.8h\nushl v6.4h, v3.4h, v4.4h\nsshl v7.4h, v3.4h, v1.4h")]
    [InlineData("dup v1.2d, x12\nushl v0.2d, v3.2d, v1.2d\nneg v4.2d, v1.2d\nsshl v5.2d, v3.2d, v4.2d\nushl v6.2d, v3.2d, v4.2d\nsshl d7, d3, d4\nushl d8, d9, d1")]
    [InlineData("dup v1.4s, w16\nneg v2.4s, v1.4s\nsshl v3.4s, v4.4s, v2.4s\ndup v5.2d, x20\nsshl v6.2d, v7.2d, v5.2d\nmovi v8.4s, #0x80\nsshl v9.4s, v10.4s, v8.4s\nmovi v11.2d, #0xff\nsshl v12.2d, v13.2d, v11.2d\nushl v14.2d, v13.2d, v11.2d")]
    public void ShiftByOneVariableAmount(string snippet)
    {
        for (int i = 0; i < 16; i++)
        {
            var st = i < 4 ? MachineState.Random(i) : EdgeState(i);
            ulong[] counts = [0, 1, 7, 15, 16, 31, 32, 33, 63, 64, 65, 127, 128, 0xFF, 0xF0, 0xC1, 0xE0, 0x81];
            var r = new Random(i);
            foreach (int x in new[] { 2, 5, 12, 16, 20 }) st.X[x] = counts[r.Next(counts.Length)];
            DiffTest.AssertSameAsQemu(snippet, st);
        }
    }

    /// <summary>Destination equal to a source: every operand must be read before Vd is written.</summary>
    [Theory]
    [InlineData("uzp1 v0.16b, v0.16b, v1.16b\nuzp2 v2.8h, v3.8h, v2.8h\nzip2 v4.8b, v4.8b, v4.8b\ntrn1 v5.4s, v6.4s, v5.4s\next v7.16b, v7.16b, v8.16b, #3\next v9.8b, v10.8b, v9.8b, #5")]
    [InlineData("addhn2 v0.16b, v0.8h, v1.8h\nxtn2 v2.8h, v2.4s\nsqxtn2 v3.16b, v3.8h\nshrn2 v4.4s, v4.2d, #7\nsshll2 v5.8h, v5.16b, #2\numlal2 v6.4s, v6.8h, v6.8h\nuabdl v7.8h, v7.8b, v8.8b")]
    [InlineData("tbx v0.16b, {v0.16b, v1.16b}, v0.16b\ntbl v2.8b, {v1.16b, v2.16b}, v2.8b\nfcvtn2 v3.4s, v3.2d\nfcvtl2 v4.2d, v4.4s\nmla v5.8h, v5.8h, v5.h[3]\nfmla v6.4s, v6.4s, v6.s[1]\nbif v7.16b, v7.16b, v7.16b")]
    [InlineData("addp v0.4s, v0.4s, v0.4s\numaxp v1.16b, v1.16b, v2.16b\nfaddp v3.2d, v4.2d, v3.2d\nmov v5.s[1], v5.s[0]\ndup v6.8h, v6.h[5]\nsqadd v7.8h, v7.8h, v7.8h\nsri v8.4s, v8.4s, #9\nsli v9.2d, v9.2d, #63\naddp v10.2d, v11.2d, v11.2d\nsminp v12.8h, v13.8h, v13.8h\numinp v14.4s, v15.4s, v15.4s\nsmaxp v16.16b, v16.16b, v16.16b")]
    public void Aliasing(string snippet) => Check(snippet, fp: true);

    [Fact]
    public void TableRowsAreUnambiguous()
    {
        var rows = OpCodeTable.All;
        var problems = new List<string>();
        for (int i = 0; i < rows.Count; i++)
            for (int j = i + 1; j < rows.Count; j++)
            {
                var a = rows[i]; var b = rows[j];
                uint common = a.Mask & b.Mask;
                if ((a.Value & common) != (b.Value & common)) continue; // disjoint
                if (BitOperations.PopCount(a.Mask) != BitOperations.PopCount(b.Mask)) continue; // the more specific wins
                problems.Add($"{a.Name} {a.Pattern} overlaps {b.Name} {b.Pattern}");
            }
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(40)));
    }

    /// <summary>Every FP/SIMD data-processing row formats without leftover placeholders.</summary>
    [Fact]
    public void EveryFpSimdRowFormats()
    {
        var rnd = new Random(3);
        int rows = 0;
        foreach (var d in OpCodeTable.All)
        {
            if (((d.Value >> 25) & 7) != 7 || ((d.Mask >> 25) & 7) != 7) continue; // data processing, FP and SIMD
            rows++;
            for (int i = 0; i < 8; i++)
            {
                uint op = ((uint)rnd.NextInt64() & ~d.Mask) | d.Value;
                var found = Decoder.Decode(op);
                Assert.NotNull(found);
                string text = Disassembler.Format(found!, op, 0x400000);
                Assert.DoesNotContain("{", text);
                Assert.False(string.IsNullOrWhiteSpace(text));
            }
        }
        Assert.True(rows > 1000, $"only {rows} FP/SIMD rows");
    }

    [Fact]
    public void DisassemblyNamesArrangements()
    {
        var words = A64Asm.Assemble("add v0.16b, v1.16b, v2.16b\nfmla v3.2d, v4.2d, v5.d[1]\ndup v6.4s, w7\nushr v8.8h, v9.8h, #3\nfcvtzs x0, d1\nfmov v2.d[1], x3");
        string[] expected = ["add v0.16b, v1.16b, v2.16b", "fmla v3.2d, v4.2d, v5.d[1]", "dup v6.4s, w7", "ushr v8.8h, v9.8h, #16-#0xd", "fcvtzs x0, d1", "fmov v2.d[1], x3"];
        for (int i = 0; i < words.Length; i++) Assert.Equal(expected[i], Disassembler.Disassemble(words[i], 0));
    }
}
