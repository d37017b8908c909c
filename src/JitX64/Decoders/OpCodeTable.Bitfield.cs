using Dqemu.JitX64.Instructions;

namespace Dqemu.JitX64.Decoders;

public static partial class OpCodeTable
{
    /// <summary>
    /// Bitfield moves (sf opc 100110 N immr imms Rn Rd; N must equal sf, 32-bit immr/imms below 32) and
    /// EXTR. Alias rows with fixed imms give the disassembly its preferred names.
    /// </summary>
    static partial void AddBitfield(List<InstDescriptor> t)
    {
        t.Add("SBFM64", "1001001101rrrrrrssssssnnnnnddddd", InstEmit.Sbfm, "sbfm {Xd}, {Xn}, {#r}, {#s}");
        t.Add("SBFM32", "00010011000rrrrr0sssssnnnnnddddd", InstEmit.Sbfm, "sbfm {Wd}, {Wn}, {#r}, {#s}");
        t.Add("BFM64", "1011001101rrrrrrssssssnnnnnddddd", InstEmit.Bfm, "bfm {Xd}, {Xn}, {#r}, {#s}");
        t.Add("BFM32", "00110011000rrrrr0sssssnnnnnddddd", InstEmit.Bfm, "bfm {Wd}, {Wn}, {#r}, {#s}");
        t.Add("UBFM64", "1101001101rrrrrrssssssnnnnnddddd", InstEmit.Ubfm, "ubfm {Xd}, {Xn}, {#r}, {#s}");
        t.Add("UBFM32", "01010011000rrrrr0sssssnnnnnddddd", InstEmit.Ubfm, "ubfm {Wd}, {Wn}, {#r}, {#s}");

        t.Add("ASR_imm64", "1001001101rrrrrr111111nnnnnddddd", InstEmit.Sbfm, "asr {Xd}, {Xn}, {#r}");
        t.Add("ASR_imm32", "00010011000rrrrr011111nnnnnddddd", InstEmit.Sbfm, "asr {Wd}, {Wn}, {#r}");
        t.Add("LSR_imm64", "1101001101rrrrrr111111nnnnnddddd", InstEmit.Ubfm, "lsr {Xd}, {Xn}, {#r}");
        t.Add("LSR_imm32", "01010011000rrrrr011111nnnnnddddd", InstEmit.Ubfm, "lsr {Wd}, {Wn}, {#r}");
        t.Add("SXTB64", "1001001101000000000111nnnnnddddd", InstEmit.Sbfm, "sxtb {Xd}, {Wn}");
        t.Add("SXTB32", "0001001100000000000111nnnnnddddd", InstEmit.Sbfm, "sxtb {Wd}, {Wn}");
        t.Add("SXTH64", "1001001101000000001111nnnnnddddd", InstEmit.Sbfm, "sxth {Xd}, {Wn}");
        t.Add("SXTH32", "0001001100000000001111nnnnnddddd", InstEmit.Sbfm, "sxth {Wd}, {Wn}");
        t.Add("SXTW", "1001001101000000011111nnnnnddddd", InstEmit.Sbfm, "sxtw {Xd}, {Wn}");
        t.Add("UXTB", "0101001100000000000111nnnnnddddd", InstEmit.Ubfm, "uxtb {Wd}, {Wn}");
        t.Add("UXTH", "0101001100000000001111nnnnnddddd", InstEmit.Ubfm, "uxth {Wd}, {Wn}");

        // EXTR: sf 00 100111 N 0 Rm imms Rn Rd
        t.Add("EXTR64", "10010011110mmmmmssssssnnnnnddddd", InstEmit.Extr, "extr {Xd}, {Xn}, {Xm}, {#s}");
        t.Add("EXTR32", "00010011100mmmmm0sssssnnnnnddddd", InstEmit.Extr, "extr {Wd}, {Wn}, {Wm}, {#s}");
    }
}
