using System.Diagnostics;
using Dqemu.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Loader;

/// <summary>
/// Generated corrupted copies (<see cref="ElfMutator"/>: header and program header fields at boundary values,
/// flipped bytes, retyped headers, truncations) of a static and a dynamic AArch64 program. Thousands go through the
/// emulator's loader in this process, a few dozen through dqemu-native itself beside qemu-aarch64. Every one is
/// either refused cleanly (status 65/66/67 and one printable line) or loaded as the ELF rules say; a run never hangs,
/// never shows a .NET failure, dies of SIGABRT/SIGSEGV only where qemu-aarch64's run does too, and what qemu runs
/// like the original, the emulator runs like the original (unless a rule of Linux's that qemu lacks refuses it).
/// </summary>
public sealed class ElfLoaderFuzzTests(ITestOutputHelper output) : IDisposable
{
    // fixed seeds: the same mutants every run
    private const int StaticSeed = 0x14_E1F0;
    private const int DynamicSeed = 0x14_E1F1;
    private const int ProcessSeed = 0x14_E1F2;
    private const int ProcessMutants = 40;
    /// <summary>2000 and 1500 in CI; DQEMU_ELF_FUZZ_MUTANTS=N loads N of each in-process for a longer run of the same
    /// streams.</summary>
    private static readonly int StaticMutants = LongRun ?? 2000, DynamicMutants = LongRun ?? 1500;
    private static int? LongRun =>
        int.TryParse(Environment.GetEnvironmentVariable("DQEMU_ELF_FUZZ_MUTANTS"), out var n) && n > 0 ? n : null;
    private static readonly TimeSpan MutantLimit = TimeSpan.FromSeconds(2);

    private readonly string _dir = GuestRunner.CreateTempDirectory("elf-fuzz");

    public void Dispose() => GuestRunner.DeleteDirectory(_dir);

    [Fact]
    public void MutantsOfAStaticProgramAreLoadedAsSpecifiedOrRefusedCleanly() =>
        LoadAll(LoaderRuns.StaticGuest, StaticSeed, StaticMutants);

    [Fact]
    public void MutantsOfADynamicProgramAreLoadedAsSpecifiedOrRefusedCleanly() =>
        LoadAll(LoaderRuns.DynamicGuest, DynamicSeed, DynamicMutants);

    /// <summary>
    /// Each mutant through ElfFile and ImageLoader in this process (from memory; every 16th also from a file, as the
    /// emulator reads it, which must come to the same): a FatalException with status 65 or 67 and a printable
    /// message, or an image that <see cref="InProcessLoader"/> finds as the ELF rules say; within
    /// <see cref="MutantLimit"/> either way.
    /// </summary>
    private void LoadAll(string original, int seed, int count)
    {
        var mutator = new ElfMutator(File.ReadAllBytes(original), seed);
        var file = Path.Combine(_dir, "mutant");
        var statuses = new Dictionary<string, int>();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            var m = mutator.Next();
            string what = $"{Path.GetFileName(original)} mutant {m.Number} (seed 0x{seed:x}: {m.Description})";
            LoadOutcome outcome;
            try { outcome = InProcessLoader.Load(m.Bytes, "mutant"); }
            catch (Exception e) { throw new Xunit.Sdk.XunitException($"{what}: {e}"); }
            Assert.True(outcome.Elapsed < MutantLimit, $"{what}: {outcome}");
            if (!outcome.Loaded)
            {
                Assert.True(outcome.Status is ExitCodes.BadElf or ExitCodes.WrongArch, $"{what}: {outcome}");
                Assert.True(outcome.Message!.StartsWith("mutant: ", StringComparison.Ordinal) && !outcome.Message.Any(char.IsControl),
                    $"{what}: message [{outcome.Message}]");
            }
            if (m.Number % 16 == 0)
            {
                File.WriteAllBytes(file, m.Bytes);
                LoadOutcome fromFile;
                try { fromFile = InProcessLoader.Load(m.Bytes, "mutant", file); }
                catch (Exception e) { throw new Xunit.Sdk.XunitException($"{what}, from a file: {e}"); }
                Assert.True(fromFile.Status == outcome.Status && fromFile.Message == outcome.Message?.Replace("mutant: ", file + ": "),
                    $"{what}: from memory {outcome}, from a file {fromFile}");
            }
            string key = outcome.Loaded ? "loaded" : $"{outcome.Status}";
            statuses[key] = statuses.GetValueOrDefault(key) + 1;
        }
        output.WriteLine($"{count} mutants of {original} in {clock.Elapsed.TotalSeconds:F1} s: " +
            string.Join(", ", statuses.OrderBy(kv => kv.Key).Select(kv => $"{kv.Value} {kv.Key}")));
        // the mutants must exercise both ways out, or the test checks little
        Assert.True(statuses.GetValueOrDefault("loaded") > count / 10 && statuses.GetValueOrDefault("65") > count / 10);
    }

    /// <summary>
    /// Mutants of the static program run by dqemu-native and by qemu-aarch64 (each at most
    /// <see cref="LoaderRuns.Timeout"/>). Mutants whose program headers ask for more than 1 GiB of memory are passed
    /// over: a guest that used it would take the machine's memory (the loader's side of them is tested in process).
    /// </summary>
    [Fact]
    public void MutantsRunUnderTheEmulatorAsUnderQemuOrAreRefusedCleanly()
    {
        var original = File.ReadAllBytes(LoaderRuns.StaticGuest);
        var mutator = new ElfMutator(original, ProcessSeed);
        var summary = new List<string>();
        for (int tried = 0; summary.Count < ProcessMutants; tried++)
        {
            Assert.True(tried < 10 * ProcessMutants, "the mutator gives too few mutants of a reasonable size");
            var m = mutator.Next();
            if (AsksForMuchMemory(original, m.Bytes)) continue;
            string what = $"mutant {m.Number} (seed 0x{ProcessSeed:x}: {m.Description})";
            var path = LoaderRuns.WriteExecutable(_dir, $"m{m.Number}", m.Bytes);
            var d = LoaderRuns.Dqemu(path);
            var q = LoaderRuns.Qemu(path);
            summary.Add($"{m.Number}: dqemu {d.Describe()}, qemu {q.Describe()}");
            CheckAgainstQemu(what, d, q);
        }
        output.WriteLine(string.Join("\n", summary));
    }

    private static void CheckAgainstQemu(string what, ProcessResult d, ProcessResult q)
    {
        LoaderRuns.AssertNoTrace(d, what);
        bool qemuRanIt = !q.TimedOut && q.ExitCode == LoaderRuns.StaticGuestStatus && q.Stdout == LoaderRuns.StaticGuestStdout;
        if (!d.TimedOut && d.ExitCode is ExitCodes.BadElf or ExitCodes.NoInput or ExitCodes.WrongArch)
        {
            LoaderRuns.AssertOneLine(d.Stderr, what);
            // Linux refuses these where qemu maps what it can; a file that holds fewer bytes than a PT_LOAD says is cut
            bool linuxRule = d.Stderr.Contains("exceeds memory size", StringComparison.Ordinal)
                || d.Stderr.Contains("PT_LOAD) past end of file", StringComparison.Ordinal);
            Assert.True(!qemuRanIt || linuxRule, $"{what}: qemu-aarch64 runs it, dqemu-native refused it: {d.Stderr}");
            return;
        }
        if (qemuRanIt)
        {
            LoaderRuns.AssertRanLikeTheOriginal(d, what);
            return;
        }
        // the guest ran and failed: a hang or a SIGABRT/SIGSEGV only where qemu's run shows the same
        if (d.TimedOut || d.ExitCode is 134 or 139)
            Assert.True(q.TimedOut || q.ExitCode == d.ExitCode, $"{what}: dqemu-native {d.Describe()}, qemu-aarch64 {q.Describe()}; stderr: {d.Stderr}");
    }

    // more than 1 GiB in a p_memsz of the program headers where the original has them or where the mutant's
    // header says they are
    private static bool AsksForMuchMemory(byte[] original, byte[] b)
    {
        bool Large(ulong phoff, int phnum)
        {
            for (int i = 0; i < phnum; i++)
            {
                ulong at = phoff + (ulong)(i * Elf64.PhdrSize);
                if (at > (ulong)b.Length || (ulong)b.Length - at < Elf64.PhdrSize) return false;
                if (Elf64.Get(b, (int)at + Elf64.PMemsz, 8) > 1UL << 30) return true;
            }
            return false;
        }
        return Large((ulong)Elf64.PhOff(original), Elf64.PhNum(original))
            || (b.Length >= Elf64.EhdrSize && Large(Elf64.Get(b, Elf64.EPhoff, 8), (int)Elf64.Get(b, Elf64.EPhnum, 2)));
    }
}
