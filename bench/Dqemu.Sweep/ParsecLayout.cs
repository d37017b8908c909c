namespace Dqemu.Sweep;

/// <summary>Where bench/parsec/build.sh puts the programs and their inputs (all paths absolute).</summary>
/// <param name="Root">build/parsec, or what --parsec-dir says.</param>
internal sealed record ParsecLayout(string Root)
{
    /// <summary>The static AArch64 binary: what qemu-aarch64 and ./dqemu-native run.</summary>
    public string Aarch64(string name) => Path.Combine(Root, "aarch64", name);

    /// <summary>The native x86-64 binary of --compare.</summary>
    public string X86_64(string name) => Path.Combine(Root, "x86_64", name);

    /// <summary>The program's input files, substituted for {inputs}.</summary>
    public string Inputs(string name) => Path.Combine(Root, "inputs", name);
}
