using System.Text;
using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.State;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Memory;
using Dqemu.Runtime.Signals;
using Dqemu.Runtime.Syscalls;

namespace Dqemu.Runtime.Threading;

/// <summary>
/// A guest thread's main loop: run translated code (BlockRunner links blocks and refills the jump cache),
/// and handle what comes back: syscalls, faults, undefined instructions, interrupts.
/// </summary>
public static unsafe class Dispatcher
{
    public const int SigIll = 4, SigTrap = 5, SigBus = 7, SigSegv = 11;

    public static void Run(GuestProcess process, GuestThread thread)
    {
        var ctx = new SyscallContext(process, thread);
        var cpu = thread.Cpu;
        // a store faulted on a page of guest code that the guest may write (GuestSpace.CodeGuard.cs): the page was
        // made writable and its translations dropped; the store runs again alone, from a fresh translation that
        // does not protect the page again, before any block of it runs
        bool rerunStore = false;
        while (!thread.Exited && !process.Exiting)
        {
            // -g: the debugger may hold this thread stopped here, or ask for one instruction only
            var debugger = process.Debugger;
            bool step = debugger != null && debugger.BeforeRun(thread);
            if (thread.Exited || process.Exiting) break;
            ExitReason reason;
            if (rerunStore)
            {
                GuestSpace.FetchWithoutGuard = true;
                try { reason = thread.Runner.StepFresh(cpu); }
                finally { GuestSpace.FetchWithoutGuard = false; }
                // an Interrupt exit (the invalidation raised every thread's ExitRequest) ran nothing: try again
                rerunStore = reason == ExitReason.Interrupt;
            }
            else reason = step ? thread.Runner.Step(cpu) : thread.Runner.Run(cpu);
            thread.Exits[(int)reason & 15]++;
            switch (reason)
            {
                case ExitReason.Syscall:
                    cpu->ExclSize = 0; // the return from the exception clears the exclusive monitor (Linux; qemu-aarch64 too)
                    if (!thread.MeasureOverhead) DoSyscall(ctx);
                    else
                    {
                        long before = ThreadCpuTime.Nanoseconds();
                        DoSyscall(ctx);
                        thread.OverheadCpuNs += ThreadCpuTime.Nanoseconds() - before;
                    }
                    break;
                case ExitReason.Interrupt:
                    Interlocked.Exchange(ref cpu->ExitRequest, 0);
                    break;
                case ExitReason.Undefined:
                    {
                        string word = process.Space.TryRead(cpu->Pc, out uint insn) ? $"0x{insn:x8}" : "(unreadable)";
                        Synchronous(process, thread, SigIll, SignalDelivery.IllIllopc, cpu->Pc, $"illegal instruction {word} at pc 0x{cpu->Pc:x}");
                        break;
                    }
                case ExitReason.SegFault:
                    {
                        // (BlockRunner has set Pc to the faulting instruction and restored the block's cached registers)
                        // an address above the guest range was sent into the guard (EmitterContext.CheckAddress): the
                        // guest gets its own address, and nothing of the cluster's or the split pages' is involved
                        ulong addr = CpuOffsets.GuestFaultAddress(cpu, cpu->FaultAddr);
                        if (addr == cpu->FaultAddr && (cpu->FaultError & CpuOffsets.FaultErrorWrite) != 0 && process.Space.ReleaseCodePage(addr))
                        {
                            rerunStore = true;
                            break;
                        }
                        if (addr == cpu->FaultAddr && ResolveFault(process, thread, cpu)) break;
                        cpu->FaultAddr = addr;
                        var vma = process.Space.Find(cpu->FaultAddr);
                        int code = vma == null ? SignalDelivery.SegvMaperr : SignalDelivery.SegvAccerr;
                        Synchronous(process, thread, SigSegv, code, cpu->FaultAddr, $"segmentation fault at guest address 0x{cpu->FaultAddr:x}, pc 0x{cpu->Pc:x}");
                        break;
                    }
                case ExitReason.FetchFault:
                    {
                        // as qemu-aarch64: a misaligned pc in executable memory is a PC alignment fault (SIGBUS);
                        // anywhere else the fetch fails like a load would (not mapped, or mapped without exec)
                        var vma = process.Space.Find(cpu->Pc);
                        if (vma != null && (vma.Prot & GuestProt.Exec) != 0 && (cpu->Pc & 3) != 0)
                            Synchronous(process, thread, SigBus, SignalDelivery.BusAdraln, cpu->Pc, $"bus error: misaligned pc 0x{cpu->Pc:x}");
                        else
                            Synchronous(process, thread, SigSegv, vma == null ? SignalDelivery.SegvMaperr : SignalDelivery.SegvAccerr, cpu->Pc,
                                $"segmentation fault: jump to non-executable address 0x{cpu->Pc:x}");
                        break;
                    }
                case ExitReason.Misaligned:
                    {
                        // an exclusive, ordered or atomic access to a misaligned address: an alignment fault, as
                        // under qemu-aarch64; si_addr without the top byte (tag), as Linux reports it
                        ulong addr = (ulong)((long)(cpu->FaultAddr << 8) >> 8);
                        Synchronous(process, thread, SigBus, SignalDelivery.BusAdraln, addr, $"bus error: misaligned atomic or exclusive access to 0x{addr:x}, pc 0x{cpu->Pc:x}");
                        break;
                    }
                case ExitReason.CodeModified:
                    // a block of volatile code found its guest bytes changed at entry (GuestSpace.CodeGuard.cs): drop
                    // what was translated from them; Pc is the block's start, nothing of it ran
                    if (process.Translator.InvalidateRange(GuestSpace.PageDown(cpu->Pc), GuestSpace.PageDown(cpu->Pc) + GuestSpace.PageSize))
                        process.RequestExitAll();
                    break;
                case ExitReason.Breakpoint:
                    Synchronous(process, thread, SigTrap, SignalDelivery.TrapBrkpt, cpu->Pc, $"breakpoint (brk) at pc 0x{cpu->Pc:x}");
                    break;
                case ExitReason.Branch:
                case ExitReason.Indirect:
                    break; // only from a single step (BlockRunner.Step): its instruction ran, Pc is the next one
                case ExitReason.DebugStop:
                    debugger?.Stop(thread, SigTrap); // a debugger breakpoint: Pc is at it, the instruction has not run
                    step = false;
                    break;
                default:
                    Fatal(process, thread, SigSegv, $"unexpected exit {reason} at pc 0x{cpu->Pc:x}");
                    break;
            }
            // a single step is done once the instruction ran (an Interrupt exit ran nothing: it is tried again)
            if (step && reason != ExitReason.Interrupt && !thread.Exited && !process.Exiting) debugger!.StepDone(thread);
            if (!thread.Exited && Volatile.Read(ref thread.Pending) != 0)
                SignalDelivery.DeliverPending(process, thread);
            process.Space.Coherence?.ReleaseResident();
            // live migration happens here, between blocks: the CpuState is whole and no syscall is under way
            if (thread.MigrateTo >= 0 && !thread.Exited && process.Cluster?.MigrateOut(thread) == true) return;
        }
    }

    /// <summary>
    /// A fault in the guest range the runtime answers itself: a split page's unit, or a page another node holds, which
    /// is fetched so that the instruction runs again (its effects are not committed before its access, and CpuState
    /// holds every guest register as it was before it). False when the fault is the guest's.
    /// </summary>
    private static bool ResolveFault(GuestProcess process, GuestThread thread, CpuState* cpu)
    {
        // a fault on a split page's unit: the thread's redirect cache may hold entries of a page that merged back
        // since (they lead only to inaccessible shadow pages); it refills as it goes
        if (cpu->FaultAddr >= Memory.GuestSpace.ShadowStart)
            System.Runtime.InteropServices.NativeMemory.Clear((byte*)cpu + CpuOffsets.SplitCache, CpuOffsets.SplitCacheSlots * 16);
        long faultStart = thread.MeasureOverhead ? ThreadCpuTime.Nanoseconds() : 0;
        bool write = (cpu->FaultError & CpuOffsets.FaultErrorWrite) != 0;
        Volatile.Write(ref thread.WaitingForPage, cpu->FaultAddr | (write ? 1UL : 0));
        bool resolved = process.Cluster?.ResolveFault(cpu->FaultAddr, write, cpu->Pc, cpu->FaultHostRip) == true;
        Volatile.Write(ref thread.WaitingForPage, 0);
        if (!resolved) return false;
        thread.PageFaults++;
        thread.NoteFault(cpu->FaultAddr >> 12);
        if (faultStart != 0) thread.OverheadCpuNs += ThreadCpuTime.Nanoseconds() - faultStart;
        return true;
    }

    /// <summary>A fault the guest may handle with a signal handler; without one the process dies of it.</summary>
    private static void Synchronous(GuestProcess process, GuestThread thread, int signal, int code, ulong addr, string message)
    {
        // -g: the debugger sees the signal first and may resume without it; the instruction then runs again
        if (process.Debugger is { } debugger && debugger.Signal(thread, signal) == 0) return;
        if (!SignalDelivery.RaiseSync(process, thread, signal, code, addr)) Fatal(process, thread, signal, message);
    }

    /// <summary>A synchronous signal the guest has no handler for (or blocks): the process dies of it, with one line.</summary>
    private static void Fatal(GuestProcess process, GuestThread thread, int signal, string message)
    {
        Console.Error.WriteLine($"dqemu-native: {message}; guest killed by signal {signal} ({SignalName(signal)})");
        process.KillBySignal(signal);
        thread.Exited = true;
        process.Terminate();
    }

    public static string SignalName(int s) => s switch
    {
        4 => "Illegal instruction", 5 => "Trace/breakpoint trap", 6 => "Aborted", 7 => "Bus error",
        8 => "Floating point exception", 9 => "Killed", 11 => "Segmentation fault", 13 => "Broken pipe", 15 => "Terminated",
        _ => "signal " + s,
    };

    private static void DoSyscall(SyscallContext ctx)
    {
        var cpu = ctx.Cpu;
        ulong nr = cpu->X[8];
        ctx.Thread.InSyscall = true;
        long result = Execute(ctx);
        ctx.Thread.InSyscall = false;
        if (ctx.Thread.SuppressResult) ctx.Thread.SuppressResult = false;
        else if (result == -Errno.EINTR && Restartable(ctx, nr)) cpu->Pc -= 4; // X0 still holds the first argument
        else if (!ctx.Thread.Exited) cpu->X[0] = (ulong)result;
    }

    /// <summary>
    /// Runs the syscall in X8 with X0-X5 (here, or delegated to node 0 by a cluster worker), logged under --strace,
    /// and returns its result; the caller writes it back. Node 0's proxies for remote threads run calls through here
    /// too, with <paramref name="log"/> false: the calling node's --strace line already shows the call.
    /// </summary>
    public static long Execute(SyscallContext ctx, bool log = true)
    {
        var cpu = ctx.Cpu;
        ulong nr = cpu->X[8];
        var entry = SyscallTable.Get(nr);
        ctx.Thread.Syscalls++;
        long result;
        if (entry == null)
        {
            result = -Errno.ENOSYS;
            if (log && ctx.Process.Options.Strace) GuestLog.WriteLine(StraceFormat.Unknown(ctx.Thread.Tid, nr));
            return result;
        }
        string? before = log && ctx.Process.Options.Strace ? StraceFormat.Call(ctx.Thread.Tid, entry.Name, ctx.Mem, Args(cpu)) : null;
        if (before != null && !StraceFormat.Returns(entry.Name))
        {
            GuestLog.WriteLine(before); // exit and exit_group do not come back
            before = null;
        }
        if (entry.Site != SyscallSite.Node0 || ctx.Process.Cluster?.TryDelegate(ctx, out result) != true)
            result = entry.Handler(ctx);
        if (before != null) GuestLog.WriteLine(before + StraceFormat.Result(entry.Name, result));
        return result;
    }

    /// <summary>
    /// A call interrupted for a guest signal whose handler has SA_RESTART runs again after the handler, as the
    /// kernel's -ERESTARTSYS does: the PC goes back to the SVC, so the signal frame saves it and sigreturn
    /// re-executes the call. Only the calls the kernel restarts this way (not sleeps, polls or waits with a
    /// timeout, which report EINTR whatever the flag says).
    /// </summary>
    private static bool Restartable(SyscallContext ctx, ulong nr)
    {
        bool kind = nr switch
        {
            63 or 64 or 65 or 66 or 67 or 68 or 56 or 29 or 260 or 95 or 32 => true, // read..pwrite64, openat, ioctl, wait4, waitid, flock
            202 or 242 or 206 or 207 or 211 or 212 or 203 => true,                  // accept, accept4, sendto, recvfrom, sendmsg, recvmsg, connect
            182 or 183 => true,                                                      // mq_timedsend, mq_timedreceive
            98 => ((int)ctx.A1 & HostFutex.CmdMask) is HostFutex.Wait or HostFutex.WaitBitset && ctx.A3 == 0, // futex wait without timeout
            _ => false,
        };
        if (!kind) return false;
        var t = ctx.Thread;
        ulong ready = Volatile.Read(ref t.Pending) & ~t.SignalMask;
        // no signal for the guest: the host call was interrupted by a late kick of the interrupt signal meant for
        // a signal already delivered; the kernel never fails these calls without a signal, so run it again
        if (ready == 0) return true;
        int sig = System.Numerics.BitOperations.TrailingZeroCount(ready) + 1;
        ulong handler = ctx.Process.SigHandlers[4 * sig];
        return handler > SignalDelivery.SigIgn && (ctx.Process.SigHandlers[4 * sig + 1] & SignalDelivery.SaRestart) != 0;
    }

    private static ulong[] Args(CpuState* cpu) => [cpu->X[0], cpu->X[1], cpu->X[2], cpu->X[3], cpu->X[4], cpu->X[5]];
}
