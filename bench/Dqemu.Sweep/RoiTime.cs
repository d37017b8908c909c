using System.Globalization;
using System.Text.RegularExpressions;

namespace Dqemu.Sweep;

/// <summary>
/// The time a PARSEC program spent in its region of interest (its parallel phase, without reading the input and writing
/// the output), as the hooks it is built with report it on stderr at exit (bench/parsec/hooks/hooks.c):
/// <c>[HOOKS] Total time spent in ROI: 1.234567s</c>. PARSEC's own evaluations compare this time.
/// </summary>
internal static partial class RoiTime
{
    [GeneratedRegex(@"^\[HOOKS\] Total time spent in ROI: ([0-9]+(?:\.[0-9]+)?)s\s*$", RegexOptions.Multiline)]
    private static partial Regex Line();

    /// <summary>The seconds of the last such line, or null when there is none (a program built without the hooks).</summary>
    public static double? Parse(string stderr)
    {
        var m = Line().Matches(stderr);
        return m.Count == 0 ? null : double.Parse(m[^1].Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
