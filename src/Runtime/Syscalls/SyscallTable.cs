using Dqemu.JitX64.State;
using Dqemu.Runtime.Memory;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Syscalls;

/// <summary>Where a syscall runs once threads span nodes (DESIGN.md invariant 5).</summary>
public enum SyscallSite
{
    /// <summary>On the calling node: it touches only the thread or node-local state.</summary>
    Local,
    /// <summary>On node 0: process-wide state (files, memory layout, exit).</summary>
    Node0,
}

public delegate long SyscallHandler(SyscallContext c);

public sealed record SyscallEntry(int Number, string Name, SyscallSite Site, SyscallHandler Handler);

/// <summary>The arguments and surroundings of one guest system call.</summary>
public sealed unsafe class SyscallContext
{
    public GuestProcess Process { get; }
    public GuestThread Thread { get; }
    public CpuState* Cpu => Thread.Cpu;
    public GuestSpace Mem => Process.Space;
    public int Number => (int)Cpu->X[8];
    public ulong A0 => Cpu->X[0];
    public ulong A1 => Cpu->X[1];
    public ulong A2 => Cpu->X[2];
    public ulong A3 => Cpu->X[3];
    public ulong A4 => Cpu->X[4];
    public ulong A5 => Cpu->X[5];

    public SyscallContext(GuestProcess process, GuestThread thread)
    {
        Process = process;
        Thread = thread;
    }
}

/// <summary>
/// One table, one entry per AArch64 syscall number (asm-generic/unistd.h), each saying where it runs.
/// Categories fill it from their own files (SyscallTable.File.cs, ...). A number without an entry
/// returns -ENOSYS and is logged under --strace. Numbers from <see cref="PrivateBase"/> on are the emulator's own
/// (dqemu_hint), far above Linux's so that a future Linux call never collides; Linux and qemu answer them ENOSYS.
/// </summary>
public static partial class SyscallTable
{
    public const int MaxNumber = 512;
    /// <summary>The emulator's private calls: 0x4400 up to <see cref="PrivateBase"/> + <see cref="PrivateCount"/>.</summary>
    public const int PrivateBase = 0x4400, PrivateCount = 16;
    private static readonly SyscallEntry?[] Entries = Build();

    public static SyscallEntry? Get(ulong nr) => Index(nr) is int i and >= 0 ? Entries[i] : null;

    /// <summary>Where <paramref name="nr"/> sits in the table: Linux numbers first, the private range after them; -1 for neither.</summary>
    private static int Index(ulong nr) =>
        nr < MaxNumber ? (int)nr : nr - PrivateBase < PrivateCount ? MaxNumber + (int)(nr - PrivateBase) : -1;

    public static IEnumerable<SyscallEntry> All => Entries.Where(e => e != null)!;

    private static SyscallEntry?[] Build()
    {
        var t = new SyscallEntry?[MaxNumber + PrivateCount];
        AddFile(t);
        AddMemory(t);
        AddProcess(t);
        AddTime(t);
        AddSignal(t);
        AddInfo(t);
        AddThread(t);
        AddMqueue(t);
        AddPassThrough(t);
        AddIpc(t);
        return t;
    }

    static partial void AddFile(SyscallEntry?[] t);
    static partial void AddMemory(SyscallEntry?[] t);
    static partial void AddProcess(SyscallEntry?[] t);
    static partial void AddTime(SyscallEntry?[] t);
    static partial void AddSignal(SyscallEntry?[] t);
    static partial void AddInfo(SyscallEntry?[] t);
    static partial void AddThread(SyscallEntry?[] t);
    static partial void AddMqueue(SyscallEntry?[] t);
    static partial void AddPassThrough(SyscallEntry?[] t);
    static partial void AddIpc(SyscallEntry?[] t);

    private static void Add(this SyscallEntry?[] t, int nr, string name, SyscallSite site, SyscallHandler handler)
    {
        int i = Index((ulong)nr);
        if (i < 0) throw new InvalidOperationException($"syscall {nr} ({name}) is neither a Linux number nor a private one");
        if (t[i] != null) throw new InvalidOperationException($"syscall {nr} ({name}) registered twice");
        t[i] = new SyscallEntry(nr, name, site, handler);
    }
}
