using System.Diagnostics;
using System.Text;
using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.Host;
using Dqemu.JitX64.State;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Dqemu.JitX64.Translation;

/// <summary>
/// Turns guest basic blocks into host code: decode with the table, let each row's emitter write x86-64
/// through the <see cref="EmitterContext"/>, place the result in the <see cref="CodeCache"/>.
/// </summary>
public sealed partial class Translator
{
    private readonly IGuestCodeReader _code;
    private readonly EmitterContext _ctx;
    private readonly object _lock = new();

    public CodeCache Cache { get; }
    public JitStubs Stubs { get; }

    /// <summary>Where a thread running this translator's code has r14 as translated code keeps it (the interrupt
    /// signal's handler sets it to 0 there: <see cref="JitStubs.EmitLoadLimit"/>): the stubs' part between Enter's
    /// prologue and its epilogue, and the blocks' part of the cache.</summary>
    public (ulong Start, ulong Length)[] GuestContextRanges =>
    [
        (Stubs.GuestContextStart, Stubs.GuestContextEnd - Stubs.GuestContextStart),
        (Cache.BlocksStart, (ulong)Cache.Base + Cache.Size - Cache.BlocksStart),
    ];
    public TranslatorOptions Options { get; }

    public long BlocksTranslated;
    public long InstructionsTranslated;
    /// <summary>Blocks emitted again without a register cache because an emitter read a guest register in CpuState
    /// behind the register layer while the block held a newer value (<see cref="EmitterContext"/>); 0 is expected.</summary>
    public long RegisterConflicts;
    /// <summary>Blocks emitted again without their flag plan because the real pass found it did not hold (see
    /// EmitterContext.Flags.cs); 0 is expected.</summary>
    public long FlagConflicts;
    /// <summary>Flag captures (see EmitterContext.Flags.cs) emitted without their store to CpuState, and without
    /// anything at all, because of flag liveness.</summary>
    public long FlagStoresDropped => _ctx.FlagStoresDropped;
    public long FlagCapturesDropped => _ctx.FlagCapturesDropped;
    /// <summary>Loads and stores that used the address a previous one left in rsi instead of computing it again
    /// (<see cref="EmitterContext"/>, "address reuse").</summary>
    public long AddressesReused => _ctx.AddressesReused;
    /// <summary>The instruction of the last <see cref="RegisterConflicts"/> (address and disassembly), for the report.</summary>
    public string? LastConflict;

    /// <summary>Bumped by every drop of translations (<see cref="InvalidateRange"/> that hit a block, breakpoints,
    /// <see cref="MarkSplitAware"/> that added an address, a code-cache flush).</summary>
    public int Generation => Volatile.Read(ref _generation);
    private int _generation;
    /// <summary>Guest instruction addresses whose accesses go through the split-page redirect, with their slot in
    /// each thread's redirect cache (<see cref="CpuOffsets.SplitCache"/>; <see cref="JitStubs.NoSplitSlot"/> once the
    /// slots are used up). Under _lock.</summary>
    private readonly Dictionary<ulong, int> _splitAware = new();
    public long TranslationTicks;
    /// <summary>Guest addresses where a debugger wants the guest stopped (<see cref="SetBreakpoint"/>). Under _lock.</summary>
    private readonly HashSet<ulong> _breakpoints = new();
    /// <summary>One-instruction blocks for single-stepping (<see cref="GetOrTranslateStep"/>), by guest pc; dropped with
    /// every other translation. Under _lock.</summary>
    private readonly Dictionary<ulong, nint> _stepBlocks = new();
    /// <summary>True while a step block is translated: one instruction, breakpoints ignored, no self-loop. Under _lock.</summary>
    private bool _stepping;

    public Translator(IHostMemory host, IGuestCodeReader code, TranslatorOptions? options = null)
    {
        Options = options ?? new TranslatorOptions();
        _code = code;
        Cache = new CodeCache(host, Options.CodeCacheSize, Options.CodeListener);
        Stubs = new JitStubs(Cache);
        _ctx = new EmitterContext(Stubs, Options);
        _mayFollow = MayFollow;
    }

    /// <summary>Host code for the block at <paramref name="pc"/>, translating it on first use.</summary>
    public nint GetOrTranslate(ulong pc) => GetOrTranslate(pc, out _);

    /// <summary>As <see cref="GetOrTranslate(ulong)"/>; <paramref name="translated"/> is the number of guest
    /// instructions this call translated (0 when the block existed). <paramref name="runner"/>, the caller's, lets go
    /// of its epoch while the call waits for the cache to be emptied (Translator.Reuse.cs).</summary>
    public nint GetOrTranslate(ulong pc, out int translated, BlockRunner? runner = null)
    {
        translated = 0;
        nint code = Cache.Lookup(pc);
        if (code != 0) return code;
        lock (_lock)
        {
            code = Cache.Lookup(pc);
            return code != 0 ? code : TranslateAndPublishLocked(pc, runner, full: false, out translated);
        }
    }

    /// <summary>Translates the block at <paramref name="pc"/> (in full when <paramref name="full"/>, else as blocks start:
    /// Translator.Tiers.cs), counts its time and makes it the block the lookup finds. Under _lock.</summary>
    private nint TranslateAndPublishLocked(ulong pc, BlockRunner? runner, bool full, out int translated)
    {
        long t0 = Stopwatch.GetTimestamp();
        long before = InstructionsTranslated;
        nint code = TranslateWithRoom(pc, runner, full: full);
        translated = (int)(InstructionsTranslated - before);
        TranslationTicks += Stopwatch.GetTimestamp() - t0;
        Cache.Publish(pc, code);
        return code;
    }

    /// <summary>
    /// Host code that runs exactly the one guest instruction at <paramref name="pc"/> and leaves (a debugger's
    /// single step): breakpoints are ignored (the step is how a thread gets past the one it stopped at), the block
    /// is kept apart from the ordinary ones (never linked to, never in the code cache's lookup) and its branch
    /// exits find nothing in a jump cache the runner leaves empty (<see cref="BlockRunner.Step"/>).
    /// </summary>
    public nint GetOrTranslateStep(ulong pc, BlockRunner? runner = null)
    {
        lock (_lock)
        {
            if (_stepBlocks.TryGetValue(pc, out nint code)) return code;
            code = TranslateWithRoom(pc, runner, stepping: true);
            _stepBlocks[pc] = code;
            return code;
        }
    }

    /// <summary>
    /// A one-instruction block for <paramref name="pc"/> as <see cref="GetOrTranslateStep"/> makes, translated afresh
    /// and kept nowhere: the dispatcher re-runs with it a store that faulted on a write-protected page of guest code
    /// (self-modifying code), from the bytes as they are now. Each call takes code-cache space, given back when the
    /// cache is emptied (Translator.Reuse.cs); it is called once per such fault, each of which also drops the blocks of
    /// the page written.
    /// </summary>
    public nint TranslateOnce(ulong pc, BlockRunner? runner = null)
    {
        lock (_lock)
        {
            return TranslateWithRoom(pc, runner, stepping: true);
        }
    }

    /// <summary>Runs <paramref name="action"/> holding the translation lock, so that no other thread is inside a
    /// translation meanwhile (a guest's fork: the child must not inherit the lock held by a thread it does not have).</summary>
    public T Exclusive<T>(Func<T> action)
    {
        lock (_lock)
        {
            while (_flushing) Monitor.Wait(_lock); // a flush lets go of the lock while it waits for the runners
            return action();
        }
    }

    /// <summary>Drops every debugger breakpoint (a forked child runs without the debugger, as under qemu).</summary>
    public void ClearBreakpoints()
    {
        lock (_lock)
        {
            if (_breakpoints.Count == 0) return;
            _breakpoints.Clear();
            DropAllLocked();
        }
    }

    /// <summary>
    /// Sets or clears a debugger breakpoint at <paramref name="pc"/>. A block never runs into a breakpoint: it ends
    /// before it, and a block starting at one is a <see cref="ExitReason.DebugStop"/> exit, so guest memory is never
    /// patched. A change drops every translation (the blocks that would end at the address are not known); the caller
    /// raises each thread's ExitRequest. True when the set changed.
    /// </summary>
    public bool SetBreakpoint(ulong pc, bool set)
    {
        lock (_lock)
        {
            bool changed = set ? _breakpoints.Add(pc) : _breakpoints.Remove(pc);
            if (changed) DropAllLocked();
            return changed;
        }
    }

    /// <summary><see cref="TranslateLocked"/> with room for the block: the cache is emptied first when it is nearly
    /// full, and again if the block still did not fit. <paramref name="stepping"/>: a one-instruction block
    /// (<see cref="_stepping"/>, set only around the translation itself: the lock is let go while a flush waits);
    /// <paramref name="full"/>: the full translation even when blocks start quick (Translator.Tiers.cs).</summary>
    private nint TranslateWithRoom(ulong start, BlockRunner? runner, bool stepping = false, bool full = false)
    {
        MakeRoomLocked(runner);
        try { return TranslateLocked(start, stepping, full); }
        catch (CodeCacheFullException)
        {
            MakeRoomLocked(runner, full: true);
            return TranslateLocked(start, stepping, full);
        }
    }

    private nint TranslateLocked(ulong start, bool stepping, bool full)
    {
        _stepping = stepping;
        try { return TranslateLocked(start, quick: !full && !stepping && Options.TierUpAfter > 0); }
        finally { _stepping = false; }
    }

    /// <summary>Translates the block at <paramref name="start"/>: fully (a planning pass, then the real one with the
    /// register cache it chose), or when <paramref name="quick"/> in the real pass alone, uncached, with a countdown to
    /// its translation in full (Translator.Tiers.cs).</summary>
    private unsafe nint TranslateLocked(ulong start, bool quick)
    {
        var ctx = _ctx;
        var a = ctx.Asm;

        // planning pass: emit once without a register cache to count each guest register's reads, then
        // cache the most-used ones (write-back, see EmitterContext) in the real pass
        ctx.Reset(start);
        // superblocks (EmitterContext.Exits.cs): blocks translated in full go on past their conditional branches
        ctx.ContinuePastBranches = !quick && !_stepping && Options.LinkBlocks && Options.Superblocks;
        // and on at the targets of their unconditional branches, where MayFollow lets them
        ctx.MayFollow = ctx.ContinuePastBranches && Options.FollowBranches ? _mayFollow : null;
        _follows.Clear();
        ctx.BeginPlanning();
        if (!quick) EmitBody(start, null, out _, out _);
        // code the guest may change without a fault (IGuestCodeReader.IsVolatile): decided once, in this pass; a page
        // that turns volatile later gets this block dropped by the invalidation that follows (it waits for _lock)
        // (a quick translation guesses from the first page, and is emitted again in the rare case it guessed wrong)
        bool check = quick ? _code.IsVolatile(start) : _volatileSeen;
        bool loop = ctx.SelfLoop && Options.LinkBlocks && !_stepping;
        ulong noPreload = 0;
        int nCached = quick ? 0 : PlanCache(ctx, loop, out noPreload);
        // flag liveness (EmitterContext.Flags.cs): from the planning pass's record of the block
        bool flagPlan = !quick && Options.FlagLiveness && ctx.PlanFlags();
        if (loop) noPreload = 0; // the loop head is reached with every cached register loaded
        int* countdown = quick ? NewCountdownLocked() : null;

        StringBuilder? inAsm;
        ulong pc;
        int count;
        long* counter = Options.Counters != null ? Options.Counters.Allocate(start) : null;
        while (true)
        {
            ctx.Reset(start);
            ctx.BeginRealPass();
            ctx.UseFlagPlan = flagPlan;
            var interrupted = a.CreateLabel();
            var entry = a.CreateLabel();
            a.Label(ref entry);
            ctx.JumpIfAskedToLeave(interrupted);
            var tierUp = countdown != null ? a.CreateLabel() : default;
            if (countdown != null)
            {
                // rax is free and no host flag is live at the entry; <= 0 rather than == 0, so that a thread entering
                // the block after its full translation replaced it leaves again (Translator.Tiers.cs)
                a.mov(rax, (ulong)countdown);
                a.sub(__dword_ptr[rax], 1);
                a.jle(tierUp);
            }
            var checkBytes = a.CreateLabel();
            var bytesChecked = a.CreateLabel();
            if (check)
            {
                a.jmp(checkBytes);
                a.Label(ref bytesChecked);
            }
            if (Options.CountBlocks) a.inc(__qword_ptr[rbx + CpuOffsets.BlocksRun]);
            if (Options.BlockEntryHook != 0) EmitEntryHook(start, entry);
            ctx.LoadCache(nCached == 0 ? default : _poolSlots, noPreload);
            if (loop) ctx.BeginLoop();
            if (counter != null)
            {
                // at the loop head, so a self-loop counts its iterations; rax is free and no host flags are live here
                a.mov(rax, (ulong)counter);
                a.inc(__qword_ptr[rax]);
            }

            inAsm = Options.LogInAsm ? new StringBuilder() : null;
            EmitBody(start, inAsm, out pc, out count);

            a.Label(ref interrupted);
            ctx.ExitWith(ExitReason.Interrupt, start);
            if (countdown != null)
            {
                a.Label(ref tierUp);
                ctx.ExitWith(ExitReason.TierUp, start);
            }
            if (check) EmitByteCheck(start, checkBytes, bytesChecked);
            ctx.EmitDeferred();
            if (quick && check != _volatileSeen) { check = _volatileSeen; continue; }
            if (ctx.FlagConflict)
            {
                // the flag plan did not hold for the code the real pass emitted: emit the block again without it
                // (exact, slower; tests expect this never to happen)
                FlagConflicts++;
                LastConflict = _code.TryFetch(ctx.ConflictPc, out uint w) ? $"0x{ctx.ConflictPc:x}: {Disassembler.Disassemble(w, ctx.ConflictPc)}" : $"0x{ctx.ConflictPc:x}";
                flagPlan = false;
                continue;
            }
            if (!ctx.Conflict || nCached == 0) break;
            // an emitter read a guest register in CpuState behind the register layer while the block held a newer
            // value: emit the block again without a cache (exact, slower; tests expect this never to happen)
            RegisterConflicts++;
            LastConflict = _code.TryFetch(ctx.ConflictPc, out uint word) ? $"0x{ctx.ConflictPc:x}: {Disassembler.Disassemble(word, ctx.ConflictPc)}" : $"0x{ctx.ConflictPc:x}";
            nCached = 0;
        }

        var offsets = new uint[_firstHostInsn.Count];
        ulong host = Cache.PlaceBlock(a, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_firstHostInsn), offsets);
        // a block that caches nothing (every quick one) has no pool slots and nothing dirty: shared empty arrays, not two
        // allocations per block (RestoreFaultState reads a missing entry as nothing dirty); every allocation here is a
        // fresh page touched sooner or later, as a short run collects nothing
        int poolUsed = EmitterContext.PoolCount;
        while (nCached != 0 && _poolSlots[poolUsed - 1] < 0) poolUsed--;
        var slots = nCached == 0 ? [] : _poolSlots.AsSpan(0, poolUsed).ToArray();
        ulong hostEnd = Cache.LastEnd;
        var dirty = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ctx.DirtyAt).ContainsAnyExcept(0ul) ? ctx.DirtyAt.ToArray() : [];
        var map = new BlockMap(host, hostEnd, start, pc + 3, offsets, dirty, slots, _dropAlls)
        {
            Quick = quick,
            Pcs = _follows.Count == 0 ? null : _pcs.ToArray(),
            PcPages = _follows.Count == 0 ? null : _pcs.Select(p => p >> 12).Distinct().ToArray(),
        };
        _blockMaps.Add(map);
        _blockStarts.Add(host);
        Cache.Listener?.BlockPlaced(host, hostEnd - host, start);
        AddLiveLocked(map);
        if (++BlocksTranslated % TranslatorOptions.HeapHookBlocks == 0) Options.EveryBlocksTranslated?.Invoke();
        InstructionsTranslated += count;
        if (inAsm != null) Options.Log?.Invoke($"IN: block 0x{start:x}\n{inAsm}");
        if (Options.LogOutAsm) Options.Log?.Invoke(HostDisassembly(host, (int)(Cache.LastEnd - host)));
        return (nint)host;
    }

    /// <summary>
    /// The entry check of a block of volatile code (<see cref="IGuestCodeReader.IsVolatile"/>), out of line: compares
    /// the guest bytes at <paramref name="start"/> with the words this pass translated (_words), 8 bytes at a time,
    /// and leaves with <see cref="ExitReason.CodeModified"/> (Pc = start) when one differs. At block entry no guest
    /// register is cached and no host flag is live, so rax and rsi are free.
    /// </summary>
    private void EmitByteCheck(ulong start, Label checkBytes, Label bytesChecked)
    {
        var a = _ctx.Asm;
        var modified = a.CreateLabel();
        a.Label(ref checkBytes);
        int n = _words.Count;
        // a block that followed branches (EmitterContext.Exits.cs) is made of several runs of consecutive words
        for (int run = 0, end; run < n; run = end)
        {
            for (end = run + 1; end < n && _pcs[end] == _pcs[end - 1] + 4; end++) { }
            a.mov(rsi, _pcs[run]);
            int i = run;
            for (; i + 1 < end; i += 2)
            {
                a.mov(rax, (ulong)_words[i] | (ulong)_words[i + 1] << 32);
                a.cmp(__qword_ptr[r15 + rsi + (i - run) * 4], rax);
                a.jne(modified);
            }
            if (i < end)
            {
                a.cmp(__dword_ptr[r15 + rsi + (i - run) * 4], unchecked((int)_words[i]));
                a.jne(modified);
            }
        }
        a.jmp(bytesChecked);
        a.Label(ref modified);
        _ctx.ExitWith(ExitReason.CodeModified, start);
    }

    /// <summary>
    /// Calls <see cref="TranslatorOptions.BlockEntryHook"/>(cpu, start, this block's host address) before the block
    /// loads its register cache: every guest register is in CpuState then and no caller-saved host register is live.
    /// MXCSR is kept as EmitSoft keeps it for the SIMD slow paths (its sticky bits are FPSR's).
    /// </summary>
    private void EmitEntryHook(ulong start, Label entry)
    {
        var a = _ctx.Asm;
        a.sub(rsp, 16);
        a.stmxcsr(__dword_ptr[rsp]);
        a.mov(rdi, rbx);
        a.mov(rsi, start);
        a.lea(rdx, __[entry]);
        _ctx.CallHelper(Options.BlockEntryHook);
        a.ldmxcsr(__dword_ptr[rsp]);
        a.add(rsp, 16);
    }

    private readonly int[] _slotScore = new int[EmitterContext.SlotCount];
    /// <summary>The plan PlanCache makes: the slot each pool register holds (<see cref="EmitterContext.CachePool"/>, then
    /// <see cref="EmitterContext.XmmPool"/>), -1 for none.</summary>
    private readonly sbyte[] _poolSlots = new sbyte[EmitterContext.PoolCount];

    /// <summary>
    /// Chooses the slots worth caching into <see cref="_poolSlots"/>, best first in each pool, and returns how many. A read
    /// after a write in the block saves a store-to-load round trip (the big win); a read of the entry value saves little,
    /// and the entry load costs one, so those count for less; a second write saves a store (the cache writes back). In a
    /// block that loops on itself (<paramref name="loop"/>) every access counts. A slot whose first access is an
    /// unconditional write needs no entry load (<paramref name="noPreload"/>). A V register an emitter reaches in CpuState
    /// behind the layer (one not moved to LoadV/StoreV) costs a spill or a reload there, so each such access counts
    /// against it.
    /// </summary>
    private int PlanCache(EmitterContext ctx, bool loop, out ulong noPreload)
    {
        noPreload = 0;
        Array.Fill(_poolSlots, (sbyte)-1);
        if (!Options.CacheRegisters) return 0;
        for (int r = 0; r < EmitterContext.SlotCount; r++)
        {
            int fw = ctx.SlotFirstWrite[r];
            bool preload = !(fw >= 0 && fw < ctx.InsnBranches.Count && !ctx.InsnBranches[fw]);
            if (!preload) noPreload |= 1ul << r;
            int reads = ctx.SlotReads[r], raw = ctx.SlotRawReads[r];
            // write-back: every write but the last one's spill at the exit saves a store; in a self-loop the
            // preload and the spill are paid once, not per iteration, so every access counts
            _slotScore[r] = (loop ? 4 * raw + 2 * reads + 2 * ctx.SlotWrites[r]
                : 4 * raw + (reads > 0 ? reads - (preload ? 2 : 0) : 0) + 2 * Math.Max(0, ctx.SlotWrites[r] - 1))
                - (r >= EmitterContext.VSlot0 ? 2 * ctx.SlotDirect[r] : 0);
        }
        int gprs = ChooseSlots(0, EmitterContext.VSlot0, 0, EmitterContext.CachePool.Length);
        int vs = Options.CacheVectors
            ? ChooseSlots(EmitterContext.VSlot0, EmitterContext.SlotCount, EmitterContext.CachePool.Length, EmitterContext.XmmPool.Length)
            : 0;
        return gprs + vs;
    }

    /// <summary>Puts the best of slots [<paramref name="from"/>, <paramref name="to"/>) with a score of at least 2 into
    /// <see cref="_poolSlots"/>[<paramref name="pool"/>..], at most <paramref name="size"/>, best first (ties keep the lower
    /// slot first); returns how many.</summary>
    private int ChooseSlots(int from, int to, int pool, int size)
    {
        int n = 0;
        for (int r = from; r < to; r++)
        {
            if (_slotScore[r] < 2) continue;
            int at = Math.Min(n, size);
            while (at > 0 && _slotScore[_poolSlots[pool + at - 1]] < _slotScore[r]) at--;
            if (at >= size) continue;
            for (int j = Math.Min(n, size - 1); j > at; j--) _poolSlots[pool + j] = _poolSlots[pool + j - 1];
            _poolSlots[pool + at] = (sbyte)r;
            if (n < size) n++;
        }
        return n;
    }

    private void EmitBody(ulong start, StringBuilder? inAsm, out ulong pc, out int count)
    {
        var ctx = _ctx;
        var a = ctx.Asm;
        pc = start;
        count = 0;
        _firstHostInsn.Clear();
        _words.Clear();
        _pcs.Clear();
        _pcFrame.Clear();
        _frames.Clear();
        _frames.Add((start, 0));
        _volatileSeen = false;
        while (true)
        {
            // the planning and the real pass both see the set as it is now (both run under _lock)
            ctx.SplitAware = _splitAware.TryGetValue(pc, out int slot);
            ctx.SplitSlot = ctx.SplitAware ? slot : JitStubs.NoSplitSlot;
            if (_breakpoints.Count != 0 && !_stepping && _breakpoints.Contains(pc))
            {
                // a debugger breakpoint: stop before the instruction (its own block is only the stop)
                if (count == 0) ctx.ExitBlock(ExitReason.DebugStop, pc);
                else ctx.BranchTo(pc);
                break;
            }
            if (!_code.TryFetch(pc, out uint op))
            {
                if (count == 0) ctx.ExitBlock(ExitReason.FetchFault, pc);
                else ctx.BranchTo(pc);
                break;
            }
            ctx.Pc = pc;
            _words.Add(op);
            _pcs.Add(pc);
            _pcFrame.Add(_frames[^1].Start);
            if (!_volatileSeen && _code.IsVolatile(pc)) _volatileSeen = true;
            _firstHostInsn.Add(a.Instructions.Count);
            var desc = Decoders.Decoder.Decode(op);
            inAsm?.Append($"0x{pc:x16}:  {op:x8}  {(desc == null ? $".inst 0x{op:x8}" : Disassembler.Format(desc, op, pc))}\n");
            count++;
            if (desc == null)
            {
                ctx.ExitBlock(ExitReason.Undefined, pc);
                break;
            }
            ctx.BeginInstruction(op);
            desc.Emit(ctx, new A64Op(op));
            ctx.EndInstruction();
            if (ctx.BlockEnded) break;
            pc = ctx.FollowedTo != 0 ? ctx.FollowedTo : pc + 4;
            if (count >= (_stepping ? 1 : Options.MaxBlockInstructions))
            {
                ctx.BranchTo(pc);
                break;
            }
        }
    }

    private readonly List<int> _firstHostInsn = new();
    /// <summary>The guest address of each instruction the last <see cref="EmitBody"/> translated (consecutive unless it
    /// followed a branch).</summary>
    private readonly List<ulong> _pcs = new();

    /// <summary>Most branches one block follows (EmitterContext.Exits.cs, "followed branches"): each copies the code
    /// it goes on with into the block, which then holds its own translation of a callee or a join.</summary>
    private const int MaxFollows = 8;
    /// <summary>Deepest nesting of followed calls.</summary>
    private const int MaxFollowedCalls = 4;
    /// <summary>The branches the planning pass followed: the instruction's index in the block and the target.</summary>
    private readonly List<(int Index, ulong Target)> _follows = new();
    private readonly Func<ulong, EmitterContext.FollowKind, bool> _mayFollow;
    // planning pass: the followed calls the block is inside of, innermost last (the block itself first): the call's
    // target and the index in _pcs of its first instruction; and for each instruction of _pcs that index of its call
    private readonly List<(ulong Target, int Start)> _frames = new();
    private readonly List<int> _pcFrame = new();

    /// <summary>Longest callee a block follows a BL into (<see cref="IsShortCallee"/>).</summary>
    private const int ShortCallee = 24;

    /// <summary>Whether the code at <paramref name="target"/> reaches a RET within <see cref="ShortCallee"/> instructions
    /// without a loop: going on after its calls and at the targets of its forward branches, with no backward branch
    /// and no indirect one on the way. Only such callees are followed: one with a loop leaves the block anyway (its
    /// loop is a block of its own), so copying it into each caller's block cost translation and code cache without
    /// saving an exit (busybox awk ran 3% slower following every call).</summary>
    private bool IsShortCallee(ulong target)
    {
        ulong pc = target;
        for (int n = 0; n < ShortCallee; n++)
        {
            if (!_code.TryFetch(pc, out uint word) || Decoders.Decoder.Decode(word) is not { } desc) return false;
            if (!desc.EndsBlock) { pc += 4; continue; }
            var op = new Decoders.A64Op(word);
            long offset;
            switch (desc.Name)
            {
                case "RET": return true;
                case "BL": pc += 4; continue;
                case "B":
                    if (op.Offset26 <= 0) return false;
                    pc += (ulong)op.Offset26;
                    continue;
                case "B.cond": case "CBZ": case "CBNZ": offset = op.Offset19; break;
                case "TBZ": case "TBNZ": offset = op.Offset14; break;
                default: return false;
            }
            if (offset <= 0) return false;
            pc += 4;
        }
        return false;
    }

    /// <summary>
    /// Whether the block being translated goes on at <paramref name="target"/>, the target of the unconditional branch,
    /// call or predicted return being emitted. In the planning pass: when the block has room, the target is readable
    /// and not volatile code, a jump goes forward and its target is not already in the block within the same call (a
    /// loop is left to the block's own loop or to another block; the same callee followed from two calls is two copies), and a
    /// call's target is not a call the block is already inside of (recursion). In the real pass: as the planning pass
    /// decided at that instruction. A call is followed only into a short function without loops (<see cref="IsShortCallee"/>).
    /// </summary>
    private bool MayFollow(ulong target, EmitterContext.FollowKind kind)
    {
        int index = _pcs.Count - 1;
        if (!_ctx.Planning) return _follows.Contains((index, target));
        if (_follows.Count >= MaxFollows || _pcs.Count >= Options.MaxBlockInstructions - 1
            || !_code.TryFetch(target, out _) || _code.IsVolatile(target))
            return false;
        int frame = _frames[^1].Start;
        switch (kind)
        {
            case EmitterContext.FollowKind.Jump:
                // a backward jump is most often a loop's back edge: followed, it would make the loop's head a
                // place in the middle of this block, and the loop no block's own (bc's digit loop ran 1.12x slower)
                if (target <= _pcs[^1]) return false;
                for (int i = frame; i < _pcs.Count; i++)
                    if (_pcs[i] == target && _pcFrame[i] == frame) return false;
                break;
            case EmitterContext.FollowKind.Call:
                if (_frames.Count > MaxFollowedCalls) return false;
                foreach (var f in _frames)
                    if (f.Target == target) return false;
                if (!IsShortCallee(target)) return false;
                _frames.Add((target, _pcs.Count)); // the callee's first instruction comes next
                break;
            case EmitterContext.FollowKind.Return:
                if (_frames.Count < 2) return false; // not from a followed call (the emitter does not ask then)
                _frames.RemoveAt(_frames.Count - 1);
                break;
        }
        _follows.Add((index, target));
        return true;
    }
    /// <summary>The guest words the last <see cref="EmitBody"/> translated, from its start, and whether any of them
    /// is volatile code (<see cref="EmitByteCheck"/>).</summary>
    private readonly List<uint> _words = new();
    private bool _volatileSeen;
    private readonly List<BlockMap> _blockMaps = new(); // in host address order: blocks are placed upwards
    // their host starts, in one dense array for the binary search (not a BlockMap dereference, a cache miss, per step)
    private readonly List<ulong> _blockStarts = new();

    /// <summary>One placed block: host range [HostStart, HostEnd), guest range [GuestStart, GuestLast], each guest
    /// instruction's host offset and the guest register slots its code holds only in host registers (write-back:
    /// <see cref="RestoreFaultState"/>), the slot cached in each pool register (<see cref="EmitterContext.CachePool"/>
    /// then <see cref="EmitterContext.XmmPool"/> order, -1 for none), and the count of drops of everything it was made
    /// after (Translator.Drop.cs). Dropped: its guest range was invalidated (its code stays in place for a thread still
    /// inside it).</summary>
    private sealed record BlockMap(ulong HostStart, ulong HostEnd, ulong GuestStart, ulong GuestLast, uint[] HostOffsets, ulong[] Dirty, sbyte[] PoolSlots, int DropAlls)
    {
        /// <summary>Each guest instruction's address when the block followed a branch, else null (instruction k is at
        /// GuestStart + 4k, and the block's pages are those of [GuestStart, GuestLast]).</summary>
        public ulong[]? Pcs { get; init; }

        /// <summary>The guest address of instruction <paramref name="k"/>.</summary>
        public ulong PcAt(int k) => Pcs != null ? Pcs[k] : GuestStart + (ulong)k * 4;

        /// <summary>With <see cref="Pcs"/>: the guest pages of its instructions, each once.</summary>
        public ulong[]? PcPages { get; init; }

        /// <summary>How many guest pages the block was translated from (<see cref="PageAt"/>).</summary>
        public int PageCount => PcPages?.Length ?? (int)((GuestLast >> 12) - (GuestStart >> 12) + 1);

        /// <summary>The <paramref name="i"/>th guest page (number, address / 4096) the block was translated from.</summary>
        public ulong PageAt(int i) => PcPages != null ? PcPages[i] : (GuestStart >> 12) + (ulong)i;

        public bool Dropped;
        /// <summary>The first of the exits linked into this block (Translator.Drop.cs), -1 for none. Under _lock.</summary>
        public int FirstLink = -1;
        /// <summary>A quick translation, to be replaced by the full one when it is hot (Translator.Tiers.cs).</summary>
        public bool Quick;
    }

    /// <summary>The block whose host code starts at or below <paramref name="hostRip"/>, or null. Under _lock.</summary>
    private BlockMap? BlockAtOrBelow(ulong hostRip)
    {
        var starts = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_blockStarts);
        int lo = 0, hi = starts.Length - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (starts[mid] <= hostRip) { found = mid; lo = mid + 1; } else hi = mid - 1;
        }
        return found < 0 ? null : _blockMaps[found];
    }

    /// <summary>The block whose host code starts at <paramref name="hostStart"/>, or null. Under _lock.</summary>
    private BlockMap? BlockStartingAt(ulong hostStart)
    {
        // most links go to the block just translated (an exit is linked when first taken, which translates its target)
        if (_blockMaps.Count > 0 && _blockMaps[^1].HostStart == hostStart) return _blockMaps[^1];
        return BlockAtOrBelow(hostStart) is { } m && m.HostStart == hostStart ? m : null;
    }

    /// <summary>
    /// True when <paramref name="hostRip"/> lies in a block translated in the current <see cref="Generation"/>;
    /// false for old code still running after an invalidation (or <see cref="MarkSplitAware"/>) and for an
    /// address in no block.
    /// </summary>
    public bool IsCurrentCode(ulong hostRip)
    {
        lock (_lock)
        {
            var m = BlockAtOrBelow(hostRip);
            return m != null && hostRip < m.HostEnd && !m.Dropped && m.DropAlls == _dropAlls;
        }
    }

    /// <summary>
    /// Makes the guest instruction at <paramref name="pc"/> split-aware: from now on its translations look up
    /// the split-page table (<see cref="CpuOffsets.SplitMap"/>) and redirect accesses to split pages. When pc
    /// is newly added every translation is dropped (the caller
    /// raises each thread's ExitRequest; runners clear their jump caches on the new Generation), and true is
    /// returned; false when it was split-aware already.
    /// </summary>
    public bool MarkSplitAware(ulong pc)
    {
        lock (_lock)
        {
            if (_splitAware.ContainsKey(pc)) return false;
            _splitAware[pc] = _splitAware.Count < CpuOffsets.SplitCacheSlots ? _splitAware.Count : JitStubs.NoSplitSlot;
            DropAllLocked();
            return true;
        }
    }

    /// <summary>
    /// Unmarks every instruction <see cref="MarkSplitAware"/> marked (no page is split any more: their checks would
    /// cost on every access and gain nothing) and drops every translation, as marking does; true when any was marked.
    /// Threads' redirect caches may keep entries: they are keyed by guest address and lead only to units of the page
    /// that address was split into (slots are never reused), which fault once that page is whole.
    /// </summary>
    public bool ClearSplitAware()
    {
        lock (_lock)
        {
            if (_splitAware.Count == 0) return false;
            _splitAware.Clear();
            DropAllLocked();
            return true;
        }
    }

    /// <summary>True when the guest instruction at <paramref name="pc"/> was marked by <see cref="MarkSplitAware"/>.</summary>
    public bool IsSplitAware(ulong pc)
    {
        lock (_lock) return _splitAware.ContainsKey(pc);
    }

    /// <summary>
    /// The guest PC of the instruction whose host code contains <paramref name="hostRip"/> (a faulting access),
    /// or null when the address is not in a translated block.
    /// </summary>
    public ulong? GuestPcForHost(ulong hostRip)
    {
        lock (_lock)
        {
            var m = BlockAtOrBelow(hostRip);
            int k = m == null ? -1 : InstructionAt(m, hostRip);
            return k < 0 ? null : m!.PcAt(k);
        }
    }

    /// <summary>Index of the guest instruction of <paramref name="m"/> whose host code contains <paramref name="hostRip"/>, or -1.</summary>
    private static int InstructionAt(BlockMap m, ulong hostRip)
    {
        ulong off = hostRip - m.HostStart;
        int k = -1;
        for (int i = 0; i < m.HostOffsets.Length; i++)
            if (m.HostOffsets[i] != uint.MaxValue && m.HostOffsets[i] <= off) k = i;
        return k;
    }

    /// <summary>
    /// After a SegFault exit from a host fault in translated code (<see cref="CpuState.FaultHostRip"/> != 0): sets the
    /// guest PC to the faulting instruction and copies the guest registers the block held only in host registers at
    /// that instruction (saved by the signal handler in <see cref="CpuOffsets.FaultRegs"/>) into X[], so CpuState is
    /// exactly the state before the instruction. False when the address is in no translated block (Pc is left alone).
    /// </summary>
    public unsafe bool RestoreFaultState(CpuState* cpu)
    {
        lock (_lock)
        {
            var m = BlockAtOrBelow(cpu->FaultHostRip);
            int k = m == null ? -1 : InstructionAt(m, cpu->FaultHostRip);
            if (k < 0) return false;
            cpu->Pc = m!.PcAt(k);
            ulong dirty = k < m.Dirty.Length ? m.Dirty[k] : 0;
            for (int p = 0; p < m.PoolSlots.Length; p++)
            {
                int slot = m.PoolSlots[p];
                if (slot < 0 || (dirty & (1ul << slot)) == 0) continue;
                if (slot < EmitterContext.VSlot0) { cpu->X[slot] = cpu->FaultRegs[p]; continue; }
                int v = slot - EmitterContext.VSlot0, x = p - EmitterContext.CachePool.Length;
                cpu->V[2 * v] = cpu->FaultVRegs[2 * x];
                cpu->V[2 * v + 1] = cpu->FaultVRegs[2 * x + 1];
            }
            return true;
        }
    }


    private unsafe string HostDisassembly(ulong address, int length)
    {
        var bytes = new ReadOnlySpan<byte>((void*)address, length).ToArray();
        var reader = new ByteArrayCodeReader(bytes);
        var decoder = Iced.Intel.Decoder.Create(64, reader, address);
        var formatter = new NasmFormatter();
        var output = new StringOutput();
        var sb = new StringBuilder($"OUT: [size={length}]\n");
        ulong end = address + (ulong)length;
        while (decoder.IP < end)
        {
            var insn = decoder.Decode();
            formatter.Format(insn, output);
            sb.Append($"0x{insn.IP:x16}:  {output.ToStringAndReset()}\n");
            // a compact exit's data follows its call (EmitterContext.Exits.cs): shown as data, not decoded as code
            if (insn.Code != Code.Call_rel32_64) continue;
            int data = Stubs.CompactExitData(insn.NearBranch64);
            if (data == 0 || decoder.IP + (ulong)data > end) continue;
            ulong at = decoder.IP;
            int offset = (int)(at - address);
            sb.Append($"0x{at:x16}:  dq 0x{BitConverter.ToUInt64(bytes, offset):x}\n");
            if (data == 12) sb.Append($"0x{at + 8:x16}:  dd {BitConverter.ToUInt32(bytes, offset + 8)}\n");
            decoder.IP = at + (ulong)data;
            reader.Position = offset + data;
        }
        return sb.ToString();
    }
}
