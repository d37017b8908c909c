using System.Text;

namespace Dqemu.Tests.Cluster;

/// <summary>
/// What the cluster tests print about a run that timed out, before it is killed: for node 0 and every process under
/// it, the emulator's own account (<c>dqemu-native --diagnose PID</c>: each thread's role, guest tid, pc and what it
/// waits for, and the DSM and futex tables; the runs have DQEMU_DIAGNOSE=1) and every thread's native stack from gdb.
/// The rare 2-node hang of issue 14 left no trace; a timeout now leaves this one.
/// </summary>
public static class ClusterDiagnosis
{
    public const string Marker = "[what its threads were doing when it timed out]";

    /// <summary>Lines of gdb's stacks kept per process (a node has ~15-25 threads of ~10-40 frames).</summary>
    private const int MaxGdbLines = 400;

    /// <summary><paramref name="env"/> with DQEMU_DIAGNOSE=1 (the emulator's listener; node 0 passes it on to its workers).</summary>
    public static IReadOnlyDictionary<string, string> Environment(IReadOnlyDictionary<string, string> env) =>
        new Dictionary<string, string>(env) { ["DQEMU_DIAGNOSE"] = "1" };

    /// <summary>The diagnosis of <paramref name="rootPid"/> and the processes under it, each introduced by its pid and command line.</summary>
    public static string Collect(int rootPid)
    {
        var pids = WithDescendants(rootPid);
        // every node's own account first, while nothing is stopped; then gdb on all of them at once (it stops each for
        // the ~6 s it takes to read the symbols, so a node may then report another lost in the stderr above the
        // diagnosis: that line comes from the diagnosis, not from the hang)
        var own = pids.Select(pid => GuestRunner.Run(LoopbackCluster.Binary, ["--diagnose", pid.ToString()], timeout: TimeSpan.FromSeconds(15))).ToList();
        var cmdlines = pids.Select(pid => Read($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim()).ToList();
        var stacks = pids.Select(pid => Task.Run(() => NativeStacks(pid))).ToList();
        var sb = new StringBuilder();
        for (int i = 0; i < pids.Count; i++)
        {
            sb.Append($"== process {pids[i]}: {cmdlines[i]}\n");
            sb.Append(own[i].ExitCode == 0 ? own[i].Stdout : $"(--diagnose {pids[i]}: {own[i].Describe()}: {own[i].Stderr.Trim()})\n");
            sb.Append(stacks[i].GetAwaiter().GetResult());
        }
        return sb.ToString();
    }

    /// <summary>gdb's "thread apply all bt" of <paramref name="pid"/> (it stops the process for a moment), or why not.</summary>
    public static string NativeStacks(int pid)
    {
        var gdb = GuestRunner.FindOnPath("gdb");
        if (gdb == null) return "(no native stacks: gdb not found; toolchains/install.sh installs it)\n";
        var r = GuestRunner.Run(gdb, ["-p", pid.ToString(), "-batch", "-nx", "-ex", "set pagination off", "-ex", "thread apply all bt"],
            timeout: TimeSpan.FromSeconds(30));
        var lines = r.Stdout.Split('\n')
            .Where(l => l.StartsWith("Thread ", StringComparison.Ordinal) || l.StartsWith('#'))
            .ToList();
        if (lines.Count == 0) return $"(gdb -p {pid}: {r.Describe()}: {GuestProgramTests.Tail(r.Stderr, 3)})\n";
        var sb = new StringBuilder($"native stacks (gdb):\n");
        foreach (var l in lines.Take(MaxGdbLines)) sb.Append("  ").Append(l).Append('\n');
        if (lines.Count > MaxGdbLines) sb.Append($"  ... {lines.Count - MaxGdbLines} more lines\n");
        return sb.ToString();
    }

    /// <summary>A run's stderr for a failure message: the tail of the emulator's own output (<paramref name="tail"/>),
    /// then the diagnosis whole.</summary>
    public static string ForReport(string stderr, Func<string, string> tail)
    {
        int at = stderr.IndexOf(Marker, StringComparison.Ordinal);
        return at < 0 ? tail(stderr) : tail(stderr[..at]) + "\n" + stderr[at..];
    }

    /// <summary><paramref name="root"/> first, then the processes whose parent chain leads to it (from /proc).</summary>
    public static List<int> WithDescendants(int root)
    {
        var parent = new Dictionary<int, int>();
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out int pid)) continue;
            string stat = Read(Path.Combine(d, "stat"));
            int close = stat.LastIndexOf(')');
            if (close < 0) continue;
            var fields = stat[(close + 2)..].Split(' ');
            if (fields.Length > 1 && int.TryParse(fields[1], out int ppid)) parent[pid] = ppid;
        }
        var result = new List<int> { root };
        for (int i = 0; i < result.Count; i++)
            result.AddRange(parent.Where(kv => kv.Value == result[i]).Select(kv => kv.Key).Order());
        return result;
    }

    private static string Read(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }
}
