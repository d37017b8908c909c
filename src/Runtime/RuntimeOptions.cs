namespace Dqemu.Runtime;

/// <summary>What the command line (and qemu's QEMU_* environment variables) asked for.</summary>
public sealed class RuntimeOptions
{
    public string? Sysroot { get; set; }
    /// <summary>-g PORT or QEMU_GDB=PORT: wait for gdb on that TCP port before the first instruction (src/Runtime/Debugging).</summary>
    public int? GdbPort { get; set; }
    public bool Strace { get; set; }
    public bool LogInAsm { get; set; }
    public bool LogOutAsm { get; set; }
    /// <summary>-d exec: a "Trace" line each time a block is entered.</summary>
    public bool LogExec { get; set; }
    /// <summary>-d cpu: the guest registers each time a block is entered.</summary>
    public bool LogCpu { get; set; }
    /// <summary>-d nochain: as --no-link (a separate flag: a later -d replaces the -d items, not --no-link).</summary>
    public bool LogNoChain { get; set; }
    /// <summary>-D: where -d output and --strace lines go instead of stderr.</summary>
    public string? LogFile { get; set; }
    public bool Stats { get; set; }
    public bool NoLink { get; set; }
    /// <summary>--code-cache-size: the code cache in bytes (null: the translator's default).</summary>
    public ulong? CodeCacheBytes { get; set; }
    /// <summary>--tier-up N: a block is translated quickly first and in full after N runs; 0 in full at once (null: the
    /// translator's default, <see cref="JitX64.Translation.TranslatorOptions.DefaultTierUpAfter"/>).</summary>
    public int? TierUpAfter { get; set; }
    /// <summary>--perf-map (or its environment variables, <see cref="Profiling.PerfMap.EnvironmentSwitches"/>): write
    /// /tmp/perf-PID.map as blocks are translated.</summary>
    public bool PerfMap { get; set; }
    /// <summary>--profile: count each block's executions and print the hottest at exit (<see cref="Profiling.ProfileReport"/>).</summary>
    public bool Profile { get; set; }
    public string? ClusterFile { get; set; }
    public int? NodeId { get; set; }
    /// <summary>--diagnose PID: print what that dqemu-native process's threads are doing (see Diagnosis), run nothing.</summary>
    public int? DiagnosePid { get; set; }
    /// <summary>--binfmt: print, register or unregister the binfmt_misc entry (see Binfmt), run nothing.</summary>
    public BinfmtRequest? Binfmt { get; set; }
    /// <summary>-E/-U and QEMU_SET_ENV/QEMU_UNSET_ENV in the order given; the last change to a variable wins.</summary>
    public List<EnvChange> EnvChanges { get; } = new();
    public string? GuestPath { get; set; }
    public List<string> GuestArgs { get; } = new();
    /// <summary>argv[0] for the guest (-0, QEMU_ARGV0, or binfmt_misc's preserved argv[0]), default the path as given.</summary>
    public string? Argv0 { get; set; }
}

/// <summary>Set <see cref="Name"/> to <see cref="Value"/> in the guest's environment, or remove it when Value is null.</summary>
public readonly record struct EnvChange(string Name, string? Value);
