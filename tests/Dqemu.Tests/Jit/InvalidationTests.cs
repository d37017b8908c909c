using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// Dropping the translations of a guest range (Translator.Drop.cs): only the blocks translated from its pages go, an
/// exit another block had linked to one of them is unlinked (the rewritten code runs, not the old block), and blocks
/// of other pages keep their host code.
/// </summary>
public unsafe class InvalidationTests
{
    private const ulong A = JitHarness.CodeAddress, B = JitHarness.CodeAddress + 0x1000;
    private const uint Brk = 0xD4200000;

    private static uint AddX0(uint imm) => 0x91000000u | imm << 10; // add x0, x0, #imm

    private static ulong RunFromA(JitHarness h)
    {
        h.X(0) = 0;
        Assert.Equal(ExitReason.Breakpoint, h.RunFrom(A));
        return h.X(0);
    }

    [Fact]
    public void OnlyTheBlocksOfTheRangeGoAndLinksIntoThemAreUndone()
    {
        // A's "b B" ends A (a block that follows it holds B's code as well: FollowedBranchTests)
        using var h = new JitHarness(new TranslatorOptions { FollowBranches = false });
        var t = h.Translator;
        uint* a = (uint*)h.Memory(A), b = (uint*)h.Memory(B);
        a[0] = AddX0(1);
        a[1] = 0x14000000u | (uint)((B - (A + 4)) / 4); // b B
        b[0] = AddX0(2);
        b[1] = Brk;
        Assert.Equal(3UL, RunFromA(h));
        Assert.Equal(3UL, RunFromA(h)); // A's exit is linked to B now
        nint hostA = t.Cache.Lookup(A), hostB = t.Cache.Lookup(B);
        Assert.NotEqual(0, hostA);
        Assert.NotEqual(0, hostB);

        b[0] = AddX0(5);
        int generation = t.Generation;
        Assert.True(t.InvalidateRange(B, B + 0x1000));
        Assert.Equal(generation + 1, t.Generation);
        Assert.Equal(hostA, t.Cache.Lookup(A)); // A's page was not touched
        Assert.Equal(0, t.Cache.Lookup(B));
        Assert.Equal(6UL, RunFromA(h)); // through A's unlinked exit to the new B
        Assert.Equal(hostA, t.Cache.Lookup(A));
        nint hostB2 = t.Cache.Lookup(B);
        Assert.NotEqual(0, hostB2);
        Assert.Equal(6UL, RunFromA(h)); // linked again, to the new B

        a[0] = AddX0(7);
        Assert.True(t.InvalidateRange(A, A + 4));
        Assert.Equal(0, t.Cache.Lookup(A));
        Assert.Equal(hostB2, t.Cache.Lookup(B));
        Assert.Equal(12UL, RunFromA(h));

        Assert.False(t.InvalidateRange(A + 0x10000, A + 0x20000)); // no code there
        Assert.Equal(2L, t.BlocksDropped);
        Assert.Equal(2L, t.RangesDropped);
    }

    [Fact]
    public void AHugeRangeFindsItsBlocksWithoutVisitingEveryPage()
    {
        using var h = new JitHarness();
        var t = h.Translator;
        uint* a = (uint*)h.Memory(A);
        a[0] = AddX0(1);
        a[1] = Brk;
        Assert.Equal(1UL, RunFromA(h));
        // 2^40 bytes: 2^28 pages, far more than the pages that hold code
        Assert.True(t.InvalidateRange(0, 1UL << 40));
        Assert.Equal(0, t.Cache.Lookup(A));
        a[0] = AddX0(4);
        Assert.Equal(4UL, RunFromA(h));
    }
}
