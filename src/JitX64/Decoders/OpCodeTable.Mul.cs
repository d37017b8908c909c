using Dqemu.JitX64.Instructions;

namespace Dqemu.JitX64.Decoders;

public static partial class OpCodeTable
{
    /// <summary>Data processing (3 source): sf 00 11011 op31 Rm o0 Ra Rn Rd.</summary>
    static partial void AddMul(List<InstDescriptor> t)
    {
        t.Add("MADD", "f0011011000mmmmm0aaaaannnnnddddd", InstEmit.Madd, "madd {Rd}, {Rn}, {Rm}, {Ra}");
        t.Add("MUL", "f0011011000mmmmm011111nnnnnddddd", InstEmit.Madd, "mul {Rd}, {Rn}, {Rm}");
        t.Add("MSUB", "f0011011000mmmmm1aaaaannnnnddddd", InstEmit.Msub, "msub {Rd}, {Rn}, {Rm}, {Ra}");
        t.Add("MNEG", "f0011011000mmmmm111111nnnnnddddd", InstEmit.Msub, "mneg {Rd}, {Rn}, {Rm}");
        t.Add("SMADDL", "10011011001mmmmm0aaaaannnnnddddd", InstEmit.Smaddl, "smaddl {Xd}, {Wn}, {Wm}, {Xa}");
        t.Add("SMULL", "10011011001mmmmm011111nnnnnddddd", InstEmit.Smaddl, "smull {Xd}, {Wn}, {Wm}");
        t.Add("SMSUBL", "10011011001mmmmm1aaaaannnnnddddd", InstEmit.Smsubl, "smsubl {Xd}, {Wn}, {Wm}, {Xa}");
        t.Add("SMNEGL", "10011011001mmmmm111111nnnnnddddd", InstEmit.Smsubl, "smnegl {Xd}, {Wn}, {Wm}");
        // Ra of SMULH/UMULH should be 11111; like QEMU, other values are accepted and ignored
        t.Add("SMULH", "10011011010mmmmm0-----nnnnnddddd", InstEmit.Smulh, "smulh {Xd}, {Xn}, {Xm}");
        t.Add("UMADDL", "10011011101mmmmm0aaaaannnnnddddd", InstEmit.Umaddl, "umaddl {Xd}, {Wn}, {Wm}, {Xa}");
        t.Add("UMULL", "10011011101mmmmm011111nnnnnddddd", InstEmit.Umaddl, "umull {Xd}, {Wn}, {Wm}");
        t.Add("UMSUBL", "10011011101mmmmm1aaaaannnnnddddd", InstEmit.Umsubl, "umsubl {Xd}, {Wn}, {Wm}, {Xa}");
        t.Add("UMNEGL", "10011011101mmmmm111111nnnnnddddd", InstEmit.Umsubl, "umnegl {Xd}, {Wn}, {Wm}");
        t.Add("UMULH", "10011011110mmmmm0-----nnnnnddddd", InstEmit.Umulh, "umulh {Xd}, {Xn}, {Xm}");
    }
}
