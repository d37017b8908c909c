using Dqemu.JitX64.Instructions;

namespace Dqemu.JitX64.Decoders;

public static partial class OpCodeTable
{
    static partial void AddBranch(List<InstDescriptor> t)
    {
        t.AddEnd("B", "000101iiiiiiiiiiiiiiiiiiiiiiiiii", InstEmit.B, "b {@i}");
        t.AddEnd("BL", "100101iiiiiiiiiiiiiiiiiiiiiiiiii", InstEmit.Bl, "bl {@i}");
        t.AddEnd("B.cond", "01010100iiiiiiiiiiiiiiiiiii0cccc", InstEmit.B_Cond, "b.{cc} {@i}");
        t.AddEnd("CBZ", "f0110100iiiiiiiiiiiiiiiiiiittttt", InstEmit.Cbz, "cbz {Rt}, {@i}");
        t.AddEnd("CBNZ", "f0110101iiiiiiiiiiiiiiiiiiittttt", InstEmit.Cbnz, "cbnz {Rt}, {@i}");
        t.AddEnd("TBZ", "b0110110bbbbbiiiiiiiiiiiiiittttt", InstEmit.Tbz, "tbz {Xt}, {#b}, {@i}");
        t.AddEnd("TBNZ", "b0110111bbbbbiiiiiiiiiiiiiittttt", InstEmit.Tbnz, "tbnz {Xt}, {#b}, {@i}");
        t.AddEnd("BR", "1101011000011111000000nnnnn00000", InstEmit.Br, "br {Xn}");
        t.AddEnd("BLR", "1101011000111111000000nnnnn00000", InstEmit.Blr, "blr {Xn}");
        t.AddEnd("RET", "1101011001011111000000nnnnn00000", InstEmit.Ret, "ret {Xn}");
    }
}
