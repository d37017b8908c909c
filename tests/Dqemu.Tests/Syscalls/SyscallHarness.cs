using System.Text;
using Dqemu.JitX64.Translation;
using Dqemu.Runtime;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Memory;
using Dqemu.Runtime.Syscalls;
using Dqemu.Runtime.Threading;
using Xunit;

namespace Dqemu.Tests.Syscalls;

/// <summary>
/// One guest address space (a full GuestSpace reservation) shared by the syscall tests, with a scratch area
/// for arguments, and a way to call table entries with guest registers set as the dispatcher would.
/// </summary>
public sealed unsafe class SyscallHarness : IDisposable
{
    public const ulong Scratch = 0x1000_0000;
    public const ulong ScratchSize = 1 << 20;
    public const ulong BrkStart = 0x2000_0000;

    private readonly TestGuestSpace _lease = new();

    public GuestSpace Space { get; }
    public Translator Translator { get; }
    public GuestProcess Process { get; private set; }
    public GuestThread Thread { get; private set; }

    public SyscallHarness()
    {
        Space = _lease.Space;
        Translator = new Translator(LinuxHostMemory.Instance, Space, new TranslatorOptions { CodeCacheSize = 4UL << 20 });
        HostSyscall.Initialize(Translator.Cache);
        GuardedCopy.Initialize(Translator.Cache);
        Space.MapFixed(Scratch, ScratchSize, GuestProt.Read | GuestProt.Write, "scratch");
        Space.InitBrk(BrkStart);
        (Process, Thread) = NewProcess();
    }

    /// <summary>A fresh process and main thread over the same space (for tests that end the process).</summary>
    public (GuestProcess, GuestThread) NewProcess(string? sysroot = null)
    {
        var p = new GuestProcess(Space, Translator, new RuntimeOptions(), "/opt/guest/prog", sysroot);
        var t = new GuestThread(p);
        Process = p;
        Thread = t;
        return (p, t);
    }

    public long Call(int nr, ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0, ulong a4 = 0, ulong a5 = 0)
    {
        var e = SyscallTable.Get((ulong)nr) ?? throw new InvalidOperationException($"syscall {nr} not in the table");
        var cpu = Thread.Cpu;
        cpu->X[0] = a0; cpu->X[1] = a1; cpu->X[2] = a2; cpu->X[3] = a3; cpu->X[4] = a4; cpu->X[5] = a5;
        cpu->X[8] = (ulong)nr;
        return e.Handler(new SyscallContext(Process, Thread));
    }

    public long Call(int nr, long a0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0)
        => Call(nr, (ulong)a0, (ulong)a1, (ulong)a2, (ulong)a3, (ulong)a4, (ulong)a5);

    /// <summary>Writes a NUL-terminated string at Scratch + offset and returns its guest address.</summary>
    public ulong Str(string s, ulong offset = 0)
    {
        var b = Encoding.UTF8.GetBytes(s + "\0");
        b.CopyTo(Space.Span(Scratch + offset, b.Length));
        return Scratch + offset;
    }

    public Span<byte> Bytes(ulong addr, int len) => Space.Span(addr, len);

    public void Dispose() => _lease.Dispose();
}

[CollectionDefinition("Syscalls")]
public sealed class SyscallCollection : ICollectionFixture<SyscallHarness> { }
