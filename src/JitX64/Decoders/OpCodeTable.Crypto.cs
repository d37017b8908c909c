using Dqemu.JitX64.Instructions;

namespace Dqemu.JitX64.Decoders;

/// <summary>
/// The cryptographic extension (FEAT_AES, FEAT_PMULL, FEAT_SHA1, FEAT_SHA256): the AES group, the three- and
/// two-register SHA groups and PMULL/PMULL2 with 64-bit elements (size = 11 of the "three different" PMULL;
/// the 8-bit form is in OpCodeTable.Simd.cs). Formats follow GNU objdump.
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

        // PMULL{2} Vd.1Q, Vn.1D/2D, Vm.1D/2D: Advanced SIMD three different, U=0 size=11 opcode=1110
        t.Add("PMULL (vector)", "00001110111mmmmm111000nnnnnddddd", InstEmit.Pmull64, "pmull {Vd}.1q, {Vn}.1d, {Vm}.1d");
        t.Add("PMULL (vector)", "01001110111mmmmm111000nnnnnddddd", InstEmit.Pmull64, "pmull2 {Vd}.1q, {Vn}.2d, {Vm}.2d");
    }
}
