using Dqemu.JitX64.Instructions;

namespace Dqemu.JitX64.Decoders;

/// <summary>
/// The cryptographic extension (FEAT_AES, FEAT_PMULL, FEAT_SHA1, FEAT_SHA256, FEAT_SHA512, FEAT_SHA3): the AES group,
/// the three- and two-register SHA groups, PMULL/PMULL2 with 64-bit elements (size = 11 of the "three different" PMULL;
/// the 8-bit form is in OpCodeTable.Simd.cs), the SHA512 groups and SHA3's EOR3, BCAX, RAX1 and XAR. Formats follow
/// GNU objdump.
/// </summary>
public static partial class OpCodeTable
{
    static partial void AddCrypto(List<InstDescriptor> t)
    {
        // Cryptographic AES: 01001110 size=00 10100 opcode 10 Rn Rd
        t.Add("AESE", "0100111000101000010010nnnnnddddd", InstEmit.Aes, "aese {Vd}.16b, {Vn}.16b");
        t.Add("AESD", "0100111000101000010110nnnnnddddd", InstEmit.Aes, "aesd {Vd}.16b, {Vn}.16b");
        t.Add("AESMC", "0100111000101000011010nnnnnddddd", InstEmit.Aes, "aesmc {Vd}.16b, {Vn}.16b");
        t.Add("AESIMC", "0100111000101000011110nnnnnddddd", InstEmit.Aes, "aesimc {Vd}.16b, {Vn}.16b");

        // Cryptographic three-register SHA: 01011110 size=00 0 Rm 0 opcode 00 Rn Rd
        InstEmitter s = InstEmit.Sha;
        t.Add("SHA1C", "01011110000mmmmm000000nnnnnddddd", s, "sha1c {Qd}, {Sn}, {Vm}.4s");
        t.Add("SHA1P", "01011110000mmmmm000100nnnnnddddd", s, "sha1p {Qd}, {Sn}, {Vm}.4s");
        t.Add("SHA1M", "01011110000mmmmm001000nnnnnddddd", s, "sha1m {Qd}, {Sn}, {Vm}.4s");
        t.Add("SHA1SU0", "01011110000mmmmm001100nnnnnddddd", s, "sha1su0 {Vd}.4s, {Vn}.4s, {Vm}.4s");
        t.Add("SHA256H", "01011110000mmmmm010000nnnnnddddd", s, "sha256h {Qd}, {Qn}, {Vm}.4s");
        t.Add("SHA256H2", "01011110000mmmmm010100nnnnnddddd", s, "sha256h2 {Qd}, {Qn}, {Vm}.4s");
        t.Add("SHA256SU1", "01011110000mmmmm011000nnnnnddddd", s, "sha256su1 {Vd}.4s, {Vn}.4s, {Vm}.4s");

        // Cryptographic two-register SHA: 01011110 size=00 10100 opcode 10 Rn Rd
        t.Add("SHA1H", "0101111000101000000010nnnnnddddd", s, "sha1h {Sd}, {Sn}");
        t.Add("SHA1SU1", "0101111000101000000110nnnnnddddd", s, "sha1su1 {Vd}.4s, {Vn}.4s");
        t.Add("SHA256SU0", "0101111000101000001010nnnnnddddd", s, "sha256su0 {Vd}.4s, {Vn}.4s");

        // Cryptographic three-register SHA512: 11001110 011 Rm 1 0 00 opcode Rn Rd (opcode 11 is SHA3's RAX1);
        // two-register SHA512: 11001110 1100 0000 1000 00 Rn Rd (SHA512SU0; opcode 01 would be SM4E)
        t.Add("SHA512H", "11001110011mmmmm100000nnnnnddddd", InstEmit.Sha512, "sha512h {Qd}, {Qn}, {Vm}.2d");
        t.Add("SHA512H2", "11001110011mmmmm100001nnnnnddddd", InstEmit.Sha512, "sha512h2 {Qd}, {Qn}, {Vm}.2d");
        t.Add("SHA512SU1", "11001110011mmmmm100010nnnnnddddd", InstEmit.Sha512, "sha512su1 {Vd}.2d, {Vn}.2d, {Vm}.2d");
        t.Add("SHA512SU0", "1100111011000000100000nnnnnddddd", InstEmit.Sha512, "sha512su0 {Vd}.2d, {Vn}.2d");
        // SHA3: RAX1 (above's group), the four-register EOR3 and BCAX (11001110 0 Op0 Rm 0 Ra Rn Rd), XAR (imm6)
        t.Add("RAX1", "11001110011mmmmm100011nnnnnddddd", InstEmit.Rax1, "rax1 {Vd}.2d, {Vn}.2d, {Vm}.2d");
        t.Add("EOR3", "11001110000mmmmm0aaaaannnnnddddd", InstEmit.Eor3, "eor3 {Vd}.16b, {Vn}.16b, {Vm}.16b, {Va}.16b");
        t.Add("BCAX", "11001110001mmmmm0aaaaannnnnddddd", InstEmit.Bcax, "bcax {Vd}.16b, {Vn}.16b, {Vm}.16b, {Va}.16b");
        t.Add("XAR", "11001110100mmmmmiiiiiinnnnnddddd", InstEmit.Xar, "xar {Vd}.2d, {Vn}.2d, {Vm}.2d, {d#i}");

        // PMULL{2} Vd.1Q, Vn.1D/2D, Vm.1D/2D: Advanced SIMD three different, U=0 size=11 opcode=1110
        t.Add("PMULL (vector)", "00001110111mmmmm111000nnnnnddddd", InstEmit.Pmull64, "pmull {Vd}.1q, {Vn}.1d, {Vm}.1d");
        t.Add("PMULL (vector)", "01001110111mmmmm111000nnnnnddddd", InstEmit.Pmull64, "pmull2 {Vd}.1q, {Vn}.2d, {Vm}.2d");
    }
}
