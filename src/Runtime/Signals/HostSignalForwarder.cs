using Dqemu.JitX64.Signal;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Syscalls;
using Dqemu.Runtime.Threading;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Dqemu.Runtime.Signals;

/// <summary>
/// Host signals the guest must see as its own. Guest signals are emulated, so a host signal reaches the guest only
/// through here: today SIGCHLD, once the guest installs a handler for it (a shell's job control waits in
/// rt_sigsuspend for it). A generated handler writes each siginfo to a non-blocking pipe
/// (<see cref="NativeSignalHandlerGenerator.GenerateForwardInfo"/>); a host thread reads the records and sends the
/// signal to the guest process with the child's pid, uid, status and code. SA_RESTART: host calls the signal
/// interrupts are restarted (the guest's own calls see the guest signal, through its delivery).
/// </summary>
public static unsafe class HostSignalForwarder
{
    private const int SIGCHLD = 17;
    private static int _installed;

    /// <summary>Forwards host SIGCHLD to <paramref name="process"/> from now on (once; one node only).</summary>
    public static void ForwardSigchld(GuestProcess process)
    {
        if (process.Cluster != null || Interlocked.Exchange(ref _installed, 1) != 0) return;
        int* fds = stackalloc int[2];
        const int OCloexec = 0x80000, ONonblock = 0x800;
        if (HostSyscall.Call(HostSyscall.Nr.Pipe2, (long)fds, OCloexec) < 0) return;
        int readEnd = EmulatorFds.MoveHigh(fds[0], out _), writeEnd = EmulatorFds.MoveHigh(fds[1], out _);
        fcntl(writeEnd, F_SETFL, ONonblock);
        var act = default(sigaction);
        act.sa_handler = (void*)NativeSignalHandlerGenerator.GenerateForwardInfo(process.Translator.Cache, writeEnd);
        act.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&act.sa_mask);
        new Thread(() => Pump(process, readEnd)) { IsBackground = true, Name = "dqemu-host-signals" }.Start();
        LibC.sigaction(SIGCHLD, &act, null);
    }

    private static void Pump(GuestProcess process, int fd)
    {
        byte* info = stackalloc byte[NativeSignalHandlerGenerator.SiginfoSize];
        while (true)
        {
            int got = 0;
            while (got < NativeSignalHandlerGenerator.SiginfoSize)
            {
                long n = HostSyscall.Call(HostSyscall.Nr.Read, fd, (long)(info + got), NativeSignalHandlerGenerator.SiginfoSize - got);
                if (n == -Errno.EINTR) continue;
                if (n <= 0) return;
                got += (int)n;
            }
            // siginfo for SIGCHLD: signo, errno, code, then pid, uid, status (the same layout on both architectures)
            int sig = *(int*)info, code = *(int*)(info + 8), pid = *(int*)(info + 16), status = *(int*)(info + 24);
            uint uid = *(uint*)(info + 20);
            if (sig != SIGCHLD || process.Exiting) continue;
            var target = process.Threads.Values.FirstOrDefault(t => !t.Exited);
            if (target == null) continue;
            GuestSignals.SendToProcess(process, target, new SigInfo(sig, code, pid, uid, (ulong)(uint)status, 0));
        }
    }
}
