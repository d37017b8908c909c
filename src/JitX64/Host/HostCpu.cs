using System.Runtime.Intrinsics.X86;

namespace Dqemu.JitX64.Host;

/// <summary>
/// The x86-64 instruction-set extensions the translator may emit, read once from CPUID, less those named in
/// <c>DQEMU_HOST_FEATURES_OFF</c> (a comma list of <see cref="Names"/>): the translator then takes the path it takes on a
/// host without them, and <see cref="Features.HwCap"/> advertises what that path implements. That is how the fallbacks
/// are tested on a host that has everything.
/// </summary>
/// <remarks>
/// CPUID, not Fma.IsSupported and friends: NativeAOT folds those to the compile-time baseline (no FMA3), which would
/// send every fused multiply-add to the C# slow path.
/// </remarks>
public static class HostCpu
{
    public const string OffVariable = "DQEMU_HOST_FEATURES_OFF";

    /// <summary>The names <see cref="OffVariable"/> takes.</summary>
    public static readonly string[] Names = ["fma", "sse42", "aes", "pclmul", "sha"];

    private static readonly int Cpuid1Ecx = X86Base.IsSupported ? X86Base.CpuId(1, 0).Ecx : 0;
    private static readonly int Cpuid7Ebx = X86Base.IsSupported && X86Base.CpuId(0, 0).Eax >= 7 ? X86Base.CpuId(7, 0).Ebx : 0;
    private static readonly string[] Off = (Environment.GetEnvironmentVariable(OffVariable) ?? "")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The names in <see cref="OffVariable"/> that are not in <see cref="Names"/> (the runtime refuses them).</summary>
    public static IEnumerable<string> UnknownOff => Off.Where(n => !Names.Contains(n));

    private static bool On(string name, bool cpu) => cpu && !Off.Contains(name);

    /// <summary>FMA3 usable: the CPU has it (CPUID.1:ECX.FMA) and the OS saves AVX state (OSXSAVE, AVX).</summary>
    public static readonly bool Fma = On("fma", (Cpuid1Ecx & (1 << 12)) != 0 && (Cpuid1Ecx & (1 << 27)) != 0 && (Cpuid1Ecx & (1 << 28)) != 0);

    /// <summary>SSE4.2 (pcmpgtq).</summary>
    public static readonly bool Sse42 = On("sse42", (Cpuid1Ecx & (1 << 20)) != 0);

    /// <summary>AES-NI (aesenc, aesenclast, aesdeclast, aesimc): CPUID.1:ECX.AESNI.</summary>
    public static readonly bool Aes = On("aes", (Cpuid1Ecx & (1 << 25)) != 0);

    /// <summary>pclmulqdq: CPUID.1:ECX.PCLMULQDQ.</summary>
    public static readonly bool Pclmul = On("pclmul", (Cpuid1Ecx & (1 << 1)) != 0);

    /// <summary>SHA-NI (sha1rnds4, sha256rnds2, sha256msg1/2): CPUID.(7,0):EBX.SHA; with SSSE3 (palignr), which
    /// every CPU that has SHA-NI has.</summary>
    public static readonly bool Sha = On("sha", (Cpuid7Ebx & (1 << 29)) != 0 && (Cpuid1Ecx & (1 << 9)) != 0);
}
