using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Signal;

public static partial class NativeSignalHandlerGenerator
{
    /// <summary>Bytes of a host siginfo_t.</summary>
    public const int SiginfoSize = 128;

    /// <summary>Bytes of a forwarded record: the siginfo, then the tid of the thread the signal hit (4 bytes), padding.</summary>
    public const int ForwardRecordSize = 136;

    /// <summary>
    /// An SA_SIGINFO handler that writes one record to <paramref name="fd"/> and returns: its siginfo and the host tid
    /// of the thread it runs on (a timer's signal for one thread lands on that thread). A host signal becomes a record a
    /// managed thread reads: no managed code may run in a signal handler. One raw write(2) of the whole record, so
    /// records from several threads never interleave; it is async-signal-safe and leaves errno alone. With
    /// <paramref name="fd"/> non-blocking, a full pipe drops the record rather than blocking the interrupted thread.
    /// </summary>
    public static nint GenerateForwardInfo(CodeCache cache, int fd)
    {
        var a = new Assembler(64);
        // handler(int sig, siginfo_t* info, void* uctx); the kernel enters with the direction flag clear
        a.sub(rsp, ForwardRecordSize + 8); // keeps rsp 16-byte aligned (it was 8 off at entry)
        a.mov(rdi, rsp);
        a.mov(ecx, SiginfoSize);
        a.rep.movsb(); // rsi = info
        a.mov(eax, 186); // gettid
        a.syscall();
        a.mov(__dword_ptr[rsp + SiginfoSize], eax);
        a.mov(__dword_ptr[rsp + SiginfoSize + 4], 0);
        a.mov(edi, fd);
        a.mov(rsi, rsp);
        a.mov(edx, ForwardRecordSize);
        a.mov(eax, 1); // write
        a.syscall();
        a.add(rsp, ForwardRecordSize + 8);
        a.ret();
        return (nint)cache.Place(a, "dqemu:forward-signal-handler");
    }
}
