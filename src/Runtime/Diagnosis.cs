using System.Net.Sockets;
using System.Text;
using Dqemu.Runtime.Syscalls;
using Dqemu.Runtime.Threading;
using Tmds.Linux;

namespace Dqemu.Runtime;

/// <summary>
/// What every thread of this process is doing, on request, for a run that hangs: with DQEMU_DIAGNOSE=1 in its
/// environment (node 0 passes it on to the workers it starts) a dqemu-native process listens on the abstract Unix
/// socket "dqemu-diagnose-PID", and <c>dqemu-native --diagnose PID</c> prints what it answers.
/// </summary>
/// <remarks>
/// Not a signal: a guest may install a handler for any signal (SIGQUIT, SIGUSR1, SIGUSR2 and the real-time ones are
/// all its to use, and a runtime that forwards signals from outside would have to give them to it), so no signal
/// number can be the emulator's. A socket in the abstract namespace leaves no file behind and needs no descriptor
/// the guest sees while unused. Without the variable nothing is started: no thread, no socket, no cost; with it, one
/// thread sleeps in accept(). The text comes from what the runtime keeps anyway — /proc/self/task (each host thread's
/// name, kernel state and wait channel), each guest thread's registers in its CpuState (pc; x8 and x0-x2 while it is
/// in a syscall), the page a thread is fetching (<see cref="GuestThread.WaitingForPage"/>), and in a cluster the DSM
/// and futex engines' tables — read without stopping anything, so a field may be a moment old.
/// </remarks>
public static class Diagnosis
{
    public const string EnvironmentVariable = "DQEMU_DIAGNOSE";

    private static GuestProcess? s_process;
    private static Func<IEnumerable<GuestThread>>? s_proxies;
    private static Func<ulong, string>? s_pageHome;
    private static Func<string>? s_cluster;
    private static Socket? s_listener;

    /// <summary>The abstract socket name a process listens on (Linux: a leading NUL).</summary>
    public static string SocketName(int pid) => $"\0dqemu-diagnose-{pid}";

    /// <summary>Listens when DQEMU_DIAGNOSE=1; otherwise does nothing. Called once, early in Main.</summary>
    public static void StartIfAsked()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) != "1" || s_listener != null) return;
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            s.Bind(new UnixDomainSocketEndPoint(SocketName(Environment.ProcessId)));
            s.Listen(4);
        }
        catch (SocketException e)
        {
            s.Dispose();
            Console.Error.WriteLine($"dqemu-native: {EnvironmentVariable}: cannot listen ({e.Message}); no diagnosis for this process");
            return;
        }
        s_listener = s;
        new Thread(() => Serve(s)) { IsBackground = true, Name = "dqemu-diagnose" }.Start();
    }

    /// <summary>The guest process whose threads the text describes (one per emulator process).</summary>
    public static void Register(GuestProcess process) => s_process = process;

    /// <summary>A cluster node's part: its proxies' stand-in threads (node 0), the home of a page, and the engines' tables.</summary>
    public static void RegisterCluster(Func<IEnumerable<GuestThread>> proxies, Func<ulong, string> pageHome, Func<string> cluster)
    {
        s_proxies = proxies;
        s_pageHome = pageHome;
        s_cluster = cluster;
    }

    private static void Serve(Socket listener)
    {
        while (true)
        {
            Socket c;
            try
            {
                // Wait in poll(), not in accept(): Linux takes the new descriptor's number before accept() blocks, so a
                // thread waiting there holds the lowest free fd (3) and a guest's first open() got 4 (seen under load,
                // when this thread reached accept() after the start-up's placeholders were gone).
                if (!listener.Poll(-1, SelectMode.SelectRead)) continue;
                c = listener.Accept();
            }
            catch (SocketException) { continue; }
            catch (ObjectDisposedException) { return; }
            // accept() gave the lowest free descriptor, which a guest's next open() expects: answer through a copy
            // at 200 or above (the window until the copy is a few instructions)
            int fd = LibC.fcntl((int)c.Handle, FDupfdCloexec, EmulatorFds.Floor);
            c.Dispose();
            if (fd < 0) continue;
            string text;
            try { text = Text(); }
            catch (Exception e) { text = $"dqemu-native: diagnosis failed: {e.GetType().Name}: {e.Message}\n"; }
            WriteAll(fd, Encoding.UTF8.GetBytes(text));
            LibC.close(fd);
        }
    }

    private const int FDupfdCloexec = 1030;

    private static unsafe void WriteAll(int fd, byte[] data)
    {
        fixed (byte* p = data)
            for (int off = 0; off < data.Length;)
            {
                long n = LibC.write(fd, p + off, (size_t)(data.Length - off));
                if (n <= 0)
                {
                    if (n < 0 && LibC.errno == LibC.EINTR) continue; // the interrupt signal
                    return; // the asking side went away: nothing to tell
                }
                off += (int)n;
            }
    }

    /// <summary><c>dqemu-native --diagnose PID</c>: the text process PID answers.</summary>
    /// <exception cref="FatalException">PID does not listen (69), e.g. it was started without DQEMU_DIAGNOSE=1.</exception>
    public static string Request(int pid)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            s.Connect(new UnixDomainSocketEndPoint(SocketName(pid)));
        }
        catch (SocketException)
        {
            throw new FatalException(ExitCodes.Unavailable,
                $"--diagnose: process {pid} does not answer (not a dqemu-native started with {EnvironmentVariable}=1, or gone)");
        }
        s.ReceiveTimeout = 10_000;
        var text = new MemoryStream();
        var buf = new byte[65536];
        try
        {
            int n;
            while ((n = s.Receive(buf)) > 0) text.Write(buf, 0, n);
        }
        catch (SocketException e)
        {
            throw new FatalException(ExitCodes.Unavailable, $"--diagnose: process {pid} stopped answering: {e.Message}");
        }
        return Encoding.UTF8.GetString(text.ToArray());
    }

    /// <summary>This process, now: a heading, one line per host thread, then the cluster's tables.</summary>
    public static string Text()
    {
        var sb = new StringBuilder();
        var process = s_process;
        int pid = Environment.ProcessId;
        sb.Append($"dqemu-native diagnosis of pid {pid} ({Environment.GetCommandLineArgs().Skip(1).FirstOrDefault() ?? ""} ...), " +
                  $"{DateTime.Now:HH:mm:ss.fff}\n");
        var guests = new Dictionary<int, (GuestThread T, bool Proxy)>();
        if (process != null)
            foreach (var t in process.Threads.Values)
                if (t.HostTid != 0) guests[t.HostTid] = (t, false);
        if (s_proxies?.Invoke() is { } proxies)
            foreach (var t in proxies)
                if (t.HostTid != 0) guests[t.HostTid] = (t, true);
        int[] tids;
        try
        {
            tids = Directory.EnumerateDirectories("/proc/self/task").Select(d => int.TryParse(Path.GetFileName(d), out int v) ? v : 0)
                .Where(v => v != 0).Order().ToArray();
        }
        catch (IOException)
        {
            tids = [];
        }
        foreach (int tid in tids)
        {
            string name = Read($"/proc/self/task/{tid}/comm"), wchan = Read($"/proc/self/task/{tid}/wchan");
            string state = KernelState(Read($"/proc/self/task/{tid}/stat"));
            sb.Append($"  thread {tid} \"{name}\" [{state}{(wchan is "" or "0" ? "" : " in " + wchan)}]: ");
            if (guests.TryGetValue(tid, out var g)) sb.Append(g.Proxy ? ProxyLine(g.T) : GuestLine(g.T));
            else sb.Append(Role(name, tid == pid));
            sb.Append('\n');
        }
        if (s_cluster?.Invoke() is { Length: > 0 } cluster) sb.Append(cluster);
        return sb.ToString();
    }

    /// <summary>A guest thread: its tid, pc and what it is doing.</summary>
    private static unsafe string GuestLine(GuestThread t)
    {
        var cpu = t.Cpu;
        string where = $"guest thread {t.Tid}, pc 0x{cpu->Pc:x}";
        if (t.Exited) return where + ": exited";
        ulong page = Volatile.Read(ref t.WaitingForPage);
        if (page != 0)
            return where + $": waiting for page 0x{page & ~0xFFFUL:x}{(s_pageHome?.Invoke(page >> 12) is { } h ? $" ({h})" : "")} " +
                   $"(a {((page & 1) != 0 ? "write" : "read")} fault)";
        if (t.InSyscall) return where + ": " + Syscall(cpu->X[8], cpu->X[0], cpu->X[1], cpu->X[2]);
        return where + ": running guest code (pc as of its last exit to the runtime)";
    }

    /// <summary>Node 0's stand-in for a remote guest thread: the call it runs for it, if any.</summary>
    private static unsafe string ProxyLine(GuestThread t)
    {
        var cpu = t.Cpu;
        return $"proxy of remote guest thread {t.Tid}: " +
               (t.InSyscall ? Syscall(cpu->X[8], cpu->X[0], cpu->X[1], cpu->X[2]) : "idle, waiting for a delegated syscall");
    }

    /// <summary>"in syscall NAME (NR)", with a futex's operation and word.</summary>
    private static string Syscall(ulong nr, ulong x0, ulong x1, ulong x2)
    {
        string name = SyscallTable.Get(nr)?.Name ?? "unknown";
        if (nr != 98) return $"in syscall {name} ({nr})";
        string op = (x1 & 0x7F) switch
        {
            0 => "wait", 1 => "wake", 3 => "requeue", 4 => "cmp_requeue", 5 => "wake_op", 6 => "lock_pi", 7 => "unlock_pi",
            9 => "wait_bitset", 10 => "wake_bitset", _ => $"op {x1 & 0x7F}",
        };
        return $"in syscall futex (98): {op} on 0x{x0:x}{(op.StartsWith("wait", StringComparison.Ordinal) ? $" while it holds {(uint)x2}" : "")}";
    }

    /// <summary>What an emulator thread that runs no guest code is for, from the name it was given.</summary>
    private static string Role(string name, bool main) => name switch
    {
        _ when name.StartsWith("dqemu-rx-", StringComparison.Ordinal) => $"tcp receive loop, connection to node {name[9..]}",
        "dqemu-tcp-monit" => "tcp heartbeats and silence detection",
        "dqemu-tcp-nudge" => "tcp nudge listener (reads the connections when a waiting peer asks)",
        "dqemu-ucx-progr" => "ucx progress loop",
        "dqemu-ucx-lost" => "ucx: reporting a lost node",
        "dqemu-layout" => "layout applier (layout changes from node 0)",
        "dqemu-proxy" => "proxy of a remote guest thread (not started yet, or ended)",
        "dqemu-start" => "starting a guest thread placed here",
        "dqemu-exit" => "ending a guest thread or the guest",
        "dqemu-placement" => "placement sampler (placement = \"auto\")",
        "dqemu-split" => "page splitter",
        "dqemu-cluster-c" => "forming the cluster's mesh",
        "dqemu-cluster-l" => "telling the other nodes of a lost node",
        "dqemu-diagnose" => "this diagnosis",
        "async" => "UCX's own event thread",
        _ when name.StartsWith("dqemu-dial-", StringComparison.Ordinal) => "dialling a node",
        _ when name.StartsWith(".NET ", StringComparison.Ordinal) => ".NET runtime",
        _ when main => "main thread (a worker's waits for Stop; node 0's after its guest thread ended)",
        _ => "(no emulator role)",
    };

    /// <summary>The state letter of /proc/.../stat (after the parenthesised name, which may hold spaces) in words.</summary>
    private static string KernelState(string stat)
    {
        int close = stat.LastIndexOf(')');
        char c = close >= 0 && close + 2 < stat.Length ? stat[close + 2] : '?';
        return c switch { 'R' => "running", 'S' => "sleeping", 'D' => "disk wait", 'T' or 't' => "stopped", 'Z' => "zombie", _ => c.ToString() };
    }

    private static string Read(string path)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }
}
