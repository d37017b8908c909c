namespace Dqemu.JitX64.Translation;

/// <summary>Where the translator reads guest instructions from; false when the page is not executable.</summary>
public interface IGuestCodeReader
{
    bool TryFetch(ulong pc, out uint word);
}
