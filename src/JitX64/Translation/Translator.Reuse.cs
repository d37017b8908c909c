namespace Dqemu.JitX64.Translation;

/// <summary>
/// Emptying the code cache when it fills (qemu's tb_flush), for guests that translate without end: a JIT that keeps
/// writing new code or flipping its code area's protection (LuaJIT), a long run of generated code. The blocks' part of the cache is reused
/// only once no thread can run, or be about to run, a block placed before: every <see cref="BlockRunner"/> publishes
/// the <see cref="Generation"/> it works in (its epoch: Generation + 1, 0 while it runs no code) before it looks up
/// code, and the flush, having dropped every translation, waits until each runner has let go or moved to the new
/// generation. Stubs live in their own part and stay.
/// </summary>
public sealed partial class Translator
{
    /// <summary>Room a block needs at most, nearly always (256 guest instructions of the longest kinds with their cold
    /// paths stay below it): a block starts only when the blocks' part has this much left, and one that still does not
    /// fit empties the cache again (<see cref="TranslateWithRoom"/>).</summary>
    internal const ulong FlushMargin = 64UL << 10;

    private List<BlockRunner> _runners = new(); // under itself (a forked child replaces it: see KeepOnlyRunner)
    private bool _flushing; // under _lock

    /// <summary>Makes every guest thread leave its block at the next block start (the runtime's RequestExitAll):
    /// how a flush gets threads running linked code out of it.</summary>
    public Action? ExitAll { get; set; }

    /// <summary>How many times the code cache was emptied.</summary>
    public int Flushes => Cache.Resets;

    internal void Register(BlockRunner r)
    {
        lock (_runners) _runners.Add(r);
    }

    internal void Unregister(BlockRunner r)
    {
        lock (_runners) _runners.Remove(r);
    }

    /// <summary>
    /// In a forked child, where only the forking thread exists: forgets every other runner (the threads of the parent
    /// that were in a block at the fork would otherwise hold a flush up for ever). A new list, not the old one's lock,
    /// which a thread of the parent may have held at the fork.
    /// </summary>
    public void KeepOnlyRunner(BlockRunner survivor) => _runners = [survivor];

    /// <summary>
    /// Under _lock, before a translation by <paramref name="runner"/> (null: a caller that runs no code): waits while
    /// another thread empties the cache, and empties it when the blocks' part has less than <see cref="FlushMargin"/>
    /// left, or always when <paramref name="full"/> (a block did not fit). The runner lets go of its epoch while it
    /// waits and holds the current one again on return.
    /// </summary>
    private void MakeRoomLocked(BlockRunner? runner, bool full = false)
    {
        if (!full && !_flushing && Cache.BlockRoom >= FlushMargin) return;
        runner?.LetGo();
        while (_flushing) Monitor.Wait(_lock);
        if (full || Cache.BlockRoom < FlushMargin) FlushLocked();
        runner?.HoldLocked(Generation);
    }

    /// <summary>
    /// Drops every translation, waits (letting go of _lock meanwhile) until no runner is behind the new generation,
    /// then empties the blocks' part of the cache and forgets the blocks' maps.
    /// </summary>
    private void FlushLocked()
    {
        _flushing = true;
        try
        {
            DropAllLocked();
            long target = Generation + 1L;
            ExitAll?.Invoke();
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (AnyRunnerBehind(target))
            {
                Monitor.Wait(_lock, 1);
                // a thread may have consumed an earlier request just before this one: ask again now and then
                if (waited.ElapsedMilliseconds >= 100) { ExitAll?.Invoke(); waited.Restart(); }
            }
            _blockMaps.Clear();
            _blockStarts.Clear();
            Cache.ResetBlocks();
            ReuseCountdownsLocked();
        }
        finally
        {
            _flushing = false;
            Monitor.PulseAll(_lock);
        }
    }

    private bool AnyRunnerBehind(long target)
    {
        lock (_runners)
            foreach (var r in _runners)
                if (r.Epoch is var e && e != 0 && e < target) return true;
        return false;
    }
}
