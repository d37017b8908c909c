using System.Globalization;

namespace Dqemu.Sweep;

/// <summary>The command line (see <see cref="Usage"/>); relative paths are taken from the current directory, defaults from the repository root.</summary>
internal sealed class SweepOptions
{
    public bool Help { get; private set; }
    /// <summary>--compare: one node, native vs qemu-aarch64 vs ./dqemu-native, instead of the cluster sweep.</summary>
    public bool Compare { get; private set; }
    /// <summary>Program names; null means every program of the manifest.</summary>
    public IReadOnlyList<string>? Programs { get; private set; }
    public string Size { get; private set; } = "bench";
    public IReadOnlyList<string> Transports { get; private set; } = ["tcp", "ucx"];
    public IReadOnlyList<int> Nodes { get; private set; } = [1, 2, 3];
    public IReadOnlyList<int> Threads { get; private set; } = [1, 2, 4];
    /// <summary>--variant: cluster-file variants run besides the defaults, in the order first named.</summary>
    public IReadOnlyList<Variant> Variants => _variants;
    private readonly List<Variant> _variants = [];
    public int Runs { get; private set; } = 3;
    /// <summary>Host CPUs per node (and the node's <c>cores</c>).</summary>
    public int Cores { get; private set; } = 1;
    public string Out { get; private set; } = "";
    public string Dqemu { get; private set; } = "";
    public string Qemu { get; private set; } = "qemu-aarch64";
    public TimeSpan Timeout { get; private set; } = TimeSpan.FromSeconds(1800);
    public string Manifest { get; private set; } = "";
    public string ParsecDir { get; private set; } = "";
    /// <summary>--readme DIR: instead of running, write README.md's PARSEC tables from DIR (<see cref="ReadmeTable"/>).</summary>
    public string? ReadmeFrom { get; private set; }
    public string ReadmeFile { get; private set; } = "";
    public string EvalDir { get; private set; } = "";

    public const string Usage = """
        dotnet run -c Release --project bench/Dqemu.Sweep -- [options]
        The PARSEC evaluation: every program × transport × node count × thread count as a loopback cluster of
        ./dqemu-native (--cluster FILE --stats), runs alternating between configurations, every output checked
        against qemu-aarch64's. Writes runs.csv, summary.csv, summary.md, speedup-<program>.svg and time-split.svg.
          --programs a,b        programs of the manifest (default: all)
          --size test|bench     input size (default bench)
          --transports tcp,ucx  transports of the runs with more than one node (default tcp,ucx)
          --nodes 1,2,3         node counts (default 1,2,3; 1 node with every thread count is always run)
          --threads 1,2,4       guest thread counts (default 1,2,4; a "pow2" program skips the others)
          --variant NAME=LINE   also run every configuration of more than one node with LINE added to [cluster]
                                (e.g. auto='placement = "auto"', split='split_pages = true'); repeat a NAME for more
                                lines; the tables show it after the transport ("tcp auto")
          --runs N              runs per configuration (default 3)
          --cores N             host CPUs per node (default 1): node i is pinned to CPUs i*N .. i*N+N-1 mod nproc
          --out DIR             output directory (default build/sweep/<yyyy-MM-dd-HHmm>)
          --dqemu PATH          the emulator (default ./dqemu-native)
          --qemu PATH           the reference emulator (default qemu-aarch64 on PATH)
          --timeout SECONDS     per run (default 1800)
          --manifest PATH       the program list (default bench/parsec/programs.toml)
          --parsec-dir DIR      binaries and inputs (default build/parsec: aarch64/, x86_64/, inputs/)
          --compare             instead: one node, native x86-64 vs qemu-aarch64 vs ./dqemu-native with 1 and 2
                                threads (--runs each, alternating); writes compare.csv, compare-runs.csv, compare.md
          --readme DIR          instead: README's PARSEC tables from DIR (where --compare and the sweep wrote): copies
                                DIR's tables and plots to docs/eval/<DIR's name>/ and rewrites the README between its
                                parsec-table markers
          --readme-file PATH    the README to rewrite (default README.md)
          --eval-dir DIR        where the copies go (default docs/eval)
        Exit status: 0 every run matched, 1 a run failed or mismatched, 2 bad options or manifest,
        3 a missing tool or binary.
        """;

    /// <exception cref="UsageException">An unknown option or a bad value.</exception>
    public static SweepOptions Parse(IReadOnlyList<string> args, string repoRoot)
    {
        var o = new SweepOptions
        {
            Out = Path.Combine(repoRoot, "build", "sweep", DateTime.Now.ToString("yyyy-MM-dd-HHmm", CultureInfo.InvariantCulture)),
            Dqemu = Path.Combine(repoRoot, "dqemu-native"),
            Manifest = Path.Combine(repoRoot, "bench", "parsec", "programs.toml"),
            ParsecDir = Path.Combine(repoRoot, "build", "parsec"),
            ReadmeFile = Path.Combine(repoRoot, "README.md"),
            EvalDir = Path.Combine(repoRoot, "docs", "eval"),
        };
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            string? inline = null;
            int eq = arg.IndexOf('=');
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0) (arg, inline) = (arg[..eq], arg[(eq + 1)..]);
            string Value() => inline ?? (i + 1 < args.Count ? args[++i] : throw new UsageException($"{arg} needs a value"));
            switch (arg)
            {
                case "-h" or "--help": o.Help = true; break;
                case "--compare": o.Compare = true; break;
                case "--programs": o.Programs = List(arg, Value()); break;
                case "--size": o.Size = Value(); break;
                case "--transports":
                    o.Transports = List(arg, Value());
                    foreach (var t in o.Transports)
                        if (t is not ("tcp" or "ucx")) throw new UsageException($"--transports: '{t}' is not tcp or ucx");
                    break;
                case "--nodes": o.Nodes = Numbers(arg, Value(), 1, 64); break;
                case "--threads": o.Threads = Numbers(arg, Value(), 1, 1024); break;
                case "--runs": o.Runs = Number(arg, Value(), 1, 1000); break;
                case "--variant": o.AddVariant(Value()); break;
                case "--cores": o.Cores = Number(arg, Value(), 1, 1024); break;
                case "--out": o.Out = Path.GetFullPath(Value()); break;
                case "--dqemu": o.Dqemu = Path.GetFullPath(Value()); break;
                case "--qemu": o.Qemu = Value(); break;
                case "--timeout": o.Timeout = TimeSpan.FromSeconds(Number(arg, Value(), 1, 7 * 24 * 3600)); break;
                case "--manifest": o.Manifest = Path.GetFullPath(Value()); break;
                case "--parsec-dir": o.ParsecDir = Path.GetFullPath(Value()); break;
                case "--readme": o.ReadmeFrom = Path.GetFullPath(Value()); break;
                case "--readme-file": o.ReadmeFile = Path.GetFullPath(Value()); break;
                case "--eval-dir": o.EvalDir = Path.GetFullPath(Value()); break;
                default: throw new UsageException($"unknown option '{args[i]}' (see --help)");
            }
        }
        if (o.Size.Length == 0) throw new UsageException("--size needs a size name, like test or bench");
        return o;
    }

    private void AddVariant(string spec)
    {
        int eq = spec.IndexOf('=');
        string name = eq > 0 ? spec[..eq].Trim() : "";
        string line = eq > 0 ? spec[(eq + 1)..].Trim() : "";
        if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') || !line.Contains('='))
            throw new UsageException($"--variant: '{spec}' is not NAME=LINE with a name of letters, digits, - or _ and a TOML line like split_pages = true");
        int i = _variants.FindIndex(v => v.Name == name);
        if (i < 0) _variants.Add(new Variant(name, line));
        else _variants[i] = _variants[i] with { Lines = _variants[i].Lines + "\n" + line };
    }

    private static List<string> List(string option, string value)
    {
        var items = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
        return items.Count > 0 ? items : throw new UsageException($"{option} needs a comma-separated list");
    }

    private static List<int> Numbers(string option, string value, int min, int max) =>
        List(option, value).Select(v => Number(option, v, min, max)).Distinct().Order().ToList();

    private static int Number(string option, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max
            ? n
            : throw new UsageException($"{option}: '{value}' is not a whole number from {min} to {max}");
}
