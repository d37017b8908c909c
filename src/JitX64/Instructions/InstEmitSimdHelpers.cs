using Dqemu.JitX64.Decoders;
using System.Runtime.InteropServices;
using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>A C# implementation of one instruction (or one slow path of it) working on the guest state.</summary>
public unsafe delegate void SoftImpl(CpuState* cpu, A64Op op);

/// <summary>
/// Slow paths of the FP/SIMD emitters: translated code calls <see cref="Entry"/> with (cpu, instruction word,
/// index) and the registered C# implementation computes the instruction's whole result into the guest state
/// (Vd, Xd or NZCV). Used for rare instructions and for the rare inputs where SSE and A64 disagree
/// (NaN results, saturating conversions). All guest registers live in CpuState across the call.
/// </summary>
internal static unsafe class SoftRegistry
{
    private static SoftImpl[] _impls = new SoftImpl[128];
    private static int _count;
    private static readonly object Lock = new();

    public static int Register(SoftImpl impl)
    {
        lock (Lock)
        {
            if (_count == _impls.Length)
            {
                var bigger = new SoftImpl[_impls.Length * 2];
                Array.Copy(_impls, bigger, _count);
                _impls = bigger;
            }
            _impls[_count] = impl;
            return _count++;
        }
    }

    [UnmanagedCallersOnly]
    public static void Entry(CpuState* cpu, uint word, int index) => _impls[index](cpu, new A64Op(word));

    public static nint EntryPointer => (nint)(delegate* unmanaged<CpuState*, uint, int, void>)&Entry;
}

/// <summary>
/// 16-byte aligned constants (shuffle masks, lane masks) in native memory that lives as long as the process;
/// translated code addresses them through rax. Deduplicated, so the pool stays small.
/// </summary>
internal static unsafe class SimdConst
{
    private const int BlockSize = 4096;
    private static byte* _block;
    private static int _used = BlockSize;
    private static readonly Dictionary<(ulong, ulong), nint> Map = new();
    private static readonly object Lock = new();

    public static nint Get(ulong lo, ulong hi)
    {
        lock (Lock)
        {
            if (Map.TryGetValue((lo, hi), out nint addr)) return addr;
            if (_used + 16 > BlockSize)
            {
                _block = (byte*)NativeMemory.AlignedAlloc(BlockSize, 64);
                _used = 0;
            }
            ulong* p = (ulong*)(_block + _used);
            p[0] = lo;
            p[1] = hi;
            _used += 16;
            addr = (nint)p;
            Map[(lo, hi)] = addr;
            return addr;
        }
    }

    public static nint Dup(ulong v) => Get(v, v);

    /// <summary>Bytes b0..b15 as a constant.</summary>
    public static nint Bytes(ReadOnlySpan<byte> b)
    {
        ulong lo = 0, hi = 0;
        for (int i = 0; i < 8; i++) lo |= (ulong)b[i] << (8 * i);
        for (int i = 0; i < 8; i++) hi |= (ulong)b[8 + i] << (8 * i);
        return Get(lo, hi);
    }
}


public static partial class InstEmit
{
    /// <summary>
    /// Calls the registered C# implementation <paramref name="index"/> for <paramref name="op"/>. MXCSR is
    /// saved and restored around the call: the guest's FPSR flags come from MXCSR's sticky bits, and the
    /// managed code (its own arithmetic, the runtime's transitions) must not add to them. The flags the
    /// fast path raised before branching here (invalid for signalling NaNs and invalid operations,
    /// conversion overflow, ...) stay.
    /// </summary>
    internal static void EmitSoft(EmitterContext ctx, A64Op op, int index)
    {
        var a = ctx.Asm;
        a.sub(rsp, 16);
        a.stmxcsr(__dword_ptr[rsp]);
        a.mov(rdi, rbx);
        a.mov(esi, (int)op.Word);
        a.mov(edx, index);
        ctx.CallHelper(SoftRegistry.EntryPointer);
        a.ldmxcsr(__dword_ptr[rsp]);
        a.add(rsp, 16);
    }

    /// <summary>Loads Vn: the whole register when <paramref name="q"/>, else the low 64 bits (upper zeroed).</summary>
    internal static void LoadVec(EmitterContext ctx, AssemblerRegisterXMM x, int n, bool q)
    {
        if (q) ctx.LoadV(x, n);
        else ctx.LoadV64(x, n);
    }

    /// <summary>Stores a vector result: 128 bits, or the low 64 with bits 127..64 of Vd zeroed.</summary>
    internal static void StoreVec(EmitterContext ctx, int d, AssemblerRegisterXMM x, bool q)
    {
        if (q) ctx.StoreV(d, x);
        else ctx.StoreV64(d, x);
    }

    /// <summary>Stores the low 64 bits of x to Vd and zeroes bits 127..64.</summary>
    internal static void StoreVec64(EmitterContext ctx, int d, AssemblerRegisterXMM x) => ctx.StoreV64(d, x);

    /// <summary>x = the 64-bit constant in its low half, zero above (through rax).</summary>
    internal static void LoadConst64(EmitterContext ctx, AssemblerRegisterXMM x, ulong value)
    {
        var a = ctx.Asm;
        if (value == 0) { a.xorps(x, x); return; }
        a.mov(rax, value);
        a.movq(x, rax);
    }

    /// <summary>x = the 64-bit constant in both halves (through rax).</summary>
    internal static void LoadConstDup64(EmitterContext ctx, AssemblerRegisterXMM x, ulong value)
    {
        var a = ctx.Asm;
        if (value == 0) { a.xorps(x, x); return; }
        if (value == ulong.MaxValue) { a.pcmpeqd(x, x); return; }
        a.mov(rax, value);
        a.movq(x, rax);
        a.punpcklqdq(x, x);
    }

    /// <summary>x = a 128-bit constant (through rax).</summary>
    internal static void LoadConst128(EmitterContext ctx, AssemblerRegisterXMM x, ulong lo, ulong hi)
    {
        var a = ctx.Asm;
        if (lo == hi) { LoadConstDup64(ctx, x, lo); return; }
        LoadConst64(ctx, x, lo);
        if (hi != 0)
        {
            a.mov(rax, hi);
            a.pinsrq(x, rax, 1);
        }
    }

    /// <summary>The 32-bit constant in every lane (through eax).</summary>
    internal static void LoadConstDup32(EmitterContext ctx, AssemblerRegisterXMM x, uint value)
    {
        var a = ctx.Asm;
        if (value == 0) { a.xorps(x, x); return; }
        if (value == uint.MaxValue) { a.pcmpeqd(x, x); return; }
        a.mov(eax, (int)value);
        a.movd(x, eax);
        a.pshufd(x, x, 0);
    }

    /// <summary>Memory operand for a pooled constant: loads its address into rax.</summary>
    internal static AssemblerMemoryOperand Const(EmitterContext ctx, nint addr)
    {
        ctx.Asm.mov(rax, (ulong)addr);
        return __xmmword_ptr[rax];
    }

    /// <summary>x = pooled constant (movdqa from the pool, through rax).</summary>
    internal static void LoadConst(EmitterContext ctx, AssemblerRegisterXMM x, nint addr)
        => ctx.Asm.movdqa(x, Const(ctx, addr));

    internal static AssemblerRegisterXMM Xmm(int i) => new(Register.XMM0 + i);
}
