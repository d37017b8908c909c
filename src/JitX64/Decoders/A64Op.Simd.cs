using System.Numerics;

namespace Dqemu.JitX64.Decoders;

/// <summary>Fields of the Advanced SIMD groups (vector and scalar) and the crypto extensions.</summary>
public readonly partial struct A64Op
{
    /// <summary>Q of the vector groups: the whole 128-bit vector. False in the scalar groups, which always work on at
    /// most 64 bits (their bit 30 is a fixed 1).</summary>
    public bool VectorQ => Q && !Scalar;
    /// <summary>opcode, bits 15..11 of three same (vector and scalar).</summary>
    public int ThreeSameOpcode => F(11, 5);
    /// <summary>opcode, bits 13..11 of three same (floating point, with U and bit 23; FP16 three same).</summary>
    public int FpThreeSameOpcode => F(11, 3);
    /// <summary>opcode, bits 16..12 of two-register miscellaneous, across lanes and scalar pairwise (and the crypto
    /// two-register groups).</summary>
    public int MiscOpcode => F(12, 5);
    /// <summary>opcode, bits 15..12 of three different, by element (indexed) and modified immediate's cmode.</summary>
    public int Opcode4 => F(12, 4);
    /// <summary>cmode, bits 15..12 of modified immediate (MOVI, MVNI, ORR, BIC, FMOV).</summary>
    public int Cmode => F(12, 4);
    /// <summary>a:b:c (bits 18..16) : d:e:f:g:h (bits 9..5): modified immediate's imm8.</summary>
    public int SimdImm8 => (F(16, 3) << 5) | F(5, 5);
    /// <summary>H, bit 11 of by element: the index's high bit.</summary>
    public bool IndexH => B(11);
    /// <summary>L, bit 21 of by element.</summary>
    public bool IndexL => B(21);
    /// <summary>M, bit 20 of by element (Rm's high bit, or the index's low bit for 16-bit elements).</summary>
    public bool IndexM => B(20);
    /// <summary>Rm, bits 19..16 of by element with 16-bit elements (V0..V15).</summary>
    public int Rm4 => F(16, 4);
    /// <summary>immh, bits 22..19 of shift by immediate (its highest set bit gives the element size).</summary>
    public int Immh => F(19, 4);
    /// <summary>immh:immb, bits 22..16 of shift by immediate.</summary>
    public int ImmHB => F(16, 7);
    /// <summary>opcode, bits 15..11 of shift by immediate (vector and scalar).</summary>
    public int ShiftOpcode => F(11, 5);
    /// <summary>esize of shift by immediate: 8 &lt;&lt; the highest set bit of immh (never 0 in that group).</summary>
    public int ShiftEsize => 8 << (31 - BitOperations.LeadingZeroCount((uint)Immh));
    /// <summary>The right shift of shift by immediate, 2 * esize - immh:immb (SSHR, SHRN, ...; the fbits of SCVTF and
    /// FCVTZS, fixed point).</summary>
    public int RightShift => 2 * ShiftEsize - ImmHB;
    /// <summary>The left shift of shift by immediate, immh:immb - esize (SHL, SQSHL, SSHLL, ...).</summary>
    public int LeftShift => ImmHB - ShiftEsize;
    /// <summary>imm4, bits 14..11: EXT's byte index; INS (element)'s source index.</summary>
    public int Imm4 => F(11, 4);
    /// <summary>len, bits 14..13 of TBL/TBX: the table has len + 1 registers.</summary>
    public int TableLen => F(13, 2);
    /// <summary>op, bit 12 of TBL/TBX: TBX (out-of-range indices keep the destination's byte).</summary>
    public bool Tbx => B(12);
    /// <summary>opcode, bits 14..12 of permute (UZP1, TRN1, ZIP1, UZP2, TRN2, ZIP2).</summary>
    public int PermuteOpcode => F(12, 3);
    /// <summary>opcode, bits 14..12 of the SHA1/SHA256 three-register group (SHA1C ... SHA256SU1).</summary>
    public int Sha3RegOpcode => F(12, 3);
    /// <summary>opcode, bits 11..10 of the SHA-512 two-register and three-register groups.</summary>
    public int Sha512Opcode => F(10, 2);
}
