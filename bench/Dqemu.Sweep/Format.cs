using System.Globalization;

namespace Dqemu.Sweep;

/// <summary>Table cells: "-" for a missing value, ratios with an "x".</summary>
internal static class Format
{
    public static string F(double? v, string format) => v is double d ? d.ToString(format, CultureInfo.InvariantCulture) : "-";

    public static string X(double? v) => v is double d ? d.ToString("0.00", CultureInfo.InvariantCulture) + "x" : "-";

    public static string Int(int v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>At most 80 characters of a failure reason.</summary>
    public static string Short(string s) => s.Length > 80 ? s[..80] + "…" : s;
}
