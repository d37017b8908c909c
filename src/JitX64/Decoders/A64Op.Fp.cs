namespace Dqemu.JitX64.Decoders;

/// <summary>Fields of the scalar floating-point groups.</summary>
public readonly partial struct A64Op
{
    /// <summary>ftype, bits 23..22: 0 single, 1 double, 3 half (2 reserved).</summary>
    public int Ftype => F(22, 2);
    /// <summary>opcode, bits 20..15 of FP data-processing (1 source): FMOV, FABS, FNEG, FSQRT, FCVT, FRINT*.</summary>
    public int FpOpcode1 => F(15, 6);
    /// <summary>opc, bits 16..15 of FCVT: the destination's ftype.</summary>
    public int FcvtTo => F(15, 2);
    /// <summary>rmode, bits 17..15 of FRINT*: N, P, M, Z, A, (reserved), X, I.</summary>
    public int FrintMode => F(15, 3);
    /// <summary>opcode, bits 15..12 of FP data-processing (2 source): FMUL, FDIV, FADD, FSUB, FMAX, FMIN, FMAXNM,
    /// FMINNM, FNMUL.</summary>
    public int FpOpcode2 => F(12, 4);
    /// <summary>opc bit 3 of FCMP/FCMPE: compare with zero.</summary>
    public bool CmpWithZero => B(3);
    /// <summary>opc bit 4 of FCMP/FCMPE and FCCMP/FCCMPE: signalling (E) compare.</summary>
    public bool CmpSignalling => B(4);
    /// <summary>imm8, bits 20..13 of FMOV (scalar, immediate).</summary>
    public int FpImm8 => F(13, 8);
    /// <summary>o1, bit 21 of FP data-processing (3 source): FNMADD/FNMSUB.</summary>
    public bool O1 => B(21);
    /// <summary>o0, bit 15 of FP data-processing (3 source): FMSUB/FNMSUB.</summary>
    public bool O0 => B(15);

    // ---- conversions between floating point and integer ----
    /// <summary>Bit 21 clear: the fixed-point conversions (SCVTF/UCVTF/FCVTZS/FCVTZU with fbits).</summary>
    public bool FixedPoint => !B(21);
    /// <summary>rmode, bits 20..19: N, P, M, Z (FCVT*S/U), and FMOV's forms.</summary>
    public int Rmode => F(19, 2);
    /// <summary>opcode, bits 18..16: FCVT*S, FCVT*U, SCVTF, UCVTF, FCVTA*, FMOV.</summary>
    public int ConvOpcode => F(16, 3);
    /// <summary>scale, bits 15..10 of the fixed-point conversions: fbits = 64 - scale.</summary>
    public int Scale => F(10, 6);
    /// <summary>fbits of the fixed-point conversions.</summary>
    public int FBits => 64 - Scale;
}
