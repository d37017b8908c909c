using Dqemu.JitX64.State;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Translation;

/// <summary>
/// The fixed pieces of host code every block relies on: the entry trampoline the dispatcher calls
/// (int Enter(CpuState* cpu, void* code)), the common exit that returns an <see cref="ExitReason"/>,
/// and the landing pad the signal handler redirects a faulting guest access to.
/// </summary>
public sealed unsafe class JitStubs
{
    public ulong Enter { get; }
    public ulong Exit { get; }
    public ulong SegFaultExit { get; }

    /// <summary>
    /// The out-of-line exits of translated code, each reached by a call followed by its data (<see cref="EmitterContext"/>'s
    /// compact exits): 13-17 bytes a block exit instead of 35-41 of stores and jumps, which on these hosts (a fresh page of
    /// code costs ~6-10 µs to touch) and in the translator's time (two encoded instructions instead of five) both count.
    /// Each takes the address of its data from the return address, and leaves by a ret to the exit, so the call's
    /// return-predictor entry goes with it.
    /// LinkExit: "call LinkExit; dq pc": a Branch exit to pc whose link site is the rel32 ending at the call.
    /// LinkExitAt: "lea rax, site end; call LinkExitAt; dq pc": the same for a site elsewhere (a jcc's).
    /// PcExit: "call PcExit; dq pc; dd reason": any other exit to the dispatcher.
    /// </summary>
    public ulong LinkExit { get; }
    public ulong LinkExitAt { get; }
    public ulong PcExit { get; }

    /// <summary>The bytes of data that follow a call of <paramref name="target"/>: 8 (pc) for LinkExit and LinkExitAt,
    /// 12 (pc, reason) for PcExit, 0 for any other target (not a compact exit).</summary>
    public int CompactExitData(ulong target) => target == LinkExit || target == LinkExitAt ? 8 : target == PcExit ? 12 : 0;

    /// <summary>
    /// The split-page redirect of the checked address in rsi (entry format at <see cref="CpuOffsets.SplitMap"/>),
    /// called by split-aware instructions whose cache slot missed, with one pushed argument: span | slot &lt;&lt; 16
    /// (slot 0xFFFF: none). Redirects rsi when its page is split and the span stays in one unit, and then fills the
    /// slot; preserves every other register (flags excepted) and pops its argument.
    /// </summary>
    public ulong SplitRedirect { get; }

    /// <summary>
    /// Called out of line by <see cref="EmitterContext.CheckAddress"/> when the guest address in rsi is above the limit
    /// in r14 (or r14 is 0: <see cref="EmitLoadLimit"/>): keeps it at <see cref="CpuOffsets.WildAddr"/>, clears its top byte (AArch64 TBI: a tagged pointer
    /// reaches the untagged address, as on Linux), and when it is still above the limit sends rsi to
    /// <see cref="CpuOffsets.WildTarget"/> bytes past it, in the guard, so the access faults. Only rsi and the flags
    /// change; an address within AddrLimit goes back unchanged.
    /// </summary>
    public ulong WildAddress { get; }

    /// <summary>The argument's slot value meaning "no cache slot".</summary>
    public const int NoSplitSlot = 0xFFFF;

    internal JitStubs(CodeCache cache)
    {
        var a = new Assembler(64);
        var exit = a.CreateLabel();
        var segv = a.CreateLabel();
        var guestContext = a.CreateLabel();
        var epilogue = a.CreateLabel();
        // callee-saved registers plus one slot keep rsp 16-byte aligned inside translated code
        a.push(rbx); a.push(rbp); a.push(r12); a.push(r13); a.push(r14); a.push(r15);
        // the caller's r14 is saved: from here to the epilogue r14 is translated code's limit (GuestContextStart)
        a.Label(ref guestContext);
        a.sub(rsp, 8);
        a.mov(rbx, rdi);
        a.mov(r15, __qword_ptr[rbx + CpuOffsets.MemBase]);
        EmitLoadLimit(a);
        a.ldmxcsr(__dword_ptr[rbx + CpuOffsets.Mxcsr]);
        a.jmp(rsi);
        // the pieces translated code calls and returns from, and the exits, lie between Enter and the epilogue
        var linkExit = a.CreateLabel();
        var linkExitAt = a.CreateLabel();
        var pcExit = a.CreateLabel();
        var exitEcx = a.CreateLabel();
        a.Label(ref linkExit);
        a.mov(rax, __qword_ptr[rsp]);                          // the data after the call
        a.lea(rcx, __[rax - 5]);                               // the call's address: the end of the site's rel32
        a.mov(__qword_ptr[rbx + CpuOffsets.LinkSite], rcx);
        a.xor(ecx, ecx);                                       // ExitReason.Branch
        EmitPcAndLeave(a, exitEcx);
        a.Label(ref linkExitAt);
        a.mov(__qword_ptr[rbx + CpuOffsets.LinkSite], rax);
        a.mov(rax, __qword_ptr[rsp]);
        a.xor(ecx, ecx);
        EmitPcAndLeave(a, exitEcx);
        a.Label(ref pcExit);
        a.mov(rax, __qword_ptr[rsp]);
        a.mov(ecx, __dword_ptr[rax + 8]);
        EmitPcAndLeave(a, exitEcx);
        a.Label(ref exitEcx);
        a.mov(eax, ecx);
        a.jmp(exit);
        var redirect = a.CreateLabel();
        EmitSplitRedirect(a, ref redirect);
        var wild = a.CreateLabel();
        EmitWildAddress(a, ref wild);
        a.Label(ref segv);
        // the register cache's xmm copies as the fault left them (the handler returned here through sigreturn, which
        // restored them): guest V registers the block had not stored yet are among them (Translator.RestoreFaultState)
        if (EmitterContext.XmmPool.Length != CpuOffsets.FaultVRegCount)
            throw new InvalidOperationException("FaultVRegs does not fit the xmm pool");
        for (int k = 0; k < CpuOffsets.FaultVRegCount; k++)
            a.movdqu(__xmmword_ptr[rbx + CpuOffsets.FaultVRegs + 16 * k], EmitterContext.XmmPool[k]);
        a.mov(eax, (int)ExitReason.SegFault);
        a.Label(ref exit);
        // managed code expects the default MXCSR; the guest's (with its sticky exception flags, which are
        // FPSR's cumulative bits) lives in CpuState until the next entry
        a.stmxcsr(__dword_ptr[rbx + CpuOffsets.Mxcsr]);
        a.mov(__dword_ptr[rsp], CpuOffsets.DefaultMxcsr);
        a.ldmxcsr(__dword_ptr[rsp]);
        a.add(rsp, 8);
        a.Label(ref epilogue);
        a.pop(r15); a.pop(r14); a.pop(r13); a.pop(r12); a.pop(rbp); a.pop(rbx);
        a.ret();
        Span<uint> at = stackalloc uint[9];
        var placed = cache.Place(a, [redirect.InstructionIndex, exit.InstructionIndex, segv.InstructionIndex, wild.InstructionIndex,
            linkExit.InstructionIndex, linkExitAt.InstructionIndex, pcExit.InstructionIndex, guestContext.InstructionIndex,
            epilogue.InstructionIndex], at);
        Enter = placed;
        SplitRedirect = placed + at[0];
        Exit = placed + at[1];
        SegFaultExit = placed + at[2];
        WildAddress = placed + at[3];
        LinkExit = placed + at[4];
        LinkExitAt = placed + at[5];
        PcExit = placed + at[6];
        GuestContextStart = placed + at[7];
        GuestContextEnd = placed + at[8];
        // in list order: enter, the compact exits, split redirect, wild address, segfault-exit (falls into exit), exit
        ulong end = cache.LastEnd;
        cache.NameStub(Enter, LinkExit, "dqemu:enter");
        cache.NameStub(LinkExit, SplitRedirect, "dqemu:compact-exits");
        cache.NameStub(SplitRedirect, WildAddress, "dqemu:split-redirect");
        cache.NameStub(WildAddress, SegFaultExit, "dqemu:wild-address");
        cache.NameStub(SegFaultExit, end, "dqemu:exit");
    }

    /// <summary>
    /// The stubs' part of the guest context, [<see cref="GuestContextStart"/>, <see cref="GuestContextEnd"/>): from
    /// after Enter has saved the caller's r14 to the epilogue that restores it. There, as in every translated block, r14
    /// holds the limit translated code compares guest addresses with, so the interrupt handler may set it to 0
    /// (<see cref="EmitLoadLimit"/>); anywhere else r14 is someone else's.
    /// </summary>
    public ulong GuestContextStart { get; }
    public ulong GuestContextEnd { get; }

    /// <summary>
    /// r14 = the highest guest address (<see cref="CpuOffsets.AddrLimit"/>), or 0 when the thread is asked to leave
    /// (<see cref="CpuOffsets.ExitRequest"/> non-zero): at Enter and after every call of managed code from translated
    /// code (<see cref="EmitterContext.CallHelper"/>). A block's entry leaves on r14 == 0 (a register test, where a load
    /// and compare of ExitRequest cost 4-8% of an interpreter's run); a thread asked while it runs translated code gets
    /// r14 set to 0 by the interrupt signal's handler. An access checked against 0 takes the out-of-line path, which
    /// compares with AddrLimit itself (<see cref="WildAddress"/>). Clobbers host flags.
    /// </summary>
    internal static void EmitLoadLimit(Assembler a)
    {
        a.cmp(__dword_ptr[rbx + CpuOffsets.ExitRequest], 1);  // CF = no request
        a.sbb(r14, r14);                                       // all ones, or 0 when asked to leave
        a.and(r14, __qword_ptr[rbx + CpuOffsets.AddrLimit]);
    }

    /// <summary>Pc from the data at rax, then a ret to <paramref name="leave"/> (reason in ecx) in place of the call's return.</summary>
    private static void EmitPcAndLeave(Assembler a, Label leave)
    {
        a.mov(rax, __qword_ptr[rax]);
        a.mov(__qword_ptr[rbx + CpuOffsets.Pc], rax);
        a.lea(rax, __[leave]);
        a.mov(__qword_ptr[rsp], rax);
        a.ret();
    }

    private static void EmitSplitRedirect(Assembler a, ref Label entry)
    {
        var done = a.CreateLabel();
        var apply = a.CreateLabel();
        a.Label(ref entry);
        a.push(rax); a.push(rcx); a.push(rdx); a.push(rdi);   // the argument is now at [rsp + 40]
        a.mov(rax, rsi);
        a.shr(rax, 12);
        a.mov(rcx, __qword_ptr[rbx + CpuOffsets.SplitMap]);
        a.mov(rax, __qword_ptr[rcx + rax * 8]);                // E
        a.test(rax, rax);
        a.je(done);                                            // page not split
        a.mov(ecx, eax);
        a.and(ecx, 15);                                        // cl = shift
        a.movzx(edx, __word_ptr[rsp + 40]);                    // span
        a.lea(rdx, __[rsi + rdx - 1]);                         // L, the last byte
        a.shr(rdx, cl);
        a.shl(rdx, cl);                                        // start of L's unit
        a.cmp(rdx, rsi);
        a.ja(done);                                            // crosses a unit or the page: not redirected
        a.mov(edx, esi);
        a.and(edx, 0xFFF);
        a.shr(edx, cl);                                        // unit number
        a.shl(rdx, 12);
        a.and(rax, -4096);
        a.add(rax, rdx);                                       // the whole displacement to the unit's shadow
        a.movzx(edi, __word_ptr[rsp + 42]);                    // cache slot
        a.cmp(edi, NoSplitSlot);
        a.je(apply);
        a.shl(edi, 4);
        a.mov(__qword_ptr[rbx + rdi + CpuOffsets.SplitCache], rsi);
        a.mov(__qword_ptr[rbx + rdi + CpuOffsets.SplitCache + 8], rax);
        a.Label(ref apply);
        a.add(rsi, rax);
        a.Label(ref done);
        a.pop(rdi); a.pop(rdx); a.pop(rcx); a.pop(rax);
        a.ret(8);
    }

    private static void EmitWildAddress(Assembler a, ref Label entry)
    {
        var inRange = a.CreateLabel();
        a.Label(ref entry);
        a.mov(__qword_ptr[rbx + CpuOffsets.WildAddr], rsi);
        a.shl(rsi, 8);
        a.shr(rsi, 8);
        // AddrLimit, not r14: r14 is 0 while the thread is asked to leave, and every access comes here until it does
        a.cmp(rsi, __qword_ptr[rbx + CpuOffsets.AddrLimit]);
        a.jbe(inRange);
        a.mov(rsi, __qword_ptr[rbx + CpuOffsets.AddrLimit]);
        a.add(rsi, (int)(CpuOffsets.WildTarget + 1));
        a.Label(ref inRange);
        a.ret();
    }

    public int Run(CpuState* cpu, nint code)
    {
        var f = (delegate* unmanaged<CpuState*, nint, int>)Enter;
        return f(cpu, code);
    }
}
