using Dqemu.JitX64.Decoders;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// Loads and stores against qemu-aarch64: every GPR and SIMD&amp;FP size and sign in every addressing form,
/// pairs, literals, PRFM and the Advanced SIMD structure forms. Base registers are set in the state, not by
/// the snippet, so these tests depend on no other instruction class:
///   x1 = data page start, x5 = middle of the page, x2 = 0x10 (small index), x3 = -8 (negative index,
///   also -8 as a W register), x4 = 0x1_0000_0010 (UXTW/SXTW must drop the upper half), SP = 0xF00000.
/// </summary>
public class LoadStoreTests
{
    private const ulong Page = JitHarness.DataAddress;

    internal static MachineState State(int seed)
    {
        var s = MachineState.Random(seed);
        s.X[1] = Page;
        s.X[2] = 0x10;
        s.X[3] = unchecked((ulong)-8L);
        s.X[4] = 0x1_0000_0010;
        s.X[5] = Page + 0x800;
        return s;
    }

    internal static void Check(string snippet, int states = 2)
    {
        for (int seed = 0; seed < states; seed++) DiffTest.AssertSameAsQemu(snippet, State(seed));
    }

    // mnemonic, register prefix, log2 access size, is a store
    private static readonly (string M, string R, int Scale, bool Store)[] Gpr =
    [
        ("strb", "w", 0, true), ("ldrb", "w", 0, false), ("ldrsb", "x", 0, false), ("ldrsb", "w", 0, false),
        ("strh", "w", 1, true), ("ldrh", "w", 1, false), ("ldrsh", "x", 1, false), ("ldrsh", "w", 1, false),
        ("str", "w", 2, true), ("ldr", "w", 2, false), ("ldrsw", "x", 2, false),
        ("str", "x", 3, true), ("ldr", "x", 3, false),
    ];

    private static readonly (string M, string R, int Scale, bool Store)[] Fp =
    [
        ("str", "b", 0, true), ("ldr", "b", 0, false), ("str", "h", 1, true), ("ldr", "h", 1, false),
        ("str", "s", 2, true), ("ldr", "s", 2, false), ("str", "d", 3, true), ("ldr", "d", 3, false),
        ("str", "q", 4, true), ("ldr", "q", 4, false),
    ];

    /// <summary>One snippet per row kind: every addressing form, with writeback and register-offset edge cases.</summary>
    private static string SingleSnippet(string m, string r, int scale, bool store, bool gpr)
    {
        int bytes = 1 << scale;
        string mu = m[..2] + "u" + m[2..], mt = m[..2] + "t" + m[2..];
        string sh = $" #{scale}"; // for bytes "#0" is the S=1 encoding
        int far = (0xff0 / bytes) * bytes; // the largest scaled offset that stays in the page
        // loads write registers 10..27; stores store them (random values) and load nothing back
        var lines = new List<string>
        {
            $"{m} {r}10, [x1]",
            $"{m} {r}11, [x1, #{far}]",
            $"{m} {r}12, [x5, #{bytes * 7}]",
            $"{mu} {r}13, [x5, #-256]",
            $"{mu} {r}14, [x5, #255]",
            $"{mu} {r}15, [x5, #-1]",
            $"{m} {r}16, [x5, #-16]!",
            $"{m} {r}17, [x5], #33",
            $"{m} {r}18, [x5, #255]!",
            $"{m} {r}19, [x5], #-256",
            $"{m} {r}20, [x1, x2]",
            $"{m} {r}21, [x1, x2, lsl{sh}]",
            $"{m} {r}22, [x5, w3, sxtw]",
            $"{m} {r}23, [x5, w3, sxtw{sh}]",
            $"{m} {r}24, [x5, x3, sxtx{sh}]",
            $"{m} {r}25, [x1, w4, uxtw{sh}]",
            $"{m} {r}26, [x1, w4, uxtw]",
            $"{m} {r}27, [x5, x3]",
            $"{m} {r}28, [x1, xzr, lsl{sh}]",
        };
        if (gpr)
        {
            lines.Add($"{mt} {r}29, [x5, #-7]");
            lines.Add($"{mt} {r}30, [x1, #255]");
        }
        // SP-based forms with writeback: push, read back, pop
        if (store)
        {
            string ld = gpr ? (scale == 3 ? "ldr x" : scale == 2 ? "ldr w" : scale == 1 ? "ldrh w" : "ldrb w") : $"ldr {r}";
            lines.Add($"{m} {r}9, [sp, #-32]!");
            lines.Add($"{m} {r}8, [sp, #{bytes}]");
            lines.Add($"{ld}6, [sp], #32");
            lines.Add($"{ld}7, [sp, #{bytes - 32}]");
        }
        else
        {
            lines.Add($"{m} {r}9, [sp, #-64]!");
            lines.Add($"{m} {r}8, [sp], #64");
        }
        return string.Join("\n", lines);
    }

    public static IEnumerable<object[]> GprCases() => Gpr.Select(g => new object[] { SingleSnippet(g.M, g.R, g.Scale, g.Store, true) });
    public static IEnumerable<object[]> FpCases() => Fp.Select(g => new object[] { SingleSnippet(g.M, g.R, g.Scale, g.Store, false) });

    [Theory]
    [MemberData(nameof(GprCases))]
    public void GprSingleRegisterAllForms(string snippet) => Check(snippet);

    [Theory]
    [MemberData(nameof(FpCases))]
    public void FpSingleRegisterAllForms(string snippet) => Check(snippet);

    [Theory]
    // writeback with Rt == Rn (CONSTRAINED UNPREDICTABLE): qemu writes the base back last, stores the old Rt
    [InlineData("ldr x5, [x5], #8\nldr x1, [x1, #16]!")]
    [InlineData("ldrb w5, [x5, #-3]!\nldrsw x1, [x1], #4")]
    [InlineData("str x5, [x5], #8\nstr x1, [x1, #16]!\nstrh w5, [x5, #2]!")]
    [InlineData("ldp x5, x6, [x5], #16\nldp x7, x1, [x1, #32]!")]
    [InlineData("stp x5, x6, [x5, #-16]!\nstp x7, x1, [x1], #8")]
    // zero register as data, SP as base
    [InlineData("str xzr, [x1, #8]\nstrb wzr, [x1, #3]\nstrh wzr, [x1, #6]\nstr wzr, [x1, #20]\nstp xzr, xzr, [x1, #32]\nstp wzr, w9, [x1, #48]")]
    [InlineData("ldr xzr, [x1]\nldrb wzr, [x5], #1\nldp xzr, x9, [x1]\nldr wzr, [x1, x2]")]
    [InlineData("str x10, [sp, #-16]!\nldr x11, [sp]\nldr x12, [sp], #16\nstr w13, [sp, #-4]\nldursw x14, [sp, #-4]")]
    // register offset with both W and X index registers at their extremes
    // LDP with Rt == Rt2 (CONSTRAINED UNPREDICTABLE): qemu keeps the first value for GPRs, the second for SIMD
    [InlineData("ldp x10, x10, [x1]\nldp w11, w11, [x5, #8]\nldpsw x12, x12, [x1, #16]\nldp q1, q1, [x1, #32]\nldp d2, d2, [x1]")]
    [InlineData("ldr x10, [x5, w2, uxtw]\nldr x11, [x5, x3, lsl #3]\nldr w12, [x5, w3, sxtw #2]\nldrh w13, [x5, x3, sxtx #1]")]
    // values the block computed, held in host registers (the register layer), stored from them at every size and
    // loaded straight into them (EmitterContext.ResultReg), LDP's second register too
    [InlineData("add x9, x9, #1\nadd x10, x10, #2\nadd x11, x11, #3\nadd x12, x12, #4\nstrb w9, [x1]\nstrh w10, [x1, #2]\nstr w11, [x1, #4]\nstr x12, [x1, #8]\nstp w9, w10, [x1, #16]\nstp x11, x12, [x1, #24]\nldrb w9, [x1, #9]\nldrsh x10, [x1, #2]\nldrsb w11, [x1, #8]\nldr w12, [x1, #12]\nadd x9, x9, x10\nadd x10, x10, x11\nadd x11, x11, x12\nldp x12, x9, [x1, #16]\nadd x12, x12, x9\nstrb w12, [x1, #40]\nstrh w11, [x1, #42]")]
    public void EdgeCases(string snippet) => Check(snippet);

    [Fact]
    public void Literals()
    {
        Check("""
            ldr x10, 1f
            ldr w11, 1f
            ldrsw x12, 2f
            ldr s13, 1f
            ldr d14, 2f
            ldr q15, 1f
            prfm pldl1keep, 1f
            b 3f
            .p2align 4
            1:  .quad 0x8899aabbccddeeff
            .quad 0x0123456789abcdef
            2:  .quad 0xfedcba9876543210
            .quad 0x7fffffff80000000
            3:  ldr x16, 1b
            ldrsw x17, 1b
            ldr q18, 2b
            ldrsw x19, 4f
            b 5f
            4:  .word 0x7fffffff
            5:  nop
            """);
    }

    [Fact]
    public void PrefetchIsANop()
    {
        Check("""
            prfm pldl1keep, [x1, #8]
            prfm pstl3strm, [x1, #32760]
            prfum pldl2keep, [x5, #-3]
            prfm plil1keep, [x1, x2, lsl #3]
            prfm pldl1strm, [x1, w4, uxtw]
            prfm #31, [x5, w3, sxtw #3]
            """);
    }

    // pairs: mnemonic, register prefix, log2 of one register
    private static readonly (string M, string R, int Scale)[] Pairs =
    [
        ("stp", "w", 2), ("ldp", "w", 2), ("stp", "x", 3), ("ldp", "x", 3), ("ldpsw", "x", 2),
        ("stp", "s", 2), ("ldp", "s", 2), ("stp", "d", 3), ("ldp", "d", 3), ("stp", "q", 4), ("ldp", "q", 4),
    ];

    public static IEnumerable<object[]> PairCases()
    {
        foreach (var p in Pairs)
        {
            int b = 1 << p.Scale;
            string np = p.M == "ldpsw" ? null! : p.M[..2] + "n" + p.M[2..];
            var lines = new List<string>
            {
                $"{p.M} {p.R}10, {p.R}11, [x1]",
                $"{p.M} {p.R}12, {p.R}13, [x5, #{-64 * b}]",
                $"{p.M} {p.R}14, {p.R}15, [x5, #{63 * b}]",
                $"{p.M} {p.R}16, {p.R}17, [x5, #{-2 * b}]!",
                $"{p.M} {p.R}18, {p.R}19, [x5], #{5 * b}",
                $"{p.M} {p.R}20, {p.R}21, [x5, #{63 * b}]!",
                $"{p.M} {p.R}22, {p.R}23, [x5], #{-64 * b}",
            };
            if (np != null)
            {
                lines.Add($"{np} {p.R}24, {p.R}25, [x1, #{8 * b}]");
                lines.Add($"{np} {p.R}26, {p.R}27, [x5, #{-8 * b}]");
            }
            if (p.M == "stp")
            {
                lines.Add($"stp {p.R}28, {p.R}29, [sp, #-64]!");
                lines.Add($"ldp {p.R}6, {p.R}7, [sp], #64");
            }
            else
            {
                lines.Add($"{p.M} {p.R}28, {p.R}29, [sp, #-64]!");
                lines.Add($"{p.M} {p.R}6, {p.R}7, [sp], #64");
            }
            yield return [string.Join("\n", lines)];
        }
    }

    [Theory]
    [MemberData(nameof(PairCases))]
    public void PairsAllForms(string snippet) => Check(snippet);

    // ---- Advanced SIMD structures ----

    private static readonly string[] Arr16 = ["16b", "8h", "4s", "2d"], Arr8 = ["8b", "4h", "2s", "1d"];

    private static string List(int first, int count, string arr)
        => "{" + string.Join(", ", Enumerable.Range(0, count).Select(i => $"v{(first + i) % 32}.{arr}")) + "}";

    public static IEnumerable<object[]> MultiCases()
    {
        (string N, int Regs)[] forms = [("1", 1), ("1", 2), ("1", 3), ("1", 4), ("2", 2), ("3", 3), ("4", 4)];
        foreach (string ls in new[] { "ld", "st" })
            foreach (var f in forms)
                for (int size = 0; size < 4; size++)
                {
                    var lines = new List<string>();
                    foreach (bool q in new[] { true, false })
                    {
                        if (size == 3 && !q && f.N != "1") continue;
                        string arr = q ? Arr16[size] : Arr8[size];
                        int total = (q ? 16 : 8) * f.Regs;
                        string mn = ls + f.N;
                        int t0 = q ? 4 : 16;
                        lines.Add($"{mn} {List(t0, f.Regs, arr)}, [x1]");
                        lines.Add($"{mn} {List(t0 + 4, f.Regs, arr)}, [x5], #{total}");
                        lines.Add($"{mn} {List(30, f.Regs, arr)}, [x5], x2");
                        lines.Add($"{mn} {List(t0 + 8, f.Regs, arr)}, [x5], x3");
                    }
                    yield return [string.Join("\n", lines)];
                }
    }

    [Theory]
    [MemberData(nameof(MultiCases))]
    public void SimdMultipleStructures(string snippet) => Check(snippet);

    public static IEnumerable<object[]> LaneCases()
    {
        (string K, int Max, int Bytes)[] kinds = [("b", 15, 1), ("h", 7, 2), ("s", 3, 4), ("d", 1, 8)];
        foreach (string ls in new[] { "ld", "st" })
            foreach (var k in kinds)
                for (int n = 1; n <= 4; n++)
                {
                    string mn = ls + n;
                    string L(int first) => "{" + string.Join(", ", Enumerable.Range(0, n).Select(i => $"v{(first + i) % 32}.{k.K}")) + "}";
                    yield return [string.Join("\n",
                        $"{mn} {L(2)}[0], [x1]",
                        $"{mn} {L(7)}[{k.Max}], [x5], #{k.Bytes * n}",
                        $"{mn} {L(30)}[{k.Max / 2 + 1}], [x5], x2",
                        $"{mn} {L(12)}[{k.Max - 1 + (k.Max == 1 ? 1 : 0)}], [x5], x3")];
                }
    }

    [Theory]
    [MemberData(nameof(LaneCases))]
    public void SimdSingleStructureLanes(string snippet) => Check(snippet);

    public static IEnumerable<object[]> ReplicateCases()
    {
        for (int n = 1; n <= 4; n++)
            for (int size = 0; size < 4; size++)
            {
                var lines = new List<string>();
                foreach (bool q in new[] { true, false })
                {
                    string arr = q ? Arr16[size] : Arr8[size];
                    int t0 = q ? 0 : 16;
                    lines.Add($"ld{n}r {List(t0, n, arr)}, [x1]");
                    lines.Add($"ld{n}r {List(t0 + 4, n, arr)}, [x5], #{n << size}");
                    lines.Add($"ld{n}r {List(30, n, arr)}, [x5], x2");
                    lines.Add($"ld{n}r {List(t0 + 8, n, arr)}, [x5], x3");
                }
                yield return [string.Join("\n", lines)];
            }
    }

    [Theory]
    [MemberData(nameof(ReplicateCases))]
    public void SimdLoadReplicate(string snippet) => Check(snippet);

    [Fact]
    public void InterleavedStructuresUseByteShufflesWhenShorter()
    {
        if (!System.Runtime.Intrinsics.X86.Ssse3.IsSupported) return;
        var log = new System.Text.StringBuilder();
        using var h = new JitHarness(new JitX64.Translation.TranslatorOptions { CodeCacheSize = 16UL << 20, LogOutAsm = true, Log = s => log.Append(s) });
        h.X(1) = Page;
        h.RunToEnd("ld2 {v0.16b, v1.16b}, [x1]\nst4 {v4.8h, v5.8h, v6.8h, v7.8h}, [x1]\nld3 {v8.16b, v9.16b, v10.16b}, [x1]");
        Assert.Equal(4 + 16 + 9, System.Text.RegularExpressions.Regex.Matches(log.ToString(), "pshufb").Count);
    }

    [Fact]
    public void TableHasNoAmbiguousRows()
    {
        // two rows of equal specificity that both match a word would make the decode order-dependent
        var rows = OpCodeTable.All.Where(d => d.Emit.Method.DeclaringType?.Name == "InstEmit" &&
            (d.Emit.Method.Name.StartsWith("LdSt") || d.Emit.Method.Name.StartsWith("Simd") || d.Emit.Method.Name is "LdrLit" or "Prfm")).ToList();
        Assert.True(rows.Count > 400, $"only {rows.Count} load/store rows");
        var clashes = new List<string>();
        for (int i = 0; i < rows.Count; i++)
            for (int j = i + 1; j < rows.Count; j++)
            {
                var a = rows[i];
                var b = rows[j];
                uint common = a.Mask & b.Mask;
                if ((a.Value & common) != (b.Value & common)) continue;
                if (System.Numerics.BitOperations.PopCount(a.Mask) == System.Numerics.BitOperations.PopCount(b.Mask))
                    clashes.Add($"{a.Name} / {b.Name}");
            }
        Assert.Empty(clashes);
    }

    [Theory]
    [InlineData("ldr x1, [x2, #8]", "ldr x1, [x2, #8]")]
    [InlineData("ldrsb w3, [sp, #-5]!", "ldrsb w3, [sp, #-5]!")]
    [InlineData("ldp q0, q1, [x0], #32", "ldp q0, q1, [x0], #0x20")]
    [InlineData("str h3, [x1, w2, sxtw #1]", "str h3, [x1, w2, sxtw #1]")]
    [InlineData("ld1 {v0.4s}, [x0], #16", "ld1 v0.4s, [x0], #16")]
    [InlineData("ld4 {v0.16b, v1.16b, v2.16b, v3.16b}, [x0]", "ld4 v0.16b x4, [x0]")]
    [InlineData("st3 {v1.s, v2.s, v3.s}[3], [x9], x2", "st3 v1.s x3[#3], [x9], x2")]
    [InlineData("ldnp d0, d1, [x3, #-16]", "ldnp d0, d1, [x3, #-0x10]")]
    [InlineData("ldtrsh x2, [x3, #1]", "ldtrsh x2, [x3, #1]")]
    [InlineData("ldr q0, [x1, x2, lsl #4]", "ldr q0, [x1, x2, lsl #4]")]
    [InlineData("ldrb w0, [x1, x2]", "ldrb w0, [x1, x2]")]
    [InlineData("ldrsw x0, [x1, w2, uxtw]", "ldrsw x0, [x1, w2, uxtw]")]
    public void Disassembly(string source, string expected)
    {
        uint word = A64Asm.Assemble(source)[0];
        Assert.Equal(expected, Disassembler.Disassemble(word, 0x1000));
    }
}
