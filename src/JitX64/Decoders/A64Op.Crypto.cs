namespace Dqemu.JitX64.Decoders;

/// <summary>Fields of the cryptographic extension's groups that the SIMD fields (A64Op.Simd.cs) do not cover.</summary>
public readonly partial struct A64Op
{
    /// <summary>Bit 21 of the SHA1/SHA256 groups: set in the two-register group (bits 21..17 are 10100), clear in the
    /// three-register one.</summary>
    public bool ShaTwoRegister => B(21);
    /// <summary>Bit 23 of the SHA-512 groups: set in the two-register group (SHA512SU0), clear in the three-register one
    /// (SHA512H, SHA512H2, SHA512SU1, RAX1).</summary>
    public bool Sha512TwoRegister => B(23);
}
