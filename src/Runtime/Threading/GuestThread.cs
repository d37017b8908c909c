using System.Runtime.InteropServices;
using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;

namespace Dqemu.Runtime.Threading;

/// <summary>One guest thread: a CpuState (invariant 4) plus the host-side things that run it.</summary>
public sealed unsafe class GuestThread : IDisposable
{
    public CpuState* Cpu { get; }
    public BlockRunner Runner { get; }
    public int Tid { get; set; }
    /// <summary>set_tid_address / CLONE_CHILD_CLEARTID: cleared and woken when the thread exits.</summary>
    public ulong ClearChildTid { get; set; }
    public ulong SignalMask { get; set; }
    public bool Exited { get; set; }

    public long Syscalls;

    public GuestThread(GuestProcess process)
    {
        Cpu = (CpuState*)NativeMemory.AlignedAlloc((nuint)sizeof(CpuState), 64);
        NativeMemory.Clear(Cpu, (nuint)sizeof(CpuState));
        Cpu->MemBase = (ulong)process.Space.Base;
        Cpu->AddrMask = Memory.GuestSpace.Mask;
        Runner = new BlockRunner(process.Translator);
        Runner.Attach(Cpu);
    }

    public void Dispose()
    {
        Runner.JumpCache.Dispose();
        NativeMemory.AlignedFree(Cpu);
    }
}
