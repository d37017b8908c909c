using System.Runtime.InteropServices;
using System.Text;
using Dqemu.JitX64.Translation;
using Dqemu.Runtime.Syscalls;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Dqemu.Runtime.Profiling;

/// <summary>
/// <c>--perf-map</c>: writes /tmp/perf-PID.map, perf's map of JIT code (tools/perf/Documentation/jit-interface.txt),
/// so <c>perf report</c> on the emulator names the guest's functions. One line per region of the code cache,
/// <c>START SIZE name</c> (hex without 0x): each translated block named by <see cref="GuestModules.NameOf"/> its
/// first guest address, each fixed stub <c>dqemu:...</c>. perf reads the file after the run, so lines are
/// buffered and written when the buffer fills, once a second, and when the process ends
/// (<see cref="FlushActive"/>: exit_group, a fatal signal, a cluster node's exit). The file stays, as perf needs
/// it; the next process with the same pid overwrites it.
/// </summary>
public sealed unsafe class PerfMap : ICodeListener
{
    /// <summary>Environment variables that switch the map on as --perf-map does (qemu 8 reads the second).</summary>
    public static readonly string[] EnvironmentSwitches = ["DQEMU_PERF_MAP", "QEMU_PERFMAP"];

    private const int BufferBytes = 64 * 1024;
    private static readonly TimeSpan FlushPeriod = TimeSpan.FromSeconds(1);

    /// <summary>The map of this process, if any: what <see cref="FlushActive"/> flushes.</summary>
    private static volatile PerfMap? _active;

    private readonly int _fd;
    private readonly byte[] _buffer = new byte[BufferBytes];
    private int _used;
    /// <summary>Serialises appends and flushes. Blocks are placed one at a time under the translator's lock, so the
    /// only other taker is a flush (the timer, the exit): it is never contended on the translation path.</summary>
    private readonly object _gate = new();
    private readonly StringBuilder _line = new(128);
    private PosixSignalRegistration? _terminate, _interrupt;

    /// <summary>Names blocks; the loader and the mmap syscall fill it.</summary>
    public GuestModules Modules { get; }

    private PerfMap(string path, int fd, GuestModules modules)
    {
        Modules = modules;
        _fd = fd;
        // a plain thread rather than a Timer: nothing of the thread pool's runs for the map, so nothing opens a
        // descriptor later at whatever low number the guest has free then (with a Timer and the signal registrations
        // made directly, a pipe appeared at fds 3 and 4)
        new Thread(() =>
        {
            while (true)
            {
                Thread.Sleep(FlushPeriod);
                Flush();
            }
        }) { IsBackground = true, Name = "dqemu-perf-map" }.Start();
    }

    /// <summary>True when an environment variable asks for the map (value other than empty or "0").</summary>
    public static bool AskedByEnvironment() =>
        EnvironmentSwitches.Any(v => Environment.GetEnvironmentVariable(v) is { Length: > 0 } s && s != "0");

    /// <summary>
    /// Creates /tmp/perf-PID.map (truncating an old one) for this process and makes it the one <see cref="FlushActive"/>
    /// flushes. The descriptor is moved to <see cref="EmulatorFds.Floor"/> or above so the guest's fds stay as they are.
    /// </summary>
    public static PerfMap Create(GuestModules modules)
    {
        string path = $"/tmp/perf-{Environment.ProcessId}.map";
        int fd;
        fixed (byte* p = Encoding.UTF8.GetBytes(path + "\0")) fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0x1a4 /* 0644 */);
        if (fd < 0) throw new FatalException(ExitCodes.CantCreate, $"--perf-map: cannot create {path} ({Marshal.GetPInvokeErrorMessage(errno)})");
        int high = EmulatorFds.MoveHigh(fd, out int dupError);
        if (high < EmulatorFds.Floor) throw new FatalException(ExitCodes.CantCreate, $"--perf-map: cannot keep {path} open ({Marshal.GetPInvokeErrorMessage(dupError)})");
        var map = new PerfMap(path, high, modules);
        _active = map;
        // SIGTERM or SIGINT from outside: flush, then the signal's default action ends the process as before. The
        // runtime may open descriptors for its signal handling here: they go above the guest's numbers too
        EmulatorFds.MoveRuntimeFdsHigh(() =>
        {
            map._terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => map.Flush());
            map._interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => map.Flush());
        });
        return map;
    }

    public void StubPlaced(ulong hostStart, ulong hostSize, string name) => Append(hostStart, hostSize, name);

    public void BlockPlaced(ulong hostStart, ulong hostSize, ulong guestPc) => Append(hostStart, hostSize, Modules.NameOf(guestPc));

    private void Append(ulong start, ulong size, string name)
    {
        if (size == 0) return;
        lock (_gate)
        {
            var l = _line.Clear();
            l.Append(start.ToString("x")).Append(' ').Append(size.ToString("x")).Append(' ');
            // a symbol name is bytes from the guest's file: a line break or other control character would end the line
            foreach (char c in name) l.Append(char.IsControl(c) ? '?' : c);
            l.Append('\n');
            string text = l.ToString();
            int n = Encoding.UTF8.GetByteCount(text);
            if (_used + n > _buffer.Length) FlushLocked();
            if (n > _buffer.Length) return; // a name longer than the buffer: dropped rather than split
            _used += Encoding.UTF8.GetBytes(text, 0, text.Length, _buffer, _used);
        }
    }

    /// <summary>Writes the buffered lines to the file.</summary>
    public void Flush()
    {
        lock (_gate) FlushLocked();
    }

    private void FlushLocked()
    {
        int done = 0;
        fixed (byte* b = _buffer)
            while (done < _used)
            {
                long r = write(_fd, b + done, (size_t)(ulong)(_used - done));
                if (r < 0 && errno == EINTR) continue;
                if (r <= 0) break; // disk full or the like: the map loses lines, the guest runs on
                done += (int)r;
            }
        _used = 0;
    }

    /// <summary>Flushes this process's map, if it has one: called on every way the process ends.</summary>
    public static void FlushActive() => _active?.Flush();
}
