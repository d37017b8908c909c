using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// ARMv8.1 LSE atomics: CAS, CASP, LDADD/LDCLR/LDEOR/LDSET/LD{S,U}{MAX,MIN}, SWP and their ST* aliases, every
/// size and every ordering. Each is one LOCKed x86 instruction or a LOCK CMPXCHG loop; a LOCKed instruction is
/// a full barrier on x86, so the A/L/AL orderings need nothing extra. Rt gets the old value zero-extended.
/// </summary>
public static partial class InstEmit
{
    /// <summary>CAS/CASA/CASL/CASAL (B/H/W/X): Rs = old value; memory = Rt when old == Rs.</summary>
    public static void Cas(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int size = op.LsSize;
        int rs = op.Rs;
        LdSt.Address(ctx, op.Rn, 0, LdSt.Index.Offset, 1 << size);
        LdSt.EmitCheckAlign(ctx, 1 << size, op.Rn);
        ctx.LoadX(rax, rs);
        ctx.LoadX(rcx, op.Rt);
        var m = LdSt.Mem(1 << size);
        switch (size)
        {
            case 0: a.@lock.cmpxchg(m, cl); a.movzx(eax, al); break;
            case 1: a.@lock.cmpxchg(m, cx); a.movzx(eax, ax); break;
            case 2: a.@lock.cmpxchg(m, ecx); a.mov(eax, eax); break; // on success eax was not written
            default: a.@lock.cmpxchg(m, rcx); break;
        }
        ctx.StoreX(rs, rax);
    }

    /// <summary>CASP/CASPA/CASPL/CASPAL: W pairs by one 64-bit LOCK CMPXCHG, X pairs by LOCK CMPXCHG16B.</summary>
    public static void Casp(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int rs = op.Rs, rt = op.Rt;
        if (((rs | rt) & 1) != 0) { Undefined(ctx, op); return; }
        LdSt.Address(ctx, op.Rn, 0, LdSt.Index.Offset, op.PairSz ? 16 : 8);
        LdSt.EmitCheckAlign(ctx, op.PairSz ? 16 : 8, op.Rn); // the whole pair
        if (!op.PairSz)
        {
            // memory holds Rs at the lower address: the 64-bit value is R(s+1):R(s)
            ctx.LoadW(rax, rs);
            ctx.LoadW(rdx, rs + 1);
            a.shl(rdx, 32);
            a.or(rax, rdx);
            ctx.LoadW(rcx, rt);
            ctx.LoadW(rdx, rt + 1);
            a.shl(rdx, 32);
            a.or(rcx, rdx);
            a.@lock.cmpxchg(LdSt.Mem(8), rcx);
            a.mov(rdx, rax);
            a.shr(rdx, 32);
            a.mov(eax, eax);
        }
        else
        {
            ctx.LoadX(rax, rs);
            ctx.LoadX(rdx, rs + 1);
            ctx.LoadX(rdi, rt);
            ctx.LoadX(rcx, rt + 1);
            LdSt.EmitCmpxchg16b(ctx, rdi);
        }
        ctx.StoreX(rs, rax);
        ctx.StoreX(rs + 1, rdx);
    }

    /// <summary>
    /// LDADD, LDCLR, LDEOR, LDSET, LDSMAX, LDSMIN, LDUMAX, LDUMIN, SWP (o3:opc = bits 15..12), any size and
    /// ordering: Rt = old value, memory = old op Rs. With Rt = XZR (the ST* aliases) the plain LOCK forms serve.
    /// </summary>
    public static void AtomicOp(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int size = op.LsSize;
        int kind = op.AtomicOpc;
        int rs = op.Rs, rt = op.Rt;
        bool x = size == 3;
        var m = LdSt.Mem(1 << size);
        LdSt.Address(ctx, op.Rn, 0, LdSt.Index.Offset, 1 << size);
        LdSt.EmitCheckAlign(ctx, 1 << size, op.Rn);
        ctx.LoadX(rcx, rs);

        if (kind == 8 || kind == 0 || (rt == 31 && kind <= 3))
        {
            // SWP, LDADD: one XCHG / LOCK XADD; ST{ADD,CLR,EOR,SET}: one LOCK ADD/AND/XOR/OR
            if (kind == 1) a.not(rcx);
            var r = LdSt.SizedReg(rcx, size);
            switch (kind)
            {
                case 8: LdSt.XchgSized(a, m, r); break;
                case 0:
                    if (rt == 31) LdSt.AddSized(a, m, r); else LdSt.XaddSized(a, m, r);
                    break;
                case 1: LdSt.AndSized(a, m, r); break;
                case 2: LdSt.XorSized(a, m, r); break;
                default: LdSt.OrSized(a, m, r); break;
            }
            if (rt == 31 || kind is 1 or 2 or 3) return;
            if (size == 0) a.movzx(ecx, cl);
            else if (size == 1) a.movzx(ecx, cx);
            ctx.StoreX(rt, rcx); // a 32-bit XCHG/XADD already zero-extended ecx
            return;
        }

        // LOCK CMPXCHG loop: rax = old, rcx = new, rdx = Rs (sign-extended to 32 bits for SMAX/SMIN on B/H)
        bool signedOp = kind is 4 or 5;
        a.mov(rdx, rcx);
        if (size < 2)
        {
            if (signedOp) { if (size == 0) a.movsx(edx, dl); else a.movsx(edx, dx); }
            else if (kind >= 6) { if (size == 0) a.movzx(edx, dl); else a.movzx(edx, dx); }
        }
        if (kind == 1) a.not(rdx);
        LdSt.MovRegFromMem(a, rax, 1 << size, m);
        var retry = a.CreateLabel();
        a.Label(ref retry);
        if (signedOp && size < 2)
        {
            // a failed CMPXCHG rewrote only al/ax: sign-extend again each time round
            if (size == 0) a.movsx(eax, al); else a.movsx(eax, ax);
        }
        if (x) a.mov(rcx, rax); else a.mov(ecx, eax);
        switch (kind)
        {
            case 1: if (x) a.and(rcx, rdx); else a.and(ecx, edx); break;
            case 2: if (x) a.xor(rcx, rdx); else a.xor(ecx, edx); break;
            case 3: if (x) a.or(rcx, rdx); else a.or(ecx, edx); break;
            default:
                if (x) a.cmp(rax, rdx); else a.cmp(eax, edx);
                switch (kind)
                {
                    case 4: if (x) a.cmovl(rcx, rdx); else a.cmovl(ecx, edx); break;  // SMAX: old < Rs -> Rs
                    case 5: if (x) a.cmovg(rcx, rdx); else a.cmovg(ecx, edx); break;  // SMIN
                    case 6: if (x) a.cmovb(rcx, rdx); else a.cmovb(ecx, edx); break;  // UMAX
                    default: if (x) a.cmova(rcx, rdx); else a.cmova(ecx, edx); break; // UMIN
                }
                break;
        }
        LdSt.CmpxchgSized(a, m, LdSt.SizedReg(rcx, size));
        a.jne(retry);
        if (rt == 31) return;
        if (size == 0) a.movzx(eax, al);
        else if (size == 1) a.movzx(eax, ax);
        ctx.StoreX(rt, rax);
    }
}

internal static partial class LdSt
{
    // sized forms of the LOCKed instructions (XCHG with memory is implicitly LOCKed)
    public static Register SizedReg(AssemblerRegister64 r, int size) => size switch
    {
        0 => (Register)EmitterContext.R8(r),
        1 => (Register)EmitterContext.R16(r),
        2 => (Register)EmitterContext.R32(r),
        _ => (Register)r,
    };

    public static void XchgSized(Assembler a, AssemblerMemoryOperand m, Register r)
    {
        switch (r.GetSize())
        {
            case 1: a.xchg(m, new AssemblerRegister8(r)); break;
            case 2: a.xchg(m, new AssemblerRegister16(r)); break;
            case 4: a.xchg(m, new AssemblerRegister32(r)); break;
            default: a.xchg(m, new AssemblerRegister64(r)); break;
        }
    }

    public static void XaddSized(Assembler a, AssemblerMemoryOperand m, Register r)
    {
        switch (r.GetSize())
        {
            case 1: a.@lock.xadd(m, new AssemblerRegister8(r)); break;
            case 2: a.@lock.xadd(m, new AssemblerRegister16(r)); break;
            case 4: a.@lock.xadd(m, new AssemblerRegister32(r)); break;
            default: a.@lock.xadd(m, new AssemblerRegister64(r)); break;
        }
    }

    public static void AddSized(Assembler a, AssemblerMemoryOperand m, Register r)
    {
        switch (r.GetSize())
        {
            case 1: a.@lock.add(m, new AssemblerRegister8(r)); break;
            case 2: a.@lock.add(m, new AssemblerRegister16(r)); break;
            case 4: a.@lock.add(m, new AssemblerRegister32(r)); break;
            default: a.@lock.add(m, new AssemblerRegister64(r)); break;
        }
    }

    public static void AndSized(Assembler a, AssemblerMemoryOperand m, Register r)
    {
        switch (r.GetSize())
        {
            case 1: a.@lock.and(m, new AssemblerRegister8(r)); break;
            case 2: a.@lock.and(m, new AssemblerRegister16(r)); break;
            case 4: a.@lock.and(m, new AssemblerRegister32(r)); break;
            default: a.@lock.and(m, new AssemblerRegister64(r)); break;
        }
    }

    public static void XorSized(Assembler a, AssemblerMemoryOperand m, Register r)
    {
        switch (r.GetSize())
        {
            case 1: a.@lock.xor(m, new AssemblerRegister8(r)); break;
            case 2: a.@lock.xor(m, new AssemblerRegister16(r)); break;
            case 4: a.@lock.xor(m, new AssemblerRegister32(r)); break;
            default: a.@lock.xor(m, new AssemblerRegister64(r)); break;
        }
    }

    public static void OrSized(Assembler a, AssemblerMemoryOperand m, Register r)
    {
        switch (r.GetSize())
        {
            case 1: a.@lock.or(m, new AssemblerRegister8(r)); break;
            case 2: a.@lock.or(m, new AssemblerRegister16(r)); break;
            case 4: a.@lock.or(m, new AssemblerRegister32(r)); break;
            default: a.@lock.or(m, new AssemblerRegister64(r)); break;
        }
    }

    public static void CmpxchgSized(Assembler a, AssemblerMemoryOperand m, Register r)
    {
        switch (r.GetSize())
        {
            case 1: a.@lock.cmpxchg(m, new AssemblerRegister8(r)); break;
            case 2: a.@lock.cmpxchg(m, new AssemblerRegister16(r)); break;
            case 4: a.@lock.cmpxchg(m, new AssemblerRegister32(r)); break;
            default: a.@lock.cmpxchg(m, new AssemblerRegister64(r)); break;
        }
    }
}
