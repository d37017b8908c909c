using System.Text;
using Dqemu.JitX64.State;

namespace Dqemu.Runtime.Debugging;

/// <summary>
/// Guest registers in gdb's numbering (<see cref="GdbTargetXml"/>): 0-30 x0-x30, 31 sp, 32 pc, 33 cpsr (32 bits),
/// 34-65 v0-v31 (128 bits), 66 fpsr, 67 fpcr (32 bits), each as little-endian hex bytes, as the protocol wants.
/// Read and written only while the thread is stopped, when its CpuState is exact.
/// </summary>
public static unsafe class GdbRegisters
{
    public const int Count = 68;
    public const int Cpsr = 33, V0 = 34, Fpsr = 66, Fpcr = 67;

    /// <summary>Bytes of register <paramref name="n"/>.</summary>
    public static int Size(int n) => n switch
    {
        < 33 => 8,
        Cpsr or Fpsr or Fpcr => 4,
        _ => 16,
    };

    /// <summary>Register <paramref name="n"/> as hex, or null when there is no such register.</summary>
    public static string? Read(CpuState* cpu, int n)
    {
        if (n < 0 || n >= Count) return null;
        Span<byte> b = stackalloc byte[16];
        if (n <= 30) BitConverter.TryWriteBytes(b, cpu->X[n]);
        else if (n == 31) BitConverter.TryWriteBytes(b, cpu->Sp);
        else if (n == 32) BitConverter.TryWriteBytes(b, cpu->Pc);
        else if (n == Cpsr) BitConverter.TryWriteBytes(b, cpu->Nzcv);
        else if (n == Fpsr) BitConverter.TryWriteBytes(b, FpsrBits.Read(cpu->Fpsr, cpu->Mxcsr));
        else if (n == Fpcr) BitConverter.TryWriteBytes(b, cpu->Fpcr);
        else
        {
            int v = n - V0;
            BitConverter.TryWriteBytes(b, cpu->V[2 * v]);
            BitConverter.TryWriteBytes(b[8..], cpu->V[2 * v + 1]);
        }
        return Hex(b[..Size(n)]);
    }

    /// <summary>Sets register <paramref name="n"/> from its hex bytes; false when the register or the text is bad.</summary>
    public static bool Write(CpuState* cpu, int n, ReadOnlySpan<char> hex)
    {
        if (n < 0 || n >= Count || hex.Length != 2 * Size(n)) return false;
        Span<byte> b = stackalloc byte[16];
        b.Clear();
        if (!TryParseHex(hex, b[..Size(n)])) return false;
        ulong lo = BitConverter.ToUInt64(b), hi = BitConverter.ToUInt64(b[8..]);
        if (n <= 30) cpu->X[n] = lo;
        else if (n == 31) cpu->Sp = lo;
        else if (n == 32) cpu->Pc = lo;
        else if (n == Cpsr) cpu->Nzcv = (uint)lo & 0xF000_0000; // only NZCV exists in EL0's PSTATE here
        else if (n == Fpsr) { cpu->Fpsr = (uint)lo; cpu->Mxcsr &= ~FpsrBits.MxcsrFlags; }
        else if (n == Fpcr) cpu->Fpcr = (uint)lo;
        else { cpu->V[2 * (n - V0)] = lo; cpu->V[2 * (n - V0) + 1] = hi; }
        return true;
    }

    /// <summary>All registers in order ("g").</summary>
    public static string ReadAll(CpuState* cpu)
    {
        var sb = new StringBuilder(Count * 32);
        for (int n = 0; n < Count; n++) sb.Append(Read(cpu, n));
        return sb.ToString();
    }

    /// <summary>All registers in order ("G"); false when the text is short or not hex (nothing is changed then).</summary>
    public static bool WriteAll(CpuState* cpu, ReadOnlySpan<char> hex)
    {
        int total = 0;
        for (int n = 0; n < Count; n++) total += 2 * Size(n);
        // gdb may send only the registers it knows of; a shorter text must still end on a register boundary
        if (hex.Length > total || !IsHex(hex)) return false;
        int at = 0;
        for (int n = 0; n < Count && at + 2 * Size(n) <= hex.Length; n++)
        {
            Write(cpu, n, hex.Slice(at, 2 * Size(n)));
            at += 2 * Size(n);
        }
        return at == hex.Length;
    }

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    public static bool TryParseHex(ReadOnlySpan<char> hex, Span<byte> into)
    {
        if (hex.Length != 2 * into.Length) return false;
        for (int i = 0; i < into.Length; i++)
        {
            int h = GdbConnection.HexDigit(hex[2 * i]), l = GdbConnection.HexDigit(hex[2 * i + 1]);
            if (h < 0 || l < 0) return false;
            into[i] = (byte)((h << 4) | l);
        }
        return true;
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (char c in s) if (GdbConnection.HexDigit(c) < 0) return false;
        return s.Length % 2 == 0;
    }
}
