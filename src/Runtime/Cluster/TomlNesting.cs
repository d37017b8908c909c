namespace Dqemu.Runtime.Cluster;

/// <summary>
/// A bound on how deeply a cluster file nests arrays and inline tables, checked on the text before Tomlyn parses it.
/// Tomlyn stops at 64 levels itself, but with an exception that names no line (it was reported as an internal
/// error, exit 70); this scan finds the line, and keeps the bound ours rather than a library default. A cluster file
/// needs two levels at most (the brackets of [[node]]; threads = [1, 2]).
/// </summary>
internal static class TomlNesting
{
    public const int MaxDepth = 16;

    /// <summary>
    /// The 1-based line where '[' and '{' outside strings and comments first nest deeper than
    /// <paramref name="max"/>, or 0. Closing brackets are counted without matching them: the parser reports
    /// mismatches; this only has to see depth.
    /// </summary>
    public static int TooDeepLine(string text, int max = MaxDepth)
    {
        int depth = 0, line = 1;
        for (int i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '\n': line++; break;
                case '#':
                    while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                    break;
                case '"' or '\'': i = EndOfString(text, i, ref line); break;
                case '[' or '{':
                    if (++depth > max) return line;
                    break;
                case ']' or '}':
                    if (depth > 0) depth--;
                    break;
            }
        }
        return 0;
    }

    /// <summary>
    /// The index of the last character of the string that starts at <paramref name="start"/> (basic "..." with
    /// backslash escapes, literal '...', or their multi-line forms of three quotes). A one-line string cut by a
    /// newline ends before it, so the caller still counts that line.
    /// </summary>
    private static int EndOfString(string text, int start, ref int line)
    {
        char quote = text[start];
        bool multi = IsTriple(text, start, quote);
        bool escapes = quote == '"';
        for (int i = start + (multi ? 3 : 1); i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\n')
            {
                if (!multi) return i - 1;
                line++;
            }
            else if (escapes && c == '\\')
            {
                if (++i < text.Length && text[i] == '\n')
                {
                    if (!multi) return i - 1;
                    line++;
                }
            }
            else if (c == quote && !multi) return i;
            else if (c == quote && IsTriple(text, i, quote))
            {
                // up to two more quotes belong to the string: """a""""" ends with the last three
                int end = i + 2;
                while (end + 1 < text.Length && text[end + 1] == quote && end - i < 4) end++;
                return end;
            }
        }
        return text.Length - 1;
    }

    private static bool IsTriple(string text, int i, char quote)
        => i + 2 < text.Length && text[i + 1] == quote && text[i + 2] == quote;
}
