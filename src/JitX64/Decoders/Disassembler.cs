using System.Globalization;
using System.Text;

namespace Dqemu.JitX64.Decoders;

/// <summary>
/// Text for -d in_asm, produced from the table row's Format. Placeholders name pattern fields:
/// {Rx}/{RSx} GPR sized by field 'f' (RS: 31 is sp), {Xx} {XSx} {Wx} {WSx} fixed width,
/// {Vx} {Qx} {Dx} {Sx} {Hx} {Bx} SIMD&amp;FP registers, {#x} unsigned and {s#x} signed immediates
/// (optionally "*N" scaled), {d#x} an unsigned immediate always in decimal (objdump's XAR rotation), {@x} PC-relative target of a word offset, {adr} {adrp} their targets,
/// {cx} a condition, {shx} a shift name, {extx} an extend name, {bimm} a logical immediate,
/// {x?text} / {x!text} text when the field is non-zero / zero.
/// </summary>
public static class Disassembler
{
    private static readonly string[] Conds = ["eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"];
    private static readonly string[] Shifts = ["lsl", "lsr", "asr", "ror"];
    private static readonly string[] Extends = ["uxtb", "uxth", "uxtw", "uxtx", "sxtb", "sxth", "sxtw", "sxtx"];

    public static string Disassemble(uint op, ulong pc)
    {
        var d = Decoder.Decode(op);
        if (d == null) return $".inst 0x{op:x8} (undefined)";
        return Format(d, op, pc);
    }

    public static string Format(InstDescriptor d, uint op, ulong pc)
    {
        var sb = new StringBuilder();
        string f = d.Format;
        for (int i = 0; i < f.Length; i++)
        {
            if (f[i] != '{') { sb.Append(f[i]); continue; }
            int end = f.IndexOf('}', i);
            if (end < 0) { sb.Append(f, i, f.Length - i); break; }
            sb.Append(Expand(d, op, pc, f.Substring(i + 1, end - i - 1)));
            i = end;
        }
        return sb.ToString();
    }

    private static string Expand(InstDescriptor d, uint op, ulong pc, string p)
    {
        if (p.Length >= 2 && (p[1] == '?' || p[1] == '!'))
        {
            long v = d.Field(op, p[0]);
            bool nonZero = v > 0;
            return (p[1] == '?') == nonZero ? p.Substring(2) : "";
        }
        switch (p)
        {
            case "adr":
                return Hex(pc + (ulong)new A64Op(op).AdrOffset);
            case "adrp":
                return Hex((pc & ~0xfffUL) + (ulong)(new A64Op(op).AdrOffset << 12));
            case "bimm":
                return new A64Op(op).LogicalImmediate is ulong imm ? "#" + Hex(imm) : "#<reserved>";
        }
        int scale = 1;
        int star = p.IndexOf('*');
        if (star > 0)
        {
            scale = int.Parse(p.AsSpan(star + 1), CultureInfo.InvariantCulture);
            p = p.Substring(0, star);
        }
        char letter = p[^1];
        string kind = p.Substring(0, p.Length - 1);
        long field = d.Field(op, letter);
        int width = d.FieldWidth(letter);
        bool sf = d.Field(op, 'f') != 0; // absent (-1) reads as 64-bit
        switch (kind)
        {
            case "R": return Gpr(field, sf, false);
            case "RS": return Gpr(field, sf, true);
            case "X": return Gpr(field, true, false);
            case "XS": return Gpr(field, true, true);
            case "W": return Gpr(field, false, false);
            case "WS": return Gpr(field, false, true);
            case "V": return "v" + field;
            case "Q": return "q" + field;
            case "D": return "d" + field;
            case "S": return "s" + field;
            case "H": return "h" + field;
            case "B": return "b" + field;
            case "#": return "#" + Imm((ulong)field * (ulong)scale);
            case "d#": return "#" + field.ToString(CultureInfo.InvariantCulture);
            case "s#":
                {
                    long v = A64Bits.SignExtend((ulong)field, width) * scale;
                    return v < 0 ? "#-" + Imm((ulong)(-v)) : "#" + Imm((ulong)v);
                }
            case "@": return Hex(pc + (ulong)(A64Bits.SignExtend((ulong)field, width) * 4));
            case "c": return Conds[field & 15];
            case "sh": return Shifts[field & 3];
            case "ext": return Extends[field & 7];
        }
        return "{" + p + "}";
    }

    private static string Gpr(long n, bool x, bool sp)
    {
        if (n == 31) return sp ? (x ? "sp" : "wsp") : (x ? "xzr" : "wzr");
        return (x ? "x" : "w") + n.ToString(CultureInfo.InvariantCulture);
    }

    private static string Imm(ulong v) => v < 10 ? v.ToString(CultureInfo.InvariantCulture) : Hex(v);
    private static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);
}
