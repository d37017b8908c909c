using Xunit;
using static Dqemu.Tests.Jit.SplitHarness;

namespace Dqemu.Tests.Jit;

/// <summary>
/// A load or store whose address a previous one of the same block left in rsi does not compute it again
/// (EmitterContext.TryReuseAddress). It must reuse only while nothing changed what the address came from; each case
/// checks memory and registers against the program's own answer, and whether the address was reused.
/// </summary>
public sealed unsafe class AddressReuseTests
{
    private const ulong D = JitHarness.DataAddress;

    private static (JitHarness H, long Reused) Run(string code, Action<JitHarness> setup)
    {
        var h = new JitHarness();
        setup(h);
        long before = h.Translator.AddressesReused;
        h.RunToEnd(code);
        return (h, h.Translator.AddressesReused - before);
    }

    [Fact]
    public void ALoadAndStoreOfOneAddressShareIt()
    {
        var (h, reused) = Run("ldr x1, [x0, #8]\nadd x1, x1, #5\nstr x1, [x0, #8]\nldr x4, [x0, x2, lsl #3]\nstr x1, [x0, x2, lsl #3]",
            h => { h.X(0) = D; h.X(2) = 3; h.WriteU64(D + 8, 37); h.WriteU64(D + 24, 1); });
        using (h)
        {
            Assert.Equal(42UL, h.ReadU64(D + 8));
            Assert.Equal(1UL, h.X(4));
            Assert.Equal(42UL, h.ReadU64(D + 24));
            Assert.Equal(2, reused);
        }
    }

    [Fact]
    public void AChangedBaseOrIndexIsComputedAgain()
    {
        // the base moves between a load and a store; a load overwrites its own base; the index changes
        var (h, reused) = Run("""
            ldr x1, [x0]
            add x0, x0, #16
            str x1, [x0]
            add x0, x0, #16
            ldr x0, [x0]
            str x1, [x0]
            ldr x5, [x3, x2]
            add x2, x2, #8
            str x5, [x3, x2]
            """, h =>
            {
                h.X(0) = D; h.X(2) = 0; h.X(3) = D + 0x100;
                h.WriteU64(D, 0x1111); h.WriteU64(D + 32, D + 0x40); h.WriteU64(D + 0x100, 0x2222);
            });
        using (h)
        {
            Assert.Equal(0x1111UL, h.ReadU64(D + 16));  // at the moved base
            Assert.Equal(D + 0x40, h.X(0));
            Assert.Equal(0x1111UL, h.ReadU64(D + 0x40)); // at the loaded base
            Assert.Equal(0x2222UL, h.ReadU64(D + 0x108)); // at the moved index
            Assert.Equal(0, reused);
        }
    }

    [Fact]
    public void AnAddressOutlivesTheAccessThatUsedIt()
    {
        // a store, then a load of the same base that overwrites it, then a store through the new base
        var (h, reused) = Run("str x1, [x0]\nldr x0, [x0, #8]\nstr x1, [x0]",
            h => { h.X(0) = D; h.X(1) = 5; h.WriteU64(D + 8, D + 0x60); });
        using (h)
        {
            Assert.Equal(5UL, h.ReadU64(D));
            Assert.Equal(5UL, h.ReadU64(D + 0x60));
            Assert.Equal(1, reused); // the ldr (same mask(x0)); not the last str
        }
    }

    [Fact]
    public void DifferentOffsetsOfOneBaseShareTheMaskedBase()
    {
        // non-negative offsets are added by the access, so both use mask(x0); a negative one is folded in first
        var (h, reused) = Run("ldr x1, [x0, #8]\nstr x1, [x0, #16]\nldur x2, [x0, #-8]\nstur x2, [x0, #-16]",
            h => { h.X(0) = D + 0x80; h.WriteU64(D + 0x88, 7); h.WriteU64(D + 0x78, 9); });
        using (h)
        {
            Assert.Equal(7UL, h.ReadU64(D + 0x90));
            Assert.Equal(9UL, h.ReadU64(D + 0x70));
            Assert.Equal(1, reused); // the str; the stur's folded offset differs from the ldur's
        }
    }

    [Fact]
    public void ASelfLoopWalkingAnArrayComputesEachAddress()
    {
        var (h, _) = Run("""
            mov x3, #10
            loop:
            ldr x1, [x0]
            add x1, x1, x3
            str x1, [x0]
            add x0, x0, #8
            subs x3, x3, #1
            b.ne loop
            """, h => { h.X(0) = D; for (ulong i = 0; i < 10; i++) h.WriteU64(D + 8 * i, 100 * i); });
        using (h)
            for (ulong i = 0; i < 10; i++) Assert.Equal(100 * i + (10 - i), h.ReadU64(D + 8 * i));
    }

    [Fact]
    public void ASplitAwareStoreReusesTheLoadsRedirectAndReachesTheUnit()
    {
        using var s = new SplitHarness(shift: 6);
        s.H.X(1) = P;
        s.W64(Shadow(P + 0x88, 6), 40);
        s.Mark(3);
        long before = s.H.Translator.AddressesReused;
        s.H.RunToEnd("ldr x10, [x1, #0x88]\nadd x10, x10, #2\nstr x10, [x1, #0x88]");

        Assert.Equal(42UL, s.U64(Shadow(P + 0x88, 6)));
        Assert.True(s.PUntouched());
        Assert.Equal(1, s.H.Translator.AddressesReused - before);
    }
}
