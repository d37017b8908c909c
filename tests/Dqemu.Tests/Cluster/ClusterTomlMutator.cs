using System.Text;
using System.Text.RegularExpressions;

namespace Dqemu.Tests.Cluster;

/// <summary>
/// Makes broken (and sometimes still valid) cluster.toml files out of valid ones, deterministically from a seed: the
/// kinds of damage a hand-edited file gets (lines lost, doubled or swapped, a typo, a value of the wrong type, a
/// number out of range, cut-off text) and the kinds a parser must survive (deep nesting, stray brackets, control
/// and odd Unicode characters, other line ends). Each mutant names the operations that made it.
/// </summary>
public sealed partial class ClusterTomlMutator(int seed)
{
    private readonly Random _rng = new(seed);

    public sealed record Mutant(string Text, IReadOnlyList<string> Operations);

    private static readonly string[] Numbers =
    [
        "0", "-1", "1", "2", "63", "64", "65", "1024", "1025", "4095", "4096", "65535", "65536", "1000000", "1000001",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808", "99999999999999999999999",
        "0.1", "0.09", "3600", "3600.5", "1e308", "1e309", "-0.0", "+0.0", "nan", "+nan", "-nan", "inf", "-inf",
        "0x10", "0xffffffffffffffff", "0o777", "0b101", "1_000", "1__0", "_1", "007", "+1", "3.14", "1e-400", ".5", "5.",
    ];

    private static readonly string[] Values =
    [
        "\"x\"", "\"\"", "\" \"", "true", "false", "[]", "[1, 2]", "[1, \"a\"]", "[[1]]", "{}", "{a = 1}", "{ id = 0 }",
        "1979-05-27", "07:32:00", "1979-05-27T07:32:00Z", "1979-05-27 07:32:00.999999", "\"127.0.0.1:7400\"",
        "\"127.0.0.1:0\"", "\"[::1]:7400\"", "\"0.0.0.0:1\"", "\"256.1.1.1:1\"", "\"127.0.0.1:99999\"", "\"0-4095\"",
        "\"0,2-3\"", "\"3-1\"", "\"-1\"", "\"0,,1\"", "\"tcp\"", "\"ucx\"", "\"auto\"", "\"fill\"", "\"node0\"", "'lit'",
        "'''multi\nline'''", "\"\"\"multi\nline\"\"\"", "\"a\\nb\"", "\"\\u0000\"", "\"\\uD800\"", "\"\\U0010FFFF\"",
        "\"\\x41\"", "\"unterminated", "'unterminated", "", "=", "# only a comment",
    ];

    private static readonly string[] Oddities =
    [
        "\0", "\u0001", "\u001b", "\u007f", "\u0085", "\u00a0", "\u00e9", "\u2028", "\u2029", "\u200b", "\u202e",
        "\ufeff", "\ufffd", "\ud800", "\udc00", "\U0001F600", "\U0001D54F", "ｃｏｒｅｓ", "\r", "\t", "\v", "\f",
        "\\", "\"", "'", "#", "=", ".", ",", "\n", "[", "]", "{", "}", " ",
    ];

    private static readonly string[] Headers =
    [
        "[cluster]", "[[cluster]]", "[[node]]", "[node]", "[[placement]]", "[placement]", "[cluster.sub]", "[x]",
        "[\"cluster\"]", "[ cluster ]", "[[ node ]]", "[node.x]", "[[node.x]]", "[]", "[[]]", "[cluster", "[[node]",
    ];

    private static readonly string[] Keys =
    [
        "id", "address", "cores", "cpus", "start", "transport", "ucx_tls", "compress", "wait_spin_us", "placement",
        "directory", "split_pages", "split_after", "forward_pages", "forward_wakes", "node_timeout", "connect_timeout",
        "thread", "threads", "node", "\"cores\"", "'cores'", "cores.x", "\"a.b\"", "\"\"", "x",
    ];

    private static readonly int[] Depths = [1, 2, 15, 16, 17, 63, 64, 65, 200, 5000, 100_000];

    private delegate string Operation(ClusterTomlMutator m, string text);

    private static readonly (string Name, Operation Apply)[] Operations =
    [
        ("delete-line", (m, t) => m.EditLines(t, (lines, i) => lines.RemoveAt(i))),
        ("duplicate-line", (m, t) => m.EditLines(t, (lines, i) => lines.Insert(m._rng.Next(lines.Count + 1), lines[i]))),
        ("swap-lines", (m, t) => m.EditLines(t, (lines, i) =>
        {
            int j = m._rng.Next(lines.Count);
            (lines[i], lines[j]) = (lines[j], lines[i]);
        })),
        ("duplicate-table", (m, t) => m.DuplicateTable(t)),
        ("flip-char", (m, t) => t.Length == 0 ? t : m.ReplaceAt(t, m._rng.Next(t.Length), 1, m.Pick(Oddities))),
        ("insert-chars", (m, t) => m.InsertAt(t, string.Concat(Enumerable.Range(0, 1 + m._rng.Next(5)).Select(_ => m.Pick(Oddities))))),
        ("insert-brackets", (m, t) => m.InsertAt(t, new string(m.Pick(new[] { '[', '{', ']', '}' }), 1 + m._rng.Next(40)))),
        ("deep-nesting", (m, t) => m.ReplaceValue(t, m.Nested(m.Pick(Depths)))),
        ("huge-number", (m, t) => m.ReplaceValue(t, m.Pick(Numbers))),
        ("wrong-type", (m, t) => m.ReplaceValue(t, m.Pick(Values))),
        ("unicode-in-value", (m, t) => m.ReplaceValue(t, "\"" + m.Pick(Oddities) + "\"")),
        ("truncate", (m, t) => t[..m._rng.Next(t.Length + 1)]),
        ("insert-header", (m, t) => m.EditLines(t, (lines, i) => lines.Insert(i, m.Pick(Headers)))),
        ("rename-key", (m, t) => m.RenameKey(t)),
        ("line-ends", (m, t) => t.Replace("\n", m.Pick(new[] { "\r\n", "\r", "\n\n", " \\\n" }), StringComparison.Ordinal)),
    ];

    /// <summary>One mutant of <paramref name="seedText"/>: one to three operations applied in turn.</summary>
    public Mutant Next(string seedText)
    {
        string text = seedText;
        var ops = new List<string>();
        int count = 1 + _rng.Next(3);
        for (int k = 0; k < count; k++)
        {
            var (name, apply) = Operations[_rng.Next(Operations.Length)];
            text = apply(this, text);
            ops.Add(name);
        }
        return new Mutant(text, ops);
    }

    private T Pick<T>(IReadOnlyList<T> items) => items[_rng.Next(items.Count)];

    private string ReplaceAt(string text, int at, int length, string with) => text[..at] + with + text[(at + length)..];

    private string InsertAt(string text, string what) => ReplaceAt(text, _rng.Next(text.Length + 1), 0, what);

    private string EditLines(string text, Action<List<string>, int> edit)
    {
        var lines = text.Split('\n').ToList();
        edit(lines, _rng.Next(lines.Count));
        return string.Join('\n', lines);
    }

    /// <summary>An array or inline table (chosen at random) <paramref name="depth"/> levels deep around a number.</summary>
    private string Nested(int depth)
    {
        if (_rng.Next(2) == 0) return new string('[', depth) + "1" + new string(']', depth);
        var sb = new StringBuilder(depth * 4 + 1);
        for (int i = 0; i < depth; i++) sb.Append("{a=");
        return sb.Append('1').Append('}', depth).ToString();
    }

    [GeneratedRegex(@"^(\s*[^=\[#\s][^=]*?\s*=\s*)(.*)$")]
    private static partial Regex KeyValueLine();

    private List<int> KeyValueLines(string[] lines)
        => Enumerable.Range(0, lines.Length).Where(i => KeyValueLine().IsMatch(lines[i])).ToList();

    /// <summary>The value of a random key = value line replaced by <paramref name="value"/> (else inserted somewhere).</summary>
    private string ReplaceValue(string text, string value)
    {
        var lines = text.Split('\n');
        var candidates = KeyValueLines(lines);
        if (candidates.Count == 0) return InsertAt(text, value);
        int i = Pick(candidates);
        lines[i] = KeyValueLine().Replace(lines[i], m => m.Groups[1].Value + value);
        return string.Join('\n', lines);
    }

    private string RenameKey(string text)
    {
        var lines = text.Split('\n');
        var candidates = KeyValueLines(lines);
        if (candidates.Count == 0) return text;
        int i = Pick(candidates);
        int eq = lines[i].IndexOf('=');
        lines[i] = Pick(Keys) + " " + lines[i][eq..];
        return string.Join('\n', lines);
    }

    /// <summary>A copy of one whole table (its header and its lines) inserted at a random line.</summary>
    private string DuplicateTable(string text)
    {
        var lines = text.Split('\n').ToList();
        var starts = Enumerable.Range(0, lines.Count).Where(i => lines[i].TrimStart().StartsWith('[')).ToList();
        if (starts.Count == 0) return text;
        int s = Pick(starts);
        int e = s + 1;
        while (e < lines.Count && !lines[e].TrimStart().StartsWith('[')) e++;
        lines.InsertRange(_rng.Next(lines.Count + 1), lines.GetRange(s, e - s));
        return string.Join('\n', lines);
    }
}
