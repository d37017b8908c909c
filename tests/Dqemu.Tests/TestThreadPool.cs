using System.Runtime.CompilerServices;

namespace Dqemu.Tests;

/// <summary>Many tests block pool threads on purpose (a Task.Run'd acquire held back by the network). The pool adds
/// threads past its minimum only while the CPU is not saturated, and the protocol explorer keeps both cores busy: a
/// test running beside it waited 5 s for a Task.Run that never started (2 cores, 5 pool threads, 3 items queued).
/// Raising the minimum lets the pool start them at once.</summary>
internal static class TestThreadPool
{
#pragma warning disable CA2255 // runs once, before any test
    [ModuleInitializer]
    internal static void RaiseMinimum()
#pragma warning restore CA2255
    {
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 64), io);
    }
}
