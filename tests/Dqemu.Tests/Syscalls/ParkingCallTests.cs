using System.Diagnostics;
using System.Runtime.InteropServices;
using Dqemu.Runtime.Host;
using Xunit;

namespace Dqemu.Tests.Syscalls;

/// <summary>
/// The parking system call (NativeThunks.CreateParkingCall, HostSyscall.Parking) that the emulator's helper threads
/// block in, so that a guest's fork finds them outside managed code. A futex wait through it must block until woken
/// (its timeout argument is none: a stray fourth argument once made it fail at once, and the kicker thread spun on a
/// core), say while it is inside, and not return while the gate is closed, returning its result once it opens.
/// </summary>
[Collection("Syscalls")]
public sealed unsafe class ParkingCallTests(SyscallHarness harness)
{
    private const int FutexWaitPrivate = 128, FutexWakePrivate = 129;
    private readonly SyscallHarness _harness = harness; // it initialises HostSyscall

    [Fact]
    public void FutexWaitBlocksUntilWokenAndTheGateHoldsItInside()
    {
        var mem = (int*)NativeMemory.AllocZeroed(16);
        try
        {
            int* word = mem, gate = mem + 1, inside = mem + 2;
            long result = long.MinValue;
            var waiter = new Thread(() => result = HostSyscall.Parking(HostSyscall.Nr.Futex, (long)word, FutexWaitPrivate, 0, gate, inside));
            waiter.Start();
            // it says it is inside, and stays blocked
            var sw = Stopwatch.StartNew();
            while (Volatile.Read(ref *inside) == 0 && sw.ElapsedMilliseconds < 10_000) Thread.Sleep(1);
            Assert.Equal(1, Volatile.Read(ref *inside));
            Thread.Sleep(200);
            Assert.True(waiter.IsAlive, $"the futex wait returned at once ({result})");

            // a fork comes: the gate closes, then the wait is woken; the call must stay inside, parked
            Interlocked.Exchange(ref *gate, 1);
            *word = 1;
            HostSyscall.Call(HostSyscall.Nr.Futex, (long)word, FutexWakePrivate, 1);
            Thread.Sleep(200);
            Assert.True(waiter.IsAlive, "the call returned while the gate was closed");
            Assert.Equal(1, Volatile.Read(ref *inside));

            // the fork is over: the gate opens and the parked call returns the wait's result (0: woken)
            Interlocked.Exchange(ref *gate, 0);
            HostSyscall.Call(HostSyscall.Nr.Futex, (long)gate, FutexWakePrivate, int.MaxValue);
            Assert.True(waiter.Join(10_000), "the call did not return after the gate opened");
            Assert.Equal(0, result);
            Assert.Equal(0, Volatile.Read(ref *inside));
        }
        finally
        {
            NativeMemory.Free(mem);
        }
    }
}
