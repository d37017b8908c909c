namespace Dqemu.JitX64;

/// <summary>What the translator implements, as the Linux AT_HWCAP/AT_HWCAP2 bits that advertise it.</summary>
public static class Features
{
    public const ulong HwcapFp = 1UL << 0, HwcapAsimd = 1UL << 1, HwcapCrc32 = 1UL << 7, HwcapAtomics = 1UL << 8;

    public static ulong HwCap => HwcapFp | HwcapAsimd | HwcapCrc32 | HwcapAtomics;
    public static ulong HwCap2 => 0;
}
