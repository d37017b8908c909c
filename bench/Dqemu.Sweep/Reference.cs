using System.Globalization;

namespace Dqemu.Sweep;

/// <summary>qemu-aarch64's output of one program, size and thread count: what every run of it must reproduce.</summary>
/// <param name="Output">The output to compare with (stdout or the output file); null when there is a problem.</param>
/// <param name="ExitCode">qemu's exit status, which runs must reproduce too.</param>
/// <param name="Problem">Why there is no usable reference (qemu timed out, wrote no output file), or null.</param>
internal sealed record Reference(byte[]? Output, int ExitCode, string? Problem);

/// <summary>
/// The reference outputs, each produced once by qemu-aarch64 and cached in memory and in DIR/reference/ (so --compare
/// and the sweep that build.sh runs next into the same --out directory share them). A reference that exits non-zero
/// still counts — the runs must exit the same way — but one that timed out or wrote no output file is a problem that
/// fails every run of its program and thread count, reported in their reason.
/// </summary>
internal sealed class ReferenceOutputs(string qemu, ParsecLayout layout, string size, TimeSpan timeout, string cacheDir)
{
    private readonly Dictionary<(string, int), Reference> _cache = new();

    public Reference Get(ProgramSpec spec, int threads)
    {
        if (_cache.TryGetValue((spec.Name, threads), out var r)) return r;
        string stem = Path.Combine(cacheDir, $"{spec.Name}-{size}-{threads}t");
        if (File.Exists(stem + ".out") && File.Exists(stem + ".exit")
            && int.TryParse(File.ReadAllText(stem + ".exit").Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int code))
            r = new Reference(File.ReadAllBytes(stem + ".out"), code, null);
        else
        {
            var run = GuestRun.Run([qemu, layout.Aarch64(spec.Name)], spec, spec.ExpandArgs(size, threads, layout.Inputs(spec.Name)), timeout);
            if (run.Process.TimedOut) r = new Reference(null, -1, $"qemu-aarch64 timed out after {timeout.TotalSeconds:0} s");
            else if (run.Output == null) r = new Reference(null, run.Process.ExitCode, $"qemu-aarch64 wrote no '{spec.Output}' (exit {run.Process.ExitCode}: {GuestRun.LastError(run.Process.Stderr)})");
            else
            {
                r = new Reference(run.Output, run.Process.ExitCode, null);
                Directory.CreateDirectory(cacheDir);
                File.WriteAllBytes(stem + ".out", run.Output);
                File.WriteAllText(stem + ".exit", run.Process.ExitCode.ToString(CultureInfo.InvariantCulture) + "\n");
            }
        }
        _cache[(spec.Name, threads)] = r;
        return r;
    }
}
