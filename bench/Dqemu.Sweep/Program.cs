using Dqemu.Sweep;

// The PARSEC sweep's entry point: options, manifest, then the cluster sweep, --compare or --readme. Every problem found
// before the first run is one line on stderr and a distinct exit status (ExitStatus).
string root = RepoRoot();
try
{
    var options = SweepOptions.Parse(args, root);
    if (options.Help)
    {
        Console.WriteLine(SweepOptions.Usage);
        return ExitStatus.Ok;
    }
    if (options.ReadmeFrom != null) return ReadmeTable.Run(options);
    var manifest = ProgramManifest.Load(options.Manifest);
    return options.Compare ? NodeCompare.Run(options, manifest) : ClusterSweep.Run(options, manifest);
}
catch (Exception e) when (e is UsageException or ManifestException)
{
    Console.Error.WriteLine($"dqemu-sweep: {e.Message}");
    return ExitStatus.BadInput;
}
catch (MissingException e)
{
    Console.Error.WriteLine($"dqemu-sweep: {e.Message}");
    return ExitStatus.Missing;
}

// The repository root (where dqemu-native.sln is) above the current directory, for the default paths; the current
// directory when there is none.
static string RepoRoot()
{
    for (var d = new DirectoryInfo(Environment.CurrentDirectory); d != null; d = d.Parent)
        if (File.Exists(Path.Combine(d.FullName, "dqemu-native.sln"))) return d.FullName;
    return Environment.CurrentDirectory;
}
