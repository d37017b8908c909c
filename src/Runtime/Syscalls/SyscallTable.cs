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
/// returns -ENOSYS and is logged under --strace.
/// </summary>
public static partial class SyscallTable
{
    public const int MaxNumber = 512;
    private static readonly SyscallEntry?[] Entries = Build();

    public static SyscallEntry? Get(ulong nr) => nr < MaxNumber ? Entries[nr] : null;

    public static IEnumerable<SyscallEntry> All => Entries.Where(e => e != null)!;

    private static SyscallEntry?[] Build()
    {
        var t = new SyscallEntry?[MaxNumber];
        AddFile(t);
        AddMemory(t);
        AddProcess(t);
        AddTime(t);
        AddSignal(t);
        AddInfo(t);
        AddThread(t);
        return t;
    }

    static partial void AddFile(SyscallEntry?[] t);
    static partial void AddMemory(SyscallEntry?[] t);
    static partial void AddProcess(SyscallEntry?[] t);
    static partial void AddTime(SyscallEntry?[] t);
    static partial void AddSignal(SyscallEntry?[] t);
    static partial void AddInfo(SyscallEntry?[] t);
    static partial void AddThread(SyscallEntry?[] t);

    private static void Add(this SyscallEntry?[] t, int nr, string name, SyscallSite site, SyscallHandler handler)
    {
        if (t[nr] != null) throw new InvalidOperationException($"syscall {nr} ({name}) registered twice");
        t[nr] = new SyscallEntry(nr, name, site, handler);
    }
}
