using System.Runtime.InteropServices;
using Dqemu.JitX64.Host;
using Dqemu.Runtime.Host;
using Xunit;

namespace Dqemu.Tests.Host;

/// <summary>
/// PageToucher (behind LinuxHostMemory.Populate, the code cache's populate-ahead): a range asked for becomes resident,
/// in the background; and with its lock held elsewhere (a forked child whose parent's thread held it) the request is
/// populated in place before it returns, never blocked. Residency is the kernel's answer (mincore).
/// </summary>
public unsafe class PageToucherTests
{
    private const int Pages = 64;

    [DllImport("libc", SetLastError = true)]
    private static extern int mincore(void* addr, nuint length, byte* vec);

    /// <summary>How many of the <paramref name="pages"/> pages at <paramref name="address"/> are resident (mincore).</summary>
    internal static int Resident(nint address, int pages = Pages)
    {
        byte* vec = stackalloc byte[pages];
        Assert.Equal(0, mincore((void*)address, (nuint)pages * 4096, vec));
        int n = 0;
        for (int i = 0; i < pages; i++) n += vec[i] & 1;
        return n;
    }

    /// <summary>Committed read-write pages that nothing has touched yet (none resident).</summary>
    internal static nint FreshRange(int pages = Pages)
    {
        var host = LinuxHostMemory.Instance;
        nint p = host.Reserve((ulong)pages * 4096);
        host.Commit(p, (ulong)pages * 4096, HostProtection.Read | HostProtection.Write);
        Assert.Equal(0, Resident(p, pages));
        return p;
    }

    /// <summary>Waits (30 s at most) until all <paramref name="pages"/> pages at <paramref name="address"/> are resident:
    /// the page thread works in the background.</summary>
    internal static void AssertBecomesResident(nint address, int pages = Pages)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Resident(address, pages) < pages && DateTime.UtcNow < deadline) Thread.Sleep(1);
        Assert.Equal(pages, Resident(address, pages));
    }

    [Fact]
    public void ARequestedRangeBecomesResident()
    {
        nint p = FreshRange();
        LinuxHostMemory.Instance.Populate(p, Pages * 4096);
        AssertBecomesResident(p);
    }

    [Fact]
    public void WithItsLockHeldElsewhereARequestIsPopulatedInPlace()
    {
        nint p = FreshRange();
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var holder = new Thread(() =>
        {
            lock (PageToucher.Lock)
            {
                held.Set();
                release.Wait();
            }
        });
        holder.Start();
        held.Wait();
        try
        {
            PageToucher.Request(p, Pages * 4096);
            Assert.Equal(Pages, Resident(p));
        }
        finally
        {
            release.Set();
            holder.Join();
        }
    }
}
