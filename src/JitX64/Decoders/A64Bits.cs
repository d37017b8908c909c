namespace Dqemu.JitX64.Decoders;

/// <summary>Arithmetic the Arm ARM defines in pseudocode (sign extension, bit masks, immediate expansion), shared by
/// A64Op, the emitters and the disassembler. Fields of the instruction word are A64Op's.</summary>
public static class A64Bits
{
    public static long SignExtend(ulong value, int bits)
    {
        int shift = 64 - bits;
        return (long)(value << shift) >> shift;
    }

    public static ulong Ones(int n) => n >= 64 ? ulong.MaxValue : (1UL << n) - 1;

    public static ulong Ror(ulong value, int amount, int width)
    {
        amount %= width;
        if (amount == 0) return value;
        ulong mask = Ones(width);
        return ((value >> amount) | (value << (width - amount))) & mask;
    }

    public static ulong Replicate(ulong value, int esize, int width)
    {
        ulong r = 0;
        for (int i = 0; i < width; i += esize) r |= value << i;
        return r;
    }

    /// <summary>
    /// DecodeBitMasks from the Arm ARM: the (wmask, tmask) pair for logical immediates and bitfield moves.
    /// Returns false for reserved encodings.
    /// </summary>
    public static bool DecodeBitMasks(uint n, uint imms, uint immr, bool immediate, int dataSize, out ulong wmask, out ulong tmask)
    {
        wmask = tmask = 0;
        uint combined = (n << 6) | (~imms & 0x3f);
        int len = 31 - System.Numerics.BitOperations.LeadingZeroCount(combined);
        if (len < 1) return false;
        int levels = (1 << len) - 1;
        if (immediate && (imms & levels) == levels) return false;
        int s = (int)(imms & levels);
        int r = (int)(immr & levels);
        int diff = (s - r) & levels;
        int esize = 1 << len;
        if (esize > dataSize) return false;
        ulong welem = Ones(s + 1);
        ulong telem = Ones(diff + 1);
        wmask = Replicate(Ror(welem, r, esize), esize, dataSize);
        tmask = Replicate(telem, esize, dataSize);
        return true;
    }

    /// <summary>VFPExpandImm for FMOV (scalar, immediate) and the FP forms of MOVI.</summary>
    public static ulong FpExpandImm(uint imm8, int size)
    {
        ulong sign = (imm8 >> 7) & 1;
        ulong b6 = (imm8 >> 6) & 1;
        ulong low = imm8 & 0x3f;
        switch (size)
        {
            case 16:
                return (sign << 15) | ((b6 ^ 1) << 14) | ((b6 != 0 ? 3UL : 0) << 12) | (low << 6);
            case 32:
                return (sign << 31) | ((b6 ^ 1) << 30) | ((b6 != 0 ? 0x1fUL : 0) << 25) | (low << 19);
            default:
                return (sign << 63) | ((b6 ^ 1) << 62) | ((b6 != 0 ? 0xffUL : 0) << 54) | (low << 48);
        }
    }
}
