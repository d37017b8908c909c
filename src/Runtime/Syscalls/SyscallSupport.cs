using Dqemu.Runtime.Host;
using Dqemu.Runtime.Memory;

namespace Dqemu.Runtime.Syscalls;

/// <summary>
/// Shared pieces of the syscall handlers: guest pointer checks (every guest buffer passes through here before
/// the host kernel or managed code touches it, DESIGN.md invariant 2, so a later DSM layer can make pages
/// resident in one place), host pointers, guest strings and the x86-64 numbers HostSyscall.Nr lacks.
/// </summary>
internal static unsafe class Sys
{
    // x86-64 syscall numbers not in HostSyscall.Nr (arch/x86/entry/syscalls/syscall_64.tbl).
    public const long X64Mincore = 27, X64Sync = 162, X64Getresuid = 118, X64Getresgid = 120, X64Readahead = 187,
        X64Fadvise64 = 221, X64Waitid = 247, X64Syncfs = 306, X64CopyFileRange = 326, X64Fchmodat2 = 452,
        X64Mlock = 149, X64Munlock = 150, X64Preadv2 = 327, X64Pwritev2 = 328;

    /// <summary>Host address of guest address <paramref name="addr"/> (already checked).</summary>
    public static long H(SyscallContext c, ulong addr) => (long)(c.Mem.Base + addr);

    /// <summary>Host address, or 0 for a guest NULL.</summary>
    public static long HOrNull(SyscallContext c, ulong addr) => addr == 0 ? 0 : (long)(c.Mem.Base + addr);

    /// <summary>True when the guest may access all of [addr, addr+len) with <paramref name="prot"/>.</summary>
    public static bool Ok(SyscallContext c, ulong addr, ulong len, GuestProt prot)
        => len == 0 || c.Mem.IsAccessible(addr, len, prot);

    /// <summary>NULL is fine; otherwise the range must be accessible.</summary>
    public static bool OkOrNull(SyscallContext c, ulong addr, ulong len, GuestProt prot)
        => addr == 0 || Ok(c, addr, len, prot);

    /// <summary>
    /// How many bytes from <paramref name="addr"/> (at most <paramref name="len"/>) the guest can access with
    /// <paramref name="prot"/>: the kernel copies up to the first fault and returns a short count, so read()
    /// and write() are clamped to this prefix rather than failing outright.
    /// </summary>
    public static ulong Prefix(SyscallContext c, ulong addr, ulong len, GuestProt prot)
    {
        if (len == 0) return 0;
        ulong end = addr + len;
        if (end < addr || end > GuestSpace.Size) end = GuestSpace.Size;
        if (addr >= end) return 0;
        ulong at = addr;
        while (at < end)
        {
            var v = c.Mem.Find(at);
            if (v == null || (v.Prot & prot) != prot) break;
            at = v.End;
        }
        ulong n = Math.Min(at, end) - addr;
        if (n > 0) c.Mem.Coherence?.MakeResident(addr, n, (prot & GuestProt.Write) != 0);
        return n;
    }

    public static bool IsError(long r) => r < 0 && r > -4096;

    /// <summary>
    /// Reads a NUL-terminated guest string of at most <paramref name="max"/> bytes (NUL included) into a fresh
    /// NUL-terminated array. Returns 0, -EFAULT or -ENAMETOOLONG.
    /// </summary>
    public static long ReadString(SyscallContext c, ulong addr, int max, out byte[] bytes)
        => ReadString(c.Mem, addr, max, out bytes);

    public static long ReadString(GuestSpace mem, ulong addr, int max, out byte[] bytes)
    {
        bytes = Array.Empty<byte>();
        if (addr == 0) return -Errno.EFAULT;
        int n = 0;
        ulong at = addr;
        while (n < max)
        {
            ulong pageEnd = GuestSpace.PageDown(at) + GuestSpace.PageSize;
            int chunk = (int)Math.Min(pageEnd - at, (ulong)(max - n));
            if (!mem.IsAccessible(at, (ulong)chunk, GuestProt.Read)) return -Errno.EFAULT;
            var span = new ReadOnlySpan<byte>(mem.Base + at, chunk);
            int z = span.IndexOf((byte)0);
            if (z >= 0)
            {
                n += z;
                bytes = new byte[n + 1];
                new ReadOnlySpan<byte>(mem.Base + addr, n).CopyTo(bytes);
                return 0;
            }
            n += chunk;
            at += (ulong)chunk;
        }
        return -Errno.ENAMETOOLONG;
    }

    /// <summary>Copies <paramref name="src"/> to guest memory (the range must have been checked).</summary>
    public static void CopyOut(SyscallContext c, ulong addr, ReadOnlySpan<byte> src)
        => src.CopyTo(new Span<byte>(c.Mem.Base + addr, src.Length));

    /// <summary>Writes a value to guest memory when the pointer is writable; false (EFAULT) otherwise.</summary>
    public static bool Put<T>(SyscallContext c, ulong addr, T value) where T : unmanaged
    {
        if (!Ok(c, addr, (ulong)sizeof(T), GuestProt.Write)) return false;
        *(T*)(c.Mem.Base + addr) = value;
        return true;
    }

    /// <summary>Reads a value from guest memory when readable.</summary>
    public static bool Get<T>(SyscallContext c, ulong addr, out T value) where T : unmanaged
    {
        if (!Ok(c, addr, (ulong)sizeof(T), GuestProt.Read)) { value = default; return false; }
        value = *(T*)(c.Mem.Base + addr);
        return true;
    }

    /// <summary>Repeats a host call that an unrelated host signal interrupted (no guest signal is pending).</summary>
    public static long RetryEintr(SyscallContext c, Func<long> call)
    {
        while (true)
        {
            long r = call();
            if (r != -Errno.EINTR || GuestSignals.HasDeliverable(c.Thread)) return r;
        }
    }

    public static long Call(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0)
        => HostSyscall.Call(nr, a0, a1, a2, a3, a4, a5);
}
