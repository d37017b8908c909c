using System.Collections.Concurrent;
using Dqemu.Runtime.Memory;
using static Dqemu.Runtime.Syscalls.Errno;
using static Dqemu.Runtime.Syscalls.Sys;

namespace Dqemu.Runtime.Syscalls;

/// <summary>
/// SysV IPC (shared memory, semaphores, message queues): the host kernel holds the objects, so keys, ids, permissions,
/// SEM_UNDO (undone when the emulator process exits) and IPC_RMID behave as Linux's; a forked guest is a forked host
/// process and inherits its attachments. Of the structures the guest passes, only semid64_ds differs between arm64
/// (asm-generic) and x86-64 (two padding words after the times) and is converted; the others (ipc64_perm, shmid64_ds,
/// msqid64_ds, shminfo64, shm_info, seminfo, msginfo, sembuf, msgbuf's long mtype) are laid out alike, so the host
/// kernel reads and writes the guest's buffers itself (<see cref="Sys.HostBuffer"/>: it faults where Linux would, in
/// Linux's order). shmat places the segment in the guest range at Base + the guest address, replacing the reservation's
/// pages in one step (SHM_REMAP), and records it in the guest layout (/proc/self/maps names it /SYSV&lt;key&gt;);
/// shmdt puts the reservation back. On a cluster every call is ENOSYS: the segment's pages would need the DSM.
/// </summary>
public static unsafe partial class SyscallTable
{
    // x86-64 numbers (arch/x86/entry/syscalls/syscall_64.tbl)
    private const long X64Shmget = 29, X64Shmat = 30, X64Shmctl = 31, X64Semget = 64, X64Semop = 65, X64Semctl = 66,
        X64Shmdt = 67, X64Msgget = 68, X64Msgsnd = 69, X64Msgrcv = 70, X64Msgctl = 71, X64Semtimedop = 220;

    private const int IpcRmid = 0, IpcSet = 1, IpcStat = 2, IpcInfo = 3;
    private const int ShmRdonly = 0x1000, ShmRnd = 0x2000, ShmRemap = 0x4000, ShmExec = 0x8000;
    private const int ShmStat = 13, ShmInfo = 14, ShmStatAny = 15;
    private const int SemGetall = 13, SemSetall = 17, SemStat = 18, SemInfo = 19, SemStatAny = 20;
    private const int MsgStat = 11, MsgInfo = 12, MsgStatAny = 13;
    /// <summary>arm64's SHMLBA is the page size (16 KiB only for compat tasks).</summary>
    private const ulong Shmlba = GuestSpace.PageSize;
    /// <summary>sizeof(struct shmid64_ds), msqid64_ds, shminfo64, shm_info, seminfo, msginfo: equal on both.</summary>
    private const ulong ShmidDsSize = 112, MsqidDsSize = 120, ShminfoSize = 72, ShmInfoSize = 48, SeminfoSize = 40, MsginfoSize = 32;
    /// <summary>semid64_ds: arm64 88 bytes, x86-64 104 (x86-64 pads each time to two words).</summary>
    private const int GuestSemidDsSize = 88, HostSemidDsSize = 104, IpcPermSize = 48;

    static partial void AddIpc(SyscallEntry?[] t)
    {
        const SyscallSite N = SyscallSite.Node0;
        t.Add(186, "msgget", N, c => Ipc(c) ?? Call(X64Msgget, (int)c.A0, (int)c.A1));
        t.Add(187, "msgctl", N, c => Ipc(c) ?? Msgctl(c));
        t.Add(188, "msgrcv", N, c => Ipc(c) ?? RetryEintr(c, () => Call(X64Msgrcv, (int)c.A0,
            HostBuffer(c, c.A1, c.A2 + 8, GuestProt.Write).Ptr, (long)c.A2, (long)c.A3, (int)c.A4)));
        t.Add(189, "msgsnd", N, c => Ipc(c) ?? RetryEintr(c, () => Call(X64Msgsnd, (int)c.A0,
            HostBuffer(c, c.A1, c.A2 + 8, GuestProt.Read).Ptr, (long)c.A2, (int)c.A3)));
        t.Add(190, "semget", N, c => Ipc(c) ?? Call(X64Semget, (int)c.A0, (int)c.A1, (int)c.A2));
        t.Add(191, "semctl", N, c => Ipc(c) ?? Semctl(c));
        t.Add(192, "semtimedop", N, c => Ipc(c) ?? Semop(c, c.A3));
        t.Add(193, "semop", N, c => Ipc(c) ?? Semop(c, null));
        t.Add(194, "shmget", N, c => Ipc(c) ?? Call(X64Shmget, (int)c.A0, (long)c.A1, (int)c.A2));
        t.Add(195, "shmctl", N, c => Ipc(c) ?? Shmctl(c));
        t.Add(196, "shmat", N, c => Ipc(c) ?? Shmat(c));
        t.Add(197, "shmdt", N, c => Ipc(c) ?? Shmdt(c));
    }

    /// <summary>ENOSYS on a cluster (README: cluster limits), else null: the call goes on.</summary>
    private static long? Ipc(SyscallContext c) => c.Process.Cluster != null ? -ENOSYS : null;

    private static long Semop(SyscallContext c, ulong? timeout)
    {
        // struct sembuf is 6 bytes on both; a struct timespec too is alike
        long sops = HostBuffer(c, c.A1, c.A2 * 6, GuestProt.Read).Ptr;
        if (timeout is not ulong ts) return RetryEintr(c, () => Call(X64Semop, (int)c.A0, sops, (long)c.A2));
        long t = ts == 0 ? 0 : HostBuffer(c, ts, 16, GuestProt.Read).Ptr;
        return RetryEintr(c, () => Call(X64Semtimedop, (int)c.A0, sops, (long)c.A2, t));
    }

    private static long Shmctl(SyscallContext c)
    {
        int cmd = (int)c.A1;
        long buf = cmd switch
        {
            IpcStat or ShmStat or ShmStatAny => HostBuffer(c, c.A2, ShmidDsSize, GuestProt.Write).Ptr,
            IpcSet => HostBuffer(c, c.A2, ShmidDsSize, GuestProt.Read).Ptr,
            IpcInfo => HostBuffer(c, c.A2, ShminfoSize, GuestProt.Write).Ptr,
            ShmInfo => HostBuffer(c, c.A2, ShmInfoSize, GuestProt.Write).Ptr,
            _ => 0, // IPC_RMID, SHM_LOCK, SHM_UNLOCK take none; anything else is the host's EINVAL
        };
        return Call(X64Shmctl, (int)c.A0, cmd, buf);
    }

    private static long Msgctl(SyscallContext c)
    {
        int cmd = (int)c.A1;
        long buf = cmd switch
        {
            IpcStat or MsgStat or MsgStatAny => HostBuffer(c, c.A2, MsqidDsSize, GuestProt.Write).Ptr,
            IpcSet => HostBuffer(c, c.A2, MsqidDsSize, GuestProt.Read).Ptr,
            IpcInfo or MsgInfo => HostBuffer(c, c.A2, MsginfoSize, GuestProt.Write).Ptr,
            _ => 0,
        };
        return Call(X64Msgctl, (int)c.A0, cmd, buf);
    }

    /// <summary>
    /// semctl(id, num, cmd, union semun arg): arg is the value itself for SETVAL, else a pointer. The semid64_ds of
    /// IPC_STAT/SEM_STAT/SEM_STAT_ANY/IPC_SET goes through a host copy (converted after the host's own checks, so a bad
    /// id is EINVAL before a bad buffer is EFAULT, as Linux orders them; IPC_SET reads the buffer first, as Linux does);
    /// GETALL/SETALL's unsigned short array and IPC_INFO/SEM_INFO's seminfo are the host kernel's to read or write.
    /// </summary>
    private static long Semctl(SyscallContext c)
    {
        int id = (int)c.A0, num = (int)c.A1, cmd = (int)c.A2;
        ulong arg = c.A3;
        var host = stackalloc byte[HostSemidDsSize];
        Span<byte> guest = stackalloc byte[GuestSemidDsSize];
        switch (cmd)
        {
            case IpcStat or SemStat or SemStatAny:
                {
                    new Span<byte>(host, HostSemidDsSize).Clear();
                    long r = Call(X64Semctl, id, num, cmd, (long)host);
                    if (r < 0) return r;
                    new ReadOnlySpan<byte>(host, IpcPermSize).CopyTo(guest);
                    // otime, ctime, nsems, two unused words: at 48, 64, 80 on the host, 48, 56, 64 on the guest
                    *(long*)(host + 56) = *(long*)(host + 64);
                    new ReadOnlySpan<byte>(host + 48, 16).CopyTo(guest[48..]);
                    new ReadOnlySpan<byte>(host + 80, 24).CopyTo(guest[64..]);
                    return CopyOut(c, arg, guest) ? r : -EFAULT;
                }
            case IpcSet:
                {
                    if (!CopyIn(c, arg, guest)) return -EFAULT;
                    new Span<byte>(host, HostSemidDsSize).Clear();
                    guest[..IpcPermSize].CopyTo(new Span<byte>(host, IpcPermSize));
                    *(long*)(host + 48) = BitConverter.ToInt64(guest[48..]);
                    *(long*)(host + 64) = BitConverter.ToInt64(guest[56..]);
                    guest.Slice(64, 24).CopyTo(new Span<byte>(host + 80, 24));
                    return Call(X64Semctl, id, num, cmd, (long)host);
                }
            case IpcInfo or SemInfo:
                return Call(X64Semctl, id, num, cmd, HostBuffer(c, arg, SeminfoSize, GuestProt.Write).Ptr);
            case SemGetall or SemSetall:
                // the length is the set's, which the host kernel knows: it writes or reads the guest's array itself
                // and faults at the first page the guest may not touch (the host protections are the guest's)
                return Call(X64Semctl, id, num, cmd,
                    HostBuffer(c, arg, 1, cmd == SemGetall ? GuestProt.Write : GuestProt.Read).Ptr);
            default:
                // IPC_RMID, GETVAL/SETVAL (the int in arg), GETPID, GETNCNT, GETZCNT; the host refuses the rest
                return Call(X64Semctl, id, num, cmd, (long)arg);
        }
    }

    /// <summary>This process's attachments by guest address: the segment's length, for shmdt.</summary>
    private static readonly ConcurrentDictionary<ulong, ulong> ShmAttachments = new();

    /// <summary>
    /// shmat as Linux's do_shmat on arm64: an address given must be page aligned unless SHM_RND rounds it down to
    /// SHMLBA; without SHM_REMAP it must not overlap a mapping (EINVAL); none given, the emulator picks a free range.
    /// The host attaches the segment over the reservation's pages there (SHM_REMAP: one step, no hole).
    /// </summary>
    private static long Shmat(SyscallContext c)
    {
        int id = (int)c.A0, flags = (int)c.A2;
        ulong addr = c.A1;
        if ((addr & (Shmlba - 1)) != 0)
        {
            if ((flags & ShmRnd) == 0) return -EINVAL;
            addr &= ~(Shmlba - 1);
            if (addr == 0 && (flags & ShmRemap) != 0) return -EINVAL;
        }
        else if (addr == 0 && (flags & ShmRemap) != 0) return -EINVAL;

        // the segment's size and key; a bad id or a segment the caller may not read fails here as shmat would
        var ds = stackalloc byte[(int)ShmidDsSize];
        long sr = Call(X64Shmctl, id, IpcStat, (long)ds);
        if (sr < 0) return sr;
        int key = *(int*)ds;
        ulong size = *(ulong*)(ds + 48), plen = GuestSpace.PageUp(size);
        var prot = (flags & ShmRdonly) != 0 ? GuestProt.Read : GuestProt.Read | GuestProt.Write;
        if ((flags & ShmExec) != 0) prot |= GuestProt.Exec;

        lock (LayoutLock)
        {
            if (addr != 0)
            {
                if (addr + plen < addr) return -EINVAL;
                if ((flags & ShmRemap) == 0 && !c.Mem.IsFree(addr, addr + plen)) return -EINVAL;
                if (addr + plen > GuestSpace.Size) return -ENOMEM;
                if (addr < MmapMinAddr) return -EPERM;
            }
            else if ((addr = c.Mem.FindFree(plen)) == 0) return -ENOMEM;

            // host pages are never executable (guest code is translated); SHM_EXEC stays a guest right
            long r = Call(X64Shmat, id, H(c, addr), (flags & ShmRdonly) | ShmRemap);
            if (r < 0)
            {
                // the host failed before it touched the range (it maps in one step), so the reservation is intact
                return r;
            }
            ShmAttachments[addr] = plen;
            c.Mem.RecordMapping(addr, plen, prot, ShmName(key));
            return (long)addr;
        }
    }

    /// <summary>The name Linux's /proc/PID/maps gives an attached segment.</summary>
    private static string ShmName(int key) => $"/SYSV{key:x8} (deleted)";

    /// <summary>
    /// shmdt: the attachment that starts at <paramref name="c"/>.A0 (EINVAL when none does), what is left of it, goes
    /// back to the reservation (mapping over it detaches it on the host too: the segment's count drops).
    /// </summary>
    private static long Shmdt(SyscallContext c)
    {
        ulong addr = c.A0;
        if ((addr & (GuestSpace.PageSize - 1)) != 0) return -EINVAL;
        lock (LayoutLock)
        {
            if (!ShmAttachments.TryRemove(addr, out ulong plen)) return -EINVAL;
            var first = c.Mem.Find(addr);
            if (first == null || first.Start != addr || !first.Name.StartsWith("/SYSV", StringComparison.Ordinal)) return -EINVAL;
            // only the pieces still the segment's: the guest may have unmapped or replaced some
            foreach (var p in c.Mem.Pieces(addr, addr + plen))
                if (p.Name == first.Name) c.Mem.Unmap(p.Start, p.End - p.Start);
            return 0;
        }
    }
}
