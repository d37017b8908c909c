using System.Collections.Concurrent;
using Dqemu.JitX64.Signal;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Syscalls;
using Dqemu.Runtime.Threading;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Dqemu.Runtime.Signals;

/// <summary>
/// Host signals the guest must see as its own. Guest signals are emulated, so a host signal reaches the guest only
/// through here: any signal the guest installs a handler for (SIGCHLD for a shell's job control, SIGINT for Python's
/// KeyboardInterrupt, SIGTERM, SIGUSR1, SIGWINCH, a real-time signal another process queues), and the signals of the
/// guest's timers (setitimer's SIGALRM, SIGVTALRM, SIGPROF; timer_create's signal).
/// A generated handler writes each siginfo and the receiving thread's tid to a non-blocking pipe
/// (<see cref="NativeSignalHandlerGenerator.GenerateForwardInfo"/>); a host thread reads the records and sends the
/// signal to the guest: to the thread a SIGEV_THREAD_ID timer names, else to the process, with the record's fields.
/// Guest signals whose numbers the host reserves (32 and 33: glibc's; 34: the .NET runtime's; 63: the emulator's thread
/// interrupt; 64) travel as host signals 58-62 (<see cref="HostNumber"/>). SA_RESTART: host calls the signal
/// interrupts are restarted; the guest's own calls see the guest signal through its delivery (a kick).
/// </summary>
public static unsafe class HostSignalForwarder
{
    private static readonly object Gate = new();
    private static int _writeEnd = -1, _readEnd = -1;
    private static nint _handler;
    private const int ONonblock = 0x800;
    private static ulong _installed; // host signals with the forwarding handler, bit n-1 for signal n

    /// <summary>
    /// A child's exit, by pid: 1 when the pump delivered its SIGCHLD, 2 when a wait did (<see cref="ChildWaited"/>).
    /// Whichever comes first delivers and marks; the other finds the mark, removes it and delivers nothing.
    /// </summary>
    private static readonly ConcurrentDictionary<int, byte> ChildExits = new();
    private const byte ByPump = 1, ByWait = 2;
    private const int CldExited = 1, CldKilled = 2, CldDumped = 3;

    /// <summary>Host timer id -> guest tid, for timers created with SIGEV_THREAD_ID.</summary>
    public static readonly ConcurrentDictionary<int, int> ThreadTimers = new();

    /// <summary>The host signal that carries guest signal <paramref name="guestSig"/>; 0 when it cannot be one (a fault
    /// the emulator handles, SIGKILL, SIGSTOP).</summary>
    public static int HostNumber(int guestSig) => guestSig switch
    {
        4 or 5 or 7 or 8 or 9 or 11 or 19 => 0,
        32 => 62, 33 => 61, 34 => 60, 63 => 59, 64 => 58,
        >= 1 and <= 64 => guestSig,
        _ => 0,
    };

    private static int GuestNumber(int hostSig) => hostSig switch
    {
        62 => 32, 61 => 33, 60 => 34, 59 => 63, 58 => 64,
        _ => hostSig,
    };

    /// <summary>
    /// The guest changed its disposition of <paramref name="guestSig"/>: a handler makes the host's signal (a kill from
    /// another process, Ctrl-C, a terminal's SIGWINCH) reach it; SIG_IGN makes the host ignore it too, so that a signal
    /// the guest ignores does not end the emulator by the host's default action, and SIG_DFL undoes that. SIGPIPE stays the emulator's (a
    /// guest's SIGPIPE comes from its EPIPE). Nothing on a cluster.
    /// </summary>
    public static void DispositionChanged(GuestProcess process, int guestSig, ulong handler)
    {
        const ulong SigIgn = 1;
        if (process.Cluster != null || guestSig == 13) return;
        if (handler > SigIgn)
        {
            Forward(process, guestSig);
            return;
        }
        int host = HostNumber(guestSig);
        if (host == 0 || host == Signals.ThreadInterrupter.HostSignal) return;
        lock (Gate)
        {
            var act = default(sigaction);
            if (handler != SigIgn)
            {
                // SIG_DFL: a forwarded signal gets the guest's default action; one the host ignores (the guest ignored
                // it before, or inherited it ignored across exec) gets the host's default back, which is the same
                var old = default(sigaction);
                if (LibC.sigaction(host, null, &old) != 0 || old.sa_handler != (void*)SigIgn) return;
                act.sa_handler = null; // SIG_DFL
                LibC.sigaction(host, &act, null);
                return;
            }
            act.sa_handler = (void*)SigIgn;
            if (LibC.sigaction(host, &act, null) == 0) _installed &= ~(1UL << (host - 1));
        }
    }

    /// <summary>For a notification the host kernel sends (a timer's, a message queue's): <see cref="Forward"/>s
    /// <paramref name="guestSig"/> and returns the host signal to name in the sigevent, or 0 when it cannot be forwarded.</summary>
    public static int Carrier(GuestProcess process, int guestSig) => Forward(process, guestSig) ? HostNumber(guestSig) : 0;

    /// <summary>From now on host signal HostNumber(<paramref name="guestSig"/>) reaches <paramref name="process"/> as
    /// <paramref name="guestSig"/> (one node only). False when the signal cannot be forwarded.</summary>
    public static bool Forward(GuestProcess process, int guestSig)
    {
        if (process.Cluster != null) return false;
        int host = HostNumber(guestSig);
        if (host == 0) return false;
        lock (Gate)
        {
            if ((_installed & (1UL << (host - 1))) != 0) return true;
            if (_writeEnd < 0 && !Start(process)) return false;
            var act = default(sigaction);
            act.sa_handler = (void*)_handler;
            act.sa_flags = SA_SIGINFO | SA_RESTART;
            sigemptyset(&act.sa_mask);
            if (LibC.sigaction(host, &act, null) != 0) return false;
            _installed |= 1UL << (host - 1);
            return true;
        }
    }

    private static bool Start(GuestProcess process)
    {
        if (EmulatorFds.Pipe(out _readEnd, out _writeEnd) < 0) return false;
        fcntl(_writeEnd, F_SETFL, ONonblock);
        _handler = NativeSignalHandlerGenerator.GenerateForwardInfo(process.Translator.Cache, _writeEnd);
        StartPump(process, _readEnd);
        return true;
    }

    /// <summary>
    /// Runs <paramref name="fork"/> (a guest's fork) with no guest thread in <c>Gate</c> and the pump parked
    /// (<see cref="ForkGate"/>): a lock held by a thread the child does not have would stay held in the child forever
    /// (seen: a busybox pipeline's child spinning on its thread's pending-signal lock while a SIGCHLD was being
    /// delivered). The pump's delivery may need the locks the fork takes after this, so this comes first.
    /// </summary>
    public static T Quiet<T>(Func<T> fork)
    {
        lock (Gate) return ForkGate.Run(fork);
    }

    private static void StartPump(GuestProcess process, int readEnd)
    {
        _pumpProcess = process;
        _pumpFd = readEnd;
        ForkGate.Start(ForkGate.Pump, &PumpEntry);
    }

    private static GuestProcess? _pumpProcess;
    private static int _pumpFd;

    [System.Runtime.InteropServices.UnmanagedCallersOnly]
    private static nint PumpEntry(nint arg)
    {
        ForkGate.EnterHelper();
        fixed (byte* name = "dqemu-signals\0"u8) HostSyscall.Call(HostSyscall.Nr.Prctl, 15, (long)name); // PR_SET_NAME
        Pump(_pumpProcess!, _pumpFd);
        return 0;
    }

    /// <summary>
    /// In a forked child: the pipe is the parent's (fork copied the descriptors, not the pump thread), so the child's
    /// records would reach the parent's guest. The child gets a pipe of its own under the same write-end number (the
    /// handler's code names it), and its own pump.
    /// </summary>
    public static void AfterFork(GuestProcess process)
    {
        lock (Gate)
        {
            if (_writeEnd < 0) return;
            const int OCloexec = 0x80000;
            if (EmulatorFds.Pipe(out int readEnd, out int writeEnd) < 0) return;
            fcntl(writeEnd, F_SETFL, ONonblock);
            HostSyscall.Call(HostSyscall.Nr.Dup3, writeEnd, _writeEnd, OCloexec);
            EmulatorFds.Close(writeEnd);
            EmulatorFds.Close(_readEnd);
            _readEnd = readEnd;
            StartPump(process, _readEnd);
        }
    }

    private const int SiTimer = -2, SIGCHLD = 17;

    /// <summary>
    /// The guest's wait4/waitid on <paramref name="thread"/> reaped child <paramref name="pid"/> (wait status
    /// <paramref name="status"/>). Under Linux the child's SIGCHLD is pending by the time the wait returns; the host's
    /// comes through the pipe a little later, and a shell that checks its traps right after the wait would miss it.
    /// So with SIGCHLD forwarded, the wait delivers it now unless the pump already did (and the pump's copy is dropped).
    /// </summary>
    public static void ChildWaited(GuestProcess process, GuestThread thread, int pid, int status)
    {
        if ((Volatile.Read(ref _installed) & (1UL << (SIGCHLD - 1))) == 0 || pid <= 0) return;
        int termsig = status & 0x7f;
        if (termsig == 0x7f) return; // stopped: not an exit
        if (!ChildExits.TryAdd(pid, ByWait))
        {
            ChildExits.TryRemove(pid, out _); // the pump delivered it
            return;
        }
        var info = termsig == 0
            ? new SigInfo(SIGCHLD, CldExited, pid, (uint)Ids.Uid, (uint)((status >> 8) & 0xff), 0)
            : new SigInfo(SIGCHLD, (status & 0x80) != 0 ? CldDumped : CldKilled, pid, (uint)Ids.Uid, (uint)termsig, 0);
        GuestSignals.SendToThread(process, thread, info);
    }

    private static void Pump(GuestProcess process, int fd)
    {
        const int Size = NativeSignalHandlerGenerator.ForwardRecordSize;
        byte* rec = stackalloc byte[Size];
        while (true)
        {
            int got = 0;
            while (got < Size)
            {
                long n = ForkGate.Call(ForkGate.Pump, HostSyscall.Nr.Read, fd, (long)(rec + got), Size - got);
                if (n == -Errno.EINTR) continue;
                if (n <= 0)
                {
                    ForkGate.Stopped(ForkGate.Pump);
                    return;
                }
                got += (int)n;
            }
            // siginfo: signo, errno, code, then three fields at 16, 20 and 24 (a sender's pid, uid and value; a child's
            // pid, uid and status; a timer's id, overrun and value): the same layout on both architectures
            int sig = GuestNumber(*(int*)rec), code = *(int*)(rec + 8), a = *(int*)(rec + 16);
            uint b = *(uint*)(rec + 20);
            ulong value = sig == SIGCHLD ? *(uint*)(rec + 24) : *(ulong*)(rec + 24);
            if (process.Exiting) continue;
            Deliver(process, new SigInfo(sig, code, a, b, value, 0));
        }
    }

    /// <summary>One forwarded signal to the guest: a child's exit once (see <see cref="ChildWaited"/>), a
    /// SIGEV_THREAD_ID timer's to its thread, anything else to the process.</summary>
    private static void Deliver(GuestProcess process, SigInfo info)
    {
        int pid = info.Pid; // a child's pid, or a timer's id
        if (info.Sig == SIGCHLD && info.Code is CldExited or CldKilled or CldDumped && !ChildExits.TryAdd(pid, ByPump))
        {
            ChildExits.TryRemove(pid, out _); // the guest's wait for it delivered it already
            return;
        }
        if (info.Code == SiTimer && ThreadTimers.TryGetValue(pid, out int tid) && process.Threads.TryGetValue(tid, out var owner) && !owner.Exited)
        {
            GuestSignals.SendToThread(process, owner, info);
            return;
        }
        var target = process.Threads.Values.FirstOrDefault(t => !t.Exited);
        if (target != null) GuestSignals.SendToProcess(process, target, info);
    }
}
