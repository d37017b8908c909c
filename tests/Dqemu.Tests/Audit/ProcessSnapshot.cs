using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Diagnostics.Runtime;

namespace Dqemu.Tests.Audit;

/// <summary>
/// What ClrMD reads from a dump of this very process: objects by type (count and bytes, live and not yet collected
/// alike: what a heap walk finds) and the runtime's managed threads.
/// </summary>
/// <remarks>
/// How the dump is taken, and why: ClrMD refuses <c>DataTarget.AttachToProcess</c> on the process it runs in
/// ("Attaching to the current process is not supported"), and its <c>CreateSnapshotAndAttach</c> writes a full dump
/// through the runtime's createdump (~190 MB). We run the same createdump ourselves with <c>--withheap</c> (the GC
/// heap and the runtime's structures, ~70 MB, ~2 s here), which ptrace-attaches to this process from a child and
/// leaves it running, and load that file. ClrMD reads the runtime version of a Linux dump as 0.0 and then refuses the
/// runtime's own DAC as "mismatched"; the DAC next to the running libcoreclr is the matching one by construction, so
/// it is named explicitly with ignoreMismatch.
/// </remarks>
public sealed class ProcessSnapshot
{
    public readonly record struct TypeCount(long Count, long Bytes);
    public readonly record struct ManagedThread(int ManagedId, uint OsId, bool Alive, bool PoolThread);

    public required IReadOnlyDictionary<string, TypeCount> Types { get; init; }
    public required IReadOnlyList<ManagedThread> Threads { get; init; }

    /// <summary>Dumps this process now (it keeps running) and reads the dump.</summary>
    public static ProcessSnapshot Take() => Read(Write());

    /// <summary>
    /// Dumps this process now into a temporary file and returns its path, reading nothing: between two of these, the
    /// heap grows only by what the process itself allocated (and this call's few objects: a Process, its streams and
    /// strings), which <see cref="Read"/> then shows.
    /// </summary>
    public static string Write()
    {
        string file = Path.Combine(Path.GetTempPath(), $"dqemu-audit-{Environment.ProcessId}-{Guid.NewGuid():N}.dmp");
        var psi = new ProcessStartInfo(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "createdump"),
            ["--withheap", "-f", file, Environment.ProcessId.ToString()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var errors = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill();
            File.Delete(file);
            throw new InvalidOperationException("createdump did not finish within 60 s");
        }
        if (p.ExitCode != 0 || !File.Exists(file))
        {
            File.Delete(file);
            throw new InvalidOperationException($"createdump failed ({p.ExitCode}): {output.Result}{errors.Result}");
        }
        return file;
    }

    /// <summary>Reads a dump <see cref="Write"/> made, then deletes it.</summary>
    public static ProcessSnapshot Read(string file)
    {
        try
        {
            using var target = DataTarget.LoadDump(file);
            string dac = Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "libmscordaccore.so");
            using var runtime = target.ClrVersions[0].CreateRuntime(dac, ignoreMismatch: true);
            var types = new Dictionary<string, TypeCount>();
            foreach (var o in runtime.Heap.EnumerateObjects())
            {
                if (o.Type is not { } t || t.IsFree) continue;
                string name = t.Name ?? "?";
                types.TryGetValue(name, out var c);
                types[name] = new TypeCount(c.Count + 1, c.Bytes + (long)o.Size);
            }
            var threads = runtime.Threads
                .Select(t => new ManagedThread(t.ManagedThreadId, t.OSThreadId, t.IsAlive,
                    (t.State & (ClrThreadState.TS_TPWorkerThread | ClrThreadState.TS_CompletionPortThread)) != 0))
                .ToList();
            return new ProcessSnapshot { Types = types, Threads = threads };
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Types whose object count grew from <paramref name="before"/> to this snapshot, largest growth first.</summary>
    public IReadOnlyList<(string Type, long Count, long Bytes)> GrowthSince(ProcessSnapshot before, Func<string, bool>? which = null) =>
        Types.Select(kv =>
            {
                before.Types.TryGetValue(kv.Key, out var b);
                return (Type: kv.Key, Count: kv.Value.Count - b.Count, Bytes: kv.Value.Bytes - b.Bytes);
            })
            .Where(g => g.Count > 0 && (which is null || which(g.Type)))
            .OrderByDescending(g => g.Bytes)
            .ToList();

    /// <summary>OS thread ids of the managed threads alive in this snapshot.</summary>
    public HashSet<uint> AliveThreads => Threads.Where(t => t.Alive && t.OsId != 0).Select(t => t.OsId).ToHashSet();

    /// <summary>The emulator's own types (Dqemu.* outside the tests), also as a generic argument (a dictionary of pages).</summary>
    public static bool IsProjectType(string name) =>
        name.Replace("Dqemu.Tests.", "", StringComparison.Ordinal).Contains("Dqemu.", StringComparison.Ordinal);
}
