namespace Dqemu.JitX64.Decoders;

/// <summary>Fields of the load and store groups.</summary>
public readonly partial struct A64Op
{
    /// <summary>size, bits 31..30: the access is 1 &lt;&lt; size bytes (integer loads and stores, exclusives, atomics).</summary>
    public int LsSize => F(30, 2);
    /// <summary>opc, bits 31..30 of load/store pair and LDR (literal): 32-bit, signed 32-bit / 64-bit, 64-bit (SIMD:
    /// S, D, Q).</summary>
    public int PairOpc => F(30, 2);
    /// <summary>opc, bits 23..22 of single-register loads and stores: store, load, load signed to 64, signed to 32
    /// (with V, bit 23 set means a 128-bit access).</summary>
    public int LsOpc => F(22, 2);
    /// <summary>V, bit 26: the transfer register is a SIMD/FP register.</summary>
    public bool V => B(26);
    /// <summary>L, bit 22: a load (load/store pair, SIMD structure loads and stores).</summary>
    public bool L => B(22);
    /// <summary>imm9, bits 20..12, sign-extended: the byte offset of unscaled, pre- and post-indexed forms.</summary>
    public long SImm9 => S(12, 9);
    /// <summary>Bits 11..10 of the imm9 forms: 0 unscaled offset, 1 post-indexed, 2 unprivileged, 3 pre-indexed.</summary>
    public int Imm9Index => F(10, 2);
    /// <summary>imm7, bits 21..15, sign-extended (load/store pair; scaled by the access size).</summary>
    public long SImm7 => S(15, 7);
    /// <summary>Bits 24..23 of load/store pair: 0 no-allocate offset, 1 post-indexed, 2 offset, 3 pre-indexed.</summary>
    public int PairIndex => F(23, 2);
    /// <summary>S, bit 12 of register-offset loads and stores: the index is shifted by the access size.</summary>
    public bool IndexScaled => B(12);
    /// <summary>sz, bit 30 of LDXP/STXP/LDAXP/STLXP and CASP: 64-bit registers (a 16-byte pair).</summary>
    public bool PairSz => B(30);
    /// <summary>o3:opc, bits 15..12 of the atomic memory operations: ADD, CLR, EOR, SET, SMAX, SMIN, UMAX, UMIN, SWP (8).</summary>
    public int AtomicOpc => F(12, 4);
    /// <summary>Bits 29..27: 001 in the load/store-ordered and exclusive group, 111 in the atomic group (LDAPR).</summary>
    public int MemGroup => F(27, 3);

    // ---- SIMD structure loads and stores (LD1..LD4, ST1..ST4, LD1R..LD4R) ----
    /// <summary>Bit 23: the post-indexed forms.</summary>
    public bool PostIndex => B(23);
    /// <summary>R, bit 21 of the single-structure forms (with opcode&lt;0&gt;: the number of registers).</summary>
    public bool StructR => B(21);
    /// <summary>opcode, bits 15..12 of the multiple-structure forms (LD1..LD4 and their register counts).</summary>
    public int StructOpcode => F(12, 4);
    /// <summary>opcode, bits 15..13 of the single-structure forms.</summary>
    public int SingleOpcode => F(13, 3);
    /// <summary>S, bit 12 of the single-structure forms (part of the lane index).</summary>
    public bool StructS => B(12);
    /// <summary>size, bits 11..10 of structure loads and stores.</summary>
    public int StructSize => F(10, 2);
}
