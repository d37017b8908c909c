using Iced.Intel;

namespace Dqemu.JitX64.Translation;

/// <summary>
/// Encodes the few instruction forms translated code is mostly made of (moves between registers, CpuState and guest
/// memory, immediates, compares and adds with a byte, the flag moves, a link site's bytes) straight from the Iced
/// <see cref="Instruction"/>, without Iced's <see cref="Encoder"/>: counted over python3's start, these forms are 95%
/// of what <see cref="LinearEncoder"/> encodes, and the Encoder (its handler tables and a virtual call per byte) was most
/// of a block's placement. Anything else, or a form with an operand this does not take (a prefix, a segment, an 8-bit
/// register other than AL-BL, RIP-relative or absolute memory), returns 0 and goes to Iced. Every form is checked
/// against Iced's own bytes in DirectEncoderTests.
/// </summary>
internal static unsafe class DirectEncoder
{
    /// <summary>Writes <paramref name="insn"/>'s bytes at <paramref name="dst"/> (room for 16) and returns their number, or
    /// 0 when the form is not one handled here.</summary>
    public static int TryEncode(in Instruction insn, byte* dst)
    {
        if (insn.HasLockPrefix || insn.HasRepPrefix || insn.HasRepnePrefix || insn.SegmentPrefix != Register.None) return 0;
        switch (insn.Code)
        {
            case Code.Mov_rm64_r64: return RmReg(dst, insn, 0, 8, 0x89, Gpr(insn.Op1Register, Register.RAX), 0, 0);
            case Code.Mov_rm32_r32: return RmReg(dst, insn, 0, 4, 0x89, Gpr(insn.Op1Register, Register.EAX), 0, 0);
            case Code.Mov_rm16_r16: return RmReg(dst, insn, 0, 2, 0x89, Gpr(insn.Op1Register, Register.AX), 0, 0);
            case Code.Mov_r64_rm64: return RmReg(dst, insn, 1, 8, 0x8B, Gpr(insn.Op0Register, Register.RAX), 0, 0);
            case Code.Mov_r32_rm32: return RmReg(dst, insn, 1, 4, 0x8B, Gpr(insn.Op0Register, Register.EAX), 0, 0);
            case Code.Cmp_rm64_r64: return RmReg(dst, insn, 0, 8, 0x39, Gpr(insn.Op1Register, Register.RAX), 0, 0);
            case Code.Cmp_rm32_r32: return RmReg(dst, insn, 0, 4, 0x39, Gpr(insn.Op1Register, Register.EAX), 0, 0);
            case Code.Lea_r64_m: return insn.Op1Kind == OpKind.Memory ? RmReg(dst, insn, 1, 8, 0x8D, Gpr(insn.Op0Register, Register.RAX), 0, 0) : 0;
            case Code.Mov_rm64_imm32: return RmReg(dst, insn, 0, 8, 0xC7, 0, 4, insn.Immediate32);
            case Code.Mov_rm32_imm32: return RmReg(dst, insn, 0, 4, 0xC7, 0, 4, insn.Immediate32);
            case Code.Add_rm64_imm8: return RmReg(dst, insn, 0, 8, 0x83, 0, 1, insn.Immediate8);
            case Code.Add_rm32_imm8: return RmReg(dst, insn, 0, 4, 0x83, 0, 1, insn.Immediate8);
            case Code.Sub_rm64_imm8: return RmReg(dst, insn, 0, 8, 0x83, 5, 1, insn.Immediate8);
            case Code.Sub_rm32_imm8: return RmReg(dst, insn, 0, 4, 0x83, 5, 1, insn.Immediate8);
            case Code.Cmp_rm64_imm8: return RmReg(dst, insn, 0, 8, 0x83, 7, 1, insn.Immediate8);
            case Code.Cmp_rm32_imm8: return RmReg(dst, insn, 0, 4, 0x83, 7, 1, insn.Immediate8);
            case Code.Add_rm64_imm32: return RmReg(dst, insn, 0, 8, 0x81, 0, 4, insn.Immediate32);
            case Code.Mov_r32_imm32: return RegInOpcode(dst, Gpr(insn.Op0Register, Register.EAX), false, 0xB8, 4, insn.Immediate32);
            case Code.Mov_r64_imm64: return RegInOpcode(dst, Gpr(insn.Op0Register, Register.RAX), true, 0xB8, 8, insn.Immediate64);
            // a compact exit's data (EmitterContext.Exits.cs)
            case Code.DeclareQword when insn.DeclareDataCount == 1: *(ulong*)dst = insn.GetDeclareQwordValue(0); return 8;
            case Code.DeclareDword when insn.DeclareDataCount == 1: *(uint*)dst = insn.GetDeclareDwordValue(0); return 4;
            case Code.Lahf: dst[0] = 0x9F; return 1;
            case Code.Sahf: dst[0] = 0x9E; return 1;
            case Code.Seto_rm8:
                // AL-BL only: SPL-DIL need a REX, AH-BH must not have one
                if (insn.Op0Kind != OpKind.Register || insn.Op0Register < Register.AL || insn.Op0Register > Register.BL) return 0;
                dst[0] = 0x0F; dst[1] = 0x90; dst[2] = (byte)(0xC0 | (insn.Op0Register - Register.AL));
                return 3;
            case Code.DeclareByte:
            {
                int n = insn.DeclareDataCount;
                for (int i = 0; i < n; i++) dst[i] = insn.GetDeclareByteValue(i);
                return n;
            }
            default: return 0;
        }
    }

    /// <summary>The number (0-15) of <paramref name="r"/> among the 16 registers of the size <paramref name="first"/>
    /// starts, or -1.</summary>
    private static int Gpr(Register r, Register first)
    {
        int n = r - first;
        return n is >= 0 and < 16 ? n : -1;
    }

    /// <summary>
    /// [66] [REX] opcode ModRM [SIB] [disp] [imm]: the r/m operand is operand <paramref name="rmOp"/> (a register of
    /// <paramref name="size"/> bytes or memory), the reg field <paramref name="reg"/> a register number or an opcode
    /// extension; <paramref name="immSize"/> bytes of <paramref name="imm"/> follow.
    /// </summary>
    private static int RmReg(byte* dst, in Instruction insn, int rmOp, int size, byte opcode, int reg, int immSize, ulong imm)
    {
        if (reg < 0) return 0;
        int rex = (size == 8 ? 0x48 : 0) | (reg >= 8 ? 0x44 : 0);
        // the r/m operand first: it decides the REX's X and B bits, which go before the opcode
        int modrm, sib = -1, dispSize = 0;
        long disp = 0;
        var kind = rmOp == 0 ? insn.Op0Kind : insn.Op1Kind;
        if (kind == OpKind.Register)
        {
            int rm = Gpr(rmOp == 0 ? insn.Op0Register : insn.Op1Register,
                size == 8 ? Register.RAX : size == 4 ? Register.EAX : Register.AX);
            if (rm < 0) return 0;
            if (rm >= 8) rex |= 0x41;
            modrm = 0xC0 | (reg & 7) << 3 | (rm & 7);
        }
        else if (kind == OpKind.Memory)
        {
            int b = Gpr(insn.MemoryBase, Register.RAX);
            if (b < 0) return 0; // no base (absolute), RIP-relative, a 32-bit address: Iced's
            int x = -1;
            if (insn.MemoryIndex != Register.None)
            {
                x = Gpr(insn.MemoryIndex, Register.RAX);
                if (x < 0 || x == 4) return 0;
                if (x >= 8) rex |= 0x42;
            }
            if (b >= 8) rex |= 0x41;
            disp = (long)insn.MemoryDisplacement64;
            // as Iced: no displacement only when it is 0 and none was asked for (MemoryDisplSize 0), a dword when one
            // was (8), else the smallest
            int displSize = insn.MemoryDisplSize;
            if (disp != (int)disp || displSize is not (0 or 1 or 8) || displSize == 0 && disp != 0) return 0; // (Iced refuses the last)
            int mod = displSize == 8 ? 2 : disp == 0 && displSize == 0 && (b & 7) != 5 ? 0 : disp == (sbyte)disp ? 1 : 2;
            dispSize = mod == 1 ? 1 : mod == 2 ? 4 : 0;
            if (x < 0 && (b & 7) != 4)
                modrm = mod << 6 | (reg & 7) << 3 | (b & 7);
            else
            {
                int scale = insn.MemoryIndexScale switch { 1 => 0, 2 => 1, 4 => 2, 8 => 3, _ => -1 };
                if (scale < 0) return 0;
                modrm = mod << 6 | (reg & 7) << 3 | 4;
                sib = scale << 6 | (x < 0 ? 4 : x & 7) << 3 | (b & 7);
            }
        }
        else return 0;
        byte* p = dst;
        if (size == 2) *p++ = 0x66;
        if (rex != 0) *p++ = (byte)rex;
        *p++ = opcode;
        *p++ = (byte)modrm;
        if (sib >= 0) *p++ = (byte)sib;
        if (dispSize == 1) *p++ = (byte)disp;
        else if (dispSize == 4) { *(int*)p = (int)disp; p += 4; }
        if (immSize == 1) *p++ = (byte)imm;
        else if (immSize == 4) { *(uint*)p = (uint)imm; p += 4; }
        return (int)(p - dst);
    }

    /// <summary>[REX] (opcode + register) imm: mov r32, imm32 and mov r64, imm64.</summary>
    private static int RegInOpcode(byte* dst, int reg, bool w, byte opcode, int immSize, ulong imm)
    {
        if (reg < 0) return 0;
        byte* p = dst;
        int rex = (w ? 0x48 : 0) | (reg >= 8 ? 0x41 : 0);
        if (rex != 0) *p++ = (byte)rex;
        *p++ = (byte)(opcode + (reg & 7));
        if (immSize == 4) { *(uint*)p = (uint)imm; p += 4; }
        else { *(ulong*)p = imm; p += 8; }
        return (int)(p - dst);
    }
}
