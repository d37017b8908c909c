using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// DirectEncoder writes the instruction forms translated code is mostly made of without Iced's Encoder: every one must
/// give Iced's bytes, for every register and every kind of memory operand (bases that need a SIB or a displacement of
/// 0, indexes, scales, displacements at the byte/dword edges), and it must take the operands translated code uses.
/// </summary>
public sealed unsafe class DirectEncoderTests
{
    private static readonly Register[] Gpr64 = Enumerable.Range(0, 16).Select(i => Register.RAX + i).ToArray();
    private static readonly long[] Disps = [0, 1, -1, 8, 0x7F, 0x80, -0x80, -0x81, 0x348, 0x7FFFFFFF, -0x80000000L];

    private static byte[] Iced(in Instruction insn)
    {
        var w = new Writer();
        Assert.True(Encoder.Create(64, w).TryEncode(insn, 0x1000, out _, out string? error), error);
        return w.Bytes.ToArray();
    }

    private static byte[]? Direct(in Instruction insn)
    {
        byte* buf = stackalloc byte[16];
        int n = DirectEncoder.TryEncode(insn, buf);
        return n == 0 ? null : new ReadOnlySpan<byte>(buf, n).ToArray();
    }

    private sealed class Writer : CodeWriter
    {
        public readonly List<byte> Bytes = new();
        public override void WriteByte(byte value) => Bytes.Add(value);
    }

    private static IEnumerable<MemoryOperand> Memories()
    {
        var rng = new Random(11);
        foreach (var b in Gpr64)
            foreach (long d in Disps)
                foreach (int displSize in new[] { 0, 1, 8 })
                {
                    if (displSize == 0 && d != 0) continue; // Iced refuses it
                    yield return new MemoryOperand(b, Register.None, 1, d, displSize);
                    var index = Gpr64[rng.Next(16)];
                    if (index != Register.RSP) yield return new MemoryOperand(b, index, 1 << rng.Next(4), d, displSize);
                }
    }

    private static void Same(in Instruction insn)
    {
        var direct = Direct(insn);
        Assert.True(direct != null, $"{insn} ({insn.Code}) is not taken");
        Assert.Equal(Convert.ToHexString(Iced(insn)), Convert.ToHexString(direct!));
    }

    [Fact]
    public void RegisterAndMemoryFormsGiveIcedsBytes()
    {
        (Code Code, Register First)[] regReg =
        [
            (Code.Mov_rm64_r64, Register.RAX), (Code.Mov_rm32_r32, Register.EAX), (Code.Mov_rm16_r16, Register.AX),
            (Code.Mov_r64_rm64, Register.RAX), (Code.Mov_r32_rm32, Register.EAX), (Code.Cmp_rm64_r64, Register.RAX),
            (Code.Cmp_rm32_r32, Register.EAX),
        ];
        int n = 0;
        foreach (var (code, first) in regReg)
        {
            bool toMemory = code is Code.Mov_rm64_r64 or Code.Mov_rm32_r32 or Code.Mov_rm16_r16 or Code.Cmp_rm64_r64 or Code.Cmp_rm32_r32;
            for (int a = 0; a < 16; a++)
            {
                for (int b = 0; b < 16; b++, n++) Same(Instruction.Create(code, first + a, first + b));
                foreach (var m in Memories())
                {
                    Same(toMemory ? Instruction.Create(code, m, first + a) : Instruction.Create(code, first + a, m));
                    n++;
                }
            }
        }
        foreach (var r in Gpr64)
            foreach (var m in Memories()) { Same(Instruction.Create(Code.Lea_r64_m, r, m)); n++; }
        Assert.True(n > 10_000);
    }

    [Fact]
    public void ImmediateFormsGiveIcedsBytes()
    {
        (Code Code, Register First, int[] Imms)[] forms =
        [
            (Code.Mov_rm64_imm32, Register.RAX, [0, 1, -1, 0x7FFFFFFF, int.MinValue, 0x400780]),
            (Code.Mov_rm32_imm32, Register.EAX, [0, 5, -2, int.MaxValue]),
            (Code.Add_rm64_imm8, Register.RAX, [0, 1, -1, 127, -128]),
            (Code.Add_rm32_imm8, Register.EAX, [0, 1, -1, 127, -128]),
            (Code.Sub_rm64_imm8, Register.RAX, [1, -1, 127, -128]),
            (Code.Sub_rm32_imm8, Register.EAX, [1, -1, 127, -128]),
            (Code.Cmp_rm64_imm8, Register.RAX, [0, 0x41, -1, -128]),
            (Code.Cmp_rm32_imm8, Register.EAX, [0, 1, -1, 127]),
            (Code.Add_rm64_imm32, Register.RAX, [0x80, -0x81, int.MaxValue, int.MinValue]),
        ];
        foreach (var (code, first, imms) in forms)
            foreach (int imm in imms)
            {
                for (int r = 0; r < 16; r++) Same(Instruction.Create(code, first + r, imm));
                foreach (var m in Memories()) Same(Instruction.Create(code, m, imm));
            }
        foreach (ulong imm in new ulong[] { 0, 1, 0xFFFFFFFF, 0x8000_0000, 0xFDFFE629C8, ulong.MaxValue })
            for (int r = 0; r < 16; r++)
            {
                Same(Instruction.Create(Code.Mov_r64_imm64, Register.RAX + r, imm));
                Same(Instruction.Create(Code.Mov_r32_imm32, Register.EAX + r, (uint)imm));
            }
        Same(Instruction.Create(Code.Lahf));
        Same(Instruction.Create(Code.Sahf));
        for (int r = 0; r < 4; r++) Same(Instruction.Create(Code.Seto_rm8, Register.AL + r));
        Same(Instruction.CreateDeclareByte(0xE9, 0, 0, 0, 0));
    }

    [Fact]
    public void WhatItDoesNotTakeGoesToIced()
    {
        Assert.Null(Direct(Instruction.Create(Code.Seto_rm8, Register.SIL)));                             // needs a REX
        Assert.Null(Direct(Instruction.Create(Code.Seto_rm8, Register.AH)));
        Assert.Null(Direct(Instruction.Create(Code.Mov_r64_rm64, Register.RAX, new MemoryOperand(Register.RIP, 0x40))));
        Assert.Null(Direct(Instruction.Create(Code.Mov_r64_rm64, Register.RAX, new MemoryOperand(Register.None, 0x40, 4))));
        Assert.Null(Direct(Instruction.Create(Code.Mov_r64_rm64, Register.RAX, new MemoryOperand(Register.RBX, Register.None, 1, 0, 0, false, Register.FS))));
        var locked = Instruction.Create(Code.Add_rm64_imm8, new MemoryOperand(Register.RBX, 8), 1);
        locked.HasLockPrefix = true;
        Assert.Null(Direct(locked));
        Assert.Null(Direct(Instruction.Create(Code.Xor_rm64_r64, Register.RAX, Register.RCX)));          // not a form it has
    }

    /// <summary>Every table row's emitter, on random encodings of the row, translated with LinearEncoder checking each
    /// instruction DirectEncoder takes against Iced (a difference throws).</summary>
    [Fact]
    public void TranslatedGuestCodeEncodesAsIcedWould()
    {
        var rng = new Random(5);
        LinearEncoder.CheckDirect = true;
        try
        {
            using var h = new JitHarness();
            ulong pc = JitHarness.CodeAddress;
            foreach (var row in OpCodeTable.All)
                for (int k = 0; k < 8; k++)
                {
                    uint word = row.Value | ((uint)rng.Next() << 1 ^ (uint)rng.Next()) & ~row.Mask;
                    *(uint*)h.Memory(pc) = word;
                    *(uint*)h.Memory(pc + 4) = 0xD4200000; // brk #0
                    Assert.NotEqual(0, h.Translator.GetOrTranslate(pc));
                    pc += 8;
                    if (pc >= JitHarness.CodeAddress + (8UL << 20)) pc = JitHarness.CodeAddress + 4 * (ulong)k;
                }
        }
        finally { LinearEncoder.CheckDirect = false; }
    }
}
