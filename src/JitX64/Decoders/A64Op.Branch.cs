namespace Dqemu.JitX64.Decoders;

/// <summary>Fields of branches, exception generation and system instructions.</summary>
public readonly partial struct A64Op
{
    /// <summary>B and BL's byte offset: imm26 (bits 25..0) times 4, sign-extended.</summary>
    public long Offset26 => S(0, 26) * 4;
    /// <summary>imm19 (bits 23..5) times 4, sign-extended: the offset of B.cond, CBZ/CBNZ and LDR (literal).</summary>
    public long Offset19 => S(5, 19) * 4;
    /// <summary>TBZ/TBNZ's byte offset: imm14 (bits 18..5) times 4, sign-extended.</summary>
    public long Offset14 => S(5, 14) * 4;
    /// <summary>TBZ/TBNZ's bit number: b5 (bit 31) : b40 (bits 23..19).</summary>
    public int TestBit => (F(31, 1) << 5) | F(19, 5);
    /// <summary>B.cond's condition, bits 3..0.</summary>
    public int BranchCond => F(0, 4);
    /// <summary>The system register of MRS/MSR: o0:op1:CRn:CRm:op2, bits 19..5.</summary>
    public int SysReg => F(5, 15);
    /// <summary>CRm, bits 11..8 (barriers' option, MSR immediate's value).</summary>
    public int CRm => F(8, 4);
}
