using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Signal;

/// <summary>What the generated SIGSEGV/SIGBUS handler needs to know, all fixed at start-up.</summary>
public readonly record struct SignalHandlerConfig(
    ulong GuestBase,
    ulong GuestSize,
    ulong CodeBase,
    ulong CodeSize,
    ulong SegFaultExit,
    ulong PreviousHandler,
    /// <summary>Where a service routine for guest pages lives (DSM), or 0 for none.</summary>
    ulong PageFaultService,
    /// <summary>The guarded copy's faulting instruction (NativeThunks.CreateGuardedCopy) and where a fault there
    /// resumes, or 0 for none.</summary>
    ulong GuardedCopyRip = 0,
    ulong GuardedCopyResume = 0);

/// <summary>
/// Emits the host fault handler (DESIGN.md invariant 2: no managed code in signal context). Its logic:
/// a fault at the guarded copy's instruction resumes at its recovery point (the copy reports how much it left);
/// a fault whose address is inside the guest reservation and whose RIP is translated code is the guest's:
/// if a page-fault service is configured it is asked first (it returns non-zero when the page is now
/// accessible, and the access is retried); otherwise the CpuState (rbx in the interrupted context) gets
/// the guest fault address and RIP is pointed at the SegFault exit, so the dispatcher sees a guest SIGSEGV.
/// Anything else chains to the previous handler (the .NET runtime's, which turns managed null dereferences
/// into exceptions).
/// </summary>
public static partial class NativeSignalHandlerGenerator
{
    // x86-64 ucontext_t: uc_flags(8) uc_link(8) uc_stack(24) then mcontext gregs[23]
    private const int GregsOffset = 40;
    private const int RegR8 = 0, RegRbx = 11, RegRip = 16, RegErr = 19;

    /// <summary>Index of a general register in ucontext's gregs (REG_R8 = 0 .. REG_R15 = 7, then RDI, RSI, RBP, RBX,
    /// RDX, RAX, RCX, RSP).</summary>
    private static int GregIndex(AssemblerRegister64 r) => r.Value switch
    {
        >= Register.R8 and <= Register.R15 => RegR8 + (r.Value - Register.R8),
        Register.RDI => 8, Register.RSI => 9, Register.RBP => 10, Register.RBX => RegRbx,
        Register.RDX => 12, Register.RAX => 13, Register.RCX => 14, Register.RSP => 15,
        _ => throw new ArgumentOutOfRangeException(nameof(r)),
    };
    /// <summary>LOCK CMPXCHG16B with a REX prefix, as a little-endian dword (F0 4x 0F C7), and the mask of its fixed bits.</summary>
    private const uint Cmpxchg16bBytes = 0xC70F40F0, Cmpxchg16bMask = 0xFFFFF0FF;

    public static nint Generate(CodeCache cache, in SignalHandlerConfig c)
    {
        var a = new Assembler(64);
        var chain = a.CreateLabel();
        var notService = a.CreateLabel();
        // rdi = signal, rsi = siginfo_t*, rdx = ucontext_t*
        if (c.GuardedCopyRip != 0)
        {
            var notCopy = a.CreateLabel();
            a.mov(rax, __qword_ptr[rdx + GregsOffset + 8 * RegRip]);
            a.mov(rcx, c.GuardedCopyRip);
            a.cmp(rax, rcx);
            a.jne(notCopy);
            a.mov(rcx, c.GuardedCopyResume);
            a.mov(__qword_ptr[rdx + GregsOffset + 8 * RegRip], rcx);
            a.ret();
            a.Label(ref notCopy);
        }
        a.mov(rax, __qword_ptr[rsi + 16]);            // si_addr
        a.mov(rcx, c.GuestBase);
        a.sub(rax, rcx);
        a.mov(rcx, c.GuestSize);
        a.cmp(rax, rcx);
        a.jae(chain);
        a.mov(r8, __qword_ptr[rdx + GregsOffset + 8 * RegRip]);
        a.mov(rcx, c.CodeBase);
        a.sub(r8, rcx);
        a.mov(rcx, c.CodeSize);
        a.cmp(r8, rcx);
        a.jae(chain);
        if (c.PageFaultService != 0)
        {
            // int service(ulong guestAddress, ucontext*): preserve our arguments across the call
            a.push(rdi); a.push(rsi); a.push(rdx); a.push(rax);
            a.sub(rsp, 8);
            a.mov(rdi, rax);
            a.mov(rsi, rdx);
            a.mov(rcx, c.PageFaultService);
            a.call(rcx);
            a.add(rsp, 8);
            a.mov(ecx, eax);
            a.pop(rax); a.pop(rdx); a.pop(rsi); a.pop(rdi);
            a.test(ecx, ecx);
            a.je(notService);
            a.ret();
            a.Label(ref notService);
        }
        // CMPXCHG16B needs rbx for data, so translated code parks CpuState* in r8 around it (InstEmitExclusive):
        // give rbx back to the exit path, which expects CpuState* there
        var rbxIsCpu = a.CreateLabel();
        a.mov(rcx, __qword_ptr[rdx + GregsOffset + 8 * RegRip]);
        a.mov(ecx, __dword_ptr[rcx]);
        a.and(ecx, unchecked((int)Cmpxchg16bMask));
        a.cmp(ecx, unchecked((int)Cmpxchg16bBytes));
        a.jne(rbxIsCpu);
        a.mov(rcx, __qword_ptr[rdx + GregsOffset + 8 * RegR8]);
        a.mov(__qword_ptr[rdx + GregsOffset + 8 * RegRbx], rcx);
        a.Label(ref rbxIsCpu);
        a.mov(r8, __qword_ptr[rdx + GregsOffset + 8 * RegRbx]); // CpuState*
        a.mov(__qword_ptr[r8 + CpuOffsets.FaultAddr], rax);
        a.mov(rcx, __qword_ptr[rdx + GregsOffset + 8 * RegErr]);
        a.mov(__qword_ptr[r8 + CpuOffsets.FaultError], rcx);
        a.mov(rcx, __qword_ptr[rdx + GregsOffset + 8 * RegRip]);
        a.mov(__qword_ptr[r8 + CpuOffsets.FaultHostRip], rcx);
        // the register cache's host registers: guest registers a block had not stored yet are among them
        for (int k = 0; k < CpuOffsets.FaultRegCount; k++)
        {
            a.mov(rcx, __qword_ptr[rdx + GregsOffset + 8 * GregIndex(EmitterContext.CachePool[k])]);
            a.mov(__qword_ptr[r8 + CpuOffsets.FaultRegs + 8 * k], rcx);
        }
        a.mov(rcx, c.SegFaultExit);
        a.mov(__qword_ptr[rdx + GregsOffset + 8 * RegRip], rcx);
        a.ret();
        a.Label(ref chain);
        if (c.PreviousHandler > 1)
        {
            a.mov(rax, c.PreviousHandler);
            a.jmp(rax);
        }
        else
        {
            // no previous handler: exit_group(128 + SIGSEGV), as the default action would end us
            a.mov(edi, 139);
            a.mov(eax, 231);
            a.syscall();
            a.ud2();
        }
        return (nint)cache.Place(a, "dqemu:fault-handler");
    }
}
