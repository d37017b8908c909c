using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests;

/// <summary>
/// Runs every tests/guests/*.c program (built by ./build.sh into build/guests/NAME) under
/// qemu-aarch64, the reference, and under ./dqemu-native, with the same arguments,
/// environment and stdin, each in its own fresh temporary working directory, and
/// requires identical stdout and exit status (128+signal for a signal death).
///
/// Lines in a guest's source steer its run:
///   // ARGS: a "b c" 'd e'     arguments (shell-like quoting; may appear once)
///   // STDIN: text             one line of stdin ("text" + newline); repeat for more lines
///   // ENV: NAME=VALUE         an extra environment variable (repeatable)
///   // TIMEOUT: 120            seconds per run instead of the default 60
/// </summary>
public class GuestProgramTests(ITestOutputHelper output)
{
    const string NoGuests = "(no guests found)";
    const string ThreadedPrefix = "mt_", LseSuffix = ".lse";

    /// <summary>
    /// Threaded guests run this many times under dqemu-native, each run compared with the reference: a race
    /// shows up as one bad run among many. DQEMU_MT_RUNS overrides it.
    /// </summary>
    static int ThreadedRuns => int.TryParse(Environment.GetEnvironmentVariable("DQEMU_MT_RUNS"), out var n) && n > 0 ? n : 20;

    public static TheoryData<string> Guests()
    {
        var data = new TheoryData<string>();
        var root = GuestRunner.RepoRoot;
        var dir = root == null ? null : Path.Combine(root, "tests", "guests");
        if (dir == null || !Directory.Exists(dir))
        {
            data.Add(NoGuests);
            return data;
        }
        var names = Directory.EnumerateFiles(dir, "*.c")
            .Select(f => Path.GetFileNameWithoutExtension(f))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (names.Count == 0)
            data.Add(NoGuests);
        foreach (var n in names)
        {
            data.Add(n);
            // threaded guests are also built for ARMv8.1 LSE atomics (toolchains/build-guests.sh)
            if (n.StartsWith(ThreadedPrefix, StringComparison.Ordinal)) data.Add(n + LseSuffix);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Guests))]
    public void GuestMatchesQemu(string guest)
    {
        if (guest == NoGuests)
            Assert.Fail($"no tests/guests/*.c found (repository root: {GuestRunner.RepoRoot ?? "not found"})");

        GuestRunner.RequireRepoRoot();
        string sourceName = guest.EndsWith(LseSuffix, StringComparison.Ordinal) ? guest[..^LseSuffix.Length] : guest;
        var source = Path.Combine(GuestRunner.GuestSourceDir, sourceName + ".c");
        var binary = Path.Combine(GuestRunner.GuestBinaryDir, guest);
        int runs = guest.StartsWith(ThreadedPrefix, StringComparison.Ordinal) ? ThreadedRuns : 1;
        AssertSameAsQemu(output, guest, source, binary, [], [], runs);
    }

    /// <summary>
    /// Guests that drop and retranslate code (self_modify rewrites it 300 times), fork (a child empties the cache it
    /// inherited with only its own thread) or run many threads, with the smallest code cache (512 KiB), which they fill
    /// and empty again while they run (Translator.Reuse.cs; DynamicGuestTests runs every dynamic guest so too).
    /// </summary>
    [Theory]
    [InlineData("self_modify")]
    [InlineData("proc_fork_storm")]
    [InlineData("mt_many_threads")]
    [InlineData("mt_thread_segv")]
    [InlineData("mt_exit_while_running")]
    public void MatchesQemuWithTheSmallestCodeCache(string guest)
    {
        GuestRunner.RequireRepoRoot();
        AssertSameAsQemu(output, guest, Path.Combine(GuestRunner.GuestSourceDir, guest + ".c"), Path.Combine(GuestRunner.GuestBinaryDir, guest),
            [], ["--code-cache-size", "512K"], runs: guest.StartsWith(ThreadedPrefix, StringComparison.Ordinal) ? 3 : 1);
    }

    /// <summary>
    /// Guests run with every block translated again, in full, after its first run (--tier-up 1: its quick translation
    /// replaced while threads may be in it, the links into it moved, faults and signals in either tier), and with every
    /// block in full at once (--tier-up 0, where the register cache is in every block: fault_regs checks what a signal
    /// handler sees of it). Translator.Tiers.cs.
    /// </summary>
    [Theory]
    [InlineData("fault_regs", 1)]
    [InlineData("self_modify", 1)]
    [InlineData("jit_codegen", 1)]
    [InlineData("signal_handler", 1)]
    [InlineData("sig_timers", 1)]
    [InlineData("setjmp", 1)]
    [InlineData("recursion", 1)]
    [InlineData("switch_fnptr", 1)]
    [InlineData("interp", 1)]
    [InlineData("wild_pc", 1)]
    [InlineData("simd_neon", 1)]
    [InlineData("proc_fork", 1)]
    [InlineData("mt_many_threads", 1)]
    [InlineData("mt_atomic_inc", 1)]
    [InlineData("mt_condvar", 1)]
    [InlineData("mt_thread_segv", 1)]
    [InlineData("mt_exit_while_running", 1)]
    [InlineData("fault_regs", 0)]
    [InlineData("interp", 0)]
    [InlineData("simd_neon", 0)]
    [InlineData("mt_many_threads", 0)]
    public void MatchesQemuWithEachTierUpCount(string guest, int tierUpAfter)
    {
        GuestRunner.RequireRepoRoot();
        AssertSameAsQemu(output, guest, Path.Combine(GuestRunner.GuestSourceDir, guest + ".c"), Path.Combine(GuestRunner.GuestBinaryDir, guest),
            [], ["--tier-up", tierUpAfter.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            runs: guest.StartsWith(ThreadedPrefix, StringComparison.Ordinal) ? 3 : 1);
    }

    [Theory]
    [InlineData("1000001")]
    [InlineData("-1")]
    [InlineData("many")]
    [InlineData("")]
    public void ATierUpCountOutOfRangeIsOneLineAndStatus64(string count) =>
        AssertUsageError("--tier-up", count, $"--tier-up takes a number of runs from 0 to 1000000, not '{count}'");

    [Theory]
    [InlineData("511K")]
    [InlineData("2048")]
    [InlineData("0")]
    [InlineData("12G")]
    [InlineData("-1")]
    [InlineData("99999999999999999999")]
    public void ACodeCacheSizeOutOfRangeIsOneLineAndStatus64(string size) =>
        AssertUsageError("--code-cache-size", size, $"--code-cache-size takes a size from 512K to 2047M, not '{size}'");

    /// <summary>dqemu-native OPTION VALUE guest: status 64 and <paramref name="message"/> as its one line.</summary>
    private static void AssertUsageError(string option, string value, string message)
    {
        var r = GuestRunner.Run(GuestRunner.DqemuBinary, [option, value, Path.Combine(GuestRunner.GuestBinaryDir, "exit_ret42")],
            GuestRunner.StandardGuestEnvironment, timeout: TimeSpan.FromSeconds(30));
        Assert.Equal(64, r.ExitCode);
        Assert.Equal($"dqemu-native: {message}\n", r.Stderr);
    }

    /// <summary>
    /// Runs <paramref name="binary"/> (arguments, stdin, environment and time limit from the directives in
    /// <paramref name="source"/>) as "qemu-aarch64 [qemuOptions] binary ..." once and as
    /// "dqemu-native [dqemuOptions] binary ..." <paramref name="runs"/> times, each in a fresh working
    /// directory, and fails unless every run's stdout and exit status equal the reference's.
    /// </summary>
    /// <param name="dqemuEnv">variables only the dqemu-native runs get (on top of the guest's environment).</param>
    internal static void AssertSameAsQemu(ITestOutputHelper output, string guest, string source, string binary,
        IReadOnlyList<string> qemuOptions, IReadOnlyList<string> dqemuOptions, int runs = 1,
        IReadOnlyDictionary<string, string>? dqemuEnv = null)
    {
        var dqemu = GuestRunner.DqemuBinary;

        var qemu = GuestRunner.FindOnPath("qemu-aarch64");
        if (qemu == null)
            Assert.Fail("qemu-aarch64 not found on PATH; run toolchains/install.sh (Debian package qemu-user) or ./build.sh");
        if (!File.Exists(binary))
            Assert.Fail($"guest binary {binary} is missing; run ./build.sh (or toolchains/build-guests.sh)");
        if (File.GetLastWriteTimeUtc(binary) < File.GetLastWriteTimeUtc(source))
            Assert.Fail($"guest binary {binary} is older than {source}; run ./build.sh (or toolchains/build-guests.sh)");
        if (!File.Exists(dqemu))
            Assert.Fail($"{dqemu} is missing; run ./build.sh");

        var spec = GuestSpec.Parse(File.ReadAllLines(source));
        var env = new Dictionary<string, string>(GuestRunner.StandardGuestEnvironment);
        foreach (var (k, v) in spec.Env)
            env[k] = v;
        var timeout = spec.Timeout ?? GuestRunner.DefaultTimeout;
        var guestArgs = new List<string> { binary };
        guestArgs.AddRange(spec.Args);

        var expected = RunIn(guest + "-qemu", qemu, [.. qemuOptions, .. guestArgs], env, spec.Stdin, timeout);
        foreach (var (k, v) in dqemuEnv ?? new Dictionary<string, string>())
            env[k] = v;
        for (int run = 1; run <= runs; run++)
            CompareRun(output, guest, run, runs, expected, dqemu, [.. dqemuOptions, .. guestArgs], env, spec, timeout);
    }

    static void CompareRun(ITestOutputHelper output, string guest, int run, int runs, ProcessResult expected, string dqemu,
        List<string> guestArgs, Dictionary<string, string> env, GuestSpec spec, TimeSpan timeout)
    {
        var actual = RunIn(guest + "-dqemu", dqemu, guestArgs, env, spec.Stdin, timeout);

        output.WriteLine($"guest {guest}: args [{string.Join(", ", spec.Args)}], stdin {spec.Stdin?.Length ?? 0} bytes");
        output.WriteLine($"qemu-aarch64: {expected.Describe()}, {expected.StdoutBytes.Length} bytes out, {expected.Elapsed.TotalSeconds:F2} s");
        output.WriteLine($"dqemu-native: {actual.Describe()}, {actual.StdoutBytes.Length} bytes out, {actual.Elapsed.TotalSeconds:F2} s");

        if (expected.TimedOut)
            Assert.Fail($"the reference run (qemu-aarch64 {guest}) timed out after {timeout.TotalSeconds} s; the guest program itself is broken\n{Tail(expected.Stderr)}");

        var problems = new List<string>();
        if (actual.TimedOut)
            problems.Add($"dqemu-native timed out after {timeout.TotalSeconds} s and was killed");
        else if (actual.ExitCode != expected.ExitCode)
            problems.Add($"exit status differs: qemu-aarch64 {expected.Describe()}, dqemu-native {actual.Describe()}");
        if (!expected.StdoutBytes.AsSpan().SequenceEqual(actual.StdoutBytes))
            problems.Add("stdout differs:\n" + FirstDifference(expected.StdoutBytes, actual.StdoutBytes));
        if (actual.StdoutTruncated)
            problems.Add($"dqemu-native wrote more than {GuestRunner.MaxCapturedStdout} bytes to stdout");

        if (problems.Count > 0)
        {
            var msg = new StringBuilder();
            msg.AppendLine($"guest '{guest}' behaves differently under dqemu-native than under qemu-aarch64" + (runs > 1 ? $" (run {run} of {runs})" : ""));
            msg.AppendLine($"  command: {dqemu} {string.Join(' ', guestArgs.Select(Quote))}");
            foreach (var p in problems)
                msg.AppendLine("- " + p);
            msg.AppendLine("dqemu-native stderr (tail):");
            msg.AppendLine(Tail(actual.Stderr));
            Assert.Fail(msg.ToString());
        }
    }

    static ProcessResult RunIn(string label, string exe, IReadOnlyList<string> args,
        IReadOnlyDictionary<string, string> env, string? stdin, TimeSpan timeout)
    {
        var cwd = GuestRunner.CreateTempDirectory(label);
        try
        {
            return GuestRunner.Run(exe, args, env, stdin, cwd, timeout);
        }
        finally
        {
            GuestRunner.DeleteDirectory(cwd);
        }
    }

    static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";

    internal static string Tail(string s, int maxLines = 20)
    {
        var lines = s.TrimEnd().Split('\n');
        var shown = lines.Length > maxLines ? lines[^maxLines..] : lines;
        return shown.Length == 0 || (shown.Length == 1 && shown[0].Length == 0)
            ? "  (empty)"
            : string.Join('\n', shown.Select(l => "  " + (l.Length > 300 ? l[..300] + "..." : l)));
    }

    /// <summary>Shows the first differing line of two outputs with a little context.</summary>
    internal static string FirstDifference(byte[] expectedBytes, byte[] actualBytes)
    {
        var exp = Encoding.UTF8.GetString(expectedBytes).Split('\n');
        var act = Encoding.UTF8.GetString(actualBytes).Split('\n');
        var i = 0;
        while (i < exp.Length && i < act.Length && exp[i] == act[i])
            i++;
        var sb = new StringBuilder();
        sb.AppendLine($"  first difference at line {i + 1} (qemu-aarch64: {expectedBytes.Length} bytes, {exp.Length} lines; dqemu-native: {actualBytes.Length} bytes, {act.Length} lines)");
        for (var k = Math.Max(0, i - 3); k < i; k++)
            sb.AppendLine($"    {Clip(exp[k])}");
        sb.AppendLine($"  qemu-aarch64: {(i < exp.Length ? Clip(exp[i]) : "<end of output>")}");
        sb.AppendLine($"  dqemu-native: {(i < act.Length ? Clip(act[i]) : "<end of output>")}");
        for (var k = i + 1; k < Math.Min(i + 3, act.Length); k++)
            sb.AppendLine($"  dqemu-native+{k - i}: {Clip(act[k])}");
        return sb.ToString().TrimEnd();
    }

    static string Clip(string s) => s.Length > 300 ? s[..300] + "..." : s;
}

/// <summary>The run directives of one guest source (see <see cref="GuestProgramTests"/>).</summary>
public sealed class GuestSpec
{
    public List<string> Args { get; } = [];
    public string? Stdin { get; private set; }
    public List<KeyValuePair<string, string>> Env { get; } = [];
    public TimeSpan? Timeout { get; private set; }

    public static GuestSpec Parse(IEnumerable<string> lines)
    {
        var spec = new GuestSpec();
        StringBuilder? stdin = null;
        foreach (var raw in lines)
        {
            var line = raw.TrimEnd('\r');
            var t = line.TrimStart();
            if (!t.StartsWith("//", StringComparison.Ordinal))
                continue;
            var body = t[2..].TrimStart();
            if (TryDirective(body, "ARGS:", out var v))
            {
                spec.Args.AddRange(SplitArgs(v.Trim()));
            }
            else if (TryDirective(body, "STDIN:", out v))
            {
                // exactly one space after the colon is syntax; the rest (even trailing spaces) is data
                stdin ??= new StringBuilder();
                stdin.Append(v.StartsWith(' ') ? v[1..] : v).Append('\n');
            }
            else if (TryDirective(body, "ENV:", out v))
            {
                var kv = v.Trim();
                var eq = kv.IndexOf('=');
                if (eq > 0)
                    spec.Env.Add(new(kv[..eq], kv[(eq + 1)..]));
            }
            else if (TryDirective(body, "TIMEOUT:", out v) && double.TryParse(v.Trim(),
                         System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var secs))
            {
                spec.Timeout = TimeSpan.FromSeconds(secs);
            }
        }
        spec.Stdin = stdin?.ToString();
        return spec;
    }

    static bool TryDirective(string body, string name, out string value)
    {
        if (body.StartsWith(name, StringComparison.Ordinal))
        {
            value = body[name.Length..];
            return true;
        }
        value = "";
        return false;
    }

    /// <summary>Splits like a POSIX shell: whitespace separates words; '...' is literal;
    /// "..." allows \" and \\ escapes; a backslash outside quotes escapes the next char.</summary>
    public static List<string> SplitArgs(string s)
    {
        var result = new List<string>();
        var cur = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    result.Add(cur.ToString());
                    cur.Clear();
                    inWord = false;
                }
                continue;
            }
            inWord = true;
            if (c == '\'')
            {
                var end = s.IndexOf('\'', i + 1);
                if (end < 0)
                    throw new FormatException($"unterminated ' in ARGS: {s}");
                cur.Append(s, i + 1, end - i - 1);
                i = end;
            }
            else if (c == '"')
            {
                i++;
                for (; i < s.Length && s[i] != '"'; i++)
                {
                    if (s[i] == '\\' && i + 1 < s.Length && (s[i + 1] == '"' || s[i + 1] == '\\'))
                        i++;
                    cur.Append(s[i]);
                }
                if (i >= s.Length)
                    throw new FormatException($"unterminated \" in ARGS: {s}");
            }
            else if (c == '\\' && i + 1 < s.Length)
            {
                cur.Append(s[++i]);
            }
            else
            {
                cur.Append(c);
            }
        }
        if (inWord)
            result.Add(cur.ToString());
        return result;
    }
}
