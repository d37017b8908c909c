using Dqemu.JitX64.State;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Memory;

namespace Dqemu.Runtime.Threading;

/// <summary>
/// Starting and ending guest threads. Each guest thread is a host thread running its own dispatcher loop
/// over shared translated code, so guest threads run truly in parallel. Guest tids are the host threads'
/// tids, which keeps PI futexes (whose words hold owner tids) working on the host kernel.
/// </summary>
public static unsafe class GuestThreads
{
    public const ulong CloneVm = 0x100, CloneFs = 0x200, CloneFiles = 0x400, CloneSighand = 0x800, CloneVfork = 0x4000,
        CloneThread = 0x10000, CloneSysvsem = 0x40000, CloneSettls = 0x80000, CloneParentSettid = 0x100000,
        CloneChildCleartid = 0x200000, CloneChildSettid = 0x1000000;

    /// <summary>Host stack for a guest thread's dispatcher (guest stacks live in guest memory).</summary>
    private const int HostStackSize = 1 << 20;

    /// <summary>clone() for a new thread in this process; returns the child's tid.</summary>
    public static long StartThread(GuestProcess process, GuestThread parent, ulong flags, ulong newSp, ulong parentTid, ulong tls, ulong childTid)
    {
        if ((flags & CloneParentSettid) != 0 && !process.Space.IsAccessible(parentTid, 4, GuestProt.Write)) return -Syscalls.Errno.EFAULT;
        if ((flags & (CloneChildSettid | CloneChildCleartid)) != 0 && !process.Space.IsAccessible(childTid, 4, GuestProt.Write)) return -Syscalls.Errno.EFAULT;
        // the checks pinned those pages here; the child (perhaps on another node) writes them next
        process.Space.Coherence?.ReleaseResident();

        Span<byte> image = stackalloc byte[CpuOffsets.ShippedSize];
        new ReadOnlySpan<byte>(parent.Cpu, CpuOffsets.ShippedSize).CopyTo(image);
        fixed (byte* p = image)
        {
            var cpu = (CpuState*)p;
            cpu->X[0] = 0;
            cpu->ExclSize = 0;
            if (newSp != 0) cpu->Sp = newSp;
            if ((flags & CloneSettls) != 0) cpu->Tpidr = tls;
        }
        if (process.Cluster is { } cluster)
        {
            long r = cluster.StartThread(image, parent.Cpu->Mxcsr, flags, parentTid, childTid, parent.SignalMask);
            if (r is not (IClusterProcess.StartHere or IClusterProcess.StartHerePinned)) return r;
            return StartFromImage(process, image, parent.Cpu->Mxcsr, flags, parentTid, childTid, parent.SignalMask, r == IClusterProcess.StartHerePinned);
        }
        return StartFromImage(process, image, parent.Cpu->Mxcsr, flags, parentTid, childTid, parent.SignalMask);
    }

    /// <summary>Starts a thread on this node from a CpuState image (a local clone, or one another node placed here).</summary>
    public static long StartFromImage(GuestProcess process, ReadOnlySpan<byte> image, uint mxcsr, ulong flags, ulong parentTid, ulong childTid, ulong signalMask,
                                      bool pinned = false)
    {
        var child = new GuestThread(process) { Pinned = pinned };
        image[..CpuOffsets.ShippedSize].CopyTo(new Span<byte>(child.Cpu, CpuOffsets.ShippedSize));
        child.Cpu->Mxcsr = mxcsr;
        child.SignalMask = signalMask;
        if ((flags & CloneChildCleartid) != 0) child.ClearChildTid = childTid;

        Launch(process, child, () =>
        {
            child.Tid = process.TidFor(child.HostTid);
            // both tid writes happen before either side runs guest code, as the kernel does them
            if ((flags & CloneParentSettid) != 0) process.Space.TryWrite(parentTid, child.Tid);
            if ((flags & CloneChildSettid) != 0) process.Space.TryWrite(childTid, child.Tid);
            process.Space.Coherence?.ReleaseResident();
            process.AddThread(child);
        });
        return child.Tid;
    }

    /// <summary>
    /// Starts the host thread that runs <paramref name="thread"/> (a new one, or one moved here from another node) and
    /// returns once <paramref name="register"/> has run on it, with <see cref="GuestThread.HostTid"/> set: it gives the
    /// thread its tid and adds it to the process before any guest code runs.
    /// </summary>
    public static void Launch(GuestProcess process, GuestThread thread, Action register)
    {
        using var ready = new ManualResetEventSlim();
        var host = new Thread(() =>
        {
            thread.HostTid = (int)HostSyscall.Call(HostSyscall.Nr.Gettid);
            register();
            ready.Set();
            Run(process, thread);
        }, HostStackSize)
        { IsBackground = true, Name = "guest" };
        host.Start();
        ready.Wait();
    }

    /// <summary>A guest thread's whole life on its host thread, from first instruction to exit.</summary>
    public static void Run(GuestProcess process, GuestThread thread)
    {
        thread.CpuClock = Host.ThreadCpuTime.ClockOfThisThread(); // read by the placement sampler (placement = "auto")
        try { Dispatcher.Run(process, thread); }
        catch (Exception e) when (process.Cluster != null)
        {
            // a page or a node that did not answer (DsmException), a closed transport: one line, every node ends
            if (Environment.GetEnvironmentVariable("DQEMU_DEBUG_STACK") == "1") Console.Error.WriteLine(e);
            process.Cluster.Fail($"thread {thread.Tid}: {e.Message}");
        }
        if (process.Exiting) process.Terminate();
        if (thread.Migrated) return; // the guest thread goes on on another node
        // as the kernel's mm_release: the word is cleared and waiters woken only when the write succeeds
        if (thread.ClearChildTid != 0 && process.Space.TryWrite(thread.ClearChildTid, 0))
        {
            process.Space.Coherence?.ReleaseResident();
            process.Futex.Wake(thread.ClearChildTid, int.MaxValue);
        }
        process.RecordFinished(thread);
        process.ThreadFinished(thread, thread.ExitCode);
    }
}
