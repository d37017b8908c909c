using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Host;

/// <summary>Small pieces of host code the runtime calls through function pointers.</summary>
public static class NativeThunks
{
    /// <summary>
    /// long Syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5): the raw host system call,
    /// returning the kernel's result (-errno on failure) with no libc errno in between.
    /// </summary>
    public static nint CreateSyscall(CodeCache cache)
    {
        var a = new Assembler(64);
        a.mov(rax, rdi);
        a.mov(rdi, rsi);
        a.mov(rsi, rdx);
        a.mov(rdx, rcx);
        a.mov(r10, r8);
        a.mov(r8, r9);
        a.mov(r9, __qword_ptr[rsp + 8]);
        a.syscall();
        a.ret();
        return (nint)cache.Place(a, "dqemu:syscall");
    }

    /// <summary>
    /// long Call(long nr, long a0, long a1, long a2, int* gate, int* inside): one raw system call (of up to three
    /// arguments; the fourth is 0) that a fork can wait out. *gate is set by a thread about to fork; *inside says the calling thread is in this code. Only code reached
    /// through an unmanaged call is certainly outside the .NET runtime's cooperative mode: a thread the forked child
    /// does not have must not be in that mode at the fork, nor inside a lock or the runtime's wait subsystem, or the
    /// child hangs in its next garbage collection or contended lock. So the thread says it is here (*inside = 1), and
    /// on the way out it clears that and looks at *gate; while a fork is under way it stays (*inside = 1 again) on a
    /// futex until *gate is 0. Both sides write with xchg (a full barrier) before they read the other's word, so the
    /// forking thread either sees this one leave or this one sees the fork coming.
    /// </summary>
    public static nint CreateParkingCall(CodeCache cache)
    {
        var a = new Assembler(64);
        Label leave = a.CreateLabel(), park = a.CreateLabel(), done = a.CreateLabel();
        a.push(rbx);
        a.mov(rbx, r9);                       // inside
        a.mov(eax, 1);
        a.xchg(__dword_ptr[rbx], eax);
        a.mov(rax, rdi);                      // the call
        a.mov(rdi, rsi);
        a.mov(rsi, rdx);
        a.mov(rdx, rcx);
        a.xor(r10d, r10d);                    // a fourth argument of 0 (a futex wait's timeout: none)
        a.syscall();                          // clobbers rcx and r11 only
        a.mov(r9, rax);                       // its result, kept across the futex calls
        a.Label(ref leave);
        a.xor(eax, eax);
        a.xchg(__dword_ptr[rbx], eax);        // leaving
        a.cmp(__dword_ptr[r8], 0);
        a.je(done);
        a.mov(eax, 1);
        a.xchg(__dword_ptr[rbx], eax);        // a fork is under way: inside again, and wait
        a.Label(ref park);
        a.mov(rdi, r8);                       // futex(gate, FUTEX_WAIT_PRIVATE, 1, NULL)
        a.mov(esi, 128);
        a.mov(edx, 1);
        a.xor(r10d, r10d);
        a.mov(eax, 202);
        a.syscall();
        a.cmp(__dword_ptr[r8], 0);
        a.jne(park);
        a.jmp(leave);
        a.Label(ref done);
        a.mov(rax, r9);
        a.pop(rbx);
        a.ret();
        return (nint)cache.Place(a, "dqemu:parking-call");
    }

    /// <summary>
    /// nuint Copy(void* dst, void* src, nuint len): copies with one <c>rep movsb</c> and returns how many bytes it did
    /// NOT copy, 0 when all were. It is how managed code touches guest memory: a guest page can fault even after the
    /// layout says it is accessible (a file page past the end of its file raises SIGBUS, another thread may unmap it),
    /// and the host fault handler resumes a fault at <see cref="GuardedCopyThunk.FaultRip"/> at
    /// <see cref="GuardedCopyThunk.ResumeRip"/>, which returns what rcx still counts, as Linux's copy_from_user does.
    /// </summary>
    public static GuardedCopyThunk CreateGuardedCopy(CodeCache cache)
    {
        var a = new Assembler(64);
        a.mov(rcx, rdx);
        a.rep.movsb();     // index 1: the only instruction that touches the copied memory
        a.xor(eax, eax);
        a.ret();
        a.mov(rax, rcx);   // index 4: resumed here after a fault, with rcx the bytes left
        a.ret();
        Span<uint> offsets = stackalloc uint[2];
        ulong entry = cache.Place(a, [1, 4], offsets);
        cache.NameStub(entry, entry + offsets[1] + 4, "dqemu:guarded-copy"); // mov rax, rcx; ret: the last 4 bytes
        return new GuardedCopyThunk((nint)entry, entry + offsets[0], entry + offsets[1]);
    }
}

/// <summary>The guarded copy routine (<see cref="NativeThunks.CreateGuardedCopy"/>) and where its fault is resumed.</summary>
public readonly record struct GuardedCopyThunk(nint Entry, ulong FaultRip, ulong ResumeRip);
