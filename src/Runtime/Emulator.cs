using System.Diagnostics;
using System.Text;
using Dqemu.JitX64;
using Dqemu.JitX64.Host;
using Dqemu.JitX64.Translation;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Loader;
using Dqemu.Runtime.Memory;
using Dqemu.Runtime.Profiling;
using Dqemu.Runtime.Signals;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime;

/// <summary>One node running a guest program from its ELF file to its exit status.</summary>
public static unsafe class Emulator
{
    public const string DefaultSysroot = "/usr/aarch64-linux-gnu";

    /// <param name="guestMemory">where guest memory lives: null for private memory (one node), a
    /// <see cref="SharedGuestMemory"/> on a cluster node</param>
    /// <param name="attach">cluster hook (src/Runtime/Cluster): node 0 sees the process once it is set up</param>
    public static int Run(RuntimeOptions opts, IHostMemory? guestMemory = null, Action<GuestProcess, GuestThread>? attach = null)
    {
        long started = Stopwatch.GetTimestamp();
        string path = opts.GuestPath!;
        // -g: the port is taken first, so a port in use fails before anything else happens
        var gdb = opts.GdbPort is int port ? Debugging.GdbStub.Listen(port) : null;
        var elf = ElfFile.Load(path);
        string? sysroot = opts.Sysroot ?? Environment.GetEnvironmentVariable("QEMU_LD_PREFIX");
        if (sysroot == null && Directory.Exists(DefaultSysroot)) sysroot = DefaultSysroot;

        var (space, translator, modules) = CreateMachine(opts, guestMemory ?? LinuxHostMemory.Instance);

        var main = ImageLoader.Load(space, elf, GuestSpace.PieBase);
        LoadedImage? interp = null;
        if (elf.Interpreter != null)
        {
            string interpPath = InterpreterPath(elf, sysroot);
            if (!File.Exists(interpPath))
                throw new FatalException(ExitCodes.NoInput, $"{path}: needs the dynamic linker {elf.Interpreter}; give its sysroot with -L (e.g. -L {DefaultSysroot})");
            interp = ImageLoader.Load(space, ElfFile.Load(interpPath), GuestSpace.InterpBase);
        }
        space.InitBrk(main.End);

        var process = new GuestProcess(space, translator, opts, Path.GetFullPath(path), sysroot) { Modules = modules };
        process.Modules?.AddImage(main.Elf, main.Bias);
        if (interp != null) process.Modules?.AddImage(interp.Elf, interp.Bias);
        GuestExec.ReadInheritedIgnores(process.SigHandlers);
        SignalDelivery.MapTrampoline(process);
        WatchLayout(process);
        var thread = new GuestThread(process) { Tid = GuestProcess.Pid, HostTid = (int)HostSyscall.Call(HostSyscall.Nr.Gettid) };
        var argv = new List<string> { opts.Argv0 ?? path };
        argv.AddRange(opts.GuestArgs);
        ulong sp = StackBuilder.Build(space, main, interp, path, argv, GuestEnvironment(opts),
            Features.HwCap, Features.HwCap2, AtRandomBytes, out var auxv);
        process.Auxv = auxv;
        process.Cmdline = Encoding.UTF8.GetBytes(string.Concat(argv.Select(a => a + "\0")));
        thread.Cpu->Sp = sp;
        Syscalls.ProcFiles.NoteStartStack(process, sp);
        // the low two bits of an entry point are dropped, as qemu-aarch64 does (it runs such a file; the translator
        // would decode a word from the middle of two instructions); AT_ENTRY keeps the value the file gives
        thread.Cpu->Pc = (interp?.Entry ?? main.Entry) & ~3UL;

        long setup = Stopwatch.GetTimestamp();
        if (opts.Stats) process.BeforeExit = () => PrintStats(process, started, setup);
        if (translator.Options.Counters is { } counters && modules != null)
        {
            var stats = process.BeforeExit;
            process.BeforeExit = () =>
            {
                stats?.Invoke();
                Console.Error.Write(ProfileReport.Format(counters, modules, ProfileReport.Rows));
            };
        }
        attach?.Invoke(process, thread); // cluster hook: null in a one-node run
        gdb?.Attach(process, thread);    // waits for gdb; the thread then stays stopped before its first instruction
        process.AddThread(thread);
        GuestThreads.Run(process, thread);
        // the main guest thread ended with others still running: the last of them ends the process
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }

    /// <summary>Where the dynamic linker <paramref name="elf"/> names is on this host: under the sysroot when it is there.</summary>
    public static string InterpreterPath(ElfFile elf, string? sysroot) =>
        sysroot != null && File.Exists(sysroot + elf.Interpreter) ? sysroot + elf.Interpreter : elf.Interpreter!;

    /// <summary>
    /// --perf-map on a cluster worker: the executable and its dynamic linker are where node 0 loaded them (fixed
    /// bases), so their symbols name this node's blocks too. The libraries node 0's mmap loads are not known here.
    /// </summary>
    public static void NameImagesOnWorker(GuestProcess process)
    {
        if (process.Modules is not { } modules) return;
        try
        {
            var elf = ElfFile.Load(process.ExePath);
            modules.AddImage(elf, ImageLoader.Bias(elf, GuestSpace.PieBase));
            if (elf.Interpreter != null)
            {
                var interp = ElfFile.Load(InterpreterPath(elf, process.Sysroot));
                modules.AddImage(interp, ImageLoader.Bias(interp, GuestSpace.InterpBase));
            }
        }
        catch (FatalException) { /* the files are not on this host: blocks keep their addresses as names */ }
    }

    /// <summary>The guest address space and its translator, with the host fault and interrupt handlers installed, and
    /// the images that name guest code when --perf-map or --profile asks for names (else null).</summary>
    public static (GuestSpace, Translator, GuestModules?) CreateMachine(RuntimeOptions opts, IHostMemory guestMemory)
    {
        var host = LinuxHostMemory.Instance;
        var space = new GuestSpace(guestMemory);
        // before the translator: its stubs are placed (and written to the map) as it is built
        if (!opts.PerfMap && PerfMap.AskedByEnvironment()) opts.PerfMap = true;
        var modules = opts.PerfMap || opts.Profile ? new GuestModules() : null;
        var perfMap = opts.PerfMap ? PerfMap.Create(modules!) : null;
        var translator = new Translator(host, space, new TranslatorOptions
        {
            LinkBlocks = !opts.NoLink && !opts.LogNoChain,
            CountBlocks = opts.Stats,
            LogInAsm = opts.LogInAsm,
            LogOutAsm = opts.LogOutAsm,
            Log = GuestLog.Write,
            BlockEntryHook = BlockTrace.Hook(opts),
            CodeListener = perfMap,
            Counters = opts.Profile ? new BlockCounters() : null,
            CodeCacheSize = opts.CodeCacheBytes ?? TranslatorOptions.DefaultCodeCacheSize,
            TierUpAfter = opts.TierUpAfter ?? TranslatorOptions.DefaultTierUpAfter,
            EveryBlocksTranslated = ManagedHeapPrefault.Ahead,
        });
        HostSyscall.Initialize(translator.Cache);
        HostFaultHandler.Install(space, translator);
        ThreadInterrupter.Install(translator);
        return (space, translator, modules);
    }

    /// <summary>Drops translations of code that was unmapped or re-protected, and makes every thread notice (also when
    /// the translator empties a full code cache).</summary>
    public static void WatchLayout(GuestProcess process)
    {
        process.Translator.ExitAll = process.RequestExitAll;
        process.Space.LayoutChanged = (start, end) =>
        {
            if (process.Translator.InvalidateRange(start, end)) process.RequestExitAll();
        };
    }

    /// <summary>
    /// AT_RANDOM's 16 bytes from the getrandom syscall: .NET's random APIs would keep /dev/urandom open, and
    /// that descriptor would shift the numbers the guest's open() returns.
    /// </summary>
    private static byte[] AtRandomBytes()
    {
        var b = new byte[16];
        fixed (byte* p = b) HostSyscall.Call(HostSyscall.Nr.Getrandom, (long)p, b.Length, 0);
        return b;
    }

    /// <summary>The host's environment in its original order (as qemu passes it), with -E/-U (and QEMU_SET_ENV,
    /// QEMU_UNSET_ENV) applied in order: a variable set again keeps its place, a new one goes at the end.</summary>
    private static List<string> GuestEnvironment(RuntimeOptions opts)
    {
        var env = new List<string>();
        try
        {
            foreach (var entry in File.ReadAllText("/proc/self/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries))
                env.Add(entry);
        }
        catch (IOException)
        {
            foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables()) env.Add($"{e.Key}={e.Value}");
        }
        foreach (var (name, value) in opts.EnvChanges)
        {
            string key = name + "=";
            if (value == null)
            {
                env.RemoveAll(e => e.StartsWith(key, StringComparison.Ordinal));
                continue;
            }
            int i = env.FindIndex(e => e.StartsWith(key, StringComparison.Ordinal));
            if (i >= 0) env[i] = key + value; else env.Add(key + value);
        }
        return env;
    }

    private static void PrintStats(GuestProcess process, long started, long setup)
    {
        double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
        var t = process.Translator;
        var sb = new StringBuilder();
        sb.AppendLine("dqemu-native stats:");
        sb.AppendLine($"  wall time              {Ms(Stopwatch.GetTimestamp() - started),10:F1} ms (set-up {Ms(setup - started):F1} ms)");
        sb.AppendLine($"  translation time       {Ms(t.TranslationTicks),10:F1} ms ({(t.InstructionsTranslated == 0 ? 0 : Ms(t.TranslationTicks) * 1000 / t.InstructionsTranslated):F2} us per guest insn)");
        sb.AppendLine($"  blocks translated      {t.BlocksTranslated,10}" + (t.BlocksTieredUp > 0 ? $" ({t.BlocksTieredUp} of them again, in full, once hot)" : ""));
        sb.AppendLine($"  guest insns translated {t.InstructionsTranslated,10}");
        if (t.RegisterConflicts != 0) sb.AppendLine($"  blocks redone uncached {t.RegisterConflicts,10} (register-layer conflicts: a translator bug)");
        if (t.FlagConflicts != 0) sb.AppendLine($"  blocks redone unplanned {t.FlagConflicts,9} (flag-plan conflicts: a translator bug; last at {t.LastConflict})");
        sb.AppendLine($"  flag captures dropped  {t.FlagCapturesDropped,10} (and {t.FlagStoresDropped} kept in host flags only)");
        sb.AppendLine($"  code cache used        {t.Cache.Used / 1024,10} KiB" + (t.Flushes > 0 ? $" (of {t.Cache.Size >> 10} KiB, emptied {t.Flushes} times)" : ""));
        var space = process.Space;
        if (space.CodePagesGuarded != 0) sb.AppendLine($"  code pages guarded     {space.CodePagesGuarded,10} (writable guest code, write-protected; {space.CodeWrites} released by writes, {space.VolatileCodePages} checked on entry instead)");
        // the emulator's own heap: translation allocates, and a collection in a short run is start-up time
        var atStart = ManagedHeapPrefault.StartCollections;
        sb.AppendLine($"  managed heap           {GC.GetTotalAllocatedBytes() / 1024,10} KiB allocated, {GC.CollectionCount(0) - atStart.Gen0} collections " +
                      $"(gen1 {GC.CollectionCount(1) - atStart.Gen1}, gen2 {GC.CollectionCount(2) - atStart.Gen2}); {atStart.Gen0} at start-up, committing gen0 ahead");
        foreach (var th in process.Threads.Values.OrderBy(x => x.Tid)) sb.AppendLine("  " + th.StatsLine());
        lock (process.FinishedThreadStats)
            foreach (var line in process.FinishedThreadStats) sb.AppendLine("  " + line);
        Console.Error.Write(sb.ToString());
    }
}
