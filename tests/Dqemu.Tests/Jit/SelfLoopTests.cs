using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// A block that branches back to its own start runs as a loop inside the block (EmitterContext.BeginLoop/LoopBack):
/// the back edge checks ExitRequest and jumps past the register preload, so cached guest registers stay in host
/// registers across iterations. What must hold: the results, an exact CpuState when the loop is interrupted, and the
/// shape of the back edge.
/// </summary>
public sealed unsafe class SelfLoopTests
{
    [Fact]
    public void ConditionalSelfLoopComputesAndItsBackEdgeStaysInTheBlock()
    {
        using var h = new JitHarness();
        h.RunToEnd("""
            mov x1, #1000
            mov x0, #0
            mov x2, #7
            loop:
            add x0, x0, x2
            eor x2, x2, x0
            subs x1, x1, #1
            b.ne loop
            """);
        // the loop's own answer, computed here in C#
        ulong x0 = 0, x2 = 7;
        for (int i = 0; i < 1000; i++) { x0 += x2; x2 ^= x0; }
        Assert.Equal(x0, h.X(0));
        Assert.Equal(x2, h.X(2));
        Assert.Equal(0UL, h.X(1));

        ulong host = (ulong)h.Translator.Cache.Lookup(JitHarness.CodeAddress + 12);
        Assert.NotEqual(0UL, host);
        var backEdge = BackEdge(host);
        // the back edge goes into the block, past its entry check and the preload (not to the block's start)
        Assert.Equal(Mnemonic.Je, backEdge.Mnemonic);
        Assert.InRange(backEdge.NearBranchTarget, host + 8, backEdge.IP);

        // the loop's straight-line body, from the loop head to its first branch (the b.ne), stores no guest register:
        // the cached ones are spilled only on the way out (a compact exit's call after the b.ne once counted as a
        // helper call and spilled every dirty register ahead of the b.ne, in every iteration)
        var code = new ReadOnlySpan<byte>((byte*)backEdge.NearBranchTarget, 256).ToArray();
        var d = Decoder.Create(64, new ByteArrayCodeReader(code));
        d.IP = backEdge.NearBranchTarget;
        int stores = 0, length = 0;
        for (d.Decode(out var i); i.FlowControl == FlowControl.Next && length++ < 64; d.Decode(out i))
            if (i.Op0Kind == OpKind.Memory && i.MemoryBase == Register.RBX && i.MemoryDisplacement64 < (ulong)CpuOffsets.Xn(31) && i.Mnemonic == Mnemonic.Mov)
                stores++;
        Assert.True(length < 64, "no branch found after the loop head");
        Assert.Equal(0, stores);
    }

    /// <summary>The back edge of the self-loop block at <paramref name="host"/>: the je after its cmp [rbx+ExitRequest], 0
    /// (default when there is none in its first 400 bytes).</summary>
    internal static Instruction BackEdge(ulong host)
    {
        var code = new ReadOnlySpan<byte>((byte*)host, 512).ToArray();
        var d = Decoder.Create(64, new ByteArrayCodeReader(code));
        d.IP = host;
        Instruction previous = default;
        while (d.IP < host + 400)
        {
            d.Decode(out var i);
            if (i.Mnemonic == Mnemonic.Je && previous.Mnemonic == Mnemonic.Cmp && previous.MemoryBase == Register.RBX
                && previous.MemoryDisplacement64 == CpuOffsets.ExitRequest) return i;
            previous = i;
        }
        return default;
    }

    [Fact]
    public void AnInterruptedSelfLoopLeavesExactState()
    {
        using var h = new JitHarness();
        // x0 counts up forever; x3 = x0 * 2 kept in step: both live in host registers inside the loop
        var run = Task.Run(() => h.Run("""
            mov x0, #0
            mov x3, #0
            loop:
            add x0, x0, #1
            add x3, x3, #2
            b loop
            """));
        // the loop block exists once the thread has run into it
        var wait = System.Diagnostics.Stopwatch.StartNew();
        while (h.Translator.Cache.Lookup(JitHarness.CodeAddress + 8) == 0 && wait.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(1);
        Thread.Sleep(20);
        Interlocked.Exchange(ref h.Cpu->ExitRequest, 1);
        Assert.True(run.Wait(TimeSpan.FromSeconds(10)), "the loop did not leave on ExitRequest");
        Assert.Equal(ExitReason.Interrupt, run.Result);
        Assert.Equal(JitHarness.CodeAddress + 8, h.Cpu->Pc);
        Assert.True(h.X(0) > 0);
        Assert.Equal(h.X(0) * 2, h.X(3));
    }
}
