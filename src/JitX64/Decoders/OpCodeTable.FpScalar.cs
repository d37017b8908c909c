using Dqemu.JitX64.Instructions;

namespace Dqemu.JitX64.Decoders;

/// <summary>
/// Scalar floating point: data processing (1, 2, 3 sources), compares, selects, immediates and the
/// conversions to and from general registers. Single and double precision; half precision only in FCVT.
/// Patterns use 'T' for the type bit 22 (0 single, 1 double); each such row is listed once per type.
/// </summary>
public static partial class OpCodeTable
{
    /// <summary>Adds the single ('T'=0, "{F" = {S) and double ('T'=1, "{F" = {D) forms of a row.</summary>
    private static void AddFpSD(this List<InstDescriptor> t, string name, string pattern, InstEmitter e, string format)
    {
        t.Add(name, pattern.Replace('T', '0'), e, format.Replace("{F", "{S").Replace("{f}", "s"));
        t.Add(name, pattern.Replace('T', '1'), e, format.Replace("{F", "{D").Replace("{f}", "d"));
    }

    static partial void AddFpScalar(List<InstDescriptor> t)
    {
        // data processing, 1 source
        t.AddFpSD("FMOV", "000111100T100000010000nnnnnddddd", InstEmit.FpMovReg, "fmov {Fd}, {Fn}");
        t.AddFpSD("FABS", "000111100T100000110000nnnnnddddd", InstEmit.FpAbs, "fabs {Fd}, {Fn}");
        t.AddFpSD("FNEG", "000111100T100001010000nnnnnddddd", InstEmit.FpNeg, "fneg {Fd}, {Fn}");
        t.AddFpSD("FSQRT", "000111100T100001110000nnnnnddddd", InstEmit.FpSqrt, "fsqrt {Fd}, {Fn}");
        t.Add("FCVT", "0001111000100010110000nnnnnddddd", InstEmit.FpCvtPrecision, "fcvt {Dd}, {Sn}");
        t.Add("FCVT", "0001111000100011110000nnnnnddddd", InstEmit.FpCvtPrecision, "fcvt {Hd}, {Sn}");
        t.Add("FCVT", "0001111001100010010000nnnnnddddd", InstEmit.FpCvtPrecision, "fcvt {Sd}, {Dn}");
        t.Add("FCVT", "0001111001100011110000nnnnnddddd", InstEmit.FpCvtPrecision, "fcvt {Hd}, {Dn}");
        t.Add("FCVT", "0001111011100010010000nnnnnddddd", InstEmit.FpCvtPrecision, "fcvt {Sd}, {Hn}");
        t.Add("FCVT", "0001111011100010110000nnnnnddddd", InstEmit.FpCvtPrecision, "fcvt {Dd}, {Hn}");
        string[] frint = ["frintn", "frintp", "frintm", "frintz", "frinta", "", "frintx", "frinti"];
        for (int r = 0; r < 8; r++)
        {
            if (r == 5) continue;
            string bits = Convert.ToString(r, 2).PadLeft(3, '0');
            t.AddFpSD(frint[r].ToUpperInvariant(), "000111100T1001" + bits + "10000nnnnnddddd", InstEmit.FpRoundInt, frint[r] + " {Fd}, {Fn}");
        }

        // compares
        t.AddFpSD("FCMP", "000111100T1mmmmm001000nnnnn00000", InstEmit.Fcmp, "fcmp {Fn}, {Fm}");
        t.AddFpSD("FCMP", "000111100T1mmmmm001000nnnnn01000", InstEmit.Fcmp, "fcmp {Fn}, #0.0");
        t.AddFpSD("FCMPE", "000111100T1mmmmm001000nnnnn10000", InstEmit.Fcmp, "fcmpe {Fn}, {Fm}");
        t.AddFpSD("FCMPE", "000111100T1mmmmm001000nnnnn11000", InstEmit.Fcmp, "fcmpe {Fn}, #0.0");
        t.AddFpSD("FCCMP", "000111100T1mmmmmcccc01nnnnn0vvvv", InstEmit.Fccmp, "fccmp {Fn}, {Fm}, {#v}, {cc}");
        t.AddFpSD("FCCMPE", "000111100T1mmmmmcccc01nnnnn1vvvv", InstEmit.Fccmp, "fccmpe {Fn}, {Fm}, {#v}, {cc}");
        t.AddFpSD("FCSEL", "000111100T1mmmmmcccc11nnnnnddddd", InstEmit.Fcsel, "fcsel {Fd}, {Fn}, {Fm}, {cc}");
        t.AddFpSD("FMOV", "000111100T1iiiiiiii10000000ddddd", InstEmit.FpMovImm, "fmov {Fd}, #imm8:{#i}");

        // data processing, 2 sources
        t.AddFpSD("FMUL", "000111100T1mmmmm000010nnnnnddddd", InstEmit.FpDp2, "fmul {Fd}, {Fn}, {Fm}");
        t.AddFpSD("FDIV", "000111100T1mmmmm000110nnnnnddddd", InstEmit.FpDp2, "fdiv {Fd}, {Fn}, {Fm}");
        t.AddFpSD("FADD", "000111100T1mmmmm001010nnnnnddddd", InstEmit.FpDp2, "fadd {Fd}, {Fn}, {Fm}");
        t.AddFpSD("FSUB", "000111100T1mmmmm001110nnnnnddddd", InstEmit.FpDp2, "fsub {Fd}, {Fn}, {Fm}");
        t.AddFpSD("FMAX", "000111100T1mmmmm010010nnnnnddddd", InstEmit.FpMaxMin, "fmax {Fd}, {Fn}, {Fm}");
        t.AddFpSD("FMIN", "000111100T1mmmmm010110nnnnnddddd", InstEmit.FpMaxMin, "fmin {Fd}, {Fn}, {Fm}");
        t.AddFpSD("FMAXNM", "000111100T1mmmmm011010nnnnnddddd", InstEmit.FpMaxMin, "fmaxnm {Fd}, {Fn}, {Fm}");
        t.AddFpSD("FMINNM", "000111100T1mmmmm011110nnnnnddddd", InstEmit.FpMaxMin, "fminnm {Fd}, {Fn}, {Fm}");
        t.AddFpSD("FNMUL", "000111100T1mmmmm100010nnnnnddddd", InstEmit.FpDp2, "fnmul {Fd}, {Fn}, {Fm}");

        // data processing, 3 sources
        t.AddFpSD("FMADD", "000111110T0mmmmm0aaaaannnnnddddd", InstEmit.FpMulAdd, "fmadd {Fd}, {Fn}, {Fm}, {Fa}");
        t.AddFpSD("FMSUB", "000111110T0mmmmm1aaaaannnnnddddd", InstEmit.FpMulAdd, "fmsub {Fd}, {Fn}, {Fm}, {Fa}");
        t.AddFpSD("FNMADD", "000111110T1mmmmm0aaaaannnnnddddd", InstEmit.FpMulAdd, "fnmadd {Fd}, {Fn}, {Fm}, {Fa}");
        t.AddFpSD("FNMSUB", "000111110T1mmmmm1aaaaannnnnddddd", InstEmit.FpMulAdd, "fnmsub {Fd}, {Fn}, {Fm}, {Fa}");

        // conversions to and from general registers (rmode:opcode in bits 20..16)
        (string name, string bits)[] toInt =
        [
            ("fcvtns", "00000"), ("fcvtnu", "00001"), ("fcvtas", "00100"), ("fcvtau", "00101"),
            ("fcvtps", "01000"), ("fcvtpu", "01001"), ("fcvtms", "10000"), ("fcvtmu", "10001"),
            ("fcvtzs", "11000"), ("fcvtzu", "11001"),
        ];
        foreach (var (name, bits) in toInt)
            t.AddFpSD(name.ToUpperInvariant(), "f00111100T1" + bits + "000000nnnnnddddd", InstEmit.FpCvtToInt, name + " {Rd}, {Fn}");
        t.AddFpSD("SCVTF", "f00111100T100010000000nnnnnddddd", InstEmit.FpCvtFromInt, "scvtf {Fd}, {Rn}");
        t.AddFpSD("UCVTF", "f00111100T100011000000nnnnnddddd", InstEmit.FpCvtFromInt, "ucvtf {Fd}, {Rn}");

        // fixed point: scale in bits 15..10 (fbits = 64 - scale; W forms need scale >= 32)
        t.AddFpSD("FCVTZS", "000111100T0110001sssssnnnnnddddd", InstEmit.FpCvtToInt, "fcvtzs {Wd}, {Fn}, #(64-{#s})");
        t.AddFpSD("FCVTZS", "100111100T011000ssssssnnnnnddddd", InstEmit.FpCvtToInt, "fcvtzs {Xd}, {Fn}, #(64-{#s})");
        t.AddFpSD("FCVTZU", "000111100T0110011sssssnnnnnddddd", InstEmit.FpCvtToInt, "fcvtzu {Wd}, {Fn}, #(64-{#s})");
        t.AddFpSD("FCVTZU", "100111100T011001ssssssnnnnnddddd", InstEmit.FpCvtToInt, "fcvtzu {Xd}, {Fn}, #(64-{#s})");
        t.AddFpSD("SCVTF", "000111100T0000101sssssnnnnnddddd", InstEmit.FpCvtFromInt, "scvtf {Fd}, {Wn}, #(64-{#s})");
        t.AddFpSD("SCVTF", "100111100T000010ssssssnnnnnddddd", InstEmit.FpCvtFromInt, "scvtf {Fd}, {Xn}, #(64-{#s})");
        t.AddFpSD("UCVTF", "000111100T0000111sssssnnnnnddddd", InstEmit.FpCvtFromInt, "ucvtf {Fd}, {Wn}, #(64-{#s})");
        t.AddFpSD("UCVTF", "100111100T000011ssssssnnnnnddddd", InstEmit.FpCvtFromInt, "ucvtf {Fd}, {Xn}, #(64-{#s})");

        // FMOV (general)
        t.Add("FMOV", "0001111000100110000000nnnnnddddd", InstEmit.FmovToGeneral, "fmov {Wd}, {Sn}");
        t.Add("FMOV", "0001111000100111000000nnnnnddddd", InstEmit.FmovFromGeneral, "fmov {Sd}, {Wn}");
        t.Add("FMOV", "1001111001100110000000nnnnnddddd", InstEmit.FmovToGeneral, "fmov {Xd}, {Dn}");
        t.Add("FMOV", "1001111001100111000000nnnnnddddd", InstEmit.FmovFromGeneral, "fmov {Dd}, {Xn}");
        t.Add("FMOV", "1001111010101110000000nnnnnddddd", InstEmit.FmovToGeneralHigh, "fmov {Xd}, {Vn}.d[1]");
        t.Add("FMOV", "1001111010101111000000nnnnnddddd", InstEmit.FmovFromGeneralHigh, "fmov {Vd}.d[1], {Xn}");
    }
}
