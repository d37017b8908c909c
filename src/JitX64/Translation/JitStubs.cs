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

    internal JitStubs(CodeCache cache)
    {
        var a = new Assembler(64);
        var exit = a.CreateLabel();
        var segv = a.CreateLabel();
        // callee-saved registers plus one slot keep rsp 16-byte aligned inside translated code
        a.push(rbx); a.push(rbp); a.push(r12); a.push(r13); a.push(r14); a.push(r15);
        a.sub(rsp, 8);
        a.mov(rbx, rdi);
        a.mov(r15, __qword_ptr[rbx + CpuOffsets.MemBase]);
        a.mov(r14, __qword_ptr[rbx + CpuOffsets.AddrMask]);
        a.ldmxcsr(__dword_ptr[rbx + CpuOffsets.Mxcsr]);
        a.jmp(rsi);
        a.Label(ref segv);
        a.mov(eax, (int)ExitReason.SegFault);
        a.Label(ref exit);
        // managed code expects the default MXCSR; the guest's (with its sticky exception flags, which are
        // FPSR's cumulative bits) lives in CpuState until the next entry
        a.stmxcsr(__dword_ptr[rbx + CpuOffsets.Mxcsr]);
        a.mov(__dword_ptr[rsp], CpuOffsets.DefaultMxcsr);
        a.ldmxcsr(__dword_ptr[rsp]);
        a.add(rsp, 8);
        a.pop(r15); a.pop(r14); a.pop(r13); a.pop(r12); a.pop(rbp); a.pop(rbx);
        a.ret();
        var placed = cache.Place(a, out var result);
        Enter = placed;
        Exit = result.GetLabelRIP(exit);
        SegFaultExit = result.GetLabelRIP(segv);
    }

    public int Run(CpuState* cpu, nint code)
    {
        var f = (delegate* unmanaged<CpuState*, nint, int>)Enter;
        return f(cpu, code);
    }
}
