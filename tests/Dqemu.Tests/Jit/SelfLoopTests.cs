using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// A block that branches back to its own start runs as a loop inside the block (EmitterContext.BeginLoop/LoopBack):
/// the back edge checks for an exit request (r14 == 0, JitStubs.EmitLoadLimit) and jumps past the register preload, so cached guest registers stay in host
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
        Assert.Equal(Mnemonic.Jne, backEdge.Mnemonic);
        Assert.InRange(backEdge.NearBranchTarget, EntryCheckEnd(host), backEdge.IP);

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

    /// <summary>The back edge of the self-loop block at <paramref name="host"/>: the jne after its test r14, r14
    /// (default when there is none in its first 400 bytes past the block's own entry check).</summary>
    internal static Instruction BackEdge(ulong host)
    {
        ulong from = EntryCheckEnd(host);
        foreach (var (previous, i) in Decode(host, 400).Zip(Decode(host, 400).Skip(1)))
            if (i.IP >= from && i.Mnemonic == Mnemonic.Jne && IsLimitTest(previous)) return i;
        return default;
    }

    /// <summary>Where a block's entry check (test r14, r14; je to its Interrupt exit) ends: it is the block's first two
    /// instructions.</summary>
    internal static ulong EntryCheckEnd(ulong host)
    {
        var entry = Decode(host, 32).Take(2).ToList();
        Assert.True(IsLimitTest(entry[0]), $"the block does not start with test r14, r14: {entry[0]}");
        Assert.Equal(Mnemonic.Je, entry[1].Mnemonic);
        return entry[1].NextIP;
    }

    private static bool IsLimitTest(in Instruction i) =>
        i.Mnemonic == Mnemonic.Test && i.Op0Register == Register.R14 && i.Op1Register == Register.R14;

    private static IEnumerable<Instruction> Decode(ulong host, int bytes)
    {
        var code = new ReadOnlySpan<byte>((byte*)host, bytes).ToArray();
        var d = Decoder.Create(64, new ByteArrayCodeReader(code));
        d.IP = host;
        var list = new List<Instruction>();
        while (d.IP < host + (ulong)bytes - 15) list.Add(d.Decode());
        return list;
    }

    [Fact]
    public void AnInterruptedSelfLoopLeavesExactState()
    {
        using var h = new JitHarness();
        // x0 counts up forever; x3 = x0 * 2 kept in step: both live in host registers inside the loop. ExitRequest alone
        // is not read inside the loop: the interrupt signal's handler sets the thread's r14 to 0
        var reason = ExitRequestTests.RunAndInterrupt(h, """
            mov x0, #0
            mov x3, #0
            loop:
            add x0, x0, #1
            add x3, x3, #2
            b loop
            """, JitHarness.CodeAddress + 8);
        Assert.Equal(ExitReason.Interrupt, reason);
        Assert.Equal(JitHarness.CodeAddress + 8, h.Cpu->Pc);
        Assert.True(h.X(0) > 0);
        Assert.Equal(h.X(0) * 2, h.X(3));
    }
}
