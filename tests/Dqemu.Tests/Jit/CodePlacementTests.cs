using Dqemu.JitX64.Translation;
using Dqemu.Runtime.Host;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.Tests.Jit;

/// <summary>
/// CodeCache.Place lays code out itself (LinearEncoder) instead of through Iced's BlockEncoder. The reference
/// is BlockEncoder's own output for the same Assembler at the same address: decoded, both must hold the same
/// instructions with the same branch targets and RIP-relative addresses, and the same bytes everywhere else.
/// </summary>
public sealed unsafe class CodePlacementTests
{
    private static CodeCache NewCache() => new(LinuxHostMemory.Instance, 1UL << 20);

    /// <summary>Places with the cache, assembles the same list with BlockEncoder at the same address, compares.</summary>
    private static (ulong Rip, List<Instruction> Placed) PlaceAndCompare(CodeCache cache, Assembler a, ReadOnlySpan<int> indices, Span<uint> offsets)
    {
        ulong expectedRip = (ulong)cache.Base + cache.Used;
        var reference = new ByteWriter();
        a.Assemble(reference, expectedRip);
        ulong rip = cache.Place(a, indices, offsets);
        Assert.Equal(expectedRip, rip);
        int length = (int)((ulong)cache.Base + cache.Used - rip);
        var placed = Decode(new ReadOnlySpan<byte>((byte*)rip, length).ToArray(), rip);
        var expected = Decode(reference.Bytes.ToArray(), rip);
        // padding to 16 bytes after the placed code decodes as extra instructions: compare the prefix; a nop before
        // a link site (LinearEncoder keeps its displacement inside a cache line) is not in BlockEncoder's output, and
        // moves what follows: a target inside the list is compared as the instruction it names
        Assert.True(placed.Count >= expected.Count);
        var match = new int[expected.Count];
        for (int i = 0, j = 0; i < expected.Count; i++, j++)
        {
            while (placed[j].Mnemonic == Mnemonic.Nop && expected[i].Mnemonic != Mnemonic.Nop) j++;
            match[i] = j;
        }
        var expectedAt = new Dictionary<ulong, int>();
        for (int i = 0; i < expected.Count; i++) expectedAt[expected[i].IP] = i;
        ulong Placed(ulong expectedAddress) =>
            expectedAt.TryGetValue(expectedAddress, out int k) ? placed[match[k]].IP : expectedAddress;
        for (int i = 0; i < expected.Count; i++)
        {
            var p = placed[match[i]];
            var e = expected[i];
            Assert.Equal(e.Mnemonic, p.Mnemonic);
            if (e.FlowControl is FlowControl.UnconditionalBranch or FlowControl.ConditionalBranch or FlowControl.Call
                && e.Op0Kind == OpKind.NearBranch64)
                Assert.Equal(Placed(e.NearBranchTarget), p.NearBranchTarget);
            else if (e.IsIPRelativeMemoryOperand)
                Assert.Equal(Placed(e.IPRelativeMemoryAddress), p.IPRelativeMemoryAddress);
            else
                Assert.Equal(Bytes(reference.Bytes, e, rip), new ReadOnlySpan<byte>((byte*)p.IP, p.Length).ToArray());
        }
        return (rip, placed);
    }

    private static byte[] Bytes(List<byte> code, Instruction i, ulong rip) =>
        code.GetRange((int)(i.IP - rip), i.Length).ToArray();

    private static List<Instruction> Decode(byte[] code, ulong rip)
    {
        var d = Decoder.Create(64, new ByteArrayCodeReader(code));
        d.IP = rip;
        var list = new List<Instruction>();
        while (d.IP < rip + (ulong)code.Length)
        {
            d.Decode(out var i);
            list.Add(i);
        }
        return list;
    }

    private sealed class ByteWriter : CodeWriter
    {
        public readonly List<byte> Bytes = new();
        public override void WriteByte(byte value) => Bytes.Add(value);
    }

    [Fact]
    public void ShortAndNearBranchesLabelsAndAbsoluteTargetsLandWhereBlockEncoderPutsThem()
    {
        var cache = NewCache();
        cache.Place(Filler(200)); // the block under test does not start at the cache's base
        var a = new Assembler(64);
        var top = a.CreateLabel();
        var near = a.CreateLabel();
        var far = a.CreateLabel();
        var data = a.CreateLabel();
        a.Label(ref top);
        a.cmp(__dword_ptr[rbx + 0x348], 0);
        a.jne(far);                                   // forward, out of byte reach: near form
        a.dec(rcx);
        a.jne(near);                                  // forward, in reach: short form
        a.mov(rax, 0x123456789ABCUL);
        a.Label(ref near);
        a.lea(rdx, __[data]);                         // RIP-relative to a label
        a.jmp((ulong)cache.Base + 8);                 // absolute: a stub at the cache's start
        a.call((ulong)cache.Base + 16);
        for (int i = 0; i < 40; i++) a.mov(__qword_ptr[rbx + 8 * i], rax);
        a.jmp(top);                                   // backward, out of reach
        a.db(0xE9, 0, 0, 0, 0);                       // a link site: jmp rel32 with displacement 0
        a.Label(ref far);
        a.jmp(near);                                  // backward, out of reach
        a.Label(ref data);
        a.ret();
        int slowBefore = cache.SlowPlacements;
        var offsets = new uint[3];
        var (rip, placed) = PlaceAndCompare(cache, a, [top.InstructionIndex, near.InstructionIndex, far.InstructionIndex], offsets);
        Assert.Equal(slowBefore, cache.SlowPlacements);
        Assert.Equal(0u, offsets[0]);
        // the offsets name the labelled instructions: the lea, and the jmp after the link site
        Assert.Equal(Mnemonic.Lea, placed.Single(i => i.IP == rip + offsets[1]).Mnemonic);
        var afterSite = placed.Single(i => i.IP == rip + offsets[2]);
        Assert.Equal(Mnemonic.Jmp, afterSite.Mnemonic);
        Assert.Equal(rip + offsets[1], afterSite.NearBranchTarget);
        // the in-reach forward jne stayed short, the out-of-reach one grew
        var jnes = placed.Where(i => i.Mnemonic == Mnemonic.Jne).ToList();
        Assert.Equal(Code.Jne_rel32_64, jnes[0].Code);
        Assert.Equal(Code.Jne_rel8_64, jnes[1].Code);
        // the link site is still a 5-byte jmp to the next instruction (block linking patches it)
        var site = placed.Single(i => i.IP == rip + offsets[2] - 5);
        Assert.Equal(Code.Jmp_rel32_64, site.Code);
        Assert.Equal(site.NextIP, site.NearBranchTarget);
    }

    [Fact]
    public void EveryConditionsJccIsWrittenAsBlockEncoderWritesIt()
    {
        // LinearEncoder writes jcc, jmp and call itself: all 16 conditions, short (in reach) and near (out of reach);
        // PlaceAndCompare checks every instruction against BlockEncoder's
        var cache = NewCache();
        var a = new Assembler(64);
        var back = a.CreateLabel();
        var far = a.CreateLabel();
        a.Label(ref back);
        a.nop();
        for (int cc = 0; cc < 16; cc++)
        {
            a.AddInstruction(Instruction.CreateBranch(Code.Jo_rel8_64 + 3 * cc, back.Id));
            a.AddInstruction(Instruction.CreateBranch(Code.Jo_rel8_64 + 3 * cc, far.Id));
        }
        for (int i = 0; i < 40; i++) a.mov(__qword_ptr[rbx + 8 * i], rax);
        a.Label(ref far);
        a.ret();
        var (_, placed) = PlaceAndCompare(cache, a, [], new uint[0]);
        var jccs = placed.Where(i => i.FlowControl == FlowControl.ConditionalBranch).ToList();
        Assert.Equal(32, jccs.Count);
        Assert.Contains(jccs, i => i.Code.ToShortBranch() == i.Code);
        Assert.Contains(jccs, i => i.Code.ToNearBranch() == i.Code);
        Assert.Equal(16, jccs.Select(i => i.ConditionCode).Distinct().Count());
    }

    [Fact]
    public void AShortOnlyBranchOutOfReachGoesThroughBlockEncoder()
    {
        var cache = NewCache();
        var a = new Assembler(64);
        var top = a.CreateLabel();
        a.Label(ref top);
        for (int i = 0; i < 40; i++) a.mov(__qword_ptr[rbx + 8 * i], rax);
        a.loop(top); // LOOP has no near form: BlockEncoder rewrites it, LinearEncoder declines the list
        a.ret();
        var (_, placed) = PlaceAndCompare(cache, a, default, default);
        Assert.Equal(1, cache.SlowPlacements);
        Assert.Contains(placed, i => i.Mnemonic == Mnemonic.Loop);
    }

    [Fact]
    public void TranslatedGuestCodeNeverNeedsBlockEncoder()
    {
        using var h = new JitHarness();
        h.RunToEnd("""
            mov x0, #0
            mov x1, #100
            loop:
            add x0, x0, x1
            subs x1, x1, #1
            b.ne loop
            cbz x0, skip
            add x0, x0, #1
            skip:
            ldr x2, [sp, #-16]!
            str x0, [sp], #16
            """);
        Assert.Equal(5051UL, h.X(0));
        Assert.Equal(0, h.Translator.Cache.SlowPlacements);
    }

    [Fact]
    public void ATakenConditionalBranchIsLinkedAtItsJccNotThroughASecondJump()
    {
        // blocks that end at their conditional branch (without superblocks; a superblock's side exit: the next test)
        using var h = new JitHarness(new TranslatorOptions { Superblocks = false });
        // two blocks (a block branching to itself is a loop inside the block: SelfLoopTests)
        h.RunToEnd(TierUpTests.TwoBlockLoop(50));
        Assert.Equal(150UL, h.X(0));
        ulong loopHost = (ulong)h.Translator.Cache.Lookup(JitHarness.CodeAddress + 8);
        ulong host = (ulong)h.Translator.Cache.Lookup(JitHarness.CodeAddress + 16);
        Assert.NotEqual(0UL, loopHost);
        Assert.NotEqual(0UL, host);
        // the second block's first jne (the b.ne) now goes straight to the loop block
        var code = new ReadOnlySpan<byte>((byte*)host, 256).ToArray();
        var d = Decoder.Create(64, new ByteArrayCodeReader(code));
        d.IP = host;
        Instruction jne = default;
        while (d.IP < host + 200)
        {
            d.Decode(out var i);
            if (i.Mnemonic == Mnemonic.Jne && i.NearBranchTarget != 0 && i.Code == Code.Jne_rel32_64 && i.IP > host + 8) { jne = i; break; }
        }
        Assert.Equal(Code.Jne_rel32_64, jne.Code);
        Assert.Equal(loopHost, jne.NearBranchTarget);
        Assert.NotEqual(0UL, (ulong)h.Translator.Cache.Lookup(JitHarness.CodeAddress + 24));
    }

    [Fact]
    public void ASuperblocksSideExitIsLinkedFromItsStubAndTheBlockGoesOn()
    {
        // "b next" ends the loop block (followed, the loop would be one block looping on itself: SelfLoopTests)
        using var h = new JitHarness(new TranslatorOptions { FollowBranches = false });
        h.RunToEnd(TierUpTests.TwoBlockLoop(50));
        Assert.Equal(150UL, h.X(0));
        ulong loopHost = (ulong)h.Translator.Cache.Lookup(JitHarness.CodeAddress + 8);
        ulong host = (ulong)h.Translator.Cache.Lookup(JitHarness.CodeAddress + 16);
        // the b.ne (x1 is dirty at it: subs wrote its host copy) goes forward to its stub, whose linked jmp goes
        // straight to the loop block
        var jne = TierUpTests.Decode(host, 200).First(i => i.Mnemonic == Mnemonic.Jne && i.IP > host + 8);
        Assert.True(jne.NearBranchTarget > jne.IP);
        Assert.Equal(loopHost, TierUpTests.TakenTarget(host));
        // and the block went on past it to the BRK after the b.ne, which has no block of its own (without superblocks
        // the fall-through is one: the previous test's harness)
        Assert.Equal(0UL, (ulong)h.Translator.Cache.Lookup(JitHarness.CodeAddress + 24));
    }

    [Fact]
    public void ASideExitWithNothingToSpillIsLinkedAtItsJcc()
    {
        using var h = new JitHarness(new TranslatorOptions { FollowBranches = false });
        // "next" compares without writing a register: nothing is dirty at its b.ne, so the jcc is the link site
        h.RunToEnd("""
            mov x1, #50
            mov x0, #0
            loop:
            add x0, x0, #3
            sub x1, x1, #1
            b next
            next:
            cmp x1, #0
            b.ne loop
            """);
        Assert.Equal(150UL, h.X(0));
        ulong loopHost = (ulong)h.Translator.Cache.Lookup(JitHarness.CodeAddress + 8);
        ulong host = (ulong)h.Translator.Cache.Lookup(JitHarness.CodeAddress + 20);
        var jne = TierUpTests.Decode(host, 200).First(i => i.Mnemonic == Mnemonic.Jne && i.IP > host + 8);
        Assert.Equal(Code.Jne_rel32_64, jne.Code);
        Assert.Equal(loopHost, jne.NearBranchTarget);
        Assert.Equal(0UL, (ulong)h.Translator.Cache.Lookup(JitHarness.CodeAddress + 28)); // the block went on past it
    }

    [Fact]
    public void PatchRewritesOnlyARel32JumpOrJcc()
    {
        byte[] code = [0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0xE9, 0, 0, 0, 0, 0x90, 0x0F, 0x85, 0, 0, 0, 0, 0x90];
        // one 64-byte line: no displacement straddles a line (Patch refuses those)
        byte* p = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(64, 64);
        try
        {
            code.CopyTo(new Span<byte>(p, code.Length));
            ulong b = (ulong)p;
            Assert.False(CodeCache.Patch(b + 8, b + 100));               // ends in nops
            Assert.True(CodeCache.Patch(b + 13, b + 100));               // jmp rel32
            Assert.Equal(100 - 13, *(int*)(p + 9));
            Assert.True(CodeCache.Patch(b + 20, b + 100));               // jne rel32
            Assert.Equal(100 - 20, *(int*)(p + 16));
        }
        finally { System.Runtime.InteropServices.NativeMemory.AlignedFree(p); }
    }

    [Fact]
    public void LinkSitesNeverStraddleACacheLine()
    {
        // a block exit's shape (a near jcc, the jmp rel32 right after it, a lone jmp rel32) after 0-63 bytes: at some
        // of those starts a displacement would cross a 64-byte line, where linking could not patch it atomically
        var cache = NewCache();
        int padded = 0;
        for (int k = 0; k < 64; k++)
        {
            var a = new Assembler(64);
            var t = a.CreateLabel();
            var u = a.CreateLabel();
            for (int i = 0; i < k; i++) a.nop();
            a.AddInstruction(Instruction.CreateBranch(Code.Jne_rel32_64, t.Id));
            a.db(0xE9, 0, 0, 0, 0);
            a.Label(ref u);
            a.ret();
            a.Label(ref t);
            a.db(0xE9, 0, 0, 0, 0);
            a.ret();
            var (rip, placed) = PlaceAndCompare(cache, a, [u.InstructionIndex, t.InstructionIndex], new uint[2]);
            var jne = placed.Single(i => i.Code == Code.Jne_rel32_64);
            var jmps = placed.Where(i => i.Code == Code.Jmp_rel32_64).ToList();
            Assert.Equal(2, jmps.Count);
            Assert.Equal(jne.NextIP, jmps[0].IP); // the jcc's end is still the jmp after it
            foreach (var site in jmps.Append(jne))
            {
                Assert.True(((site.NextIP - 4) & 63) <= 60, $"k={k}: rel32 of {site} at 0x{site.NextIP - 4:x} crosses a line");
                Assert.True(CodeCache.Patch(site.NextIP, rip), $"k={k}: {site} cannot be linked");
            }
            padded += placed.Take(placed.IndexOf(jne)).Count(i => i.Mnemonic == Mnemonic.Nop) - k;
            Assert.Equal(0, cache.SlowPlacements);
        }
        Assert.True(padded > 0); // some starts needed a nop
    }

    private static Assembler Filler(int n)
    {
        var a = new Assembler(64);
        for (int i = 0; i < n; i++) a.nop();
        a.ret();
        return a;
    }
}
