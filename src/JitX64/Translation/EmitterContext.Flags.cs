using Dqemu.JitX64.State;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Translation;

public sealed partial class EmitterContext
{
    private static AssemblerMemoryOperand NzcvMem => __word_ptr[rbx + CpuOffsets.Nzcv];

    /// <summary>Records NZCV from the x86 flags a SUB/CMP/SBB just produced (their CF is our stored !C).</summary>
    public void CaptureFlagsSub() => Capture();

    /// <summary>Records NZCV after ADD/ADC: ARM C is x86 CF, so it is inverted first.</summary>
    public void CaptureFlagsAdd()
    {
        Asm.cmc();
        Capture();
    }

    /// <summary>Records NZCV after AND/TEST (and anything else that sets only N and Z): C=0, V=0.</summary>
    public void CaptureFlagsLogic()
    {
        Asm.stc(); // stored C is inverted: ARM C=0. TEST/AND already cleared OF.
        Capture();
    }

    private void Capture()
    {
        Asm.lahf();
        Asm.seto(al);
        Asm.mov(NzcvMem, ax);
        _flagsCapturedAt = Asm.Instructions.Count;
    }

    /// <summary>Sets a constant NZCV given in the architectural layout (bits 31..28).</summary>
    public void SetNzcvConst(uint armNzcv)
    {
        Asm.mov(__dword_ptr[rbx + CpuOffsets.Nzcv], (int)Flags.ArmToHost(armNzcv));
    }

    /// <summary>
    /// Puts NZCV into host EFLAGS (SF=N, ZF=Z, CF=!C, OF=V). Free when the previous guest instruction's
    /// capture is still the last host instruction emitted. Clobbers rax.
    /// </summary>
    public void LoadFlagsToHost()
    {
        if (_flagsCapturedAt == Asm.Instructions.Count) return;
        // a 16-bit read: captures store 16 bits, and a wider load could not forward from that store
        Asm.movzx(eax, NzcvMem);
        Asm.add(al, 0x7f);
        Asm.sahf();
    }

    /// <summary>Jumps to <paramref name="target"/> when A64 condition <paramref name="cond"/> holds.</summary>
    public void JumpIf(int cond, Label target)
    {
        if (cond >= 14) { Asm.jmp(target); return; }
        LoadFlagsToHost();
        // the short form, as the Assembler's own je/jne/... make it (LinearEncoder grows it when out of reach)
        Asm.AddInstruction(Instruction.CreateBranch(HostJcc[cond].ToShortBranch(), target.Id));
    }

    /// <summary>The jcc (rel32 form) taken when A64 condition cond (0-13) holds, in the host flags
    /// <see cref="LoadFlagsToHost"/> sets.</summary>
    private static readonly Code[] HostJcc =
    [
        Code.Je_rel32_64, Code.Jne_rel32_64, Code.Jae_rel32_64, Code.Jb_rel32_64, Code.Js_rel32_64, Code.Jns_rel32_64,
        Code.Jo_rel32_64, Code.Jno_rel32_64, Code.Ja_rel32_64, Code.Jbe_rel32_64, Code.Jge_rel32_64, Code.Jl_rel32_64,
        Code.Jg_rel32_64, Code.Jle_rel32_64,
    ];

    /// <summary>
    /// dst = cond ? dst : src, i.e. moves <paramref name="src"/> in when the condition FAILS. Call
    /// <see cref="LoadFlagsToHost"/> before loading the operands (it uses rax), then this.
    /// </summary>
    public void CMovIfNot(int cond, AssemblerRegister64 dst, AssemblerRegister64 src)
    {
        if (cond >= 14) return;
        switch (cond ^ 1)
        {
            case 0: Asm.cmove(dst, src); break;
            case 1: Asm.cmovne(dst, src); break;
            case 2: Asm.cmovae(dst, src); break;
            case 3: Asm.cmovb(dst, src); break;
            case 4: Asm.cmovs(dst, src); break;
            case 5: Asm.cmovns(dst, src); break;
            case 6: Asm.cmovo(dst, src); break;
            case 7: Asm.cmovno(dst, src); break;
            case 8: Asm.cmova(dst, src); break;
            case 9: Asm.cmovbe(dst, src); break;
            case 10: Asm.cmovge(dst, src); break;
            case 11: Asm.cmovl(dst, src); break;
            case 12: Asm.cmovg(dst, src); break;
            case 13: Asm.cmovle(dst, src); break;
        }
    }

    /// <summary>dst8 = cond ? 1 : 0 (host flags must hold NZCV: call LoadFlagsToHost first).</summary>
    public void SetIf(int cond, AssemblerRegister8 dst)
    {
        if (cond >= 14) { Asm.mov(dst, 1); return; }
        switch (cond)
        {
            case 0: Asm.sete(dst); break;
            case 1: Asm.setne(dst); break;
            case 2: Asm.setae(dst); break;
            case 3: Asm.setb(dst); break;
            case 4: Asm.sets(dst); break;
            case 5: Asm.setns(dst); break;
            case 6: Asm.seto(dst); break;
            case 7: Asm.setno(dst); break;
            case 8: Asm.seta(dst); break;
            case 9: Asm.setbe(dst); break;
            case 10: Asm.setge(dst); break;
            case 11: Asm.setl(dst); break;
            case 12: Asm.setg(dst); break;
            case 13: Asm.setle(dst); break;
        }
    }

    /// <summary>Loads the ARM carry flag (0/1) into host CF, for ADC/ADCS.</summary>
    public void LoadCarryToHostCf()
    {
        if (_flagsCapturedAt == Asm.Instructions.Count) { Asm.cmc(); return; } // host CF is the stored !C already
        Asm.bt(NzcvMem, 8); // CF = stored !C
        Asm.cmc();
    }

    /// <summary>Loads !C (the borrow) into host CF, for SBC/SBCS.</summary>
    public void LoadBorrowToHostCf()
    {
        if (_flagsCapturedAt == Asm.Instructions.Count) return;
        Asm.bt(NzcvMem, 8);
    }

    /// <summary>dst32 = NZCV in the architectural layout (bits 31..28), for MRS. Uses rax as well.</summary>
    public void ReadNzcvArm(AssemblerRegister64 dst)
    {
        var d = R32(dst);
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
        Asm.mov(__dword_ptr[rbx + CpuOffsets.Nzcv], eax);
    }
}
