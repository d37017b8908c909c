using System.Runtime.InteropServices;

namespace Dqemu.JitX64.Translation;

/// <summary>
/// Two tiers of translation (<see cref="TranslatorOptions.TierUpAfter"/> &gt; 0). Most blocks of a real program run a
/// few times: python3's start translates ~38,000 blocks, and a third of its run went into translating them, 30% of that
/// into the planning pass that chooses a block's register cache (EmitterContext). So a block is first translated
/// quickly: the real pass alone, nothing cached, and a countdown at its entry (after the ExitRequest check, before any
/// guest instruction). When the countdown runs out the block leaves with <see cref="State.ExitReason.TierUp"/> and
/// <see cref="TierUp"/> translates it in full: the quick block leaves the lookup, the links into it are pointed to the
/// full block (undone, they would go through the jump-cache probe, which finds the full block and so never links them
/// again), and the full block takes its place. The
/// quick block's code stays, correct for its guest code, for a thread still in it; its countdown stays at or below zero,
/// so a thread that enters it later (through a jump cache filled before) leaves at once with TierUp and is sent to the
/// full block, whose address then goes into that thread's jump cache. A link to a replaced block is refused.
/// </summary>
public sealed partial class Translator
{
    /// <summary>Blocks translated again, fully, after their quick translation ran <see cref="TranslatorOptions.TierUpAfter"/> times.</summary>
    public long BlocksTieredUp;

    // the countdowns of quick blocks: native memory of their own (a store into the code cache would be self-modifying
    // code to the CPU), in chunks given out again after the code cache is emptied, when no block that uses one is left
    private const int CountdownsPerChunk = 4096;
    private readonly List<nint> _countdownChunks = new();
    private int _countdownsUsed; // in all chunks, in order

    /// <summary>A countdown set to <see cref="TranslatorOptions.TierUpAfter"/> for a quick block. Under _lock.</summary>
    private unsafe int* NewCountdownLocked()
    {
        int chunk = _countdownsUsed / CountdownsPerChunk;
        if (chunk == _countdownChunks.Count)
            _countdownChunks.Add((nint)NativeMemory.Alloc(CountdownsPerChunk, sizeof(int))); // kept for the process's life
        int* c = (int*)_countdownChunks[chunk] + _countdownsUsed % CountdownsPerChunk;
        _countdownsUsed++;
        *c = Options.TierUpAfter;
        return c;
    }

    /// <summary>The code cache was emptied: no block that uses a countdown is left, so they are given out again.</summary>
    private void ReuseCountdownsLocked() => _countdownsUsed = 0;

    /// <summary>
    /// On a <see cref="State.ExitReason.TierUp"/> exit at <paramref name="pc"/>: the full translation of the block
    /// there, made now unless another thread made it already (see the class). <paramref name="translated"/> is the
    /// number of guest instructions translated; <paramref name="runner"/> lets go of its epoch while a flush is waited for.
    /// </summary>
    public nint TierUp(ulong pc, out int translated, BlockRunner? runner = null)
    {
        translated = 0;
        lock (_lock)
        {
            nint code = Cache.Lookup(pc);
            var quick = code == 0 ? null : BlockStartingAt((ulong)code);
            if (code != 0 && quick is not { Quick: true }) return code;
            code = TranslateAndPublishLocked(pc, runner, full: true, out translated);
            // the quick block is still current unless a flush or an invalidation came while the lock was let go; its
            // lookup entry is the full block's now (DropBlockLocked forgets only its own)
            // (dropped, it is refused as a link's target: Link)
            if (quick != null && !quick.Dropped && quick.DropAlls == _dropAlls) DropBlockLocked(quick, replacement: (ulong)code);
            BlocksTieredUp++;
            return code;
        }
    }
}
