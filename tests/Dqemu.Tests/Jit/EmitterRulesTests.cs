using System.Text.RegularExpressions;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// Rules the emitters keep, checked on their source (src/JitX64/Instructions): NZCV is reached only through the flag
/// functions of the register layer (EmitterContext.Flags.cs). Flag liveness plans around what those functions record;
/// a direct access to the field is still exact (the planning pass sees it and makes it a barrier) but keeps every
/// capture before it, so a new one should go through the layer instead. (Direct reads of instruction bits and of other
/// CpuState fields remain in several emitters: docs/architecture.md §6, item 6.)
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

    [Fact]
    public void NoEmitterReachesNzcvBehindTheFlagFunctions()
    {
        var found = EmitterLines().Where(l => Direct.IsMatch(l.Text)).Select(l => $"{l.File}:{l.Line}: {l.Text.Trim()}").ToList();
        Assert.True(found.Count == 0, "emitters that reach NZCV directly:\n" + string.Join("\n", found));
    }

    [Fact]
    public void TheRuleFindsADirectAccess()
    {
        // the pattern the rule uses does match the forms a direct access takes
        Assert.Matches(Direct, "a.mov(CpuField32(CpuOffsets.Nzcv), eax);");
        Assert.Matches(Direct, "cpu->NzcvHost = 0;");
        Assert.DoesNotMatch(Direct, "ctx.StoreNzcvHost(eax);"); // the layer's own function is the way in
    }
}
