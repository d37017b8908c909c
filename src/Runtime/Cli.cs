using System.Globalization;

namespace Dqemu.Runtime;

/// <summary>Command-line parsing, compatible with qemu-aarch64 where the two overlap.</summary>
public static class Cli
{
    public const string Usage = """
        usage: dqemu-native [options] guest.elf [guest args...]
               dqemu-native --cluster cluster.toml guest.elf [guest args...]   (node 0 of a cluster)
               dqemu-native --cluster cluster.toml --node N                   (a worker node)

        Runs an AArch64 Linux program on this x86-64 host.

        options:
          -L path            prefix for the guest's absolute paths (the dynamic linker, its libraries);
                             default: $QEMU_LD_PREFIX, else /usr/aarch64-linux-gnu when it exists
          -E VAR=VALUE       set VAR in the guest's environment (repeatable)
          -U VAR             remove VAR from the guest's environment (repeatable)
          -0 argv0           the guest's argv[0] (default: the path as given)
          --strace           log every guest system call to stderr
          -d in_asm,out_asm  log guest instructions and/or generated x86-64 code of each new block to stderr
          --stats            print translation and execution statistics at exit
          --no-link          do not chain translated blocks (debugging)
          --perf-map         write /tmp/perf-PID.map naming each translated block by its guest function, for
                             perf report (also qemu's -perfmap, or DQEMU_PERF_MAP=1 / QEMU_PERFMAP=1 in the environment)
          --profile          count each translated block's executions; print the 20 most run, named, at exit
          --cluster FILE     run as part of the cluster described by FILE (TOML)
          --node N           with --cluster: run as worker node N
          --diagnose PID     print what each thread of dqemu-native process PID is doing (a guest thread's pc,
                             syscall, futex word or awaited page); PID must run with DQEMU_DIAGNOSE=1
          -h, --help         this text
          --version          the version

        exit status: the guest's; 128+N when the guest is killed by signal N (132 SIGILL, 139 SIGSEGV);
        64 bad command line, 65 not a valid ELF, 66 file missing, unreadable or not a regular file,
        67 not an AArch64 ELF, 70 internal error, 73 the --perf-map file cannot be created, 78 bad cluster file,
        69 a cluster node unreachable or lost.
        """;

    public static RuntimeOptions Parse(string[] args)
    {
        var o = new RuntimeOptions();
        int i = 0;
        string Value(string opt)
        {
            if (i + 1 >= args.Length) throw new FatalException(ExitCodes.Usage, $"option {opt} needs a value (see --help)");
            return args[++i];
        }
        for (; i < args.Length; i++)
        {
            string a = args[i];
            if (a == "--") { i++; break; }
            if (!a.StartsWith('-') || a == "-") break;
            switch (a)
            {
                case "-h": case "--help": case "-help": throw new HelpRequested(Usage);
                case "--version": case "-version": throw new HelpRequested($"dqemu-native {Version}");
                case "-L": o.Sysroot = Value(a); break;
                case "-E": o.SetEnv.Add(Value(a)); break;
                case "-U": o.UnsetEnv.Add(Value(a)); break;
                case "-0": o.Argv0 = Value(a); break;
                case "--strace": case "-strace": o.Strace = true; break;
                case "--stats": o.Stats = true; break;
                case "--no-link": o.NoLink = true; break;
                case "--perf-map": case "-perfmap": case "--perfmap": o.PerfMap = true; break;
                case "--profile": o.Profile = true; break;
                case "-d":
                    foreach (var item in Value(a).Split(',', StringSplitOptions.RemoveEmptyEntries))
                    {
                        if (item == "in_asm") o.LogInAsm = true;
                        else if (item == "out_asm") o.LogOutAsm = true;
                        else throw new FatalException(ExitCodes.Usage, $"unknown -d item '{item}' (known: in_asm, out_asm)");
                    }
                    break;
                case "--cluster": o.ClusterFile = Value(a); break;
                case "--node":
                    if (!int.TryParse(Value(a), NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                        throw new FatalException(ExitCodes.Usage, $"--node needs a node number, not '{args[i]}'");
                    o.NodeId = n;
                    break;
                case "--diagnose":
                    if (!int.TryParse(Value(a), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid <= 0)
                        throw new FatalException(ExitCodes.Usage, $"--diagnose needs a process id, not '{args[i]}'");
                    o.DiagnosePid = pid;
                    break;
                default: throw new FatalException(ExitCodes.Usage, $"unknown option '{a}' (see --help)");
            }
        }
        if (i < args.Length)
        {
            o.GuestPath = args[i];
            for (i++; i < args.Length; i++) o.GuestArgs.Add(args[i]);
        }
        if (o.NodeId is not null && o.ClusterFile is null) throw new FatalException(ExitCodes.Usage, "--node needs --cluster");
        if (o.DiagnosePid is not null)
        {
            if (o.GuestPath is not null || o.ClusterFile is not null)
                throw new FatalException(ExitCodes.Usage, "--diagnose PID runs no guest: give it alone");
            return o;
        }
        if (o.GuestPath is null && o.NodeId is null) throw new FatalException(ExitCodes.Usage, "no guest program given (see --help)");
        foreach (var e in o.SetEnv)
            if (!e.Contains('=')) throw new FatalException(ExitCodes.Usage, $"-E needs VAR=VALUE, not '{e}'");
        return o;
    }

    public static string Version => typeof(Cli).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}

/// <summary>--help or --version: print the text and exit 0.</summary>
public sealed class HelpRequested : Exception
{
    public HelpRequested(string text) : base(text) { }
}
