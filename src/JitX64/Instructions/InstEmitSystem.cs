using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

public static partial class InstEmit
{
    /// <summary>System register numbers as o0:op1:CRn:CRm:op2 (instruction bits 19..5).</summary>
    internal static class SysReg
    {
        public const int MidrEl1 = 0x4000, MpidrEl1 = 0x4005, CtrEl0 = 0x5801, DczidEl0 = 0x5807;
        public const int Nzcv = 0x5A10, Fpcr = 0x5A20, Fpsr = 0x5A21, TpidrEl0 = 0x5E82, TpidrroEl0 = 0x5E83;
        public const int CntfrqEl0 = 0x5F00, CntvctEl0 = 0x5F02, CntpctEl0 = 0x5F01;
    }

    /// <summary>A Cortex-A72-like identity; nothing reads it unless HWCAP_CPUID is advertised.</summary>
    public const ulong MidrValue = 0x410FD083;
    /// <summary>64-byte cache lines for DC ZVA and the I/D minimum lines.</summary>
    public const ulong CtrValue = 0x8444C004, DczidValue = 4;
    /// <summary>CNTVCT_EL0 counts nanoseconds of the host's monotonic clock.</summary>
    public const ulong CounterFrequency = 1_000_000_000;

    public static void Svc(EmitterContext ctx, A64Op op) => ctx.ExitBlock(ExitReason.Syscall, ctx.Pc + 4);
    public static void Brk(EmitterContext ctx, A64Op op) => ctx.ExitBlock(ExitReason.Breakpoint, ctx.Pc);
    public static void Undefined(EmitterContext ctx, A64Op op) => ctx.ExitBlock(ExitReason.Undefined, ctx.Pc);
    public static void Nop(EmitterContext ctx, A64Op op) { }
    /// <summary>ISB: the next instruction starts a block of its own (see the row in OpCodeTable.System.cs).</summary>
    public static void Isb(EmitterContext ctx, A64Op op) => ctx.BranchTo(ctx.Pc + 4);

    public static void Clrex(EmitterContext ctx, A64Op op)
        => ctx.CloseMonitor();

    /// <summary>DMB/DSB: on x86's TSO only the store->load order of a full barrier needs a fence.</summary>
    public static void Barrier(EmitterContext ctx, A64Op op)
    {
        int types = op.CRm & 3; // CRm<1:0>: 01 loads, 10 stores, 11 all
        if (types == 3) ctx.Asm.mfence();
    }

    public static void Mrs(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int rt = op.Rt;
        switch (op.SysReg)
        {
            case SysReg.TpidrEl0: a.mov(rcx, EmitterContext.Tpidr); break;
            case SysReg.Nzcv: ctx.ReadNzcvArm(rcx); break;
            case SysReg.Fpcr: a.mov(ecx, EmitterContext.Fpcr); break;
            case SysReg.Fpsr: EmitReadFpsr(ctx); break;
            case SysReg.DczidEl0: a.mov(ecx, (int)DczidValue); break;
            case SysReg.CtrEl0: a.mov(ecx, unchecked((int)CtrValue)); a.mov(ecx, ecx); break;
            case SysReg.MidrEl1: a.mov(ecx, (int)MidrValue); break;
            case SysReg.MpidrEl1: a.mov(ecx, unchecked((int)0x80000000)); break;
            case SysReg.CntfrqEl0: a.mov(ecx, (int)CounterFrequency); break;
            case SysReg.CntvctEl0:
            case SysReg.CntpctEl0:
                unsafe { ctx.CallHelper((nint)(delegate* unmanaged<ulong>)&Helpers.ReadCounter); }
                a.mov(rcx, rax);
                break;
            default:
                ctx.ExitBlock(ExitReason.Undefined, ctx.Pc);
                return;
        }
        ctx.StoreX(rt, rcx);
    }

    public static void Msr(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int rt = op.Rt;
        switch (op.SysReg)
        {
            case SysReg.TpidrEl0:
                ctx.LoadX(rcx, rt);
                ctx.StoreTpidr(rcx);
                break;
            case SysReg.Nzcv:
                ctx.LoadX(rsi, rt);
                ctx.WriteNzcvArm(rsi);
                break;
            case SysReg.Fpsr:
                ctx.LoadW(rcx, rt);
                ctx.StoreFpsr(ecx);
                // the cumulative flags now live in FPSR's word: start MXCSR's sticky flags afresh
                ctx.SaveMxcsr();
                ctx.ClearMxcsrFlags();
                a.ldmxcsr(EmitterContext.Mxcsr);
                break;
            case SysReg.Fpcr:
                ctx.LoadW(rax, rt);
                ctx.StoreFpcr(eax);
                EmitFpcrToMxcsr(ctx);
                break;
            default:
                ctx.ExitBlock(ExitReason.Undefined, ctx.Pc);
                return;
        }
    }

    /// <summary>eax holds the new FPCR: derive the host MXCSR (rounding mode, FZ) and load it now.</summary>
    private static void EmitFpcrToMxcsr(EmitterContext ctx)
    {
        var a = ctx.Asm;
        // A64 RMode 0 nearest, 1 +inf, 2 -inf, 3 zero; x86 RC 0 nearest, 1 -inf, 2 +inf, 3 zero: swap the bits.
        a.mov(ecx, eax); a.shr(ecx, 22); a.and(ecx, 1); a.shl(ecx, 1);
        a.mov(edx, eax); a.shr(edx, 23); a.and(edx, 1); a.or(ecx, edx);
        a.shl(ecx, 13);
        a.or(ecx, EmitterContext.DefaultMxcsr);
        var noFz = a.CreateLabel();
        a.bt(eax, 24);
        a.jae(noFz);
        a.or(ecx, 0x8040); // FTZ and DAZ: A64 FZ flushes inputs and results
        a.Label(ref noFz);
        // keep the exception flags raised so far
        ctx.SaveMxcsr();
        a.mov(edx, EmitterContext.Mxcsr);
        a.and(edx, 0x3f);
        a.or(ecx, edx);
        ctx.StoreMxcsr(ecx);
        a.ldmxcsr(EmitterContext.Mxcsr);
    }

    /// <summary>
    /// ecx = FPSR: the stored word plus the cumulative exception bits the host raised in MXCSR since
    /// (IE->IOC bit 0, ZE->DZC 1, OE->OFC 2, UE->UFC 3, PE->IXC 4; DE->IDC 7 only under flush-to-zero,
    /// where A64 reports flushed denormal inputs).
    /// </summary>
    private static void EmitReadFpsr(EmitterContext ctx)
    {
        var a = ctx.Asm;
        ctx.SaveMxcsr();
        a.mov(eax, EmitterContext.Mxcsr);
        a.mov(ecx, eax); a.and(ecx, 1);                                  // IE -> IOC
        a.mov(edx, eax); a.shr(edx, 1); a.and(edx, 0x1e); a.or(ecx, edx); // ZE,OE,UE,PE (bits 2..5) -> 1..4
        var noFz = a.CreateLabel();
        a.bt(eax, 15);
        a.jae(noFz);
        a.mov(edx, eax); a.and(edx, 2); a.shl(edx, 6); a.or(ecx, edx);     // DE -> IDC
        a.Label(ref noFz);
        a.or(ecx, EmitterContext.Fpsr);
    }

    /// <summary>DC ZVA: zero the 64-byte block holding the address.</summary>
    public static void DcZva(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        ctx.LoadX(rsi, op.Rt);
        a.and(rsi, -64);
        ctx.CheckAddress(64); // the whole block: one 64-byte unit (shift 6) or more is redirected, smaller units fault
        a.pxor(xmm0, xmm0);
        a.movdqu(__xmmword_ptr[r15 + rsi], xmm0);
        a.movdqu(__xmmword_ptr[r15 + rsi + 16], xmm0);
        a.movdqu(__xmmword_ptr[r15 + rsi + 32], xmm0);
        a.movdqu(__xmmword_ptr[r15 + rsi + 48], xmm0);
    }

    internal static class Helpers
    {
        [System.Runtime.InteropServices.UnmanagedCallersOnly]
        public static ulong ReadCounter()
            => (ulong)System.Diagnostics.Stopwatch.GetTimestamp() * (CounterFrequency / (ulong)System.Diagnostics.Stopwatch.Frequency);
    }
}
