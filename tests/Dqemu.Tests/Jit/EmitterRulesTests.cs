using System.Reflection;
using System.Text.RegularExpressions;
using Dqemu.JitX64.Decoders;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// Rules the emitters keep, checked on their source (src/JitX64/Instructions) and on A64Op's type:
/// - the instruction is read only through A64Op's named fields: no emitter, and no C# implementation translated code
///   calls, sees the word (A64Op has no conversion to an integer; its Word is used only where EmitSoft hands it to
///   the run-time call, and only SoftRegistry makes an A64Op of it again);
/// - NZCV is reached only through the flag functions of the register layer (EmitterContext.Flags.cs). Flag liveness
///   plans around what those functions record; a direct access to the field is still exact (the planning pass sees
///   it and makes it a barrier) but keeps every capture before it, so a new one should go through the layer instead.
/// - no emitter knows where a CpuState field lives: guest registers and the other fields are EmitterContext's named
///   operands (EmitterContext.State.cs), never an offset of CpuOffsets or an address built on rbx.
/// - CpuState is written only through the layer: guest GPRs with StoreX/StoreR/... and AddInPlace (a write behind a
///   cached copy would be lost), SIMD&amp;FP registers and the other fields with StoreV/StoreVD/StoreVPart/...,
///   StoreFpsr, OpenMonitor, ... (EmitterContext.State.cs). The layer's operands (X, V, Fpcr, ...) are for reading:
///   no emitted instruction has one as its destination.
/// </summary>
public sealed class EmitterRulesTests
{
    private static readonly Regex Direct = new(@"CpuOffsets\.Nzcv\b|\bNzcvHost\b|\bNzcvMem\b");

    private static IEnumerable<(string File, int Line, string Text)> EmitterLines()
    {
        string dir = Path.Combine(GuestRunner.RequireRepoRoot(), "src", "JitX64", "Instructions");
        var files = Directory.GetFiles(dir, "*.cs");
        Assert.NotEmpty(files);
        foreach (var f in files)
        {
            var lines = File.ReadAllLines(f);
            for (int i = 0; i < lines.Length; i++) yield return (Path.GetFileName(f), i + 1, lines[i]);
        }
    }

    /// <summary>Fails with every emitter line <paramref name="rule"/> matches (doc comments and the
    /// <paramref name="allowed"/> lines aside).</summary>
    private static void AssertNoEmitterLine(Regex rule, string what, params string[] allowed)
    {
        var found = EmitterLines()
            .Where(l => !l.Text.TrimStart().StartsWith("///") && rule.IsMatch(l.Text) && !allowed.Any(p => l.Text.Contains(p)))
            .Select(l => $"{l.File}:{l.Line}: {l.Text.Trim()}").ToList();
        Assert.True(found.Count == 0, $"emitters that {what}:\n" + string.Join("\n", found));
    }

    /// <summary>The rule matches the forms a violation takes and not the ways the layer is meant to be used.</summary>
    private static void AssertRuleFinds(Regex rule, string[] violations, string[] fine)
    {
        foreach (var v in violations) Assert.Matches(rule, v);
        foreach (var f in fine) Assert.DoesNotMatch(rule, f);
    }

    [Fact]
    public void NoEmitterReachesNzcvBehindTheFlagFunctions() => AssertNoEmitterLine(Direct, "reach NZCV directly");

    // The word's ways out of A64Op, and the raw-word helpers and parameters an emitter would need to read bits itself.
    private static readonly Regex WordRead = new(@"\.Word\b|\bnew A64Op\(|\buint (op|word|insn|instruction)\b|\bA64Bits\.(Rd|Rn|Rm|Ra|Rt2|Sf|Bits)\(|\bBits\(op\b");

    // The two places the word may pass: EmitSoft's mov of it into the call's argument, SoftRegistry.Entry's A64Op of it.
    private static readonly string[] WordPasses = ["a.mov(esi, (int)op.Word);", "=> _impls[index](cpu, new A64Op(word));"];

    [Fact]
    public void NoEmitterReadsTheInstructionWord()
    {
        AssertNoEmitterLine(WordRead, "read the instruction word", WordPasses);
        foreach (var pass in WordPasses) Assert.Single(EmitterLines(), l => l.Text.Contains(pass));

        // and nothing converts an A64Op back into a number
        var conversions = typeof(A64Op).GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Where(m => m.Name is "op_Implicit" or "op_Explicit").Select(m => m.ToString()).ToList();
        Assert.Empty(conversions);
        // every row's emitter takes the typed operands
        Assert.All(OpCodeTable.All, d => Assert.Equal(typeof(A64Op), d.Emit.Method.GetParameters()[1].ParameterType));
    }

    private static readonly Regex OffsetUse = new(@"\bCpuOffsets\.|\bCpuField(32|64)\(|\[\s*rbx\s*\+|\brbx\s*\+\s*\w");

    [Fact]
    public void NoEmitterKnowsACpuStateOffset()
    {
        AssertNoEmitterLine(OffsetUse, "address CpuState by offset");
        AssertRuleFinds(OffsetUse,
            ["a.movzx(eax, __byte_ptr[rbx + State.CpuOffsets.Vn(m) + off]);", "a.mov(EmitterContext.CpuField32(off), ecx);",
             "a.addss(xmm0, __dword_ptr[rbx + o]);"],
            ["a.movd(x, EmitterContext.VPart(m, 4, off));", "a.mov(r8, rbx);"]);
    }

    // An x86 instruction whose first operand, the destination, is one of the layer's CpuState operands (compares,
    // one-operand mul/div and ldmxcsr only read it); the element helpers of InstEmitSimdMove count as operands too.
    private static readonly Regex StateWrite = new(
        @"\b(a|Asm)\.(?!(cmp|test|bt|mul|imul|div|idiv|ldmxcsr|ucomiss|ucomisd|comiss|comisd|ptest)\()[a-z0-9]+\(" +
        @"(EmitterContext\.)?(X|W|XPart|V|VD|VS|VH|VB|VHigh|VPart|VElem\d+|Fpcr|Fpsr|Mxcsr|Tpidr|ExclAddr|ExclValue[01]|ExclSize|SplitGuestAddr|FaultAddr|FaultHostRip)\b");

    [Fact]
    public void NoEmitterWritesCpuStateBehindTheLayer()
    {
        AssertNoEmitterLine(StateWrite, "write CpuState behind the layer");
        AssertRuleFinds(StateWrite,
            ["a.mov(X(rd), rax);", "ctx.Asm.add(EmitterContext.X(rd), 16);", "a.movdqu(EmitterContext.V(d), xmm0);",
             "if (q) a.or(EmitterContext.VHigh(d), rcx);", "a.stmxcsr(EmitterContext.Mxcsr);", "a.mov(EmitterContext.ExclSize, 0);",
             "case 0: a.mov(VElem8(d, index), EmitterContext.R8(r)); break;"],
            ["a.mov(rax, X(rn));", "a.movdqu(xmm1, EmitterContext.V(n));", "a.cmp(EmitterContext.X(rt), 0);",
             "if (signed) a.imul(X(rm)); else a.mul(X(rm));", "a.ldmxcsr(EmitterContext.Mxcsr);"]);
    }

    [Fact]
    public void TheWordRuleFindsADirectRead()
    {
        AssertRuleFinds(WordRead,
            ["uint imm = op.Word >> 10;", "private static int Size(uint op) => (int)((op >> 22) & 3);", "int rd = A64Bits.Rd(w);",
             "var again = new A64Op(x);"],
            ["int size = op.LsSize, rt = op.Rt;", "ulong? imm = op.LogicalImmediate;"]);
    }

    [Fact]
    public void TheRuleFindsADirectAccess()
    {
        AssertRuleFinds(Direct, ["a.mov(CpuField32(CpuOffsets.Nzcv), eax);", "cpu->NzcvHost = 0;"],
            ["ctx.StoreNzcvHost(eax);"]); // the layer's own function is the way in
    }
}
