using System.Runtime.InteropServices;
using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// Exclusives, load-acquire/store-release and the LSE atomics against qemu-aarch64 (same base registers as
/// <see cref="LoadStoreTests"/>: x1 = data page, x5 = its middle), known-answer checks of the monitor, and
/// a multi-threaded run of the atomic sequences on real host threads.
/// </summary>
public unsafe class AtomicTests
{
    private static void Check(string snippet, int states = 2) => LoadStoreTests.Check(snippet, states);

    [Theory]
    // success: status 0, memory updated; every size and ordering
    [InlineData("ldxrb w10, [x1]\nstxrb w11, w12, [x1]\nldaxrb w13, [x5]\nstlxrb w14, w15, [x5]")]
    [InlineData("ldxrh w10, [x1]\nstxrh w11, w12, [x1]\nldaxrh w13, [x5]\nstlxrh w14, w15, [x5]")]
    [InlineData("ldxr w10, [x1]\nstxr w11, w12, [x1]\nldaxr w13, [x5]\nstlxr w14, w15, [x5]")]
    [InlineData("ldxr x10, [x1]\nstxr w11, x12, [x1]\nldaxr x13, [x5]\nstlxr w14, x15, [x5]")]
    [InlineData("ldxp w10, w16, [x1]\nstxp w11, w12, w17, [x1]\nldaxp w13, w18, [x5]\nstlxp w14, w15, w19, [x5]")]
    [InlineData("ldxp x10, x16, [x1]\nstxp w11, x12, x17, [x1]\nldaxp x13, x18, [x5]\nstlxp w14, x15, x19, [x5]")]
    // the zero register as data, SP as base
    [InlineData("ldxr x10, [x1]\nstxr w11, xzr, [x1]\nldxp x12, x13, [x5]\nstxp w14, xzr, xzr, [x5]")]
    [InlineData("str x2, [sp, #-16]!\nldaxr x10, [sp]\nstlxr w11, x12, [sp]\nldr x13, [sp], #16")]
    // failure: CLREX in between, another address, no load-exclusive at all, a second STXR
    [InlineData("ldxr x10, [x1]\nclrex\nstxr w11, x12, [x1]")]
    [InlineData("ldaxrb w10, [x1]\nclrex\nstlxrb w11, w12, [x1]")]
    [InlineData("ldxp x10, x16, [x1]\nclrex\nstxp w11, x12, x17, [x1]\nldxp w13, w18, [x5]\nclrex\nstxp w14, w15, w19, [x5]")]
    [InlineData("ldxr w10, [x1]\nstxr w11, w12, [x5]")]
    [InlineData("stxr w11, x12, [x1]\nstxrh w13, w14, [x5]")]
    [InlineData("ldxr x10, [x1]\nstxr w11, x12, [x1]\nstxr w13, x14, [x1]")]
    // the value changed behind the monitor (by this thread): the compare fails
    [InlineData("ldxr x10, [x1]\nstr x13, [x1]\nstxr w11, x12, [x1]")]
    public void Exclusives(string snippet) => Check(snippet);

    [Fact]
    public void StoreExclusiveStatusAndMemory()
    {
        using var h = new JitHarness();
        ulong a = JitHarness.DataAddress;
        h.X(1) = a;
        h.X(12) = 0x1122334455667788;
        h.WriteU64(a, 42);
        h.RunToEnd("ldaxr x10, [x1]\nstlxr w11, x12, [x1]");
        Assert.Equal(42UL, h.X(10));
        Assert.Equal(0UL, h.X(11));
        Assert.Equal(0x1122334455667788UL, h.ReadU64(a));

        h.X(12) = 7;
        h.RunToEnd("ldxr x10, [x1]\nclrex\nstxr w11, x12, [x1]");
        Assert.Equal(1UL, h.X(11));
        Assert.Equal(0x1122334455667788UL, h.ReadU64(a));

        // the monitor closes after a successful store: a second STXR fails
        h.X(12) = 9;
        h.X(14) = 10;
        h.RunToEnd("ldxr x10, [x1]\nstxr w11, x12, [x1]\nstxr w13, x14, [x1]");
        Assert.Equal(0UL, h.X(11));
        Assert.Equal(1UL, h.X(13));
        Assert.Equal(9UL, h.ReadU64(a));

        // 128-bit pair
        h.WriteU64(a + 16, 5);
        h.WriteU64(a + 24, 6);
        h.X(5) = a + 16;
        h.X(12) = 0xAAAA;
        h.X(13) = 0xBBBB;
        h.RunToEnd("ldaxp x10, x11, [x5]\nstlxp w14, x12, x13, [x5]");
        Assert.Equal((5UL, 6UL, 0UL), (h.X(10), h.X(11), h.X(14)));
        Assert.Equal((0xAAAAUL, 0xBBBBUL), (h.ReadU64(a + 16), h.ReadU64(a + 24)));
    }

    [Theory]
    [InlineData("ldarb w10, [x1]\nldarh w11, [x1]\nldar w12, [x5]\nldar x13, [x5]\nldarb w14, [x5]")]
    [InlineData(".arch_extension rcpc\nldaprb w10, [x1]\nldaprh w11, [x1]\nldapr w12, [x5]\nldapr x13, [x5]")]
    [InlineData("ldlarb w10, [x1]\nldlarh w11, [x1]\nldlar w12, [x5]\nldlar x13, [x5]")]
    [InlineData("stlrb w10, [x1]\nstlrh w11, [x5]\nstlr w12, [x1, #0]\nstlr x13, [x5]\nldar x14, [x1]\nstlr xzr, [x5]")]
    [InlineData("stllrb w10, [x1]\nstllrh w11, [x5]\nstllr w12, [x1]\nstllr x13, [x5]\nldlar x14, [x1]")]
    [InlineData(".arch_extension rcpc\nstr x2, [sp, #-16]!\nstlr x10, [sp]\nldar x11, [sp]\nldapr w12, [sp]\nldr x13, [sp], #16")]
    public void AcquireRelease(string snippet) => Check(snippet);

    [Fact]
    public void RcpcUnscaled() // acquire/release accesses must be aligned (qemu: SIGBUS)
    {
        Check("""
            .arch armv8.4-a
            ldapurb w10, [x5, #-3]
            ldapursb w11, [x5, #255]
            ldapursb x12, [x5, #-256]
            ldapurh w13, [x5, #6]
            ldapursh w14, [x1, #10]
            ldapursh x15, [x1, #2]
            ldapur w16, [x5, #-4]
            ldapursw x17, [x5, #12]
            ldapur x18, [x1, #8]
            stlurb w19, [x5, #-9]
            stlurh w20, [x5, #100]
            stlur w21, [x1, #4]
            stlur x22, [x1, #200]
            stlur xzr, [x5, #-200]
            """);
    }

    // ---- LSE ----

    private static readonly string[] Ops = ["add", "clr", "eor", "set", "smax", "smin", "umax", "umin"];

    public static IEnumerable<object[]> LseCases()
    {
        string[] sfx = ["b", "h", "", ""];
        foreach (string op in Ops.Append("swp"))
            for (int z = 0; z < 4; z++)
            {
                string r = z == 3 ? "x" : "w", s = sfx[z];
                string mn = op == "swp" ? "swp" : "ld" + op;
                var lines = new List<string>
                {
                    $"{mn}{s} {r}2, {r}10, [x1]",
                    $"{mn}a{s} {r}3, {r}11, [x1]",
                    $"{mn}l{s} {r}4, {r}12, [x5]",
                    $"{mn}al{s} {r}6, {r}13, [x5]",
                    $"{mn}{s} {r}14, {r}14, [x1]",     // Rs == Rt
                    $"{mn}{s} {r}zr, {r}15, [x1]",     // Rs = zr
                    $"{mn}a{s} {r}16, {r}zr, [x5]",    // Rt = zr with acquire: not the ST alias
                };
                if (op != "swp")
                {
                    lines.Add($"st{op}{s} {r}7, [x1]");
                    lines.Add($"st{op}l{s} {r}8, [x5]");
                }
                lines.Add($"ldr {r}17, [x1]");
                yield return [string.Join("\n", lines)];
            }
    }

    [Theory]
    [MemberData(nameof(LseCases))]
    public void LseAtomicOps(string snippet) => Check(snippet, 3);

    [Theory]
    // success (Rs = current value, loaded sign-extended so the upper bits of Rs must be ignored) and failure
    [InlineData("ldrsb x2, [x1]\ncasb w2, w10, [x1]\ncasab w3, w11, [x5]\ncaslb w2, w12, [x1]\ncasalb w4, w13, [x1]")]
    [InlineData("ldrsh x2, [x1]\ncash w2, w10, [x1]\ncasah w3, w11, [x5]\ncaslh w2, w12, [x1]\ncasalh w4, w13, [x1]")]
    [InlineData("ldr w2, [x1]\ncas w2, w10, [x1]\ncasa w3, w11, [x5]\ncasl w2, w12, [x1]\ncasal w4, w13, [x1]")]
    [InlineData("ldr x2, [x1]\ncas x2, x10, [x1]\ncasa x3, x11, [x5]\ncasl x2, x12, [x1]\ncasal x4, x13, [x1]")]
    [InlineData("ldr x2, [x1]\ncas x2, xzr, [x1]\ncas xzr, x10, [x5]\ncas x14, x14, [x1]")]
    [InlineData("ldp w2, w3, [x1]\ncasp w2, w3, w10, w11, [x1]\ncaspa w20, w21, w12, w13, [x1]\ncaspl w2, w3, w14, w15, [x5]\nldp w6, w7, [x5]\ncaspal w6, w7, w16, w17, [x5]")]
    [InlineData("ldp x2, x3, [x1]\ncasp x2, x3, x10, x11, [x1]\ncaspa x20, x21, x12, x13, [x1]\ncaspl x2, x3, x14, x15, [x5]\nldp x6, x7, [x5]\ncaspal x6, x7, x16, x17, [x5]")]
    [InlineData("ldp x2, x3, [x1]\ncasp x2, x3, x30, xzr, [x1]\nldp x8, x9, [x1]")]
    [InlineData("str x2, [sp, #-16]!\nldadd x3, x10, [sp]\nswpal x4, x11, [sp]\ncasal x11, x12, [sp]\nstset x13, [sp]\nldr x14, [sp], #16")]
    public void CompareAndSwap(string snippet) => Check(snippet, 3);

    [Fact]
    public void TableRowsDecodeToTheRightEmitter()
    {
        (string Src, string Emitter)[] cases =
        [
            ("ldaddal x1, x2, [x3]", "AtomicOp"), ("staddl w1, [sp]", "AtomicOp"), ("swpb w1, w2, [x3]", "AtomicOp"),
            ("casp x0, x1, x2, x3, [x4]", "Casp"), ("casalh w1, w2, [x3]", "Cas"), ("ldapr x1, [x2]", "Ldar"),
            ("ldxp x1, x2, [x3]", "Ldxp"), ("stlxp w0, x1, x2, [x3]", "Stxp"), ("stlr w1, [x2]", "Stlr"),
            ("ldaxrb w1, [x2]", "Ldxr"), ("stxrh w0, w1, [x2]", "Stxr"), ("stlurh w1, [x2, #-3]", "Stlur"),
        ];
        foreach (var (src, emitter) in cases)
        {
            var d = Decoder.Decode(A64Asm.Assemble(".arch armv8.4-a\n" + src)[0]);
            Assert.NotNull(d);
            Assert.Equal(emitter, d!.Emit.Method.Name);
        }
        Assert.Equal("staddl w1, [sp]", Disassembler.Disassemble(A64Asm.Assemble("staddl w1, [sp]")[0], 0));
        Assert.Equal("casalh w1, w2, [x3]", Disassembler.Disassemble(A64Asm.Assemble("casalh w1, w2, [x3]")[0], 0));
        Assert.Equal("stlxp w0, x1, x2, [x3]", Disassembler.Disassemble(A64Asm.Assemble("stlxp w0, x1, x2, [x3]")[0], 0));
    }

    [Fact]
    public void OddCaspRegistersAreUndefined()
    {
        using var h = new JitHarness();
        h.X(4) = JitHarness.DataAddress;
        Assert.Equal(ExitReason.Undefined, h.Run(".inst 0x08207c83")); // CASP W, Rs = 0, Rn = 4, Rt = 3 (odd)
    }

    /// <summary>A pair exclusive or CASP of X registers needs 16-byte alignment: an alignment fault (SIGBUS) at the
    /// instruction with the guest address, as under qemu-aarch64 (tests/guests/misaligned_atomics.c covers the rest);
    /// a store-exclusive without a reservation at that address fails without touching memory.</summary>
    [Fact]
    public void MisalignedPairExclusiveFaults()
    {
        using var h = new JitHarness();
        h.X(1) = JitHarness.DataAddress + 8;
        Assert.Equal(ExitReason.Misaligned, h.Run("nop\nldxp x10, x11, [x1]\nstxp w12, x10, x11, [x1]"));
        Assert.Equal(JitHarness.CodeAddress + 4, h.Cpu->Pc);
        Assert.Equal(JitHarness.DataAddress + 8, h.Cpu->FaultAddr);
        h.X(12) = 7;
        Assert.Equal(ExitReason.Breakpoint, h.Run("stxp w12, x10, x11, [x1]"));
        Assert.Equal(1UL, h.X(12));
        Assert.Equal(ExitReason.Misaligned, h.Run("casp x2, x3, x4, x5, [x1]"));
        Assert.Equal(JitHarness.CodeAddress, h.Cpu->Pc);
        h.X(1) = JitHarness.DataAddress + 16;
        Assert.Equal(ExitReason.Breakpoint, h.Run("casp x2, x3, x4, x5, [x1]"));
    }

    // ---- true concurrency ----

    /// <summary>
    /// Several host threads run the same translated loop on one guest memory: an LDAXR/STLXR increment,
    /// an LDXP/STXP increment of both halves of a 128-bit pair, an STADD, a CAS loop and a CASP loop.
    /// Every update must land exactly once.
    /// </summary>
    [Fact]
    public void AtomicsAreAtomicAcrossHostThreads()
    {
        const int threads = 4, iterations = 20000;
        using var h = new JitHarness();
        ulong d = JitHarness.DataAddress;
        // x1 = counters, x2 = iterations; the loop only uses ALU basics besides the atomics under test
        uint[] code = A64Asm.Assemble("""
            1:  ldaxr x10, [x1]
                add x10, x10, #1
                stlxr w11, x10, [x1]
                cbnz w11, 1b
            2:  ldxp x12, x13, [x1, #16]
                add x12, x12, #1
                add x13, x13, #3
                stxp w11, x12, x13, [x1, #16]
                cbnz w11, 2b
                mov x14, #1
                add x15, x1, #32
                staddl x14, [x15]
                add x16, x1, #40
                ldr w17, [x16]
            3:  add w18, w17, #2
                mov w19, w17
                casal w19, w18, [x16]
                cmp w19, w17
                mov w17, w19
                b.ne 3b
                add x20, x1, #48
                ldp x22, x23, [x20]
            4:  add x24, x22, #1
                sub x25, x23, #1
                mov x26, x22
                mov x27, x23
                caspal x26, x27, x24, x25, [x20]
                cmp x26, x22
                ccmp x27, x23, #0, eq
                mov x22, x26
                mov x23, x27
                b.ne 4b
                ldaddb w14, w21, [x1, #64]
                sub x2, x2, #1
                cbnz x2, 1b
            """.Replace("[x1, #16]", "[x9]").Replace("[x1, #64]", "[x8]"));
        // [x9] and [x8] stand for x1+16 and x1+64: exclusives and LSE take no offset
        var words = code;
        uint* p = (uint*)h.Memory(JitHarness.CodeAddress);
        for (int i = 0; i < words.Length; i++) p[i] = words[i];
        p[words.Length] = 0xD4200000; // brk #0
        new Span<byte>(h.Memory(d), 128).Clear();

        var cpus = new CpuState*[threads];
        var errors = new List<string>();
        var ts = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            var c = (CpuState*)NativeMemory.AlignedAlloc((nuint)sizeof(CpuState), 64);
            *c = default;
            c->MemBase = (ulong)h.Memory(0);
            c->AddrLimit = h.Cpu->AddrLimit;
            c->Sp = JitHarness.StackTop - (ulong)t * 0x1000;
            c->X[1] = d;
            c->X[9] = d + 16;
            c->X[8] = d + 64;
            c->X[2] = iterations;
            c->Pc = JitHarness.CodeAddress;
            cpus[t] = c;
            nint cp = (nint)c;
            ts[t] = new Thread(() =>
            {
                var runner = new BlockRunner(h.Translator);
                var cpu = (CpuState*)cp;
                runner.Attach(cpu);
                var r = runner.Run(cpu);
                if (r != ExitReason.Breakpoint) lock (errors) errors.Add($"thread stopped with {r} at 0x{cpu->Pc:x}");
            });
        }
        foreach (var t in ts) t.Start();
        foreach (var t in ts) t.Join();
        foreach (var c in cpus) NativeMemory.AlignedFree(c);

        Assert.Empty(errors);
        ulong n = threads * (ulong)iterations;
        Assert.Equal(n, h.ReadU64(d));              // LDAXR/STLXR
        Assert.Equal(n, h.ReadU64(d + 16));         // LDXP/STXP low
        Assert.Equal(3 * n, h.ReadU64(d + 24));     // LDXP/STXP high
        Assert.Equal(n, h.ReadU64(d + 32));         // STADDL
        Assert.Equal(2 * n, h.ReadU64(d + 40) & 0xffffffff); // CAS loop
        Assert.Equal(n, h.ReadU64(d + 48));         // CASP low
        Assert.Equal(unchecked(0UL - n), h.ReadU64(d + 56)); // CASP high
        Assert.Equal((byte)n, *h.Memory(d + 64));   // LDADDB wraps
    }
}
