using System.Runtime.InteropServices;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Memory;
using Dqemu.Runtime.Syscalls;
using static Dqemu.Runtime.Threading.GuestThreads;

namespace Dqemu.Runtime.Threading;

/// <summary>
/// fork, vfork and clone without CLONE_VM on one node, as qemu-aarch64 does them: the host process forks. Guest
/// memory is private anonymous memory there, so the child gets a copy-on-write copy of it, of the translated code
/// and of every emulator structure, and goes on from the same syscall with x0 = 0 on the one host thread fork
/// leaves it (Linux's child has one thread too). What fork cannot copy is made right around it: the locks another
/// thread could hold (translation, guest layout, signal dispositions) are taken before and let go after on both
/// sides, and the child learns its pid and tid. Guest threads running translated code or blocked in a host call are
/// outside the .NET runtime's cooperative mode, so the child's runtime does not wait for them at a garbage collection;
/// the start-up warm-up thread, which runs managed code, is waited for first. A thread of the parent that is inside
/// the runtime's own managed code at the moment of the fork (a dispatcher pass, a syscall handler) would stall the
/// child's first garbage collection: the window is short, and a child that execs (the usual case) never collects.
/// CLONE_VFORK (vfork, posix_spawn) suspends the parent until the child execs or exits: the child holds the write
/// end of a close-on-exec pipe the parent reads to its end. The exit signal is always SIGCHLD (libc's fork).
/// On a cluster a fork is refused with ENOSYS: the child would need its own copy of the distributed memory.
/// </summary>
public static unsafe class GuestFork
{
    public static long Fork(GuestProcess process, GuestThread thread, ulong flags, ulong newSp, ulong parentTid, ulong tls, ulong childTid)
    {
        if (process.Cluster != null) return -Errno.ENOSYS;
        // a thread's flags without CLONE_VM make no sense to Linux either
        if ((flags & (CloneThread | CloneSighand)) != 0) return -Errno.EINVAL;
        if ((flags & CloneParentSettid) != 0 && !process.Space.IsAccessible(parentTid, 4, GuestProt.Write)) return -Errno.EFAULT;
        if ((flags & (CloneChildSettid | CloneChildCleartid)) != 0 && !process.Space.IsAccessible(childTid, 4, GuestProt.Write)) return -Errno.EFAULT;
        bool vfork = (flags & CloneVfork) != 0;

        int readEnd = -1, writeEnd = -1;
        if (vfork && EmulatorFds.Pipe(out readEnd, out writeEnd) is var r and < 0) return r;

        // the warm-up thread runs managed code: a child forked while it ran could never finish a garbage collection
        // (the runtime would wait for a thread the child does not have)
        JitX64.Translation.TranslatorWarmUp.Finish();
        Console.Out.Flush();
        Console.Error.Flush();
        // the pump first: its delivery of a signal may need the locks taken after it
        int pid = Signals.HostSignalForwarder.Quiet(() => process.Translator.Exclusive(() => process.Space.Exclusive(() =>
        {
            lock (process.SigHandlers)
                lock (thread.PendingInfo) return fork(); // another thread may be sending this one a signal
        })));
        if (pid < 0)
        {
            int err = Marshal.GetLastPInvokeError();
            EmulatorFds.Close(readEnd);
            EmulatorFds.Close(writeEnd);
            return -(err == 0 ? Errno.EAGAIN : err);
        }
        if (pid == 0)
        {
            BecomeChild(process, thread, flags, newSp, tls, childTid);
            EmulatorFds.Close(readEnd); // the write end goes at exec or exit, which the parent waits for
            return 0;
        }
        if ((flags & CloneParentSettid) != 0) process.Space.TryWrite(parentTid, pid);
        if (vfork)
        {
            EmulatorFds.Close(writeEnd);
            byte b;
            while (HostSyscall.Call(HostSyscall.Nr.Read, readEnd, (long)&b, 1) is var n && n != 0 && (n > 0 || n == -Errno.EINTR)) { }
            EmulatorFds.Close(readEnd);
        }
        return pid;
    }

    /// <summary>The child's side: its own ids, one thread, the registers clone asked for, no debugger.</summary>
    private static void BecomeChild(GuestProcess process, GuestThread thread, ulong flags, ulong newSp, ulong tls, ulong childTid)
    {
        int pid = (int)HostSyscall.Call(HostSyscall.Nr.Getpid);
        Ids.Pid = pid;
        GuestProcess.Pid = pid;
        thread.HostTid = (int)HostSyscall.Call(HostSyscall.Nr.Gettid);
        thread.Tid = process.TidFor(thread.HostTid);
        process.BecomeForkChild(thread);
        process.Translator.KeepOnlyRunner(thread.Runner);
        // a child starts with no pending signals (its mask and dispositions are the parent's)
        lock (thread.PendingInfo)
        {
            thread.PendingInfo.Clear();
            Volatile.Write(ref thread.Pending, 0);
        }
        if (newSp != 0) thread.Cpu->Sp = newSp;
        if ((flags & CloneSettls) != 0) thread.Cpu->Tpidr = tls;
        thread.Cpu->ExclSize = 0;
        if ((flags & CloneChildSettid) != 0) process.Space.TryWrite(childTid, thread.Tid);
        if ((flags & CloneChildCleartid) != 0) thread.ClearChildTid = childTid;
        ForkGate.AfterForkInChild();
        Signals.ThreadInterrupter.AfterFork();
        Signals.HostSignalForwarder.AfterFork(process);
        Signals.SignalFds.AfterFork();
        if (process.Debugger != null)
        {
            // as qemu's gdbstub: the child is not followed, and runs past the parent's breakpoints
            process.Debugger = null;
            process.Translator.ClearBreakpoints();
        }
    }

    [DllImport("libc.so.6", SetLastError = true)]
    private static extern int fork();
}
