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
          -E VAR=VALUE[,..]  set VAR in the guest's environment (repeatable; env QEMU_SET_ENV)
          -U VAR[,VAR..]     remove VAR from the guest's environment (repeatable; env QEMU_UNSET_ENV)
          -0 argv0           the guest's argv[0] (default: the path as given; env QEMU_ARGV0)
          -g PORT            wait for gdb on TCP PORT (all addresses) before the first instruction (env QEMU_GDB)
          --strace           log every guest system call to stderr (env QEMU_STRACE, any value)
          -d item[,item..]   log to stderr (env QEMU_LOG; a later -d replaces the items): in_asm, out_asm
                             (guest / x86-64 code of each new block), exec (a line per block run), cpu (the
                             registers before each block), nochain (as --no-link)
          -D logfile         -d and --strace output to logfile instead of stderr (env QEMU_LOG_FILENAME)
          --stats            print translation and execution statistics at exit
          --no-link          do not chain translated blocks (debugging)
          --code-cache-size N[K|M]
                             translated code kept at most, in MiB or with a K/M suffix (512K-2047M, default
                             512M); a full cache is emptied and code is translated again as it runs
          --tier-up N        translate a block quickly (no register cache) and again in full once it has run
                             N times (0-1000000, default 4096; 0: every block in full at once)
          --perf-map         write /tmp/perf-PID.map naming each translated block by its guest function, for
                             perf report (also qemu's -perfmap, or DQEMU_PERF_MAP=1 / QEMU_PERFMAP=1 in the environment)
          --profile          count each translated block's executions; print the 20 most run, named, at exit
          --cluster FILE     run as part of the cluster described by FILE (TOML)
          --node N           with --cluster: run as worker node N
          --diagnose PID     print what each thread of dqemu-native process PID is doing (a guest thread's pc,
                             syscall, futex word or awaited page); PID must run with DQEMU_DIAGNOSE=1
          --binfmt [print|register|unregister]
                             print (the default) or, as root, register or remove the binfmt_misc entry that
                             runs AArch64 ELF files with this binary; --binfmt-flags FLAGS (of P, O, C, F;
                             default none, as qemu-binfmt-conf.sh), --binfmt-interpreter PATH (default this
                             binary), --binfmt-name NAME (default dqemu-aarch64)
          -h, --help         this text
          --version          the version

        exit status: the guest's; 128+N when the guest is killed by signal N (132 SIGILL, 139 SIGSEGV);
        64 bad command line, 65 not a valid ELF, 66 file missing, unreadable or not a regular file,
        67 not an AArch64 ELF, 69 a cluster node unreachable or lost, 70 internal error, 71 cannot listen on the
        -g port, 73 the -D or --perf-map file cannot be created, 77 binfmt_misc refused the request or is not
        mounted, 78 bad cluster file.
        """;

    /// <summary>
    /// The options in <paramref name="args"/>, after qemu's environment variables (QEMU_SET_ENV, QEMU_UNSET_ENV,
    /// QEMU_ARGV0, QEMU_LOG, QEMU_LOG_FILENAME, QEMU_STRACE) read through <paramref name="getenv"/>: as in qemu the
    /// variables come first, so an option overrides its variable. <paramref name="preserveArgv0"/>: started by
    /// binfmt_misc with flag P (AT_FLAGS, see BinfmtLaunch), so the argument after the guest's path is its argv[0].
    /// </summary>
    public static RuntimeOptions Parse(string[] args, Func<string, string?>? getenv = null, bool preserveArgv0 = false)
    {
        var o = new RuntimeOptions();
        if (getenv != null) ApplyEnvironment(o, getenv);
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
                case "-E": SetEnv(o, Value(a), a); break;
                case "-U": UnsetEnv(o, Value(a), a); break;
                case "-0": o.Argv0 = Value(a); break;
                case "-D": o.LogFile = Value(a); break;
                case "--binfmt":
                    o.Binfmt ??= new BinfmtRequest();
                    if (i + 1 < args.Length && BinfmtRequest.ParseAction(args[i + 1]) is BinfmtAction act)
                    {
                        o.Binfmt.Action = act;
                        i++;
                    }
                    break;
                case "--binfmt-flags":
                    (o.Binfmt ??= new BinfmtRequest()).Flags = BinfmtEntry.NormalizeFlags(Value(a));
                    break;
                case "--binfmt-interpreter": (o.Binfmt ??= new BinfmtRequest()).Interpreter = Value(a); break;
                case "--binfmt-name": (o.Binfmt ??= new BinfmtRequest()).Name = BinfmtEntry.CheckName(Value(a)); break;
                case "-g": o.GdbPort = GdbPort(a, Value(a)); break;
                case "--strace": case "-strace": o.Strace = true; break;
                case "--stats": o.Stats = true; break;
                case "--no-link": o.NoLink = true; break;
                case "--code-cache-size": o.CodeCacheBytes = CodeCacheSize(Value(a)); break;
                case "--tier-up":
                    if (!int.TryParse(Value(a), NumberStyles.None, CultureInfo.InvariantCulture, out int runs) || runs > 1_000_000)
                        throw new FatalException(ExitCodes.Usage, $"--tier-up takes a number of runs from 0 to 1000000, not '{args[i]}'");
                    o.TierUpAfter = runs;
                    break;
                case "--perf-map": case "-perfmap": case "--perfmap": o.PerfMap = true; break;
                case "--profile": o.Profile = true; break;
                case "-d": SetLogItems(o, Value(a), "-d"); break;
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
            // binfmt_misc's P flag: the kernel passes the full path, then the caller's argv[0], then its arguments
            // (qemu's rule: only when an argument follows the path; an -0 given still wins)
            if (preserveArgv0 && o.GuestArgs.Count > 0)
            {
                o.Argv0 ??= o.GuestArgs[0];
                o.GuestArgs.RemoveAt(0);
            }
        }
        if (o.Binfmt != null)
        {
            if (o.GuestPath is not null || o.ClusterFile is not null || o.DiagnosePid is not null)
                throw new FatalException(ExitCodes.Usage, "--binfmt runs no guest: give it alone (with --binfmt-flags, --binfmt-interpreter, --binfmt-name)");
            return o;
        }
        if (o.NodeId is not null && o.ClusterFile is null) throw new FatalException(ExitCodes.Usage, "--node needs --cluster");
        if (o.DiagnosePid is not null)
        {
            if (o.GuestPath is not null || o.ClusterFile is not null)
                throw new FatalException(ExitCodes.Usage, "--diagnose PID runs no guest: give it alone");
            return o;
        }
        if (o.GdbPort is not null && o.ClusterFile is not null)
            throw new FatalException(ExitCodes.Usage, "-g (gdb) works on one node only, not with --cluster");
        if (o.GuestPath is null && o.NodeId is null) throw new FatalException(ExitCodes.Usage, "no guest program given (see --help)");
        return o;
    }

    /// <summary>--code-cache-size's value: MiB, or a number with a K or M suffix, within what the cache allows.</summary>
    private static ulong CodeCacheSize(string value)
    {
        ulong unit = 1UL << 20;
        string digits = value;
        if (value.EndsWith('K') || value.EndsWith('k')) { unit = 1UL << 10; digits = value[..^1]; }
        else if (value.EndsWith('M') || value.EndsWith('m')) digits = value[..^1];
        if (!ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out ulong n) || n > (4UL << 30) / unit
            || n * unit < JitX64.Translation.CodeCache.MinSize || n * unit > (2047UL << 20))
            throw new FatalException(ExitCodes.Usage, $"--code-cache-size takes a size from 512K to 2047M, not '{value}'");
        return n * unit;
    }

    /// <summary>qemu's variables in qemu's order (its option table's); any value of QEMU_STRACE, even empty, turns it on.</summary>
    private static void ApplyEnvironment(RuntimeOptions o, Func<string, string?> getenv)
    {
        if (getenv("QEMU_SET_ENV") is string set) SetEnv(o, set, "QEMU_SET_ENV");
        if (getenv("QEMU_UNSET_ENV") is string unset) UnsetEnv(o, unset, "QEMU_UNSET_ENV");
        if (getenv("QEMU_ARGV0") is string argv0) o.Argv0 = argv0;
        if (getenv("QEMU_LOG") is string log) SetLogItems(o, log, "QEMU_LOG");
        if (getenv("QEMU_LOG_FILENAME") is string file) o.LogFile = file;
        if (getenv("QEMU_STRACE") is not null) o.Strace = true;
        if (getenv("QEMU_GDB") is { Length: > 0 } gdb) o.GdbPort = GdbPort("QEMU_GDB", gdb);
    }

    /// <summary>VAR=VALUE[,VAR=VALUE...] as qemu splits it: at every comma (a value cannot hold one).</summary>
    private static void SetEnv(RuntimeOptions o, string list, string from)
    {
        foreach (var item in list.Split(','))
        {
            int eq = item.IndexOf('=');
            if (eq <= 0) throw new FatalException(ExitCodes.Usage, $"{from} needs VAR=VALUE[,VAR=VALUE...], not '{item}'");
            o.EnvChanges.Add(new EnvChange(item[..eq], item[(eq + 1)..]));
        }
    }

    private static void UnsetEnv(RuntimeOptions o, string list, string from)
    {
        foreach (var item in list.Split(','))
        {
            if (item.Contains('=')) throw new FatalException(ExitCodes.Usage, $"{from} needs VAR[,VAR...], not '{item}'");
            if (item.Length > 0) o.EnvChanges.Add(new EnvChange(item, null));
        }
    }

    /// <summary>-d's items replace the previous -d's (qemu keeps the last -d), --no-link stays.</summary>
    private static void SetLogItems(RuntimeOptions o, string list, string from)
    {
        o.LogInAsm = o.LogOutAsm = o.LogExec = o.LogCpu = o.LogNoChain = false;
        foreach (var item in list.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            switch (item)
            {
                case "in_asm": o.LogInAsm = true; break;
                case "out_asm": o.LogOutAsm = true; break;
                case "exec": o.LogExec = true; break;
                case "cpu": o.LogCpu = true; break;
                case "nochain": o.LogNoChain = true; break;
                default: throw new FatalException(ExitCodes.Usage, $"unknown {from} item '{item}' (known: in_asm, out_asm, exec, cpu, nochain)");
            }
        }
    }

    /// <summary>A TCP port for -g or QEMU_GDB: 1-65535.</summary>
    private static int GdbPort(string what, string value)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port < 1 || port > 65535)
            throw new FatalException(ExitCodes.Usage, $"{what} needs a TCP port number (1-65535), not '{value}'");
        return port;
    }

    public static string Version => typeof(Cli).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}

/// <summary>--help or --version: print the text and exit 0.</summary>
public sealed class HelpRequested : Exception
{
    public HelpRequested(string text) : base(text) { }
}
