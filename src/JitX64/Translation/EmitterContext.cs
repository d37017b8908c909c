using Dqemu.JitX64.State;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Translation;

/// <summary>
/// What an emitter sees while translating one block: the Iced assembler, the guest PC, and the one small
/// register layer through which every emitter reaches guest registers, flags and memory (so caching guest
/// registers in host registers or lazier flags later changes only this file).
///
/// Host register convention inside translated code:
///   rbx = CpuState*, r15 = host address of guest address 0, r14 = guest address mask.
///   rax, rcx, rdx, rsi, rdi, r8-r11 are scratch for emitters; r12, r13, rbp are reserved.
///   Flag capture and condition evaluation use rax (and nothing else), so keep live values out of rax
///   across them. rsp is 16-byte aligned, so helpers may be called directly.
/// </summary>
public sealed partial class EmitterContext
{
    public static readonly AssemblerRegister64 CpuReg = rbx;
    public static readonly AssemblerRegister64 MemReg = r15;
    public static readonly AssemblerRegister64 MaskReg = r14;

    public Assembler Asm { get; }
    /// <summary>Address of the instruction being translated.</summary>
    public ulong Pc { get; internal set; }
    public ulong BlockStart { get; internal set; }
    /// <summary>Set by an emitter that ended the block with an exit or branch of its own.</summary>
    public bool BlockEnded { get; set; }
    public TranslatorOptions Options { get; }
    internal JitStubs Stubs { get; }

    private int _flagsCapturedAt = -1;

    internal EmitterContext(JitStubs stubs, TranslatorOptions options)
    {
        Asm = new Assembler(64);
        Stubs = stubs;
        Options = options;
    }

    internal void Reset(ulong pc)
    {
        Asm.Reset();
        Pc = pc;
        BlockStart = pc;
        BlockEnded = false;
        _flagsCapturedAt = -1;
    }

    // ---- guest general-purpose registers ----

    public static AssemblerMemoryOperand X(int r) => __qword_ptr[rbx + CpuOffsets.Xn(r)];
    public static AssemblerMemoryOperand W(int r) => __dword_ptr[rbx + CpuOffsets.Xn(r)];
    public static AssemblerMemoryOperand CpuField64(int offset) => __qword_ptr[rbx + offset];
    public static AssemblerMemoryOperand CpuField32(int offset) => __dword_ptr[rbx + offset];

    /// <summary>Loads Xr (31 reads as zero) into <paramref name="dst"/>. Leaves host flags alone.</summary>
    public void LoadX(AssemblerRegister64 dst, int r)
    {
        if (r == 31) Asm.mov(R32(dst), 0);
        else Asm.mov(dst, X(r));
    }

    /// <summary>Loads Xr where 31 means SP.</summary>
    public void LoadXsp(AssemblerRegister64 dst, int r) => Asm.mov(dst, X(r));

    /// <summary>Loads Wr zero-extended into the whole register (31 reads as zero).</summary>
    public void LoadW(AssemblerRegister64 dst, int r)
    {
        if (r == 31) Asm.mov(R32(dst), 0);
        else Asm.mov(R32(dst), W(r));
    }

    /// <summary>Loads Xr or Wr (zero-extended) by <paramref name="sf"/>.</summary>
    public void LoadR(AssemblerRegister64 dst, int r, bool sf)
    {
        if (sf) LoadX(dst, r); else LoadW(dst, r);
    }

    public void LoadRsp(AssemblerRegister64 dst, int r, bool sf)
    {
        if (sf) Asm.mov(dst, X(r)); else Asm.mov(R32(dst), W(r));
    }

    /// <summary>Writes Xr (a write to 31 is discarded).</summary>
    public void StoreX(int r, AssemblerRegister64 src)
    {
        if (r != 31) Asm.mov(X(r), src);
    }

    public void StoreXsp(int r, AssemblerRegister64 src) => Asm.mov(X(r), src);

    /// <summary>
    /// Writes Xr or Wr. For a W write the upper half of <paramref name="src"/> must already be zero, as it
    /// is after any 32-bit x86 operation or 32-bit load into it.
    /// </summary>
    public void StoreR(int r, AssemblerRegister64 src, bool sf)
    {
        if (r != 31) Asm.mov(X(r), src);
    }

    public void StoreRsp(int r, AssemblerRegister64 src, bool sf) => Asm.mov(X(r), src);

    /// <summary>Writes an immediate into Xr (31 discarded).</summary>
    public void StoreXImm(int r, ulong value)
    {
        if (r == 31) return;
        StoreImm64(X(r), value);
    }

    /// <summary>Stores a 64-bit constant to memory, through rax only when it does not fit an imm32.</summary>
    public void StoreImm64(AssemblerMemoryOperand mem, ulong value)
    {
        if ((long)value == (int)value) Asm.mov(mem, (int)value);
        else { Asm.mov(rax, value); Asm.mov(mem, rax); }
    }

    // ---- SIMD&FP registers ----

    public static AssemblerMemoryOperand V(int n) => __xmmword_ptr[rbx + CpuOffsets.Vn(n)];
    public static AssemblerMemoryOperand VD(int n) => __qword_ptr[rbx + CpuOffsets.Vn(n)];
    public static AssemblerMemoryOperand VS(int n) => __dword_ptr[rbx + CpuOffsets.Vn(n)];
    public static AssemblerMemoryOperand VH(int n) => __word_ptr[rbx + CpuOffsets.Vn(n)];
    public static AssemblerMemoryOperand VB(int n) => __byte_ptr[rbx + CpuOffsets.Vn(n)];
    public static AssemblerMemoryOperand VHigh(int n) => __qword_ptr[rbx + CpuOffsets.Vn(n) + 8];

    /// <summary>Zeroes bits 127..64 of Vn, as every scalar and 64-bit vector write does.</summary>
    public void ClearVHigh(int n) => Asm.mov(VHigh(n), 0);

    // ---- guest memory ----

    /// <summary>
    /// Confines a guest address to the reservation (DESIGN.md invariant 1) and returns nothing: use
    /// <see cref="Mem64"/> and friends with the same register afterwards. Clobbers host flags.
    /// </summary>
    public void MaskAddress(AssemblerRegister64 addr) => Asm.and(addr, r14);

    public static AssemblerMemoryOperand Mem64(AssemblerRegister64 addr) => __qword_ptr[r15 + addr];
    public static AssemblerMemoryOperand Mem32(AssemblerRegister64 addr) => __dword_ptr[r15 + addr];
    public static AssemblerMemoryOperand Mem16(AssemblerRegister64 addr) => __word_ptr[r15 + addr];
    public static AssemblerMemoryOperand Mem8(AssemblerRegister64 addr) => __byte_ptr[r15 + addr];
    public static AssemblerMemoryOperand Mem128(AssemblerRegister64 addr) => __xmmword_ptr[r15 + addr];
    public static AssemblerMemoryOperand MemAny(AssemblerRegister64 addr) => __[r15 + addr];

    // ---- helpers ----

    /// <summary>Calls a native helper (System V ABI). Clobbers every caller-saved register.</summary>
    public void CallHelper(nint function)
    {
        Asm.mov(rax, (ulong)function);
        Asm.call(rax);
    }

    public static AssemblerRegister32 R32(AssemblerRegister64 r) => new(r.Value - Register.RAX + Register.EAX);
    public static AssemblerRegister16 R16(AssemblerRegister64 r) => new(r.Value - Register.RAX + Register.AX);
    public static AssemblerRegister8 R8(AssemblerRegister64 r)
    {
        // Iced numbers AL..BL then SPL..R15L; the legacy AH..BH sit between, so map explicitly.
        int i = r.Value - Register.RAX;
        return new AssemblerRegister8(i < 4 ? Register.AL + i : Register.SPL + (i - 4));
    }
}
