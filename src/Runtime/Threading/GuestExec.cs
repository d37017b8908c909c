using System.Text;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Syscalls;

namespace Dqemu.Runtime.Threading;

/// <summary>
/// execve for the guest. An AArch64 ELF, or a "#!" script whose interpreter is one, runs under a fresh dqemu-native
/// (this binary, exec'd by the host kernel in place of this process: same pid, the guest's fds and environment, -L
/// carried) — where qemu-aarch64 needs binfmt_misc for that. Anything else (an x86-64 program, a script for a host
/// interpreter) goes to the host kernel unchanged, as under qemu-aarch64. Guest paths resolve through the sysroot as
/// open() does; /proc/self/exe is the guest program. Signals the guest ignores stay ignored across the exec, as on
/// Linux: they are ignored on the host for the new emulator to read (<see cref="InheritIgnoredSignals"/>).
/// </summary>
public static unsafe class GuestExec
{
    private const int PathMax = 4096, ArgMax = 2 << 20, EmAarch64 = 183, MaxStrings = 1 << 17;
    private const ulong SigIgn = 1;

    public static long Execve(SyscallContext c, ulong pathAddr, ulong argvAddr, ulong envpAddr)
    {
        if (c.Process.Cluster != null) return -Errno.ENOSYS; // the new program would leave the other nodes behind
        long r = Sys.ReadString(c, pathAddr, PathMax, out var raw);
        if (r < 0) return r;
        r = ReadVector(c, argvAddr, out var argv);
        if (r < 0) return r;
        r = ReadVector(c, envpAddr, out var envp);
        if (r < 0) return r;

        if (raw.Length <= 1) return -Errno.ENOENT; // "" (raw is NUL-terminated)
        byte[] host = GuestPath.Classify(raw, GuestProcess.Pid) == GuestPath.Special.Exe
            ? GuestPath.ToBytes(c.Process.ExePath)
            : GuestPath.Resolve(c.Process.Sysroot, raw);
        r = Inspect(host, out var kind, out byte[]? interpreter, out byte[]? interpreterArg);
        if (r < 0) return r;

        List<byte[]> hostArgv;
        byte[] file;
        if (kind == Kind.Guest)
        {
            file = SelfPath;
            hostArgv = Emulator(c, argv.Count > 0 ? argv[0] : raw, host, argv.Skip(1));
        }
        else if (kind == Kind.Script && interpreter != null
                 && GuestPath.Resolve(c.Process.Sysroot, interpreter) is var interpHost
                 && Inspect(interpHost, out var interpKind, out _, out _) >= 0 && interpKind == Kind.Guest)
        {
            // what the kernel does for "#!": interpreter [its one argument] script-as-given args-after-argv[0]
            file = SelfPath;
            var rest = new List<byte[]>();
            if (interpreterArg != null) rest.Add(interpreterArg);
            rest.Add(raw);
            rest.AddRange(argv.Skip(1));
            hostArgv = Emulator(c, interpreter, interpHost, rest);
        }
        else
        {
            file = host;
            hostArgv = argv;
        }
        InheritIgnoredSignals(c.Process);
        Console.Out.Flush();
        Console.Error.Flush();
        Profiling.PerfMap.FlushActive();
        return Exec(file, hostArgv, envp);
    }

    private enum Kind { Other, Guest, Script }

    /// <summary>This emulator's own binary.</summary>
    private static byte[] SelfPath => GuestPath.ToBytes(Environment.ProcessPath ?? "/proc/self/exe");

    /// <summary>The argv of a dqemu-native that runs <paramref name="program"/> (a host path) with argv[0]
    /// <paramref name="argv0"/> and <paramref name="args"/>.</summary>
    private static List<byte[]> Emulator(SyscallContext c, byte[] argv0, byte[] program, IEnumerable<byte[]> args)
    {
        var v = new List<byte[]> { SelfPath };
        if (c.Process.Sysroot != null)
        {
            v.Add(GuestPath.ToBytes("-L"));
            v.Add(GuestPath.ToBytes(c.Process.Sysroot));
        }
        v.Add(GuestPath.ToBytes("-0"));
        v.Add(argv0);
        v.Add(program);
        v.AddRange(args);
        return v;
    }

    /// <summary>What the file at <paramref name="host"/> is, from its first bytes: 0, or the errno the kernel's
    /// execve would give for a file it cannot open or run (no such file, no execute permission, a directory).</summary>
    private static long Inspect(byte[] host, out Kind kind, out byte[]? interpreter, out byte[]? interpreterArg)
    {
        kind = Kind.Other;
        interpreter = interpreterArg = null;
        const int XOk = 1, AtFdcwd = -100;
        long r;
        fixed (byte* p = host)
        {
            r = HostSyscall.Call(HostSyscall.Nr.Faccessat, AtFdcwd, (long)p, XOk);
            if (r < 0) return r;
            r = HostSyscall.Call(HostSyscall.Nr.Openat, AtFdcwd, (long)p, 0x80000 /* O_CLOEXEC */);
        }
        if (r < 0) return r;
        int fd = (int)r;
        var head = new byte[256];
        long n;
        fixed (byte* b = head) n = HostSyscall.Call(HostSyscall.Nr.Read, fd, (long)b, head.Length);
        HostSyscall.Call(HostSyscall.Nr.Close, fd);
        if (n == -Errno.EISDIR) return -Errno.EACCES; // execve of a directory
        if (n < 0) return n;
        var h = head.AsSpan(0, (int)n);
        if (h.Length >= 20 && h[0] == 0x7f && h[1] == (byte)'E' && h[2] == (byte)'L' && h[3] == (byte)'F'
            && h[5] == 1 /* little-endian */ && (h[18] | h[19] << 8) == EmAarch64)
        {
            kind = Kind.Guest;
            return 0;
        }
        if (h.Length >= 2 && h[0] == (byte)'#' && h[1] == (byte)'!')
        {
            kind = Kind.Script;
            var line = h[2..];
            int nl = line.IndexOf((byte)'\n');
            if (nl >= 0) line = line[..nl];
            var text = Encoding.UTF8.GetString(line).Trim(' ', '\t', '\r');
            if (text.Length == 0) return 0;
            int sp = text.IndexOfAny([' ', '\t']);
            interpreter = Encoding.UTF8.GetBytes(sp < 0 ? text : text[..sp]);
            if (sp >= 0 && text[sp..].Trim(' ', '\t') is { Length: > 0 } arg) interpreterArg = Encoding.UTF8.GetBytes(arg);
        }
        return 0;
    }

    /// <summary>A guest char*[] up to its NULL (NULL itself: empty, as Linux takes it), each string copied.</summary>
    private static long ReadVector(SyscallContext c, ulong addr, out List<byte[]> strings)
    {
        strings = new List<byte[]>();
        if (addr == 0) return 0;
        long total = 0;
        for (ulong at = addr; ; at += 8)
        {
            if (!c.Mem.TryRead(at, out ulong p)) return -Errno.EFAULT;
            if (p == 0) return 0;
            if (strings.Count >= MaxStrings) return -Errno.E2BIG;
            long r = Sys.ReadString(c, p, ArgMax, out var s);
            if (r < 0) return r == -Errno.ENAMETOOLONG ? -Errno.E2BIG : r;
            total += s.Length + 8;
            if (total > ArgMax) return -Errno.E2BIG;
            strings.Add(s);
        }
    }

    /// <summary>The host's execve; returns only when it fails (-errno).</summary>
    private static long Exec(byte[] file, List<byte[]> argv, List<byte[]> envp)
    {
        var pins = new List<System.Runtime.InteropServices.GCHandle>();
        try
        {
            // on the heap, not the stack: a guest may pass as many arguments as ARG_MAX allows (a million bytes of
            // pointers would overflow the host thread's stack)
            long* av = (long*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)(argv.Count + 1), 8);
            long* ev = (long*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)(envp.Count + 1), 8);
            try
            {
                for (int i = 0; i < argv.Count; i++) av[i] = Pin(Terminated(argv[i]));
                av[argv.Count] = 0;
                for (int i = 0; i < envp.Count; i++) ev[i] = Pin(Terminated(envp[i]));
                ev[envp.Count] = 0;
                return HostSyscall.Call(59 /* execve */, Pin(Terminated(file)), (long)av, (long)ev);
            }
            finally
            {
                System.Runtime.InteropServices.NativeMemory.Free(ev);
                System.Runtime.InteropServices.NativeMemory.Free(av);
            }
        }
        finally
        {
            foreach (var h in pins) h.Free();
        }

        long Pin(byte[] b)
        {
            var h = System.Runtime.InteropServices.GCHandle.Alloc(b, System.Runtime.InteropServices.GCHandleType.Pinned);
            pins.Add(h);
            return h.AddrOfPinnedObject();
        }
    }

    private static byte[] Terminated(byte[] s) =>
        s.Length > 0 && s[^1] == 0 ? s : [.. s, 0];

    /// <summary>
    /// Before an exec: every signal the guest ignores is ignored on the host too (the emulator keeps its own host
    /// handlers for the signals it uses, which a guest cannot ignore meaningfully anyway), so the next program
    /// starts with it ignored, as Linux keeps SIG_IGN across execve.
    /// </summary>
    private static void InheritIgnoredSignals(GuestProcess p)
    {
        for (int sig = 1; sig < 32; sig++)
        {
            if (!InheritableOnHost(sig)) continue;
            if (p.SigHandlers[sig * 4] != SigIgn) continue;
            var act = default(Tmds.Linux.sigaction);
            act.sa_handler = (void*)SigIgn;
            Tmds.Linux.LibC.sigaction(sig, &act, null);
        }
    }

    /// <summary>Signals whose host disposition carries the guest's SIG_IGN over an exec: not the faults the emulator
    /// handles itself, not SIGKILL/SIGSTOP, and not SIGPIPE, which the .NET runtime ignores in every process (a
    /// guest's SIGPIPE comes from its EPIPE), so an inherited SIG_IGN could not be told apart.</summary>
    public static bool InheritableOnHost(int sig) => sig is not (4 or 5 or 7 or 8 or 9 or 11 or 13 or 19);

    /// <summary>At start: the signals this process inherited as ignored are ignored by the guest (what an exec from
    /// a shell's background job or nohup leaves), set into <paramref name="handlers"/>.</summary>
    public static void ReadInheritedIgnores(ulong[] handlers)
    {
        for (int sig = 1; sig < 32; sig++)
        {
            if (!InheritableOnHost(sig)) continue;
            var old = default(Tmds.Linux.sigaction);
            if (Tmds.Linux.LibC.sigaction(sig, null, &old) == 0 && (ulong)old.sa_handler == SigIgn) handlers[sig * 4] = SigIgn;
        }
    }
}
