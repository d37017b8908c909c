using System.Text;
using Dqemu.JitX64.Translation;

namespace Dqemu.Runtime.Profiling;

/// <summary>--profile's report on stderr at exit: the blocks run most often, by the translator's counters.</summary>
public static class ProfileReport
{
    public const int Rows = 20;

    /// <summary>
    /// A header with the total, then one line per block, most run first: count, share of the total, guest address,
    /// name (<see cref="GuestModules.NameOf"/>). A block that loops on itself counts every iteration.
    /// </summary>
    public static string Format(BlockCounters counters, GuestModules modules, int rows)
    {
        long total = counters.Total;
        var sb = new StringBuilder();
        sb.AppendLine($"dqemu-native profile: {total} block executions; the {rows} most run blocks:");
        sb.AppendLine($"  {"count",14} {"share",6}  {"guest pc",-18} name");
        foreach (var (pc, count) in counters.Hottest(rows))
        {
            if (count == 0) break;
            double share = total == 0 ? 0 : 100.0 * count / total;
            sb.AppendLine($"  {count,14} {share,5:F1}%  0x{pc,-16:x} {modules.NameOf(pc)}");
        }
        return sb.ToString();
    }
}
