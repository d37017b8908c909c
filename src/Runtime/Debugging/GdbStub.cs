using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Debugging;

/// <summary>
/// The GDB remote-protocol server of -g PORT (QEMU_GDB): listens on every IPv4 address as qemu-aarch64 does, waits
/// for gdb before the guest's first instruction, then serves one connection on its own host thread ("gdbstub").
/// All-stop mode (<see cref="DebugControl"/>); software breakpoints by retranslation
/// (<see cref="JitX64.Translation.Translator.SetBreakpoint"/>); single steps of one instruction; no watchpoints
/// (Z2-Z4 answer "" and gdb watches by single-stepping). Thread ids are "p&lt;pid&gt;.&lt;tid&gt;" when gdb
/// speaks multiprocess, else the tid, in hex.
/// </summary>
public sealed unsafe class GdbStub
{
    private readonly Socket _listener;
    private GdbConnection _conn = null!;
    private GuestProcess _process = null!;
    private DebugControl _control = null!;
    private readonly HashSet<ulong> _breakpoints = new();
    private bool _multiprocess;
    private int _gThread, _cThread; // Hg / Hc: 0 = any (the stopped thread), -1 = all
    private string _auxv = "";      // the auxiliary vector as the guest started with it (Latin-1 chars = bytes)

    private GdbStub(Socket listener) => _listener = listener;

    /// <summary>Binds the port (all IPv4 addresses); a port in use or not allowed is fatal, with one line.</summary>
    public static GdbStub Listen(int port)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            s.Bind(new IPEndPoint(IPAddress.Any, port));
            s.Listen(1);
        }
        catch (SocketException e)
        {
            s.Dispose();
            throw new FatalException(ExitCodes.NoListen, $"-g {port}: cannot listen for gdb: {e.Message}");
        }
        return new GdbStub(s);
    }

    /// <summary>
    /// Waits for gdb to connect, then holds the process stopped before <paramref name="main"/>'s first instruction
    /// (reported as SIGTRAP, as qemu does) and starts serving gdb.
    /// </summary>
    public void Attach(GuestProcess process, GuestThread main)
    {
        var socket = _listener.Accept();
        _listener.Dispose();
        _conn = new GdbConnection(socket);
        _process = process;
        _auxv = ReadAuxv(process, main.Cpu->Sp);
        _control = new DebugControl(process) { OnExit = SendExit };
        _control.StopAll(main, Dispatcher.SigTrap);
        process.Debugger = _control;
        new Thread(Serve) { IsBackground = true, Name = "gdbstub" }.Start();
    }

    /// <summary>
    /// The auxiliary vector above the initial stack pointer (argc, argv[], NULL, envp[], NULL, then pairs up to
    /// AT_NULL), copied before the guest can change it, as Linux keeps it for /proc/PID/auxv. gdb reads AT_ENTRY from
    /// it to find where a position-independent executable was loaded.
    /// </summary>
    private static string ReadAuxv(GuestProcess process, ulong sp)
    {
        var space = process.Space;
        if (!space.TryRead(sp, out ulong argc)) return "";
        ulong p = sp + 8 + (argc + 1) * 8;
        for (int n = 0; n < 1 << 20 && space.TryRead(p, out ulong env) && env != 0; n++) p += 8;
        p += 8;
        var sb = new StringBuilder();
        for (int n = 0; n < 256; n++, p += 16)
        {
            var pair = new byte[16];
            if (!space.TryCopyIn(p, pair)) break;
            foreach (byte b in pair) sb.Append((char)b);
            if (BitConverter.ToUInt64(pair) == 0) break; // AT_NULL ends it (and is part of it)
        }
        return sb.ToString();
    }

    private void Serve()
    {
        bool running = false;
        while (true)
        {
            if (running)
            {
                // wait for a stop, watching the connection for Ctrl-C
                while (!_control.WaitForEvent(20))
                {
                    if (!_conn.DataWaiting(0)) continue;
                    string? p = _conn.ReadPacket();
                    if (p == null) { Detach(); return; }
                    if (p == GdbConnection.Interrupt) _control.StopAll(InterruptedThread(), SigInt);
                }
                _control.WaitUntilStopped(2000);
                _gThread = _cThread = 0;
                _conn.Send(StopReply());
                running = false;
            }
            string? packet = _conn.ReadPacket();
            if (packet == null) { Detach(); return; }
            if (packet == GdbConnection.Interrupt) continue; // already stopped
            running = Handle(packet, out string? reply);
            if (reply != null) _conn.Send(reply);
            if (packet.StartsWith('D')) { Detach(); return; }
        }
    }

    private const int SigInt = 2;

    /// <summary>The thread a Ctrl-C is reported on: the main thread while it lives, else the lowest tid.</summary>
    private GuestThread InterruptedThread()
    {
        var threads = _process.Threads;
        if (threads.TryGetValue(GuestProcess.Pid, out var main)) return main;
        return threads.Values.OrderBy(t => t.Tid).First();
    }

    private string ThreadId(GuestThread t) => _multiprocess ? $"p{GuestProcess.Pid:x}.{t.Tid:x}" : $"{t.Tid:x}";

    private string StopReply()
    {
        var t = _control.EventThread;
        return t == null ? "S05" : $"T{GdbSignals.ToGdb(_control.EventSignal):x2}thread:{ThreadId(t)};";
    }

    /// <summary>Parses a thread id ("p1.2a", "2a", "-1", "0", "p1.-1", "p1"): the tid, 0 for any, -1 for all;
    /// null when malformed.</summary>
    private static int? ParseThreadId(string s)
    {
        if (s.StartsWith('p'))
        {
            int dot = s.IndexOf('.');
            if (dot < 0) return -1; // every thread of the process
            s = s[(dot + 1)..];
        }
        if (s == "-1") return -1;
        return int.TryParse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int tid) ? tid : null;
    }

    /// <summary>The thread register packets address: the Hg thread, else the one that stopped.</summary>
    private GuestThread? RegisterThread()
    {
        if (_gThread > 0 && _process.Threads.TryGetValue(_gThread, out var t)) return t;
        return _control.EventThread ?? _process.Threads.Values.OrderBy(x => x.Tid).FirstOrDefault();
    }

    /// <summary>Answers one packet (null reply: none is sent); true when the process was resumed.</summary>
    private bool Handle(string p, out string? reply)
    {
        reply = "";
        switch (p[0])
        {
            case '?': reply = StopReply(); return false;
            case 'g': reply = RegisterThread() is { } tg ? GdbRegisters.ReadAll(tg.Cpu) : "E01"; return false;
            case 'G': reply = RegisterThread() is { } tG && GdbRegisters.WriteAll(tG.Cpu, p.AsSpan(1)) ? "OK" : "E01"; return false;
            case 'p':
                {
                    var t = RegisterThread();
                    reply = t != null && TryHex(p[1..], out ulong n) && GdbRegisters.Read(t.Cpu, (int)n) is { } v ? v : "E01";
                    return false;
                }
            case 'P':
                {
                    int eq = p.IndexOf('=');
                    var t = RegisterThread();
                    reply = t != null && eq > 1 && TryHex(p[1..eq], out ulong n) && GdbRegisters.Write(t.Cpu, (int)n, p.AsSpan(eq + 1)) ? "OK" : "E01";
                    return false;
                }
            case 'm': reply = ReadMemory(p[1..]); return false;
            case 'M': reply = WriteMemory(p[1..], binary: false); return false;
            case 'X': reply = WriteMemory(p[1..], binary: true); return false;
            case 'H':
                {
                    int? tid = p.Length > 2 ? ParseThreadId(p[2..]) : null;
                    if (tid is not int id || (id > 0 && !_process.Threads.ContainsKey(id))) { reply = "E22"; return false; }
                    if (p[1] == 'g') _gThread = id; else if (p[1] == 'c') _cThread = id; else { reply = ""; return false; }
                    reply = "OK";
                    return false;
                }
            case 'T':
                reply = ParseThreadId(p[1..]) is int alive && _process.Threads.ContainsKey(alive) ? "OK" : "E01";
                return false;
            case 'c': case 'C': case 's': case 'S':
                {
                    // legacy resume: the Hc thread (or the stopped one) steps or continues with the signal, the others continue
                    bool step = p[0] is 's' or 'S';
                    int sig = 0;
                    if (p[0] is 'C' or 'S' && int.TryParse(p[1..].Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out sig))
                        sig = Math.Max(0, GdbSignals.ToLinux(sig)); // a signal Linux lacks is not delivered
                    int target = _cThread > 0 ? _cThread : _control.EventThread?.Tid ?? 0;
                    _control.Resume(tid => tid == target ? (step ? DebugControl.Action.Step : DebugControl.Action.Continue, sig)
                        : (DebugControl.Action.Continue, 0), DebugControl.Action.Continue);
                    reply = null;
                    return true;
                }
            case 'Z': case 'z': reply = Breakpoint(p); return false;
            case 'k':
                Kill();
                return false;
            case 'D': reply = "OK"; return false;
            case 'v': return HandleV(p, out reply);
            case 'q': case 'Q': reply = Query(p); return false;
            default: return false;
        }
    }

    private bool HandleV(string p, out string? reply)
    {
        reply = "";
        if (p == "vCont?") { reply = "vCont;c;C;s;S"; return false; }
        if (p.StartsWith("vCont;", StringComparison.Ordinal))
        {
            // vCont;action[:thread];... : each thread takes the first action that names it (or names no thread)
            var actions = new List<(DebugControl.Action action, int signal, int tid)>();
            foreach (var part in p[6..].Split(';'))
            {
                if (part.Length == 0) continue;
                int colon = part.IndexOf(':');
                string act = colon < 0 ? part : part[..colon];
                int tid = colon < 0 ? -1 : ParseThreadId(part[(colon + 1)..]) ?? -2;
                var kind = act[0] switch { 'c' or 'C' => DebugControl.Action.Continue, 's' or 'S' => DebugControl.Action.Step, _ => (DebugControl.Action?)null };
                if (kind == null || tid == -2) { reply = "E22"; return false; }
                int sig = 0;
                if (act.Length > 1 && !int.TryParse(act[1..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out sig)) { reply = "E22"; return false; }
                sig = GdbSignals.ToLinux(sig);
                if (sig < 0) { reply = "E22"; return false; }
                actions.Add((kind.Value, sig, tid));
            }
            (DebugControl.Action, int) For(int tid)
            {
                foreach (var a in actions)
                    if (a.tid <= 0 || a.tid == tid) return (a.action, a.signal);
                return (DebugControl.Action.Hold, 0);
            }
            bool wildcardContinue = actions.Any(a => a.tid <= 0 && a.action == DebugControl.Action.Continue);
            _control.Resume(For, wildcardContinue ? DebugControl.Action.Continue : DebugControl.Action.Hold);
            reply = null;
            return true;
        }
        if (p.StartsWith("vKill", StringComparison.Ordinal)) { _conn.Send("OK"); Kill(); }
        if (p == "vMustReplyEmpty") reply = "";
        return false;
    }

    private string Query(string p)
    {
        if (p.StartsWith("qSupported", StringComparison.Ordinal))
        {
            _multiprocess = p.Contains("multiprocess+", StringComparison.Ordinal);
            return "PacketSize=4000;qXfer:features:read+;qXfer:auxv:read+;vContSupported+;QStartNoAckMode+" + (_multiprocess ? ";multiprocess+" : "");
        }
        if (p == "QStartNoAckMode")
        {
            _conn.Send("OK");
            _conn.StopAcks();
            return null!; // sent
        }
        if (p.StartsWith("qXfer:features:read:", StringComparison.Ordinal))
        {
            // qXfer:features:read:ANNEX:OFFSET,LENGTH
            var rest = p["qXfer:features:read:".Length..];
            int colon = rest.LastIndexOf(':');
            if (colon < 0) return "E00";
            if (rest[..colon] != "target.xml") return "E00";
            var nums = rest[(colon + 1)..].Split(',');
            if (nums.Length != 2 || !TryHex(nums[0], out ulong off) || !TryHex(nums[1], out ulong len)) return "E00";
            return GdbTargetXml.Read(GdbTargetXml.Text, (int)Math.Min(off, int.MaxValue), (int)Math.Min(len, 0x3ff0));
        }
        if (p.StartsWith("qXfer:auxv:read::", StringComparison.Ordinal))
        {
            var nums = p["qXfer:auxv:read::".Length..].Split(',');
            if (nums.Length != 2 || !TryHex(nums[0], out ulong off) || !TryHex(nums[1], out ulong len)) return "E00";
            return GdbTargetXml.Read(_auxv, (int)Math.Min(off, int.MaxValue), (int)Math.Min(len, 0x3ff0));
        }
        if (p == "qfThreadInfo")
            return "m" + string.Join(",", _process.Threads.Values.OrderBy(t => t.Tid).Select(ThreadId));
        if (p == "qsThreadInfo") return "l";
        if (p == "qC") return RegisterThread() is { } t ? "QC" + ThreadId(t) : "";
        if (p.StartsWith("qAttached", StringComparison.Ordinal)) return "0"; // the stub started the process: gdb kills it on quit
        if (p == "qOffsets") return "Text=0;Data=0;Bss=0";
        if (p.StartsWith("qThreadExtraInfo,", StringComparison.Ordinal))
        {
            var id = ParseThreadId(p["qThreadExtraInfo,".Length..]);
            string text = id is int tid && _process.Threads.TryGetValue(tid, out var th) && th.InSyscall ? "in a syscall" : "guest thread";
            return GdbRegisters.Hex(Encoding.ASCII.GetBytes(text));
        }
        return "";
    }

    private string ReadMemory(string args)
    {
        var parts = args.Split(',');
        if (parts.Length != 2 || !TryHex(parts[0], out ulong addr) || !TryHex(parts[1], out ulong len) || len > 0x10000) return "E22";
        var buf = new byte[len];
        if (_process.Space.TryCopyIn(addr, buf)) return GdbRegisters.Hex(buf);
        // part of the range is not readable: as many bytes as can be read, an error when not even the first
        int n = 0;
        while (n < buf.Length && _process.Space.TryCopyIn(addr + (ulong)n, buf.AsSpan(n, 1))) n++;
        return n == 0 ? "E14" : GdbRegisters.Hex(buf.AsSpan(0, n));
    }

    private string WriteMemory(string args, bool binary)
    {
        int colon = args.IndexOf(':');
        if (colon < 0) return "E22";
        var parts = args[..colon].Split(',');
        if (parts.Length != 2 || !TryHex(parts[0], out ulong addr) || !TryHex(parts[1], out ulong len) || len > 0x10000) return "E22";
        var data = args[(colon + 1)..];
        var buf = new byte[len];
        if (binary)
        {
            if ((ulong)data.Length != len) return "E22";
            for (int i = 0; i < data.Length; i++) buf[i] = (byte)data[i];
        }
        else if (!GdbRegisters.TryParseHex(data, buf)) return "E22";
        if (len == 0) return "OK";
        if (!_process.Space.TryCopyOut(addr, buf)) return "E14";
        // the bytes may be code already translated
        if (_process.Translator.InvalidateRange(addr, addr + len)) _process.RequestExitAll();
        return "OK";
    }

    /// <summary>Z0/z0: software breakpoints (any kind gdb asks for is one instruction); other types are not supported.</summary>
    private string Breakpoint(string p)
    {
        var parts = p[1..].Split(',');
        if (parts.Length < 3 || parts[0] != "0") return "";
        if (!TryHex(parts[1], out ulong addr)) return "E22";
        bool set = p[0] == 'Z';
        if (set) _breakpoints.Add(addr); else _breakpoints.Remove(addr);
        if (_process.Translator.SetBreakpoint(addr, set)) _process.RequestExitAll();
        return "OK";
    }

    private void Detach()
    {
        foreach (var addr in _breakpoints) _process.Translator.SetBreakpoint(addr, false);
        _breakpoints.Clear();
        _process.RequestExitAll();
        _control.Detach();
        _conn.Dispose();
    }

    /// <summary>"k": gdb ends the process (status 0, as qemu-aarch64).</summary>
    private void Kill()
    {
        Console.Out.Flush();
        Console.Error.WriteLine("dqemu-native: terminated by the debugger");
        _conn.Dispose();
        HostSyscall.Call(HostSyscall.Nr.ExitGroup, 0);
    }

    /// <summary>The process ends: "W" with the exit code, or "X" with the signal that killed it.</summary>
    private void SendExit(int status, bool bySignal)
    {
        _conn.Send(bySignal ? "X" + GdbSignals.ToGdb(status).ToString("x2") : "W" + (status & 0xff).ToString("x2"));
        _conn.Dispose();
    }

    private static bool TryHex(string s, out ulong v) =>
        ulong.TryParse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out v);
}
