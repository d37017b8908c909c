using Dqemu.JitX64.Translation;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// The thread's jump cache (JumpCache.cs) as translated code reads it: entry i = (pc >> 2) mod Entries holds
/// {guest pc, host code}; an empty entry must never match a guest pc (pc 0 included), and a clear empties every entry
/// set before it, whether it stores into those alone or, after more sets than it tracks, into the whole table.
/// </summary>
public sealed unsafe class JumpCacheTests
{
    private static (ulong Tag, ulong Host) Entry(JumpCache c, ulong pc)
    {
        var t = (ulong*)c.Address;
        int i = (int)((pc >> 2) & (JumpCache.Entries - 1));
        return (t[2 * i], t[2 * i + 1]);
    }

    /// <summary>What the probe in generated code finds for <paramref name="pc"/>: its host code, or 0 for a miss.</summary>
    private static ulong Probe(JumpCache c, ulong pc) => Entry(c, pc) is var (tag, host) && tag == pc ? host : 0;

    [Fact]
    public void AnEmptyTableMatchesNoPcNotEvenZero()
    {
        using var c = new JumpCache();
        foreach (ulong pc in new ulong[] { 0, 4, 0x400000, 0x5555_5555_0000, (ulong)JumpCache.Entries * 4 })
            Assert.Equal(0UL, Probe(c, pc));
    }

    [Fact]
    public void ASetEntryIsFoundAndAClearEmptiesIt()
    {
        using var c = new JumpCache();
        c.Set(0x400010, 0x1234);
        c.Set((ulong)JumpCache.Entries * 4, 0x5678); // entry 0
        Assert.Equal(0x1234UL, Probe(c, 0x400010));
        Assert.Equal(0x5678UL, Probe(c, (ulong)JumpCache.Entries * 4));
        Assert.Equal(0UL, Probe(c, 0));
        c.Clear();
        Assert.Equal(0UL, Probe(c, 0x400010));
        Assert.Equal(0UL, Probe(c, (ulong)JumpCache.Entries * 4));
        Assert.Equal(0UL, Probe(c, 0));
    }

    [Fact]
    public void AClearAfterMoreSetsThanItTracksEmptiesThemAll()
    {
        using var c = new JumpCache();
        for (ulong k = 0; k < 10_000; k++) c.Set(0x400000 + 4 * k, (nint)(0x10000 + k));
        Assert.Equal(0x10000UL + 9_999, Probe(c, 0x400000 + 4 * 9_999));
        c.Clear();
        for (ulong k = 0; k < 10_000; k++) Assert.Equal(0UL, Probe(c, 0x400000 + 4 * k));
        // and it tracks again after that: a set and a clear
        c.Set(0x400000, 0x99);
        c.Clear();
        Assert.Equal(0UL, Probe(c, 0x400000));
    }
}
