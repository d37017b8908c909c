using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Xunit;

namespace Dqemu.Tests.Cluster;

/// <summary>What the link between the two namespaces does to every packet, in each direction.</summary>
public sealed record NetnsLink(double DelayMs, double JitterMs, double LossPercent)
{
    /// <summary>0.2 ms ± 0.05 ms each way (a LAN's latency, several times loopback's).</summary>
    public static readonly NetnsLink Delay = new(0.2, 0.05, 0);

    /// <summary>0.2 ms ± 0.05 ms each way and 0.5% of the packets dropped.</summary>
    public static readonly NetnsLink DelayAndLoss = new(0.2, 0.05, 0.5);

    /// <summary>"delay" or "delay+loss" (the names the tests use for their cases).</summary>
    public static NetnsLink Parse(string name) => name switch
    {
        "delay" => Delay,
        "delay+loss" => DelayAndLoss,
        _ => throw new ArgumentException($"unknown link '{name}' (delay, delay+loss)"),
    };

    /// <summary>The arguments after "netem" that give this behaviour.</summary>
    public string[] NetemArgs()
    {
        var a = new List<string> { "delay", Ms(DelayMs), Ms(JitterMs) };
        if (LossPercent > 0) a.AddRange(["loss", LossPercent.ToString(CultureInfo.InvariantCulture) + "%"]);
        return [.. a];
    }

    static string Ms(double ms) => ms.ToString(CultureInfo.InvariantCulture) + "ms";

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{DelayMs} ms ± {JitterMs} ms each way") + (LossPercent > 0 ? string.Create(CultureInfo.InvariantCulture, $", {LossPercent}% loss") : "");
}

/// <summary>
/// A 2-node cluster split over two network namespaces (node 0 in A at 10.x.y.1:7400, node 1 in B at
/// 10.x.y.2:7401, with <c>start = false</c>: node 0 cannot start it, it is not local in A), joined by a link that
/// delays (and optionally drops) packets:
/// <list type="bullet">
/// <item>a veth pair with <c>tc qdisc add ... root netem delay ...</c> on each end, when the kernel has sch_netem;</item>
/// <item>otherwise a pair of TAP devices (one per namespace) joined by <see cref="TapDelayLine"/>, a user-space
/// copy of netem's delay/jitter/loss (frames are passed on in order). <see cref="LinkDescription"/> says which,
/// and why; DQEMU_NETNS_LINK=netem makes a missing netem a failure, DQEMU_NETNS_LINK=tap forces the TAP link.</item>
/// </list>
/// The worker is started by the test (<see cref="StartWorker"/>: <c>ip netns exec B dqemu-native --cluster F
/// --node 1</c>), node 0 by <see cref="RunNode0"/> / <see cref="StartNode0"/> (<c>ip netns exec A dqemu-native
/// --cluster F guest ...</c>). Dispose always kills what is left (every process started with the cluster file and
/// every process in the namespaces) and deletes the namespaces.
/// </summary>
public sealed class NetnsCluster : IDisposable
{
    public const int Port0 = 7400, Port1 = 7401;

    static int _counter;

    public string NsA { get; }
    public string NsB { get; }
    public string DevA { get; }
    public string DevB { get; }
    /// <summary>Node 0's IPv4 address (in namespace A).</summary>
    public string AddressA { get; }
    /// <summary>Node 1's IPv4 address (in namespace B).</summary>
    public string AddressB { get; }
    public string Dir { get; }
    public string ConfigPath { get; }
    public NetnsLink Link { get; }
    /// <summary>The cluster file's transport: "tcp" or "ucx" (with <c>ucx_tls = "tcp"</c>, see the constructor).</summary>
    public string Transport { get; }
    public bool UsesNetem { get; }
    /// <summary>One line saying how the namespaces are joined (and why, when netem is not used).</summary>
    public string LinkDescription { get; }
    /// <summary>The user-space link (null with netem).</summary>
    public TapDelayLine? DelayLine { get; }

    readonly List<CapturedProcess> _started = [];
    bool _disposed;

    /// <param name="link">delay/jitter/loss applied in each direction.</param>
    /// <param name="transport">the cluster file's transport, "tcp" or "ucx".</param>
    /// <param name="clusterExtra">extra lines for the [cluster] section (e.g. "node_timeout = 2").</param>
    /// <param name="ucxTls">ucx only: the cluster file's ucx_tls, or null for none (the emulator then leaves shared
    /// memory out by itself, having seen the peer on this kernel in another namespace).</param>
    public NetnsCluster(NetnsLink link, string transport, string clusterExtra = "", string? ucxTls = "tcp")
    {
        Netns.RequireRootAndTools();
        LoopbackCluster.RequireTransport(transport);
        Transport = transport;
        Netns.RemoveStaleNamespaces();
        Link = link;
        int pid = Environment.ProcessId, n = Interlocked.Increment(ref _counter);
        NsA = $"dqn-{pid}-{n}a";
        NsB = $"dqn-{pid}-{n}b";
        DevA = $"dq{pid}x{n}a";
        DevB = $"dq{pid}x{n}b";
        // each namespace has its own routing, so the numbers only need to be unique for readability
        string net = $"10.{100 + pid % 100}.{n % 250 + 1}";
        AddressA = net + ".1";
        AddressB = net + ".2";
        Dir = GuestRunner.CreateTempDirectory("netns");
        ConfigPath = Path.Combine(Dir, "cluster.toml");

        string mode = Environment.GetEnvironmentVariable("DQEMU_NETNS_LINK") is { Length: > 0 } m ? m : "auto";
        if (mode is not ("auto" or "netem" or "tap"))
            throw new ArgumentException($"DQEMU_NETNS_LINK={mode}: expected auto, netem or tap");
        string? netemMissing = mode == "tap" ? null : Netns.NetemUnavailableReason;
        if (mode == "netem" && netemMissing != null)
            Assert.Fail($"DQEMU_NETNS_LINK=netem but tc netem does not work here: {netemMissing}");
        UsesNetem = mode != "tap" && netemMissing == null;

        try
        {
            Netns.Ip("netns", "add", NsA);
            Netns.Ip("netns", "add", NsB);
            Netns.Ip("-n", NsA, "link", "set", "lo", "up");
            Netns.Ip("-n", NsB, "link", "set", "lo", "up");
            if (UsesNetem)
            {
                Netns.Ip("link", "add", DevA, "netns", NsA, "type", "veth", "peer", "name", DevB, "netns", NsB);
                Netns.Tc(["-n", NsA, "qdisc", "add", "dev", DevA, "root", "netem", .. link.NetemArgs()]);
                Netns.Tc(["-n", NsB, "qdisc", "add", "dev", DevB, "root", "netem", .. link.NetemArgs()]);
                LinkDescription = $"veth pair {DevA}/{DevB}, tc netem {string.Join(' ', link.NetemArgs())} on each end";
            }
            else
            {
                int fdA = Netns.InNamespace(NsA, () => TapDelayLine.OpenTap(DevA));
                int fdB;
                try { fdB = Netns.InNamespace(NsB, () => TapDelayLine.OpenTap(DevB)); }
                catch { Native.close(fdA); throw; }
                DelayLine = new TapDelayLine(fdA, fdB, link, seed: pid * 1000 + n);
                LinkDescription = $"TAP pair {DevA}/{DevB} joined by a user-space delay line ({link}), because " +
                    (mode == "tap" ? "DQEMU_NETNS_LINK=tap" : "tc netem does not work here: " + netemMissing);
            }
            Netns.Ip("-n", NsA, "addr", "add", AddressA + "/24", "dev", DevA);
            Netns.Ip("-n", NsB, "addr", "add", AddressB + "/24", "dev", DevB);
            Netns.Ip("-n", NsA, "link", "set", DevA, "up");
            Netns.Ip("-n", NsB, "link", "set", DevB, "up");
        }
        catch
        {
            Dispose();
            throw;
        }

        var sb = new StringBuilder();
        sb.Append($"[cluster]\ntransport = \"{transport}\"\nplacement = \"round-robin\"\n");
        // Two network namespaces of one host still share /dev/shm and the hostname: left to choose, UCX sees two
        // processes of one machine and joins them through shared memory (posix/sysv), so its messages would bypass
        // the delayed link, which would carry only the TCP mesh's heartbeats. Only UCX's TCP transport makes them
        // cross the link, as between two hosts. (Measured with UCX 1.13.1: with shared memory across the namespaces
        // the messages do not flow normally at all, the guest stalls — a transport bug, not what these tests are
        // about.) UCX_NET_DEVICES need not be set: each namespace's UCX lists its own interfaces, lo and the link's
        // end, and does not take the other namespace's loopback for a reachable address; the guest tests check
        // that the bytes really crossed the link.
        if (transport == "ucx" && ucxTls != null) sb.Append($"ucx_tls = \"{ucxTls}\"\n");
        if (clusterExtra.Length > 0) sb.Append(clusterExtra).Append('\n');
        sb.Append($"[[node]]\nid = 0\naddress = \"{AddressA}:{Port0}\"\ncores = 1\n");
        sb.Append($"[[node]]\nid = 1\naddress = \"{AddressB}:{Port1}\"\ncores = 1\nstart = false\n");
        File.WriteAllText(ConfigPath, sb.ToString());
    }

    /// <summary>Worker 1, started in namespace B: <c>ip netns exec B dqemu-native --cluster F --node 1</c>.</summary>
    public CapturedProcess StartWorker(IReadOnlyDictionary<string, string> env)
    {
        var p = CapturedProcess.Start(Netns.IpPath, ["netns", "exec", NsB, LoopbackCluster.Binary, "--cluster", ConfigPath, "--node", "1"],
            env, Dir, holdStdinOpen: false);
        lock (_started) _started.Add(p);
        return p;
    }

    /// <summary>Node 0 in namespace A, running to the end (killed with its children after <paramref name="timeout"/>).</summary>
    public ProcessResult RunNode0(IEnumerable<string> options, IReadOnlyDictionary<string, string> env, string? stdin, TimeSpan timeout)
    {
        var cwd = GuestRunner.CreateTempDirectory("netns-run");
        try
        {
            return GuestRunner.Run(Netns.IpPath, ["netns", "exec", NsA, LoopbackCluster.Binary, "--cluster", ConfigPath, .. options], env, stdin, cwd, timeout);
        }
        finally
        {
            GuestRunner.DeleteDirectory(cwd);
        }
    }

    /// <summary>Node 0 in namespace A, in the background (stdin held open when asked).</summary>
    public CapturedProcess StartNode0(IEnumerable<string> options, IReadOnlyDictionary<string, string> env, bool holdStdinOpen)
    {
        var p = CapturedProcess.Start(Netns.IpPath, ["netns", "exec", NsA, LoopbackCluster.Binary, "--cluster", ConfigPath, .. options],
            env, Dir, holdStdinOpen);
        lock (_started) _started.Add(p);
        return p;
    }

    /// <summary>
    /// Bytes node 0's end of the link has received and sent so far (the interface's counters in namespace A: every
    /// frame between the namespaces passes there, whatever carries the link).
    /// </summary>
    public (long Received, long Sent) LinkBytes()
    {
        var json = Netns.Ip("-j", "-s", "-n", NsA, "link", "show", "dev", DevA);
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var stats = doc.RootElement[0].GetProperty("stats64");
        return (stats.GetProperty("rx").GetProperty("bytes").GetInt64(), stats.GetProperty("tx").GetProperty("bytes").GetInt64());
    }

    /// <summary>Takes node 1's end of the link down (no FIN, no RST: the nodes only see silence).</summary>
    public void CutLink() => Netns.Ip("-n", NsB, "link", "set", DevB, "down");

    /// <summary>Nothing crosses the link either way until <see cref="Heal"/>. With the delay line both ends stay up
    /// and every frame is dropped, so neither kernel knows (a switch that fails); on veth both ends go down.</summary>
    public void Partition() => SetPartitioned(true);

    public void Heal() => SetPartitioned(false);

    private void SetPartitioned(bool cut)
    {
        if (DelayLine is { } line)
        {
            line.Partitioned = cut;
            return;
        }
        Netns.Ip("-n", NsA, "link", "set", DevA, cut ? "down" : "up");
        Netns.Ip("-n", NsB, "link", "set", DevB, cut ? "down" : "up");
    }

    /// <summary>
    /// Round trips of one byte over TCP from namespace A to namespace B (a listener on node 1's address, port 7402;
    /// use it while no cluster runs), in milliseconds.
    /// </summary>
    public List<double> MeasureRoundTripsMs(int count)
    {
        var ep = new IPEndPoint(IPAddress.Parse(AddressB), Port1 + 1);
        using var listener = Netns.InNamespace(NsB, () =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(ep);
            s.Listen(1);
            return s;
        });
        // a socket belongs to the namespace it was created in, whichever thread uses it afterwards
        using var client = Netns.InNamespace(NsA, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        var echo = Task.Run(() =>
        {
            try
            {
                using var c = listener.Accept();
                c.NoDelay = true;
                var b = new byte[1];
                while (c.Receive(b) == 1) c.Send(b);
            }
            catch (SocketException) { }
            catch (ObjectDisposedException) { }
        });
        client.NoDelay = true;
        client.ReceiveTimeout = 10_000;
        client.SendTimeout = 10_000;
        client.Connect(ep);
        var rtts = new List<double>();
        var buf = new byte[1];
        for (int i = 0; i < count; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            client.Send(buf);
            if (client.Receive(buf) != 1) throw new IOException("the echo side closed the connection");
            rtts.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        client.Shutdown(SocketShutdown.Both);
        echo.Wait(TimeSpan.FromSeconds(10));
        return rtts;
    }

    /// <summary>Pids of live processes whose command line mentions this cluster's file (node 0, the worker).</summary>
    public List<int> Processes() => Netns.ProcessesMentioning(ConfigPath);

    /// <summary>Waits (bounded) until no process of this cluster is left; returns those still there.</summary>
    public List<int> WaitForNoProcesses(TimeSpan timeout) => LoopbackCluster.WaitUntilGone(Processes, timeout);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        // never leave a node (or anything else) behind, whatever the test did
        foreach (var p in _started) p.Dispose();
        foreach (int pid in Processes()) Netns.KillPid(pid);
        foreach (var ns in new[] { NsA, NsB }) Netns.KillEverythingIn(ns);
        DelayLine?.Dispose(); // closing the TAP descriptors removes the TAP devices
        foreach (var ns in new[] { NsA, NsB })
            if (Netns.NsExists(ns)) Netns.TryIp("netns", "del", ns); // takes the veth pair with it
        GuestRunner.DeleteDirectory(Dir);
    }
}

/// <summary>A process in the background with its stdout and stderr collected line by line.</summary>
public sealed class CapturedProcess : IDisposable
{
    readonly Process _p;
    readonly List<string> _stderr = [];
    readonly StringBuilder _stdout = new();
    readonly TaskCompletionSource _stderrDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly TaskCompletionSource _stdoutDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    bool _disposed;

    CapturedProcess(Process p)
    {
        _p = p;
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data == null) { _stderrDone.TrySetResult(); return; }
            lock (_stderr) { _stderr.Add(e.Data); Monitor.PulseAll(_stderr); }
        };
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data == null) { _stdoutDone.TrySetResult(); return; }
            lock (_stdout) _stdout.Append(e.Data).Append('\n');
        };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
    }

    public static CapturedProcess Start(string exe, IEnumerable<string> args, IReadOnlyDictionary<string, string> env, string cwd, bool holdStdinOpen)
    {
        var psi = new ProcessStartInfo(exe)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = cwd,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Clear();
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        if (!holdStdinOpen) p.StandardInput.Close();
        return new CapturedProcess(p);
    }

    public int Pid => _p.Id;
    public bool HasExited => _p.HasExited;
    public int ExitCode => _p.ExitCode;

    public IReadOnlyList<string> StderrLines { get { lock (_stderr) return [.. _stderr]; } }
    public string Stderr => string.Join('\n', StderrLines);
    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }

    /// <summary>Waits (bounded) for a stderr line that satisfies <paramref name="match"/>.</summary>
    public bool WaitForStderrLine(Func<string, bool> match, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        lock (_stderr)
        {
            int seen = 0;
            while (true)
            {
                for (; seen < _stderr.Count; seen++)
                    if (match(_stderr[seen])) return true;
                var left = timeout - sw.Elapsed;
                if (left <= TimeSpan.Zero) return false;
                Monitor.Wait(_stderr, left < TimeSpan.FromMilliseconds(100) ? left : TimeSpan.FromMilliseconds(100));
            }
        }
    }

    /// <summary>Waits (bounded) for the process to end, then (briefly) for its output to be read.</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_p.WaitForExit(timeout)) return false;
        Task.WaitAll([_stderrDone.Task, _stdoutDone.Task], TimeSpan.FromSeconds(5));
        return true;
    }

    /// <summary>SIGKILL.</summary>
    public void Kill()
    {
        try { _p.Kill(); }
        catch (InvalidOperationException) { }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (!_p.HasExited) _p.Kill(entireProcessTree: true);
            _p.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (InvalidOperationException) { }
        try { _p.StandardInput.Close(); } catch (IOException) { } catch (InvalidOperationException) { }
        _p.Dispose();
    }
}

/// <summary>
/// A user-space stand-in for netem between two TAP devices: every Ethernet frame read from one is written to the
/// other after the link's delay ± a uniformly random jitter (kept in order: a frame never overtakes the one before
/// it), unless it is dropped (loss). Two threads per direction: one reads and stamps, one waits for each frame's
/// due time (clock_nanosleep on CLOCK_MONOTONIC) and writes it.
/// </summary>
public sealed class TapDelayLine : IDisposable
{
    readonly int _fdA, _fdB;
    readonly Direction _ab, _ba;
    volatile bool _stop;

    public TapDelayLine(int fdA, int fdB, NetnsLink link, int seed)
    {
        _fdA = fdA;
        _fdB = fdB;
        _ab = new Direction(this, fdA, fdB, link, new Random(seed), "a>b");
        _ba = new Direction(this, fdB, fdA, link, new Random(seed + 1), "b>a");
    }

    /// <summary>Frames passed on / dropped on purpose / that could not be written (device down), both directions.</summary>
    /// <summary>While set, every frame is dropped both ways (a switch that fails and comes back).</summary>
    public volatile bool Partitioned;

    public long Forwarded => Interlocked.Read(ref _ab.Forwarded) + Interlocked.Read(ref _ba.Forwarded);
    public long Dropped => Interlocked.Read(ref _ab.Dropped) + Interlocked.Read(ref _ba.Dropped);
    public long WriteErrors => Interlocked.Read(ref _ab.WriteErrors) + Interlocked.Read(ref _ba.WriteErrors);

    /// <summary>
    /// Creates TAP device <paramref name="name"/> (no packet-info header) in the calling thread's network namespace
    /// and returns its descriptor (close-on-exec, so no child process inherits it).
    /// </summary>
    public static int OpenTap(string name)
    {
        const int O_RDWR = 2, O_CLOEXEC = 0x80000;
        const nuint TUNSETIFF = 0x400454ca;
        const short IFF_TAP = 0x0002, IFF_NO_PI = 0x1000;
        int fd = Native.open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0) throw new IOException($"open /dev/net/tun: {Native.Error()}");
        var ifr = new byte[40];
        var nameBytes = Encoding.ASCII.GetBytes(name);
        if (nameBytes.Length > 15) throw new ArgumentException($"interface name {name} is longer than 15 characters");
        nameBytes.CopyTo(ifr, 0);
        BitConverter.GetBytes((short)(IFF_TAP | IFF_NO_PI)).CopyTo(ifr, 16);
        if (Native.ioctl(fd, TUNSETIFF, ifr) < 0)
        {
            var e = Native.Error();
            Native.close(fd);
            throw new IOException($"TUNSETIFF {name}: {e}");
        }
        return fd;
    }

    public void Dispose()
    {
        if (_stop) return;
        _stop = true;
        _ab.Join();
        _ba.Join();
        Native.close(_fdA);
        Native.close(_fdB);
    }

    static long Now()
    {
        Native.clock_gettime(Native.CLOCK_MONOTONIC, out var ts);
        return ts.Sec * 1_000_000_000 + ts.Nsec;
    }

    sealed class Direction
    {
        readonly TapDelayLine _owner;
        readonly int _src, _dst;
        readonly NetnsLink _link;
        readonly Random _random;
        readonly Queue<(long Due, byte[] Frame)> _queue = new();
        readonly Thread _reader, _writer;
        long _lastDue;
        public long Forwarded, Dropped, WriteErrors;

        public Direction(TapDelayLine owner, int src, int dst, NetnsLink link, Random random, string name)
        {
            _owner = owner;
            _src = src;
            _dst = dst;
            _link = link;
            _random = random;
            _reader = new Thread(ReadLoop) { IsBackground = true, Name = "tap " + name + " read" };
            _writer = new Thread(WriteLoop) { IsBackground = true, Name = "tap " + name + " write" };
            _reader.Start();
            _writer.Start();
        }

        public void Join()
        {
            lock (_queue) Monitor.PulseAll(_queue);
            _reader.Join(TimeSpan.FromSeconds(2));
            _writer.Join(TimeSpan.FromSeconds(2));
        }

        void ReadLoop()
        {
            var buf = new byte[65536];
            long delayNs = (long)(_link.DelayMs * 1e6), jitterNs = (long)(_link.JitterMs * 1e6);
            while (!_owner._stop)
            {
                int r = Dqemu.Rdma.FdPoll.WaitReadable(_src, 100, out short revents);
                if (r <= 0) continue; // timeout (check _stop) or EINTR
                if ((revents & Dqemu.Rdma.FdPoll.In) == 0)
                {
                    Thread.Sleep(10); // POLLERR/POLLHUP: device going away or down
                    continue;
                }
                nint n = Native.read(_src, buf, buf.Length);
                if (n <= 0)
                {
                    if (n < 0 && Marshal.GetLastPInvokeError() != 4 /* EINTR */) Thread.Sleep(10);
                    continue;
                }
                if (_owner.Partitioned || (_link.LossPercent > 0 && _random.NextDouble() * 100 < _link.LossPercent))
                {
                    Interlocked.Increment(ref Dropped);
                    continue;
                }
                long due = Now() + delayNs + (long)((_random.NextDouble() * 2 - 1) * jitterNs);
                lock (_queue)
                {
                    if (due < _lastDue) due = _lastDue; // in order, as on a cable
                    _lastDue = due;
                    _queue.Enqueue((due, buf.AsSpan(0, (int)n).ToArray()));
                    Monitor.Pulse(_queue);
                }
            }
        }

        void WriteLoop()
        {
            while (true)
            {
                (long Due, byte[] Frame) item;
                lock (_queue)
                {
                    while (_queue.Count == 0)
                    {
                        if (_owner._stop) return;
                        Monitor.Wait(_queue, 100);
                    }
                    item = _queue.Dequeue();
                }
                if (_owner._stop) return;
                var ts = new Native.Timespec { Sec = item.Due / 1_000_000_000, Nsec = item.Due % 1_000_000_000 };
                while (Native.clock_nanosleep(Native.CLOCK_MONOTONIC, Native.TIMER_ABSTIME, ref ts, IntPtr.Zero) == 4 /* EINTR */) { }
                if (Native.write(_dst, item.Frame, item.Frame.Length) < 0) Interlocked.Increment(ref WriteErrors);
                else Interlocked.Increment(ref Forwarded);
            }
        }
    }
}

/// <summary>ip/tc, namespaces, and the netem probe.</summary>
public static class Netns
{
    const int CLONE_NEWNET = 0x40000000;

    static readonly Lazy<string?> ipPath = new(() => FindTool("ip"));
    static readonly Lazy<string?> tcPath = new(() => FindTool("tc"));
    static readonly Lazy<string?> netemUnavailable = new(ProbeNetem);
    static int _staleSweepDone;

    public static string IpPath => ipPath.Value ?? throw new InvalidOperationException("ip not found");

    /// <summary>Fails the test (never skips) when it cannot build namespaces here.</summary>
    public static void RequireRootAndTools()
    {
        if (ipPath.Value == null || tcPath.Value == null)
            Assert.Fail($"'{(ipPath.Value == null ? "ip" : "tc")}' not found (looked in PATH, /usr/sbin, /sbin); run toolchains/install.sh (Debian package iproute2)");
        if (Native.geteuid() != 0)
            Assert.Fail("the network-namespace cluster tests need root (ip netns add, veth/TAP devices, tc)");
        if (!File.Exists(LoopbackCluster.Binary))
            Assert.Fail($"{LoopbackCluster.Binary} is missing; run ./build.sh");
    }

    /// <summary>Null when <c>tc qdisc add ... netem</c> works; otherwise why not (tc's error and the kernel's config).</summary>
    public static string? NetemUnavailableReason => netemUnavailable.Value;

    static string? FindTool(string name)
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
        foreach (var d in dirs)
        {
            var p = Path.Combine(d, name);
            if (File.Exists(p) && GuestRunner.IsExecutable(p)) return p;
        }
        return null;
    }

    public static ProcessResult TryIp(params string[] args) => GuestRunner.Run(IpPath, args, null, null, null, TimeSpan.FromSeconds(30));

    /// <summary>Runs ip; throws with its stderr when it fails.</summary>
    public static string Ip(params string[] args) => Check("ip", TryIp(args), args);

    public static string Tc(string[] args) =>
        Check("tc", GuestRunner.Run(tcPath.Value ?? throw new InvalidOperationException("tc not found"), args, null, null, null, TimeSpan.FromSeconds(30)), args);

    static string Check(string tool, ProcessResult r, string[] args)
    {
        if (r.ExitCode != 0 || r.TimedOut)
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)}: {r.Describe()}: {r.Stderr.Trim()}");
        return r.Stdout;
    }

    public static bool NsExists(string name) => File.Exists($"/var/run/netns/{name}") || File.Exists($"/run/netns/{name}");

    /// <summary>SIGKILLs every process in namespace <paramref name="ns"/> (ip netns pids).</summary>
    public static void KillEverythingIn(string ns)
    {
        if (!NsExists(ns)) return;
        var r = TryIp("netns", "pids", ns);
        foreach (var line in r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (int.TryParse(line.Trim(), out int pid)) KillPid(pid);
    }

    public static void KillPid(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            p.Kill();
            p.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (Exception) { /* already gone */ }
    }

    /// <summary>Pids of live processes whose command line mentions <paramref name="text"/>.</summary>
    public static List<int> ProcessesMentioning(string text)
    {
        var pids = new List<int>();
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out int pid) || pid == Environment.ProcessId) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(d, "cmdline")).Contains(text, StringComparison.Ordinal)) pids.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return pids;
    }

    /// <summary>
    /// Deletes namespaces named dqn-PID-... whose test process PID no longer runs (left by a test process that was
    /// killed before its Dispose ran). Once per test process.
    /// </summary>
    public static void RemoveStaleNamespaces()
    {
        if (Interlocked.Exchange(ref _staleSweepDone, 1) != 0) return;
        var r = TryIp("netns", "list");
        foreach (var line in r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ')[0];
            var parts = name.Split('-');
            if (parts.Length < 3 || parts[0] != "dqn" || !int.TryParse(parts[1], out int pid)) continue;
            if (pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}")) continue;
            KillEverythingIn(name);
            TryIp("netns", "del", name);
        }
    }

    /// <summary>
    /// Runs <paramref name="f"/> on a fresh thread that has entered network namespace <paramref name="ns"/> (setns is
    /// per thread; the thread returns to its own namespace before it ends). Sockets and TAP devices created inside
    /// stay in that namespace.
    /// </summary>
    public static T InNamespace<T>(string ns, Func<T> f)
    {
        T result = default!;
        Exception? error = null;
        var t = new Thread(() =>
        {
            int self = Native.open("/proc/thread-self/ns/net", 0x80000);
            int target = Native.open($"/var/run/netns/{ns}", 0x80000);
            try
            {
                if (self < 0 || target < 0) throw new IOException($"open namespace {ns}: {Native.Error()}");
                if (Native.setns(target, CLONE_NEWNET) != 0) throw new IOException($"setns {ns}: {Native.Error()}");
                try { result = f(); }
                finally
                {
                    if (Native.setns(self, CLONE_NEWNET) != 0) Environment.FailFast("setns back to the test's own namespace failed");
                }
            }
            catch (Exception e) { error = e; }
            finally
            {
                if (self >= 0) Native.close(self);
                if (target >= 0) Native.close(target);
            }
        }) { IsBackground = true, Name = "netns " + ns };
        t.Start();
        t.Join();
        if (error != null) throw new InvalidOperationException($"in namespace {ns}: {error.Message}", error);
        return result;
    }

    static string? ProbeNetem()
    {
        RequireRootAndTools();
        string ns = $"dqn-{Environment.ProcessId}-probe";
        try
        {
            Ip("netns", "add", ns);
            var r = GuestRunner.Run(tcPath.Value!, ["-n", ns, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], null, null, null, TimeSpan.FromSeconds(30));
            return r.ExitCode == 0 ? null : $"'tc qdisc add dev lo root netem delay 1ms' says \"{r.Stderr.Trim()}\"; {KernelNetemNote()}";
        }
        finally
        {
            if (NsExists(ns)) TryIp("netns", "del", ns);
        }
    }

    /// <summary>What the running kernel's configuration says about netem and modules.</summary>
    static string KernelNetemNote()
    {
        string release = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "?";
        try
        {
            using var gz = new GZipStream(File.OpenRead("/proc/config.gz"), CompressionMode.Decompress);
            using var reader = new StreamReader(gz);
            var wanted = new List<string>();
            string? line;
            while ((line = reader.ReadLine()) != null)
                if (line.Contains("CONFIG_NET_SCH_NETEM", StringComparison.Ordinal) || line.StartsWith("CONFIG_MODULES=", StringComparison.Ordinal) || line == "# CONFIG_MODULES is not set")
                    wanted.Add(line);
            return $"kernel {release}, /proc/config.gz: {string.Join(", ", wanted)}" +
                (wanted.Contains("# CONFIG_MODULES is not set") ? " (no loadable modules: sch_netem cannot be added without another kernel)" : " (try: modprobe sch_netem)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return $"kernel {release} (no /proc/config.gz; try: modprobe sch_netem)";
        }
    }
}

static class Native
{
    public const int CLOCK_MONOTONIC = 1, TIMER_ABSTIME = 1;
    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Sec;
        public long Nsec;
    }

    public static string Error() => Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());

    [DllImport("libc", SetLastError = true)] public static extern int open(string path, int flags);
    [DllImport("libc", SetLastError = true)] public static extern int close(int fd);
    [DllImport("libc", SetLastError = true)] public static extern int setns(int fd, int nstype);
    [DllImport("libc", SetLastError = true)] public static extern int ioctl(int fd, nuint request, byte[] arg);
    [DllImport("libc", SetLastError = true)] public static extern nint read(int fd, byte[] buf, nint count);
    [DllImport("libc", SetLastError = true)] public static extern nint write(int fd, byte[] buf, nint count);
    [DllImport("libc")] public static extern int clock_gettime(int clock, out Timespec ts);
    [DllImport("libc")] public static extern int clock_nanosleep(int clock, int flags, ref Timespec req, IntPtr rem);
    [DllImport("libc")] public static extern uint geteuid();
}
