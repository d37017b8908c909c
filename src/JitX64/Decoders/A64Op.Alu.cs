namespace Dqemu.JitX64.Decoders;

/// <summary>Fields of the integer data-processing groups (add/subtract, logical, move wide, bitfield, conditional).</summary>
public readonly partial struct A64Op
{
    /// <summary>imm12, bits 21..10: add/subtract immediate; the unsigned offset of LDR/STR (immediate, unsigned
    /// offset) before scaling.</summary>
    public int Imm12 => F(10, 12);
    /// <summary>sh, bit 22: add/subtract immediate shifted left by 12.</summary>
    public bool Sh => B(22);
    /// <summary>shift, bits 23..22: LSL, LSR, ASR, ROR (shifted register forms; 3 is reserved for add/subtract).</summary>
    public int Shift => F(22, 2);
    /// <summary>imm6, bits 15..10: the shift amount of shifted-register forms; the lsb of EXTR; XAR's rotation.</summary>
    public int Imm6 => F(10, 6);
    /// <summary>option, bits 15..13: the extend of extended-register forms and of register-offset loads and stores.</summary>
    public int Option => F(13, 3);
    /// <summary>imm3, bits 12..10: the left shift after the extend (extended-register add/subtract).</summary>
    public int Imm3 => F(10, 3);
    /// <summary>N, bit 21 of logical (shifted register): Rm inverted (BIC, ORN, EON, BICS).</summary>
    public bool InvertRm => B(21);
    /// <summary>N, bit 22 of logical (immediate) and bitfield.</summary>
    public bool N => B(22);
    /// <summary>immr, bits 21..16 (logical immediate, bitfield).</summary>
    public int Immr => F(16, 6);
    /// <summary>imms, bits 15..10 (logical immediate, bitfield).</summary>
    public int Imms => F(10, 6);
    /// <summary>hw, bits 22..21: move wide's shift in halfwords.</summary>
    public int Hw => F(21, 2);
    /// <summary>imm16, bits 20..5: move wide's immediate; the immediate of SVC, BRK, HVC, ...</summary>
    public int Imm16 => F(5, 16);
    /// <summary>ADR's byte offset (ADRP's in pages): immhi:immlo, sign-extended.</summary>
    public long AdrOffset => (S(5, 19) << 2) | (long)F(29, 2);
    /// <summary>The logical immediate of AND/ORR/EOR/ANDS (immediate), or null when the encoding is reserved.</summary>
    public ulong? LogicalImmediate
        => !Sf && N ? null
         : A64Bits.DecodeBitMasks(N ? 1u : 0, (uint)Imms, (uint)Immr, true, Sf ? 64 : 32, out ulong w, out _) ? w : null;
}
