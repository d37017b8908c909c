using Dqemu.JitX64.Decoders;

namespace Dqemu.Tests.Jit.Fuzz;

/// <summary>The instruction classes the fuzzer draws from (A64 top-level encoding groups).</summary>
public enum FuzzClass
{
    /// <summary>Data processing (immediate) except bitfield/extract, data processing (register) except 3-source.</summary>
    Integer,
    /// <summary>Bitfield moves, EXTR and the 3-source multiplies.</summary>
    BitfieldMul,
    /// <summary>Every load/store encoding group: single, pair, exclusive, ordered, LSE atomics, SIMD structures.</summary>
    LoadStore,
    /// <summary>Scalar floating point (bit 30 = 0, bit 28 = 1 in the SIMD&amp;FP group).</summary>
    FpScalar,
    /// <summary>Advanced SIMD (scalar and vector), except the crypto extension's rows.</summary>
    Simd,
    /// <summary>
    /// Runs of 2 to <see cref="InstructionFuzzer.MaxSequence"/> words drawn from the integer, bitfield/multiply, FP
    /// and SIMD classes (no memory, no ADR/ADRP): interactions between instructions, e.g. flags set by one and
    /// consumed by the next, which single-instruction cases cannot see (lazy NZCV, cached guest registers).
    /// </summary>
    Sequence,
    /// <summary>The crypto extension: AES, the SHA1/SHA256 groups and PMULL/PMULL2 with 64-bit elements (.1Q).
    /// Last in the enum so the other classes keep their batch seeds.</summary>
    Crypto,
    /// <summary>
    /// The saturating integer SIMD instructions (SQ*, UQ*, SUQADD, USQADD: every one that can set FPSR.QC), taken out
    /// of <see cref="Simd"/>, from lanes biased to the integer limits so that about half of them saturate; FPSR.QC
    /// is compared with qemu's like every register. After Crypto so the other classes keep their batch seeds.
    /// </summary>
    Saturating,
}

/// <summary>One generated case: optional prefix words, the fuzzed word, its row and the state before it.
/// For <see cref="FuzzClass.Sequence"/> the prefix is the run before its last word.</summary>
public sealed class FuzzCase
{
    public required int Index { get; init; }
    public required uint Word { get; init; }
    public required InstDescriptor Row { get; init; }
    /// <summary>Words run before <see cref="Word"/> (a load-exclusive that opens the monitor for a store-exclusive,
    /// or the start of a sequence).</summary>
    public required uint[] Prefix { get; init; }
    public required MachineState Init { get; init; }

    /// <summary>Prefix followed by the fuzzed word, as run by both emulators.</summary>
    public uint[] Code => [.. Prefix, Word];
}

/// <summary>
/// Draws instruction words from <see cref="OpCodeTable.All"/> (DESIGN.md, "Testing"): a random row of the
/// chosen class, its non-fixed bits filled randomly (each field biased to all-zeros/all-ones sometimes), kept
/// only when <see cref="Decoder.Decode"/> returns that same row (so more specific alias rows are respected) and
/// when the word is not CONSTRAINED UNPREDICTABLE (writeback with Rt == Rn, LDP Rt == Rt2, STXR Rs == Rt, ...).
/// Rows that end blocks, the branch/exception/system group (SVC, BRK, HINT, barriers, CLREX, MRS, MSR, SYS,
/// DC) and literal loads are excluded; ADR/ADRP are kept (the comparer corrects for the different PC).
/// The state is random with edge-value bias, FP-biased V registers and, for FP/SIMD, random FPCR modes.
/// For loads/stores the base register is solved so that the whole access lands in the 4 KiB data page
/// (naturally aligned for exclusives, ordered accesses and atomics); offsets and index registers stay random.
/// Deterministic: the same (class, seed) gives the same cases.
/// </summary>
public static class InstructionFuzzer
{
    public const ulong Page = JitHarness.DataAddress;

    private static readonly Dictionary<FuzzClass, InstDescriptor[]> Pools = BuildPools();

    /// <summary>The rows a class draws from (empty while nobody has added rows of that class).</summary>
    public static IReadOnlyList<InstDescriptor> Rows(FuzzClass c)
        => c == FuzzClass.Sequence ? SequenceClasses.SelectMany(k => Pools[k]).ToArray() : Pools[c];

    public static FuzzClass? ClassOf(uint value)
    {
        var c = ClassOfBits(value);
        return c == FuzzClass.Simd && Decoder.Decode(value) is { } row && IsSaturating(row) ? FuzzClass.Saturating : c;
    }

    /// <summary>A row of the saturating integer SIMD instructions (by name: the Arm ARM's SQ*/UQ* mnemonics and
    /// SUQADD/USQADD are exactly the integer ones whose pseudocode calls SatQ).</summary>
    public static bool IsSaturating(InstDescriptor row)
        => row.Name.StartsWith("SQ", StringComparison.Ordinal) || row.Name.StartsWith("UQ", StringComparison.Ordinal)
            || row.Name.StartsWith("SUQADD", StringComparison.Ordinal) || row.Name.StartsWith("USQADD", StringComparison.Ordinal);

    private static FuzzClass? ClassOfRow(InstDescriptor row)
    {
        var c = ClassOfBits(row.Value);
        return c == FuzzClass.Simd && IsSaturating(row) ? FuzzClass.Saturating : c;
    }

    /// <summary>The class by the encoding groups alone (saturating instructions are in <see cref="FuzzClass.Simd"/> here).</summary>
    private static FuzzClass? ClassOfBits(uint value)
    {
        uint op0 = (value >> 25) & 0xF; // bits 28..25
        if ((op0 & 0xE) == 0x8) // 100x: data processing, immediate
        {
            uint sub = (value >> 23) & 7;
            return sub >= 6 ? FuzzClass.BitfieldMul : FuzzClass.Integer;
        }
        if ((op0 & 0x7) == 0x5) // x101: data processing, register
            return ((value >> 24) & 0x1F) == 0x1B ? FuzzClass.BitfieldMul : FuzzClass.Integer;
        if ((op0 & 0x5) == 0x4) return FuzzClass.LoadStore; // x1x0
        if ((op0 & 0x7) == 0x7 && IsCrypto(value)) return FuzzClass.Crypto;
        if ((op0 & 0x7) == 0x7) // x111: SIMD & FP
            return ((value >> 28) & 1) == 1 && ((value >> 30) & 1) == 0 ? FuzzClass.FpScalar : FuzzClass.Simd;
        return null; // 101x branches/exceptions/system, 0000-0011 reserved/SME/SVE
    }

    /// <summary>AES (4E28 x800), three-register SHA (5E00 0000), two-register SHA (5E28 0800), PMULL{2} .1Q (size 11),
    /// three-register SHA512 and RAX1 (CE60 8000), SHA512SU0 (CEC0 8000), EOR3/BCAX (CE00 0000), XAR (CE80 0000).</summary>
    public static bool IsCrypto(uint w)
        => (w & 0xFFFE0C00) == 0x4E280800 || (w & 0xFFE08C00) == 0x5E000000 || (w & 0xFFFE0C00) == 0x5E280800
            || (w & 0xBFE0FC00) == 0x0EE0E000 || (w & 0xFFE0F000) == 0xCE608000 || (w & 0xFFFFF000) == 0xCEC08000
            || (w & 0xFFC08000) == 0xCE000000 || (w & 0xFFE00000) == 0xCE800000;

    private static Dictionary<FuzzClass, InstDescriptor[]> BuildPools()
    {
        var pools = Enum.GetValues<FuzzClass>().ToDictionary(c => c, _ => new List<InstDescriptor>());
        foreach (var row in OpCodeTable.All)
        {
            if (row.EndsBlock) continue;
            if (IsLiteralLoad(row.Value) && (row.Value >> 30) != 3) continue; // PRFM (literal) is a no-op: kept
            if (ClassOfRow(row) is FuzzClass c) pools[c].Add(row);
        }
        return pools.ToDictionary(p => p.Key, p => p.Value.ToArray());
    }

    private static bool IsLiteralLoad(uint w) => (w & 0x3B000000) == 0x18000000;
    public static bool IsAdr(uint w) => (w & 0x1F000000) == 0x10000000;

    /// <summary>Longest run of a <see cref="FuzzClass.Sequence"/> case.</summary>
    public const int MaxSequence = 8;

    private static readonly FuzzClass[] SequenceClasses = [FuzzClass.Integer, FuzzClass.BitfieldMul, FuzzClass.FpScalar, FuzzClass.Simd, FuzzClass.Crypto, FuzzClass.Saturating];

    /// <summary>Generates <paramref name="count"/> cases of class <paramref name="c"/> from <paramref name="seed"/>.</summary>
    public static List<FuzzCase> Generate(FuzzClass c, int seed, int count, int firstIndex = 0)
    {
        var list = new List<FuzzCase>(count);
        var r = new Random(seed);
        var dead = new HashSet<InstDescriptor>();
        if (c == FuzzClass.Sequence)
        {
            var from = SequenceClasses.Where(k => Pools[k].Length > 0).ToArray();
            int live = from.Sum(k => Pools[k].Length);
            while (list.Count < count && dead.Count < live)
            {
                int n = r.Next(2, MaxSequence + 1);
                var words = new List<uint>(n);
                InstDescriptor? last = null;
                while (words.Count < n && dead.Count < live)
                {
                    var rows = Pools[from[r.Next(from.Length)]];
                    var row = rows[r.Next(rows.Length)];
                    if (dead.Contains(row)) continue;
                    if (Draw(row, r) is not uint w) { dead.Add(row); continue; }
                    if (IsAdr(w)) continue;
                    // a reserved logical immediate is SIGILL and would waste the whole run (the Integer class keeps them)
                    if ((w & 0x1F800000) == 0x12000000 && new A64Op(w).LogicalImmediate == null) continue;
                    words.Add(w);
                    last = row;
                    // now and then a branch over the next word: in a block translated in full a conditional one is a
                    // side exit (a superblock's), taken or not, with the flags the run left, and a B is followed
                    // (EmitterContext.Exits.cs)
                    if (words.Count <= n - 2 && r.Next(5) == 0)
                    {
                        words.Add(SkipBranch(r));
                        last = Decoder.Decode(words[^1]);
                    }
                }
                if (words.Count < n) break;
                list.Add(new FuzzCase
                {
                    Index = firstIndex + list.Count, Word = words[^1], Row = last!, Prefix = words.Take(n - 1).ToArray(),
                    Init = RandomState(r, fp: true),
                });
            }
            return list;
        }
        var pool = Pools[c];
        while (list.Count < count && dead.Count < pool.Length)
        {
            var row = pool[r.Next(pool.Length)];
            if (dead.Contains(row)) continue;
            if (Draw(row, r) is not uint word) { dead.Add(row); continue; } // every encoding is shadowed or unpredictable
            list.Add(MakeCase(c, row, word, r, firstIndex + list.Count));
        }
        return list;
    }

    /// <summary>True for a word <see cref="SkipBranch"/> makes: B.cond, CBZ/CBNZ, TBZ/TBNZ or B to the word after next.</summary>
    public static bool IsSkipBranch(uint w) =>
        (w & 0xFFFFFFF0u) == 0x54000040u || (w & 0x7EFFFFE0u) == 0x34000040u || (w & 0x7E07FFE0u) == 0x36000040u
        || w == 0x14000002u;

    /// <summary>A branch to the word after next (offset +8): B.cond on any condition, CBZ/CBNZ on a W or X register,
    /// TBZ/TBNZ on any bit, or now and then an unconditional B, which a block translated in full follows (it goes on
    /// at the target, past a word it never runs: EmitterContext.Exits.cs, "followed branches").</summary>
    private static uint SkipBranch(Random r)
    {
        const uint imm19 = 2u << 5, imm14 = 2u << 5;
        uint rt = (uint)r.Next(31);
        return r.Next(7) switch
        {
            0 or 1 => 0x54000000u | imm19 | (uint)r.Next(14),
            2 or 3 => 0x34000000u | (uint)r.Next(2) << 31 | (uint)r.Next(2) << 24 | imm19 | rt,
            4 or 5 => 0x36000000u | (uint)r.Next(2) << 31 | (uint)r.Next(2) << 24 | (uint)r.Next(32) << 19 | imm14 | rt,
            _ => 0x14000002u,
        };
    }

    /// <summary>An acceptable word of <paramref name="row"/>, or null when 200 random fills found none.</summary>
    private static uint? Draw(InstDescriptor row, Random r)
    {
        for (int attempt = 0; attempt < 200; attempt++)
        {
            uint w = FillRow(row, r);
            if (Decoder.Decode(w) != row || !Acceptable(w)) continue;
            if (ClassOf(w) == FuzzClass.LoadStore && !MemShape.TryAnalyze(w, out _)) continue;
            return w;
        }
        return null;
    }

    /// <summary>
    /// Rows of the class for which no acceptable word decodes back to the row in <paramref name="tries"/> random fills:
    /// entirely shadowed by more specific rows (never reachable by the decoder) or always unpredictable.
    /// </summary>
    public static List<InstDescriptor> UnreachableRows(FuzzClass c, int tries = 2000)
    {
        var r = new Random(77);
        var dead = new List<InstDescriptor>();
        if (c == FuzzClass.Sequence) return dead;
        foreach (var row in Pools[c])
        {
            bool found = false;
            for (int i = 0; i < tries && !found; i++)
            {
                uint w = FillRow(row, r);
                found = Decoder.Decode(w) == row && Acceptable(w) && (c != FuzzClass.LoadStore || MemShape.TryAnalyze(w, out _));
            }
            if (!found) dead.Add(row);
        }
        return dead;
    }

    /// <summary>Fills the non-fixed bits: each field (run of one letter) is all zeros or all ones 1/8 of the time each.</summary>
    public static uint FillRow(InstDescriptor row, Random r)
    {
        uint w = row.Value;
        var done = new HashSet<char>();
        string p = row.Pattern;
        for (int i = 0; i < 32; i++)
        {
            char ch = p[i];
            if (ch == '0' || ch == '1' || done.Contains(ch)) continue;
            done.Add(ch);
            int mode = r.Next(8);
            for (int j = i; j < 32; j++)
            {
                if (p[j] != ch) continue;
                uint bit = mode switch { 0 => 0u, 1 => 1u, _ => (uint)r.Next(2) };
                w |= bit << (31 - j);
            }
        }
        return w;
    }

    /// <summary>False for CONSTRAINED UNPREDICTABLE encodings whose outcome may legitimately differ.</summary>
    public static bool Acceptable(uint w)
    {
        if (ClassOf(w) != FuzzClass.LoadStore) return true;
        int rt = (int)(w & 31), rn = (int)((w >> 5) & 31), rt2 = (int)((w >> 10) & 31), rs = (int)((w >> 16) & 31);
        bool simdFp = ((w >> 26) & 1) != 0;
        // single register, immediate pre/post-index
        if ((w & 0x3B200400) == 0x38000400 && !simdFp && rn == rt && rn != 31) return false;
        // pairs
        if ((w & 0x3A000000) == 0x28000000)
        {
            bool load = ((w >> 22) & 1) != 0, wb = ((w >> 23) & 1) != 0;
            if (load && rt == rt2) return false;
            if (wb && !simdFp && rn != 31 && (rn == rt || rn == rt2)) return false;
        }
        // exclusives
        if ((w & 0x3F000000) == 0x08000000)
        {
            bool o2 = ((w >> 23) & 1) != 0, load = ((w >> 22) & 1) != 0, o1 = ((w >> 21) & 1) != 0;
            bool pair = !o2 && o1 && (w >> 31) != 0;
            if (!o2)
            {
                if (load && pair && rt == rt2) return false;
                if (!load && (o1 == false || pair) && (rs == rt || (pair && rs == rt2) || (rs == rn && rn != 31))) return false;
            }
        }
        return true;
    }

    private static FuzzCase MakeCase(FuzzClass c, InstDescriptor row, uint w, Random r, int index)
    {
        var s = RandomState(r, c is FuzzClass.FpScalar or FuzzClass.Simd or FuzzClass.Crypto or FuzzClass.Saturating);
        if (c == FuzzClass.Crypto)
            for (int i = 0; i < 64; i++)
                if (r.Next(4) != 0) s.V[i] = (ulong)r.NextInt64() ^ ((ulong)r.Next() << 40); // mostly uniform bits, not FP-shaped
        if (c == FuzzClass.Saturating)
            for (int i = 0; i < 64; i++)
                if (r.Next(4) != 0) s.V[i] = IntLanes(r);
        uint[] prefix = [];
        if (c == FuzzClass.LoadStore && MemShape.TryAnalyze(w, out var m))
        {
            ulong ea = Page + (ulong)(m.Align * r.Next((4096 - m.Span) / m.Align + 1));
            SolveBase(s, m, w, ea);
            BiasAtomics(s, w, ea, r);
            prefix = ExclusivePrefix(w, r);
        }
        return new FuzzCase { Index = index, Word = w, Row = row, Prefix = prefix, Init = s };
    }

    /// <summary>Sets Rn (or SP) so that the access of <paramref name="w"/> starts at <paramref name="ea"/>.</summary>
    private static void SolveBase(MachineState s, MemShape m, uint w, ulong ea)
    {
        ulong offset = m.PostIndex ? 0 : (ulong)m.Imm;
        if (m.IndexReg >= 0) offset += m.IndexOffset(m.IndexReg == 31 ? 0 : s.X[m.IndexReg]);
        ulong b = ea - offset;
        if (m.Rn < 0) return;
        if (m.Rn == 31) s.Sp = b; else s.X[m.Rn] = b;
    }

    /// <summary>Half of the CAS/CASP cases get a compare value equal to memory, so they store.</summary>
    private static void BiasAtomics(MachineState s, uint w, ulong ea, Random r)
    {
        if ((w & 0x3F000000) != 0x08000000 || r.Next(2) == 0) return;
        bool o2 = ((w >> 23) & 1) != 0, o1 = ((w >> 21) & 1) != 0;
        int rs = (int)((w >> 16) & 31), rn = (int)((w >> 5) & 31);
        int off = (int)(ea - Page);
        if (o2 && o1) // CAS
        {
            int bytes = 1 << (int)(w >> 30);
            if (rs == 31 || rs == rn) return;
            ulong mask = bytes == 8 ? ulong.MaxValue : (1UL << (8 * bytes)) - 1;
            ulong mem = 0;
            for (int i = bytes - 1; i >= 0; i--) mem = (mem << 8) | s.Memory[off + i];
            s.X[rs] = (s.X[rs] & ~mask) | (mem & mask);
        }
        else if (!o2 && o1 && (w >> 31) == 0) // CASP
        {
            bool x = ((w >> 30) & 1) != 0;
            if ((rs & 1) != 0 || rs == 30 || rs == rn || rs + 1 == rn) return;
            if (x) { s.X[rs] = BitConverter.ToUInt64(s.Memory, off); s.X[rs + 1] = BitConverter.ToUInt64(s.Memory, off + 8); }
            else
            {
                s.X[rs] = (s.X[rs] & ~0xFFFFFFFFUL) | BitConverter.ToUInt32(s.Memory, off);
                s.X[rs + 1] = (s.X[rs + 1] & ~0xFFFFFFFFUL) | BitConverter.ToUInt32(s.Memory, off + 4);
            }
        }
    }

    /// <summary>For half of the store-exclusives: a plain LDXR/LDXP of the same size and base first, so they can succeed.</summary>
    private static uint[] ExclusivePrefix(uint w, Random r)
    {
        if ((w & 0x3F400000) != 0x08000000 || ((w >> 23) & 1) != 0 || r.Next(2) == 0) return [];
        bool o1 = ((w >> 21) & 1) != 0;
        if (o1 && (w >> 31) == 0) return []; // CASP
        int rn = (int)((w >> 5) & 31);
        int a, b;
        do { a = r.Next(31); b = r.Next(31); } while (a == rn || b == rn || a == b);
        uint ld = (w & 0xC0000000) | 0x085F7C00u | ((uint)rn << 5) | (uint)a; // LDXR/LDXP: L = 1, Rs = 11111, o0 = 0
        if (o1) ld |= 1u << 21;
        ld = (ld & ~(31u << 10)) | ((o1 ? (uint)b : 31u) << 10);
        return [ld];
    }

    // ---------------- random state ----------------

    /// <summary>64 bits of integer lanes of one random size, each a limit, next to one, zero, small or random, so that
    /// saturating operations saturate about as often as not.</summary>
    private static ulong IntLanes(Random r)
    {
        int es = 8 << r.Next(4);
        ulong m = es == 64 ? ulong.MaxValue : (1UL << es) - 1, sign = 1UL << (es - 1);
        ulong v = 0;
        for (int i = 0; i < 64; i += es)
        {
            ulong lane = r.Next(10) switch
            {
                0 => sign - 1,                        // signed max
                1 => sign,                            // signed min
                2 => m,                               // unsigned max, -1
                3 => sign - 1 - (ulong)r.Next(4),     // just below signed max
                4 => sign + (ulong)r.Next(4),         // just above signed min
                5 => (ulong)r.Next(4),                // 0..3
                6 => m - (ulong)r.Next(4),            // just below unsigned max
                7 => (sign >> 1) + (ulong)r.Next(-2, 3), // half the signed range: doubles or adds to the limit
                _ => (ulong)r.NextInt64() ^ ((ulong)r.Next() << 40),
            };
            v |= (lane & m) << i;
        }
        return v;
    }

    private static readonly ulong[] Edges =
    [
        0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
        long.MaxValue, 0x8000000000000000, ulong.MaxValue, ulong.MaxValue - 1, 63, 64, 31, 32,
    ];

    private static ulong NextGpr(Random r) => r.Next(8) switch
    {
        0 or 1 => Edges[r.Next(Edges.Length)],
        2 => (ulong)r.Next(256),
        3 => (ulong)(long)-r.Next(1, 256),
        4 => (ulong)(uint)r.Next() | (r.Next(2) == 0 ? 0 : 0xFFFFFFFF00000000UL),
        _ => (ulong)r.NextInt64() ^ ((ulong)r.Next() << 40),
    };

    /// <summary>Random registers, NZCV, FP-biased V registers, a random data page and (for FP) FPCR modes.</summary>
    public static MachineState RandomState(Random r, bool fp)
    {
        var s = new MachineState();
        for (int i = 0; i < 31; i++) s.X[i] = NextGpr(r);
        s.Sp = r.Next(4) switch
        {
            0 => NextGpr(r),
            1 => JitHarness.StackTop - 16 * (ulong)r.Next(1024),
            _ => JitHarness.StackTop,
        };
        s.Nzcv = (uint)r.Next(16) << 28;
        for (int i = 0; i < 32; i++) FpValues.FillVector(s.V, i, r);
        r.NextBytes(s.Memory);
        if (fp && r.Next(2) == 0)
        {
            uint fpcr = (uint)r.Next(4) << 22;      // RMode
            if (r.Next(3) == 0) fpcr |= 1u << 24;  // FZ
            if (r.Next(3) == 0) fpcr |= 1u << 25;  // DN
            if (r.Next(8) == 0) fpcr |= 1u << 26;  // AHP
            if (r.Next(8) == 0) fpcr |= 1u << 19;  // FZ16
            s.Fpcr = fpcr;
        }
        return s;
    }
}

/// <summary>
/// Where a load/store word accesses memory: base register, fixed offset, index register, span and alignment,
/// decoded from the A64 load/store encoding groups (not from row names, so new rows are covered).
/// </summary>
public readonly record struct MemShape(int Rn, long Imm, int IndexReg, int Option, int Shift, bool PostIndex, int Span, int Align)
{
    /// <summary>The register-offset contribution of an index register value (extend, then shift).</summary>
    public ulong IndexOffset(ulong v)
    {
        ulong e = Option switch
        {
            2 => (uint)v,                        // UXTW
            6 => (ulong)(long)(int)(uint)v,      // SXTW
            _ => v,                              // LSL/UXTX, SXTX
        };
        return e << Shift;
    }

    private static long Sext(uint v, int bits) => (long)((ulong)v << (64 - bits)) >> (64 - bits);

    public static bool TryAnalyze(uint w, out MemShape m)
    {
        m = default;
        int rn = (int)((w >> 5) & 31);
        int size = (int)(w >> 30);
        bool v = ((w >> 26) & 1) != 0;
        bool q = ((w >> 30) & 1) != 0;
        if ((w & 0xBFBF0000) == 0x0C000000 || (w & 0xBFA00000) == 0x0C800000) // SIMD multiple structures
        {
            int regs = ((w >> 12) & 15) switch { 0 or 2 => 4, 4 or 6 => 3, 7 => 1, 8 or 10 => 2, _ => 0 };
            if (regs == 0) return false;
            m = new MemShape(rn, 0, -1, 0, 0, false, regs * (q ? 16 : 8), 1);
            return true;
        }
        if ((w & 0xBF9F0000) == 0x0D000000 || (w & 0xBF800000) == 0x0D800000) // SIMD single structure
        {
            int opcode = (int)((w >> 13) & 7), r = (int)((w >> 21) & 1), sz = (int)((w >> 10) & 3);
            int selem = (((opcode & 1) << 1) | r) + 1;
            int scale = opcode >> 1;
            int esize = scale == 3 ? 1 << sz : scale == 2 && (sz & 1) != 0 ? 8 : 1 << scale;
            m = new MemShape(rn, 0, -1, 0, 0, false, selem * esize, 1);
            return true;
        }
        if ((w & 0x3F000000) == 0x08000000) // exclusive, ordered, CAS, CASP
        {
            bool o2 = ((w >> 23) & 1) != 0, o1 = ((w >> 21) & 1) != 0;
            int span = !o2 && o1
                ? (size >= 2 ? 2 * (size == 3 ? 8 : 4) : 2 * (size == 1 ? 8 : 4))
                : 1 << size;
            m = new MemShape(rn, 0, -1, 0, 0, false, span, span);
            return true;
        }
        if ((w & 0x3F200C00) == 0x19000000) // LDAPUR/STLUR
        {
            m = new MemShape(rn, Sext((w >> 12) & 0x1FF, 9), -1, 0, 0, false, 1 << size, 1 << size);
            return true;
        }
        if ((w & 0x3B000000) == 0x18000000) // literal: PC-relative, no base (only PRFM gets here)
        {
            m = new MemShape(-1, 0, -1, 0, 0, false, 8, 1);
            return (w >> 30) == 3 && !v;
        }
        if ((w & 0x3A000000) == 0x28000000) // pairs
        {
            int esz = v ? 4 << size : size == 2 ? 8 : 4;
            if (size == 3 || esz > 16) return false;
            int type = (int)((w >> 23) & 3);
            m = new MemShape(rn, Sext((w >> 15) & 0x7F, 7) * esz, -1, 0, 0, type == 1, 2 * esz, 1);
            return true;
        }
        int ls = v && ((w >> 23) & 1) != 0 && size == 0 ? 4 : size;
        if ((w & 0x3B000000) == 0x39000000) // unsigned scaled immediate
        {
            m = new MemShape(rn, (long)((w >> 10) & 0xFFF) << ls, -1, 0, 0, false, 1 << ls, 1);
            return true;
        }
        if ((w & 0x3B000000) == 0x38000000)
        {
            int kind = (int)((w >> 10) & 3);
            if (((w >> 21) & 1) == 0) // imm9: unscaled, post, unprivileged, pre
            {
                m = new MemShape(rn, Sext((w >> 12) & 0x1FF, 9), -1, 0, 0, kind == 1, 1 << ls, 1);
                return true;
            }
            if (kind == 2) // register offset
            {
                int rm = (int)((w >> 16) & 31);
                if (rm == rn && rn != 31) return false; // base and index in one register: cannot be solved
                int option = (int)((w >> 13) & 7);
                int shift = ((w >> 12) & 1) != 0 ? ls : 0;
                m = new MemShape(rn, 0, rm, option, shift, false, 1 << ls, 1);
                return true;
            }
            if (kind == 0) // LSE atomic memory operations, LDAPR
            {
                m = new MemShape(rn, 0, -1, 0, 0, false, 1 << size, 1 << size);
                return true;
            }
            return false; // LDRAA/LDRAB
        }
        return false;
    }
}

/// <summary>Floating-point-biased register contents: specials, ties, integer limits, denormals, moderate values.</summary>
public static class FpValues
{
    private static readonly ulong[] Doubles =
    [
        0x0000000000000000, 0x8000000000000000, 0x7FF0000000000000, 0xFFF0000000000000, // ±0, ±inf
        0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001, 0x7FF4000000000000, // qNaN, sNaN
        0x0000000000000001, 0x800FFFFFFFFFFFFF, 0x0010000000000000, 0x7FEFFFFFFFFFFFFF, // denormals, min/max normal
        0x3FF0000000000000, 0xBFF0000000000000, 0x3FE0000000000000, 0x3FF8000000000000, // 1, -1, 0.5, 1.5
        0x4004000000000000, 0xC004000000000000, 0x43E0000000000000, 0xC3E0000000000000, // 2.5, -2.5, 2^63, -2^63
        0x43F0000000000000, 0x41E0000000000000, 0x41F0000000000000, 0xC1E0000000000000, // 2^64, 2^31, 2^32, -2^31
        0x41DFFFFFFFC00000, 0x43DFFFFFFFFFFFFF, 0x3CA0000000000000, 0x4330000000000000, // 2^31-1, <2^63, 2^-53, 2^52
        0x000FFFFFFFFFFFFF, 0x8010000000000000, 0x0010000000000001, 0x3FF0000000000001, // around the smallest normal, 1+ulp
        0x7FEFFFFFFFFFFFFF, 0x3FE0000000000001, 0x0020000000000000, 0x1FF0000000000000, // max, 0.5+ulp, 2^-1021, 2^-512
    ];

    private static readonly uint[] Singles =
    [
        0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FA00000,
        0x00000001, 0x807FFFFF, 0x00800000, 0x7F7FFFFF, 0x3F800000, 0xBF800000, 0x3F000000, 0x3FC00000,
        0x40200000, 0xC0200000, 0x5F000000, 0xDF000000, 0x5F800000, 0x4F000000, 0x4F800000, 0xCF000000,
        0x4EFFFFFF, 0x33800000, 0x4B000000, 0x3EAAAAAB,
        0x007FFFFF, 0x80800000, 0x00800001, 0x3F800001, 0x01000000, 0x1F800000, 0x3F000001, 0x7F7FFFFF,
    ];

    private static readonly ushort[] Halves =
    [
        0x0000, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0x7C01, 0x0001, 0x83FF, 0x0400, 0x7BFF, 0x3C00, 0xBC00, 0x3800, 0x4100,
    ];

    private static ulong Double(Random r) => r.Next(10) switch
    {
        < 3 => Doubles[r.Next(Doubles.Length)],
        < 7 => BitConverter.DoubleToUInt64Bits((r.NextDouble() * 2 - 1) * Math.Pow(2, r.Next(-70, 70))),
        < 8 => BitConverter.DoubleToUInt64Bits(Math.Round((r.NextDouble() * 2 - 1) * 1e6) / 4),
        _ => (ulong)r.NextInt64() ^ ((ulong)r.Next(2) << 63),
    };

    private static uint Single(Random r) => r.Next(10) switch
    {
        < 3 => Singles[r.Next(Singles.Length)],
        < 7 => BitConverter.SingleToUInt32Bits((float)((r.NextDouble() * 2 - 1) * Math.Pow(2, r.Next(-40, 40)))),
        < 8 => BitConverter.SingleToUInt32Bits((float)(Math.Round((r.NextDouble() * 2 - 1) * 1e4) / 4)),
        _ => (uint)r.Next() ^ ((uint)r.Next(2) << 31),
    };

    private static ushort Half(Random r) => r.Next(3) == 0 ? Halves[r.Next(Halves.Length)] : (ushort)r.Next(0x10000);

    /// <summary>Fills V<paramref name="n"/> (halves v[2n], v[2n+1]) as doubles, singles, halves or raw bits.</summary>
    public static void FillVector(ulong[] v, int n, Random r)
    {
        int kind = r.Next(8);
        for (int half = 0; half < 2; half++)
        {
            ulong x = kind switch
            {
                0 or 1 or 2 => Double(r),
                3 or 4 or 5 => Single(r) | ((ulong)Single(r) << 32),
                6 => Half(r) | ((ulong)Half(r) << 16) | ((ulong)Half(r) << 32) | ((ulong)Half(r) << 48),
                _ => (ulong)r.NextInt64() ^ ((ulong)r.Next() << 40),
            };
            v[2 * n + half] = x;
        }
    }
}
