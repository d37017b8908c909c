using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Instructions;

/// <summary>
/// Load-acquire/store-release and the exclusive monitor.
///
/// Ordering on an x86-64 (TSO) host: every plain load already has acquire semantics and every plain store
/// release semantics, so LDAR/LDAPR/LDLAR and the acquire exclusives are plain moves. The one order TSO
/// does not keep is a store followed by a later load, which A64 requires for STLR followed by LDAR (RCsc).
/// STLR/STLLR/STLUR are therefore emitted as XCHG with memory: it is implicitly LOCKed, so it drains the
/// store buffer like MFENCE but costs less (the usual seq_cst store mapping on x86), and it keeps LDAR a
/// plain load. LDAPR (RCpc) is the reason not to put the fence on the load side.
///
/// Exclusive monitor: each thread's CpuState holds ExclAddr (masked guest address), ExclValue0/1 (what the
/// load-exclusive read) and ExclSize (bytes; 0 = no reservation, i.e. Open Access). STXR succeeds (Ws = 0) only when the
/// monitor holds the same address and size AND a LOCK CMPXCHG (CMPXCHG16B for 128-bit pairs) from the
/// recorded value to the new one succeeds; it fails with Ws = 1 and leaves memory alone otherwise; either
/// way the monitor is cleared. That is atomic with respect to every other guest thread on the host.
///
/// Split pages: ExclAddr is always the masked guest address; a split-aware instruction (whose rsi may have been
/// redirected to a unit's shadow page) takes it from CpuState.SplitGuestAddr. So LDXR and STXR agree whether
/// or not each of them redirects: a STXR that does not redirect yet reaches the split page's closed view, faults,
/// becomes split-aware and runs again (comparing addresses after the redirect instead would let it fail without
/// touching memory, for ever: a livelock). The compare-exchange runs where rsi points, against the value the
/// load saw; a split or merge in between moves the data unchanged, so the value comparison stays right.
///
/// ABA caveat: a real monitor is cleared by any store to the granule, so STXR fails if another thread wrote
/// the location in between even when it wrote back the same value. Comparing values cannot see that, so an
/// LL/SC sequence here can succeed after an A->B->A change by another thread. Lock-free code that relies on
/// LL/SC being immune to ABA (rare: compilers and libatomic only use LDXR/STXR as a CAS loop) could go
/// wrong; the same holds for qemu, ARMeilleure and dynarmic, which emulate exclusives the same way.
/// </summary>
public static partial class InstEmit
{
    /// <summary>LDAR/LDLAR/LDAPR (size = bits 31..30): a plain zero-extending load. LDAR and LDLAR must be aligned;
    /// LDAPR is not checked, as qemu-aarch64 7.2 (the reference) does not check it.</summary>
    public static void Ldar(EmitterContext ctx, A64Op op)
    {
        int size = op.LsSize;
        LdSt.Address(ctx, op.Rn, 0, LdSt.Index.Offset, 1 << size);
        if (op.MemGroup == 1) LdSt.EmitCheckAlign(ctx, 1 << size, op.Rn); // 001000: LDAR/LDLAR, 111000: LDAPR
        LdSt.MovRegFromMem(ctx.Asm, rcx, 1 << size, LdSt.Mem(1 << size));
        ctx.StoreX(op.Rt, rcx);
    }

    /// <summary>STLR/STLLR: a store that later loads cannot pass, as XCHG (see the class comment).</summary>
    public static void Stlr(EmitterContext ctx, A64Op op)
    {
        LdSt.Address(ctx, op.Rn, 0, LdSt.Index.Offset, 1 << op.LsSize);
        LdSt.EmitCheckAlign(ctx, 1 << op.LsSize, op.Rn);
        LdSt.EmitStoreRelease(ctx, op.Rt, op.LsSize);
    }

    /// <summary>LDAPUR* (RCpc, unscaled signed offset): a plain load of any size/sign, like LDUR.</summary>
    public static void Ldapur(EmitterContext ctx, A64Op op)
    {
        int size = op.LsSize;
        int opc = op.LsOpc;
        long offset = op.SImm9;
        int disp = LdSt.Address(ctx, op.Rn, offset, LdSt.Index.Offset, 1 << size);
        LdSt.EmitCheckAlign(ctx, 1 << size, op.Rn, offset, disp);
        LdSt.LoadGprTo(ctx, rcx, size, signed: opc >= 2, to64: opc == 2, disp);
        ctx.StoreX(op.Rt, rcx);
    }

    /// <summary>STLUR* (unscaled signed offset): a release store, as XCHG.</summary>
    public static void Stlur(EmitterContext ctx, A64Op op)
    {
        long offset = op.SImm9;
        int disp = LdSt.Address(ctx, op.Rn, offset, LdSt.Index.Offset, 1 << op.LsSize);
        LdSt.EmitCheckAlign(ctx, 1 << op.LsSize, op.Rn, offset, disp);
        LdSt.EmitStoreRelease(ctx, op.Rt, op.LsSize, disp);
    }

    /// <summary>LDXR/LDAXR (B/H/W/X): load, and open the monitor on address, size and value.</summary>
    public static void Ldxr(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        int bytes = 1 << op.LsSize;
        ctx.KeepGuestAddress = true;
        LdSt.Address(ctx, op.Rn, 0, LdSt.Index.Offset, bytes);
        LdSt.EmitCheckAlign(ctx, bytes, op.Rn);
        LdSt.MovRegFromMem(a, rcx, bytes, LdSt.Mem(bytes));
        ctx.OpenMonitor(LdSt.MonitorAddress(ctx), rcx, null, bytes);
        ctx.StoreX(op.Rt, rcx);
    }

    /// <summary>LDXP/LDAXP: W pairs as one 64-bit load, X pairs as two 64-bit loads (STXP's CMPXCHG16B validates them).</summary>
    public static void Ldxp(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool x = op.PairSz;
        int rt = op.Rt, rt2 = op.Rt2;
        ctx.KeepGuestAddress = true;
        LdSt.Address(ctx, op.Rn, 0, LdSt.Index.Offset, x ? 16 : 8);
        LdSt.EmitCheckAlign(ctx, x ? 16 : 8, op.Rn); // the whole pair: a W pair is one doubleword
        a.mov(rcx, LdSt.Mem(8));
        if (x)
        {
            a.mov(rdx, LdSt.Mem(8, 8));
            ctx.OpenMonitor(LdSt.MonitorAddress(ctx), rcx, rdx, 16);
        }
        else
        {
            ctx.OpenMonitor(LdSt.MonitorAddress(ctx), rcx, null, 8);
            a.mov(rdx, rcx);
            a.shr(rdx, 32);
            a.mov(ecx, ecx);
        }
        ctx.StoreX(rt, rcx);
        ctx.StoreX(rt2, rdx);
    }

    /// <summary>STXR/STLXR (B/H/W/X): Ws = 0 when the monitor matches and LOCK CMPXCHG from the loaded value succeeds, else 1.</summary>
    public static void Stxr(EmitterContext ctx, A64Op op)
    {
        int bytes = 1 << op.LsSize;
        ctx.KeepGuestAddress = true;
        LdSt.Address(ctx, op.Rn, 0, LdSt.Index.Offset, bytes);
        ctx.LoadX(rcx, op.Rt);
        LdSt.EmitStoreExclusive(ctx, op.Rs, bytes, op.Rn);
    }

    /// <summary>STXP/STLXP: W pairs as one 64-bit LOCK CMPXCHG, X pairs as LOCK CMPXCHG16B.</summary>
    public static void Stxp(EmitterContext ctx, A64Op op)
    {
        var a = ctx.Asm;
        bool x = op.PairSz;
        int rt = op.Rt, rt2 = op.Rt2;
        ctx.KeepGuestAddress = true;
        LdSt.Address(ctx, op.Rn, 0, LdSt.Index.Offset, x ? 16 : 8);
        if (!x)
        {
            ctx.LoadW(rcx, rt2);
            a.shl(rcx, 32);
            ctx.LoadW(rdx, rt);
            a.or(rcx, rdx);
            LdSt.EmitStoreExclusive(ctx, op.Rs, 8, op.Rn);
            return;
        }
        ctx.LoadX(rdi, rt);
        ctx.LoadX(rcx, rt2);
        LdSt.EmitStoreExclusive(ctx, op.Rs, 16, op.Rn);
    }
}

internal static partial class LdSt
{

    /// <summary>The address the monitor records and compares: the masked guest address, which for a split-aware
    /// instruction is the one before its redirect (rax then holds it; rsi keeps where the access goes).</summary>
    public static AssemblerRegister64 MonitorAddress(EmitterContext ctx)
    {
        if (!ctx.SplitAware) return rsi;
        if (!ctx.KeepGuestAddress) throw new InvalidOperationException("an exclusive emitter must set KeepGuestAddress before its address");
        ctx.Asm.mov(rax, EmitterContext.SplitGuestAddr);
        return rax;
    }

    /// <summary>Stores the low 2^size bytes of Xt (31 = zero) to [rsi] with XCHG: a release store later loads cannot pass.</summary>
    public static void EmitStoreRelease(EmitterContext ctx, int rt, int size, int disp = 0)
    {
        var a = ctx.Asm;
        ctx.LoadX(rcx, rt);
        var m = LdSt.Mem(1 << size, disp);
        switch (size)
        {
            case 0: a.xchg(m, cl); break;
            case 1: a.xchg(m, cx); break;
            case 2: a.xchg(m, ecx); break;
            default: a.xchg(m, rcx); break;
        }
    }

    /// <summary>
    /// The monitor check around the compare-exchange: rsi holds the masked address (of Xn|SP, <paramref name="rn"/>),
    /// the new value is in rcx (16 bytes: rcx high, rdi low). Writes Ws and closes the monitor. A store-exclusive
    /// without an open monitor at its address fails without an access, so, as under qemu-aarch64, only one at the open
    /// monitor's address (of a load-exclusive of another size) raises the alignment fault. A closed monitor keeps its
    /// address (ExclSize = 0 closes it), hence the size test before the alignment one.
    /// </summary>
    public static void EmitStoreExclusive(EmitterContext ctx, int rs, int bytes, int rn)
    {
        var a = ctx.Asm;
        var done = a.CreateLabel();
        a.mov(r9d, 1);
        a.cmp(EmitterContext.ExclAddr, MonitorAddress(ctx));
        a.jne(done);
        if (bytes > 1)
        {
            a.cmp(EmitterContext.ExclSize, 0);
            a.je(done);
            EmitCheckAlign(ctx, bytes, rn);
        }
        a.cmp(EmitterContext.ExclSize, bytes);
        a.jne(done);
        a.mov(rax, EmitterContext.ExclValue0);
        if (bytes == 16) a.mov(rdx, EmitterContext.ExclValue1);
        var m = LdSt.Mem(bytes);
        switch (bytes)
        {
            case 1: a.@lock.cmpxchg(m, cl); break;
            case 2: a.@lock.cmpxchg(m, cx); break;
            case 4: a.@lock.cmpxchg(m, ecx); break;
            case 8: a.@lock.cmpxchg(m, rcx); break;
            default: EmitCmpxchg16b(ctx, rdi); break;
        }
        a.jne(done);
        a.xor(r9d, r9d);
        a.Label(ref done);
        ctx.CloseMonitor();
        ctx.StoreX(rs, r9);
    }

    /// <summary>
    /// The access at [rsi + <paramref name="disp"/>] must be aligned to <paramref name="bytes"/> (exclusives, ordered
    /// accesses and atomics: an alignment fault on A64, where x86's LOCKed instructions would just do it; CMPXCHG16B
    /// would raise #GP, which the guest fault path cannot attribute). One test of the low bits, falling through when
    /// aligned; a misaligned one leaves out of line as <see cref="ExitReason.Misaligned"/> at this instruction, with the
    /// guest's own address Xn|SP + <paramref name="offset"/> (read back from CpuState, where the cold path has spilled
    /// every register: rsi may be masked or redirected) as the fault address, before anything is written.
    /// The redirect of split-aware accesses moves whole pages, so rsi keeps the address's low bits.
    /// </summary>
    public static void EmitCheckAlign(EmitterContext ctx, int bytes, int rn, long offset = 0, int disp = 0)
    {
        if (bytes <= 1) return;
        var a = ctx.Asm;
        var back = a.CreateLabel();
        ulong pc = ctx.Pc;
        if (disp == 0) a.test(sil, (byte)(bytes - 1));
        else { a.lea(eax, __[rsi + disp]); a.test(al, (byte)(bytes - 1)); }
        a.jne(ctx.Cold(back, () =>
        {
            a.mov(rax, EmitterContext.X(rn));
            if (offset != 0) a.add(rax, (int)offset);
            ctx.SetAlignmentFault(rax);
            ctx.ExitWith(ExitReason.Misaligned, pc);
        }));
        a.Label(ref back);
    }

    /// <summary>
    /// LOCK CMPXCHG16B [r15+rsi] with rdx:rax expected and rcx:<paramref name="low"/> new. The instruction
    /// needs the new low half in rbx, which holds CpuState*: rbx is parked in r8 for exactly that one
    /// instruction. A LOCK OR of zero first makes the page present and writable (guest faults are taken
    /// there, while rbx is still CpuState*), so the CMPXCHG16B itself can at worst fault for a page that was
    /// taken away in between, which the fault handler must resolve by waiting, not via rbx.
    /// </summary>
    public static void EmitCmpxchg16b(EmitterContext ctx, AssemblerRegister64 low)
    {
        var a = ctx.Asm;
        a.@lock.or(LdSt.Mem(1), 0);
        a.mov(r8, rbx);
        a.mov(rbx, low);
        a.@lock.cmpxchg16b(LdSt.Mem(16));
        a.mov(rbx, r8); // mov leaves ZF from CMPXCHG16B
    }
}
