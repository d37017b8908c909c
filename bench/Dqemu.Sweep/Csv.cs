using System.Globalization;

namespace Dqemu.Sweep;

/// <summary>CSV fields: invariant numbers, empty for a missing value, text quoted when it needs to be (RFC 4180).</summary>
internal static class Csv
{
    public static string Text(string s) =>
        s.IndexOfAny([',', '"', '\n', '\r']) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";

    public static string Num(double? v, string format = "0.###") =>
        v is double d ? d.ToString(format, CultureInfo.InvariantCulture) : "";

    public static string Num(long? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "";

    public static string Line(params string[] fields) => string.Join(",", fields);

    /// <summary>The rows of a file this tool wrote, the header first, each as a map from column name to field.</summary>
    public static List<Dictionary<string, string>> Read(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).Select(Split).ToList();
        if (lines.Count == 0) throw new FormatException($"{path} is empty");
        var header = lines[0];
        return lines.Skip(1).Select(f =>
        {
            if (f.Count != header.Count) throw new FormatException($"{path}: a row has {f.Count} fields, the header {header.Count}");
            return header.Zip(f).ToDictionary(x => x.First, x => x.Second);
        }).ToList();
    }

    /// <summary>One line's fields (quoted ones unquoted; this tool never writes a line break inside a field).</summary>
    private static List<string> Split(string line)
    {
        var fields = new List<string>();
        var f = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c != '"') f.Append(c);
                else if (i + 1 < line.Length && line[i + 1] == '"') { f.Append('"'); i++; }
                else quoted = false;
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(f.ToString()); f.Clear(); }
            else f.Append(c);
        }
        fields.Add(f.ToString());
        return fields;
    }
}
