using System.Runtime.InteropServices;
using Dqemu.JitX64.Host;
using Dqemu.JitX64.Signal;
using Dqemu.JitX64.State;
using Dqemu.Runtime.Host;
using Tmds.Linux;
using Xunit;
using static Tmds.Linux.LibC;

namespace Dqemu.Tests.Jit;

/// <summary>
/// A <see cref="JitHarness"/> with a split-page table (CpuState.SplitMap). Page <see cref="P"/> is the split
/// page; unit k of it lives in the shadow page <see cref="ShadowBase"/> + k * 4 KiB, i.e. the table entry is
/// (ShadowBase - P) | shift. P is filled with 0xEE and every shadow page with 0x5A, so a test sees which of
/// them an access touched; expected addresses below are worked out by hand from the format in CpuState.cs.
/// </summary>
internal sealed unsafe class SplitHarness : IDisposable
{
    public const ulong P = 0x200000;
    public const ulong ShadowBase = 0x400000;
    public const ulong Delta = ShadowBase - P;
    public const byte PFill = 0xEE, ShadowFill = 0x5A;
    private const int Entries = (1 << 18) + 64; // 1 GiB reservation in pages, plus slack past the end

    public JitHarness H { get; }
    private readonly ulong* _table;

    public SplitHarness(int shift = 6, bool split = true)
    {
        H = new JitHarness();
        _table = (ulong*)NativeMemory.AllocZeroed((nuint)Entries, 8);
        H.Cpu->SplitMap = (ulong)_table;
        new Span<byte>(H.Memory(P), 4096).Fill(PFill);
        new Span<byte>(H.Memory(P + 4096), 4096).Fill(0x11);
        new Span<byte>(H.Memory(ShadowBase), 512 * 4096).Fill(ShadowFill); // 512 units at shift 3
        if (split) SetEntry(shift);
    }

    public void SetEntry(int shift) => _table[P >> 12] = Delta | (ulong)shift;
    public void SetEntryRaw(ulong entry) => _table[P >> 12] = entry;
    public void ClearEntry() => _table[P >> 12] = 0;

    /// <summary>The shadow address of guest address <paramref name="a"/> in P for units of 2^shift bytes.</summary>
    public static ulong Shadow(ulong a, int shift) => a + Delta + (((a & 0xFFF) >> shift) << 12);

    /// <summary>Marks the first <paramref name="count"/> instructions at CodeAddress split-aware (or those in <paramref name="which"/>).</summary>
    public void Mark(int count) { for (int i = 0; i < count; i++) H.Translator.MarkSplitAware(JitHarness.CodeAddress + 4 * (ulong)i); }
    public void MarkOnly(params int[] which) { foreach (int i in which) H.Translator.MarkSplitAware(JitHarness.CodeAddress + 4 * (ulong)i); }

    public ulong U64(ulong a) => H.ReadU64(a);
    public uint U32(ulong a) => *(uint*)H.Memory(a);
    public byte U8(ulong a) => *H.Memory(a);
    public void W64(ulong a, ulong v) => H.WriteU64(a, v);
    public void W32(ulong a, uint v) => *(uint*)H.Memory(a) = v;

    /// <summary>True when every byte of P still holds the fill (no access reached the split page itself).</summary>
    public bool PUntouched() => !new ReadOnlySpan<byte>(H.Memory(P), 4096).ContainsAnyExcept(PFill);

    /// <summary>The shadow pages' bytes that no longer hold the fill, as (address, value), in address order.</summary>
    public List<(ulong, byte)> ShadowChanges()
    {
        var r = new List<(ulong, byte)>();
        var s = new ReadOnlySpan<byte>(H.Memory(ShadowBase), 512 * 4096);
        for (int i = 0; i < s.Length; i++) if (s[i] != ShadowFill) r.Add((ShadowBase + (ulong)i, s[i]));
        return r;
    }

    public void Dispose()
    {
        H.Dispose();
        NativeMemory.Free(_table);
    }
}

public unsafe class SplitRedirectTests
{
    private const ulong P = SplitHarness.P;
    private const ulong Code = JitHarness.CodeAddress;

    [Fact]
    public void SingleLoadsAndStoresGoToTheUnitsShadowPage()
    {
        using var s = new SplitHarness(shift: 6);
        // unit k of P (64-byte units) is shadow page 0x400000 + k*0x1000, same in-page offset
        s.W64(0x402088, 0x1111_2222_3333_4444);      // off 0x88: unit 2
        s.W32(0x40413C, 0xCAFEF00D);                 // off 0x13C..0x13F: unit 4 (0x100..0x13F)
        *s.H.Memory(0x43FFFF) = 0x99;                // off 0xFFF: unit 63
        s.H.X(1) = P;
        s.H.X(2) = P + 0x40;
        s.H.X(11) = 0xAAAA_BBBB_CCCC_DDDD;
        s.H.X(14) = 0x1234_5677;
        s.H.X(15) = 0x0BAD_BEEF;
        const string code =
            "ldr x10, [x1, #0x88]\n" +
            "str x11, [x1, #0x100]\n" +
            "ldr w12, [x1, #0x13c]\n" +
            "ldrb w13, [x1, #0xfff]\n" +
            "strb w14, [x1, #0x7c0]\n" +
            "stur w15, [x2, #-4]\n";                 // negative offset: A = P + 0x3C, unit 0
        s.Mark(6);
        s.H.RunToEnd(code);

        Assert.Equal(0x1111_2222_3333_4444UL, s.H.X(10));
        Assert.Equal(0xCAFEF00DUL, s.H.X(12));
        Assert.Equal(0x99UL, s.H.X(13));
        Assert.Equal(0xAAAA_BBBB_CCCC_DDDDUL, s.U64(0x404100)); // off 0x100: unit 4
        Assert.Equal(0x77, s.U8(0x41F7C0));                      // off 0x7C0: unit 31
        Assert.Equal(0x0BAD_BEEFU, s.U32(0x40003C));             // off 0x3C: unit 0
        Assert.True(s.PUntouched());
        // 13 bytes written above before the run (none of them 0x5A), 8 + 1 + 4 stored by it
        Assert.Equal(8 + 4 + 1 + 8 + 1 + 4, s.ShadowChanges().Count);
    }

    [Fact]
    public void RegisterOffsetAndPrePostIndex()
    {
        using var s = new SplitHarness(shift: 6);
        s.W64(0x404108, 0x0101);   // P+0x108: unit 4
        s.W64(0x4071F8, 0x0202);   // P+0x1F8: unit 7
        s.W64(0x40F3F8, 0x0303);   // P+0x3F8: unit 15
        s.W64(0x401040, 0x0404);   // P+0x40: unit 1
        s.H.X(1) = P;
        s.H.X(2) = 0x21;                                  // << 3 = 0x108
        s.H.X(3) = 0xFFFF_FFF8;                           // w3 = -8
        s.H.X(7) = P + 0x200;
        s.H.X(4) = P + 0x300;
        s.H.X(5) = P + 0x3F8;
        s.H.X(6) = P + 0x48;
        s.H.X(12) = 0x5555_6666_7777_8888;
        const string code =
            "ldr x10, [x1, x2, lsl #3]\n" +
            "ldr x11, [x7, w3, sxtw]\n" +
            "str x12, [x4, #16]!\n" +                    // P+0x310: unit 12
            "ldr x13, [x5], #8\n" +
            "ldr x14, [x6, #-8]!\n";
        s.Mark(5);
        s.H.RunToEnd(code);

        Assert.Equal(0x0101UL, s.H.X(10));
        Assert.Equal(0x0202UL, s.H.X(11));
        Assert.Equal(0x5555_6666_7777_8888UL, s.U64(0x40C310));
        Assert.Equal(0x0303UL, s.H.X(13));
        Assert.Equal(0x0404UL, s.H.X(14));
        // writeback is the guest address, never the shadow one
        Assert.Equal(P + 0x310, s.H.X(4));
        Assert.Equal(P + 0x400, s.H.X(5));
        Assert.Equal(P + 0x40, s.H.X(6));
        Assert.True(s.PUntouched());
    }

    [Fact]
    public void PairsOfXAndQ()
    {
        using var s = new SplitHarness(shift: 6);
        s.W64(0x401040, 0xA0); s.W64(0x401048, 0xA1);             // P+0x40..0x4F: unit 1
        s.W64(0x402080, 0xB0); s.W64(0x402088, 0xB1);             // P+0x80..0x9F: unit 2
        s.W64(0x402090, 0xB2); s.W64(0x402098, 0xB3);
        s.W64(0x4175F0, 0xC0); s.W64(0x4175F8, 0xC1);             // P+0x5F0..0x5FF: unit 23
        s.H.X(1) = P;
        s.H.X(2) = P + 0x500;
        s.H.X(3) = P + 0x5F0;
        s.H.X(12) = 0x12; s.H.X(13) = 0x13; s.H.X(14) = 0x14; s.H.X(15) = 0x15;
        var cpu = s.H.Cpu;
        cpu->V[4] = 0x2222; cpu->V[5] = 0x2223; cpu->V[6] = 0x3332; cpu->V[7] = 0x3333; // q2, q3
        const string code =
            "ldp x10, x11, [x1, #0x40]\n" +
            "stp x12, x13, [x1, #0x70]\n" +              // P+0x70..0x7F: unit 1
            "ldp q0, q1, [x1, #0x80]\n" +
            "stp q2, q3, [x1, #0xe0]\n" +                // P+0xE0..0xFF: unit 3
            "stp x14, x15, [x2, #16]!\n" +               // P+0x510..0x51F: unit 20
            "ldp x16, x17, [x3], #-16\n";
        s.Mark(6);
        s.H.RunToEnd(code);

        Assert.Equal((0xA0UL, 0xA1UL), (s.H.X(10), s.H.X(11)));
        Assert.Equal((0x12UL, 0x13UL), (s.U64(0x401070), s.U64(0x401078)));
        Assert.Equal((0xB0UL, 0xB1UL, 0xB2UL, 0xB3UL), (cpu->V[0], cpu->V[1], cpu->V[2], cpu->V[3]));
        Assert.Equal((0x2222UL, 0x2223UL, 0x3332UL, 0x3333UL), (s.U64(0x4030E0), s.U64(0x4030E8), s.U64(0x4030F0), s.U64(0x4030F8)));
        Assert.Equal((0x14UL, 0x15UL), (s.U64(0x414510), s.U64(0x414518)));
        Assert.Equal(P + 0x510, s.H.X(2));
        Assert.Equal((0xC0UL, 0xC1UL), (s.H.X(16), s.H.X(17)));
        Assert.Equal(P + 0x5E0, s.H.X(3));
        Assert.True(s.PUntouched());
    }

    [Fact]
    public void LseAtomicsAndSimdStructures()
    {
        using var s = new SplitHarness(shift: 6);
        s.W64(0x408208, 100);                                     // P+0x208: unit 8
        s.W32(0x409240, 7);                                       // P+0x240: unit 9
        for (int i = 0; i < 32; i++) *s.H.Memory(0x40A280 + (ulong)i) = (byte)i; // P+0x280..0x29F: unit 10
        s.H.X(1) = P + 0x208;
        s.H.X(2) = 5;
        s.H.X(3) = 0x77;
        s.H.X(4) = P + 0x240;
        s.H.X(5) = P + 0x280;
        s.H.X(6) = 7;
        s.H.X(7) = 9;
        const string code =
            "ldadd x2, x10, [x1]\n" +
            "swp w3, w11, [x4]\n" +
            "cas w6, w7, [x4]\n" +                        // memory holds 0x77 now: w6 = 0x77, no store
            "ld1 {v4.16b, v5.16b}, [x5], #32\n";          // 32 bytes from P+0x280: unit 10
        s.Mark(4);
        s.H.RunToEnd(code);

        Assert.Equal(100UL, s.H.X(10));
        Assert.Equal(105UL, s.U64(0x408208));
        Assert.Equal(7UL, s.H.X(11));
        Assert.Equal(0x77UL, s.H.X(6));
        Assert.Equal(0x77U, s.U32(0x409240));
        var cpu = s.H.Cpu;
        Assert.Equal(0x0706050403020100UL, cpu->V[8]);
        Assert.Equal(0x1F1E1D1C1B1A1918UL, cpu->V[11]);
        Assert.Equal(P + 0x2A0, s.H.X(5));
        Assert.True(s.PUntouched());
    }

    [Fact]
    public void ExclusivePairSucceedsWhenBothAreRedirected()
    {
        using var s = new SplitHarness(shift: 6);
        s.W64(0x40C310, 42);                                      // P+0x310: unit 12
        s.W64(0x40C320, 5); s.W64(0x40C328, 6);                   // P+0x320..0x32F: unit 12
        s.H.X(1) = P + 0x310;
        s.H.X(2) = P + 0x320;
        s.H.X(12) = 0xFEED;
        s.H.X(13) = 0xAAAA; s.H.X(14) = 0xBBBB;
        const string code =
            "ldaxr x10, [x1]\n" +
            "stlxr w11, x12, [x1]\n" +
            "ldxp x15, x16, [x2]\n" +
            "stxp w17, x13, x14, [x2]\n";
        s.Mark(4);
        s.H.RunToEnd(code);

        Assert.Equal(42UL, s.H.X(10));
        Assert.Equal(0UL, s.H.X(11));
        Assert.Equal(0xFEEDUL, s.U64(0x40C310));
        Assert.Equal((5UL, 6UL, 0UL), (s.H.X(15), s.H.X(16), s.H.X(17)));
        Assert.Equal((0xAAAAUL, 0xBBBBUL), (s.U64(0x40C320), s.U64(0x40C328)));
        Assert.True(s.PUntouched());
    }

    [Theory]
    // The monitor holds the guest address either way, so the addresses match; the compare-exchange then runs on the
    // other copy against the value the load saw there, and fails. (In the runtime the split page's own view is
    // closed, so an STXR that does not redirect yet faults there instead and becomes split-aware.)
    [InlineData(0)] // only LDXR redirected: it saw the shadow's 42, STXR compares P's 0xEE..
    [InlineData(1)] // only STXR redirected: it compares the shadow's 42 with P's value the load saw
    public void ExclusiveFailsWhenOnlyOneHalfIsRedirected(int marked)
    {
        using var s = new SplitHarness(shift: 6);
        s.W64(0x40C310, 42);
        s.H.X(1) = P + 0x310;
        s.H.X(12) = 0xFEED;
        s.MarkOnly(marked);
        // P holds 0xEEEE_EEEE_EEEE_EEEE at +0x310; the shadow 42
        s.H.RunToEnd("ldxr x10, [x1]\nstxr w11, x12, [x1]");

        Assert.Equal(marked == 0 ? 42UL : 0xEEEE_EEEE_EEEE_EEEEUL, s.H.X(10));
        Assert.Equal(1UL, s.H.X(11));
        Assert.Equal(42UL, s.U64(0x40C310));
        Assert.True(s.PUntouched());
    }

    [Fact]
    public void ExclusiveFollowsTheDataWhenTheSplitChangedInBetween()
    {
        using var s = new SplitHarness(shift: 6);
        s.W64(0x40C310, 42);                  // shift 6: P+0x310 is unit 12
        s.H.X(1) = P + 0x310;
        s.H.X(12) = 0xFEED;
        s.Mark(1);
        s.H.RunToEnd("ldxr x10, [x1]");
        Assert.Equal(42UL, s.H.X(10));
        Assert.Equal(8, s.H.Cpu->ExclSize);
        Assert.Equal(P + 0x310, s.H.Cpu->ExclAddr); // the guest address, not the shadow's

        // re-split at 8 bytes: P+0x310 is now unit 0x62, shadow 0x462310, where the runtime moved the same value
        s.SetEntry(3);
        s.W64(0x462310, 42);
        // the runtime retires the old shadow pages, and an access through a stale redirect-cache entry faults there,
        // which clears the thread's cache (Dispatcher); here nothing is protected, so clear it as that fault would
        System.Runtime.InteropServices.NativeMemory.Clear((byte*)s.H.Cpu + CpuOffsets.SplitCache, CpuOffsets.SplitCacheSlots * 16);
        s.H.RunToEnd("stxr w11, x12, [x1]"); // the same PC (marked): same guest address, same value: it succeeds there
        Assert.Equal(0UL, s.H.X(11));
        Assert.Equal(42UL, s.U64(0x40C310));
        Assert.Equal(0xFEEDUL, s.U64(0x462310));
        Assert.True(s.PUntouched());
    }

    [Fact]
    public void DcZvaCoversOneUnitAtShift6()
    {
        using var s = new SplitHarness(shift: 6);
        s.H.X(1) = P + 0x1C8;                 // block P+0x1C0..0x1FF: unit 7
        s.Mark(1);
        s.H.RunToEnd("dc zva, x1");

        var changes = s.ShadowChanges();
        Assert.Equal(64, changes.Count);
        Assert.Equal(0x4071C0UL, changes[0].Item1);
        Assert.Equal(0x4071FFUL, changes[^1].Item1);
        Assert.All(changes, c => Assert.Equal(0, c.Item2));
        Assert.True(s.PUntouched());
    }

    [Fact]
    public void EightByteUnits()
    {
        using var s = new SplitHarness(shift: 3);
        s.W64(0x403018, 0x3333);               // P+0x18: unit 3
        s.W32(0x404024, 0x4444);               // P+0x24..0x27: unit 4
        s.W32(0x408040, 0x8080); s.W32(0x408044, 0x8181); // P+0x40..0x47: unit 8
        s.H.X(1) = P;
        s.H.X(2) = P + 0x2C8;
        const string code =
            "ldr x10, [x1, #0x18]\n" +
            "ldr w11, [x1, #0x24]\n" +
            "ldp w12, w13, [x1, #0x40]\n" +
            "ldr x14, [x1, #0x2c]\n" +         // 0x2C..0x33 crosses units 5 and 6: P itself
            "dc zva, x2\n";                     // 64 bytes cross 8 units: P itself
        s.Mark(5);
        var before = s.ShadowChanges();
        s.H.RunToEnd(code);

        Assert.Equal(0x3333UL, s.H.X(10));
        Assert.Equal(0x4444UL, s.H.X(11));
        Assert.Equal((0x8080UL, 0x8181UL), (s.H.X(12), s.H.X(13)));
        Assert.Equal(0xEEEE_EEEE_EEEE_EEEEUL, s.H.X(14));
        Assert.Equal(before, s.ShadowChanges());
        for (ulong o = 0; o < 4096; o++)
            Assert.Equal(o >= 0x2C0 && o < 0x300 ? (byte)0 : SplitHarness.PFill, s.U8(P + o));
    }

    [Fact]
    public void UnitOrPageCrossingAccessesAreNotRedirected()
    {
        using var s = new SplitHarness(shift: 6);
        s.W32(P + 0xFFC, 0x0403_0201);
        s.W32(P + 0x1000, 0x0807_0605);       // the next page, not split
        s.H.X(1) = P;
        s.H.X(2) = P + 0x38;
        s.H.X(3) = 0x1234;
        s.H.X(5) = P + 0xF00;
        const string code =
            "ldr x10, [x1, #0x3c]\n" +         // unit end - 4: 0x3C..0x43 crosses units 0 and 1
            "ldur x11, [x5, #0xfc]\n" +        // P+0xFFC: crosses into the next page
            "ldp x12, x13, [x2]\n" +           // 0x38..0x47 crosses units 0 and 1
            "ldr q0, [x1, #0x70]\n" +          // 0x70..0x7F: unit 1 (redirected)
            "str x3, [x1, #0x7c]\n";           // crosses units 1 and 2
        s.Mark(5);
        s.H.RunToEnd(code);

        Assert.Equal(0xEEEE_EEEE_EEEE_EEEEUL, s.H.X(10));
        Assert.Equal(0x0807_0605_0403_0201UL, s.H.X(11));
        Assert.Equal((0xEEEE_EEEE_EEEE_EEEEUL, 0xEEEE_EEEE_EEEE_EEEEUL), (s.H.X(12), s.H.X(13)));
        Assert.Equal((0x5A5A_5A5A_5A5A_5A5AUL, 0x5A5A_5A5A_5A5A_5A5AUL), (s.H.Cpu->V[0], s.H.Cpu->V[1]));
        Assert.Equal(0x1234UL, s.U64(P + 0x7C));
        Assert.Empty(s.ShadowChanges());
    }

    [Fact]
    public void UnmarkedInstructionIsNotRedirected()
    {
        using var s = new SplitHarness(shift: 6);
        s.W64(0x402088, 0x1111);
        s.H.X(1) = P;
        s.H.X(3) = 0x77;
        s.MarkOnly(0);
        Assert.True(s.H.Translator.IsSplitAware(Code));
        Assert.False(s.H.Translator.IsSplitAware(Code + 4));
        var before = s.ShadowChanges();
        s.H.RunToEnd("ldr x10, [x1, #0x88]\nldr x11, [x1, #0x88]\nstr x3, [x1, #0x90]");

        Assert.Equal(0x1111UL, s.H.X(10));
        Assert.Equal(0xEEEE_EEEE_EEEE_EEEEUL, s.H.X(11));
        Assert.Equal(0x77UL, s.U64(P + 0x90));
        Assert.Equal(before, s.ShadowChanges());
    }

    [Fact]
    public void EmptyEntryRunsAsBefore()
    {
        using var s = new SplitHarness(split: false);
        s.W64(P + 0x88, 0x1111);
        s.W64(P + 0x40, 0xA0); s.W64(P + 0x48, 0xA1);
        s.W64(P + 0x208, 100);
        s.H.X(1) = P;
        s.H.X(2) = 5;
        s.H.X(3) = P + 0x208;
        s.H.X(11) = 0xAAAA;
        s.H.X(4) = P + 0x1C8;
        const string code =
            "ldr x10, [x1, #0x88]\n" +
            "str x11, [x1, #0x100]\n" +
            "ldp x12, x13, [x1, #0x40]\n" +
            "ldadd x2, x14, [x3]\n" +
            "ldxr x15, [x3]\n" +
            "stxr w16, x11, [x3]\n" +
            "dc zva, x4\n";
        s.Mark(7);
        s.H.RunToEnd(code);

        Assert.Equal(0x1111UL, s.H.X(10));
        Assert.Equal(0xAAAAUL, s.U64(P + 0x100));
        Assert.Equal((0xA0UL, 0xA1UL), (s.H.X(12), s.H.X(13)));
        Assert.Equal(100UL, s.H.X(14));
        Assert.Equal(105UL, s.H.X(15));
        Assert.Equal(0UL, s.H.X(16));
        Assert.Equal(0xAAAAUL, s.U64(P + 0x208));
        for (ulong o = 0x1C0; o < 0x200; o++) Assert.Equal(0, s.U8(P + o));
        Assert.Empty(s.ShadowChanges());
    }

    public static IEnumerable<object[]> EveryAccessForm() =>
        LoadStoreTests.GprCases().Concat(LoadStoreTests.FpCases()).Concat(LoadStoreTests.PairCases())
            .Concat(LoadStoreTests.MultiCases()).Concat(LoadStoreTests.LaneCases()).Concat(LoadStoreTests.ReplicateCases())
            .Concat(AtomicTests.LseCases())
            .Concat(new[]
            {
                "ldxr x10, [x1]\nstxr w11, x12, [x1]\nldaxp w13, w18, [x5]\nstlxp w14, w15, w19, [x5]",
                "ldxp x10, x16, [x1]\nstxp w11, x12, x17, [x1]\nldxrb w13, [x5]\nstxrb w14, w15, [x5]",
                "casp x10, x11, x12, x13, [x1]\ncasp w14, w15, w16, w17, [x5]\ncasal x18, x19, [x1]\ncash w20, w21, [x5]",
                ".arch armv8.4-a\nldar x10, [x1]\nstlr x11, [x5]\nldapur w12, [x5, #-4]\nstlur x13, [x1, #200]",
                "dc zva, x5\ndc zva, x1\nldr x10, [x5, #8]",
                "ldr x10, .+64\nldr q1, .-16\nldrsw x11, .+12\nldr s2, .+20",
                "ldr x10, [x5, w2, uxtw]\nldr x11, [x5, x3, lsl #3]\nldr w12, [x5, w3, sxtw #2]\nldrh w13, [x5, x3, sxtx #1]\nldr x14, [x1, w4, uxtw #3]",
            }.Select(x => new object[] { x }));

    /// <summary>
    /// Every load/store form, every instruction split-aware, the table empty: the same final state as the
    /// plain translation (registers, flags, SIMD registers and the data page), from the LoadStoreTests states.
    /// </summary>
    [Theory]
    [MemberData(nameof(EveryAccessForm))]
    public void SplitAwareWithAnEmptyTableRunsAsBefore(string snippet)
    {
        var code = A64Asm.Assemble(snippet);
        for (int seed = 0; seed < 2; seed++)
        {
            var start = LoadStoreTests.State(seed);
            using var plain = new JitHarness();
            plain.SetState(start);
            var r0 = plain.Run(code);
            using var split = new SplitHarness(split: false);
            split.H.SetState(start);
            split.Mark(code.Length + 1);
            var r1 = split.H.Run(code);
            Assert.Equal(r0, r1);
            Assert.Empty(MachineState.Diff(plain.GetState(), split.H.GetState()));
        }
    }

    /// <summary>Host code of the block at CodeAddress for <paramref name="source"/>, translated afresh.</summary>
    private static byte[] BlockBytes(JitHarness h, string source)
    {
        var code = A64Asm.Assemble(source);
        uint* p = (uint*)h.Memory(Code);
        for (int i = 0; i < code.Length; i++) p[i] = code[i];
        p[code.Length] = 0xD4200000;
        h.Translator.Cache.ForgetAll();
        ulong host = (ulong)h.Translator.GetOrTranslate(Code);
        ulong end = h.Translator.Cache.LastEnd; // the block was placed last, in the blocks' part
        Assert.InRange(host, (ulong)h.Translator.Cache.Base + Dqemu.JitX64.Translation.CodeCache.StubRegion, end - 1);
        return new ReadOnlySpan<byte>((void*)host, (int)(end - host)).ToArray();
    }

    [Fact]
    public void UnmarkedCodeIsByteForByteTheSame()
    {
        const string source = "ldr x10, [x1, #0x88]\nstp q0, q1, [x2, #-32]!\nldadd w3, w4, [x5]\nldxp x6, x7, [x8]\ndc zva, x9\nldr x11, [x1, x2, lsl #3]";
        using var plain = new JitHarness();
        using var other = new JitHarness();
        other.Translator.MarkSplitAware(Code + 0x1000); // a mark elsewhere changes nothing here
        var a = BlockBytes(plain, source);
        var b = BlockBytes(other, source);
        Assert.Equal(a, b);
        other.Translator.MarkSplitAware(Code);
        var c = BlockBytes(other, source);
        Assert.True(c.Length > a.Length);
    }

    [Fact]
    public void MarkingDropsTranslationsAndIsCurrentCodeFollowsTheGeneration()
    {
        using var h = new JitHarness();
        var t = h.Translator;
        h.RunToEnd("add x0, x0, #1");
        ulong host = (ulong)t.Cache.Lookup(Code);
        Assert.NotEqual(0UL, host);
        Assert.True(t.IsCurrentCode(host));
        Assert.False(t.IsCurrentCode((ulong)t.Cache.Base)); // the stubs: no block
        Assert.False(t.IsCurrentCode(t.Cache.LastEnd + 64));
        int gen = t.Generation;

        Assert.True(t.MarkSplitAware(Code + 8));
        Assert.Equal(gen + 1, t.Generation);
        Assert.Equal(0, (long)t.Cache.Lookup(Code));
        Assert.False(t.IsCurrentCode(host));
        Assert.True(t.IsSplitAware(Code + 8));

        Assert.False(t.MarkSplitAware(Code + 8)); // already marked: nothing dropped
        Assert.Equal(gen + 1, t.Generation);
    }

    [Fact]
    public void ClearingTheMarksDropsTranslationsAndTheCodeIsPlainAgain()
    {
        const string source = "ldr x10, [x1, #0x88]\nstr x11, [x2]";
        using var plain = new JitHarness();
        using var h = new JitHarness();
        var t = h.Translator;
        Assert.False(t.ClearSplitAware()); // nothing marked: nothing dropped
        t.MarkSplitAware(Code);
        t.MarkSplitAware(Code + 4);
        var marked = BlockBytes(h, source);
        int gen = t.Generation;

        Assert.True(t.ClearSplitAware());
        Assert.Equal(gen + 1, t.Generation);
        Assert.Equal(0, (long)t.Cache.Lookup(Code));
        Assert.False(t.IsSplitAware(Code));
        Assert.False(t.IsSplitAware(Code + 4));
        var cleared = BlockBytes(h, source);
        Assert.Equal(BlockBytes(plain, source).Length, cleared.Length); // (its rel32s to the stubs differ: the block sits elsewhere)
        Assert.True(marked.Length > cleared.Length);
        Assert.False(t.ClearSplitAware());
        Assert.Equal(gen + 1, t.Generation);
    }
}

/// <summary>
/// The faulting half: P's guest view is protected, as the runtime keeps a split page, so an access that is
/// not redirected faults there. Needs the generated host fault handler, which is process-wide: this
/// collection runs alone and puts the previous handlers back afterwards.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SplitFaultCollection { public const string Name = "SplitRedirectFaults"; }

[Collection(SplitFaultCollection.Name)]
public unsafe class SplitRedirectFaultTests
{
    private const ulong P = SplitHarness.P;
    private const ulong Code = JitHarness.CodeAddress;

    /// <summary>Runs <paramref name="source"/> with P inaccessible and the fault handler installed for this harness.</summary>
    private static JitX64.State.ExitReason RunProtected(SplitHarness s, string source)
    {
        var h = s.H;
        var t = h.Translator;
        var old = new sigaction[2];
        int[] sigs = [SIGSEGV, SIGBUS];
        LinuxHostMemory.Instance.Protect((nint)h.Memory(P), 4096, HostProtection.None);
        try
        {
            for (int i = 0; i < 2; i++)
            {
                fixed (sigaction* o = &old[i]) Assert.Equal(0, LibC.sigaction(sigs[i], null, o));
                var cfg = new SignalHandlerConfig(
                    GuestBase: (ulong)h.Memory(0),
                    GuestSize: 1UL << 30,
                    CodeBase: (ulong)t.Cache.Base,
                    CodeSize: t.Cache.Size,
                    SegFaultExit: t.Stubs.SegFaultExit,
                    PreviousHandler: (ulong)old[i].sa_handler,
                    PageFaultService: 0);
                sigaction act = default;
                act.sa_handler = (void*)NativeSignalHandlerGenerator.Generate(t.Cache, cfg);
                act.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
                sigemptyset(&act.sa_mask);
                Assert.Equal(0, LibC.sigaction(sigs[i], &act, null));
            }
            return h.Run(source);
        }
        finally
        {
            for (int i = 0; i < 2; i++)
                fixed (sigaction* o = &old[i]) LibC.sigaction(sigs[i], o, null);
            LinuxHostMemory.Instance.Protect((nint)h.Memory(P), 4096, HostProtection.ReadWrite);
        }
    }

    [Theory]
    [InlineData("ldr x11, [x1, #0x3c]", 0x3C)]        // crosses units 0 and 1
    [InlineData("ldur x11, [x5, #0xfc]", 0xFFC)]      // crosses into the next page
    [InlineData("stp x2, x3, [x1, #0x38]", 0x38)]     // crosses units 0 and 1
    [InlineData("ldr q1, [x1, #0x78]", 0x78)]          // crosses units 1 and 2
    [InlineData("dc zva, x4", 0x1C0)]                  // at shift 3 (below)
    public void CrossingAccessFaultsInP(string crossing, int faultOffset)
    {
        using var s = new SplitHarness(shift: crossing.StartsWith("dc") ? 3 : 6);
        s.W64(0x402088, 0x1111);               // only used at shift 6
        s.W64(SplitHarness.Shadow(P + 0x88, 3), 0x3333);
        s.H.X(1) = P;
        s.H.X(4) = P + 0x1C8;
        s.H.X(5) = P + 0xF00;
        s.Mark(2);
        // the first access is redirected (its unit is in its own shadow page), the second is not
        var r = RunProtected(s, "ldr x10, [x1, #0x88]\n" + crossing);

        Assert.Equal(JitX64.State.ExitReason.SegFault, r);
        Assert.Equal(P + (ulong)faultOffset, s.H.Cpu->FaultAddr);
        Assert.Equal(crossing.StartsWith("dc") ? 0x3333UL : 0x1111UL, s.H.X(10));
        ulong rip = s.H.Cpu->FaultHostRip;
        Assert.Equal(Code + 4, s.H.Translator.GuestPcForHost(rip));
        Assert.True(s.H.Translator.IsCurrentCode(rip));
        s.H.Translator.MarkSplitAware(Code + 0x100);
        Assert.False(s.H.Translator.IsCurrentCode(rip));
    }

    [Fact]
    public void ALoadThatFaultsLeavesItsUnloadedDestinationAsItWas()
    {
        // x10's first access in the block is the load's write, so the register layer gives its host copy no entry
        // load (RegisterLayerTests): when the load faults that copy holds nothing of the guest's, and CpuState must
        // keep x10 from before; x12, written before the load and dirty there, is put back from the host copy
        using var s = new SplitHarness(split: false);
        s.H.X(1) = P;
        s.H.X(10) = 0xABCD;
        s.H.X(12) = 0x1234;
        var r = RunProtected(s, "add x12, x12, #1\nldr x10, [x1, #0x88]\nadd x12, x10, x10\nadd x13, x10, #1");

        Assert.Equal(JitX64.State.ExitReason.SegFault, r);
        Assert.Equal(P + 0x88, s.H.Cpu->FaultAddr);
        Assert.Equal(0xABCDUL, s.H.X(10));
        Assert.Equal(0x1235UL, s.H.X(12));
        Assert.Equal(0UL, s.H.X(13));
        Assert.Equal(Code + 4, s.H.Translator.GuestPcForHost(s.H.Cpu->FaultHostRip));
    }

    [Fact]
    public void AFaultInAFollowedCalleeShowsItsPcAndTheCallersRegisters()
    {
        // the BL is followed (FollowedBranchTests): the callee's load faults inside the caller's block, where x12 and
        // x30 are dirty in host registers; the fault's PC is the callee's instruction, not one counted from the block's start
        using var s = new SplitHarness(split: false);
        s.H.X(1) = P;
        s.H.X(10) = 0xABCD;
        s.H.X(12) = 0x1234;
        var r = RunProtected(s, """
            add x12, x12, #1
            bl f
            add x13, x10, #1
            b end
            f:
            add x14, x12, #2
            ldr x10, [x1, #0x88]
            ret
            end:
            """);

        Assert.Equal(JitX64.State.ExitReason.SegFault, r);
        Assert.Equal(P + 0x88, s.H.Cpu->FaultAddr);
        Assert.Equal(Code + 20, s.H.Translator.GuestPcForHost(s.H.Cpu->FaultHostRip));
        Assert.Equal(0, s.H.Translator.Cache.Lookup(Code + 16)); // f has no block of its own: the fault was in Code's
        Assert.Equal(0xABCDUL, s.H.X(10));
        Assert.Equal(0x1235UL, s.H.X(12));
        Assert.Equal(0UL, s.H.X(13));
        Assert.Equal(0x1237UL, s.H.X(14));
        Assert.Equal(Code + 8, s.H.X(30));
    }

    [Fact]
    public void UnmarkedAccessFaultsInP()
    {
        using var s = new SplitHarness(shift: 6);
        s.W64(0x402088, 0x1111);
        s.H.X(1) = P;
        s.MarkOnly(0);
        var r = RunProtected(s, "ldr x10, [x1, #0x88]\nldr x11, [x1, #0x88]");

        Assert.Equal(JitX64.State.ExitReason.SegFault, r);
        Assert.Equal(P + 0x88, s.H.Cpu->FaultAddr);
        Assert.Equal(0x1111UL, s.H.X(10));
        Assert.Equal(Code + 4, s.H.Translator.GuestPcForHost(s.H.Cpu->FaultHostRip));
    }
}
