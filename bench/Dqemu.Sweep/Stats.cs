namespace Dqemu.Sweep;

/// <summary>Medians and minima of run values, ignoring missing ones.</summary>
internal static class Stats
{
    /// <summary>The median (mean of the middle two for an even count), or null without values.</summary>
    public static double? Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        if (v.Length == 0) return null;
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    public static double? Median(IEnumerable<double?> values) => Median(values.OfType<double>());

    public static double? Median(IEnumerable<long?> values) => Median(values.OfType<long>().Select(x => (double)x));

    public static double? Min(IEnumerable<double?> values)
    {
        var v = values.OfType<double>().ToArray();
        return v.Length == 0 ? null : v.Min();
    }
}
