namespace Dqemu.JitX64.Translation;

/// <summary>Where the translator reads guest instructions from; false when the page is not executable.</summary>
public interface IGuestCodeReader
{
    bool TryFetch(ulong pc, out uint word);

    /// <summary>
    /// The code at <paramref name="pc"/> may change without the translator hearing of it (a page written too often to
    /// keep write-protected: data next to code): a block holding it compares its guest bytes with the ones it was
    /// translated from on every entry, and leaves with <see cref="State.ExitReason.CodeModified"/> when they differ.
    /// </summary>
    bool IsVolatile(ulong pc) => false;
}
