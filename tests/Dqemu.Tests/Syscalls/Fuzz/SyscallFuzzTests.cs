using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Syscalls.Fuzz;

/// <summary>
/// The system-call fuzzer (tests/guests/fuzz_syscalls.c, issue 14): random syscall numbers and random integers,
/// lengths and pointers from a guest, under ./dqemu-native. Every run must end as the fuzzer ends it: within its time
/// limit, with status 0 and the fuzzer's summary line, nothing on stderr from the emulator (no .NET stack trace, no
/// "Unhandled exception", no "Process terminated", no "dqemu-native:" line), no canary the fuzzer watches changed.
///   - <see cref="SurvivesAndAgreesWithQemu"/>: seeds 1, 2, ... in the fuzzer's Q mode (what qemu-aarch64 7.2 itself
///     survives), each run also under qemu-aarch64, which must finish too; the two are compared call by call
///     (<see cref="QemuComparison"/>) and their summaries must be equal.
///   - <see cref="SurvivesEverything"/>: seeds 1001, 1002, ... in the full mode (pointers into a file page past the
///     end of its file, lengths and socket structures qemu dies of), dqemu-native alone.
/// Each test makes <see cref="DefaultCalls"/> calls, <see cref="CallsPerRun"/> per seed at most; larger runs:
///   DQEMU_SYSCALL_FUZZ_CALLS=1000000   calls per test (runs of 25,000 over consecutive seeds)
///   DQEMU_SYSCALL_FUZZ_SEED=40         the first seed (default 1; the dqemu-only test adds 1000)
/// e.g.  DQEMU_SYSCALL_FUZZ_CALLS=1000000 dotnet test tests/Dqemu.Tests -c Release --no-build --filter "FullyQualifiedName~SyscallFuzz"
/// A failing seed is rerun by hand with: ./dqemu-native build/guests/fuzz_syscalls SEED CALLS v[Q] (in an empty
/// directory; the last line shows the call under way when a run died).
/// </summary>
public class SyscallFuzzTests(ITestOutputHelper output)
{
    public const int DefaultCalls = 12000, CallsPerRun = 25000, DefaultRunCalls = 2000;

    static int Env(string name, int fallback) => int.TryParse(Environment.GetEnvironmentVariable(name), out int v) && v > 0 ? v : fallback;
    static int Calls => Env("DQEMU_SYSCALL_FUZZ_CALLS", DefaultCalls);
    static int FirstSeed => Env("DQEMU_SYSCALL_FUZZ_SEED", 1);

    /// <summary>The runs of one test: (seed, calls) from <paramref name="firstSeed"/> on, <see cref="Calls"/> calls in all.</summary>
    static List<(int Seed, int Calls)> Runs(int firstSeed)
    {
        int total = Calls, per = total == DefaultCalls ? DefaultRunCalls : CallsPerRun;
        var runs = new List<(int, int)>();
        for (int seed = firstSeed; total > 0; seed++, total -= per) runs.Add((seed, Math.Min(per, total)));
        return runs;
    }

    static string Fuzzer => Path.Combine(GuestRunner.GuestBinaryDir, "fuzz_syscalls");

    /// <summary>Time for one run: generous (the guest sleeps up to a millisecond in some calls; qemu is slower).</summary>
    static TimeSpan Limit(int calls) => TimeSpan.FromSeconds(60 + calls / 200);

    [Fact]
    public void SurvivesAndAgreesWithQemu()
    {
        var qemu = GuestRunner.FindOnPath("qemu-aarch64")
            ?? throw new InvalidOperationException("qemu-aarch64 not found on PATH; run toolchains/install.sh (Debian package qemu-user)");
        long compared = 0;
        foreach (var (seed, calls) in Runs(FirstSeed))
        {
            string[] args = [Fuzzer, seed.ToString(), calls.ToString(), "vQ"];
            var reference = RunIn($"fuzz-q{seed}", qemu, args, Limit(calls) * 4);
            Assert.False(reference.TimedOut, $"qemu-aarch64 did not finish seed {seed} in time: the fuzzer itself hangs");
            var q = FuzzLog.Parse(reference.Stdout);
            Assert.True(reference.ExitCode == 0 && q.SummaryCalls == calls,
                $"qemu-aarch64 did not finish seed {seed} ({reference.Describe()}); the fuzzer must keep the reference alive\n"
                + $"  last call: {q.Unfinished ?? q.Calls.LastOrDefault()?.Line}\n{GuestProgramTests.Tail(reference.Stderr)}");

            var (d, run) = RunDqemu(seed, calls, "vQ");
            Assert.Equal(q.Faults, d.Faults);
            var problems = QemuComparison.Compare(q, d);
            Assert.True(problems.Count == 0, $"seed {seed}: dqemu-native and qemu-aarch64 differ where they must not "
                + $"(rerun: {Rerun(seed, calls, "vQ")}):\n" + string.Join('\n', problems));
            compared += d.Calls.Count;
            output.WriteLine($"seed {seed}: {calls} calls, qemu {reference.Elapsed.TotalSeconds:F1} s, dqemu {run.Elapsed.TotalSeconds:F1} s");
        }
        output.WriteLine($"{compared} calls compared");
    }

    [Fact]
    public void SurvivesEverything()
    {
        long calls = 0;
        foreach (var (seed, n) in Runs(FirstSeed + 1000))
        {
            var (d, run) = RunDqemu(seed, n, "v");
            calls += d.Calls.Count;
            output.WriteLine($"seed {seed}: {n} calls, {d.Faults} faults, {run.Elapsed.TotalSeconds:F1} s");
        }
        output.WriteLine($"{calls} calls");
    }

    /// <summary>Runs the fuzzer under dqemu-native and asserts that the run ended as the fuzzer ends it.</summary>
    (FuzzLog, ProcessResult) RunDqemu(int seed, int calls, string mode)
    {
        var run = RunIn($"fuzz-d{seed}", GuestRunner.DqemuBinary, [Fuzzer, seed.ToString(), calls.ToString(), mode], Limit(calls));
        var log = FuzzLog.Parse(run.Stdout);
        var problems = new List<string>();
        if (run.TimedOut) problems.Add($"it did not finish within {Limit(calls).TotalSeconds} s (a hang)");
        else if (run.ExitCode != 0)
            problems.Add($"it ended with {run.Describe()}" + (run.ExitCode is 70 or 134 or 139 ? " (an emulator failure)" : ""));
        foreach (var bad in new[] { "   at ", "Unhandled exception", "Process terminated", "dqemu-native:" })
            if (run.Stderr.Contains(bad, StringComparison.Ordinal)) problems.Add($"stderr holds \"{bad.Trim()}\"");
        if (log.Alarms.Count > 0) problems.Add("the fuzzer found damage: " + string.Join("; ", log.Alarms));
        if (!run.TimedOut && run.ExitCode == 0 && log.SummaryCalls != calls) problems.Add("its summary line is missing");
        if (problems.Count > 0)
        {
            var msg = new StringBuilder($"seed {seed} ({mode}) under dqemu-native: {string.Join("; ", problems)}\n");
            msg.AppendLine($"  rerun: {Rerun(seed, calls, mode)}");
            msg.AppendLine($"  the call under way: {log.Unfinished ?? "(none)"}; calls before it:");
            foreach (var c in log.Calls.TakeLast(3)) msg.AppendLine("    " + c.Line);
            msg.AppendLine("stderr (tail):");
            msg.AppendLine(GuestProgramTests.Tail(run.Stderr));
            Assert.Fail(msg.ToString());
        }
        return (log, run);
    }

    static string Rerun(int seed, int calls, string mode) => $"cd $(mktemp -d) && {GuestRunner.DqemuBinary} {Fuzzer} {seed} {calls} {mode}";

    static ProcessResult RunIn(string label, string exe, IReadOnlyList<string> args, TimeSpan limit)
    {
        if (!File.Exists(Fuzzer)) Assert.Fail($"{Fuzzer} is missing; run ./build.sh (or toolchains/build-guests.sh)");
        var cwd = GuestRunner.CreateTempDirectory(label);
        try
        {
            return GuestRunner.Run(exe, args, GuestRunner.StandardGuestEnvironment, null, cwd, limit);
        }
        finally
        {
            GuestRunner.DeleteDirectory(cwd);
        }
    }
}
