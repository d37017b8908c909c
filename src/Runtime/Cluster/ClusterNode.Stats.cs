using System.Text;

namespace Dqemu.Runtime.Cluster;

// --stats in a cluster: what this node's coherence, futexes and delegation did.
internal sealed partial class ClusterNode
{
    /// <summary>DQEMU_CLUSTER_DUMP=1: SIGUSR2 appends what every guest thread of this node waits for to /tmp/dqemu-dump-PID.txt (hang diagnosis).</summary>
    private void InstallDump()
    {
        if (Environment.GetEnvironmentVariable("DQEMU_CLUSTER_DUMP") != "1") return;
        _dump = System.Runtime.InteropServices.PosixSignalRegistration.Create((System.Runtime.InteropServices.PosixSignal)12, c =>
        {
            c.Cancel = true;
            var sb = new StringBuilder($"[node {Self}] dsm waiting {Dsm.WaitingThreads}; transport {_transport.Totals};{Futex.DebugDump()}\n{Dsm.DebugDump()}");
            if (_process != null)
                foreach (var t in _process.Threads.Values)
                    unsafe { sb.Append($"[node {Self}]   thread {t.Tid}: pc 0x{t.Cpu->Pc:x} x8 {t.Cpu->X[8]} exited {t.Exited}\n"); }
            File.AppendAllText($"/tmp/dqemu-dump-{Environment.ProcessId}.txt", sb.ToString());
        });
    }

    private System.Runtime.InteropServices.PosixSignalRegistration? _dump;

    /// <summary>This node's part of a diagnosis (DQEMU_DIAGNOSE, <see cref="Diagnosis"/>): the engines' tables.</summary>
    private string DiagnosisText()
    {
        var sb = new StringBuilder();
        sb.Append($"node {Self} of {_transport.NodeCount}: {Dsm.WaitingThreads} thread(s) waiting for pages; transport {_transport.Totals}" +
                  ((Dsm.Failure ?? Futex.Failure) is { } f ? "; failed: " + f : "") + "\n");
        string futex = Futex.DebugDump();
        sb.Append(futex.Length == 0 ? "  futex: no waiters\n" : $"  futex:{futex}\n");
        string pages = Dsm.DebugDump();
        sb.Append(pages.Length == 0 ? "  pages: none in flight, waited for, pinned or busy\n" : "  pages:\n" + pages);
        return sb.ToString();
    }

    private static string Waits(Dqemu.Dsm.LatencySummary w) =>
        $"{w.Count} mean {w.MeanUs:F1} us p50 {w.P50Us:F1} p99 {w.P99Us:F1} max {w.MaxUs:F1}";

    /// <summary>This node's remote faults and the coherence messages and bytes it sent (the cluster's "per fault" line).</summary>
    public ClusterProtocol.CoherenceTotals Coherence
    {
        get
        {
            var d = Dsm.Stats;
            return new(d.NetworkFaults, d.MessagesSent, d.BytesSent);
        }
    }

    /// <summary>This node's lines under its transport line in node 0's cluster stats (workers send them with Stopped).</summary>
    public string StatsText()
    {
        var d = Dsm.Stats;
        var f = Futex.Stats;
        var sb = new StringBuilder();
        sb.AppendLine($"    pages: read faults {d.ReadFaults}, write faults {d.WriteFaults} (upgrades {d.Upgrades}), " +
                      $"sent {d.PagesSent} ({d.ZeroPagesSent} zero, {d.CompressedPagesSent} zstd), received {d.PagesReceived}, " +
                      $"page bytes sent {d.BytesSent} received {d.BytesReceived}");
        sb.AppendLine($"    invalidations sent {d.InvalidationsSent} received {d.InvalidationsReceived}, requests queued {d.QueuedRequests}, " +
                      $"held back by pins {d.DeferredRequests}");
        sb.AppendLine($"    remote faults: read {Waits(d.ReadWaits)}; write {Waits(d.WriteWaits)}");
        // what the whole process allocated on the managed heap, start-up included (the heap audit compares two runs of
        // different lengths: tests/Dqemu.Tests/Audit/NativeAllocationTests.cs)
        sb.AppendLine($"    managed heap: {GC.GetTotalAllocatedBytes(precise: true)} bytes allocated, " +
                      $"{GC.CollectionCount(0) - Host.ManagedHeapPrefault.StartCollections.Gen0} collections ({Host.ManagedHeapPrefault.StartCollections.Gen0} at start-up)");
        sb.AppendLine($"    syscalls delegated {Interlocked.Read(ref _delegated)} ({(Self == 0 ? "served for other nodes" : "sent to node 0")}), " +
                      (Self == 0 ? "" : $"layout queries {Interlocked.Read(ref _layoutQueries)}, ") +
                      $"signals forwarded {Interlocked.Read(ref _signalsForwarded)}");
        if (_transport is Dqemu.Rdma.TcpTransport { HearsNudges: true } tcp)
        {
            var (sent, heard) = tcp.NudgeCounts;
            sb.AppendLine($"    nudges (long waits: peers asked to read their connections at once) sent {sent}, heard {heard}");
        }
        if (_ctx.Config.SplitPages) sb.AppendLine(SplitStatsText());
        if (_ctx.Config.AutoPlacement || Interlocked.Read(ref _movedIn) + Interlocked.Read(ref _movedOut) + Interlocked.Read(ref _hints) > 0)
            sb.AppendLine(MigrationStatsText());
        if (_ctx.Config.ForwardPages || _ctx.Config.ForwardWakes || _ctx.Config.PushUpdates)
        {
            var (prefetched, hits, wasted) = Dsm.ForwardingCounts;
            var (offered, received) = Dsm.UpdateCounts;
            sb.AppendLine($"    forwarding: pages read ahead {prefetched}, used {hits}, wasted {wasted}" +
                          (prefetched > 0 ? $" ({100.0 * wasted / prefetched:F1}% wasted)" : "") + $"; pages named by wakes {f.PagesWithWakes}" +
                          (_ctx.Config.PushUpdates ? $"; updates offered {offered}, received {received}" : ""));
        }
        sb.AppendLine($"    futex: local waits {f.LocalWaits}, local wakes {f.LocalWakes}, global wakes {f.GlobalWakes}, " +
                      $"remote wakes received {f.RemoteWakesReceived}, registrations {f.Registrations} (kept ones reused {f.ReusedRegistrations})");
        if (_process is { Options.Stats: true } p && Self != 0)
        {
            // how this worker translated (node 0 passes it --tier-up, --no-link and --code-cache-size)
            var tr = p.Translator;
            sb.AppendLine($"    translator: blocks {(tr.Options.LinkBlocks ? "linked" : "not linked")}, tier-up after {tr.Options.TierUpAfter} runs, " +
                          $"code cache used {tr.Cache.Used >> 10} KiB of {tr.Cache.Size >> 10} KiB, emptied {tr.Flushes} times");
            foreach (var t in p.Threads.Values.OrderBy(x => x.Tid)) sb.AppendLine("    " + t.StatsLine());
            lock (p.FinishedThreadStats)
                foreach (var line in p.FinishedThreadStats) sb.AppendLine("    " + line);
        }
        return sb.ToString();
    }
}
