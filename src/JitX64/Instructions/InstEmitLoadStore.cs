using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// The one place where load/store forms compute guest addresses, shared by the GPR, SIMD&amp;FP, pair,
/// structure, exclusive and atomic emitters, plus the sized data moves they all use.
///
/// Every address ends up in <see cref="Addr"/> (rsi), already masked (DESIGN.md invariant 1), so an access
/// is <c>[r15 + rsi + disp]</c> with 0 &lt;= disp &lt; 64 KiB + 64: the reservation's 1 MiB guard region covers
/// it, and the fault handler treats the guard as guest memory (a guest SIGSEGV).
/// Each address function takes the span the instruction's accesses cover from the address; for a split-aware
/// instruction (EmitterContext.SplitAware) the displacement is folded into rsi and the split-page redirect may
/// move rsi to a shadow page (EmitterContext.CheckAddress; entry format at CpuState.SplitMap).
/// Pre/post-index forms also leave the updated (unmasked) base in <see cref="NewBase"/> (rdi), written back
/// to Rn by <see cref="Writeback"/> AFTER the access. That order is what qemu does for the CONSTRAINED
/// UNPREDICTABLE Rt==Rn cases: a load with writeback ends with Rn = the new base, a store stores the old Rn.
/// Data goes through rcx/rdx and xmm0/xmm1, or a loaded value straight into its register's host copy
/// (EmitterContext.ResultReg); rax is left to flag capture and the cmpxchg users.
/// </summary>
internal static partial class LdSt
{
    public static readonly AssemblerRegister64 Addr = rsi;
    public static readonly AssemblerRegister64 NewBase = rdi;

    public enum Index { Offset, Pre, Post }

    // ---- addresses ----

    /// <summary>
    /// Computes the address of [Xn|SP + offset] (<see cref="Index.Offset"/>, <see cref="Index.Pre"/>) or
    /// [Xn|SP] (<see cref="Index.Post"/>) and returns the displacement the access must add to rsi:
    /// rsi + disp is the masked address. A non-negative offset is not added before masking but returned as the
    /// displacement (one instruction less; the access may then run past the reservation into its guard,
    /// which faults like any unmapped guest address); a negative one is added first, so nothing can reach
    /// below the reservation. With writeback rdi = Xn|SP + offset. A non-negative <paramref name="postRm"/>
    /// makes the post-index amount Xm instead (SIMD structure forms).
    /// <paramref name="span"/> is the number of bytes the instruction's accesses cover from the address (for
    /// the split-page redirect of split-aware instructions, which also fold the displacement into rsi and
    /// return 0; see <see cref="EmitterContext.CheckAddress"/>).
    /// </summary>
    public static int Address(EmitterContext ctx, int rn, long offset, Index mode, int span, int postRm = -1, bool reuse = false)
    {
        var a = ctx.Asm;
        int off = (int)offset;
        int disp = 0;
        // rsi = mask(Xn) when off >= 0 (the access adds off), else mask(Xn + off); split-aware: redirect(mask(Xn) + off)
        bool folded = ctx.SplitAware || off < 0;
        var key = new EmitterContext.AddressKey(rn, -1, folded ? off : 0, 0, 0, ctx.SplitAware ? span : 0, ctx.SplitAware);
        reuse &= mode == Index.Offset;
        if (reuse && ctx.TryReuseAddress(key)) return folded ? 0 : off;
        ctx.LoadXsp(rsi, rn);
        switch (mode)
        {
            case Index.Offset:
                if (off >= 0) disp = off;
                else a.add(rsi, off);
                break;
            case Index.Pre:
                if (off >= 0) { a.lea(rdi, __[rsi + off]); disp = off; }
                else { a.add(rsi, off); a.mov(rdi, rsi); }
                break;
            case Index.Post:
                if (postRm >= 0)
                {
                    ctx.LoadX(rdi, postRm);
                    a.add(rdi, rsi);
                }
                else a.lea(rdi, __[rsi + off]);
                break;
        }
        int result = ctx.CheckAddress(span, disp);
        if (reuse) ctx.NoteAddress(key);
        return result;
    }

    /// <summary>
    /// rsi = mask(Xn|SP + extend(Rm) &lt;&lt; shift) for the register-offset forms, accessing
    /// <paramref name="span"/> bytes from there. Clobbers rcx.
    /// </summary>
    public static void AddressIndexed(EmitterContext ctx, int rn, int rm, int option, int shift, int span, bool reuse = false)
    {
        var a = ctx.Asm;
        var key = new EmitterContext.AddressKey(rn, rm, 0, option, shift, ctx.SplitAware ? span : 0, ctx.SplitAware);
        if (reuse && ctx.TryReuseAddress(key)) return;
        ctx.LoadXsp(rsi, rn);
        if (rm != 31) // XZR adds nothing
        {
            switch (option)
            {
                case 2: ctx.LoadW(rcx, rm); break;                     // UXTW
                case 6:                                                  // SXTW
                    if (ctx.Cached(rm) is { } h6) a.movsxd(rcx, EmitterContext.R32(h6));
                    else a.movsxd(rcx, EmitterContext.W(rm));
                    break;
                default:                                                 // LSL/UXTX, SXTX
                    if (shift == 0)
                    {
                        if (ctx.Cached(rm) is { } h0) a.add(rsi, h0); else a.add(rsi, EmitterContext.X(rm));
                        goto done;
                    }
                    ctx.LoadX(rcx, rm);
                    break;
            }
            if (shift <= 3) a.lea(rsi, __[rsi + rcx * (1 << shift)]);
            else { a.shl(rcx, (byte)shift); a.add(rsi, rcx); }
        }
    done:
        ctx.CheckAddress(span);
        if (reuse) ctx.NoteAddress(key);
    }

    /// <summary>rsi = mask(constant), for the PC-relative literal forms, accessing <paramref name="span"/> bytes.</summary>
    public static void AddressConst(EmitterContext ctx, ulong address, int span)
    {
        if (address <= uint.MaxValue) ctx.Asm.mov(esi, (uint)address);
        else ctx.Asm.mov(rsi, address);
        ctx.CheckAddress(span);
    }

    public static void Writeback(EmitterContext ctx, int rn, Index mode)
    {
        if (mode != Index.Offset) ctx.StoreXsp(rn, rdi);
    }

    // ---- operands ----

    public static AssemblerMemoryOperand Mem(int bytes, int disp = 0) => bytes switch
    {
        1 => __byte_ptr[r15 + rsi + disp],
        2 => __word_ptr[r15 + rsi + disp],
        4 => __dword_ptr[r15 + rsi + disp],
        8 => __qword_ptr[r15 + rsi + disp],
        _ => __xmmword_ptr[r15 + rsi + disp],
    };

    public static void MovRegFromMem(Assembler a, AssemblerRegister64 r, int bytes, AssemblerMemoryOperand m)
    {
        switch (bytes)
        {
            case 1: a.movzx(EmitterContext.R32(r), m); break;
            case 2: a.movzx(EmitterContext.R32(r), m); break;
            case 4: a.mov(EmitterContext.R32(r), m); break;
            default: a.mov(r, m); break;
        }
    }

    // ---- GPR data ----

    /// <summary>
    /// r = the 2^size-byte value at [rsi+disp], zero- or sign-extended (to 64 bits when
    /// <paramref name="to64"/>, else to 32 with the upper half zero).
    /// </summary>
    public static void LoadGprTo(EmitterContext ctx, AssemblerRegister64 r, int size, bool signed, bool to64, int disp = 0)
    {
        var a = ctx.Asm;
        var r32 = EmitterContext.R32(r);
        var m = Mem(1 << size, disp);
        if (!signed) { MovRegFromMem(a, r, 1 << size, m); return; }
        switch (size)
        {
            case 0:
            case 1:
                if (to64) a.movsx(r, m); else a.movsx(r32, m);
                break;
            case 2: a.movsxd(r, m); break;
            default: a.mov(r, m); break;
        }
    }

    /// <summary>Stores the low 2^size bytes of Xt (31 = zero) to [rsi+disp], from its host copy or through
    /// <paramref name="tmp"/>.</summary>
    public static void StoreGpr(EmitterContext ctx, int rt, int size, int disp = 0, AssemblerRegister64? tmp = null)
    {
        var a = ctx.Asm;
        var m = Mem(1 << size, disp);
        if (rt == 31) { a.mov(m, 0); return; }
        var r = ctx.Operand(rt, tmp ?? rcx, true); // Xt's host copy itself when it has one
        EmitterContext.StoreSized(a, m, 1 << size, r);
    }

    // ---- SIMD&FP data ----

    /// <summary>xmm = the 2^scale-byte value at [rsi+disp], zero-extended to 128 bits (scale 4 = Q). Clobbers rcx for B/H.</summary>
    public static void LoadVecTo(EmitterContext ctx, AssemblerRegisterXMM x, int scale, int disp = 0)
    {
        var a = ctx.Asm;
        switch (scale)
        {
            case 0:
            case 1:
                a.movzx(ecx, Mem(1 << scale, disp));
                a.movd(x, ecx);
                break;
            case 2: a.movd(x, Mem(4, disp)); break;
            case 3: a.movq(x, Mem(8, disp)); break;
            default: a.movdqu(x, Mem(16, disp)); break;
        }
    }

    /// <summary>Vt = xmm (all 128 bits: a scalar load has already zeroed the rest).</summary>
    public static void WriteV(EmitterContext ctx, int rt, AssemblerRegisterXMM x) => ctx.StoreV(rt, x);

    /// <summary>Stores the low 2^scale bytes of Vt to [rsi+disp]. Clobbers rcx or xmm0.</summary>
    public static void StoreVec(EmitterContext ctx, int rt, int scale, int disp = 0)
    {
        var a = ctx.Asm;
        int bytes = 1 << scale;
        if (scale == 4)
        {
            a.movdqu(Mem(16, disp), ctx.VOperand(rt, xmm0));
            return;
        }
        if (scale == 3) ctx.LoadV64(rcx, rt); else ctx.LoadV32(rcx, rt);
        EmitterContext.StoreSized(a, Mem(bytes, disp), bytes, rcx);
    }

    /// <summary>
    /// The access of the single-register forms (unsigned offset, unscaled, pre/post, unprivileged, register
    /// offset): size = bits 31..30, V = bit 26, opc = bits 23..22. The address is already in rsi.
    /// </summary>
    public static void Access(EmitterContext ctx, A64Op op, int disp)
    {
        int size = op.LsSize;
        int opc = op.LsOpc;
        int rt = op.Rt;
        if (op.V)
        {
            int scale = (opc & 2) != 0 ? 4 : size;
            if ((opc & 1) != 0)
            {
                var x = ctx.VResultReg(rt, xmm0);
                LoadVecTo(ctx, x, scale, disp);
                WriteV(ctx, rt, x);
            }
            else StoreVec(ctx, rt, scale, disp);
            return;
        }
        if (opc == 0) { StoreGpr(ctx, rt, size, disp); return; }
        // opc 1: zero-extending; 2: sign-extend to X; 3: sign-extend to W (a 32-bit result). Straight into Rt's host
        // copy when it has one: a load that faults writes nothing, so the copy keeps the value the fault restores.
        var d = ctx.ResultReg(rt, rcx);
        LoadGprTo(ctx, d, size, signed: opc >= 2, to64: opc == 2, disp);
        ctx.StoreX(rt, d);
    }

    /// <summary>log2 of the access size of a single-register form (4 for Q).</summary>
    public static int Scale(A64Op op)
    {
        int size = op.LsSize;
        return op.V && (op.LsOpc & 2) != 0 ? 4 : size;
    }
}

public static partial class InstEmit
{
    /// <summary>LDR/STR (and every size/sign variant, GPR and SIMD&amp;FP) with an unsigned scaled 12-bit offset.</summary>
    public static void LdStUImm(EmitterContext ctx, A64Op op)
    {
        long offset = (long)op.Imm12 << LdSt.Scale(op);
        int disp = LdSt.Address(ctx, op.Rn, offset, LdSt.Index.Offset, 1 << LdSt.Scale(op), reuse: true);
        LdSt.Access(ctx, op, disp);
    }

    /// <summary>The signed 9-bit forms: bits 11..10 = 00 unscaled (LDUR), 01 post-index, 10 unprivileged (LDTR), 11 pre-index.</summary>
    public static void LdStImm9(EmitterContext ctx, A64Op op)
    {
        long offset = op.SImm9;
        var mode = op.Imm9Index switch { 1 => LdSt.Index.Post, 3 => LdSt.Index.Pre, _ => LdSt.Index.Offset };
        int disp = LdSt.Address(ctx, op.Rn, offset, mode, 1 << LdSt.Scale(op), reuse: true);
        LdSt.Access(ctx, op, disp);
        LdSt.Writeback(ctx, op.Rn, mode);
    }

    /// <summary>Register offset: [Xn|SP, Rm{, extend {#amount}}], amount = S ? access size : 0.</summary>
    public static void LdStReg(EmitterContext ctx, A64Op op)
    {
        int shift = op.IndexScaled ? LdSt.Scale(op) : 0;
        LdSt.AddressIndexed(ctx, op.Rn, op.Rm, op.Option, shift, 1 << LdSt.Scale(op), reuse: true);
        LdSt.Access(ctx, op, 0);
    }

    /// <summary>LDR (literal): W, X, SW and S, D, Q by opc (bits 31..30) and V.</summary>
    public static void LdrLit(EmitterContext ctx, A64Op op)
    {
        int opc = op.PairOpc;
        int rt = op.Rt;
        bool simd = op.V;
        // S/D/Q = 4/8/16 bytes; W, SW = 4; X = 8
        int span = simd ? 4 << opc : opc == 1 ? 8 : 4;
        LdSt.AddressConst(ctx, ctx.Pc + (ulong)op.Offset19, span);
        if (simd)
        {
            var x = ctx.VResultReg(rt, xmm0);
            LdSt.LoadVecTo(ctx, x, 2 + opc);
            LdSt.WriteV(ctx, rt, x);
            return;
        }
        var d = ctx.ResultReg(rt, rcx);
        LdSt.LoadGprTo(ctx, d, opc == 1 ? 3 : 2, signed: opc == 2, to64: true);
        ctx.StoreX(rt, d);
    }

    /// <summary>PRFM/PRFUM in every form: a hint, nothing to do (and it never faults).</summary>
    public static void Prfm(EmitterContext ctx, A64Op op) { }
}
