using Dqemu.Runtime.Signals;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Syscalls;

public static partial class SyscallTable
{
    static partial void AddThread(SyscallEntry?[] t)
    {
        t.Add(139, "rt_sigreturn", SyscallSite.Local, RtSigreturn);
        t.Add(220, "clone", SyscallSite.Local, Clone);
        t.Add(98, "futex", SyscallSite.Local, Futex);
    }

    private static long RtSigreturn(SyscallContext c)
    {
        if (!SignalDelivery.Return(c.Process, c.Thread))
        {
            c.Process.KillBySignal(11);
            c.Thread.Exited = true;
        }
        return 0;
    }

    /// <summary>
    /// clone(flags, newsp, parent_tid, tls, child_tid). Threads (CLONE_VM|CLONE_THREAD|CLONE_SIGHAND, what
    /// pthread_create passes) are supported; fork and vfork are not (a .NET process cannot fork safely).
    /// </summary>
    private static long Clone(SyscallContext c)
    {
        const ulong thread = GuestThreads.CloneVm | GuestThreads.CloneThread | GuestThreads.CloneSighand;
        if ((c.A0 & thread) != thread) return -Errno.ENOSYS;
        return GuestThreads.StartThread(c.Process, c.Thread, c.A0, c.A1, c.A2, c.A3, c.A4);
    }

    private static long Futex(SyscallContext c) => c.Process.Futex.Call(c.Thread, c.A0, (int)c.A1, (uint)c.A2, c.A3, c.A4, (uint)c.A5);
}
