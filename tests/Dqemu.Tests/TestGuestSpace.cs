using Dqemu.Runtime.Host;
using Dqemu.Runtime.Memory;

namespace Dqemu.Tests;

/// <summary>
/// A <see cref="GuestSpace"/> for a test, its reservation given back on Dispose. A guest space reserves 32 TiB of
/// address space and a process has 128 TiB: three fit at most (a C program's mmap loop gets three), and test classes
/// run in parallel (the Syscalls collection's fixture keeps one as long as its collection runs). So at most two exist
/// at once in the test process; another waits for one to go. Without that, and with two of them never given back, CI
/// once failed LayoutReplicaTests with ENOMEM.
/// </summary>
internal sealed unsafe class TestGuestSpace : IDisposable
{
    private static readonly SemaphoreSlim Gate = new(2);
    private int _disposed;

    public GuestSpace Space { get; }

    public TestGuestSpace()
    {
        Gate.Wait();
        try
        {
            Space = new GuestSpace(LinuxHostMemory.Instance);
        }
        catch
        {
            Gate.Release();
            throw;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        LinuxHostMemory.Instance.Release((nint)Space.Base, GuestSpace.ReservationSize);
        Gate.Release();
    }
}
