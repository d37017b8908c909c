namespace Dqemu.Tests.Jit;

/// <summary>Registers and a data page, as set before a snippet and compared after it.</summary>
public sealed class MachineState
{
    public const int MemorySize = 4096;

    public ulong[] X { get; } = new ulong[31];
    public ulong Sp { get; set; } = JitHarness.StackTop;
    public uint Nzcv { get; set; }
    public uint Fpcr { get; set; }
    /// <summary>V0..V31 as (low, high) 64-bit halves.</summary>
    public ulong[] V { get; } = new ulong[64];
    /// <summary>The page at <see cref="JitHarness.DataAddress"/>.</summary>
    public byte[] Memory { get; } = new byte[MemorySize];

    /// <summary>Every register and the data page filled from a seeded generator, with a bias to edge values.</summary>
    public static MachineState Random(int seed)
    {
        var r = new System.Random(seed);
        var s = new MachineState();
        ulong[] edges = [0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, long.MaxValue, 0x8000000000000000, ulong.MaxValue, 63, 64, 31, 32];
        ulong Next() => r.Next(4) == 0 ? edges[r.Next(edges.Length)] : (ulong)r.NextInt64() ^ ((ulong)r.Next() << 40);
        for (int i = 0; i < 31; i++) s.X[i] = Next();
        for (int i = 0; i < 64; i++) s.V[i] = Next();
        s.Nzcv = (uint)r.Next(16) << 28;
        r.NextBytes(s.Memory);
        return s;
    }

    public MachineState Clone()
    {
        var c = new MachineState { Sp = Sp, Nzcv = Nzcv, Fpcr = Fpcr };
        X.CopyTo(c.X, 0); V.CopyTo(c.V, 0); Memory.CopyTo(c.Memory, 0);
        return c;
    }

    /// <summary>Names every difference; empty when equal.</summary>
    public static List<string> Diff(MachineState expected, MachineState actual)
    {
        var d = new List<string>();
        for (int i = 0; i < 31; i++)
            if (expected.X[i] != actual.X[i]) d.Add($"x{i}: expected 0x{expected.X[i]:x16}, got 0x{actual.X[i]:x16}");
        if (expected.Sp != actual.Sp) d.Add($"sp: expected 0x{expected.Sp:x}, got 0x{actual.Sp:x}");
        if (expected.Nzcv != actual.Nzcv) d.Add($"nzcv: expected {expected.Nzcv >> 28:x1}, got {actual.Nzcv >> 28:x1}");
        for (int i = 0; i < 32; i++)
            if (expected.V[2 * i] != actual.V[2 * i] || expected.V[2 * i + 1] != actual.V[2 * i + 1])
                d.Add($"v{i}: expected 0x{expected.V[2 * i + 1]:x16}{expected.V[2 * i]:x16}, got 0x{actual.V[2 * i + 1]:x16}{actual.V[2 * i]:x16}");
        for (int i = 0; i < MemorySize; i++)
            if (expected.Memory[i] != actual.Memory[i]) { d.Add($"memory differs first at +0x{i:x}: expected {expected.Memory[i]:x2}, got {actual.Memory[i]:x2}"); break; }
        return d;
    }
}
