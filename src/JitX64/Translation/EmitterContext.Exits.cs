using Dqemu.JitX64.State;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Translation;

public sealed partial class EmitterContext
{
    /// <summary>Bytes of "jmp rel32" that block linking patches.</summary>
    public const int LinkJmpSize = 5;

    /// <summary>
    /// Leaves for a known guest address. The exit is a "jmp rel32" whose displacement starts as 0 (falling
    /// into a stub that asks the dispatcher for the target); once the target is translated the dispatcher
    /// rewrites the displacement so later runs go straight there.
    /// </summary>
    public void BranchTo(ulong target)
    {
        if (LoopsBack(target)) { LoopBack(); return; }
        SpillDirty();
        BranchTo(target, default);
    }

    // ---- self-loops ----
    //
    // A block that branches back to its own start (the planning pass sees it: SelfLoop) is emitted as a loop when
    // blocks are linked: its back edge checks for an exit request (r14, JitStubs.EmitLoadLimit) and jumps to the point after the register cache's preload,
    // so the cached guest registers stay in host registers across iterations (no spill, no reload, no exit). For
    // the dirty masks to agree at the loop head whether it is reached from the block's entry or from the back edge,
    // every cached slot the block writes counts as dirty from the head on (BeginLoop): on entry those copies were
    // just loaded, so spilling or restoring them at a fault gives CpuState its own value.

    /// <summary>Planning pass: the block branches back to its own start.</summary>
    internal bool SelfLoop { get; private set; }
    private bool _inLoop;
    private Label _loopHead;

    /// <summary>Real pass, after the cache's preload (every cached slot preloaded): the loop head. The cached slots
    /// the planning pass saw written count as dirty from here on.</summary>
    internal void BeginLoop()
    {
        _inLoop = true;
        _lastAddressValid = false; // the back edge joins here
        _loopHead = Asm.CreateLabel();
        Asm.Label(ref _loopHead);
        for (int k = 0; k < _cachedCount; k++)
            if (SlotWrites[_cachedSlots[k]] > 0) _dirty |= 1ul << _cachedSlots[k];
    }

    /// <summary>True when a branch to <paramref name="target"/> is this block's back edge, emitted as
    /// <see cref="LoopBack"/>; the planning pass notes every branch to the block's own start (<see cref="SelfLoop"/>).</summary>
    private bool LoopsBack(ulong target)
    {
        if (target != BlockStart) return false;
        if (_planning) SelfLoop = true;
        return _inLoop;
    }

    /// <summary>The back edge: another iteration unless the thread is asked to stop (then the block's Interrupt
    /// exit, with the registers spilled). Clobbers host flags.</summary>
    private void LoopBack()
    {
        if (Options.CountBlocks) Asm.inc(__qword_ptr[rbx + CpuOffsets.BlocksRun]);
        Asm.test(r14, r14); // JitStubs.EmitLoadLimit: 0 when the thread is asked to leave
        Asm.jne(_loopHead);
        SpillDirty();
        ExitWith(ExitReason.Interrupt, BlockStart);
        BlockEnded = true;
    }

    /// <summary>
    /// As <see cref="BranchTo(ulong)"/>, but the exit that gets linked is the rel32 jump or jcc ending at
    /// <paramref name="linkVia"/> (a label on the instruction after it) when that label is set. The caller has
    /// spilled the dirty guest registers (<see cref="SpillDirty"/>) ahead of the link site.
    /// </summary>
    private void BranchTo(ulong target, Label linkVia)
    {
        BlockEnded = true;
        if (Options.LinkBlocks && !linkVia.IsEmpty)
        {
            // the jcc before is the site: no jmp of its own, only the exit the jcc reaches until it is linked
            ExitToLink(linkVia, 0, target);
            return;
        }
        // the label goes after the jmp: a label the caller left pending may already sit on the jmp
        var siteEnd = Asm.CreateLabel();
        Asm.AddInstruction(LinkSiteJmp); // a 5-byte db E9: how LinearEncoder knows a link site
        Asm.Label(ref siteEnd);
        if (Options.LinkBlocks)
        {
            // Not linked yet: to the dispatcher, which links the site. Every site can be linked (LinearEncoder keeps
            // its displacement inside one cache line), so the jump cache is not tried here: an exit that found its
            // target there would go through the probe every time and never be linked.
            ExitToLinkHere(target);
            return;
        }
        // never linked (--no-link): the thread's jump cache before the dispatcher
        int slot = JumpCache.IndexOf(target) * 16;
        var miss = Asm.CreateLabel();
        Asm.mov(rax, target);
        Asm.mov(CpuField64(CpuOffsets.Pc), rax);
        Asm.mov(rdx, CpuField64(CpuOffsets.JumpCache));
        Asm.cmp(__qword_ptr[rdx + slot], rax);
        Asm.jne(miss);
        Asm.jmp(__qword_ptr[rdx + slot + 8]);
        Asm.Label(ref miss);
        ExitToLink(linkVia.IsEmpty ? siteEnd : linkVia, 0, target);
    }

    /// <summary>A link site's "jmp rel32" to the next instruction, as data (made once: Assembler.db takes a new array).</summary>
    private static readonly Instruction LinkSiteJmp = Instruction.CreateDeclareByte(0xE9, 0, 0, 0, 0);

    // ---- compact exits (JitStubs.LinkExit, LinkExitAt, PcExit): a call to a shared stub and the exit's data ----

    /// <summary>A Branch exit to <paramref name="target"/> whose link site is the rel32 ending right here (the jmp just
    /// emitted): "call LinkExit; dq target".</summary>
    private void ExitToLinkHere(ulong target)
    {
        Asm.call(Stubs.LinkExit);
        Asm.AddInstruction(Instruction.CreateDeclareQword(target));
    }

    /// <summary>A Branch exit to <paramref name="target"/>, which the dispatcher links at the site whose rel32 ends
    /// <paramref name="past"/> bytes after <paramref name="at"/> (CpuState.LinkSite).</summary>
    private void ExitToLink(Label at, int past, ulong target)
    {
        Asm.lea(rax, __[at]);
        if (past != 0) Asm.add(rax, past);
        Asm.call(Stubs.LinkExitAt);
        Asm.AddInstruction(Instruction.CreateDeclareQword(target));
    }

    /// <summary>Leaves for the dispatcher with <paramref name="reason"/> and guest PC <paramref name="pc"/> (the caller has
    /// spilled what the exit needs): "call PcExit; dq pc; dd reason".</summary>
    public void ExitWith(ExitReason reason, ulong pc)
    {
        Asm.call(Stubs.PcExit);
        Asm.AddInstruction(Instruction.CreateDeclareQword(pc));
        Asm.AddInstruction(Instruction.CreateDeclareDword((uint)reason));
    }

    /// <summary>
    /// Leaves for the guest address in <paramref name="target"/> through the thread's jump cache
    /// (a direct-mapped table of {guest pc, host code}), falling back to the dispatcher on a miss.
    /// Clobbers rax, rcx, rdx.
    /// </summary>
    public void BranchIndirect(AssemblerRegister64 target)
    {
        SpillDirty();
        if (target != rax) Asm.mov(rax, target);
        LeaveForRax();
        BlockEnded = true;
    }

    /// <summary>The way out of <see cref="BranchIndirect"/> once the registers are spilled: the jump-cache probe for
    /// the guest address in rax, else an Indirect exit to the dispatcher.</summary>
    private void LeaveForRax()
    {
        var miss = Asm.CreateLabel();
        JumpCache.EmitProbe(Asm, miss);
        Asm.Label(ref miss);
        // only the dispatcher reads Pc: a block entered on a hit knows its own, as one entered by a linked jmp does
        Asm.mov(CpuField64(CpuOffsets.Pc), rax);
        Asm.mov(eax, (int)ExitReason.Indirect);
        Asm.jmp(Stubs.Exit);
    }

    /// <summary>Returns to the dispatcher with <paramref name="reason"/> and guest PC <paramref name="pc"/>.</summary>
    public void ExitBlock(ExitReason reason, ulong pc)
    {
        SpillDirty();
        ExitWith(reason, pc);
        BlockEnded = true;
    }

    /// <summary>"If cond goto taken else go on with the next instruction": ends the block, or in a superblock leaves
    /// by a side exit (<see cref="BranchOnHostFlags"/>).</summary>
    public void BranchIf(int cond, ulong taken)
    {
        if (cond >= 14) { BranchTo(taken); return; }
        BranchOnHostFlags(HostJcc[(int)LoadCondition(cond)], taken, flagsAreNzcv: true);
    }

    // ---- superblocks ----
    //
    // A block translated in full goes on past its conditional branches (B.cond, CBZ/CBNZ, TBZ/TBNZ): the branch is a
    // side exit and the block continues with the fall-through, its cached registers still in host registers and its
    // flags where they were. Only blocks translated in full (hot ones, Translator.Tiers.cs) do: a quick translation
    // of code that may never run stays short. The side exit is a jcc to an out-of-line stub, after the block's last
    // exit, which spills the registers dirty at the branch (and captures NZCV when the flag plan left it in the host
    // flags alone: a B.cond's jcc keeps them) and leaves through a linkable jmp; with nothing to spill or capture the
    // jcc itself is the link site, as at a block's end. The guest range stays contiguous, so a fault maps to its instruction as
    // in any block.

    /// <summary>Set by the translator per block: conditional branches are side exits and the block goes on.</summary>
    internal bool ContinuePastBranches { get; set; }

    // Taken 0: a followed RET's miss (below), which leaves for the guest address in rcx
    private readonly List<(Label Stub, ulong Taken, ulong Dirty, bool CaptureFlags, Label Site)> _sideExits = new();
    // instruction indices of side-exit jccs that leave the host flags holding NZCV for the code after them (B.cond's)
    private readonly HashSet<int> _flagKeepingJccs = new();

    /// <summary>
    /// Ends the block after the caller set the host flags: <paramref name="nearJcc"/> (a jcc's rel32 form, e.g.
    /// Code.Jne_rel32_64) goes to <paramref name="taken"/>, else execution falls through to the next instruction.
    /// The jcc is the taken side's link site: once linked it jumps straight to the target block, not through a
    /// second jmp (it stays in its rel32 form: LinearEncoder only shortens branches the Assembler made short).
    /// </summary>
    public void BranchOnHostFlags(Code nearJcc, ulong taken, bool flagsAreNzcv = false)
    {
        // a branch to the block's own start ends it in both passes (the real pass may make it the loop's back edge)
        if (ContinuePastBranches && taken != BlockStart)
        {
            SideExit(nearJcc, taken, flagsAreNzcv);
            return;
        }
        if (LoopsBack(taken))
        {
            var back = Asm.CreateLabel();
            Asm.AddInstruction(Instruction.CreateBranch(nearJcc.ToShortBranch(), back.Id));
            BranchTo(Pc + 4);
            Asm.Label(ref back);
            LoopBack();
            return;
        }
        SpillDirty(); // movs: the flags the jcc reads survive
        var t = Asm.CreateLabel();
        Asm.AddInstruction(Instruction.CreateBranch(nearJcc, t.Id));
        var jccEnd = Asm.CreateLabel();
        Asm.Label(ref jccEnd);
        BranchTo(Pc + 4, default);
        Asm.Label(ref t);
        BranchTo(taken, jccEnd);
    }

    /// <summary>A side exit of a superblock (see above): the jcc goes to a stub that spills and leaves for
    /// <paramref name="taken"/> by a linkable jmp, or with nothing to spill or capture is the link site itself. <paramref name="flagsAreNzcv"/>:
    /// the host flags hold NZCV (a B.cond), which the code after the jcc may still read there.</summary>
    private void SideExit(Code nearJcc, ulong taken, bool flagsAreNzcv)
    {
        bool capture = _nzcvStale;
        if (capture && !flagsAreNzcv) NoteFlagConflict(); // a CBZ's own compare is in the host flags: the plan must have stored NZCV
        if (flagsAreNzcv) _flagKeepingJccs.Add(Asm.Instructions.Count);
        if (_dirty == 0 && !capture)
        {
            // nothing to spill or capture: the jcc itself is the link site (near form, 6 bytes), its unlinked way out
            // is out of line. A label the caller left pending is on the jcc as well: it names the same place.
            var site = Asm.CurrentLabel;
            if (site.IsEmpty) { site = Asm.CreateLabel(); Asm.Label(ref site); }
            var t = Asm.CreateLabel();
            Asm.AddInstruction(Instruction.CreateBranch(nearJcc, t.Id));
            _sideExits.Add((t, taken, 0, false, site));
            OutOfLine(t);
            return;
        }
        var stub = Asm.CreateLabel();
        Asm.AddInstruction(Instruction.CreateBranch(nearJcc.ToShortBranch(), stub.Id));
        _sideExits.Add((stub, taken, _dirty, capture, default));
        OutOfLine(stub);
    }

    /// <summary>The side exits' out-of-line code (EmitDeferred).</summary>
    private void EmitSideExits()
    {
        foreach (var (stub, taken, dirty, capture, site) in _sideExits)
        {
            var s = stub;
            Asm.Label(ref s);
            if (!site.IsEmpty)
            {
                // a jcc that is its own link site, not linked yet: the dispatcher patches the rel32 ending 6 bytes on
                ExitToLink(site, 6, taken);
                continue;
            }
            // the jcc that came here left the flags as they were: NZCV in the stored convention
            if (capture) StoreHostFlags();
            SpillSlots(dirty);
            if (taken == 0)
            {
                Asm.mov(rax, rcx);
                LeaveForRax();
                continue;
            }
            BranchTo(taken, default);
        }
        _sideExits.Clear();
    }

    // ---- followed branches ----
    //
    // In a superblock an unconditional direct branch (B, BL) need not end the block either: the translator may go on
    // at its target (Translator.MayFollow decides in the planning pass, and the real pass follows the same ones), so
    // the cached registers stay in host registers and no exit, link or block entry is paid. A followed BL notes its
    // return address; the RET X30 that meets it compares X30 with that address instead of probing the jump cache and
    // goes on inline there, leaving by an out-of-line stub (spill, then the probe) when X30 holds anything else: a
    // return-address prediction made at translation time, checked in the generated code. The block's guest
    // instructions are then no longer one range: the translator keeps each one's address (Translator.BlockMap.Pcs).

    /// <summary>What a followed branch is (<see cref="MayFollow"/>).</summary>
    internal enum FollowKind { Jump, Call, Return }

    /// <summary>Set by the translator per block: whether the block may go on at this target of an unconditional
    /// branch, call or return (the same answers in both passes); null: never.</summary>
    internal Func<ulong, FollowKind, bool>? MayFollow { get; set; }

    /// <summary>After an emitter: the guest address the block goes on at (a followed branch), 0 for the next
    /// instruction.</summary>
    internal ulong FollowedTo { get; private set; }

    // the followed BLs whose RET has not been met yet, innermost last: the return address, and in the planning pass
    // X30's count of writes through the layer after the BL and the BL's instruction index
    private readonly List<(ulong Return, int Writes, int Index)> _inlineReturns = new();
    // planning pass: the RETs (instruction indices) whose X30 nothing wrote since their BL: no check needed
    private readonly HashSet<int> _knownReturns = new();

    /// <summary>An unconditional branch to <paramref name="target"/> (B; BL, <paramref name="call"/>, after it wrote
    /// X30): goes on there inside the block when the translator lets it, else ends the block as
    /// <see cref="BranchTo(ulong)"/>.</summary>
    public void Goto(ulong target, bool call = false)
    {
        if (target != BlockStart && MayFollow != null && MayFollow(target, call ? FollowKind.Call : FollowKind.Jump))
        {
            FollowedTo = target;
            if (call) _inlineReturns.Add((Pc + 4, SlotWrites[30], _insnIndex - 1));
            return;
        }
        BranchTo(target);
    }

    /// <summary>RET Xn: goes on inline at a followed BL's return address when Xn is X30 and holds it (see above),
    /// else leaves for the address in Xn through the jump cache (<see cref="BranchIndirect"/>). X30 is compared with the
    /// return address unless nothing wrote it since the BL (the planning pass's count of its writes, and no access
    /// behind the layer or helper call in between). Clobbers rax, rcx, rdx.</summary>
    public void Return(int rn)
    {
        if (rn == 30 && _inlineReturns.Count > 0)
        {
            var (expected, writes, index) = _inlineReturns[^1];
            _inlineReturns.RemoveAt(_inlineReturns.Count - 1);
            if (MayFollow != null && MayFollow(expected, FollowKind.Return))
            {
                if (_planning && SlotWrites[30] == writes && !ReachedBehindLayer(30, index))
                    _knownReturns.Add(_insnIndex - 1);
                FollowedTo = expected;
                if (_knownReturns.Contains(_insnIndex - 1)) return;
                CheckNzcvCurrent(); // the compare clobbers the host flags (the plan sees a barrier here)
                LoadX(rcx, 30);
                if (expected <= int.MaxValue) Asm.cmp(rcx, (int)expected);
                else { Asm.mov(rax, expected); Asm.cmp(rcx, rax); }
                var miss = Asm.CreateLabel();
                Asm.jne(miss);
                _sideExits.Add((miss, 0, _dirty, false, default));
                OutOfLine(miss);
                return;
            }
        }
        LoadX(rax, rn);
        BranchIndirect(rax);
    }
}
