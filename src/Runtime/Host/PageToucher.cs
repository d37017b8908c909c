using static Tmds.Linux.LibC;

namespace Dqemu.Runtime.Host;

/// <summary>
/// Backs ranges with memory on a thread of its own (<see cref="LinuxHostMemory.Populate"/>, which the code cache
/// calls ahead of the code it writes). On these VMs a page costs ~1 µs to populate and then ~6 µs more at its first
/// access from user mode (the hypervisor's own mapping: an access by the kernel, e.g. a write(2) from the page, does
/// not count), ~10 µs in all when it simply faults. The thread populates each range and reads a byte of every page,
/// so the translator, on the other CPU, writes code into pages that cost nothing more; and the managed heap's gen0
/// ahead of its allocation point (ManagedHeapPrefault), which the GC clears as it hands it out. A range that may be
/// unmapped or decommitted under the thread (gen0, after a collection) is read through <see cref="GuardedCopy"/>,
/// which survives the fault and ends the range there; the code cache is never unmapped and is read directly.
/// In a forked child the thread is gone: its requests, and any request that cannot take the lock at once (its holder
/// may have been a thread of the parent), are populated in place, as before there was a thread.
/// </summary>
internal static unsafe class PageToucher
{
    internal static readonly object Lock = new(); // internal: PageToucherTests holds it as a parent's thread might have
    private static readonly Queue<(nint Address, ulong Size, bool MayUnmap)> Pending = new();
    private static Thread? _thread;
    private static int _threadPid;

    /// <summary>Populates [address, address + size) and reads a byte of each page, on the thread. <paramref name="mayUnmap"/>:
    /// the range may be unmapped meanwhile (read through GuardedCopy, and only once it is ready).</summary>
    public static void Request(nint address, ulong size, bool mayUnmap = false)
    {
        // a forked child has the parent's _thread but not the thread: its requests are populated in place
        if ((_thread != null && getpid() != _threadPid) || !Monitor.TryEnter(Lock))
        {
            LinuxHostMemory.PopulateNow(address, size);
            return;
        }
        try
        {
            Pending.Enqueue((address, size, mayUnmap));
            if (_thread == null)
            {
                _threadPid = getpid();
                _thread = new Thread(Run) { IsBackground = true, Name = "dqemu-pages" };
                _thread.Start();
            }
            Monitor.Pulse(Lock);
        }
        finally
        {
            Monitor.Exit(Lock);
        }
    }

    private static void Run()
    {
        while (true)
        {
            (nint Address, ulong Size, bool MayUnmap) range;
            lock (Lock)
            {
                while (Pending.Count == 0) Monitor.Wait(Lock);
                range = Pending.Dequeue();
            }
            LinuxHostMemory.PopulateNow(range.Address, range.Size);
            byte* p = (byte*)range.Address;
            if (!range.MayUnmap)
            {
                for (ulong at = 0; at < range.Size; at += 4096) _ = Volatile.Read(ref p[at]);
                continue;
            }
            if (!GuardedCopy.Ready) continue;
            byte b;
            for (ulong at = 0; at < range.Size; at += 4096)
                if (!GuardedCopy.Copy(&b, p + at, 1)) break;
        }
    }
}
