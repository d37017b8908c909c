using Dqemu.JitX64.Instructions;

namespace Dqemu.JitX64.Decoders;

/// <summary>
/// Exclusives, load-acquire/store-release (incl. RCpc LDAPR/LDAPUR/STLUR and LORegion LDLAR/STLLR) and the
/// ARMv8.1 LSE atomics. Field letters: t Rt, u Rt2, s Rs, n Rn, i immediate.
/// </summary>
public static partial class OpCodeTable
{
    static partial void AddAtomic(List<InstDescriptor> t)
    {
        string[] sizes = ["00", "01", "10", "11"];
        string[] suffix = ["b", "h", "", ""];
        char[] reg = ['W', 'W', 'W', 'X'];

        for (int z = 0; z < 4; z++)
        {
            string sz = sizes[z], sf = suffix[z];
            string rt = "{" + reg[z] + "t}";
            foreach (char o0 in "01")
            {
                string acq = o0 == '1' ? "a" : "", rel = o0 == '1' ? "l" : "";
                // load/store exclusive register (Rt2 and, for loads, Rs are ignored, as qemu does)
                AtRow(t, $"ST{rel}XR{sf}_{z}".ToUpperInvariant(), $"{sz} 001000 0 0 0 sssss {o0} ----- nnnnn ttttt", InstEmit.Stxr, $"st{rel}xr{sf} {{Ws}}, {rt}, [{{XSn}}]");
                AtRow(t, $"LD{acq}XR{sf}_{z}".ToUpperInvariant(), $"{sz} 001000 0 1 0 ----- {o0} ----- nnnnn ttttt", InstEmit.Ldxr, $"ld{acq}xr{sf} {rt}, [{{XSn}}]");
                // load-acquire / store-release (o0 = 0: the LORegion forms)
                AtRow(t, (o0 == '1' ? $"STLR{sf}_{z}" : $"STLLR{sf}_{z}").ToUpperInvariant(), $"{sz} 001000 1 0 0 11111 {o0} 11111 nnnnn ttttt", InstEmit.Stlr, $"{(o0 == '1' ? "stlr" : "stllr")}{sf} {rt}, [{{XSn}}]");
                AtRow(t, (o0 == '1' ? $"LDAR{sf}_{z}" : $"LDLAR{sf}_{z}").ToUpperInvariant(), $"{sz} 001000 1 1 0 11111 {o0} 11111 nnnnn ttttt", InstEmit.Ldar, $"{(o0 == '1' ? "ldar" : "ldlar")}{sf} {rt}, [{{XSn}}]");
                // CAS: L (bit 22) = acquire, o0 = release
                foreach (char l in "01")
                {
                    string ord = (l == '1' ? "a" : "") + (o0 == '1' ? "l" : "");
                    AtRow(t, $"CAS{ord}{sf}_{z}".ToUpperInvariant(), $"{sz} 001000 1 {l} 1 sssss {o0} 11111 nnnnn ttttt", InstEmit.Cas, $"cas{ord}{sf} {{{reg[z]}s}}, {rt}, [{{XSn}}]");
                }
            }
            // RCpc
            AtRow(t, $"LDAPR{sf}_{z}".ToUpperInvariant(), $"{sz} 111000 1 0 1 11111 1100 00 nnnnn ttttt", InstEmit.Ldar, $"ldapr{sf} {rt}, [{{XSn}}]");
        }

        // exclusive pairs and CASP: bit 30 = X
        foreach (char x in "01")
        {
            char r = x == '1' ? 'X' : 'W';
            string regs = $"{{{r}t}}, {{{r}u}}";
            foreach (char o0 in "01")
            {
                string acq = o0 == '1' ? "a" : "", rel = o0 == '1' ? "l" : "";
                AtRow(t, $"ST{rel}XP_{r}".ToUpperInvariant(), $"1 {x} 001000 0 0 1 sssss {o0} uuuuu nnnnn ttttt", InstEmit.Stxp, $"st{rel}xp {{Ws}}, {regs}, [{{XSn}}]");
                AtRow(t, $"LD{acq}XP_{r}".ToUpperInvariant(), $"1 {x} 001000 0 1 1 ----- {o0} uuuuu nnnnn ttttt", InstEmit.Ldxp, $"ld{acq}xp {regs}, [{{XSn}}]");
                foreach (char l in "01")
                {
                    string ord = (l == '1' ? "a" : "") + (o0 == '1' ? "l" : "");
                    AtRow(t, $"CASP{ord}_{r}".ToUpperInvariant(), $"0 {x} 001000 0 {l} 1 sssss {o0} 11111 nnnnn ttttt", InstEmit.Casp, $"casp{ord} {{{r}s}}+1, {{{r}t}}+1, [{{XSn}}]");
                }
            }
        }

        // LDAPUR*/STLUR* (RCpc with an unscaled signed offset): size, opc, mnemonic, register kind
        (string Sz, string Opc, string M, char R, bool Store)[] rcpc2 =
        [
            ("00", "00", "stlurb", 'W', true), ("00", "01", "ldapurb", 'W', false), ("00", "10", "ldapursb", 'X', false), ("00", "11", "ldapursb", 'W', false),
            ("01", "00", "stlurh", 'W', true), ("01", "01", "ldapurh", 'W', false), ("01", "10", "ldapursh", 'X', false), ("01", "11", "ldapursh", 'W', false),
            ("10", "00", "stlur", 'W', true), ("10", "01", "ldapur", 'W', false), ("10", "10", "ldapursw", 'X', false),
            ("11", "00", "stlur", 'X', true), ("11", "01", "ldapur", 'X', false),
        ];
        foreach (var c in rcpc2)
            AtRow(t, $"{c.M.ToUpperInvariant()}_{c.Sz}{c.Opc}", $"{c.Sz} 011001 {c.Opc} 0 iiiiiiiii 00 nnnnn ttttt",
                c.Store ? InstEmit.Stlur : InstEmit.Ldapur, $"{c.M} {{{c.R}t}}, [{{XSn}}, {{s#i}}]");

        // LSE atomic memory operations: o3:opc, mnemonic; A = bit 23, R = bit 22
        (string Op, string M)[] ops =
        [
            ("0000", "add"), ("0001", "clr"), ("0010", "eor"), ("0011", "set"),
            ("0100", "smax"), ("0101", "smin"), ("0110", "umax"), ("0111", "umin"), ("1000", "swp"),
        ];
        foreach (var o in ops)
            for (int z = 0; z < 4; z++)
                foreach (char aBit in "01")
                    foreach (char rBit in "01")
                    {
                        string ord = (aBit == '1' ? "a" : "") + (rBit == '1' ? "l" : "");
                        string mn = (o.M == "swp" ? "swp" : "ld" + o.M) + ord + suffix[z];
                        char rk = reg[z];
                        string pattern = $"{sizes[z]} 111000 {aBit} {rBit} 1 sssss {o.Op} 00 nnnnn ttttt";
                        AtRow(t, $"{mn.ToUpperInvariant()}_{z}", pattern, InstEmit.AtomicOp, $"{mn} {{{rk}s}}, {{{rk}t}}, [{{XSn}}]");
                        if (o.M != "swp" && aBit == '0') // ST<op>{L}: the alias with Rt = zr
                        {
                            string st = "st" + o.M + ord + suffix[z];
                            AtRow(t, $"{st.ToUpperInvariant()}_{z}", pattern[..^5] + "11111", InstEmit.AtomicOp, $"{st} {{{rk}s}}, [{{XSn}}]");
                        }
                    }
    }

    private static void AtRow(List<InstDescriptor> t, string name, string pattern, InstEmitter emit, string format)
        => t.Add(name, pattern.Replace(" ", ""), emit, format);
}
