using Dqemu.Runtime.Signals;

namespace Dqemu.Runtime.Syscalls;

public static partial class SyscallTable
{
    static partial void AddThread(SyscallEntry?[] t)
    {
        t.Add(139, "rt_sigreturn", SyscallSite.Local, RtSigreturn);
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
}
