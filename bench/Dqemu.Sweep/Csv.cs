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
}
