namespace Dqemu.Dsm;

/// <summary>How <see cref="FutexEngine"/> reads the futex word: the runtime implements it over guest memory.</summary>
public interface IFutexMemory
{
    /// <summary>
    /// Reads the aligned 32-bit guest word at <paramref name="addr"/> coherently (the implementation fetches the page
    /// through the DSM first), so the value is at least as new as any write that completed before the call began,
    /// on any node. False when the address is not readable guest memory (the engine then returns -EFAULT).
    /// </summary>
    bool TryReadWord(ulong addr, out uint value);
}
