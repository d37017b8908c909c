using Dqemu.Runtime.Host;
using Dqemu.Runtime.Memory;

namespace Dqemu.Runtime.Threading;

/// <summary>
/// The futex system call on guest words. One node runs it on the host kernel's futex over the guest word
/// itself; a cluster puts a node-local layer and a global table under this interface (hierarchical locking).
/// </summary>
public interface IFutex
{
    /// <summary>futex(uaddr, op, val, timeout-or-val2, uaddr2, val3) with guest addresses for <paramref name="caller"/>;
    /// returns result or -errno.</summary>
    long Call(GuestThread caller, ulong uaddr, int op, uint val, ulong timeoutOrVal2, ulong uaddr2, uint val3);

    /// <summary>Wakes up to <paramref name="count"/> waiters on a guest word (thread exit's clear_child_tid).</summary>
    long Wake(ulong uaddr, int count);
}

/// <summary>Futexes of a single-node guest: the host kernel's, on the guest's own memory.</summary>
public sealed unsafe class HostFutex : IFutex
{
    public const int Wait = 0, WakeOp = 1, Fd = 2, Requeue = 3, CmpRequeue = 4, WakeOpOp = 5, LockPi = 6, UnlockPi = 7,
        TrylockPi = 8, WaitBitset = 9, WakeBitset = 10, WaitRequeuePi = 11, CmpRequeuePi = 12, LockPi2 = 13;
    public const int PrivateFlag = 128, ClockRealtime = 256, CmdMask = ~(PrivateFlag | ClockRealtime);

    private readonly GuestSpace _space;

    public HostFutex(GuestSpace space) => _space = space;

    public long Call(GuestThread caller, ulong uaddr, int op, uint val, ulong timeoutOrVal2, ulong uaddr2, uint val3)
    {
        int cmd = op & CmdMask;
        if ((uaddr & 3) != 0) return -Syscalls.Errno.EINVAL;
        // the host kernel gets the word itself: inside the guest range it faults exactly where Linux would (unmapped
        // pages of the reservation are PROT_NONE), and a private FUTEX_WAKE touches no memory at all, as in Linux
        if (!InGuestRange(uaddr)) return -Syscalls.Errno.EFAULT;
        long arg4 = (long)timeoutOrVal2;
        bool timeoutIsPointer = cmd is Wait or WaitBitset or LockPi or LockPi2 or WaitRequeuePi;
        if (timeoutIsPointer && timeoutOrVal2 != 0)
        {
            if (!_space.IsAccessible(timeoutOrVal2, 16, GuestProt.Read)) return -Syscalls.Errno.EFAULT;
            arg4 = (long)_space.Host(timeoutOrVal2);
        }
        long addr2 = 0;
        if (cmd is Requeue or CmpRequeue or WakeOpOp or WaitRequeuePi or CmpRequeuePi)
        {
            if ((uaddr2 & 3) != 0) return -Syscalls.Errno.EINVAL;
            if (!InGuestRange(uaddr2)) return -Syscalls.Errno.EFAULT;
            addr2 = (long)_space.Host(uaddr2);
        }
        return HostSyscall.Call(HostSyscall.Nr.Futex, (long)_space.Host(uaddr), op, val, arg4, addr2, val3);
    }

    private static bool InGuestRange(ulong addr) => addr <= GuestSpace.Size - 4;

    public long Wake(ulong uaddr, int count)
        => HostSyscall.Call(HostSyscall.Nr.Futex, (long)_space.Host(uaddr), WakeOp, count, 0, 0, 0);
}
