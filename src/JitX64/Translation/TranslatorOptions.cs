namespace Dqemu.JitX64.Translation;

public sealed class TranslatorOptions
{
    /// <summary>Longest block, in guest instructions.</summary>
    public int MaxBlockInstructions { get; init; } = 256;
    /// <summary>Link direct branches block to block (off: every block returns to the dispatcher).</summary>
    public bool LinkBlocks { get; init; } = true;
    /// <summary>Count blocks run in CpuState.BlocksRun (costs one add per block).</summary>
    public bool CountBlocks { get; init; }
    /// <summary>Keep a block's most-used guest registers in host registers (write-back; see EmitterContext).</summary>
    public bool CacheRegisters { get; init; } = true;
    /// <summary>With <see cref="CacheRegisters"/>, keep the block's most-used SIMD&amp;FP registers in xmm registers as well (EmitterContext.XmmPool).</summary>
    public bool CacheVectors { get; init; } = true;
    /// <summary>In a block translated in full, capture NZCV only where it is read before being written again, and
    /// store it to CpuState only where something may read it there (EmitterContext.Flags.cs).</summary>
    public bool FlagLiveness { get; init; } = true;
    /// <summary>A block translated in full goes on past its conditional branches, which leave by side exits
    /// (EmitterContext.Exits.cs, "superblocks").</summary>
    public bool Superblocks { get; init; } = true;
    /// <summary>With <see cref="Superblocks"/>, a block goes on at the target of an unconditional direct branch (B, BL)
    /// and at a followed BL's return address after its RET (EmitterContext.Exits.cs, "followed branches").</summary>
    public bool FollowBranches { get; init; } = true;
    /// <summary>Translate a block first in one quick pass and again, fully, after it has run this many times
    /// (Translator.Tiers.cs); 0: every block fully at once (the tests' harness, which runs each block once or twice).</summary>
    public int TierUpAfter { get; init; }
    /// <summary>The runtime's <see cref="TierUpAfter"/> when --tier-up does not say.</summary>
    public const int DefaultTierUpAfter = 4096;
    public bool LogInAsm { get; init; }
    public bool LogOutAsm { get; init; }
    public Action<string>? Log { get; init; }
    /// <summary>
    /// -d exec/cpu: a native function void(CpuState* cpu, ulong pc, ulong hostCode) every block calls on entry, with
    /// every guest register in CpuState; 0 (the default) emits nothing.
    /// </summary>
    public nint BlockEntryHook { get; init; }
    /// <summary>The code cache's size when none is asked for (--code-cache-size).</summary>
    public const ulong DefaultCodeCacheSize = 512UL << 20;
    public ulong CodeCacheSize { get; init; } = DefaultCodeCacheSize;
    /// <summary>--profile: each block counts its executions in a counter from here, or null.</summary>
    public BlockCounters? Counters { get; init; }
    /// <summary>Called every <see cref="HeapHookBlocks"/> blocks translated, or null: the runtime keeps the pages the
    /// managed heap allocates next populated (Runtime's ManagedHeapPrefault), as a block's translation allocates ~250 bytes.</summary>
    public Action? EveryBlocksTranslated { get; init; }
    public const int HeapHookBlocks = 32;
    /// <summary>Told of every stub and block placed in the code cache (the perf map), or null.</summary>
    public ICodeListener? CodeListener { get; init; }
}
