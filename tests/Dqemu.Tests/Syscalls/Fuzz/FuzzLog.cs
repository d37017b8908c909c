using System.Globalization;
using System.Text.RegularExpressions;

namespace Dqemu.Tests.Syscalls.Fuzz;

/// <summary>One system call the fuzzer made: its index, number, arguments and result (as the kernel returns it).</summary>
public sealed record FuzzCall(long Index, long Nr, ulong[] Args, long Result, bool EmulatorDependent, string Line)
{
    public bool Failed => Result < 0 && Result > -4096;
    public long Errno => Failed ? -Result : 0;
}

/// <summary>
/// What tests/guests/fuzz_syscalls printed: with "v", one line per call ("index nr a0 .. a5 = result[ nc]"), then its
/// summary "fuzz_syscalls: seed S, N calls, F faults, done". A run that died leaves a last line without " = ".
/// </summary>
public sealed partial class FuzzLog
{
    public List<FuzzCall> Calls { get; } = [];
    /// <summary>The call that was under way when the output ended (its first half), or null.</summary>
    public string? Unfinished { get; private set; }
    public long? SummaryCalls { get; private set; }
    public long? Faults { get; private set; }
    /// <summary>Lines the fuzzer prints when it finds damage (a changed canary, a fault outside a call).</summary>
    public List<string> Alarms { get; } = [];

    [GeneratedRegex(@"^fuzz_syscalls: seed (\d+), (\d+) calls, (\d+) faults, done$")]
    private static partial Regex Summary();

    public static FuzzLog Parse(string stdout)
    {
        var log = new FuzzLog();
        foreach (var line in stdout.Split('\n'))
        {
            if (line.Length == 0) continue;
            var m = Summary().Match(line);
            if (m.Success)
            {
                log.SummaryCalls = long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
                log.Faults = long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
                continue;
            }
            if (line.StartsWith("fuzz_syscalls:", StringComparison.Ordinal))
            {
                log.Alarms.Add(line);
                continue;
            }
            int eq = line.IndexOf(" = ", StringComparison.Ordinal);
            if (eq < 0)
            {
                log.Unfinished = line;
                continue;
            }
            var left = line[..eq].Split(' ');
            var right = line[(eq + 3)..].Split(' ');
            if (left.Length != 8) { log.Alarms.Add("unparsable line: " + line); continue; }
            var args = new ulong[6];
            for (int i = 0; i < 6; i++) args[i] = ulong.Parse(left[2 + i], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            log.Calls.Add(new FuzzCall(long.Parse(left[0], CultureInfo.InvariantCulture), long.Parse(left[1], CultureInfo.InvariantCulture),
                args, long.Parse(right[0], CultureInfo.InvariantCulture), right.Contains("nc"), line));
        }
        return log;
    }
}
