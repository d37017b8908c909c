namespace Dqemu.Runtime;

/// <summary>What the command line asked for.</summary>
public sealed class RuntimeOptions
{
    public string? Sysroot { get; set; }
    public bool Strace { get; set; }
    public bool LogInAsm { get; set; }
    public bool LogOutAsm { get; set; }
    public bool Stats { get; set; }
    public bool NoLink { get; set; }
    /// <summary>--perf-map (or its environment variables, <see cref="Profiling.PerfMap.EnvironmentSwitches"/>): write
    /// /tmp/perf-PID.map as blocks are translated.</summary>
    public bool PerfMap { get; set; }
    /// <summary>--profile: count each block's executions and print the hottest at exit (<see cref="Profiling.ProfileReport"/>).</summary>
    public bool Profile { get; set; }
    public string? ClusterFile { get; set; }
    public int? NodeId { get; set; }
    /// <summary>--diagnose PID: print what that dqemu-native process's threads are doing (see Diagnosis), run nothing.</summary>
    public int? DiagnosePid { get; set; }
    public List<string> SetEnv { get; } = new();
    public List<string> UnsetEnv { get; } = new();
    public string? GuestPath { get; set; }
    public List<string> GuestArgs { get; } = new();
    /// <summary>argv[0] for the guest (-0), default the path as given.</summary>
    public string? Argv0 { get; set; }
}
