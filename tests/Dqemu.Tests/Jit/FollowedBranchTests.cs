using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// Followed branches (EmitterContext.Exits.cs): a block translated in full goes on at the target of a B or BL, and at
/// a followed BL's return address after a RET X30 that finds it in X30, so the callee and the code after the call
/// have no blocks of their own; a RET to anywhere else leaves the block; the block's pages are all the pages its
/// instructions came from (dropped when any of them is), its entry check of volatile code compares each run of
/// consecutive instructions where it came from, and a fault inside followed code shows that instruction's PC (the
/// last: SplitRedirectFaultTests). The values are the programs' own arithmetic.
/// </summary>
public sealed unsafe class FollowedBranchTests
{
    private const ulong Code = JitHarness.CodeAddress;
    private const uint Brk = 0xD4200000;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ACalledFunctionAndItsReturnAreTranslatedIntoTheCallersBlock(bool follow)
    {
        var log = new System.Text.StringBuilder();
        using var h = new JitHarness(new TranslatorOptions
        {
            CodeCacheSize = 16UL << 20, FollowBranches = follow, LogOutAsm = true, Log = s => log.Append(s),
        });
        h.RunToEnd("""
            mov x0, #0
            mov x1, #10
            loop:
            bl f
            subs x1, x1, #1
            b.ne loop
            b end
            f:
            add x0, x0, #3
            ret
            end:
            """);
        Assert.Equal(30UL, h.X(0));
        Assert.Equal(Code + 12, h.X(30));
        var t = h.Translator;
        Assert.NotEqual(0, t.Cache.Lookup(Code + 8)); // the loop: a side exit's target
        // followed, f (at +24) and the return site (+12) are inside the loop's block; without, each is a block
        Assert.Equal(follow, t.Cache.Lookup(Code + 24) == 0);
        Assert.Equal(follow, t.Cache.Lookup(Code + 12) == 0);
        // f leaves x30 alone: its RET goes on at the return address without comparing x30 with it
        Assert.DoesNotContain("cmp rcx,1000Ch", log.ToString());
    }

    [Fact]
    public void NestedCallsReturnInline()
    {
        using var h = new JitHarness();
        h.RunToEnd("""
            mov x0, #5
            bl f
            add x0, x0, #1
            b end
            f:
            mov x9, x30
            bl g
            add x0, x0, #4
            mov x30, x9
            ret
            g:
            lsl x0, x0, #1
            add x0, x0, #2
            ret
            end:
            """);
        Assert.Equal(17UL, h.X(0)); // (5 * 2 + 2 + 4) + 1
        Assert.Equal(Code + 8, h.X(30));
        Assert.Equal(1, BlocksFrom(h, Code, Code + 0x100));
    }

    [Fact]
    public void TheSameFunctionCalledTwiceIsFollowedTwiceButARecursiveCallIsNot()
    {
        using var h = new JitHarness();
        // f is followed from both calls (its loop-free body copied twice); r calls itself: the recursive BL ends the
        // block, and r's own blocks run the recursion (x2 counts down from 3)
        h.RunToEnd("""
            mov x0, #1
            bl f
            bl f
            mov x2, #3
            mov x9, x30
            bl r
            mov x30, x9
            b end
            f:
            b f2
            f2:
            lsl x0, x0, #2
            ret
            r:
            subs x2, x2, #1
            b.eq r_done
            stp x30, xzr, [sp, #-16]!
            add x0, x0, #1
            bl r
            ldp x30, xzr, [sp], #16
            r_done:
            ret
            end:
            """);
        Assert.Equal(18UL, h.X(0)); // 1 * 4 * 4, then + 1 twice
        Assert.Equal(0UL, h.X(2));
        Assert.Equal(0, h.Translator.Cache.Lookup(Code + 32)); // f
        Assert.NotEqual(0, h.Translator.Cache.Lookup(Code + 44)); // r: entered by its recursive call
    }

    [Fact]
    public void ABackwardJumpIsNotFollowed()
    {
        // "b top" goes back (a loop's back edge, most often): the first block ends there, and top's block loops on itself
        var log = new System.Text.StringBuilder();
        using var h = new JitHarness(new TranslatorOptions { CodeCacheSize = 16UL << 20, LogInAsm = true, Log = s => log.Append(s) });
        h.X(1) = 3;
        h.RunToEnd("""
            b start
            top:
            add x0, x0, #2
            subs x1, x1, #1
            b.eq end
            start:
            b top
            end:
            """);
        Assert.Equal(6UL, h.X(0));
        var first = log.ToString().Split("IN: block ")[1]; // the block at Code: its guest instructions
        Assert.Equal(["b", "b"], first.Split('\n').Skip(1).Where(l => l.Length > 0).Select(l => l.Split("  ")[2].Split(' ')[0]));
        Assert.NotEqual(0, h.Translator.Cache.Lookup(Code + 4));
    }

    [Fact]
    public void ACalleeWithALoopIsNotFollowed()
    {
        using var h = new JitHarness();
        h.RunToEnd("""
            mov x0, #0
            mov x1, #4
            bl f
            add x0, x0, #1
            b end
            f:
            add x0, x0, #3
            subs x1, x1, #1
            b.ne f
            ret
            end:
            """);
        Assert.Equal(13UL, h.X(0));
        Assert.NotEqual(0, h.Translator.Cache.Lookup(Code + 20)); // f: a block of its own (a loop on itself)
        Assert.NotEqual(0, h.Translator.Cache.Lookup(Code + 12)); // the return site: reached by f's RET
    }

    [Fact]
    public void AReturnToAnotherAddressLeavesTheBlock()
    {
        var log = new System.Text.StringBuilder();
        using var h = new JitHarness(new TranslatorOptions { CodeCacheSize = 16UL << 20, LogOutAsm = true, Log = s => log.Append(s) });
        // f returns past the instruction after its call: the inline return's check fails and the block leaves for
        // x30 as any RET does
        h.RunToEnd("""
            mov x0, #0
            bl f
            add x0, x0, #100
            skip:
            add x0, x0, #1
            b end
            f:
            adr x30, skip
            ret
            end:
            """);
        Assert.Equal(1UL, h.X(0));
        Assert.Equal(Code + 12, h.X(30));
        Assert.NotEqual(0, h.Translator.Cache.Lookup(Code + 12)); // skip: a block of its own, reached by the RET
        Assert.Equal(0, h.Translator.Cache.Lookup(Code + 20)); // f: followed
        Assert.Contains("cmp rcx,10008h", log.ToString()); // f wrote x30: its RET compares it with the return address
    }

    [Fact]
    public void ABlockThatFollowedABranchIsDroppedWithTheTargetsPage()
    {
        using var h = new JitHarness();
        var t = h.Translator;
        const ulong B = Code + 0x1000;
        Place(h, Code, "add x0, x0, #1\nb .+0xffc");
        Place(h, B, "add x0, x0, #2");
        *(uint*)h.Memory(B + 4) = Brk;
        Assert.Equal(3UL, RunFrom(h, Code));
        Assert.NotEqual(0, t.Cache.Lookup(Code));
        Assert.Equal(0, t.Cache.Lookup(B)); // followed: B's code is in Code's block

        Place(h, B, "add x0, x0, #5");
        Assert.True(t.InvalidateRange(B, B + 4)); // B's page holds part of Code's block
        Assert.Equal(0, t.Cache.Lookup(Code));
        Assert.Equal(6UL, RunFrom(h, Code));
    }

    [Fact]
    public void AVolatileBlocksEntryCheckComparesEachRunWhereItCameFrom()
    {
        using var h = new JitHarness();
        const ulong B = Code + 0x1000;
        h.Volatile = pc => pc < B; // the block's first page: checked on entry, not write-protected
        Place(h, Code, "add x0, x0, #1\nb .+0xffc");
        Place(h, B, "add x0, x0, #2");
        *(uint*)h.Memory(B + 4) = Brk;
        Assert.Equal(3UL, RunFrom(h, Code));
        Assert.Equal(0, h.Translator.Cache.Lookup(B)); // followed
        Assert.Equal(3UL, RunFrom(h, Code)); // the check passes (at Code + 8, where nothing was placed, it would not)
        // changed behind the translator's back: the entry check sees it at B and leaves before running anything, and
        // the block goes with the page of its start (as the runtime's dispatcher drops it)
        Place(h, B, "add x0, x0, #5");
        h.X(0) = 0;
        Assert.Equal(ExitReason.CodeModified, h.RunFrom(Code));
        Assert.Equal(Code, h.Cpu->Pc);
        Assert.Equal(0UL, h.X(0));
        Assert.True(h.Translator.InvalidateRange(Code, Code + 0x1000));
        Assert.Equal(6UL, RunFrom(h, Code));
    }

    private static void Place(JitHarness h, ulong at, string source)
    {
        var words = A64Asm.Assemble(source);
        for (int i = 0; i < words.Length; i++) ((uint*)h.Memory(at))[i] = words[i];
    }

    private static ulong RunFrom(JitHarness h, ulong pc)
    {
        h.X(0) = 0;
        Assert.Equal(ExitReason.Breakpoint, h.RunFrom(pc));
        return h.X(0);
    }

    /// <summary>How many guest addresses in [from, to) start a translated block.</summary>
    private static int BlocksFrom(JitHarness h, ulong from, ulong to)
    {
        int n = 0;
        for (ulong pc = from; pc < to; pc += 4)
            if (h.Translator.Cache.Lookup(pc) != 0) n++;
        return n;
    }
}
