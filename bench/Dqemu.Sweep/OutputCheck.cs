using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Dqemu.Sweep;

/// <summary>
/// Whether a run's output matches the reference (qemu-aarch64's output for the same program, size and thread count).
/// <list type="bullet">
/// <item><see cref="CompareMode.Exact"/> without ignore regexes: the bytes are equal.</item>
/// <item><see cref="CompareMode.Exact"/> with ignore regexes: lines (each ended by '\n', the last one possibly not)
/// matching any regex are dropped from both outputs; the remaining lines are equal, in the same number (so a
/// missing newline at the very end is no difference here).</item>
/// <item><see cref="CompareMode.Float"/>: ignored lines are dropped, the rest is split into whitespace-separated tokens;
/// both have the same number of tokens; where both tokens parse as doubles (invariant culture, plus C's
/// <c>inf</c>/<c>nan</c> spellings) |a − b| ≤ tolerance × max(1, |a|, |b|) (NaN matches NaN, an infinity the same
/// infinity); any other pair of tokens is equal as text (ordinal).</item>
/// </list>
/// Outputs are decoded as Latin-1, byte for byte, so that bytes which are not UTF-8 still compare as themselves.
/// Every method returns null when the outputs match, otherwise a one-line reason naming the first difference.
/// </summary>
public static class OutputCheck
{
    private const int Shown = 60; // characters of a differing line or token quoted in a reason

    /// <summary>Compares with the rule of <paramref name="program"/> (its compare mode, tolerance and ignore regexes).</summary>
    /// <returns>null when they match, else a one-line reason.</returns>
    public static string? Compare(byte[] expected, byte[] actual, ProgramSpec program) =>
        Compare(expected, actual, program.Compare, program.Tolerance, program.Ignore);

    /// <summary>Compares text outputs with the rule of <paramref name="program"/>.</summary>
    /// <returns>null when they match, else a one-line reason.</returns>
    public static string? Compare(string expected, string actual, ProgramSpec program) =>
        Compare(expected, actual, program.Compare, program.Tolerance, program.Ignore);

    /// <summary>Compares byte outputs with an explicit rule.</summary>
    /// <returns>null when they match, else a one-line reason.</returns>
    public static string? Compare(byte[] expected, byte[] actual, CompareMode mode, double tolerance, IReadOnlyList<Regex> ignore)
    {
        if (mode == CompareMode.Exact && ignore.Count == 0) return CompareBytes(expected, actual);
        return Compare(Encoding.Latin1.GetString(expected), Encoding.Latin1.GetString(actual), mode, tolerance, ignore);
    }

    /// <summary>Compares text outputs with an explicit rule.</summary>
    /// <returns>null when they match, else a one-line reason.</returns>
    public static string? Compare(string expected, string actual, CompareMode mode, double tolerance, IReadOnlyList<Regex> ignore)
    {
        if (mode == CompareMode.Exact)
            return ignore.Count == 0 ? CompareText(expected, actual) : CompareLines(Kept(expected, ignore), Kept(actual, ignore));
        return CompareTokens(Tokens(Kept(expected, ignore)), Tokens(Kept(actual, ignore)), tolerance);
    }

    private static string? CompareBytes(byte[] expected, byte[] actual)
    {
        int n = Math.Min(expected.Length, actual.Length);
        int i = expected.AsSpan(0, n).CommonPrefixLength(actual.AsSpan(0, n));
        if (i == n && expected.Length == actual.Length) return null;
        return FirstDifference(Encoding.Latin1.GetString(expected), Encoding.Latin1.GetString(actual), i);
    }

    private static string? CompareText(string expected, string actual)
    {
        int i = expected.AsSpan().CommonPrefixLength(actual);
        return i == expected.Length && i == actual.Length ? null : FirstDifference(expected, actual, i);
    }

    /// <summary>"&lt;sizes&gt;; first difference at byte i, line L: expected "..." got "..."".</summary>
    private static string FirstDifference(string expected, string actual, int at)
    {
        int line = 1 + expected.AsSpan(0, at).Count('\n');
        string sizes = expected.Length == actual.Length ? $"{expected.Length} bytes each" : $"expected {expected.Length} bytes, got {actual.Length}";
        return $"{sizes}; first difference at byte {at}, line {line}: expected {Quote(LineAt(expected, at))} got {Quote(LineAt(actual, at))}";
    }

    private static string LineAt(string s, int at)
    {
        if (at >= s.Length) return "<end of output>";
        int start = at == 0 ? 0 : s.LastIndexOf('\n', at - 1) + 1;
        int end = s.IndexOf('\n', at);
        return s[start..(end < 0 ? s.Length : end)];
    }

    /// <summary>The lines (with their 1-based numbers in the original output) that no ignore regex matches.</summary>
    private static List<(int Line, string Text)> Kept(string s, IReadOnlyList<Regex> ignore)
    {
        var kept = new List<(int, string)>();
        // '\n' ends a line: a final newline does not start an empty last line
        var lines = (s.EndsWith('\n') ? s[..^1] : s).Split('\n');
        if (s.Length == 0) lines = [];
        for (int i = 0; i < lines.Length; i++)
            if (!ignore.Any(r => r.IsMatch(lines[i]))) kept.Add((i + 1, lines[i]));
        return kept;
    }

    private static string? CompareLines(List<(int Line, string Text)> expected, List<(int Line, string Text)> actual)
    {
        int n = Math.Min(expected.Count, actual.Count);
        for (int i = 0; i < n; i++)
            if (expected[i].Text != actual[i].Text)
                return $"line {expected[i].Line} differs (after dropping ignored lines): expected {Quote(expected[i].Text)} got {Quote(actual[i].Text)} (line {actual[i].Line})";
        if (expected.Count == actual.Count) return null;
        var extra = expected.Count > actual.Count ? expected[n] : actual[n];
        return $"expected {expected.Count} lines, got {actual.Count} (after dropping ignored lines); first unmatched: line {extra.Line} {Quote(extra.Text)}";
    }

    private static List<(int Line, string Text)> Tokens(List<(int Line, string Text)> lines)
    {
        var tokens = new List<(int, string)>();
        foreach (var (line, text) in lines)
            foreach (var token in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
                tokens.Add((line, token));
        return tokens;
    }

    private static string? CompareTokens(List<(int Line, string Text)> expected, List<(int Line, string Text)> actual, double tolerance)
    {
        int n = Math.Min(expected.Count, actual.Count);
        string count = expected.Count == actual.Count ? "" : $"expected {expected.Count} tokens, got {actual.Count}";
        for (int i = 0; i < n; i++)
        {
            var (e, a) = (expected[i].Text, actual[i].Text);
            string? why = null;
            if (TryNumber(e, out double x) && TryNumber(a, out double y))
            {
                if (!Close(x, y, tolerance))
                    why = $"expected {Quote(e)} got {Quote(a)} (relative difference {Relative(x, y).ToString("G3", CultureInfo.InvariantCulture)} > tolerance {tolerance.ToString("G3", CultureInfo.InvariantCulture)})";
            }
            else if (e != a) why = $"expected {Quote(e)} got {Quote(a)}";
            if (why != null)
                return (count.Length > 0 ? count + "; " : "") + $"token {i + 1} (line {expected[i].Line}) differs: {why}";
        }
        if (count.Length == 0) return null;
        var extra = expected.Count > actual.Count ? expected[n] : actual[n];
        return $"{count}; first unmatched token {n + 1}: {Quote(extra.Text)} (line {extra.Line})";
    }

    /// <summary>|a − b| ≤ tolerance × max(1, |a|, |b|): relative for large values, absolute below 1 (where 0 would need exactness).</summary>
    private static bool Close(double a, double b, double tolerance)
    {
        if (double.IsNaN(a) || double.IsNaN(b)) return double.IsNaN(a) && double.IsNaN(b);
        if (double.IsInfinity(a) || double.IsInfinity(b)) return a == b;
        return Math.Abs(a - b) <= tolerance * Math.Max(1, Math.Max(Math.Abs(a), Math.Abs(b)));
    }

    private static double Relative(double a, double b) =>
        Math.Abs(a - b) / Math.Max(1, Math.Max(Math.Abs(a), Math.Abs(b)));

    /// <summary>A double in invariant culture, or C printf's "inf", "-inf", "nan", "-nan" (which .NET does not parse).</summary>
    private static bool TryNumber(string s, out double value)
    {
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value)) return true;
        bool signed = s.Length > 0 && s[0] is '+' or '-';
        string t = (signed ? s[1..] : s).ToLowerInvariant();
        if (t is "inf" or "infinity") { value = s[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity; return true; }
        if (t == "nan") { value = double.NaN; return true; }
        return false;
    }

    private static string Quote(string s)
    {
        if (s == "<end of output>") return s;
        string shown = s.Length > Shown ? s[..Shown] + "…" : s;
        var sb = new StringBuilder("\"");
        foreach (char c in shown)
            sb.Append(c switch { '\r' => "\\r", '\t' => "\\t", '"' => "\\\"", _ when char.IsControl(c) => $"\\x{(int)c:x2}", _ => c.ToString() });
        return sb.Append('"').ToString();
    }
}
