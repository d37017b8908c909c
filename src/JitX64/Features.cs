namespace Dqemu.JitX64;

/// <summary>What the translator implements, as the Linux AT_HWCAP/AT_HWCAP2 bits that advertise it.</summary>
public static class Features
{
    public const ulong HwcapFp = 1UL << 0, HwcapAsimd = 1UL << 1, HwcapAes = 1UL << 3, HwcapPmull = 1UL << 4,
        HwcapSha1 = 1UL << 5, HwcapSha2 = 1UL << 6, HwcapCrc32 = 1UL << 7, HwcapAtomics = 1UL << 8,
        HwcapSha3 = 1UL << 17, HwcapSha512 = 1UL << 21;

    /// <summary>
    /// AES and PMULL (64-bit) are translated to AES-NI and pclmulqdq and are advertised only when the host has them
    /// (otherwise they are undefined, see InstEmitCrypto.cs). SHA1 and SHA256 run (a guest built for them works) but are
    /// not advertised: each is a helper call from translated code, and OpenSSL's SHA-256 over them (python's hashlib,
    /// 20 MB) took 0.51 s against 0.19 s on its generic path, which a guest that reads AT_HWCAP takes instead. SHA512
    /// is helper calls too (four per two rounds), so it is not advertised either. SHA3 (EOR3, BCAX, RAX1, XAR) is a few
    /// SSE instructions each, inline, and is advertised (fuzzer Crypto class, 3 x 100,000 cases equal to qemu-aarch64).
    /// </summary>
    public static ulong HwCap => HwcapFp | HwcapAsimd | HwcapCrc32 | HwcapAtomics | HwcapSha3
        | (Instructions.InstEmit.HostAes ? HwcapAes : 0) | (Instructions.InstEmit.HostPclmul ? HwcapPmull : 0);
    public static ulong HwCap2 => 0;
}
