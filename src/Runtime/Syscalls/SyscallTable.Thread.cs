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
        t.Add(HintNumber, "dqemu_hint", SyscallSite.Local, Hint);
    }

    /// <summary>dqemu_hint(op, arg): the emulator's placement hints (DQEMU's hint interface), see <see cref="HintOp"/>.</summary>
    public const int HintNumber = PrivateBase;

    /// <summary>The operations of dqemu_hint. Each returns the node the caller runs on from now on (it moves between
    /// blocks, right after the call), or -errno; on one node every valid hint returns 0.</summary>
    public enum HintOp
    {
        /// <summary>Where the caller runs.</summary>
        Where = 0,
        /// <summary>arg = group id (0 and up): the caller shares data with every thread of that group; the group runs on
        /// one node (the first member's, unless that node already holds more groups than another).</summary>
        Group = 1,
        /// <summary>arg = node id: run the caller there (-EINVAL for no such node).</summary>
        Node = 2,
        /// <summary>arg = tid: run the caller on that thread's node (-ESRCH for no such thread).</summary>
        Near = 3,
    }

    private static long Hint(SyscallContext c)
    {
        long arg = (long)c.A1;
        switch ((HintOp)c.A0)
        {
            case HintOp.Where: break;
            case HintOp.Group or HintOp.Node when arg < 0 || arg > int.MaxValue: return -Errno.EINVAL;
            case HintOp.Group: break;
            case HintOp.Node: if (c.Process.Cluster == null && arg != 0) return -Errno.EINVAL; break;
            case HintOp.Near: if (c.Process.Cluster == null && arg != c.Thread.Tid && !c.Process.Threads.ContainsKey((int)arg)) return -Errno.ESRCH; break;
            default: return -Errno.EINVAL;
        }
        return c.Process.Cluster?.Hint(c.Thread, (int)c.A0, arg) ?? 0;
    }

    private static long RtSigreturn(SyscallContext c)
    {
        // a frame that is not one: SIGSEGV, which the guest may handle (its handler then runs with x0 = 11)
        if (!SignalDelivery.Return(c.Process, c.Thread) && SignalDelivery.Force(c.Process, c.Thread, 11))
            c.Thread.SuppressResult = true;
        return 0;
    }

    /// <summary>
    /// clone(flags, newsp, parent_tid, tls, child_tid). Threads (CLONE_VM|CLONE_THREAD|CLONE_SIGHAND, what
    /// pthread_create passes) start in this process; without CLONE_VM, or with CLONE_VFORK (vfork, posix_spawn:
    /// the child only runs until it execs, and qemu copies the memory for it too), the process forks (GuestFork).
    /// </summary>
    private static long Clone(SyscallContext c)
    {
        const ulong thread = GuestThreads.CloneVm | GuestThreads.CloneThread | GuestThreads.CloneSighand;
        if ((c.A0 & GuestThreads.CloneVm) == 0 || (c.A0 & (GuestThreads.CloneVfork | GuestThreads.CloneThread)) == GuestThreads.CloneVfork)
            return GuestFork.Fork(c.Process, c.Thread, c.A0, c.A1, c.A2, c.A3, c.A4);
        if ((c.A0 & thread) != thread) return -Errno.ENOSYS; // a process sharing memory without being a thread: not emulated
        return GuestThreads.StartThread(c.Process, c.Thread, c.A0, c.A1, c.A2, c.A3, c.A4);
    }

    private static long Futex(SyscallContext c) => c.Process.Futex.Call(c.Thread, c.A0, (int)c.A1, (uint)c.A2, c.A3, c.A4, (uint)c.A5);
}
