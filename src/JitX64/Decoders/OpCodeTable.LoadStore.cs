using Dqemu.JitX64.Instructions;

namespace Dqemu.JitX64.Decoders;

/// <summary>
/// Loads and stores: single registers (GPR and SIMD&amp;FP) in every addressing form, literals, PRFM, pairs,
/// and the Advanced SIMD structure forms. Rows are generated from small tables so every size/sign variant
/// gets its own mnemonic in -d in_asm; the emitters read size, opc and V from their fields.
/// Field letters: t Rt, u Rt2, n Rn, m Rm, i immediate/lane index, o/f option bits 2 and 0 (f also sizes
/// {Rm}), S the register-offset shift bit, L load, q Q, z size.
/// </summary>
public static partial class OpCodeTable
{
    static partial void AddLoadStore(List<InstDescriptor> t)
    {
        AddLdStSingle(t);
        AddLdStPairs(t);
        AddSimdStructures(t);
    }

    private static void LsRow(List<InstDescriptor> t, string name, string pattern, InstEmitter emit, string format)
        => t.Add(name, pattern.Replace(" ", ""), emit, format);

    private static void AddLdStSingle(List<InstDescriptor> t)
    {
        // name, mnemonic, size, V, opc, register kind in the format, log2 of the access size
        (string N, string M, string Sz, char V, string Opc, char R, int Scale)[] rows =
        [
            ("STRB", "strb", "00", '0', "00", 'W', 0), ("LDRB", "ldrb", "00", '0', "01", 'W', 0),
            ("LDRSB_X", "ldrsb", "00", '0', "10", 'X', 0), ("LDRSB_W", "ldrsb", "00", '0', "11", 'W', 0),
            ("STRH", "strh", "01", '0', "00", 'W', 1), ("LDRH", "ldrh", "01", '0', "01", 'W', 1),
            ("LDRSH_X", "ldrsh", "01", '0', "10", 'X', 1), ("LDRSH_W", "ldrsh", "01", '0', "11", 'W', 1),
            ("STR_W", "str", "10", '0', "00", 'W', 2), ("LDR_W", "ldr", "10", '0', "01", 'W', 2),
            ("LDRSW", "ldrsw", "10", '0', "10", 'X', 2),
            ("STR_X", "str", "11", '0', "00", 'X', 3), ("LDR_X", "ldr", "11", '0', "01", 'X', 3),
            ("STR_B", "str", "00", '1', "00", 'B', 0), ("LDR_B", "ldr", "00", '1', "01", 'B', 0),
            ("STR_H", "str", "01", '1', "00", 'H', 1), ("LDR_H", "ldr", "01", '1', "01", 'H', 1),
            ("STR_S", "str", "10", '1', "00", 'S', 2), ("LDR_S", "ldr", "10", '1', "01", 'S', 2),
            ("STR_D", "str", "11", '1', "00", 'D', 3), ("LDR_D", "ldr", "11", '1', "01", 'D', 3),
            ("STR_Q", "str", "00", '1', "10", 'Q', 4), ("LDR_Q", "ldr", "00", '1', "11", 'Q', 4),
        ];
        foreach (var r in rows)
        {
            string head = $"{r.Sz} 111 {r.V}";
            string rt = "{" + r.R + "t}";
            string m = r.M, mu = m[..2] + "u" + m[2..], mt = m[..2] + "t" + m[2..];
            string ext = ", {o!u}{o?s}xt{f?x}{f!w}" + (r.Scale == 0 ? "" : "{S? #" + r.Scale + "}");
            LsRow(t, r.N + "_uimm", $"{head} 01 {r.Opc} iiiiiiiiiiii nnnnn ttttt", InstEmit.LdStUImm, $"{m} {rt}, [{{XSn}}, {{#i*{1 << r.Scale}}}]");
            LsRow(t, r.N + "_unscaled", $"{head} 00 {r.Opc} 0 iiiiiiiii 00 nnnnn ttttt", InstEmit.LdStImm9, $"{mu} {rt}, [{{XSn}}, {{s#i}}]");
            LsRow(t, r.N + "_post", $"{head} 00 {r.Opc} 0 iiiiiiiii 01 nnnnn ttttt", InstEmit.LdStImm9, $"{m} {rt}, [{{XSn}}], {{s#i}}");
            LsRow(t, r.N + "_pre", $"{head} 00 {r.Opc} 0 iiiiiiiii 11 nnnnn ttttt", InstEmit.LdStImm9, $"{m} {rt}, [{{XSn}}, {{s#i}}]!");
            LsRow(t, r.N + "_reg", $"{head} 00 {r.Opc} 1 mmmmm o1f S 10 nnnnn ttttt", InstEmit.LdStReg, $"{m} {rt}, [{{XSn}}, {{Rm}}{ext}]");
            // option 011 (UXTX) is written LSL: a more specific row only for its text
            LsRow(t, r.N + "_reg_lsl", $"{head} 00 {r.Opc} 1 mmmmm 011 S 10 nnnnn ttttt", InstEmit.LdStReg, $"{m} {rt}, [{{XSn}}, {{Xm}}{{S?, lsl #{r.Scale}}}]");
            if (r.V == '0') // LDTR*/STTR*: unprivileged, the same as the normal access at EL0
                LsRow(t, r.N + "_unpriv", $"{head} 00 {r.Opc} 0 iiiiiiiii 10 nnnnn ttttt", InstEmit.LdStImm9, $"{mt} {rt}, [{{XSn}}, {{s#i}}]");
        }

        // PRFM in every form, PRFUM: hints
        LsRow(t, "PRFM_uimm", "11 111 0 01 10 iiiiiiiiiiii nnnnn ttttt", InstEmit.Prfm, "prfm #{#t}, [{XSn}, {#i*8}]");
        LsRow(t, "PRFUM", "11 111 0 00 10 0 iiiiiiiii 00 nnnnn ttttt", InstEmit.Prfm, "prfum #{#t}, [{XSn}, {s#i}]");
        LsRow(t, "PRFM_reg", "11 111 0 00 10 1 mmmmm o1f S 10 nnnnn ttttt", InstEmit.Prfm, "prfm #{#t}, [{XSn}, {Rm}, {o!u}{o?s}xt{f?x}{f!w}{S? #3}]");
        LsRow(t, "PRFM_reg_lsl", "11 111 0 00 10 1 mmmmm 011 S 10 nnnnn ttttt", InstEmit.Prfm, "prfm #{#t}, [{XSn}, {Xm}{S?, lsl #3}]");
        LsRow(t, "PRFM_lit", "11 011 0 00 iiiiiiiiiiiiiiiiiii ttttt", InstEmit.Prfm, "prfm #{#t}, {@i}");

        // literals
        LsRow(t, "LDR_W_lit", "00 011 0 00 iiiiiiiiiiiiiiiiiii ttttt", InstEmit.LdrLit, "ldr {Wt}, {@i}");
        LsRow(t, "LDR_X_lit", "01 011 0 00 iiiiiiiiiiiiiiiiiii ttttt", InstEmit.LdrLit, "ldr {Xt}, {@i}");
        LsRow(t, "LDRSW_lit", "10 011 0 00 iiiiiiiiiiiiiiiiiii ttttt", InstEmit.LdrLit, "ldrsw {Xt}, {@i}");
        LsRow(t, "LDR_S_lit", "00 011 1 00 iiiiiiiiiiiiiiiiiii ttttt", InstEmit.LdrLit, "ldr {St}, {@i}");
        LsRow(t, "LDR_D_lit", "01 011 1 00 iiiiiiiiiiiiiiiiiii ttttt", InstEmit.LdrLit, "ldr {Dt}, {@i}");
        LsRow(t, "LDR_Q_lit", "10 011 1 00 iiiiiiiiiiiiiiiiiii ttttt", InstEmit.LdrLit, "ldr {Qt}, {@i}");
    }

    private static void AddLdStPairs(List<InstDescriptor> t)
    {
        // name, opc, V, register kind, log2 of one register's size
        (string N, string Opc, char V, char R, int Scale)[] kinds =
        [
            ("W", "00", '0', 'W', 2), ("X", "10", '0', 'X', 3), ("SW", "01", '0', 'X', 2),
            ("S", "00", '1', 'S', 2), ("D", "01", '1', 'D', 3), ("Q", "10", '1', 'Q', 4),
        ];
        foreach (var k in kinds)
            foreach (char l in "01")
            {
                if (k.N == "SW" && l == '0') continue; // STGP (MTE) is not ours
                string mn = k.N == "SW" ? "ldpsw" : l == '1' ? "ldp" : "stp";
                string name = (k.N == "SW" ? "LDPSW" : l == '1' ? "LDP_" + k.N : "STP_" + k.N);
                string regs = $"{{{k.R}t}}, {{{k.R}u}}";
                string imm = $"{{s#i*{1 << k.Scale}}}";
                string head = $"{k.Opc} 101 {k.V} 0";
                string tail = $"{l} iiiiiii uuuuu nnnnn ttttt";
                if (k.N != "SW")
                    LsRow(t, name.Replace("P", "NP"), $"{head} 00 {tail}", InstEmit.LdStPair, $"{mn[..2]}n{mn[2..]} {regs}, [{{XSn}}, {imm}]");
                LsRow(t, name + "_post", $"{head} 01 {tail}", InstEmit.LdStPair, $"{mn} {regs}, [{{XSn}}], {imm}");
                LsRow(t, name, $"{head} 10 {tail}", InstEmit.LdStPair, $"{mn} {regs}, [{{XSn}}, {imm}]");
                LsRow(t, name + "_pre", $"{head} 11 {tail}", InstEmit.LdStPair, $"{mn} {regs}, [{{XSn}}, {imm}]!");
            }
    }

    private static void AddSimdStructures(List<InstDescriptor> t)
    {
        string[] arr16 = ["16b", "8h", "4s", "2d"], arr8 = ["8b", "4h", "2s", "1d"];

        // multiple structures: opcode, mnemonic suffix (1-4), registers, structure elements
        (string Op, int N, int Regs, int Selem)[] multi =
        [
            ("0000", 4, 4, 4), ("0010", 1, 4, 1), ("0100", 3, 3, 3), ("0110", 1, 3, 1),
            ("0111", 1, 1, 1), ("1000", 2, 2, 2), ("1010", 1, 2, 1),
        ];
        foreach (var mu in multi)
            for (int size = 0; size < 4; size++)
                foreach (char l in "01")
                {
                    bool qFixed = size == 3 && mu.Selem > 1; // .1D is reserved for LD2-LD4/ST2-ST4
                    string q = qFixed ? "1" : "q";
                    string arr = qFixed ? arr16[size] : $"{{q?{arr16[size]}}}{{q!{arr8[size]}}}";
                    string imm = qFixed ? $"#{16 * mu.Regs}" : $"{{q?#{16 * mu.Regs}}}{{q!#{8 * mu.Regs}}}";
                    string mn = (l == '1' ? "ld" : "st") + mu.N;
                    string list = $"{{Vt}}.{arr}" + (mu.Regs > 1 ? $" x{mu.Regs}" : "");
                    string name = $"{mn.ToUpperInvariant()}_multi{mu.Regs}_{arr16[size]}";
                    string z = size switch { 0 => "00", 1 => "01", 2 => "10", _ => "11" };
                    LsRow(t, name, $"0 {q} 0011000 {l} 0 00000 {mu.Op} {z} nnnnn ttttt", InstEmit.SimdLdStMulti, $"{mn} {list}, [{{XSn}}]");
                    LsRow(t, name + "_posti", $"0 {q} 0011001 {l} 0 11111 {mu.Op} {z} nnnnn ttttt", InstEmit.SimdLdStMulti, $"{mn} {list}, [{{XSn}}], {imm}");
                    LsRow(t, name + "_postr", $"0 {q} 0011001 {l} 0 mmmmm {mu.Op} {z} nnnnn ttttt", InstEmit.SimdLdStMulti, $"{mn} {list}, [{{XSn}}], {{Xm}}");
                }

        // single structure, one lane: element kind, opcode<2:1>, S and size bits with the lane index as i
        (string K, string Op, string SSize, int Bytes)[] lanes =
        [
            ("b", "00", "iii", 1), ("h", "01", "ii0", 2), ("s", "10", "i00", 4), ("d", "10", "001", 8),
        ];
        foreach (var ln in lanes)
            for (int selem = 1; selem <= 4; selem++)
                foreach (char l in "01")
                {
                    char o0 = (selem - 1) >= 2 ? '1' : '0', r = ((selem - 1) & 1) != 0 ? '1' : '0';
                    string mn = (l == '1' ? "ld" : "st") + selem;
                    string list = $"{{Vt}}.{ln.K}" + (selem > 1 ? $" x{selem}" : "") + "[{#i}]";
                    string name = $"{mn.ToUpperInvariant()}_lane_{ln.K}";
                    string mid = $"{ln.Op}{o0} {ln.SSize} nnnnn ttttt";
                    LsRow(t, name, $"0 i 001101 0 {l} {r} 00000 {mid}", InstEmit.SimdLdStSingle, $"{mn} {list}, [{{XSn}}]");
                    LsRow(t, name + "_posti", $"0 i 001101 1 {l} {r} 11111 {mid}", InstEmit.SimdLdStSingle, $"{mn} {list}, [{{XSn}}], #{ln.Bytes * selem}");
                    LsRow(t, name + "_postr", $"0 i 001101 1 {l} {r} mmmmm {mid}", InstEmit.SimdLdStSingle, $"{mn} {list}, [{{XSn}}], {{Xm}}");
                }

        // LD1R-LD4R: load one structure and replicate it
        for (int selem = 1; selem <= 4; selem++)
            for (int size = 0; size < 4; size++)
            {
                char o0 = (selem - 1) >= 2 ? '1' : '0', r = ((selem - 1) & 1) != 0 ? '1' : '0';
                string mn = $"ld{selem}r";
                string z = size switch { 0 => "00", 1 => "01", 2 => "10", _ => "11" };
                string list = $"{{Vt}}.{{q?{arr16[size]}}}{{q!{arr8[size]}}}" + (selem > 1 ? $" x{selem}" : "");
                string name = $"LD{selem}R_{arr16[size]}";
                string mid = $"11{o0} 0 {z} nnnnn ttttt";
                LsRow(t, name, $"0 q 001101 0 1 {r} 00000 {mid}", InstEmit.SimdLdStSingle, $"{mn} {list}, [{{XSn}}]");
                LsRow(t, name + "_posti", $"0 q 001101 1 1 {r} 11111 {mid}", InstEmit.SimdLdStSingle, $"{mn} {list}, [{{XSn}}], #{(1 << size) * selem}");
                LsRow(t, name + "_postr", $"0 q 001101 1 1 {r} mmmmm {mid}", InstEmit.SimdLdStSingle, $"{mn} {list}, [{{XSn}}], {{Xm}}");
            }
    }
}
