using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Signal;

public static partial class NativeSignalHandlerGenerator
{
    /// <summary>Most ranges <see cref="GenerateInterrupt"/>'s table holds (two a translator).</summary>
    public const int MaxGuestContextRanges = 16;

    /// <summary>Bytes of the range table: a count (8 bytes), then <see cref="MaxGuestContextRanges"/> pairs of
    /// (start, length).</summary>
    public const int GuestContextTableSize = 8 + 16 * MaxGuestContextRanges;

    /// <summary>
    /// The interrupt signal's handler. Installed without SA_RESTART, it makes a blocking host syscall of the thread it
    /// hits return EINTR, so a guest signal can be delivered. And when the thread was running translated code (its RIP in
    /// one of the ranges at <paramref name="table"/>, whose count is read at every signal: the guest context, where r14
    /// holds the limit of <see cref="JitStubs.EmitLoadLimit"/>) it sets the interrupted r14 to 0, so the thread's next
    /// block entry leaves with an Interrupt exit; an access before then takes the out-of-line address check, which
    /// compares with the limit in CpuState. Anywhere else r14 is not translated code's and is left alone (a thread in
    /// managed code reads the request itself: at Enter, or after the helper call it is in).
    /// </summary>
    public static nint GenerateInterrupt(CodeCache cache, nint table)
    {
        var a = new Assembler(64);
        var next = a.CreateLabel();
        var done = a.CreateLabel();
        // rdi = signal, rsi = siginfo_t*, rdx = ucontext_t*
        a.mov(rax, __qword_ptr[rdx + GregsOffset + 8 * RegRip]);
        a.mov(rcx, (ulong)table);
        a.mov(r8, __qword_ptr[rcx]);                      // the count
        a.Label(ref next);
        a.test(r8, r8);
        a.je(done);
        a.add(rcx, 16);
        a.sub(r8, 1);
        a.mov(r9, rax);
        a.sub(r9, __qword_ptr[rcx - 8]);                  // rip - start
        a.cmp(r9, __qword_ptr[rcx]);                      // below the length?
        a.jae(next);
        a.mov(__qword_ptr[rdx + GregsOffset + 8 * GregIndex(r14)], 0);
        a.Label(ref done);
        a.ret();
        return (nint)cache.Place(a, "dqemu:interrupt-handler");
    }
}
