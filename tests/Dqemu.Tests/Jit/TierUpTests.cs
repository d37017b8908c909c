using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// Two tiers (Translator.Tiers.cs): with TierUpAfter = N a block is first translated quickly, with a countdown of N
/// at its entry; the entry that takes it to zero leaves with TierUp before any guest instruction, and the block is
/// translated in full, the links into the quick one pointed at the full one. What must hold: the results, the count
/// (N - 1 runs stay quick, the Nth tiers up), links that end at the full block, and the full block's own shape (a
/// self-loop inside the block).
/// </summary>
public sealed unsafe class TierUpTests
{
    private static JitHarness Harness(int tierUpAfter) =>
        new(new TranslatorOptions { CodeCacheSize = 16UL << 20, TierUpAfter = tierUpAfter });

    // x1 times round two blocks, adding 3 to x0 each time: the first block (up to "b next") runs once, "next" (subs;
    // b.ne) x1 times, "loop" (add; b next) x1 - 1 times
    internal static string TwoBlockLoop(int times) => $"""
        mov x1, #{times}
        mov x0, #0
        loop:
        add x0, x0, #3
        b next
        next:
        subs x1, x1, #1
        b.ne loop
        """;

    [Fact]
    public void BlocksRunTheirCountQuicklyThenInFull()
    {
        using (var h = Harness(5))
        {
            h.RunToEnd(TwoBlockLoop(4)); // "next" entered 4 times: its countdown at 1
            Assert.Equal(12UL, h.X(0));
            Assert.Equal(0, h.Translator.BlocksTieredUp);
        }
        using (var h = Harness(5))
        {
            h.RunToEnd(TwoBlockLoop(5)); // its 5th entry takes it to 0; "loop" entered 4 times
            Assert.Equal(15UL, h.X(0));
            Assert.Equal(1, h.Translator.BlocksTieredUp);
        }
        using (var h = Harness(5))
        {
            h.RunToEnd(TwoBlockLoop(6));
            Assert.Equal(18UL, h.X(0));
            Assert.Equal(2, h.Translator.BlocksTieredUp);
        }
        using (var h = Harness(0))
        {
            h.RunToEnd(TwoBlockLoop(50)); // no tiers: every block in full at once
            Assert.Equal(150UL, h.X(0));
            Assert.Equal(0, h.Translator.BlocksTieredUp);
        }
    }

    [Fact]
    public void TheLinkIntoAReplacedBlockEndsAtItsFullTranslation()
    {
        using var h = Harness(3);
        h.RunToEnd(TwoBlockLoop(50));
        Assert.Equal(150UL, h.X(0));
        Assert.Equal(2, h.Translator.BlocksTieredUp);
        ulong loopHost = (ulong)h.Translator.Cache.Lookup(JitHarness.CodeAddress + 8);
        ulong nextHost = (ulong)h.Translator.Cache.Lookup(JitHarness.CodeAddress + 16);
        Assert.NotEqual(0UL, loopHost);
        Assert.NotEqual(0UL, nextHost);
        // both are full translations now: no countdown at the entry
        Assert.False(HasCountdown(loopHost));
        Assert.False(HasCountdown(nextHost));
        // the full "next" block's b.ne (a superblock's side exit) goes straight to the full loop block
        Assert.Equal(loopHost, TakenTarget(nextHost));
    }

    [Fact]
    public void ASelfLoopTiersUpIntoALoopInsideTheBlock()
    {
        using var h = Harness(10);
        h.RunToEnd("""
            mov x1, #1000
            mov x0, #0
            loop:
            add x0, x0, x1
            subs x1, x1, #1
            b.ne loop
            """);
        Assert.Equal(500500UL, h.X(0));
        Assert.Equal(1, h.Translator.BlocksTieredUp);
        ulong host = (ulong)h.Translator.Cache.Lookup(JitHarness.CodeAddress + 8);
        Assert.False(HasCountdown(host));
        var backEdge = SelfLoopTests.BackEdge(host);
        Assert.Equal(Mnemonic.Jne, backEdge.Mnemonic);
        Assert.InRange(backEdge.NearBranchTarget, SelfLoopTests.EntryCheckEnd(host), backEdge.IP);
    }

    [Fact]
    public void AQuickBlockCountsDownAtItsEntry()
    {
        using var h = Harness(1000);
        h.RunToEnd(TwoBlockLoop(3));
        ulong loopHost = (ulong)h.Translator.Cache.Lookup(JitHarness.CodeAddress + 8);
        Assert.True(HasCountdown(loopHost));
    }

    /// <summary>A quick block's entry: test r14, r14; je; mov rax, countdown; sub dword [rax], 1; jle.</summary>
    private static bool HasCountdown(ulong host)
    {
        var entry = Decode(host, 40).Take(5).ToList();
        return entry[3].Mnemonic == Mnemonic.Sub && entry[3].MemoryBase == Register.RAX && entry[3].Immediate32 == 1
            && entry[4].Mnemonic == Mnemonic.Jle;
    }

    /// <summary>Where the first jne after the block's entry check leads once linked: its own target, or for a
    /// superblock's side exit (a jne forward to a stub of stores) the target of the stub's jmp.</summary>
    internal static ulong TakenTarget(ulong host)
    {
        var jne = Decode(host, 300).First(i => i.Mnemonic == Mnemonic.Jne && i.IP > host + 8);
        foreach (var i in Decode(jne.NearBranchTarget, 64))
        {
            if (i.Mnemonic == Mnemonic.Mov) continue;
            return i.Mnemonic == Mnemonic.Jmp ? i.NearBranchTarget : jne.NearBranchTarget;
        }
        return jne.NearBranchTarget;
    }

    internal static List<Instruction> Decode(ulong host, int bytes)
    {
        var d = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(new ReadOnlySpan<byte>((byte*)host, bytes + 16).ToArray()));
        d.IP = host;
        var list = new List<Instruction>();
        while (d.IP < host + (ulong)bytes)
        {
            d.Decode(out var i);
            list.Add(i);
        }
        return list;
    }
}
