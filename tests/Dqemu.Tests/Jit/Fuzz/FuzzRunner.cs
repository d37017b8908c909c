using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.Host;
using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Dqemu.Runtime.Host;

namespace Dqemu.Tests.Jit.Fuzz;

/// <summary>One case where our translator and qemu-aarch64 disagree.</summary>
public sealed record Mismatch(FuzzClass Class, int Seed, int Batch, int BatchSize, FuzzCase Case, string Reason, IReadOnlyList<string> Diff);

/// <summary>The outcome of a fuzz run: counts per row and every mismatch.</summary>
public sealed class FuzzReport
{
    public required FuzzClass Class { get; init; }
    public required int Seed { get; init; }
    public int Cases { get; set; }
    /// <summary>Cases whose instruction changed something under qemu (a sanity check of the oracle and generator).</summary>
    public int Effective;
    /// <summary>Cases that raised a signal under qemu.</summary>
    public int Signalled;
    public TimeSpan QemuTime { get; set; }
    public TimeSpan JitTime { get; set; }
    public TimeSpan Elapsed { get; set; }
    public ConcurrentDictionary<string, int> CasesPerRow { get; } = new();
    /// <summary>Cases qemu raised a signal for, by the row of the word that raised it.</summary>
    public ConcurrentDictionary<string, int> SignalsPerRow { get; } = new();
    public ConcurrentBag<Mismatch> Mismatches { get; } = new();
    /// <summary>Blocks the translator had to emit again without its register cache (Translator.RegisterConflicts: an
    /// emitter read a guest register behind the register layer while the block held a newer value) or without its
    /// flag plan (Translator.FlagConflicts).</summary>
    public long RegisterConflicts;
    public ConcurrentBag<string> ConflictExamples { get; } = new();
    private string ConflictNote => ConflictExamples.IsEmpty ? "" : $" (e.g. {string.Join(", ", ConflictExamples.Take(6))})";

    public string Summary()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"fuzz {Class} seed {Seed}: {Cases} cases over {CasesPerRow.Count} rows in {Elapsed.TotalSeconds:F1} s " +
            $"(qemu {QemuTime.TotalSeconds:F1} s, ours {JitTime.TotalSeconds:F1} s, summed over workers); {Effective} changed state, " +
            $"{Signalled} raised a signal under qemu; {Mismatches.Count} mismatches; {RegisterConflicts} register-layer conflicts{ConflictNote}");
        if (SignalsPerRow.Count > 0)
            sb.AppendLine("  signals under qemu by row: " + string.Join(", ", SignalsPerRow.OrderByDescending(p => p.Value).Take(8).Select(p => $"{p.Key} {p.Value}")));
        foreach (var g in Mismatches.GroupBy(Key).OrderByDescending(g => g.Count()).ThenBy(g => g.Key))
        {
            var e = g.OrderBy(m => m.Case.Index).First();
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"  {g.Key}: {g.Count()}/{(Class == FuzzClass.Sequence ? "-" : CasesPerRow.GetValueOrDefault(g.Key))} cases differ, e.g. {e.Case.Word:x8} {FuzzRunner.Disasm(e.Case.Row, e.Case.Word)}: {e.Reason}");
        }
        return sb.ToString();
    }

    /// <summary>Mismatches are grouped by row; a sequence's by all its rows (any of them may be the culprit).</summary>
    private static string Key(Mismatch m) => m.Class != FuzzClass.Sequence ? m.Case.Row.Name
        : string.Join(" + ", m.Case.Code.Select(w => Dqemu.JitX64.Decoders.Decoder.Decode(w)?.Name ?? "?"));

    /// <summary>The summary, then up to <paramref name="perRow"/> full examples for each row that differs.</summary>
    public string Describe(int perRow = 2, int max = 60)
    {
        var sb = new StringBuilder(Summary());
        int n = 0;
        foreach (var g in Mismatches.GroupBy(Key).OrderByDescending(g => g.Count()).ThenBy(g => g.Key))
            foreach (var m in g.OrderBy(m => m.Case.Index).Take(perRow))
            {
                if (n++ >= max) return sb.ToString();
                sb.AppendLine().Append(FuzzRunner.Describe(m));
            }
        return sb.ToString();
    }
}

/// <summary>
/// Runs fuzz cases under qemu-aarch64 (<see cref="BatchOracle"/>, one process per batch) and in-process under our
/// translator (<see cref="JitHarness"/>, one case at a time), and compares every X register, SP, NZCV, V0-V31,
/// the data page, FPSR.QC and whether the case raised a signal; all of FPSR when DQEMU_FUZZ_FPSR=1. Batches run in
/// parallel, one harness per worker.
/// </summary>
public static unsafe class FuzzRunner
{
    public const int DefaultBatchSize = 500;
    private const uint MsrFpcrX0 = 0xD51B4400;

    /// <summary>DQEMU_FUZZ_FPSR=1 compares all of FPSR (cumulative exception flags too), not just QC.</summary>
    public static bool CompareFpsr => Environment.GetEnvironmentVariable("DQEMU_FUZZ_FPSR") == "1";

    /// <summary>The generator seed of batch <paramref name="batch"/> of a run seeded with <paramref name="seed"/>.</summary>
    public static int BatchSeed(FuzzClass c, int seed, int batch) => unchecked(seed * 1_000_003 + batch * 7919 + (int)c * 104_729);

    public static FuzzReport Run(FuzzClass c, int seed, int cases, int batchSize = DefaultBatchSize, int? workers = null)
    {
        var report = new FuzzReport { Class = c, Seed = seed };
        var total = Stopwatch.StartNew();
        int batches = (cases + batchSize - 1) / batchSize;
        long qemuTicks = 0, jitTicks = 0, done = 0;
        var opts = new ParallelOptions { MaxDegreeOfParallelism = workers ?? Environment.ProcessorCount };
        Parallel.For(0, batches, opts, () => NewHarness(), (b, _, h) =>
        {
            int n = Math.Min(batchSize, cases - b * batchSize);
            var list = InstructionFuzzer.Generate(c, BatchSeed(c, seed, b), n, b * batchSize);
            if (list.Count == 0) return h;
            long t0 = Stopwatch.GetTimestamp();
            var expected = BatchOracle.Run(list);
            long t1 = Stopwatch.GetTimestamp();
            for (int i = 0; i < list.Count; i++)
            {
                var k = list[i];
                report.CasesPerRow.AddOrUpdate(k.Row.Name, 1, (_, v) => v + 1);
                if (expected[i].Signal != 0)
                {
                    Interlocked.Increment(ref report.Signalled);
                    int fi = FaultIndex(k, expected[i]);
                    string who = fi < 0 ? "(outside the code)" : Dqemu.JitX64.Decoders.Decoder.Decode(k.Code[fi])?.Name ?? "(undecodable)";
                    report.SignalsPerRow.AddOrUpdate($"{who} {SignalName(expected[i].Signal)}", 1, (_, v) => v + 1);
                }
                else if (MachineState.Diff(k.Init, expected[i].State).Count > 0) Interlocked.Increment(ref report.Effective);
                // the code cache never frees (ForgetAll only forgets): a long run starts a fresh harness when it fills
                if (h.Harness.Translator.Cache.Used > h.Harness.Translator.Cache.Size / 4 * 3) h.Renew(report);
                var m = Compare(h, k, expected[i]);
                if (m != null) report.Mismatches.Add(new Mismatch(c, seed, b, batchSize, k, m.Value.Reason, m.Value.Diff));
            }
            Interlocked.Add(ref qemuTicks, t1 - t0);
            Interlocked.Add(ref jitTicks, Stopwatch.GetTimestamp() - t1);
            Interlocked.Add(ref done, list.Count);
            return h;
        }, h => h.Retire(report));
        report.Cases = (int)done;
        report.QemuTime = Stopwatch.GetElapsedTime(0, qemuTicks);
        report.JitTime = Stopwatch.GetElapsedTime(0, jitTicks);
        report.Elapsed = total.Elapsed;
        return report;
    }

    /// <summary>Runs one case under both emulators; null when they agree, else the description of the difference.</summary>
    public static string? Check(FuzzCase k) => Check(k, BatchOracle.Run([k])[0]);

    /// <summary>Compares our run of <paramref name="k"/> with a given qemu result.</summary>
    internal static string? Check(FuzzCase k, OracleResult expected)
    {
        var w = NewHarness();
        try
        {
            var m = Compare(w, k, expected);
            return m == null ? null : Describe(new Mismatch(InstructionFuzzer.ClassOf(k.Word) ?? FuzzClass.Integer, -1, 0, 1, k, m.Value.Reason, m.Value.Diff));
        }
        finally { w.Harness.Dispose(); }
    }

    /// <summary>A harness whose whole 1 GiB reservation is committed (lazily backed), so a wrong guest address from
    /// a buggy emitter shows up as a difference instead of crashing the test host.</summary>
    private sealed class Worker(JitHarness h)
    {
        public JitHarness Harness { get; private set; } = h;
        public uint Fpcr;

        /// <summary>Adds the translator's counts to the report and disposes the harness.</summary>
        public void Retire(FuzzReport report)
        {
            Interlocked.Add(ref report.RegisterConflicts, Harness.Translator.RegisterConflicts + Harness.Translator.FlagConflicts);
            if (Harness.Translator.LastConflict is { } at) report.ConflictExamples.Add(at);
            Harness.Dispose();
        }

        public void Renew(FuzzReport report)
        {
            Retire(report);
            Harness = NewJitHarness();
            Fpcr = 0;
        }
    }

    private static Worker NewHarness() => new(NewJitHarness());

    /// <summary>DQEMU_FUZZ_TIER_UP=N translates each case as the runtime does with --tier-up N (default: in full at
    /// once); a count above 1 keeps every case in its quick translation, which it runs once (Translator.Tiers.cs).</summary>
    private static int TierUpAfter => int.TryParse(Environment.GetEnvironmentVariable("DQEMU_FUZZ_TIER_UP"), out int n) && n >= 0 ? n : 0;

    private static JitHarness NewJitHarness()
    {
        var h = new JitHarness(new TranslatorOptions { CodeCacheSize = 16UL << 20, TierUpAfter = TierUpAfter });
        const ulong mapped = 16UL << 20; // JitHarness' layout: all of the guest range mapped, not its guard
        LinuxHostMemory.Instance.Commit((nint)h.Memory(mapped), JitHarness.AddressLimit + 1 - mapped, HostProtection.ReadWrite);
        return h;
    }

    private static (string Reason, IReadOnlyList<string> Diff)? Compare(Worker w, FuzzCase k, OracleResult q)
    {
        var h = w.Harness;
        ExitReason r;
        try
        {
            if (k.Init.Fpcr != w.Fpcr)
            {
                // derive the host MXCSR the way the translator does: run MSR FPCR
                h.X(0) = k.Init.Fpcr;
                var fr = h.Run([MsrFpcrX0]);
                if (fr != ExitReason.Breakpoint) return ($"msr fpcr, x0 stopped with {fr}", []);
                w.Fpcr = k.Init.Fpcr;
            }
            h.SetState(k.Init);
            h.Cpu->Fpsr = 0;
            h.Cpu->Mxcsr &= ~FpsrBits.MxcsrFlags; // the cumulative flags of earlier cases
            h.Cpu->ExclSize = 0;
            r = h.Run(k.Code);
        }
        catch (Exception e)
        {
            return ($"translator threw {e.GetType().Name}: {e.Message}", []);
        }
        int ours = r switch
        {
            ExitReason.Breakpoint => 0,
            ExitReason.Undefined => 4,
            ExitReason.SegFault => 11,
            ExitReason.Misaligned => 7,
            _ => -1,
        };
        ulong endPc = JitHarness.CodeAddress + 4 * (ulong)k.Code.Length;
        if (ours == 0 && h.Cpu->Pc != endPc) return ($"ours stopped at 0x{h.Cpu->Pc:x}, not at the end 0x{endPc:x}", []);
        int theirs = q.Signal == 7 ? 11 : q.Signal; // SIGBUS and SIGSEGV are both "memory fault"
        if (ours != theirs)
            return ($"qemu: {SignalName(q.Signal)}{At(FaultIndex(k, q))}, ours: {(ours < 0 ? r.ToString() : SignalName(ours))}{(ours != 0 ? At(OurIndex(h, k)) : "")}", []);
        if (ours != 0)
        {
            int qi = FaultIndex(k, q), oi = OurIndex(h, k);
            return qi == oi ? null : ($"{SignalName(q.Signal)} under qemu{At(qi)}, ours{At(oi)}", []);
        }

        var expected = q.State;
        FixPcRelative(expected, k, q.WordPc);
        var actual = h.GetState();
        var diff = MachineState.Diff(expected, actual);
        uint fpsr = FpsrBits.Read(h.Cpu->Fpsr, h.Cpu->Mxcsr), compared = CompareFpsr ? ~0u : FpsrBits.QC;
        if (((q.Fpsr ^ fpsr) & compared) != 0) diff.Add($"fpsr: expected 0x{q.Fpsr:x8}, got 0x{fpsr:x8}");
        return diff.Count == 0 ? null : (diff[0], diff);
    }

    /// <summary>Which word of the case qemu's signal was raised at (-1 when outside the case's code).</summary>
    public static int FaultIndex(FuzzCase k, OracleResult q)
    {
        long first = (long)q.WordPc - 4 * k.Prefix.Length;
        long i = ((long)q.FaultPc - first) / 4;
        return q.Signal == 0 || (long)q.FaultPc < first || i >= k.Code.Length ? -1 : (int)i;
    }

    private static int OurIndex(JitHarness h, FuzzCase k)
    {
        long i = ((long)h.Cpu->Pc - (long)JitHarness.CodeAddress) / 4;
        return i < 0 || i >= k.Code.Length ? -1 : (int)i;
    }

    private static string At(int index) => index < 0 ? " outside the case's code" : $" at word {index}";

    /// <summary>ADR/ADRP ran at a different PC under qemu: move qemu's result to our PC.</summary>
    private static void FixPcRelative(MachineState s, FuzzCase k, ulong qemuPc)
    {
        uint w = k.Word;
        int rd = (int)(w & 31);
        if (!InstructionFuzzer.IsAdr(w) || rd == 31) return;
        ulong ourPc = JitHarness.CodeAddress + 4 * (ulong)k.Prefix.Length;
        s.X[rd] += (w >> 31) != 0 ? (ourPc & ~0xFFFUL) - (qemuPc & ~0xFFFUL) : ourPc - qemuPc;
    }

    public static string SignalName(int sig) => sig switch
    {
        0 => "completed",
        4 => "SIGILL",
        5 => "SIGTRAP",
        7 => "SIGBUS",
        8 => "SIGFPE",
        11 => "SIGSEGV",
        _ => $"signal {sig}",
    };

    public static string Disasm(InstDescriptor row, uint word)
    {
        try { return Disassembler.Format(row, word, JitHarness.CodeAddress); }
        catch (Exception e) { return $"<disassembly failed: {e.Message}>"; }
    }

    /// <summary>An actionable description: word, row, disassembly, how to regenerate it, the initial state and the diff.</summary>
    public static string Describe(Mismatch m)
    {
        var k = m.Case;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"[{k.Row.Name}] .inst 0x{k.Word:x8}   {Disasm(k.Row, k.Word)}   ({m.Reason})");
        if (m.Seed >= 0)
            sb.AppendLine(CultureInfo.InvariantCulture,
            $"  replay: FuzzRunner.Check(InstructionFuzzer.Generate(FuzzClass.{m.Class}, FuzzRunner.BatchSeed(FuzzClass.{m.Class}, {m.Seed}, {m.Batch}), {k.Index - m.Batch * m.BatchSize + 1}, {m.Batch * m.BatchSize})[^1])");
        foreach (uint p in k.Prefix)
            sb.AppendLine(CultureInfo.InvariantCulture, $"  preceded by .inst 0x{p:x8}   {Disassembler.Disassemble(p, JitHarness.CodeAddress)}");
        var s = k.Init;
        sb.Append("  init:");
        for (int i = 0; i < 31; i++)
        {
            if (i % 4 == 0 && i > 0) sb.Append("\n       ");
            sb.Append(CultureInfo.InvariantCulture, $" x{i}=0x{s.X[i]:x16}");
        }
        sb.AppendLine(CultureInfo.InvariantCulture, $"\n        sp=0x{s.Sp:x} nzcv={s.Nzcv >> 28:x1} fpcr=0x{s.Fpcr:x8}");
        // the SIMD&FP registers named by the words' register fields, and those that differ
        var vs = new SortedSet<int>();
        foreach (uint w in k.Code)
        {
            if (Dqemu.JitX64.Decoders.Decoder.Decode(w) is not InstDescriptor row) continue;
            if (InstructionFuzzer.ClassOf(w) is not (FuzzClass.FpScalar or FuzzClass.Simd or FuzzClass.Crypto or FuzzClass.LoadStore)) continue;
            foreach (char letter in "dnmatu")
                if (row.FieldWidth(letter) == 5) vs.Add((int)row.Field(w, letter));
        }
        foreach (var d in m.Diff)
            if (d.StartsWith('v') && int.TryParse(d.AsSpan(1, d.IndexOf(':') - 1), out int vi)) vs.Add(vi);
        foreach (int v in vs)
            sb.AppendLine(CultureInfo.InvariantCulture, $"        v{v}=0x{s.V[2 * v + 1]:x16}{s.V[2 * v]:x16}");
        foreach (var d in m.Diff) sb.AppendLine("  " + d);
        return sb.ToString();
    }
}
