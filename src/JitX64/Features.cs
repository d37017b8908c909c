using Dqemu.JitX64.Host;

namespace Dqemu.JitX64;

/// <summary>What the translator implements, as the Linux AT_HWCAP/AT_HWCAP2 bits that advertise it.</summary>
public static class Features
{
    public const ulong HwcapFp = 1UL << 0, HwcapAsimd = 1UL << 1, HwcapAes = 1UL << 3, HwcapPmull = 1UL << 4,
        HwcapSha1 = 1UL << 5, HwcapSha2 = 1UL << 6, HwcapCrc32 = 1UL << 7, HwcapAtomics = 1UL << 8,
        HwcapSha3 = 1UL << 17, HwcapSha512 = 1UL << 21;

    /// <summary>
    /// AES and PMULL (64-bit) are translated to AES-NI and pclmulqdq, SHA1 and SHA256 to SHA-NI (with SSE for SHA1H
    /// and the SHA1 schedule), and each is advertised only when the host has the instructions (<see cref="HostCpu"/>).
    /// Without AES-NI or pclmulqdq those instructions are undefined (see InstEmitCrypto.cs); without SHA-NI, SHA1 and
    /// SHA256 still run (a guest built for them works) as helper calls, but are not advertised: OpenSSL's SHA-256 over
    /// the helpers (python's hashlib, 20 MB) took 0.51 s against 0.19 s on its generic path, which a guest that reads
    /// AT_HWCAP takes instead. SHA512 is helper calls on every host (x86 has no SHA-512 instructions before
    /// SHA512-NI), so it is not advertised. SHA3 (EOR3, BCAX, RAX1, XAR) is a few SSE instructions each, inline, and is
    /// advertised. Fuzzer Crypto class: 3 x 100,000 cases equal to qemu-aarch64.
    /// </summary>
    public static ulong HwCap => HwcapFp | HwcapAsimd | HwcapCrc32 | HwcapAtomics | HwcapSha3
        | (HostCpu.Aes ? HwcapAes : 0) | (HostCpu.Pclmul ? HwcapPmull : 0) | (HostCpu.Sha ? HwcapSha1 | HwcapSha2 : 0);
    public static ulong HwCap2 => 0;
}
