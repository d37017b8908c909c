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
        return (nint)cache.Place(a);
    }
}
