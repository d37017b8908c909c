namespace Dqemu.JitX64.Translation;

/// <summary>
/// Told of every piece of host code placed in the <see cref="CodeCache"/>, as it is placed (a perf map writes one
/// line per call). Ranges never overlap: the cache only grows upwards. Calls come from whichever thread places the
/// code; blocks are placed one at a time under the translator's lock, fixed stubs under the cache's.
/// </summary>
public interface ICodeListener
{
    /// <summary>A fixed piece of host code (entry and exit stubs, signal handlers, thunks) at
    /// [<paramref name="hostStart"/>, +<paramref name="hostSize"/>) named <paramref name="name"/>.</summary>
    void StubPlaced(ulong hostStart, ulong hostSize, string name);

    /// <summary>The translation of the guest block starting at <paramref name="guestPc"/>: all of its host code, the
    /// out-of-line (cold) parts emitted after its exits included, lies in [<paramref name="hostStart"/>,
    /// +<paramref name="hostSize"/>).</summary>
    void BlockPlaced(ulong hostStart, ulong hostSize, ulong guestPc);
}
