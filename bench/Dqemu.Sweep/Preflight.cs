namespace Dqemu.Sweep;

/// <summary>Checks, before anything runs, that every tool and binary a sweep or comparison needs is there.</summary>
internal static class Preflight
{
    /// <summary>The full path of qemu-aarch64 (or what --qemu names).</summary>
    /// <exception cref="MissingException">It is not installed.</exception>
    /// <summary>
    /// What the sweep and --compare check before any run: the selected programs, where they are built, the
    /// emulator, qemu-aarch64 (returned: its path) and each program's binaries (the native ones too when
    /// <paramref name="native"/>) and inputs; a missing piece ends the tool with one line.
    /// </summary>
    public static (List<ProgramSpec> Programs, ParsecLayout Layout, string Qemu) All(SweepOptions o, ProgramManifest manifest, bool native)
    {
        var programs = Selection.Programs(manifest, o);
        var layout = new ParsecLayout(o.ParsecDir);
        Dqemu(o.Dqemu);
        string qemu = Qemu(o.Qemu);
        Programs(programs, layout, o.Size, native);
        return (programs, layout, qemu);
    }

    public static string Qemu(string qemu)
    {
        string? found = qemu.Contains('/')
            ? (File.Exists(qemu) ? Path.GetFullPath(qemu) : null)
            : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
                .Select(d => Path.Combine(d, qemu)).FirstOrDefault(File.Exists);
        return found ?? throw new MissingException(
            $"{qemu} not found: the reference outputs come from it; install it with toolchains/install.sh (Debian package qemu-user)");
    }

    /// <exception cref="MissingException">./dqemu-native (or --dqemu) is missing.</exception>
    public static void Dqemu(string path)
    {
        if (!File.Exists(path)) throw new MissingException($"{path} not found: build it with ./build.sh");
    }

    /// <summary>The AArch64 binaries (and with <paramref name="native"/> the x86-64 ones) and the inputs of <paramref name="size"/>.</summary>
    /// <exception cref="MissingException">One is missing.</exception>
    public static void Programs(IEnumerable<ProgramSpec> programs, ParsecLayout layout, string size, bool native)
    {
        foreach (var p in programs)
        {
            var needed = new List<string> { layout.Aarch64(p.Name) };
            if (native) needed.Add(layout.X86_64(p.Name));
            foreach (var f in needed)
                if (!File.Exists(f)) throw new MissingException($"{f} not found: build the PARSEC programs with bench/parsec/build.sh");
            if (p.UsesInputs(size) && !Directory.Exists(layout.Inputs(p.Name)))
                throw new MissingException($"{layout.Inputs(p.Name)} not found: bench/parsec/build.sh puts the inputs there");
        }
    }
}
