using System.Runtime.InteropServices;
using Dqemu.JitX64.State;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Translation;

/// <summary>
/// A guest thread's direct-mapped table from guest PC to host code, read by translated code on indirect
/// branches. One per thread, so no synchronisation is needed on the hot path.
///
/// 65,536 entries (guest code 256 KiB apart shares one): with 4,096, sqlite3's interpreter loop had two hot targets
/// in one entry and left its blocks for the dispatcher 2.4 million times in a 0.5 s run (2,228 with this size). The
/// table is calloc'd (glibc maps a block this large fresh, so it costs a page only where an entry is used) and an empty
/// entry is all zero; guest PC 0, the one PC an empty entry's tag could match, indexes entry 0, whose tag is kept at
/// ulong.MaxValue while it is empty.
/// </summary>
public sealed unsafe class JumpCache : IDisposable
{
    public const int Entries = 65536;
    private ulong* _table;
    // the entries set since the last clear, so that a clear (every drop of translations: self-modifying code, a JIT
    // guest) stores into those alone instead of touching the whole MiB; -1 once more were set than this list holds
    private readonly int[] _used = new int[4096];
    private int _usedCount;

    public JumpCache()
    {
        _table = (ulong*)NativeMemory.AllocZeroed(Entries * 16);
        _table[0] = ulong.MaxValue;
    }

    public nint Address => (nint)_table;

    /// <summary>The entry of <paramref name="guestPc"/>, as translated code computes it ((pc &gt;&gt; 2) mod Entries).</summary>
    public static int IndexOf(ulong guestPc) => (int)((guestPc >> 2) & (Entries - 1));

    /// <summary>
    /// The probe translated code makes for the guest pc in rax (CpuState in rbx): on a hit it jumps to the entry's host
    /// code, else it goes to <paramref name="miss"/>. Clobbers rcx and rdx.
    /// </summary>
    internal static void EmitProbe(Assembler a, Label miss)
    {
        a.mov(ecx, eax);
        a.and(ecx, (Entries - 1) << 2);
        a.mov(rdx, __qword_ptr[rbx + CpuOffsets.JumpCache]);
        a.cmp(__qword_ptr[rdx + rcx * 4], rax);
        a.jne(miss);
        a.jmp(__qword_ptr[rdx + rcx * 4 + 8]);
    }

    public void Clear()
    {
        if (_usedCount < 0) NativeMemory.Clear(_table, Entries * 16);
        else
            for (int k = 0; k < _usedCount; k++) { _table[2 * _used[k]] = 0; _table[2 * _used[k] + 1] = 0; }
        _usedCount = 0;
        _table[0] = ulong.MaxValue;
    }

    public void Set(ulong guestPc, nint host)
    {
        int i = IndexOf(guestPc);
        if (_usedCount >= 0) { if (_usedCount < _used.Length) _used[_usedCount++] = i; else _usedCount = -1; }
        _table[2 * i] = ulong.MaxValue; // never a torn pair visible as a hit
        _table[2 * i + 1] = (ulong)host;
        _table[2 * i] = guestPc;
    }

    /// <summary>Points the entry of <paramref name="guestPc"/>, if there is one, to <paramref name="host"/> (another
    /// translation of the same guest code: the thread reached a replaced block through it). Only the owning thread.</summary>
    public void Refresh(ulong guestPc, nint host)
    {
        int i = IndexOf(guestPc);
        if (_table[2 * i] == guestPc) _table[2 * i + 1] = (ulong)host;
    }

    public void Dispose()
    {
        if (_table != null) { NativeMemory.Free(_table); _table = null; }
    }
}
