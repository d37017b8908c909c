using System.Runtime.InteropServices;

namespace Dqemu.JitX64.Translation;

/// <summary>
/// A guest thread's direct-mapped table from guest PC to host code, read by translated code on indirect
/// branches. One per thread, so no synchronisation is needed on the hot path.
/// </summary>
public sealed unsafe class JumpCache : IDisposable
{
    public const int Entries = 4096;
    private ulong* _table;

    public JumpCache()
    {
        _table = (ulong*)NativeMemory.AlignedAlloc(Entries * 16, 64);
        Clear();
    }

    public nint Address => (nint)_table;

    public void Clear()
    {
        for (int i = 0; i < Entries; i++) { _table[2 * i] = ulong.MaxValue; _table[2 * i + 1] = 0; }
    }

    public void Set(ulong guestPc, nint host)
    {
        int i = (int)((guestPc >> 2) & (Entries - 1));
        _table[2 * i] = ulong.MaxValue; // never a torn pair visible as a hit
        _table[2 * i + 1] = (ulong)host;
        _table[2 * i] = guestPc;
    }

    /// <summary>Points the entry of <paramref name="guestPc"/>, if there is one, to <paramref name="host"/> (another
    /// translation of the same guest code: the thread reached a replaced block through it). Only the owning thread.</summary>
    public void Refresh(ulong guestPc, nint host)
    {
        int i = (int)((guestPc >> 2) & (Entries - 1));
        if (_table[2 * i] == guestPc) _table[2 * i + 1] = (ulong)host;
    }

    public void Dispose()
    {
        if (_table != null) { NativeMemory.AlignedFree(_table); _table = null; }
    }
}
