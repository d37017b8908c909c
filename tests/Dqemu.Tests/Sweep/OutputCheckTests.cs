using System.Text;
using System.Text.RegularExpressions;
using Dqemu.Sweep;
using Xunit;

namespace Dqemu.Tests.Sweep;

/// <summary>OutputCheck: the exact and float rules, ignore regexes, and the one-line reasons.</summary>
public class OutputCheckTests
{
    private static readonly Regex[] None = [];

    private static string? Exact(string e, string a, params string[] ignore) =>
        OutputCheck.Compare(e, a, CompareMode.Exact, 0, ignore.Select(p => new Regex(p)).ToArray());

    private static string? Float(string e, string a, double tolerance, params string[] ignore) =>
        OutputCheck.Compare(e, a, CompareMode.Float, tolerance, ignore.Select(p => new Regex(p)).ToArray());

    [Fact]
    public void ExactEqualOutputsMatch() => Assert.Null(Exact("a 1\nb 2\n", "a 1\nb 2\n"));

    [Fact]
    public void ExactNamesTheFirstDifferingLine()
    {
        string? r = Exact("a 1\nb 2\nc 3\n", "a 1\nb 20\nc 3\n");
        Assert.NotNull(r);
        Assert.Contains("first difference at byte 7, line 2", r);
        Assert.Contains("expected \"b 2\" got \"b 20\"", r);
        Assert.DoesNotContain('\n', r);
    }

    [Fact]
    public void ExactCountsAMissingTrailingNewlineAndExtraText()
    {
        Assert.Contains("expected 4 bytes, got 3", Exact("a 1\n", "a 1"));
        Assert.Contains("expected 3 bytes, got 6", Exact("a 1", "a 1\nb\n"));
    }

    [Fact]
    public void ExactComparesBytesThatAreNotUtf8()
    {
        byte[] e = [0x41, 0xff, 0x0a], same = [0x41, 0xff, 0x0a], other = [0x41, 0xfe, 0x0a];
        Assert.Null(OutputCheck.Compare(e, same, CompareMode.Exact, 0, None));
        Assert.Contains("first difference at byte 1", OutputCheck.Compare(e, other, CompareMode.Exact, 0, None));
    }

    [Fact]
    public void ExactWithIgnoreDropsMatchingLinesFromBoth()
    {
        const string e = "Number of runs: 1, time 3.2 s\nresult 42\n";
        const string a = "Number of runs: 1, time 9.7 s\nresult 42\n";
        Assert.NotNull(Exact(e, a));
        Assert.Null(Exact(e, a, "^Number of .*time"));
        // a line only one side has is still a difference once the ignored ones are gone
        string? r = Exact(e, "Number of runs: 1, time 1 s\nresult 42\nextra\n", "^Number of .*time");
        Assert.Equal("expected 1 lines, got 2 (after dropping ignored lines); first unmatched: line 3 \"extra\"", r);
        // lines are compared as lines: the newline at the very end is a terminator, not an empty last line
        Assert.Null(Exact("a\nb\n", "a\nb", "^zzz"));
        Assert.NotNull(Exact("a\nb\n", "a\nb"));
        r = Exact(e, a.Replace("42", "43"), "^Number of .*time");
        Assert.Contains("line 2 differs", r);
        Assert.Contains("expected \"result 42\" got \"result 43\"", r);
    }

    [Fact]
    public void FloatWithinToleranceMatches()
    {
        Assert.Null(Float("1.0000001 2.5\n", "1.0000002 2.5\n", 1e-6));
        // relative above 1: 0.5 away from a million is 5e-7 of it
        Assert.Null(Float("1000000", "1000000.5", 1e-6));
        // absolute below 1: tolerance × max(1, |a|, |b|) = 1e-6 even around 0
        Assert.Null(Float("0", "0.0000005", 1e-6));
        // the same number written differently
        Assert.Null(Float("1e3 0.5", "1000.0 5E-1", 0));
    }

    [Fact]
    public void FloatBeyondToleranceNamesTheToken()
    {
        string? r = Float("x 1.0 2.0\ny 3.0\n", "x 1.0 2.0\ny 3.1\n", 1e-6);
        Assert.NotNull(r);
        Assert.Contains("token 5 (line 2) differs: expected \"3.0\" got \"3.1\"", r);
        Assert.Contains("relative difference 0.0323 > tolerance 1E-06", r);
        Assert.NotNull(Float("1000000", "1000002", 1e-6));
        Assert.NotNull(Float("0", "0.000002", 1e-6));
    }

    [Fact]
    public void FloatIgnoresHowWhitespaceIsLaidOut() =>
        Assert.Null(Float("1  2\n3\n", "1 2 3", 1e-9));

    [Fact]
    public void FloatTokenCountDifferencesAreMismatches()
    {
        Assert.Equal("expected 3 tokens, got 2; first unmatched token 3: \"3\" (line 1)", Float("1 2 3", "1 2", 1e-6));
        string? r = Float("1 2", "1 2 3 4", 1e-6);
        Assert.StartsWith("expected 2 tokens, got 4", r);
        // when a shared token differs too, that is named along with the counts
        r = Float("1 2 3", "1 5", 1e-6);
        Assert.Contains("expected 3 tokens, got 2; token 2 (line 1) differs", r);
    }

    [Fact]
    public void FloatComparesNonNumericTokensExactly()
    {
        Assert.Null(Float("price: 1.0 ok", "price: 1.0 ok", 1e-6));
        Assert.Contains("expected \"abc\" got \"abd\"", Float("abc 1", "abd 1", 1e-6));
        Assert.Contains("expected \"1.0\" got \"x\"", Float("1.0", "x", 1e-6));
        Assert.Contains("expected \"ok\" got \"OK\"", Float("ok", "OK", 1e-6));
    }

    [Fact]
    public void FloatTreatsCInfinityAndNanAsNumbers()
    {
        Assert.Null(Float("nan inf -inf", "nan inf -inf", 1e-6));
        Assert.Null(Float("nan", "-nan", 1e-6));
        Assert.NotNull(Float("inf", "-inf", 1e-6));
        Assert.NotNull(Float("nan", "1.0", 1e-6));
        Assert.NotNull(Float("inf", "1e308", 1e-6));
    }

    [Fact]
    public void FloatAppliesIgnoreBeforeTokenizing()
    {
        const string e = "Time: 3.2s\n1.0 2.0\n";
        const string a = "Time: 9.9s\n1.0 2.0\n";
        Assert.Contains("expected \"3.2s\" got \"9.9s\"", Float(e, a, 1e-6));
        Assert.Null(Float(e, a, 1e-6, "^Time:"));
        // the regex drops whole lines only where it matches: an unanchored one matches anywhere in the line
        Assert.NotNull(Float("a Time: 1\n", "a Time: 2\n", 1e-6, "^Time:"));
        Assert.Null(Float("a Time: 1\n", "a Time: 2\n", 1e-6, "Time:"));
    }

    [Fact]
    public void TheSpecOverloadUsesTheProgramsRule()
    {
        var m = ProgramManifest.Load(SweepTestFiles.Path("sample-programs.toml"));
        var bs = m.Get("blackscholes"); // float, 1e-6, ignores "^Number of .*time"
        byte[] e = Encoding.ASCII.GetBytes("Number of options: 4096, time 1.5\n1.0000001\n");
        byte[] a = Encoding.ASCII.GetBytes("Number of options: 4096, time 2.5\n1.0000002\n");
        Assert.Null(OutputCheck.Compare(e, a, bs));
        var fa = m.Get("fluidanimate"); // exact, no ignore
        Assert.NotNull(OutputCheck.Compare(e, a, fa));
        Assert.Null(OutputCheck.Compare(e, (byte[])e.Clone(), fa));
    }
}
