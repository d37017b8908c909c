using System.Globalization;
using System.Text;
using Tomlyn.Syntax;

namespace Dqemu.Runtime.Cluster;

/// <summary>
/// How cluster.toml errors show the user's text: a config error is exactly one line on stderr, but a TOML string can
/// hold a newline ("a\nb") and a value can be a megabyte long, and both used to reach the message as they were.
/// </summary>
internal static class ConfigText
{
    /// <summary>The longest user value (a key, an address, a CPU list) quoted in a message.</summary>
    private const int MaxShown = 60;

    /// <summary>The longest message: a parser's own message may quote a whole table.</summary>
    private const int MaxMessage = 400;

    /// <summary>A user value for a message: control characters escaped, cut to <see cref="MaxShown"/> characters.</summary>
    public static string Shown(string value) => Escape(value, MaxShown);

    /// <summary>A whole message on one line: control and line-separator characters escaped, bounded length.</summary>
    public static string OneLine(string message) => Escape(message, MaxMessage);

    private static string Escape(string s, int max)
    {
        var sb = new StringBuilder(Math.Min(s.Length, max) + 8);
        foreach (char c in s)
        {
            if (sb.Length >= max) return sb.Append("...").ToString();
            if (c == '\n') sb.Append("\\n");
            else if (c == '\r') sb.Append("\\r");
            else if (c == '\t') sb.Append("\\t");
            else if (char.IsControl(c) || c is '\u2028' or '\u2029')
                sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// A key as TOML means it: bare or quoted parts ("cores", 'cores' and cores are one key), dotted parts joined
    /// with '.'. Unlike the key's source text, which kept the quotes of 'cores' and so called it unknown.
    /// </summary>
    public static string KeyName(KeySyntax? key)
    {
        if (key == null) return "";
        var sb = new StringBuilder(Part(key.Key));
        if (key.DotKeys != null)
            foreach (var dotted in key.DotKeys) sb.Append('.').Append(Part(dotted.Key));
        return sb.ToString();
    }

    private static string Part(BareKeyOrStringValueSyntax? part) => part switch
    {
        BareKeySyntax b => b.Key?.Text ?? "",
        StringValueSyntax s => s.Value ?? "",
        _ => part?.ToString()?.Trim() ?? "",
    };
}
