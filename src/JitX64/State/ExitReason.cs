namespace Dqemu.JitX64.State;

/// <summary>Why translated code returned to the dispatcher. The guest PC is in CpuState.Pc.</summary>
public enum ExitReason
{
    /// <summary>A direct branch to a block not linked yet; CpuState.LinkSite holds the end of the jmp to patch.</summary>
    Branch = 0,
    /// <summary>An indirect branch whose target missed the jump cache.</summary>
    Indirect = 1,
    /// <summary>SVC #0; Pc is the instruction after it.</summary>
    Syscall = 2,
    /// <summary>An unallocated or unimplemented encoding at Pc (guest SIGILL).</summary>
    Undefined = 3,
    /// <summary>A guest memory access faulted; FaultAddr holds the guest address.</summary>
    SegFault = 4,
    /// <summary>ExitRequest was set by another thread (signals, exit_group, invalidation).</summary>
    Interrupt = 5,
    /// <summary>BRK #imm at Pc (guest SIGTRAP).</summary>
    Breakpoint = 6,
    /// <summary>An instruction fetch from a page that is not mapped executable.</summary>
    FetchFault = 7,
    /// <summary>The code page at Pc was written since it was translated (self-modifying code).</summary>
    CodeModified = 8,
    /// <summary>A debugger's breakpoint at Pc (<see cref="Translation.Translator.SetBreakpoint"/>); the instruction there has not run.</summary>
    DebugStop = 9,
    /// <summary>An exclusive, ordered or atomic access at Pc to an address not aligned to its size (guest SIGBUS,
    /// BUS_ADRALN); FaultAddr holds the guest address (<see cref="Instructions.LdSt"/>'s alignment check).</summary>
    Misaligned = 10,
    /// <summary>A quick translation's countdown ran out (Translator.Tiers.cs): the block at Pc is translated again,
    /// fully; nothing of it has run. <see cref="Translation.BlockRunner"/> handles it, the dispatcher never sees it.</summary>
    TierUp = 11,
}
