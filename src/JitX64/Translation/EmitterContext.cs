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
///   rax, rcx, rdx, rsi, rdi, r8-r11 are scratch for emitters; r12, r13, rbp are reserved. The register
///   cache below also keeps guest registers in r12, r13, rbp and r8-r11; it steps aside for any emitter
///   whose own code uses one of them, so emitters need not know about it. Emitters use xmm0-xmm7; xmm8-xmm15
///   and xmm7-xmm4 hold cached SIMD&amp;FP registers (the same stepping aside for xmm4-xmm7; all are caller-saved, so
///   they are reloaded after any helper call).
///   Flag capture and condition evaluation use rax (and nothing else), so keep live values out of rax
///   across them. rsp is 16-byte aligned, so helpers may be called directly.
/// </summary>
public sealed partial class EmitterContext
{
    public static readonly AssemblerRegister64 CpuReg = rbx;
    public static readonly AssemblerRegister64 MemReg = r15;
    public static readonly AssemblerRegister64 LimitReg = r14;

    public Assembler Asm { get; }
    /// <summary>Address of the instruction being translated.</summary>
    public ulong Pc { get; internal set; }
    public ulong BlockStart { get; internal set; }
    /// <summary>Set by an emitter that ended the block with an exit or branch of its own.</summary>
    public bool BlockEnded { get; set; }
    public TranslatorOptions Options { get; }
    internal JitStubs Stubs { get; }

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
        SplitAware = false;
        SplitSlot = JitStubs.NoSplitSlot;
        _deferredRedirects.Clear();
        _deferredWild.Clear();
        _immIndex = -1;
        _coldPaths.Clear();
        _sideExits.Clear();
        _inlineReturns.Clear();
        _flagKeepingJccs.Clear();
        _flagsCapturedAt = -1;
        _nzcvStale = false;
        ClearApiMarks();
        _inLoop = false;
        _deferred = false;
        _lastAddressValid = false;
        Array.Fill(_hostOf, -1);
        _cachedCount = 0;
    }

    // ---- guest general-purpose registers (their CpuState operands: EmitterContext.State.cs) ----

    /// <summary>Loads Xr (31 reads as zero) into <paramref name="dst"/>. Leaves host flags alone.</summary>
    public void LoadX(AssemblerRegister64 dst, int r)
    {
        if (r == 31) Asm.mov(R32(dst), 0);
        else LoadXsp(dst, r);
    }

    /// <summary>Loads Xr where 31 means SP.</summary>
    public void LoadXsp(AssemblerRegister64 dst, int r)
    {
        if (Cached(r) is { } h) Asm.mov(dst, h);
        else if (HoldsJustStored(dst, r)) return;
        else { LayerLoad(r); Asm.mov(dst, X(r)); }
    }

    /// <summary>Loads Wr zero-extended into the whole register (31 reads as zero).</summary>
    public void LoadW(AssemblerRegister64 dst, int r)
    {
        if (r == 31) Asm.mov(R32(dst), 0);
        else LoadWsp(dst, r);
    }

    /// <summary>Loads Wr zero-extended where 31 means WSP.</summary>
    private void LoadWsp(AssemblerRegister64 dst, int r)
    {
        if (Cached(r) is { } h) Asm.mov(R32(dst), R32(h));
        else if (HoldsJustStored(dst, r)) Asm.mov(R32(dst), R32(dst));
        else { LayerLoad(r); Asm.mov(R32(dst), W(r)); }
    }

    /// <summary>
    /// True when the last host instruction stored <paramref name="dst"/> whole to Xr's slot in CpuState and nothing can
    /// jump in between (no label pending): a load of Xr into dst would read back what dst holds (the previous guest
    /// instruction's result, as in "add x1, x28, x1; sub x1, x1, #16" translated uncached). Not in the planning pass,
    /// whose record of each instruction's host code the real pass follows.
    /// </summary>
    private bool HoldsJustStored(AssemblerRegister64 dst, int r)
    {
        if (_planning || !Asm.CurrentLabel.IsEmpty) return false;
        var list = Asm.Instructions;
        if (list.Count == 0) return false;
        var last = list[list.Count - 1];
        return last.Code == Code.Mov_rm64_r64 && last.Op1Register == dst.Value && last.MemoryBase == Register.RBX
            && last.MemoryIndex == Register.None && (long)last.MemoryDisplacement64 == CpuOffsets.Xn(r);
    }

    /// <summary>
    /// The register an emitter builds Rd's new value in: Rd's own host copy when a write may go there alone (see
    /// <see cref="HostCopyWritable"/>), else <paramref name="scratch"/>. Computing in the copy saves the funnel through a
    /// scratch register (mov ecx, src; op ecx, src2; mov r13, rcx becomes op r13d, src2). <paramref name="readLater"/> is
    /// a slot the emitter still reads after it first writes the result register: when that is Rd, its copy must keep
    /// the old value and the scratch is used. The emitter loads its first source with <see cref="LoadFirst"/> and ends
    /// with StoreR/StoreX(rd, the register), which then emits nothing. The planning pass always gets the scratch, so it
    /// sees the layer's loads and stores as the real pass would have made them without the cache.
    /// </summary>
    public AssemblerRegister64 ResultReg(int rd, AssemblerRegister64 scratch, int readLater = -1)
    {
        if (_planning || rd == 31 || rd == readLater) return scratch;
        return HostCopyWritable(rd) ?? scratch;
    }

    /// <summary>Loads Xr or Wr (zero-extended) into <paramref name="dst"/>, the register <see cref="ResultReg"/> gave,
    /// unless it is r's own host copy already (an update of r in place: Rd = Rn). Then no load is needed, and a W
    /// operand's upper half, left as it was, is cleared (mov r32, r32) unless <paramref name="opClears"/>: the caller's
    /// next operation is a 32-bit one that writes the register and so clears it itself.</summary>
    public void LoadFirst(AssemblerRegister64 dst, int r, bool sf, bool opClears = true)
    {
        if (!_planning && r != 31 && _hostOf[r] >= 0 && CachePool[_hostOf[r]] == dst)
        {
            if (!sf && !opClears) Asm.mov(R32(dst), R32(dst));
            return;
        }
        LoadR(dst, r, sf);
    }

    /// <summary>A register holding Xr or Wr for reading: its host copy, or <paramref name="scratch"/> loaded from
    /// CpuState (31 reads as zero). A W operand's host copy may have its upper half set: use it in 32-bit forms only.</summary>
    public AssemblerRegister64 Operand(int r, AssemblerRegister64 scratch, bool sf)
    {
        if (r != 31 && Cached(r) is { } h) return h;
        if (r == 31) Asm.mov(R32(scratch), 0);
        else if (HoldsJustStored(scratch, r)) { if (!sf) Asm.mov(R32(scratch), R32(scratch)); }
        else { LayerLoad(r); if (sf) Asm.mov(scratch, X(r)); else Asm.mov(R32(scratch), W(r)); }
        return scratch;
    }

    /// <summary>The next instruction is this layer's own load of slot <paramref name="r"/> from CpuState (when it has
    /// no usable host copy, CpuState is current): the scans skip it, and in the planning pass it is not the emitter's
    /// fallback for the ask Cached just counted.</summary>
    private void LayerLoad(int r)
    {
        if (_planning) _asked[r]--;
        MarkApiAccess();
    }

    /// <summary>Loads Xr or Wr (zero-extended) by <paramref name="sf"/>.</summary>
    public void LoadR(AssemblerRegister64 dst, int r, bool sf)
    {
        if (sf) LoadX(dst, r); else LoadW(dst, r);
    }

    public void LoadRsp(AssemblerRegister64 dst, int r, bool sf)
    {
        if (sf) LoadXsp(dst, r);
        else LoadWsp(dst, r);
    }

    /// <summary>Writes Xr (a write to 31 is discarded).</summary>
    public void StoreX(int r, AssemblerRegister64 src)
    {
        if (r != 31) StoreSlot(r, src);
    }

    public void StoreXsp(int r, AssemblerRegister64 src) => StoreSlot(r, src);

    /// <summary>
    /// Writes Xr or Wr. For a W write the upper half of <paramref name="src"/> must already be zero, as it
    /// is after any 32-bit x86 operation or 32-bit load into it.
    /// </summary>
    public void StoreR(int r, AssemblerRegister64 src, bool sf)
    {
        if (r != 31) StoreSlot(r, src);
    }

    public void StoreRsp(int r, AssemblerRegister64 src, bool sf) => StoreSlot(r, src);

    /// <summary>Writes an immediate into Xr (31 discarded).</summary>
    public void StoreXImm(int r, ulong value)
    {
        if (r == 31) return;
        NoteWrite(r);
        if (HostCopyWritable(r) is { } h)
        {
            if (value <= uint.MaxValue) Asm.mov(R32(h), (uint)value); else Asm.mov(h, value);
            WroteHostCopy(r);
        }
        else
        {
            StoreImm64(X(r), value, layer: true);
            WroteMemory(r);
        }
        _immIndex = _insnIndex - 1;
        _immSlot = r;
        _immValue = value;
    }

    // the last StoreXImm whose value its slot still holds (any later write to the slot forgets it): its instruction's
    // index in the block, the slot and the value
    private int _immIndex = -1, _immSlot;
    private ulong _immValue;

    /// <summary>
    /// Xr's value when the guest instruction just before this one in the block set it to an immediate
    /// (<see cref="StoreXImm"/>: MOVZ, MOVN, a MOVK folded so, ADR), else null. MOVZ/MOVN then MOVK build a constant 16 bits
    /// at a time (every 32-bit constant of sha256's rounds); knowing the value, MOVK stores the next one whole instead of
    /// masking and merging (one instruction, not two, and no flags clobbered). Nothing can join between two instructions
    /// of a block (its one loop head is its start), so the previous instruction's value is the one this one sees.
    /// </summary>
    public ulong? ImmediateFromPrevious(int r) =>
        _immIndex >= 0 && _immIndex == _insnIndex - 2 && _immSlot == r ? _immValue : null;

    private void NoteRead(int r)
    {
        if ((_written & (1ul << r)) != 0) SlotRawReads[r]++; else SlotReads[r]++;
        _accessed |= 1ul << r;
        _asked[r]++;
    }

    private void NoteWrite(int slot)
    {
        if (!_planning) return;
        SlotWrites[slot]++;
        if ((_accessed & (1ul << slot)) == 0) SlotFirstWrite[slot] = _insnIndex - 1;
        _accessed |= 1ul << slot;
        _written |= 1ul << slot;
    }

    private void StoreSlot(int slot, AssemblerRegister64 src)
    {
        NoteWrite(slot);
        if (HostCopyWritable(slot) is { } h)
        {
            if (h != src) Asm.mov(h, src); // src == h: the value was built in the copy (ResultReg)
            WroteHostCopy(slot);
            return;
        }
        MarkApiAccess();
        Asm.mov(X(slot), src);
        WroteMemory(slot);
    }

    /// <summary>The host copy of <paramref name="slot"/> when a write may go there alone (write-back): the slot is
    /// cached, its register is not the emitter's own, and no helper call or direct write in this emitter has made
    /// the copy one that <see cref="EndInstruction"/> reloads.</summary>
    private AssemblerRegister64? HostCopyWritable(int slot) => WritableCopy(slot) is int k and >= 0 ? CachePool[k] : null;

    /// <summary>Real pass: the pool index of <paramref name="slot"/>'s host copy when a write may go there alone, else -1:
    /// as <see cref="UsableCopy"/>, and the emitter's code calls no helper anywhere (a call on one of its paths, even
    /// after the write, is preceded by a spill and followed by a reload from CpuState, which the write would miss).</summary>
    private int WritableCopy(int slot) => _planning || _emitterCalls ? -1 : UsableCopy(slot);

    /// <summary>Real pass: the pool index of <paramref name="slot"/>'s host copy when it may be read or written here (the
    /// slot is cached, its register is not the emitter's own, and no helper call or direct write in this emitter has made
    /// the copy one that <see cref="EndInstruction"/> reloads), else -1.</summary>
    private int UsableCopy(int slot)
    {
        int k = _hostOf[slot];
        if (k < 0 || _deferred || (_busy & (1 << k)) != 0) return -1;
        ScanEmitted();
        return _callSeen || (_staleSlots & (1ul << slot)) != 0 ? -1 : k;
    }

    private void WroteHostCopy(int slot)
    {
        _dirty |= 1ul << slot;
        if (slot == _immSlot) _immIndex = -1;
    }

    /// <summary>A write went to CpuState: it is the newest value (a cached copy is reloaded after the emitter).</summary>
    private void WroteMemory(int slot)
    {
        if (slot == _immSlot) _immIndex = -1;
        _dirty &= ~(1ul << slot);
        if (_hostOf[slot] >= 0) _staleSlots |= 1ul << slot;
    }

    /// <summary>Stores a 64-bit constant to memory, through rax only when it does not fit an imm32.</summary>
    public void StoreImm64(AssemblerMemoryOperand mem, ulong value) => StoreImm64(mem, value, layer: false);

    /// <summary>As the public form; <paramref name="layer"/> marks the store as this layer's own (StoreXImm).</summary>
    private void StoreImm64(AssemblerMemoryOperand mem, ulong value, bool layer)
    {
        if ((long)value != (int)value) Asm.mov(rax, value);
        if (layer) MarkApiAccess();
        if ((long)value == (int)value) Asm.mov(mem, (int)value); else Asm.mov(mem, rax);
    }

    // ---- guest register cache ----
    //
    // Up to seven guest registers of a block (slot 31 = SP; chosen by Translator.PlanCache from a planning
    // pass over the block) are kept in r12, r13, rbp and r8-r11, and up to twelve SIMD&FP registers (slots 32..63) in
    // xmm8-xmm15 and xmm7-xmm4, loaded at block entry unless the block writes them first. The cache is WRITE-BACK: a write through
    // this layer goes to the host copy only and marks the slot dirty; dirty slots are stored to CpuState (spilled)
    // where something else may read it:
    //   - before every exit of the block (SpillDirty, emitted ahead of the jmp or jcc that gets linked);
    //   - before an emitter whose own code uses the slot's host register, calls a helper, or reaches the slot in
    //     CpuState directly (the planning pass records each of these per instruction; BeginInstruction spills; an
    //     emitter that calls a helper anywhere writes CpuState, not a copy, which is reloaded after it);
    //   - before a cold path's body (Cold).
    // A host fault in the middle of the block (a guest access to a page this node does not hold, or a guest
    // SIGSEGV) leaves through the signal handler, which saves the general pool registers in CpuOffsets.FaultRegs
    // (the exit it sends the thread to saves the xmm pool in CpuOffsets.FaultVRegs); the translator keeps, per guest
    // instruction, the dirty slots at its access (Translator.RestoreFaultState puts them back), so CpuState is exact
    // at every fault as well.
    // Writes that bypass this layer (a memory operand X(n) or VPart(n, ...) written by an emitter, or a helper call that may change
    // CpuState) are found by scanning the instructions each emitter produced: inside that emitter later reads of
    // such a register go to memory, and after the emitter the copy is reloaded. An emitter that READS X(n) in
    // CpuState behind the layer while the slot is dirty (one the planning pass did not see) is caught by the same
    // scan: the block is translated again without a cache (Translator.RegisterConflicts counts it; tests expect 0).
    // So an emitter must never reach a guest register in CpuState through a pointer other than rbx (e.g.
    // lea rdx, [rbx + X(n)]) except inside a helper it calls.

    internal static readonly AssemblerRegister64[] CachePool = { r12, r13, rbp, r11, r10, r9, r8 };
    /// <summary>The SIMD&amp;FP registers' pool: emitters use xmm0-xmm7 only, so xmm8-xmm15 hold guest V registers, and
    /// xmm7-xmm4 (which fewer emitters use than xmm0-xmm3) more of them, stepped aside for an emitter that uses one as
    /// r8-r11 are. Pool index <see cref="CachePool"/>.Length + k is XmmPool[k].</summary>
    internal static readonly AssemblerRegisterXMM[] XmmPool = { xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14, xmm15, xmm7, xmm6, xmm5, xmm4 };
    /// <summary>The xmm register of pool index <paramref name="k"/> (<see cref="CachePool"/>.Length and above).</summary>
    private static AssemblerRegisterXMM XmmAt(int k) => XmmPool[k - CachePool.Length];
    /// <summary>Slots: 0..30 = X0..X30, 31 = SP, <see cref="VSlot0"/> + n = Vn.</summary>
    internal const int SlotCount = 64;
    internal const int VSlot0 = 32;
    /// <summary>Every pool register, general then xmm (the index a slot's <c>_hostOf</c> gives).</summary>
    internal const int PoolCount = 19;
    private static readonly Register[] CachePoolIds =
    {
        Register.R12, Register.R13, Register.RBP, Register.R11, Register.R10, Register.R9, Register.R8,
        // Iced's full register of xmm8 is zmm8
        Register.ZMM8, Register.ZMM9, Register.ZMM10, Register.ZMM11, Register.ZMM12, Register.ZMM13, Register.ZMM14, Register.ZMM15,
        Register.ZMM7, Register.ZMM6, Register.ZMM5, Register.ZMM4,
    };
    // pool index of a full register (by Iced's Register number), or -1
    private static readonly sbyte[] PoolIndex = NewPoolIndex();

    /// <summary>The pool index of the full register of <paramref name="r"/> (eax: rax, r12d: r12), or -1.</summary>
    private static int PoolIndexOf(Register r)
    {
        int full = (int)r.GetFullRegister();
        return full < PoolIndex.Length ? PoolIndex[full] : -1;
    }

    private static sbyte[] NewPoolIndex()
    {
        int size = 0;
        foreach (var id in CachePoolIds) size = Math.Max(size, (int)id + 1);
        var t = new sbyte[size];
        Array.Fill(t, (sbyte)-1);
        for (int k = 0; k < CachePoolIds.Length; k++) t[(int)CachePoolIds[k]] = (sbyte)k;
        return t;
    }
    private readonly int[] _hostOf = NewSlots();
    // the slots with a host copy in this block (the inverse of _hostOf, _cachedCount of them)
    private readonly int[] _cachedSlots = new int[PoolCount];
    private int _cachedCount;
    /// <summary>Planning pass, per slot: reads of a value loaded from CpuState (not yet written in the block).</summary>
    internal readonly int[] SlotReads = new int[SlotCount];
    /// <summary>Planning pass, per slot: reads after a write in the block (a store-to-load round trip saved).</summary>
    internal readonly int[] SlotRawReads = new int[SlotCount];
    internal readonly int[] SlotWrites = new int[SlotCount];
    /// <summary>Planning pass, per slot: instruction ordinal of the first access when it was a write, else -1.</summary>
    internal readonly int[] SlotFirstWrite = new int[SlotCount];
    /// <summary>Planning pass, per slot: instructions whose emitter reaches the slot in CpuState behind the layer (a helper
    /// call not counted): each costs a cached copy a spill before or a reload after.</summary>
    internal readonly int[] SlotDirect = new int[SlotCount];
    private ulong _accessed, _written;
    /// <summary>Planning pass, per instruction: its emitter's code contains a branch that may skip part of it (one to a
    /// label of its own); a detour out of line that comes back to where it left (a cold path, an address check's or a
    /// split redirect's call, see <see cref="OutOfLine"/>), a side exit and a helper call are not such branches.</summary>
    internal readonly List<bool> InsnBranches = new();
    // planning pass: the labels of this block's out-of-line code (entered from the straight line, back before any write
    // of the emitter that jumped there, or leaving the block)
    private readonly HashSet<ulong> _outOfLine = new();
    private int _emitterStart, _scanFrom, _insnIndex;
    /// <summary>
    /// Per guest instruction of the block, the pool registers its emitter's own code uses (found in the
    /// planning pass): while that emitter runs those copies are neither read nor written, and after it they
    /// are reloaded. r8-r11 are emitter scratch registers, so this is what lets them hold guest registers.
    /// </summary>
    private readonly List<int> _touched = new();
    /// <summary>Per guest instruction (planning pass): the slots its emitter reaches in CpuState behind the layer
    /// (all of them when it calls a helper): dirty ones are spilled before it.</summary>
    private readonly List<ulong> _plannedDirect = new();
    private readonly List<uint> _plannedOps = new();
    private bool _planning;
    /// <summary>The planning pass is running (its decisions, such as Translator.MayFollow's, the real pass repeats).</summary>
    internal bool Planning => _planning;
    private int _busy;
    private bool _callSeen;
    // real pass: the planning pass saw a helper call in this emitter's code (or did not plan it)
    private bool _emitterCalls;
    // real pass: emitting the block's out-of-line code, where no copy is used (a cold body starts with CpuState current)
    private bool _deferred;
    /// <summary>Per guest instruction (planning pass): its emitter's code calls a helper.</summary>
    private readonly List<bool> _plannedCall = new();
    private ulong _staleSlots;
    // planning pass, per slot: how often this emitter asked the layer about it (Cached/IsCached/Load*/CachedForUpdate);
    // that many memory operands on the slot are the layer's own fallback (no cache in planning), any more are direct
    private readonly int[] _asked = new int[SlotCount];
    /// <summary>Real pass: cached slots whose host copy is newer than CpuState.</summary>
    private ulong _dirty;
    /// <summary>Real pass, per guest instruction: the dirty slots while its code runs (after BeginInstruction's spill).</summary>
    internal readonly List<ulong> DirtyAt = new();
    /// <summary>Real pass: an emitter read a dirty slot in CpuState behind the layer; the block must be redone uncached.</summary>
    internal bool Conflict { get; private set; }
    /// <summary>The guest instruction whose emitter first caused <see cref="Conflict"/>.</summary>
    internal ulong ConflictPc { get; private set; }

    private void NoteConflict()
    {
        if (Conflict) return;
        Conflict = true;
        ConflictPc = Pc;
    }
    // the layer's own instructions of the current emitter, by index in Asm.Instructions (indices only grow)
    private bool[] _apiMarks = new bool[1024];
    private readonly List<int> _apiMarked = new();

    private static int[] NewSlots() { var a = new int[SlotCount]; Array.Fill(a, -1); return a; }

    /// <summary>Marks the next instruction emitted as the layer's own (a store or load of a slot it accounts for, or
    /// a stub that keeps every register): the scans skip it.</summary>
    private void MarkApiAccess()
    {
        int i = Asm.Instructions.Count;
        if (i >= _apiMarks.Length) Array.Resize(ref _apiMarks, Math.Max(i + 1, 2 * _apiMarks.Length));
        _apiMarks[i] = true;
        _apiMarked.Add(i);
    }

    private bool IsApiAccess(int i) => i < _apiMarks.Length && _apiMarks[i];

    private void ClearApiMarks()
    {
        foreach (int i in _apiMarked) _apiMarks[i] = false;
        _apiMarked.Clear();
    }

    /// <summary>True when guest slot <paramref name="r"/> has a host copy in this block.</summary>
    public bool IsCached(int r)
    {
        if (_planning) _asked[r]++;
        return _hostOf[r] >= 0;
    }

    /// <summary>
    /// The host register holding guest slot <paramref name="r"/> for an update in place (read, then written with
    /// the new value of the whole slot, e.g. add r12, imm), or null (update CpuState or go through Load/Store then).
    /// </summary>
    public AssemblerRegister64? CachedForUpdate(int r)
    {
        if (_planning)
        {
            NoteRead(r);
            NoteWrite(r);
            _asked[r]--; // one update, one memory operand (or a load and a store through the layer)
            return null;
        }
        if (Cached(r) is not { } h || HostCopyWritable(r) is null) return null;
        WroteHostCopy(r);
        return h;
    }

    /// <summary>
    /// Xr = Xr + imm (or - imm; 64-bit, flags dead) in place: on its host copy when that may be written here, or on
    /// CpuState when the block does not cache the slot. False when neither applies: go through Load/Store then.
    /// </summary>
    public bool AddInPlace(int r, int imm, bool subtract)
    {
        if (CachedForUpdate(r) is { } h)
        {
            if (imm != 0) { if (subtract) Asm.sub(h, imm); else Asm.add(h, imm); }
            return true;
        }
        if (IsCached(r)) return false;
        if (imm != 0) { if (subtract) Asm.sub(X(r), imm); else Asm.add(X(r), imm); }
        return true;
    }

    /// <summary>
    /// The host register holding guest slot <paramref name="r"/> (31 = SP), usable for a read at this point,
    /// or null (read CpuState then). Counts the read for the planning pass.
    /// </summary>
    public AssemblerRegister64? Cached(int r)
    {
        if (_planning)
        {
            NoteRead(r);
            return null;
        }
        return UsableCopy(r) is int k and >= 0 ? CachePool[k] : null;
    }

    /// <summary>Sets the cached slots for the block being emitted and loads them (at the block's start):
    /// <paramref name="poolSlots"/>[k] is the slot pool register k holds (-1: none; X slots in the general registers,
    /// V slots in the xmm ones).</summary>
    internal void LoadCache(ReadOnlySpan<sbyte> poolSlots, ulong noPreload)
    {
        Array.Fill(_hostOf, -1);
        _cachedCount = 0;
        _dirty = 0;
        for (int k = 0; k < poolSlots.Length; k++)
        {
            int slot = poolSlots[k];
            if (slot < 0) continue;
            if ((slot >= VSlot0) != (k >= CachePool.Length)) throw new ArgumentException("slot in the wrong pool");
            _hostOf[slot] = k;
            _cachedSlots[_cachedCount++] = slot;
            if ((noPreload & (1ul << slot)) == 0) Reload(slot);
        }
    }

    /// <summary>Starts the planning pass: no cache, count reads, record each emitter's pool register use.</summary>
    internal void BeginPlanning()
    {
        SelfLoop = false;
        Array.Fill(_hostOf, -1);
        _cachedCount = 0;
        Array.Clear(SlotReads);
        Array.Clear(SlotRawReads);
        Array.Clear(SlotWrites);
        Array.Fill(SlotFirstWrite, -1);
        Array.Clear(SlotDirect);
        _accessed = _written = 0;
        InsnBranches.Clear();
        _outOfLine.Clear();
        _touched.Clear();
        _plannedDirect.Clear();
        _plannedCall.Clear();
        _plannedOps.Clear();
        _flagUses.Clear();
        _knownReturns.Clear();
        _planning = true;
        _insnIndex = 0;
    }

    internal void BeginRealPass()
    {
        _planning = false;
        _insnIndex = 0;
        _dirty = 0;
        DirtyAt.Clear();
        Conflict = false;
        FlagConflict = false;
    }

    internal void BeginInstruction(uint op)
    {
        ulong spill = 0;
        if (_planning) { _plannedOps.Add(op); _busy = 0; _flagUse = FlagUse.None; }
        else if (_insnIndex < _touched.Count && _plannedOps[_insnIndex] == op)
        {
            _busy = _touched[_insnIndex];
            spill = _plannedDirect[_insnIndex];
            _emitterCalls = _plannedCall[_insnIndex];
            for (int k = 0; k < _cachedCount; k++)
                if ((_busy & (1 << _hostOf[_cachedSlots[k]])) != 0) spill |= 1ul << _cachedSlots[k];
        }
        else
        {
            // not the instruction planned (guest code changed meanwhile): leave every copy alone, and the flag plan,
            // made for other code, does not hold
            _busy = -1;
            _emitterCalls = true;
            spill = ~0ul;
            if (UseFlagPlan) NoteFlagConflict();
        }
        _insnIndex++;
        FollowedTo = 0;
        if ((spill & _dirty) != 0)
        {
            SpillSlots(spill & _dirty);
            _dirty &= ~spill;
        }
        if (!_planning) DirtyAt.Add(_dirty);
        _emitterStart = _scanFrom = Asm.Instructions.Count;
        _callSeen = false;
        _staleSlots = 0;
        if (_planning) Array.Clear(_asked);
        ClearApiMarks();
        KeepGuestAddress = false;
    }

    /// <summary>After an emitter: reloads host copies that its own code may have made stale.</summary>
    internal void EndInstruction()
    {
        if (_planning)
        {
            int mask = 0;
            ulong direct = 0;
            bool branches = false, calls = false;
            var list = Asm.Instructions;
            // label ids grow from 1: a branch target above the newest is an address (a stub), not a label
            ulong newestLabel = Asm.CreateLabel().Id;
            for (int i = _emitterStart; i < list.Count; i++)
            {
                var insn = list[i];
                var fc = insn.FlowControl;
                branches |= fc is FlowControl.IndirectBranch or FlowControl.Return or FlowControl.Interrupt
                        or FlowControl.XbeginXabortXend or FlowControl.Exception
                    || (fc is FlowControl.ConditionalBranch or FlowControl.UnconditionalBranch
                        && insn.NearBranch64 <= newestLabel && !_outOfLine.Contains(insn.NearBranch64));
                if ((fc != FlowControl.Next && !_flagKeepingJccs.Contains(i)) || TouchesGuestMemoryOrNzcv(insn, IsApiAccess(i)))
                    _flagUse |= FlagUse.Barrier;
                foreach (var u in _infoFactory.GetInfo(insn, InstructionInfoOptions.NoMemoryUsage).GetUsedRegisters())
                {
                    int k = PoolIndexOf(u.Register);
                    if (k >= 0) mask |= 1 << k;
                }
                if (IsApiAccess(i)) continue;
                // a helper call may read any slot; a compact exit's call (JitStubs.LinkExit...) leaves the block after
                // its own spill, like a jmp to the exit: counting it as a helper spilled every dirty slot ahead of the
                // instruction, inside a self-loop's body too (bc's hot loop ran 1.09x slower)
                if (fc is FlowControl.Call or FlowControl.IndirectCall && !IsCompactExit(insn)) { direct = ~0ul; calls = true; continue; }
                CpuStateSlots(insn, out ulong read, out ulong written);
                ulong slots = read | written;
                for (int r = 0; slots != 0 && r < SlotCount; r++)
                    if ((slots & (1ul << r)) != 0 && --_asked[r] < 0) direct |= 1ul << r;
            }
            _touched.Add(mask);
            _plannedDirect.Add(direct);
            _plannedCall.Add(calls);
            if (direct != ~0ul)
                for (int r = 0; r < SlotCount; r++)
                    if ((direct & (1ul << r)) != 0) SlotDirect[r]++;
            _flagUses.Add(_flagUse);
            InsnBranches.Add(branches);
            return;
        }
        if (BlockEnded || _cachedCount == 0) return; // no copies to keep: nothing to scan for
        ScanEmitted();
        for (int k = 0; k < _cachedCount; k++)
        {
            int r = _cachedSlots[k];
            if (_callSeen || (_busy & (1 << _hostOf[r])) != 0 || (_staleSlots & (1ul << r)) != 0)
            {
                if ((_dirty & (1ul << r)) != 0) NoteConflict(); // a dirty copy cannot be reloaded (never happens: spilled)
                Reload(r);
            }
        }
    }

    /// <summary>Planning pass: whether an instruction from index <paramref name="from"/> on reached
    /// <paramref name="slot"/> in CpuState behind the layer or called a helper.</summary>
    private bool ReachedBehindLayer(int slot, int from)
    {
        for (int i = Math.Max(from, 0); i < _plannedDirect.Count; i++)
            if ((_plannedDirect[i] & (1ul << slot)) != 0) return true;
        return false;
    }

    /// <summary>Loads cached slot <paramref name="r"/>'s host copy again from CpuState (current: dirty slots are
    /// spilled before anything that could make their copy stale).</summary>
    private void Reload(int r)
    {
        if (r < VSlot0) Asm.mov(CachePool[_hostOf[r]], X(r));
        else Asm.movdqu(XmmAt(_hostOf[r]), V(r - VSlot0));
    }

    /// <summary>Stores the host copies of <paramref name="slots"/> to CpuState (they stay dirty for the caller to decide).</summary>
    private void SpillSlots(ulong slots)
    {
        for (int k = 0; k < _cachedCount; k++)
        {
            int r = _cachedSlots[k];
            if ((slots & (1ul << r)) == 0) continue;
            MarkApiAccess();
            if (r < VSlot0) Asm.mov(X(r), CachePool[_hostOf[r]]);
            else Asm.movdqu(V(r - VSlot0), XmmAt(_hostOf[r]));
        }
    }

    /// <summary>
    /// Stores every dirty slot to CpuState: emitted before each way out of the block (before the jmp or jcc that
    /// block linking patches, since a linked exit goes straight to the next block). Leaves the slots dirty: a side
    /// exit (EmitterContext.Exits.cs) is followed by more of the block. Host flags are kept.
    /// </summary>
    public void SpillDirty()
    {
        CheckNzcvCurrent();
        SpillSlots(_dirty);
    }

    /// <summary>A call of one of the compact exits' stubs (EmitterContext.Exits.cs): an exit, not a helper call.</summary>
    private bool IsCompactExit(in Instruction insn) =>
        insn.Code == Code.Call_rel32_64 && Stubs.CompactExitData(insn.NearBranch64) != 0;

    /// <summary>
    /// The guest-register slots <paramref name="insn"/> reads and writes in CpuState. Only an explicit [rbx + ...]
    /// operand can reach CpuState (emitters never use xlat, rbx's one implicit use); an address computation (lea)
    /// neither reads nor writes.
    /// </summary>
    private void CpuStateSlots(in Instruction insn, out ulong read, out ulong written)
    {
        read = written = 0;
        if (insn.MemoryBase != Register.RBX) return;
        foreach (var m in _infoFactory.GetInfo(insn, InstructionInfoOptions.NoRegisterUsage).GetUsedMemory())
        {
            if (m.Base != Register.RBX) continue;
            ulong slots = SlotsOf(m);
            if (m.Access is OpAccess.Read or OpAccess.CondRead or OpAccess.ReadWrite or OpAccess.ReadCondWrite) read |= slots;
            if (m.Access is OpAccess.Write or OpAccess.CondWrite or OpAccess.ReadWrite or OpAccess.ReadCondWrite) written |= slots;
        }
    }

    /// <summary>The CpuState guest-register slots (X and V) a memory operand on rbx covers (all when it has an index).</summary>
    private static ulong SlotsOf(in UsedMemory m)
    {
        if (m.Index != Register.None) return ~0ul;
        long d = (long)m.Displacement;
        int size = m.MemorySize.GetSize();
        if (size <= 0) size = 64;
        return SlotsIn(d, size, CpuOffsets.X0, 8, 0) | SlotsIn(d, size, CpuOffsets.V0, 16, VSlot0);
    }

    /// <summary>The slots of 32 registers of <paramref name="width"/> bytes from <paramref name="start"/> (numbered from
    /// <paramref name="first"/>) that bytes [d, d + size) overlap.</summary>
    private static ulong SlotsIn(long d, int size, int start, int width, int first)
    {
        int end = start + 32 * width;
        if (d + size <= start || d >= end) return 0;
        ulong slots = 0;
        for (long o = Math.Max(d, start) & ~(long)(width - 1); o < Math.Min(d + size, end); o += width)
            slots |= 1ul << (first + (int)((o - start) / width));
        return slots;
    }

    private void ScanEmitted()
    {
        var list = Asm.Instructions;
        for (int i = _scanFrom; i < list.Count; i++)
        {
            var insn = list[i];
            if (IsApiAccess(i)) continue; // accounted for already (or a stub that keeps every register)
            var fc = insn.FlowControl;
            if (fc == FlowControl.Call || fc == FlowControl.IndirectCall)
            {
                if (_dirty != 0) NoteConflict(); // a call the planning pass did not see, with copies not spilled
                _callSeen = true;
                continue;
            }
            CpuStateSlots(insn, out ulong read, out ulong written);
            // reading a slot whose newest value is still in its host copy would see an old value
            if ((read & _dirty) != 0) NoteConflict();
            _staleSlots |= written;
            _dirty &= ~written;
        }
        _scanFrom = list.Count;
    }

    private readonly InstructionInfoFactory _infoFactory = new();

    /// <summary>Planning pass: <paramref name="insn"/> may access guest memory (which may fault) or reach CpuState's
    /// NZCV other than through the flag functions (<paramref name="api"/>: one of theirs). Only CpuState ([rbx + d])
    /// and the host stack are known not to be guest memory.</summary>
    private static bool TouchesGuestMemoryOrNzcv(in Instruction insn, bool api)
    {
        if (insn.Mnemonic == Mnemonic.Lea || insn.Mnemonic == Mnemonic.Nop) return false;
        for (int k = 0; k < insn.OpCount; k++)
        {
            if (insn.GetOpKind(k) != OpKind.Memory) continue;
            var b = insn.MemoryBase;
            if (b == Register.RSP || b == Register.RIP) return false;
            if (b != Register.RBX || insn.MemoryIndex != Register.None) return true;
            long d = (long)insn.MemoryDisplacement64;
            return !api && d < CpuOffsets.Nzcv + 4 && d + 16 > CpuOffsets.Nzcv;
        }
        return false;
    }

    // ---- SIMD&FP registers (their CpuState operands: EmitterContext.State.cs) ----

    /// <summary>Zeroes bits 127..64 of Vn, as every scalar and 64-bit vector write does.</summary>
    public void ClearVHigh(int n) => Asm.mov(VHigh(n), 0);

    // ---- guest memory ----

    /// <summary>
    /// True while the instruction being emitted is split-aware (<see cref="Translator.MarkSplitAware"/>): its
    /// accesses look up the split-page table and may be redirected to a shadow page. Set per instruction by the
    /// translator, the same in the planning and the real pass.
    /// </summary>
    public bool SplitAware { get; internal set; }

    /// <summary>
    /// Checks the guest address in rsi against the reservation (DESIGN.md invariant 1) and returns the displacement
    /// the accesses must still add: use <see cref="Mem64"/> and friends (or [r15 + rsi + returned value + ...])
    /// afterwards. <paramref name="span"/> is the number of bytes the instruction's accesses cover from
    /// rsi + <paramref name="disp"/>.
    ///
    /// In line this is <c>cmp rsi, r14; ja wild</c> (r14 holds the highest guest address): an address in range goes
    /// on unchanged, so an access lands on exactly the bytes the guest addressed. An address above it (a wild pointer,
    /// or a tagged one) takes the out-of-line path to <see cref="JitStubs.WildAddress"/>, which strips the top byte
    /// (AArch64 TBI, which Linux enables for user space) and, when that is still out of range, replaces rsi with
    /// <see cref="CpuOffsets.WildTarget"/> in the guard, keeping the guest address in CpuState: the access then
    /// faults there and the dispatcher reports the guest's own address (<see cref="CpuOffsets.GuestFaultAddress"/>).
    /// The displacement added after the check is at most 64 KiB (an LDR's scaled offset), so an in-range address plus
    /// it stays in the guard below the wild target.
    ///
    /// For an instruction that is not split-aware <paramref name="disp"/> comes back unchanged. For a split-aware one
    /// the displacement is folded into rsi (0 is returned) and the split-page redirect follows
    /// (<see cref="EmitSplitRedirect"/>). Clobbers host flags either way.
    /// </summary>
    public int CheckAddress(int span, int disp = 0)
    {
        CheckNzcvCurrent();
        var wild = Asm.CreateLabel();
        var back = Asm.CreateLabel();
        Asm.cmp(rsi, r14);
        // the short form, grown by LinearEncoder when the out-of-line call is out of reach
        Asm.AddInstruction(Instruction.CreateBranch(Code.Ja_rel8_64, wild.Id));
        Asm.Label(ref back);
        _deferredWild.Add((wild, back));
        OutOfLine(wild);
        if (!SplitAware) return disp;
        if (disp != 0) Asm.add(rsi, disp);
        EmitSplitRedirect(span);
        return 0;
    }

    // ---- address reuse ----
    //
    // A load and a store of the same guest address in one block (a counter's ldr/add/str, a field read and written)
    // compute the same masked address in rsi twice, and for split-aware instructions pay the redirect twice. The
    // plain load/store emitters describe their address (AddressKey) and skip the computation when rsi still holds
    // it: nothing since wrote rsi or the guest registers it came from (their host copies or their CpuState slots),
    // called out, or joined the straight line from elsewhere (a cold path, which calls a helper, or a loop head).
    // A split-aware access reuses only a split-aware address of the same span: a redirect decision depends on both.
    // rsi is never stale in a way a fault could expose: the access still goes through [r15 + rsi] and faults or
    // reaches a retired shadow page like the first one would, and the instruction then runs again from its start.

    /// <summary>What a load/store address in rsi was computed from: the base (and index) register, the offset folded
    /// in before masking, the extend and shift of an index, and for a split-aware access its span.</summary>
    internal readonly record struct AddressKey(int Rn, int Rm, long Offset, int Option, int Shift, int Span, bool Split);

    private AddressKey _lastAddress;
    private bool _lastAddressValid;
    private int _lastAddressEnd;

    /// <summary>Real pass: true when rsi still holds the address <paramref name="key"/> describes (nothing is emitted).</summary>
    internal bool TryReuseAddress(in AddressKey key)
    {
        if (_planning || !_lastAddressValid || KeepGuestAddress || !key.Equals(_lastAddress)) return false;
        ulong slots = (1ul << key.Rn) | (key.Rm is >= 0 and < 31 ? 1ul << key.Rm : 0);
        int pool = 0; // the pool registers holding those slots
        for (int r = 0; r < 32; r++)
            if ((slots & (1ul << r)) != 0 && _hostOf[r] >= 0) pool |= 1 << _hostOf[r];
        var list = Asm.Instructions;
        for (int i = _lastAddressEnd; i < list.Count; i++)
        {
            var insn = list[i];
            if (insn.FlowControl is not (FlowControl.Next or FlowControl.ConditionalBranch or FlowControl.UnconditionalBranch))
                return _lastAddressValid = false;
            foreach (var u in _infoFactory.GetInfo(insn, InstructionInfoOptions.NoMemoryUsage).GetUsedRegisters())
            {
                if (u.Access is not (OpAccess.Write or OpAccess.CondWrite or OpAccess.ReadWrite or OpAccess.ReadCondWrite)) continue;
                int k = PoolIndexOf(u.Register);
                if (u.Register.GetFullRegister() == Register.RSI || (k >= 0 && (pool & (1 << k)) != 0)) return _lastAddressValid = false;
            }
            CpuStateSlots(insn, out _, out ulong written);
            if ((written & slots) != 0) return _lastAddressValid = false;
        }
        _lastAddressEnd = list.Count;
        AddressesReused++;
        CheckNzcvCurrent(); // the access that follows may fault
        return true;
    }

    /// <summary>Records that rsi now holds the address <paramref name="key"/> describes.</summary>
    internal void NoteAddress(in AddressKey key)
    {
        if (_planning || KeepGuestAddress) { _lastAddressValid = false; return; }
        _lastAddress = key;
        _lastAddressValid = true;
        _lastAddressEnd = Asm.Instructions.Count;
    }

    /// <summary>Addresses not computed again because rsi still held them (all blocks).</summary>
    internal long AddressesReused;

    /// <summary>The split-aware instruction's slot in the thread's redirect cache (<see cref="CpuOffsets.SplitCache"/>),
    /// or <see cref="JitStubs.NoSplitSlot"/>.</summary>
    public int SplitSlot { get; internal set; } = JitStubs.NoSplitSlot;

    /// <summary>
    /// The split-page redirect of a masked address in rsi covering <paramref name="span"/> bytes (entry format
    /// at <see cref="CpuOffsets.SplitMap"/>): when the page's entry E is non-zero and the span stays inside one
    /// coherence unit, rsi += (E &amp; ~0xFFF) + (unit &lt;&lt; 12); otherwise rsi is left alone.
    ///
    /// Inline is only the thread's cache slot of this instruction: a hit (same address as last time) is a compare
    /// and an add, so a loop on its own unit runs nearly as fast as before the split. A miss calls
    /// <see cref="JitStubs.SplitRedirect"/>, which walks the table and fills the slot. Every register but rsi is
    /// preserved. Host flags are clobbered, which is safe: CheckAddress's CMP already clobbers them at every
    /// address computation, so no emitter can hold host flags live across one (checked: the flag users, the
    /// condition and carry loads in EmitterContext.Flags and the CMPXCHG/CMP loops of the atomics, all set
    /// the flags they read after the address is computed; the "flags still in EFLAGS" shortcut only applies
    /// when the capture is the very last host instruction emitted, which an address computation never leaves).
    /// </summary>
    private void EmitSplitRedirect(int span)
    {
        if (span <= 0 || span > 0xFFFF) throw new ArgumentOutOfRangeException(nameof(span));
        var a = Asm;
        var done = a.CreateLabel();
        var miss = a.CreateLabel();
        int slot = SplitSlot;
        if (KeepGuestAddress) a.mov(__qword_ptr[rbx + CpuOffsets.SplitGuestAddr], rsi);
        if (slot == JitStubs.NoSplitSlot)
        {
            a.push(span | slot << 16);
            MarkApiAccess(); // the stub keeps every register and writes no guest register: not a helper call
            a.call(Stubs.SplitRedirect);
            return;
        }
        // the hit falls through; the miss goes out of line, after the block's exits (EmitDeferred)
        int key = CpuOffsets.SplitCache + 16 * slot;
        a.cmp(rsi, __qword_ptr[rbx + key]);
        a.jne(miss);
        a.add(rsi, __qword_ptr[rbx + key + 8]);
        a.Label(ref done);
        _deferredRedirects.Add((miss, done, span | slot << 16));
        OutOfLine(miss);
    }

    /// <summary>The exclusive monitor needs the guest address of this instruction's access even when it redirects
    /// (stored at <see cref="CpuOffsets.SplitGuestAddr"/>); set by the exclusive emitters, reset per instruction.</summary>
    public bool KeepGuestAddress { get; set; }

    private readonly List<(Label Miss, Label Back, int Argument)> _deferredRedirects = new();

    /// <summary>The out-of-line calls of <see cref="CheckAddress"/> for an address above the guest range.</summary>
    private readonly List<(Label Wild, Label Back)> _deferredWild = new();

    private readonly List<(Label Entry, Label Back, Action Body, ulong Dirty)> _coldPaths = new();

    /// <summary>
    /// Code run only in rare cases (a NaN result recomputed in C#, ...), placed out of line after the block's exits so
    /// the common case falls through without a taken branch. Returns the label to jump to, which the emitter must do
    /// before it writes a guest register; <paramref name="body"/> is emitted there, after the slots dirty at this
    /// point are spilled, and is followed by a reload of the block's cached guest registers (a helper call in the body
    /// is not in the instruction's own code, which the register layer scans: caller-saved pool registers may not
    /// survive it, and the helper may write guest registers); then execution goes back to <paramref name="back"/>.
    /// </summary>
    public Label Cold(Label back, Action body)
    {
        CheckNzcvCurrent();
        var entry = Asm.CreateLabel();
        _coldPaths.Add((entry, back, body, _dirty));
        OutOfLine(entry);
        _lastAddressValid = false; // the body calls a helper and comes back to back: rsi is not kept
        return entry;
    }

    /// <summary>Planning pass: <paramref name="label"/> starts out-of-line code that comes back before the jumping
    /// emitter writes a guest register, or leaves the block (see <see cref="InsnBranches"/>).</summary>
    private void OutOfLine(Label label)
    {
        if (_planning) _outOfLine.Add(label.Id);
    }

    /// <summary>Emits the out-of-line code of this block (after its last exit): cold paths, split redirect misses.</summary>
    internal void EmitDeferred()
    {
        var a = Asm;
        _deferred = true;
        EmitSideExits();
        foreach (var (entry, back, body, dirty) in _coldPaths)
        {
            var e = entry;
            a.Label(ref e);
            SpillSlots(dirty);
            body();
            for (int k = 0; k < _cachedCount; k++) Reload(_cachedSlots[k]);
            a.jmp(back);
        }
        _coldPaths.Clear();
        foreach (var (miss, back, argument) in _deferredRedirects)
        {
            var m = miss;
            a.Label(ref m);
            // most misses of a split-aware instruction are accesses to pages that are not split: look at the table
            // entry here and call the stub only for a split page (pops leave the flags of the compare alone)
            a.push(rax);
            a.push(rcx);
            a.mov(rax, rsi);
            a.shr(rax, 12);
            a.mov(rcx, __qword_ptr[rbx + CpuOffsets.SplitMap]);
            a.cmp(__qword_ptr[rcx + rax * 8], 0);
            a.pop(rcx);
            a.pop(rax);
            a.je(back);
            a.push(argument);
            a.call(Stubs.SplitRedirect);
            a.jmp(back);
        }
        _deferredRedirects.Clear();
        foreach (var (wild, back) in _deferredWild)
        {
            var w = wild;
            a.Label(ref w);
            a.call(Stubs.WildAddress);
            a.jmp(back);
        }
        _deferredWild.Clear();
    }

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
        CheckNzcvCurrent();
        Asm.mov(rax, (ulong)function);
        Asm.call(rax);
        // the interrupt signal leaves a thread's r14 alone while it runs managed code, which keeps r14 as it found it:
        // read the exit request again (host flags are the helper's anyway)
        JitStubs.EmitLoadLimit(Asm);
    }

    /// <summary>A block's entry check: to <paramref name="asked"/> when the thread is asked to leave (r14 is 0 then:
    /// <see cref="JitStubs.EmitLoadLimit"/>). Clobbers host flags.</summary>
    internal void JumpIfAskedToLeave(Label asked)
    {
        Asm.test(r14, r14);
        Asm.je(asked);
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
