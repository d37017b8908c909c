namespace Dqemu.Sweep;

/// <summary>runs.csv: one row per run in the order they ran, failed and skipped ones included (ok 0 and the reason).</summary>
internal static class RunsCsv
{
    public const string Header =
        "program,size,transport,nodes,threads,run,wall_s,roi_s,user_s,sys_s,faults,bytes_moved,fault_mean_us,fault_p99_us,ok,reason";

    public static void Write(string path, IEnumerable<RunRecord> records)
    {
        using var w = new StreamWriter(path);
        w.WriteLine(Header);
        foreach (var r in records) // in the order they ran, so drifts over the sweep stay visible
        {
            var c = r.Config;
            w.WriteLine(Csv.Line(Csv.Text(c.Program.Name), Csv.Text(r.Size), Csv.Text(c.Column), Csv.Num(c.Nodes), Csv.Num(c.Threads), Csv.Num(r.Run),
                Csv.Num(r.WallS, "0.0000"), Csv.Num(r.RoiS, "0.0000"), Csv.Num(r.UserS, "0.000"), Csv.Num(r.SysS, "0.000"),
                Csv.Num(r.Stats?.Faults), Csv.Num(r.Stats?.BytesMoved), Csv.Num(r.Stats?.FaultMeanUs, "0.0"), Csv.Num(r.Stats?.FaultP99Us, "0.0"),
                r.Ok ? "1" : "0", Csv.Text(r.Reason)));
        }
    }
}
