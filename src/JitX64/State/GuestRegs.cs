namespace Dqemu.JitX64.State;

/// <summary>Guest register access for the C# slow paths.</summary>
internal static unsafe class GuestRegs
{
    public static ulong* V(CpuState* c, int n) => (ulong*)((byte*)c + CpuOffsets.Vn(n));
    public static byte* VB(CpuState* c, int n) => (byte*)c + CpuOffsets.Vn(n);

    /// <summary>Writes a scalar result: the value in the low bits, every other bit of Vd zero.</summary>
    public static void SetScalar(CpuState* c, int n, ulong value)
    {
        ulong* p = V(c, n);
        p[0] = value;
        p[1] = 0;
    }

    public static ulong GetX(CpuState* c, int n) => n == 31 ? 0 : c->X[n];
    public static void SetX(CpuState* c, int n, ulong v) { if (n != 31) c->X[n] = v; }

    /// <summary>Element <paramref name="i"/> of <paramref name="esize"/> bits (8..64) of a 128-bit value.</summary>
    public static ulong Elem(ulong* v, int i, int esize) => esize switch
    {
        8 => ((byte*)v)[i],
        16 => ((ushort*)v)[i],
        32 => ((uint*)v)[i],
        _ => v[i],
    };

    public static void SetElem(ulong* v, int i, int esize, ulong x)
    {
        switch (esize)
        {
            case 8: ((byte*)v)[i] = (byte)x; break;
            case 16: ((ushort*)v)[i] = (ushort)x; break;
            case 32: ((uint*)v)[i] = (uint)x; break;
            default: v[i] = x; break;
        }
    }
}
