using System.Runtime.InteropServices;
using Dqemu.JitX64.Signal;
using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Signals;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// How a thread is made to leave translated code (JitStubs.EmitLoadLimit): a block's entry leaves when r14 is 0; r14 is
/// computed from CpuState.ExitRequest at Enter and after every helper call, and the interrupt signal's handler sets it to
/// 0 in a thread running translated code. What must hold: a chain of linked blocks leaves on a request (the signal), a
/// request made while a helper ran is seen at the next block, an access made with r14 at 0 still reaches guest memory,
/// and the handler changes r14 inside the guest-context ranges only. (A self-loop's back edge:
/// SelfLoopTests.AnInterruptedSelfLoopLeavesExactState.)
/// </summary>
public sealed unsafe class ExitRequestTests
{
    /// <summary>Two blocks that branch to each other (nothing followed, no superblock, so neither is a self-loop).</summary>
    private static JitHarness TwoBlockHarness(nint entryHook = 0) => new(new TranslatorOptions
    {
        CodeCacheSize = 16UL << 20,
        FollowBranches = false,
        Superblocks = false,
        BlockEntryHook = entryHook,
    });

    /// <summary>
    /// Runs <paramref name="source"/> on a thread of its own until the block at <paramref name="blockPc"/> is translated
    /// (the loop is running), then asks that thread to leave as the runtime does (<see cref="ThreadInterrupter.RequestExit(CpuState*, BlockRunner, int)"/>:
    /// ExitRequest and the interrupt signal) and returns how the run ended; fails if it did not end within 10 s.
    /// </summary>
    internal static ExitReason RunAndInterrupt(JitHarness h, string source, ulong blockPc)
    {
        ThreadInterrupter.Install(h.Translator);
        int tid = 0;
        var run = Task.Run(() =>
        {
            Volatile.Write(ref tid, (int)HostSyscall.Call(HostSyscall.Nr.Gettid));
            return h.Run(source);
        });
        var wait = System.Diagnostics.Stopwatch.StartNew();
        while (h.Translator.Cache.Lookup(blockPc) == 0 && wait.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(1);
        Assert.NotEqual(0, h.Translator.Cache.Lookup(blockPc)); // translated: the loop runs
        Thread.Sleep(20);
        ThreadInterrupter.RequestExit(h.Cpu, h.Runner, Volatile.Read(ref tid));
        Assert.True(run.Wait(TimeSpan.FromSeconds(10)), "the code did not leave on the exit request");
        return run.Result;
    }

    [Fact]
    public void AChainOfLinkedBlocksLeavesOnTheInterruptSignal()
    {
        using var h = TwoBlockHarness();
        var reason = RunAndInterrupt(h, """
            mov x0, #0
            one:
            add x0, x0, #1
            b two
            two:
            add x3, x3, #2
            b one
            """, JitHarness.CodeAddress + 12); // "two"
        Assert.Equal(ExitReason.Interrupt, reason);
        // it left at a block's entry, with every register in CpuState: x3 is twice the number of "two"s, which
        // is the number of "one"s when it stopped at "one", one less at "two"
        Assert.Contains(h.Cpu->Pc, new[] { JitHarness.CodeAddress + 4, JitHarness.CodeAddress + 12 });
        ulong ones = h.X(0), twos = h.Cpu->Pc == JitHarness.CodeAddress + 4 ? ones : ones - 1;
        Assert.True(ones > 1);
        Assert.Equal(2 * twos, h.X(3));
    }

    private static int s_hookCalls;

    /// <summary>The block entry hook of <see cref="ARequestMadeWhileAHelperRanIsSeenAtTheNextBlock"/>: at its seventh call
    /// it asks the thread to leave as another thread would, without a signal (one that finds a thread in managed code
    /// leaves its r14 alone).</summary>
    [UnmanagedCallersOnly]
    private static void AskOnThirdCall(CpuState* cpu, ulong pc, ulong host)
    {
        if (++s_hookCalls == 7) Volatile.Write(ref cpu->ExitRequest, 1);
    }

    [Fact]
    public void ARequestMadeWhileAHelperRanIsSeenAtTheNextBlock()
    {
        s_hookCalls = 0;
        using var h = TwoBlockHarness((nint)(delegate* unmanaged<CpuState*, ulong, ulong, void>)&AskOnThirdCall);
        h.X(1) = JitHarness.DataAddress;
        h.WriteU64(JitHarness.DataAddress, 40);
        // the hook runs at each block's entry: the first block (1, which runs on into "one"'s code), "two" (2), "one" (3),
        // "two" (4), "one" (5), "two" (6), "one" (7: the request). By then "one" jumps to "two" through a patched link,
        // not through the dispatcher and Enter; the rest of that "one" runs with r14 at 0, so its load and store go
        // through the out-of-line address check, and "two"'s entry leaves. Without the reload after the hook's call
        // the loop would count to 4000 and reach the BRK.
        var reason = h.Run("""
            mov x0, #0
            one:
            ldr x2, [x1]
            add x2, x2, #1
            str x2, [x1]
            b two
            two:
            add x0, x0, #1
            cmp x0, #4000
            b.ne one
            """);
        Assert.Equal(ExitReason.Interrupt, reason);
        Assert.Equal(JitHarness.CodeAddress + 20, h.Cpu->Pc);
        Assert.Equal(3UL, h.X(0));
        Assert.Equal(44UL, h.ReadU64(JitHarness.DataAddress));
        Assert.Equal(44UL, h.X(2));
    }

    /// <summary>x86-64 ucontext_t: gregs from byte 40, REG_R14 = 6, REG_RIP = 16.</summary>
    private const int R14At = 40 + 8 * 6, RipAt = 40 + 8 * 16;

    [Fact]
    public void TheHandlerClearsR14OnlyInsideTheRanges()
    {
        using var h = new JitHarness();
        ulong* table = (ulong*)NativeMemory.AllocZeroed(NativeSignalHandlerGenerator.GuestContextTableSize);
        byte* uc = (byte*)NativeMemory.AllocZeroed(1024);
        try
        {
            table[0] = 2;
            (table[1], table[2]) = (0x10000, 0x100);
            (table[3], table[4]) = (0x50000, 0x1000);
            var handler = (delegate* unmanaged<int, void*, void*, void>)NativeSignalHandlerGenerator.GenerateInterrupt(h.Translator.Cache, (nint)table);
            foreach (var (rip, inside) in new (ulong, bool)[]
            {
                (0x10000, true), (0x100ff, true), (0x10100, false), (0xffff, false),
                (0x50000, true), (0x50fff, true), (0x51000, false), (0x40000, false), (0, false), (ulong.MaxValue, false),
            })
            {
                *(ulong*)(uc + RipAt) = rip;
                *(ulong*)(uc + R14At) = 0x1234;
                handler(ThreadInterrupter.HostSignal, null, uc);
                Assert.True(*(ulong*)(uc + R14At) == (inside ? 0UL : 0x1234UL), $"rip 0x{rip:x}: r14 0x{*(ulong*)(uc + R14At):x}");
                Assert.Equal(rip, *(ulong*)(uc + RipAt));
            }
            // no ranges: nothing changes
            table[0] = 0;
            *(ulong*)(uc + RipAt) = 0x10000;
            *(ulong*)(uc + R14At) = 0x1234;
            handler(ThreadInterrupter.HostSignal, null, uc);
            Assert.Equal(0x1234UL, *(ulong*)(uc + R14At));
        }
        finally
        {
            NativeMemory.Free(table);
            NativeMemory.Free(uc);
        }
    }

    [Fact]
    public void TheRangesAreTheStubsGuestContextAndTheBlocks()
    {
        using var h = new JitHarness();
        var ranges = h.Translator.GuestContextRanges;
        var stubs = h.Translator.Stubs;
        // Enter's first instructions save the caller's registers (outside), the exits and the out-of-line pieces
        // translated code calls are inside, and so is every block
        Assert.True(stubs.Enter < ranges[0].Start && ranges[0].Start - stubs.Enter <= 12);
        foreach (ulong inside in new[] { stubs.LinkExit, stubs.LinkExitAt, stubs.PcExit, stubs.SplitRedirect, stubs.WildAddress, stubs.SegFaultExit, stubs.Exit })
            Assert.InRange(inside, ranges[0].Start, ranges[0].Start + ranges[0].Length - 1);
        h.RunToEnd("mov x0, #1");
        ulong block = (ulong)h.Translator.Cache.Lookup(JitHarness.CodeAddress);
        Assert.InRange(block, ranges[1].Start, ranges[1].Start + ranges[1].Length - 1);
        Assert.Equal((ulong)h.Translator.Cache.Base + h.Translator.Cache.Size, ranges[1].Start + ranges[1].Length);
    }
}
