using Dqemu.Runtime.Host;
using Dqemu.Runtime.Memory;

namespace Dqemu.Runtime.Syscalls;

/// <summary>
/// Shared pieces of the syscall handlers: guest pointer checks (every guest buffer passes through here before
/// the host kernel or managed code touches it, DESIGN.md invariant 2, so a later DSM layer can make pages
/// resident in one place), host pointers, guest strings and the x86-64 numbers HostSyscall.Nr lacks.
/// Managed code reads and writes guest memory only through the checked, fault-tolerant copies (CopyIn, CopyOut,
/// Load, Store, ReadString: GuestSpace.TryCopyIn/Out); a buffer the host kernel fills or reads itself is passed as
/// <see cref="HostBuffer"/> gives it, so the host faults where Linux would.
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

    /// <summary>Linux's TASK_SIZE on arm64 (48-bit user addresses): access_ok refuses a range that ends above it.</summary>
    public const ulong TaskSize = 1UL << 48;

    /// <summary>An x86-64 kernel address: the host's access_ok refuses it, so a call given it fails with EFAULT after
    /// the checks the host makes first (a bad fd is EBADF), as Linux orders them.</summary>
    public const long KernelPoison = unchecked((long)0xffff_8000_0000_0000);

    /// <summary>
    /// A host buffer for the guest buffer [addr, addr+len) that the host kernel reads or writes itself, so that it
    /// fails as Linux would, in Linux's order and with Linux's partial results: a range Linux's access_ok refuses
    /// (ending above <see cref="TaskSize"/>) becomes <see cref="KernelPoison"/>; a range whose first byte the guest
    /// cannot access becomes the guard above the guest range, where the host faults at once (EFAULT, or nothing at all
    /// when the call copies nothing, as a read at the end of a file); otherwise the range itself, its accessible prefix
    /// made resident: the pages after that prefix are PROT_NONE or read-only on the host as they are for the guest, so
    /// the kernel stops at the same fault Linux would (a pipe returns what it copied, a datagram fails whole). The
    /// length never reaches past the guard, so nothing the kernel touches lies outside the reservation.
    /// </summary>
    public static (long Ptr, long Len) HostBuffer(SyscallContext c, ulong addr, ulong len, GuestProt prot)
    {
        if (addr + len < addr || addr + len > TaskSize) return (KernelPoison, (long)len);
        if (len == 0) return (addr == 0 ? 0 : (long)c.Mem.Base, 0);
        if (addr >= GuestSpace.Size || Prefix(c, addr, len, prot) == 0)
            return ((long)(c.Mem.Base + GuestSpace.Size), (long)Math.Min(len, GuestSpace.GuardSize));
        return ((long)(c.Mem.Base + addr), (long)Math.Min(len, GuestSpace.Size + GuestSpace.GuardSize - addr));
    }

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
        // the host kernel is about to write there (read() into a JIT's buffer): translated code in it is stale
        if (n > 0 && (prot & GuestProt.Write) != 0) c.Mem.ReleaseCodeRange(addr, n);
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
        const int Chunk = 256; // a path is usually short: copy a little at a time, never past the page
        bytes = Array.Empty<byte>();
        if (addr == 0) return -Errno.EFAULT;
        Span<byte> chunk = stackalloc byte[Chunk];
        byte[]? acc = null;
        int n = 0;
        ulong at = addr;
        while (n < max)
        {
            ulong pageEnd = GuestSpace.PageDown(at) + GuestSpace.PageSize;
            int len = (int)Math.Min(Math.Min(pageEnd - at, (ulong)(max - n)), Chunk);
            if (at + (ulong)len < at || !mem.TryCopyIn(at, chunk[..len])) return -Errno.EFAULT;
            int z = chunk[..len].IndexOf((byte)0);
            int take = z >= 0 ? z : len;
            if (acc == null && z >= 0)
            {
                bytes = new byte[take + 1];
                chunk[..take].CopyTo(bytes);
                return 0;
            }
            acc ??= new byte[max + 1];
            chunk[..take].CopyTo(acc.AsSpan(n));
            n += take;
            if (z >= 0)
            {
                bytes = acc.AsSpan(0, n + 1).ToArray();
                bytes[n] = 0;
                return 0;
            }
            at += (ulong)len;
        }
        return -Errno.ENAMETOOLONG;
    }

    /// <summary>Copies <paramref name="src"/> to guest memory; false (EFAULT) when the guest may not write there.</summary>
    public static bool CopyOut(SyscallContext c, ulong addr, ReadOnlySpan<byte> src) => c.Mem.TryCopyOut(addr, src);

    /// <summary>Copies guest memory into <paramref name="dst"/>; false (EFAULT) when the guest may not read it.</summary>
    public static bool CopyIn(SyscallContext c, ulong addr, Span<byte> dst) => c.Mem.TryCopyIn(addr, dst);

    /// <summary>Writes a value to guest memory when the pointer is writable; false (EFAULT) otherwise.</summary>
    public static bool Store<T>(SyscallContext c, ulong addr, T value) where T : unmanaged => c.Mem.TryWrite(addr, value);

    /// <summary>Reads a value from guest memory when readable; false (EFAULT) otherwise.</summary>
    public static bool Load<T>(SyscallContext c, ulong addr, out T value) where T : unmanaged => c.Mem.TryRead(addr, out value);

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
