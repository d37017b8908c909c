namespace Dqemu.JitX64.Decoders;

/// <summary>
/// An A64 instruction as its emitter sees it: the encoding's fields, named as the Arm ARM names them and typed
/// (register numbers and unsigned fields as int, single bits as bool, offsets already sign-extended and scaled).
/// Every bit position lives here and in the OpCodeTable rows: emitters, and the C# implementations translated code
/// calls, read fields by name and never the word (EmitterRulesTests holds them to it). A field belongs to the
/// encoding groups named in its comment; read from another group it means nothing.
/// The general fields are in this file, the groups' own in A64Op.{Alu,Branch,Memory,Fp,Simd,Crypto}.cs.
/// </summary>
public readonly partial struct A64Op
{
    private readonly uint _word;

    public A64Op(uint word) => _word = word;

    /// <summary>The instruction word, for the disassembler, the fuzzer and the one place translated code hands it to a
    /// C# implementation at run time (InstEmit.EmitSoft; SoftRegistry makes an A64Op of it again).</summary>
    public uint Word => _word;

    private int F(int lo, int width) => (int)((_word >> lo) & ((1u << width) - 1));
    private bool B(int bit) => ((_word >> bit) & 1) != 0;
    private long S(int lo, int width) => (long)((ulong)_word << (64 - lo - width)) >> (64 - width);

    // ---- registers ----
    /// <summary>Rd, bits 4..0 (the destination; Vd in SIMD and FP).</summary>
    public int Rd => F(0, 5);
    /// <summary>Rt, bits 4..0: the transfer register of loads and stores (the same bits as Rd).</summary>
    public int Rt => F(0, 5);
    /// <summary>Rn, bits 9..5 (the base register of loads and stores).</summary>
    public int Rn => F(5, 5);
    /// <summary>Rm, bits 20..16.</summary>
    public int Rm => F(16, 5);
    /// <summary>Rs, bits 20..16: the status register of store-exclusive, the compare value of CAS and the source of
    /// atomic memory operations.</summary>
    public int Rs => F(16, 5);
    /// <summary>Ra, bits 14..10: the addend of multiply-add (MADD, FMADD).</summary>
    public int Ra => F(10, 5);
    /// <summary>Rt2, bits 14..10: the second register of a pair.</summary>
    public int Rt2 => F(10, 5);

    // ---- bits many groups share ----
    /// <summary>sf, bit 31: a 64-bit operation (integer groups, FP/integer conversions).</summary>
    public bool Sf => B(31);
    /// <summary>Q, bit 30: the whole 128-bit vector (SIMD); the second half (the "2" forms: SADDL2, XTN2, ...).</summary>
    public bool Q => B(30);
    /// <summary>U, bit 29: unsigned (SIMD), and the second opcode bit of several SIMD groups.</summary>
    public bool U => B(29);
    /// <summary>Bit 28: set in the SIMD scalar groups, clear in the vector ones.</summary>
    public bool Scalar => B(28);
    /// <summary>size, bits 23..22 (SIMD element size: 8 &lt;&lt; size bits).</summary>
    public int Size => F(22, 2);
    /// <summary>sz, bit 22: double precision (SIMD floating point, FP scalar when ftype is 0 or 1).</summary>
    public bool Sz => B(22);
    /// <summary>Bit 23: the upper bit of size, an opcode bit in the SIMD floating-point groups (FSUB/FMIN/...; "a"
    /// or "o2" in the Arm ARM).</summary>
    public bool SizeHigh => B(23);
    /// <summary>cond, bits 15..12 (CSEL, CCMP, FCSEL, FCCMP).</summary>
    public int Cond => F(12, 4);
    /// <summary>nzcv, bits 3..0: the flags CCMP and FCCMP set when the condition fails.</summary>
    public int Nzcv => F(0, 4);
    /// <summary>imm5, bits 20..16 (CCMP immediate; DUP/INS/UMOV/SMOV's size and index).</summary>
    public int Imm5 => F(16, 5);

    public override string ToString() => $"0x{_word:x8}";
}
