using System.Diagnostics;

namespace Dqemu.Sweep;

/// <summary>What --programs and --size pick from the manifest, and the reference runs they need.</summary>
internal static class Selection
{
    /// <summary>The programs named by --programs (default all), each of which must have --size.</summary>
    /// <exception cref="ManifestException">A name the manifest lacks, or a program without that size.</exception>
    public static List<ProgramSpec> Programs(ProgramManifest manifest, SweepOptions o)
    {
        var programs = o.Programs?.Select(manifest.Get).ToList() ?? manifest.Programs.ToList();
        foreach (var p in programs)
            if (!p.Sizes.ContainsKey(o.Size))
                throw new ManifestException($"{manifest.Source}: program '{p.Name}' has no size '{o.Size}' (it has {string.Join(", ", p.Sizes.Keys)})");
        return programs;
    }

    /// <summary>Produces (or finds cached) every reference output up front, one line each, so the timed runs are not interleaved with qemu's.</summary>
    public static void MakeReferences(ReferenceOutputs refs, IEnumerable<(ProgramSpec Program, int Threads)> needed)
    {
        foreach (var (p, t) in needed.Distinct())
        {
            var clock = Stopwatch.StartNew();
            var r = refs.Get(p, t);
            Console.WriteLine($"reference {p.Name} {t} thread{(t == 1 ? "" : "s")}: " +
                              (r.Problem ?? $"{r.Output!.Length} bytes, exit {r.ExitCode} ({clock.Elapsed.TotalSeconds:0.0} s)"));
        }
    }
}
