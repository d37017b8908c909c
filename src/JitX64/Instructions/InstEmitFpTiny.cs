using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// FPCR.FZ's one difference from x86's FTZ. A64 flushes a result that is tiny before rounding (the Arm ARM's
/// FPRoundBase compares the exact value's exponent with the minimum), x86 one that is tiny after rounding; so a
/// product, quotient or fused sum just below the smallest normal that rounds up to it is kept by SSE and is zero on
/// A64 (qemu-aarch64 agrees with A64). Only a result whose magnitude is exactly the smallest normal can differ, and
/// that is rare, so the check is one compare of the result's bits with a branch not taken; out of line, under FZ,
/// the operation runs again rounding toward zero: the exact result was below the smallest normal exactly when that
/// result is below it too (the smallest normal is representable), and FTZ then turns it into A64's signed zero;
/// otherwise it is the smallest normal again, the same as the first result. The recomputation's exception flags are
/// dropped (MXCSR is restored), so the first computation's stand.
/// </summary>
public static partial class InstEmit
{
    /// <summary>
    /// For a scalar result in xmm0's low lane: when its magnitude is the smallest normal and FPCR.FZ is set,
    /// <paramref name="recompute"/> (which must compute it into xmm0 again from guest registers not written yet)
    /// runs rounding toward zero. Clobbers rax.
    /// </summary>
    internal static void EmitFzTinyScalar(EmitterContext ctx, bool dbl, Action recompute)
    {
        var a = ctx.Asm;
        var back = a.CreateLabel();
        if (dbl) { a.movq(rax, xmm0); a.add(rax, rax); a.rol(rax, 11); a.cmp(rax, 1); } // 2^-1022 << 1 = 2^-1021 rotates to 1
        else { a.movd(eax, xmm0); a.add(eax, eax); a.cmp(eax, 0x01000000); }            // 2^-126 << 1, the sign shifted out
        a.je(ctx.Cold(back, () => EmitRecomputeTowardZero(ctx, recompute)));
        a.Label(ref back);
    }

    /// <summary>The same for packed results in xmm0, lanes selected by <paramref name="laneMask"/> (movmskps/pd bits).
    /// Clobbers xmm7 and rax.</summary>
    internal static void EmitFzTinyPacked(EmitterContext ctx, bool dbl, int laneMask, Action recompute)
    {
        var a = ctx.Asm;
        var back = a.CreateLabel();
        a.movaps(xmm7, xmm0);
        if (dbl)
        {
            a.psllq(xmm7, 1);
            a.pcmpeqq(xmm7, Const(ctx, SimdConst.Dup(0x0020000000000000UL)));
            a.movmskpd(eax, xmm7);
        }
        else
        {
            a.pslld(xmm7, 1);
            a.pcmpeqd(xmm7, Const(ctx, SimdConst.Dup(0x0100000001000000UL)));
            a.movmskps(eax, xmm7);
        }
        a.test(eax, laneMask);
        a.jne(ctx.Cold(back, () => EmitRecomputeTowardZero(ctx, recompute, packed: true)));
        a.Label(ref back);
    }

    /// <summary>Under FPCR.FZ: runs <paramref name="recompute"/> with MXCSR's rounding control set to toward zero
    /// (FTZ and DAZ stay as FZ set them), then restores MXCSR, flags included. Without FZ nothing changes.
    /// <paramref name="packed"/>: only the lanes xmm7 marks (those whose first result was the smallest normal) take the
    /// recomputed value; the others keep their first result, rounded as FPCR says (taking every lane of the second,
    /// rounded toward zero, was the fuzzer's FMLA/FMLS-by-element difference from qemu under FZ: 1 ulp in a lane next to
    /// one that came out as the smallest normal).</summary>
    private static void EmitRecomputeTowardZero(EmitterContext ctx, Action recompute, bool packed = false)
    {
        var a = ctx.Asm;
        var keep = a.CreateLabel();
        a.bt(EmitterContext.Fpcr, 24);
        a.jae(keep);
        a.sub(rsp, 48); // a multiple of 16: rsp stays aligned for a helper the recomputation may call
        a.stmxcsr(__dword_ptr[rsp]);
        if (packed)
        {
            a.movdqu(__xmmword_ptr[rsp + 16], xmm0); // the first result
            a.movdqu(__xmmword_ptr[rsp + 32], xmm7); // the lanes to take from the second
        }
        a.mov(eax, __dword_ptr[rsp]);
        a.or(eax, 0x6000); // RC = 11, toward zero
        a.mov(__dword_ptr[rsp + 4], eax);
        a.ldmxcsr(__dword_ptr[rsp + 4]);
        recompute();
        a.ldmxcsr(__dword_ptr[rsp]);
        if (packed)
        {
            a.movdqu(xmm7, __xmmword_ptr[rsp + 32]);
            a.pand(xmm0, xmm7);
            a.pandn(xmm7, __xmmword_ptr[rsp + 16]);
            a.por(xmm0, xmm7);
        }
        a.add(rsp, 48);
        a.Label(ref keep);
    }
}
