using System.Text;

namespace Dqemu.Runtime.Debugging;

/// <summary>
/// The target description gdb reads with qXfer:features:read:target.xml: the two standard AArch64 features gdb
/// knows by name, org.gnu.gdb.aarch64.core (x0-x30, sp, pc, cpsr: register numbers 0-33) and
/// org.gnu.gdb.aarch64.fpu (v0-v31 as 128-bit unions of lane vectors, fpsr, fpcr: 34-67). The register numbers
/// are the ones <see cref="GdbRegisters"/> reads and writes ("g", "p" and "P" packets).
/// </summary>
public static class GdbTargetXml
{
    public static readonly string Text = Build();

    private static string Build()
    {
        var x = new StringBuilder();
        int regnum = 0;
        void Reg(StringBuilder x, string name, int bits, string type, string? group = null)
        {
            x.Append($"<reg name=\"{name}\" bitsize=\"{bits}\" type=\"{type}\" regnum=\"{regnum++}\"");
            if (group != null) x.Append($" group=\"{group}\"");
            x.Append("/>\n");
        }
        x.Append("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n");
        x.Append("<architecture>aarch64</architecture>\n");
        x.Append("<feature name=\"org.gnu.gdb.aarch64.core\">\n");
        for (int i = 0; i <= 30; i++) Reg(x, $"x{i}", 64, "int");
        Reg(x, "sp", 64, "data_ptr");
        Reg(x, "pc", 64, "code_ptr");
        Reg(x, "cpsr", 32, "int"); // NZCV in bits 31-28, EL0t: what a user-mode process shows (as qemu-aarch64)
        x.Append("</feature>\n<feature name=\"org.gnu.gdb.aarch64.fpu\">\n");
        // lane views of a 128-bit register, as gdb names them for AArch64: $v0.d.f[1], $v0.s.u[3], $v0.b.s[15]...
        (string id, string lane, int count)[] vectors =
        [
            ("v2d", "ieee_double", 2), ("v2u", "uint64", 2), ("v2i", "int64", 2),
            ("v4f", "ieee_single", 4), ("v4u", "uint32", 4), ("v4i", "int32", 4),
            ("v8bf16", "bfloat16", 8), ("v8f", "ieee_half", 8), ("v8u", "uint16", 8), ("v8i", "int16", 8),
            ("v16u", "uint8", 16), ("v16i", "int8", 16),
            ("v1u", "uint128", 1), ("v1i", "int128", 1),
        ];
        foreach (var (id, lane, count) in vectors) x.Append($"<vector id=\"{id}\" type=\"{lane}\" count=\"{count}\"/>\n");
        Union(x, "vnd", ("f", "v2d"), ("u", "v2u"), ("s", "v2i"));
        Union(x, "vns", ("f", "v4f"), ("u", "v4u"), ("s", "v4i"));
        Union(x, "vnh", ("bf", "v8bf16"), ("f", "v8f"), ("u", "v8u"), ("s", "v8i"));
        Union(x, "vnb", ("u", "v16u"), ("s", "v16i"));
        Union(x, "vnq", ("u", "v1u"), ("s", "v1i"));
        Union(x, "aarch64v", ("d", "vnd"), ("s", "vns"), ("h", "vnh"), ("b", "vnb"), ("q", "vnq"));
        for (int i = 0; i < 32; i++) Reg(x, $"v{i}", 128, "aarch64v", "vector");
        Reg(x, "fpsr", 32, "int", "float");
        Reg(x, "fpcr", 32, "int", "float");
        x.Append("</feature>\n</target>\n");
        return x.ToString();
    }

    private static void Union(StringBuilder x, string id, params (string name, string type)[] fields)
    {
        x.Append($"<union id=\"{id}\">\n");
        foreach (var (name, type) in fields) x.Append($"  <field name=\"{name}\" type=\"{type}\"/>\n");
        x.Append("</union>\n");
    }

    /// <summary>The annex's bytes (here and for the auxiliary vector, Latin-1 chars) from <paramref name="offset"/>, at most <paramref name="length"/>, as a qXfer
    /// reply: "m" and the data when more follows, "l" and the data for the last part.</summary>
    public static string Read(string annex, int offset, int length)
    {
        if (offset >= annex.Length) return "l";
        int n = Math.Min(length, annex.Length - offset);
        return (offset + n >= annex.Length ? "l" : "m") + annex.Substring(offset, n);
    }
}
