using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dqemu.Rdma;

namespace Dqemu.Tests.Rdma;

/// <summary>A transport test class that can connect one node on behalf of a child process.</summary>
internal interface IChildConnector
{
    ITransport ConnectChild(IReadOnlyList<IPEndPoint> nodes, int self, TimeSpan timeout, ulong token);
}

/// <summary>
/// One cluster node in a child process (this test assembly run with <c>dotnet</c> and <see cref="Variable"/> set): for
/// what cannot be done inside the test process — a node killed with SIGKILL, or a transport that may abort the process
/// it runs in (then the child's exit status and stderr are the test's evidence, and the test run goes on).
/// The child connects with the test class's own Connect (so with its options), plays its role, writes one line per
/// event on stdout, and exits; it ends itself after <see cref="ChildLifetime"/> whatever happens.
/// </summary>
internal sealed class TransportChild : IDisposable
{
    public const string Variable = "DQEMU_TRANSPORT_CHILD";
    private static readonly TimeSpan ChildLifetime = TimeSpan.FromSeconds(60);

    /// <summary>Roles: the node that sends to node 1 without pause until it hears that node 1 is lost (node 0); the
    /// node that receives and waits to be killed; the node that receives and then disposes its transport.</summary>
    public const string Sender = "sender", Receiver = "receiver", DisposingReceiver = "disposing-receiver";

    /// <summary>Role of a node 1 whose one CPU (the child runs under taskset) is kept busy by a computing thread, its
    /// receive threads SCHED_IDLE (they get the CPU only now and then while it computes): it says
    /// on which thread each message was delivered ("got TYPE FIRSTBYTE on THREAD"), and ends at a message of type 99.</summary>
    public const string BusyReceiver = "busy-receiver";

    /// <summary>Role of a child that forms clusters of its own in a loop (all nodes in the child), none started.</summary>
    public const string Formations = "formations";

    private readonly Process _process;
    private readonly BlockingCollection<string> _lines = new();
    private readonly List<string> _seen = [];
    private readonly ConcurrentQueue<string> _stderr = new();

    private TransportChild(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data != null) _lines.Add(e.Data);
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data != null) _stderr.Enqueue(e.Data);
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Role { get; private init; } = "";

    /// <summary>Starts node <paramref name="self"/> of <paramref name="nodes"/> in a child process, connected as
    /// <paramref name="testClass"/> connects; with <paramref name="cpu"/>, bound to that host CPU (taskset).</summary>
    public static TransportChild Start(Type testClass, string role, IReadOnlyList<IPEndPoint> nodes, int self, ulong token, int? cpu = null)
    {
        string dotnet = DotnetHost();
        var psi = new ProcessStartInfo(cpu == null ? dotnet : "taskset")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        if (cpu != null)
        {
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(cpu.Value.ToString());
            psi.ArgumentList.Add(dotnet);
        }
        psi.ArgumentList.Add(typeof(TransportChild).Assembly.Location);
        psi.Environment[Variable] = string.Join(";", role, testClass.AssemblyQualifiedName, self, token,
                                                 string.Join(",", nodes.Select(n => n.ToString())));
        return new TransportChild(Process.Start(psi)!) { Role = role };
    }

    /// <summary>The dotnet host running this process (to start this test assembly again as a child).</summary>
    internal static string DotnetHost()
    {
        string runtimeDir = RuntimeEnvironment.GetRuntimeDirectory(); // .../shared/Microsoft.NETCore.App/<version>/
        string dotnet = Path.GetFullPath(Path.Combine(runtimeDir, "..", "..", "..", "dotnet"));
        return File.Exists(dotnet) ? dotnet : "dotnet";
    }

    /// <summary>Waits for a stdout line starting with <paramref name="prefix"/>; null when the child ended or the time passed.</summary>
    public string? WaitForLine(string prefix, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        lock (_seen)
            if (_seen.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } seen) return seen;
        while (sw.Elapsed < timeout)
        {
            if (!_lines.TryTake(out var line, TimeSpan.FromMilliseconds(50)))
            {
                if (_process.HasExited && _lines.Count == 0)
                {
                    _process.WaitForExit(); // the output is complete after this
                    if (_lines.Count == 0) return null;
                }
                continue;
            }
            lock (_seen) _seen.Add(line);
            if (line.StartsWith(prefix, StringComparison.Ordinal)) return line;
        }
        return null;
    }

    /// <summary>What a child prints when TcpTransport.Connect fails with its dialer race (see TransportTestSupport.ConnectCluster).</summary>
    public const string DialerRace = "error InvalidOperationException: Sequence contains no matching element";

    /// <summary>True when the child has printed a line starting with <paramref name="prefix"/> (or does within a second).</summary>
    public bool Said(string prefix) => WaitForLine(prefix, TimeSpan.FromSeconds(1)) != null;

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout)) return false;
        _process.WaitForExit(); // drains the redirected output
        return true;
    }

    public int ExitCode => _process.ExitCode;

    public void Kill()
    {
        try { _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { /* it has exited */ }
    }

    /// <summary>What the child said, for failure messages.</summary>
    public string Describe()
    {
        while (_lines.TryTake(out var line)) lock (_seen) _seen.Add(line);
        string status = _process.HasExited ? $"exited with {_process.ExitCode}" : "still running";
        string stdout, stderr = string.Join("\n  ", _stderr.Take(40));
        lock (_seen) stdout = string.Join("\n  ", _seen.TakeLast(20));
        return $"the {Role} child (pid {_process.Id}) {status}; stdout:\n  {stdout}\nstderr:\n  {stderr}";
    }

    public void Dispose()
    {
        Kill();
        _process.WaitForExit(5000);
        _process.Dispose();
    }

    // ================================================================ the child's side

#pragma warning disable CA2255 // the module initializer is the child's entry point: the test assembly's Main does nothing
    [ModuleInitializer]
    internal static void RunIfChild()
#pragma warning restore CA2255
        => AssemblyChild.RunIfAsked(Variable, "transport-child", RunChildAndExit);

    private static void RunChildAndExit(string spec)
    {
        new Thread(() =>
        {
            Thread.Sleep(ChildLifetime);
            Console.Error.WriteLine($"child: still running after {ChildLifetime.TotalSeconds} s; ending");
            Environment.Exit(3);
        }) { IsBackground = true }.Start();
        int status;
        try
        {
            status = RunChild(spec);
        }
        catch (Exception e)
        {
            Console.Out.WriteLine($"error {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
            Console.Error.WriteLine(e);
            status = 1;
        }
        Console.Out.Flush();
        Environment.Exit(status);
    }

    private static int RunChild(string spec)
    {
        var parts = spec.Split(';');
        string role = parts[0];
        var type = Type.GetType(parts[1], throwOnError: true)!;
        int self = int.Parse(parts[2]);
        ulong token = ulong.Parse(parts[3]);
        var nodes = parts[4].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(IPEndPoint.Parse).ToArray();
        var connector = (IChildConnector)Activator.CreateInstance(type)!;
        if (role == Formations) return RunFormations(connector);
        var transport = connector.ConnectChild(nodes, self, TransportTestSupport.ConnectTimeout, token);
        Console.Out.WriteLine("connected");
        return role switch
        {
            Sender => RunSender(transport),
            Receiver or DisposingReceiver => RunReceiver(transport, role == DisposingReceiver),
            BusyReceiver => RunBusyReceiver(transport),
            _ => throw new ArgumentException($"unknown child role {role}"),
        };
    }

    /// <summary>Node 0: three threads send to node 1 (100 KB and small messages) until it is lost; then checks that the
    /// loss was reported once, that sends to it throw <see cref="NodeLostException"/>, and that Dispose returns.</summary>
    private static int RunSender(ITransport t)
    {
        var handler = new RecordingHandler(keepBodies: false);
        t.Start(handler);
        long sent = 0;
        var ends = new ConcurrentQueue<string>();
        var threads = Enumerable.Range(0, 3).Select(k => new Thread(() =>
        {
            var body = new byte[k == 0 ? 100_000 : 64];
            try
            {
                while (true)
                {
                    t.Send(1, (ushort)(1 + k), body);
                    if (Interlocked.Increment(ref sent) == 1000) Console.Out.WriteLine("sending");
                }
            }
            catch (NodeLostException)
            {
                ends.Enqueue("lost");
            }
            catch (Exception e)
            {
                ends.Enqueue($"{e.GetType().Name}: {e.Message}");
            }
        }) { IsBackground = true, Name = $"sender-{k}" }).ToList();
        threads.ForEach(th => th.Start());
        // a poller too, as the DSM's waiting threads poll
        var stopPolling = new CancellationTokenSource();
        var poller = new Thread(() =>
        {
            while (!stopPolling.IsCancellationRequested)
                if (t.Poll() == 0) Thread.Yield();
            t.EndPoll();
        }) { IsBackground = true, Name = "poller" };
        poller.Start();

        if (!handler.WaitForLost(1, TimeSpan.FromSeconds(20)))
        {
            Console.Out.WriteLine($"error node 1 was not reported lost ({Interlocked.Read(ref sent)} messages sent)");
            return 1;
        }
        var lost = handler.LostNodes[0];
        Console.Out.WriteLine($"lost {lost.Node}: {lost.Reason.ReplaceLineEndings(" | ")}");
        if (!threads.All(th => th.Join(TimeSpan.FromSeconds(10))))
        {
            Console.Out.WriteLine("error a sender was still sending 10 s after the loss");
            return 1;
        }
        if (ends.Any(e => e != "lost"))
        {
            Console.Out.WriteLine($"error a sender ended with {ends.First(e => e != "lost")}");
            return 1;
        }
        stopPolling.Cancel();
        poller.Join(TimeSpan.FromSeconds(10));
        Thread.Sleep(300);
        if (handler.LostNodes.Count != 1)
        {
            Console.Out.WriteLine($"error the loss was reported {handler.LostNodes.Count} times");
            return 1;
        }
        try
        {
            t.Send(1, 1, [1]);
            Console.Out.WriteLine("error a send to the lost node did not throw");
            return 1;
        }
        catch (NodeLostException)
        {
        }
        var dispose = new Thread(t.Dispose) { IsBackground = true };
        dispose.Start();
        if (!dispose.Join(TimeSpan.FromSeconds(10)))
        {
            Console.Out.WriteLine("error Dispose did not return within 10 s");
            return 1;
        }
        Console.Out.WriteLine($"done {Interlocked.Read(ref sent)} messages sent");
        return 0;
    }

    /// <summary>Forms clusters of 2 and 3 nodes for 3 s without starting them; a line per failure, "formed N" at the end.
    /// Each formation gets the 10 s a user's cluster gets (connect_timeout's default): on CI's loaded 2-core machine a
    /// 3-node formation once took over 2 s, while a formation that cannot finish without Start never finishes.</summary>
    private static int RunFormations(IChildConnector connector)
    {
        int formed = 0, failed = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(3) && failed < 3)
        {
            int n = 2 + formed % 2;
            var outcomes = TransportTestSupport.ConnectConcurrently<ITransport>(connector.ConnectChild, TransportTestSupport.FreeEndpoints(n),
                                                                                Enumerable.Range(0, n), TimeSpan.FromSeconds(10));
            TransportTestSupport.DisposeAll(outcomes.Select(o => o.Transport), concurrently: true);
            formed++;
            var errors = outcomes.Where(o => o.Error != null).Select(o => o.Error!).ToList();
            if (errors.Count == 0 || errors.All(e => e.Message.Contains("cannot listen"))) continue; // a freed port was taken
            failed++;
            Console.Out.WriteLine($"failed formation #{formed} of {n} nodes: " +
                                  string.Join(" | ", errors.Select(e => $"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}")));
        }
        Console.Out.WriteLine($"formed {formed} clusters, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>Node 1 (see <see cref="BusyReceiver"/>): a thread computes without pause, as a guest thread does, while
    /// the messages come; each is reported with the name of the thread that delivered it.</summary>
    private static int RunBusyReceiver(ITransport t)
    {
        var done = new ManualResetEventSlim();
        t.Start(new RecordingHandler(keepBodies: false, onMessage: (_, type, body) =>
        {
            Console.Out.WriteLine($"got {type} {(body.IsEmpty ? -1 : body[0])} on {Thread.CurrentThread.Name}");
            if (type == 99) done.Set();
        }));
        var busy = new Thread(() =>
        {
            ulong x = 1;
            while (!done.IsSet)
                for (int i = 0; i < 1_000_000; i++) x = x * 6364136223846793005 + 1442695040888963407;
            GC.KeepAlive(x);
        }) { IsBackground = true, Name = "busy" };
        busy.Start();
        // the receive threads at the lowest weight there is (SCHED_IDLE: they never preempt the computing thread and
        // get the CPU only now and then), as a receive thread behind a guest thread that has just been given the CPU
        int idle = 0;
        foreach (string task in Directory.GetDirectories("/proc/self/task"))
            if (File.ReadAllText(Path.Combine(task, "comm")).StartsWith("dqemu-rx", StringComparison.Ordinal)
                && sched_setscheduler(int.Parse(Path.GetFileName(task)), 5 /* SCHED_IDLE */, ref idle) != 0)
                Console.Out.WriteLine("error sched_setscheduler failed");
        Console.Out.WriteLine("ready");
        if (!done.Wait(TimeSpan.FromSeconds(30)))
        {
            Console.Out.WriteLine("error no message of type 99 came");
            return 1;
        }
        t.Dispose();
        return 0;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int sched_setscheduler(int tid, int policy, ref int priority);

    /// <summary>Node 1: receives; once a thousand messages came it says so, then waits to be killed or disposes.</summary>
    private static int RunReceiver(ITransport t, bool dispose)
    {
        var handler = new RecordingHandler(keepBodies: false);
        t.Start(handler);
        if (!handler.WaitForCount(1000, TimeSpan.FromSeconds(30)))
        {
            Console.Out.WriteLine($"error only {handler.Count} messages came");
            return 1;
        }
        Console.Out.WriteLine("received");
        if (!dispose)
        {
            Thread.Sleep(Timeout.Infinite); // until killed
            return 0;
        }
        t.Dispose();
        Console.Out.WriteLine("disposed");
        return 0;
    }
}
