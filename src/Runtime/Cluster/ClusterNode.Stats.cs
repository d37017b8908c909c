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
            var sb = new StringBuilder($"[node {Self}] dsm waiting {Dsm.WaitingThreads};{Futex.DebugDump()}\n");
            if (_process != null)
                foreach (var t in _process.Threads.Values)
                    unsafe { sb.Append($"[node {Self}]   thread {t.Tid}: pc 0x{t.Cpu->Pc:x} x8 {t.Cpu->X[8]} exited {t.Exited}\n"); }
            File.AppendAllText($"/tmp/dqemu-dump-{Environment.ProcessId}.txt", sb.ToString());
        });
    }

    private System.Runtime.InteropServices.PosixSignalRegistration? _dump;

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
        sb.AppendLine($"    fault latency: {d.NetworkFaults} waits, mean {d.MeanFaultLatencyUs:F1} us, p99 {d.P99FaultLatencyUs:F1} us");
        sb.AppendLine($"    syscalls delegated {Interlocked.Read(ref _delegated)} ({(Self == 0 ? "served for other nodes" : "sent to node 0")}), " +
                      $"signals forwarded {Interlocked.Read(ref _signalsForwarded)}");
        sb.AppendLine($"    futex: local waits {f.LocalWaits}, local wakes {f.LocalWakes}, global wakes {f.GlobalWakes}, " +
                      $"remote wakes received {f.RemoteWakesReceived}, registrations {f.Registrations}");
        if (_process is { Options.Stats: true } p && Self != 0)
        {
            foreach (var t in p.Threads.Values.OrderBy(x => x.Tid)) sb.AppendLine("    " + t.StatsLine());
            lock (p.FinishedThreadStats)
                foreach (var line in p.FinishedThreadStats) sb.AppendLine("    " + line);
        }
        return sb.ToString();
    }
}
