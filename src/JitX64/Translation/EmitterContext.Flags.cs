using Dqemu.JitX64.State;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Translation;

/// <summary>An x86 condition code, numbered as the jcc/setcc/cmovcc encodings number them (so c ^ 1 is its negation).</summary>
public enum HostCond : byte { O, NO, B, AE, E, NE, BE, A, S, NS, P, NP, L, GE, LE, G }

// ---- NZCV ----
//
// CpuState keeps NZCV in the layout LAHF/SETO leave (see Flags), so a flag-setting instruction ends with a capture
// (lahf; seto al; mov [nzcv], ax) and a reader loads it back with "add al, 0x7f; sahf", or not at all while the
// host flags still hold it (nothing since the capture changed them, branched or was a jump target).
//
// Flag liveness (blocks translated in full): the planning pass records, per guest instruction, how it uses NZCV
// (FlagUse) and PlanFlags walks the block backwards. A capture whose value nothing reads before the next write
// emits nothing; one whose readers all find it in the host flags keeps it there and skips the store. CpuState's
// NZCV must be current wherever anything else may look at it, so every exit, helper call, guest memory access (a
// fault shows the guest's state to a signal handler), direct access to the field and the end of the block count
// as readers from memory: the plan never leaves CpuState's NZCV stale there, as QEMU's TCG never leaves a global
// unsaved at an op that may fault. The real pass checks that (a stale NZCV at any of those, or a reader that
// does not find the host flags it was planned to find, is a FlagConflict: the block is emitted again without the
// plan; tests expect none).
public sealed partial class EmitterContext
{
    private static AssemblerMemoryOperand NzcvMem => __word_ptr[rbx + CpuOffsets.Nzcv];

    // host flags hold NZCV (stored convention) after the instruction before this index, until one modifies them
    private int _flagsCapturedAt = -1;
    // real pass: CpuState's NZCV is older than the guest's (a capture whose store the plan dropped)
    private bool _nzcvStale;

    /// <summary>How one guest instruction's code used NZCV (planning pass).</summary>
    [Flags]
    internal enum FlagUse : byte
    {
        None = 0,
        /// <summary>Read NZCV (a condition, the carry, MRS).</summary>
        Read = 1,
        /// <summary>A read that did not find NZCV in the host flags: CpuState's copy must be current.</summary>
        ReadMemory = 2,
        /// <summary>A capture of the host flags an operation left (<see cref="Capture"/>): the one kind the plan can drop.</summary>
        Capture = 4,
        /// <summary>NZCV written whole in another way (a constant, MSR, FCMP's result, CCMP's choice).</summary>
        WriteOther = 8,
        /// <summary>Read after its own write, or written twice: kept as it is (the plan treats it as a barrier).</summary>
        Tangled = 16,
        /// <summary>Code that lets anything else look at CpuState: an exit, a call, a guest memory access, a direct
        /// access to the NZCV field.</summary>
        Barrier = 32,
    }

    private FlagUse _flagUse;
    private readonly List<FlagUse> _flagUses = new();
    /// <summary>Per guest instruction of the block, what its capture emits: 0 all of it, 1 no store, 2 nothing; with
    /// <see cref="PlanHostRead"/> when a reader finds the value in the host flags (planning pass).</summary>
    private byte[] _flagPlan = new byte[64];
    private const byte PlanHostRead = 4;
    private int _flagPlanCount;
    /// <summary>Real pass: the block is emitted with the flag plan (PlanFlags made one and no conflict undid it).</summary>
    internal bool UseFlagPlan { get; set; }
    /// <summary>Real pass: the flag plan was wrong for this block (see the note above); emit it again without.</summary>
    internal bool FlagConflict { get; private set; }
    /// <summary>Captures emitted without their store (host flags only) and without anything, over all blocks.</summary>
    internal long FlagStoresDropped, FlagCapturesDropped;

    private void NoteFlagConflict()
    {
        if (!FlagConflict) { FlagConflict = true; if (!Conflict) ConflictPc = Pc; }
    }

    /// <summary>
    /// After the planning pass: per instruction, whether its capture's value is read before the next write and
    /// whether CpuState must hold it (see the note above). Walks backwards from the block's end, where NZCV is live
    /// in CpuState. True when the plan drops anything.
    /// </summary>
    internal bool PlanFlags()
    {
        int n = _flagUses.Count;
        if (_flagPlan.Length < n) _flagPlan = new byte[Math.Max(n, 2 * _flagPlan.Length)];
        _flagPlanCount = n;
        bool memory = true, read = true, any = false;
        bool hostRead = false; // some reader before the next write finds the value in the host flags
        for (int i = n - 1; i >= 0; i--)
        {
            var u = _flagUses[i];
            _flagPlan[i] = 0;
            if ((u & (FlagUse.Barrier | FlagUse.Tangled)) != 0)
            {
                memory = read = true;
                // a barrier that read NZCV in the host flags read it before anything of its own changed them (a read
                // after would have found them changed and loaded the field): a self-loop's B.cond back edge. A
                // CCMP before it then sets the host flags as well as storing (gawk's field-splitting loop loaded back
                // what its CCMP had just stored)
                hostRead = (u & (FlagUse.Tangled | FlagUse.Read | FlagUse.ReadMemory)) == FlagUse.Read;
                continue;
            }
            if ((u & FlagUse.Capture) != 0)
            {
                _flagPlan[i] = (byte)(!read ? 2 : !memory ? 1 : 0);
                any |= _flagPlan[i] != 0;
                if (hostRead) _flagPlan[i] |= PlanHostRead;
            }
            if ((u & (FlagUse.Capture | FlagUse.WriteOther)) != 0)
            {
                // before the write only its own reads count
                memory = (u & FlagUse.ReadMemory) != 0;
                read = (u & FlagUse.Read) != 0;
                hostRead = read && !memory;
            }
            else if ((u & FlagUse.Read) != 0)
            {
                read = true;
                memory |= (u & FlagUse.ReadMemory) != 0;
                hostRead |= (u & FlagUse.ReadMemory) == 0;
            }
        }
        return any;
    }

    /// <summary>True when the host flags still hold NZCV: nothing emitted since its capture (or load) modified
    /// flags, left the straight line, or is a jump target, and no label is pending for what comes next.</summary>
    private bool HostFlagsHoldNzcv()
    {
        // a label waiting for the next instruction makes it a jump target (FCCMP's join after its compare's capture)
        if (_flagsCapturedAt < 0 || !Asm.CurrentLabel.IsEmpty) return false;
        var list = Asm.Instructions;
        for (int i = _flagsCapturedAt; i < list.Count; i++)
        {
            var insn = list[i];
            if (insn.RflagsModified != RflagsBits.None || insn.IP != 0) return false;
            // a superblock's side exit after a B.cond leaves the flags to the code after it
            if (insn.FlowControl != FlowControl.Next && !_flagKeepingJccs.Contains(i)) return false;
        }
        return true;
    }

    /// <summary>True when the host flags hold NZCV now (see <see cref="HostFlagsHoldNzcv"/>): an emitter that does not
    /// set NZCV then picks a form that leaves them alone where it has one (LEA for ADD/SUB #imm), so that a reader after
    /// it (a B.cond, CCMP or CSEL) finds them there instead of loading the stored field.</summary>
    public bool HostFlagsLive => HostFlagsHoldNzcv();

    /// <summary>Planning pass: adds <paramref name="use"/> to the instruction's record; anything after its own write
    /// (a read, a second write) makes it <see cref="FlagUse.Tangled"/>.</summary>
    private void PlanFlagUse(FlagUse use)
    {
        if ((_flagUse & (FlagUse.Capture | FlagUse.WriteOther)) != 0) _flagUse |= FlagUse.Tangled;
        _flagUse |= use;
    }

    /// <summary>Notes a read of NZCV. <paramref name="inHost"/>: the host flags hold it, CpuState's copy is not read.</summary>
    private void NoteFlagRead(bool inHost)
    {
        if (_planning) PlanFlagUse(inHost ? FlagUse.Read : FlagUse.Read | FlagUse.ReadMemory);
        else if (!inHost && _nzcvStale) NoteFlagConflict();
    }

    /// <summary>Notes a write of the whole of NZCV other than a capture; CpuState is current after it.</summary>
    private void NoteFlagWrite()
    {
        if (_planning) PlanFlagUse(FlagUse.WriteOther);
        _nzcvStale = false;
        _flagsCapturedAt = -1;
    }

    /// <summary>Real pass: code that may let something else look at CpuState's NZCV (an exit, a call, a guest
    /// memory access) is being emitted; the plan must have left it current.</summary>
    private void CheckNzcvCurrent()
    {
        if (!_planning && _nzcvStale) NoteFlagConflict();
    }

    /// <summary>Records NZCV from the x86 flags a SUB/CMP/SBB just produced (their CF is our stored !C).</summary>
    public void CaptureFlagsSub() => Capture(CarryFix.None);

    /// <summary>Records NZCV after ADD/ADC: ARM C is x86 CF, so it is inverted first.</summary>
    public void CaptureFlagsAdd() => Capture(CarryFix.Invert);

    /// <summary>Records NZCV after AND/TEST (and anything else that sets only N and Z): C=0, V=0.</summary>
    public void CaptureFlagsLogic() => Capture(CarryFix.Set); // stored C is inverted: ARM C=0. TEST/AND already cleared OF.

    private enum CarryFix { None, Invert, Set }

    /// <summary>
    /// The plan for this instruction's capture: 0 store it, 1 keep it in the host flags only, 2 drop it (counted, and
    /// CpuState's older value, which nothing reads either, stays); 0 without a plan. <paramref name="hostRead"/>: a
    /// reader finds the value in the host flags (true without a plan). The planning pass records the capture here.
    /// </summary>
    private int PlannedCapture(out bool hostRead)
    {
        hostRead = true;
        if (_planning) { PlanFlagUse(FlagUse.Capture); return 0; }
        if (!UseFlagPlan || _insnIndex - 1 >= _flagPlanCount) return 0;
        int entry = _flagPlan[_insnIndex - 1];
        hostRead = (entry & PlanHostRead) != 0;
        if ((entry & 3) == 2)
        {
            FlagCapturesDropped++;
            _nzcvStale = true;
            _flagsCapturedAt = -1;
        }
        return entry & 3;
    }

    private void Capture(CarryFix fix)
    {
        int plan = PlannedCapture(out _);
        if (plan == 2) return;
        if (fix == CarryFix.Invert) Asm.cmc();
        else if (fix == CarryFix.Set) Asm.stc();
        if (plan == 1)
        {
            // its readers find it in the host flags
            FlagStoresDropped++;
            _nzcvStale = true;
            _flagsCapturedAt = Asm.Instructions.Count;
            return;
        }
        StoreHostFlags();
        _nzcvStale = false;
        _flagsCapturedAt = Asm.Instructions.Count;
    }

    /// <summary>
    /// NZCV = <paramref name="packed"/>'s 16 bits, already in the stored layout (CCMP's choice between its compare's
    /// flags and #nzcv), planned as a capture: the store only where CpuState must hold it, then the host flags are set
    /// from it, so a B.cond, CSEL or CCMP right after reads them there instead of loading the field just stored (a
    /// store-to-load round trip on the way to the branch). <paramref name="packed"/> must be eax; clobbers it.
    /// </summary>
    public void CaptureStoredLayout(AssemblerRegister32 packed)
    {
        if (packed != eax) throw new ArgumentException("the value must be in eax (sahf reads ah)", nameof(packed));
        // without a plan (the planning pass, a quick block) the host flags are set for whatever reads next
        int plan = PlannedCapture(out bool hostRead);
        if (plan == 2) return;
        if (plan == 1) { FlagStoresDropped++; _nzcvStale = true; }
        else
        {
            MarkApiAccess();
            Asm.mov(NzcvMem, ax);
            _nzcvStale = false;
            // stored, and its readers all load it (bc's CCMP, a MADD, then B.HS): no host flags to set
            if (!hostRead) { _flagsCapturedAt = -1; return; }
        }
        SetHostFlagsFromAx();
    }

    /// <summary>lahf; seto al; mov [nzcv], ax: stores the host flags, in the stored convention, as NZCV. Clobbers rax.</summary>
    private void StoreHostFlags()
    {
        Asm.lahf();
        Asm.seto(al);
        MarkApiAccess();
        Asm.mov(NzcvMem, ax);
    }

    /// <summary>Stores NZCV in the host layout (see <see cref="Flags"/>) from <paramref name="src"/>.</summary>
    public void StoreNzcvHost(AssemblerRegister32 src)
    {
        MarkApiAccess();
        Asm.mov(__dword_ptr[rbx + CpuOffsets.Nzcv], src);
        NoteFlagWrite();
    }

    /// <summary>Sets a constant NZCV given in the architectural layout (bits 31..28).</summary>
    public void SetNzcvConst(uint armNzcv)
    {
        MarkApiAccess();
        Asm.mov(__dword_ptr[rbx + CpuOffsets.Nzcv], (int)Flags.ArmToHost(armNzcv));
        NoteFlagWrite();
    }

    /// <summary>
    /// Puts NZCV into host EFLAGS (SF=N, ZF=Z, CF=!C, OF=V). Free while the host flags still hold it (see
    /// <see cref="HostFlagsHoldNzcv"/>). Clobbers rax.
    /// </summary>
    public void LoadFlagsToHost()
    {
        bool inHost = HostFlagsHoldNzcv();
        NoteFlagRead(inHost);
        if (inHost) return;
        // a 16-bit read: captures store 16 bits, and a wider load could not forward from that store
        MarkApiAccess();
        Asm.movzx(eax, NzcvMem);
        SetHostFlagsFromAx();
    }

    /// <summary>Host flags = the stored layout in ax (SF ZF CF from ah by SAHF; OF from al, 1 or 0, by adding 0x7f);
    /// they hold NZCV from here on.</summary>
    private void SetHostFlagsFromAx()
    {
        Asm.add(al, 0x7f);
        Asm.sahf();
        _flagsCapturedAt = Asm.Instructions.Count;
    }

    /// <summary>A64 condition (0-13) to the x86 condition that holds when it does, in the host flags
    /// <see cref="LoadFlagsToHost"/> sets.</summary>
    private static readonly HostCond[] HostCondOf =
    [
        HostCond.E, HostCond.NE, HostCond.AE, HostCond.B, HostCond.S, HostCond.NS, HostCond.O, HostCond.NO,
        HostCond.A, HostCond.BE, HostCond.GE, HostCond.L, HostCond.G, HostCond.LE,
    ];

    /// <summary>
    /// Makes A64 condition <paramref name="cond"/> (0-13) testable and returns the x86 condition that holds when it
    /// does. When the host flags hold NZCV that is all; else a condition on one flag (EQ, NE, CS, CC, MI, PL, VS,
    /// VC) is one TEST of its bit in CpuState, and the others load NZCV (<see cref="LoadFlagsToHost"/>). Clobbers
    /// rax and the host flags.
    /// </summary>
    public HostCond LoadCondition(int cond)
    {
        if (HostFlagsHoldNzcv()) { NoteFlagRead(true); return HostCondOf[cond]; }
        // the flag's bit in the stored layout (V: bit 0, !C: bit 8, Z: bit 14, N: bit 15), and whether the condition
        // holds when it is set; tested with a 16-bit read at the field's start, which the 16-bit store of a capture
        // (or a wider one) forwards to: a byte read of the upper half measured slower on AMD hosts (7% on bc)
        (int bit, bool whenSet) = cond switch
        {
            0 or 1 => (0x4000, cond == 0),
            2 or 3 => (0x0100, cond == 3), // the stored bit is !C
            4 or 5 => (0x8000, cond == 4),
            6 or 7 => (0x0001, cond == 6),
            _ => (0, false),
        };
        if (bit == 0)
        {
            LoadFlagsToHost();
            return HostCondOf[cond];
        }
        NoteFlagRead(false);
        MarkApiAccess();
        Asm.test(NzcvMem, (short)bit);
        return whenSet ? HostCond.NE : HostCond.E;
    }

    /// <summary>Jumps to <paramref name="target"/> when A64 condition <paramref name="cond"/> holds.</summary>
    public void JumpIf(int cond, Label target)
    {
        if (cond >= 14) { Asm.jmp(target); return; }
        var c = LoadCondition(cond);
        // the short form, as the Assembler's own je/jne/... make it (LinearEncoder grows it when out of reach)
        Asm.AddInstruction(Instruction.CreateBranch(HostJcc[(int)c].ToShortBranch(), target.Id));
    }

    /// <summary>The jcc (rel32 form) taken when host condition c holds.</summary>
    internal static readonly Code[] HostJcc =
    [
        Code.Jo_rel32_64, Code.Jno_rel32_64, Code.Jb_rel32_64, Code.Jae_rel32_64, Code.Je_rel32_64, Code.Jne_rel32_64,
        Code.Jbe_rel32_64, Code.Ja_rel32_64, Code.Js_rel32_64, Code.Jns_rel32_64, Code.Jp_rel32_64, Code.Jnp_rel32_64,
        Code.Jl_rel32_64, Code.Jge_rel32_64, Code.Jle_rel32_64, Code.Jg_rel32_64,
    ];

    private static readonly Code[] HostCmov =
    [
        Code.Cmovo_r64_rm64, Code.Cmovno_r64_rm64, Code.Cmovb_r64_rm64, Code.Cmovae_r64_rm64, Code.Cmove_r64_rm64,
        Code.Cmovne_r64_rm64, Code.Cmovbe_r64_rm64, Code.Cmova_r64_rm64, Code.Cmovs_r64_rm64, Code.Cmovns_r64_rm64,
        Code.Cmovp_r64_rm64, Code.Cmovnp_r64_rm64, Code.Cmovl_r64_rm64, Code.Cmovge_r64_rm64, Code.Cmovle_r64_rm64,
        Code.Cmovg_r64_rm64,
    ];

    private static readonly Code[] HostSet =
    [
        Code.Seto_rm8, Code.Setno_rm8, Code.Setb_rm8, Code.Setae_rm8, Code.Sete_rm8, Code.Setne_rm8, Code.Setbe_rm8,
        Code.Seta_rm8, Code.Sets_rm8, Code.Setns_rm8, Code.Setp_rm8, Code.Setnp_rm8, Code.Setl_rm8, Code.Setge_rm8,
        Code.Setle_rm8, Code.Setg_rm8,
    ];

    /// <summary>dst = c ? dst : src, i.e. moves <paramref name="src"/> in when host condition <paramref name="c"/>
    /// (from <see cref="LoadCondition"/>; only flag-neutral code since) FAILS.</summary>
    public void CMovUnless(HostCond c, AssemblerRegister64 dst, AssemblerRegister64 src) =>
        Asm.AddInstruction(Instruction.Create(HostCmov[(int)c ^ 1], dst, src));

    /// <summary>dst8 = c ? 1 : 0 for host condition <paramref name="c"/> (from <see cref="LoadCondition"/>).</summary>
    public void SetIf(HostCond c, AssemblerRegister8 dst) => Asm.AddInstruction(Instruction.Create(HostSet[(int)c], dst));

    /// <summary>Loads the ARM carry flag (0/1) into host CF, for ADC/ADCS.</summary>
    public void LoadCarryToHostCf()
    {
        bool inHost = HostFlagsHoldNzcv();
        NoteFlagRead(inHost);
        if (inHost) { Asm.cmc(); return; } // host CF is the stored !C already
        MarkApiAccess();
        Asm.bt(NzcvMem, 8); // CF = stored !C
        Asm.cmc();
    }

    /// <summary>Loads !C (the borrow) into host CF, for SBC/SBCS.</summary>
    public void LoadBorrowToHostCf()
    {
        bool inHost = HostFlagsHoldNzcv();
        NoteFlagRead(inHost);
        if (inHost) return;
        MarkApiAccess();
        Asm.bt(NzcvMem, 8);
    }

    /// <summary>dst32 = NZCV in the architectural layout (bits 31..28), for MRS. Uses rax as well.</summary>
    public void ReadNzcvArm(AssemblerRegister64 dst)
    {
        NoteFlagRead(false);
        var d = R32(dst);
        MarkApiAccess();
        Asm.movzx(eax, NzcvMem);
        Asm.xor(d, d);
        Asm.bt(eax, 15); Asm.setc(R8(dst)); Asm.shl(d, 1);
        Asm.bt(eax, 14); Asm.adc(d, 0); Asm.shl(d, 1);
        Asm.bt(eax, 8); Asm.cmc(); Asm.adc(d, 0); Asm.shl(d, 1);
        Asm.bt(eax, 0); Asm.adc(d, 0);
        Asm.shl(d, 28);
    }

    /// <summary>
    /// NZCV = bits 31..28 of <paramref name="src"/> (MSR NZCV, FCMP results). <paramref name="src"/> must not
    /// be rax, rcx or rdx; all four are clobbered.
    /// </summary>
    public void WriteNzcvArm(AssemblerRegister64 src)
    {
        var s = R32(src);
        Asm.shr(s, 28);
        Asm.mov(eax, 0x200 | 0x100); // fixed bit, and !C until C says otherwise
        Asm.mov(ecx, s); Asm.and(ecx, 8); Asm.shl(ecx, 12); Asm.or(eax, ecx);   // N -> 15
        Asm.mov(ecx, s); Asm.and(ecx, 4); Asm.shl(ecx, 12); Asm.or(eax, ecx);   // Z -> 14
        Asm.mov(ecx, s); Asm.and(ecx, 2); Asm.shl(ecx, 7); Asm.xor(eax, ecx);   // C -> clears 8
        Asm.mov(ecx, s); Asm.and(ecx, 1); Asm.or(eax, ecx);                       // V -> 0
        StoreNzcvHost(eax);
    }
}
