using Dqemu.JitX64.Instructions;

namespace Dqemu.JitX64.Decoders;

public static partial class OpCodeTable
{
    /// <summary>
    /// A64 base integer data processing: add/subtract, logical, move wide, ADR/ADRP, conditional compare
    /// and select, 1- and 2-source operations. Alias rows (CMP, TST, MOV, NEG, ...) only add more specific
    /// patterns for the disassembly and share their base instruction's emitter.
    /// </summary>
    static partial void AddAlu(List<InstDescriptor> t)
    {
        // ---- add/subtract (immediate): sf op S 100010 sh imm12 Rn Rd ----
        t.Add("ADD_imm", "f00100010hiiiiiiiiiiiinnnnnddddd", InstEmit.Add_Imm, "add {RSd}, {RSn}, {#i}{h?, lsl #12}");
        t.Add("ADDS_imm", "f01100010hiiiiiiiiiiiinnnnnddddd", InstEmit.Adds_Imm, "adds {Rd}, {RSn}, {#i}{h?, lsl #12}");
        t.Add("CMN_imm", "f01100010hiiiiiiiiiiiinnnnn11111", InstEmit.Adds_Imm, "cmn {RSn}, {#i}{h?, lsl #12}");
        t.Add("SUB_imm", "f10100010hiiiiiiiiiiiinnnnnddddd", InstEmit.Sub_Imm, "sub {RSd}, {RSn}, {#i}{h?, lsl #12}");
        t.Add("SUBS_imm", "f11100010hiiiiiiiiiiiinnnnnddddd", InstEmit.Subs_Imm, "subs {Rd}, {RSn}, {#i}{h?, lsl #12}");
        t.Add("CMP_imm", "f11100010hiiiiiiiiiiiinnnnn11111", InstEmit.Subs_Imm, "cmp {RSn}, {#i}{h?, lsl #12}");

        foreach (bool sf in new[] { true, false })
        {
            string f = sf ? "1" : "0";
            string sz = sf ? "64" : "32";
            string amt = sf ? "iiiiii" : "0iiiii"; // a 32-bit shift amount of 32..63 is reserved
            string R(char c) => sf ? $"{{X{c}}}" : $"{{W{c}}}";
            string d = R('d'), n = R('n'), m = R('m');

            // ---- add/subtract (shifted register): sf op S 01011 shift 0 Rm imm6 Rn Rd (shift 11 reserved) ----
            t.Add($"ADD_shift{sz}", f + "0001011tt0mmmmm" + amt + "nnnnnddddd", InstEmit.Add_Shift, $"add {d}, {n}, {m}, {{sht}} {{#i}}");
            t.Add($"ADDS_shift{sz}", f + "0101011tt0mmmmm" + amt + "nnnnnddddd", InstEmit.Adds_Shift, $"adds {d}, {n}, {m}, {{sht}} {{#i}}");
            t.Add($"CMN_shift{sz}", f + "0101011tt0mmmmm" + amt + "nnnnn11111", InstEmit.Adds_Shift, $"cmn {n}, {m}, {{sht}} {{#i}}");
            t.Add($"SUB_shift{sz}", f + "1001011tt0mmmmm" + amt + "nnnnnddddd", InstEmit.Sub_Shift, $"sub {d}, {n}, {m}, {{sht}} {{#i}}");
            t.Add($"NEG{sz}", f + "1001011tt0mmmmm" + amt + "11111ddddd", InstEmit.Sub_Shift, $"neg {d}, {m}, {{sht}} {{#i}}");
            t.Add($"SUBS_shift{sz}", f + "1101011tt0mmmmm" + amt + "nnnnnddddd", InstEmit.Subs_Shift, $"subs {d}, {n}, {m}, {{sht}} {{#i}}");
            t.Add($"CMP_shift{sz}", f + "1101011tt0mmmmm" + amt + "nnnnn11111", InstEmit.Subs_Shift, $"cmp {n}, {m}, {{sht}} {{#i}}");

            // ---- logical (shifted register): sf opc 01010 shift N Rm imm6 Rn Rd ----
            t.Add($"AND_shift{sz}", f + "0001010tt0mmmmm" + amt + "nnnnnddddd", InstEmit.And_Shift, $"and {d}, {n}, {m}, {{sht}} {{#i}}");
            t.Add($"BIC_shift{sz}", f + "0001010tt1mmmmm" + amt + "nnnnnddddd", InstEmit.And_Shift, $"bic {d}, {n}, {m}, {{sht}} {{#i}}");
            t.Add($"ORR_shift{sz}", f + "0101010tt0mmmmm" + amt + "nnnnnddddd", InstEmit.Orr_Shift, $"orr {d}, {n}, {m}, {{sht}} {{#i}}");
            t.Add($"MOV_reg{sz}", f + "0101010000mmmmm" + "000000" + "11111ddddd", InstEmit.Orr_Shift, $"mov {d}, {m}");
            t.Add($"ORN_shift{sz}", f + "0101010tt1mmmmm" + amt + "nnnnnddddd", InstEmit.Orr_Shift, $"orn {d}, {n}, {m}, {{sht}} {{#i}}");
            t.Add($"MVN{sz}", f + "0101010tt1mmmmm" + amt + "11111ddddd", InstEmit.Orr_Shift, $"mvn {d}, {m}, {{sht}} {{#i}}");
            t.Add($"EOR_shift{sz}", f + "1001010tt0mmmmm" + amt + "nnnnnddddd", InstEmit.Eor_Shift, $"eor {d}, {n}, {m}, {{sht}} {{#i}}");
            t.Add($"EON_shift{sz}", f + "1001010tt1mmmmm" + amt + "nnnnnddddd", InstEmit.Eor_Shift, $"eon {d}, {n}, {m}, {{sht}} {{#i}}");
            t.Add($"ANDS_shift{sz}", f + "1101010tt0mmmmm" + amt + "nnnnnddddd", InstEmit.Ands_Shift, $"ands {d}, {n}, {m}, {{sht}} {{#i}}");
            t.Add($"TST_shift{sz}", f + "1101010tt0mmmmm" + amt + "nnnnn11111", InstEmit.Ands_Shift, $"tst {n}, {m}, {{sht}} {{#i}}");
            t.Add($"BICS_shift{sz}", f + "1101010tt1mmmmm" + amt + "nnnnnddddd", InstEmit.Ands_Shift, $"bics {d}, {n}, {m}, {{sht}} {{#i}}");

            // ---- add/subtract (extended register): sf op S 01011 00 1 Rm option imm3 Rn Rd (imm3 > 4 reserved) ----
            // Rm is a W register except for UXTX/SXTX (option x11) of the 64-bit form.
            string ds = sf ? "{XSd}" : "{WSd}", ns = sf ? "{XSn}" : "{WSn}";
            (string Name, string Bits, InstEmitter Emit, string Mn, bool Flags)[] ext =
            [
                ("ADD", "00", InstEmit.Add_Ext, "add", false), ("ADDS", "01", InstEmit.Adds_Ext, "adds", true),
                ("SUB", "10", InstEmit.Sub_Ext, "sub", false), ("SUBS", "11", InstEmit.Subs_Ext, "subs", true),
            ];
            foreach (var e in ext)
            {
                string dst = e.Flags ? d : ds;
                t.Add($"{e.Name}_ext{sz}", f + e.Bits + "01011001mmmmmoooiiinnnnnddddd", e.Emit, $"{e.Mn} {dst}, {ns}, {{Wm}}, {{exto}} {{#i}}");
                if (sf)
                    t.Add($"{e.Name}_extx", f + e.Bits + "01011001mmmmmo11iiinnnnnddddd", e.Emit, $"{e.Mn} {dst}, {ns}, {{Xm}}, {{o?sxtx}}{{o!uxtx}} {{#i}}");
            }
            t.Add($"CMN_ext{sz}", f + "0101011001mmmmmoooiiinnnnn11111", InstEmit.Adds_Ext, $"cmn {ns}, {{Wm}}, {{exto}} {{#i}}");
            t.Add($"CMP_ext{sz}", f + "1101011001mmmmmoooiiinnnnn11111", InstEmit.Subs_Ext, $"cmp {ns}, {{Wm}}, {{exto}} {{#i}}");

            // ---- move wide: sf opc 100101 hw imm16 Rd (opc 01 unallocated; hw 1x reserved for 32-bit) ----
            string hw = sf ? "hh" : "0h";
            t.Add($"MOVN{sz}", f + "00100101" + hw + "iiiiiiiiiiiiiiiiddddd", InstEmit.Movn, $"movn {d}, {{#i}}, lsl {{#h*16}}");
            t.Add($"MOVZ{sz}", f + "10100101" + hw + "iiiiiiiiiiiiiiiiddddd", InstEmit.Movz, $"movz {d}, {{#i}}, lsl {{#h*16}}");
            t.Add($"MOVK{sz}", f + "11100101" + hw + "iiiiiiiiiiiiiiiiddddd", InstEmit.Movk, $"movk {d}, {{#i}}, lsl {{#h*16}}");
        }

        // ---- add/subtract with carry: sf op S 11010000 Rm 000000 Rn Rd ----
        t.Add("ADC", "f0011010000mmmmm000000nnnnnddddd", InstEmit.Adc, "adc {Rd}, {Rn}, {Rm}");
        t.Add("ADCS", "f0111010000mmmmm000000nnnnnddddd", InstEmit.Adcs, "adcs {Rd}, {Rn}, {Rm}");
        t.Add("SBC", "f1011010000mmmmm000000nnnnnddddd", InstEmit.Sbc, "sbc {Rd}, {Rn}, {Rm}");
        t.Add("NGC", "f1011010000mmmmm00000011111ddddd", InstEmit.Sbc, "ngc {Rd}, {Rm}");
        t.Add("SBCS", "f1111010000mmmmm000000nnnnnddddd", InstEmit.Sbcs, "sbcs {Rd}, {Rn}, {Rm}");
        t.Add("NGCS", "f1111010000mmmmm00000011111ddddd", InstEmit.Sbcs, "ngcs {Rd}, {Rm}");

        // ---- logical (immediate): sf opc 100100 N immr imms Rn Rd (reserved masks exit as undefined) ----
        t.Add("AND_imm", "f00100100xrrrrrrssssssnnnnnddddd", InstEmit.And_Imm, "and {RSd}, {Rn}, {bimm}");
        t.Add("ORR_imm", "f01100100xrrrrrrssssssnnnnnddddd", InstEmit.Orr_Imm, "orr {RSd}, {Rn}, {bimm}");
        t.Add("MOV_bimm", "f01100100xrrrrrrssssss11111ddddd", InstEmit.Orr_Imm, "mov {RSd}, {bimm}");
        t.Add("EOR_imm", "f10100100xrrrrrrssssssnnnnnddddd", InstEmit.Eor_Imm, "eor {RSd}, {Rn}, {bimm}");
        t.Add("ANDS_imm", "f11100100xrrrrrrssssssnnnnnddddd", InstEmit.Ands_Imm, "ands {Rd}, {Rn}, {bimm}");
        t.Add("TST_imm", "f11100100xrrrrrrssssssnnnnn11111", InstEmit.Ands_Imm, "tst {Rn}, {bimm}");

        // ---- PC-relative addressing ----
        t.Add("ADR", "0ii10000iiiiiiiiiiiiiiiiiiiddddd", InstEmit.Adr, "adr {Xd}, {adr}");
        t.Add("ADRP", "1ii10000iiiiiiiiiiiiiiiiiiiddddd", InstEmit.Adrp, "adrp {Xd}, {adrp}");

        // ---- conditional compare: sf op 1 11010010 Rm|imm5 cond i 0 Rn 0 nzcv ----
        t.Add("CCMN_reg", "f0111010010mmmmmcccc00nnnnn0vvvv", InstEmit.Ccmn_Reg, "ccmn {Rn}, {Rm}, {#v}, {cc}");
        t.Add("CCMP_reg", "f1111010010mmmmmcccc00nnnnn0vvvv", InstEmit.Ccmp_Reg, "ccmp {Rn}, {Rm}, {#v}, {cc}");
        t.Add("CCMN_imm", "f0111010010iiiiicccc10nnnnn0vvvv", InstEmit.Ccmn_Imm, "ccmn {Rn}, {#i}, {#v}, {cc}");
        t.Add("CCMP_imm", "f1111010010iiiiicccc10nnnnn0vvvv", InstEmit.Ccmp_Imm, "ccmp {Rn}, {#i}, {#v}, {cc}");

        // ---- conditional select: sf op 0 11010100 Rm cond 0 o2 Rn Rd ----
        t.Add("CSEL", "f0011010100mmmmmcccc00nnnnnddddd", InstEmit.Csel, "csel {Rd}, {Rn}, {Rm}, {cc}");
        t.Add("CSINC", "f0011010100mmmmmcccc01nnnnnddddd", InstEmit.Csinc, "csinc {Rd}, {Rn}, {Rm}, {cc}");
        t.Add("CSINV", "f1011010100mmmmmcccc00nnnnnddddd", InstEmit.Csinv, "csinv {Rd}, {Rn}, {Rm}, {cc}");
        t.Add("CSNEG", "f1011010100mmmmmcccc01nnnnnddddd", InstEmit.Csneg, "csneg {Rd}, {Rn}, {Rm}, {cc}");

        // ---- data processing (1 source): sf 1 0 11010110 00000 opcode Rn Rd ----
        t.Add("RBIT", "f101101011000000000000nnnnnddddd", InstEmit.Rbit_Gp, "rbit {Rd}, {Rn}");
        t.Add("REV16", "f101101011000000000001nnnnnddddd", InstEmit.Rev16_Gp, "rev16 {Rd}, {Rn}");
        t.Add("REV_32", "0101101011000000000010nnnnnddddd", InstEmit.Rev32_Gp, "rev {Wd}, {Wn}");
        t.Add("REV32", "1101101011000000000010nnnnnddddd", InstEmit.Rev32_Gp, "rev32 {Xd}, {Xn}");
        t.Add("REV_64", "1101101011000000000011nnnnnddddd", InstEmit.Rev64_Gp, "rev {Xd}, {Xn}");
        t.Add("CLZ", "f101101011000000000100nnnnnddddd", InstEmit.Clz_Gp, "clz {Rd}, {Rn}");
        t.Add("CLS", "f101101011000000000101nnnnnddddd", InstEmit.Cls_Gp, "cls {Rd}, {Rn}");

        // ---- data processing (2 source): sf 0 0 11010110 Rm opcode Rn Rd ----
        t.Add("UDIV", "f0011010110mmmmm000010nnnnnddddd", InstEmit.Udiv, "udiv {Rd}, {Rn}, {Rm}");
        t.Add("SDIV", "f0011010110mmmmm000011nnnnnddddd", InstEmit.Sdiv, "sdiv {Rd}, {Rn}, {Rm}");
        t.Add("LSLV", "f0011010110mmmmm001000nnnnnddddd", InstEmit.Lslv, "lsl {Rd}, {Rn}, {Rm}");
        t.Add("LSRV", "f0011010110mmmmm001001nnnnnddddd", InstEmit.Lsrv, "lsr {Rd}, {Rn}, {Rm}");
        t.Add("ASRV", "f0011010110mmmmm001010nnnnnddddd", InstEmit.Asrv, "asr {Rd}, {Rn}, {Rm}");
        t.Add("RORV", "f0011010110mmmmm001011nnnnnddddd", InstEmit.Rorv, "ror {Rd}, {Rn}, {Rm}");
        t.Add("CRC32B", "00011010110mmmmm010000nnnnnddddd", InstEmit.Crc32b, "crc32b {Wd}, {Wn}, {Wm}");
        t.Add("CRC32H", "00011010110mmmmm010001nnnnnddddd", InstEmit.Crc32h, "crc32h {Wd}, {Wn}, {Wm}");
        t.Add("CRC32W", "00011010110mmmmm010010nnnnnddddd", InstEmit.Crc32w, "crc32w {Wd}, {Wn}, {Wm}");
        t.Add("CRC32X", "10011010110mmmmm010011nnnnnddddd", InstEmit.Crc32x, "crc32x {Wd}, {Wn}, {Xm}");
        t.Add("CRC32CB", "00011010110mmmmm010100nnnnnddddd", InstEmit.Crc32cb, "crc32cb {Wd}, {Wn}, {Wm}");
        t.Add("CRC32CH", "00011010110mmmmm010101nnnnnddddd", InstEmit.Crc32ch, "crc32ch {Wd}, {Wn}, {Wm}");
        t.Add("CRC32CW", "00011010110mmmmm010110nnnnnddddd", InstEmit.Crc32cw, "crc32cw {Wd}, {Wn}, {Wm}");
        t.Add("CRC32CX", "10011010110mmmmm010111nnnnnddddd", InstEmit.Crc32cx, "crc32cx {Wd}, {Wn}, {Xm}");
    }
}
