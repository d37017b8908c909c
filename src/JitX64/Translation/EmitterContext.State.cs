using Dqemu.JitX64.State;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Translation;

/// <summary>
/// CpuState as translated code names it: the guest's registers and the few other fields emitters touch (FPCR, FPSR,
/// the saved MXCSR, TPIDR_EL0, the exclusive monitor, an alignment fault's address). Emitters use these operands and
/// never an offset (EmitterRulesTests): where a field lives is the business of CpuState.cs and of this file. An
/// operand on a guest register goes behind the register cache; the planning pass records the access, so a cached
/// copy is spilled before it and reloaded after a write (EmitterContext.cs, "Register layer" in docs/architecture.md).
/// </summary>
public sealed partial class EmitterContext
{
    // ---- guest general-purpose registers ----
    public static AssemblerMemoryOperand X(int r) => __qword_ptr[rbx + CpuOffsets.Xn(r)];
    public static AssemblerMemoryOperand W(int r) => __dword_ptr[rbx + CpuOffsets.Xn(r)];
    /// <summary>The low <paramref name="bytes"/> (1, 2, 4 or 8) of Xr: for the extending reads (UXTB, SXTH, CRC32B, ...).</summary>
    public static AssemblerMemoryOperand XPart(int r, int bytes) => CpuPart(CpuOffsets.Xn(r), bytes);

    // ---- SIMD&FP registers ----
    public static AssemblerMemoryOperand V(int n) => __xmmword_ptr[rbx + CpuOffsets.Vn(n)];
    public static AssemblerMemoryOperand VD(int n) => __qword_ptr[rbx + CpuOffsets.Vn(n)];
    public static AssemblerMemoryOperand VS(int n) => __dword_ptr[rbx + CpuOffsets.Vn(n)];
    public static AssemblerMemoryOperand VH(int n) => __word_ptr[rbx + CpuOffsets.Vn(n)];
    public static AssemblerMemoryOperand VB(int n) => __byte_ptr[rbx + CpuOffsets.Vn(n)];
    public static AssemblerMemoryOperand VHigh(int n) => __qword_ptr[rbx + CpuOffsets.Vn(n) + 8];
    /// <summary>A piece of Vn: <paramref name="bytes"/> (1, 2, 4, 8 or 16) wide at byte <paramref name="offset"/> (an
    /// element, a lane of a structure load, the upper single of a pair).</summary>
    public static AssemblerMemoryOperand VPart(int n, int bytes, int offset) => CpuPart(CpuOffsets.Vn(n) + offset, bytes);

    /// <summary>CpuState's <paramref name="bytes"/> (1, 2, 4, 8 or 16) at <paramref name="offset"/>.</summary>
    private static AssemblerMemoryOperand CpuPart(int offset, int bytes) => bytes switch
    {
        1 => __byte_ptr[rbx + offset],
        2 => __word_ptr[rbx + offset],
        4 => __dword_ptr[rbx + offset],
        8 => __qword_ptr[rbx + offset],
        _ => __xmmword_ptr[rbx + offset],
    };

    // ---- other fields ----
    public static AssemblerMemoryOperand Fpcr => CpuField32(CpuOffsets.Fpcr);
    public static AssemblerMemoryOperand Fpsr => CpuField32(CpuOffsets.Fpsr);
    /// <summary>The host MXCSR as translated code keeps it (rounding and flush-to-zero from FPCR, sticky flags for FPSR).</summary>
    public static AssemblerMemoryOperand Mxcsr => CpuField32(CpuOffsets.Mxcsr);
    /// <summary>MXCSR with every exception masked and round-to-nearest: the image MSR FPCR starts from.</summary>
    public const int DefaultMxcsr = CpuOffsets.DefaultMxcsr;
    public static AssemblerMemoryOperand Tpidr => CpuField64(CpuOffsets.Tpidr);
    /// <summary>The exclusive monitor: the reserved (masked) guest address, the value(s) read and the size (0: open).</summary>
    public static AssemblerMemoryOperand ExclAddr => CpuField64(CpuOffsets.ExclAddr);
    public static AssemblerMemoryOperand ExclValue0 => CpuField64(CpuOffsets.ExclValue);
    public static AssemblerMemoryOperand ExclValue1 => CpuField64(CpuOffsets.ExclValue + 8);
    public static AssemblerMemoryOperand ExclSize => CpuField32(CpuOffsets.ExclSize);
    /// <summary>The guest address of the last access CheckAddress redirected to a split page's shadow.</summary>
    public static AssemblerMemoryOperand SplitGuestAddr => CpuField64(CpuOffsets.SplitGuestAddr);
    public static AssemblerMemoryOperand FaultAddr => CpuField64(CpuOffsets.FaultAddr);
    public static AssemblerMemoryOperand FaultHostRip => CpuField64(CpuOffsets.FaultHostRip);

    // ---- SIMD&FP registers through the register layer ----
    // A block's most-used V registers live in xmm registers (EmitterContext.XmmPool; write-back, like the GPRs:
    // EmitterContext.cs). These reach the host copy when there is one; the operands above (V(n), VD(n), VPart, ...) and
    // the partial writes below reach CpuState, which the layer keeps current for them (a dirty copy is spilled before,
    // a written one reloaded after), so they stay correct and cost a spill or a reload where a block caches the register.

    /// <summary>A register holding all 128 bits of Vn for reading: its host copy, or <paramref name="scratch"/> loaded
    /// from CpuState.</summary>
    public AssemblerRegisterXMM VOperand(int n, AssemblerRegisterXMM scratch)
    {
        if (CachedV(n) is { } h) return h;
        Asm.movdqu(scratch, V(n));
        return scratch;
    }

    /// <summary><paramref name="dst"/> = Vn (128 bits).</summary>
    public void LoadV(AssemblerRegisterXMM dst, int n)
    {
        if (CachedV(n) is { } h) { if (h != dst) Asm.movdqa(dst, h); }
        else Asm.movdqu(dst, V(n));
    }

    /// <summary><paramref name="dst"/> = bits 63..0 of Vn, zero above.</summary>
    public void LoadV64(AssemblerRegisterXMM dst, int n)
    {
        if (CachedV(n) is { } h) Asm.movq(dst, h);
        else Asm.movq(dst, VD(n));
    }

    /// <summary><paramref name="dst"/> = bits 31..0 of Vn, zero above (a single-precision operand).</summary>
    public void LoadV32(AssemblerRegisterXMM dst, int n)
    {
        if (CachedV(n) is { } h) { Asm.xorps(dst, dst); Asm.movss(dst, h); }
        else Asm.movss(dst, VS(n));
    }

    /// <summary>A register whose low 64 (<paramref name="dbl"/>) or 32 bits are those of Vn, for a scalar operation
    /// that reads only them (ADDSD, UCOMISS, ...): its host copy, or <paramref name="scratch"/> loaded from CpuState.</summary>
    public AssemblerRegisterXMM VScalarOperand(int n, AssemblerRegisterXMM scratch, bool dbl)
    {
        if (CachedV(n) is { } h) return h;
        if (dbl) Asm.movsd(scratch, VD(n)); else Asm.movss(scratch, VS(n));
        return scratch;
    }

    /// <summary><paramref name="dst"/> = bits 63..0 of Vn.</summary>
    public void LoadV64(AssemblerRegister64 dst, int n)
    {
        if (CachedV(n) is { } h) Asm.movq(dst, h);
        else Asm.mov(dst, VD(n));
    }

    /// <summary><paramref name="dst"/> = bits 31..0 of Vn (zero-extended into the whole register).</summary>
    public void LoadV32(AssemblerRegister64 dst, int n)
    {
        if (CachedV(n) is { } h) Asm.movd(R32(dst), h);
        else Asm.mov(R32(dst), VS(n));
    }

    /// <summary><paramref name="dst"/> = element <paramref name="index"/> of Vn, 2^<paramref name="size"/> bytes wide,
    /// zero-extended (UMOV, DUP and INS from an element, FMOV Xd, Vn.D[1]).</summary>
    public void LoadVElement(AssemblerRegister64 dst, int n, int size, int index)
    {
        if (CachedV(n) is { } h)
        {
            switch (size)
            {
                case 0: Asm.pextrb(R32(dst), h, (byte)index); break;
                case 1: Asm.pextrw(R32(dst), h, (byte)index); break;
                case 2: if (index == 0) Asm.movd(R32(dst), h); else Asm.pextrd(R32(dst), h, (byte)index); break;
                default: if (index == 0) Asm.movq(dst, h); else Asm.pextrq(dst, h, (byte)index); break;
            }
            return;
        }
        var m = VPart(n, 1 << size, index << size);
        if (size < 2) Asm.movzx(R32(dst), m);
        else if (size == 2) Asm.mov(R32(dst), m);
        else Asm.mov(dst, m);
    }

    /// <summary>Element <paramref name="index"/> of Vn (2^<paramref name="size"/> bytes) = the low bytes of
    /// <paramref name="r"/>, the other elements kept (INS, FMOV Vd.D[1], Xn): on the host copy in place when it may be
    /// written here, else in CpuState (current then: a copy that may not be written was spilled before the emitter or
    /// is already older than CpuState).</summary>
    public void StoreVElement(int n, int size, int index, AssemblerRegister64 r)
    {
        int slot = VSlot0 + n;
        if (_planning)
        {
            // a read and a write of the register: the copy must hold the rest of it (no "written first" skip of the
            // entry load); the store below is the layer's own
            NoteRead(slot);
            _asked[slot]--;
        }
        if (WritableV(n) is { } h)
        {
            switch (size)
            {
                case 0: Asm.pinsrb(h, R32(r), (byte)index); break;
                case 1: Asm.pinsrw(h, R32(r), (byte)index); break;
                case 2: Asm.pinsrd(h, R32(r), (byte)index); break;
                default: Asm.pinsrq(h, r, (byte)index); break;
            }
            return;
        }
        MarkApiAccess();
        StoreSized(Asm, VPart(n, 1 << size, index << size), 1 << size, r);
        WroteV(n);
    }

    /// <summary>Vn's host copy usable for a read here, or null: then the caller's next instruction is the layer's own
    /// read of CpuState (current then). Counts the read for the planning pass.</summary>
    private AssemblerRegisterXMM? CachedV(int n)
    {
        int slot = VSlot0 + n;
        if (!_planning && UsableCopy(slot) is int k and >= 0) return XmmAt(k);
        if (_planning) NoteRead(slot);
        LayerLoad(slot);
        return null;
    }

    /// <summary>Vn's host copy when a write may go there alone (write-back), else null: the caller writes CpuState with
    /// the layer's own store then.</summary>
    private AssemblerRegisterXMM? WritableV(int n)
    {
        int slot = VSlot0 + n;
        NoteWrite(slot);
        if (WritableCopy(slot) is int k and >= 0)
        {
            WroteHostCopy(slot);
            return XmmAt(k);
        }
        return null;
    }

    /// <summary>After a write of Vn to CpuState by the layer's own stores (marked as they were emitted).</summary>
    private void WroteV(int n) => WroteMemory(VSlot0 + n);

    /// <summary>The register to build Vn's new value in: its host copy when a write may go there alone, else
    /// <paramref name="scratch"/>; the emitter ends with <see cref="StoreV"/>(n, it), which then emits nothing. Only for
    /// a value whose computation cannot fault after it starts writing the register (a load's one access), and only
    /// for the last register an instruction writes: a fault restores the copy as it was before the instruction.</summary>
    public AssemblerRegisterXMM VResultReg(int n, AssemblerRegisterXMM scratch) =>
        WritableCopy(VSlot0 + n) is int k and >= 0 ? XmmAt(k) : scratch;

    /// <summary>Vn = all 128 bits of <paramref name="x"/>.</summary>
    public void StoreV(int n, AssemblerRegisterXMM x)
    {
        if (WritableV(n) is { } h) { if (h != x) Asm.movdqa(h, x); return; }
        MarkApiAccess();
        Asm.movdqu(V(n), x);
        WroteV(n);
    }

    /// <summary>Vn = bits 63..0 of <paramref name="x"/>, bits 127..64 zeroed (a scalar D or a 64-bit vector result).</summary>
    public void StoreV64(int n, AssemblerRegisterXMM x)
    {
        if (WritableV(n) is { } h) { Asm.movq(h, x); return; }
        MarkApiAccess();
        Asm.movq(VD(n), x);
        ClearVHighWritten(n);
    }

    /// <summary>Vn = <paramref name="r"/> zero-extended to 128 bits (FMOV Dd, Xn; DUP to a scalar).</summary>
    public void StoreV64(int n, AssemblerRegister64 r)
    {
        if (WritableV(n) is { } h) { Asm.movq(h, r); return; }
        MarkApiAccess();
        Asm.mov(VD(n), r);
        ClearVHighWritten(n);
    }

    /// <summary>StoreV64's end when it wrote bits 63..0 of Vn in CpuState: bits 127..64 zeroed there too.</summary>
    private void ClearVHighWritten(int n)
    {
        MarkApiAccess();
        Asm.mov(VHigh(n), 0);
        WroteV(n);
    }

    // ---- other writes ----
    // The only way an emitter changes CpuState (the guest GPRs have StoreX/StoreR/... in EmitterContext.cs): the
    // operands above are for reading (EmitterRulesTests holds emitters to it). The partial writes of a V register here
    // write CpuState behind the register layer, which accounts for them (a cached copy is reloaded after).

    /// <summary>Bits 63..0 of Vn (bits 127..64 untouched: the caller clears or writes them).</summary>
    public void StoreVD(int n, AssemblerRegister64 r) => Asm.mov(VD(n), r);
    /// <summary>Bits 127..64 of Vn.</summary>
    public void StoreVHigh(int n, AssemblerRegister64 r) => Asm.mov(VHigh(n), r);
    public void StoreVHigh(int n, AssemblerRegisterXMM x) => Asm.movq(VHigh(n), x);
    /// <summary>The low <paramref name="bytes"/> (1, 2, 4, 8) of <paramref name="r"/> into Vn at byte
    /// <paramref name="offset"/>: an element (INS, a structure load's lane).</summary>
    public void StoreVPart(int n, int bytes, int offset, AssemblerRegister64 r) => StoreSized(Asm, VPart(n, bytes, offset), bytes, r);

    /// <summary>Stores the low <paramref name="bytes"/> (1, 2, 4, 8) of <paramref name="r"/> to <paramref name="m"/>
    /// (guest memory for the load/store emitters, a piece of Vn for StoreVPart).</summary>
    public static void StoreSized(Assembler a, AssemblerMemoryOperand m, int bytes, AssemblerRegister64 r)
    {
        switch (bytes)
        {
            case 1: a.mov(m, R8(r)); break;
            case 2: a.mov(m, R16(r)); break;
            case 4: a.mov(m, R32(r)); break;
            default: a.mov(m, r); break;
        }
    }
    public void StoreFpcr(AssemblerRegister32 r) => Asm.mov(Fpcr, r);
    public void StoreFpsr(AssemblerRegister32 r) => Asm.mov(Fpsr, r);
    /// <summary>FPSR |= <paramref name="bits"/> (a saturation's QC).</summary>
    public void SetFpsrBits(uint bits) => Asm.or(Fpsr, unchecked((int)bits));
    public void StoreTpidr(AssemblerRegister64 r) => Asm.mov(Tpidr, r);
    /// <summary>The host MXCSR into CpuState (its sticky flags become FPSR's).</summary>
    public void SaveMxcsr() => Asm.stmxcsr(Mxcsr);
    public void StoreMxcsr(AssemblerRegister32 r) => Asm.mov(Mxcsr, r);
    /// <summary>Clears the saved MXCSR's six exception flags (MSR FPSR writes new cumulative flags).</summary>
    public void ClearMxcsrFlags() => Asm.and(Mxcsr, ~0x3f);

    /// <summary>Opens the exclusive monitor: the (masked) address, the value read (two for a 16-byte pair) and the
    /// size in bytes.</summary>
    public void OpenMonitor(AssemblerRegister64 address, AssemblerRegister64 value0, AssemblerRegister64? value1, int bytes)
    {
        Asm.mov(ExclAddr, address);
        Asm.mov(ExclValue0, value0);
        if (value1 is { } v1) Asm.mov(ExclValue1, v1);
        Asm.mov(ExclSize, bytes);
    }
    /// <summary>Closes the exclusive monitor (CLREX, a store-exclusive's end).</summary>
    public void CloseMonitor() => Asm.mov(ExclSize, 0);
    /// <summary>What an exit for a guest alignment fault reports: the faulting address, and no host rip, so the
    /// dispatcher keeps Pc as the exit sets it.</summary>
    public void SetAlignmentFault(AssemblerRegister64 address)
    {
        Asm.mov(FaultAddr, address);
        Asm.mov(FaultHostRip, 0);
    }

    public static AssemblerMemoryOperand CpuField64(int offset) => __qword_ptr[rbx + offset];
    public static AssemblerMemoryOperand CpuField32(int offset) => __dword_ptr[rbx + offset];
}
