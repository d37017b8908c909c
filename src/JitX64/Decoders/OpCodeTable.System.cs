using Dqemu.JitX64.Instructions;

namespace Dqemu.JitX64.Decoders;

public static partial class OpCodeTable
{
    static partial void AddSystem(List<InstDescriptor> t)
    {
        t.AddEnd("SVC", "11010100000iiiiiiiiiiiiiiii00001", InstEmit.Svc, "svc {#i}");
        t.AddEnd("BRK", "11010100001iiiiiiiiiiiiiiii00000", InstEmit.Brk, "brk {#i}");
        t.Add("HINT", "11010101000000110010hhhhhhh11111", InstEmit.Nop, "hint {#h}");
        t.Add("CLREX", "11010101000000110011mmmm01011111", InstEmit.Clrex, "clrex");
        t.Add("DSB", "11010101000000110011mmmm10011111", InstEmit.Barrier, "dsb {#m}");
        t.Add("DMB", "11010101000000110011mmmm10111111", InstEmit.Barrier, "dmb {#m}");
        // ISB ends the block: code patched before it is reached through a block entry, where volatile code is
        // compared with what was translated (write-protected code was dropped at the write already)
        t.AddEnd("ISB", "11010101000000110011mmmm11011111", InstEmit.Isb, "isb");
        t.Add("SB", "11010101000000110011000011111111", InstEmit.Nop, "sb");
        t.Add("MSR_imm", "1101010100000ooo0100mmmmppp11111", InstEmit.Nop, "msr pstate, {#m}");
        t.Add("DC_ZVA", "110101010000101101110100001ttttt", InstEmit.DcZva, "dc zva, {Xt}");
        // other cache maintenance (DC CVAU/CIVAC, IC IVAU) has nothing to do here: a write into translated code drops
        // it at once (GuestSpace.CodeGuard.cs), and ISB, which must follow before the new code runs, ends the block
        t.Add("SYS", "1101010100001ooonnnnmmmmpppttttt", InstEmit.Nop, "sys {#o}, c{#n}, c{#m}, {#p}, {Xt}");
        t.Add("MRS", "110101010011sssssssssssssssttttt", InstEmit.Mrs, "mrs {Xt}, s{#s}");
        t.Add("MSR_reg", "110101010001sssssssssssssssttttt", InstEmit.Msr, "msr s{#s}, {Xt}");
    }
}
