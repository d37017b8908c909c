using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Signal;

public static partial class NativeSignalHandlerGenerator
{
    /// <summary>Bytes of a host siginfo_t: what the forwarding handler writes per signal.</summary>
    public const int SiginfoSize = 128;

    /// <summary>
    /// An SA_SIGINFO handler that writes its siginfo (128 bytes) to <paramref name="fd"/> and returns: a host signal
    /// becomes a record a managed thread reads (no managed code may run in a signal handler). One raw write(2): it
    /// is async-signal-safe and leaves errno alone; with <paramref name="fd"/> non-blocking, a full pipe drops the
    /// record rather than blocking the interrupted thread (the signals forwarded this way are not queued by Linux
    /// either).
    /// </summary>
    public static nint GenerateForwardInfo(CodeCache cache, int fd)
    {
        var a = new Assembler(64);
        // handler(int sig, siginfo_t* info, void* uctx): rsi is the siginfo already
        a.mov(edi, fd);
        a.mov(edx, SiginfoSize);
        a.mov(eax, 1); // write
        a.syscall();
        a.ret();
        return (nint)cache.Place(a, "dqemu:forward-signal-handler");
    }
}
