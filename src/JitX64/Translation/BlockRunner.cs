using Dqemu.JitX64.State;

namespace Dqemu.JitX64.Translation;

/// <summary>
/// Runs a guest thread's translated code until something other than control flow needs the caller
/// (a syscall, a fault, an undefined instruction, an interrupt request). Branch exits are linked here and
/// jump-cache misses refilled, so the caller's loop only sees events. CpuState is exact at every event returned
/// (a host fault's state is restored here: <see cref="Translator.RestoreFaultState"/>).
/// </summary>
/// <remarks>
/// While it may run translated code or hold a pointer into it (a block to enter, an exit to link) the runner publishes
/// its <see cref="Epoch"/>, the generation it works in, so that a flush of the code cache (Translator.Reuse.cs) waits for
/// it. It publishes before it looks code up and checks the generation again after, so code it holds is never older than
/// its epoch; when the generation moved it clears its jump cache and forgets the exit to link before it runs anything.
/// </remarks>
public sealed unsafe class BlockRunner : IDisposable
{
    private readonly Translator _translator;
    private readonly JumpCache _jumpCache = new();

    public long Entries;
    public long LinkExits;
    public long IndirectMisses;
    /// <summary>Blocks and guest instructions this runner's thread translated.</summary>
    public long BlocksTranslated;
    public long InstructionsTranslated;

    public BlockRunner(Translator translator)
    {
        _translator = translator;
        translator.Register(this);
    }

    /// <summary>The generation + 1 this runner may hold code of; 0 while it holds none (outside Run, Step, StepFresh,
    /// and while it waits for a flush).</summary>
    internal long Epoch;

    /// <summary>Whether the runner's thread may be running translated code now (in Run, Step or StepFresh; not in a
    /// syscall or anywhere else outside them). A full-fence read, for ThreadInterrupter.RequestExit.</summary>
    public bool HoldsCode => Interlocked.Read(ref Epoch) != 0;

    public void Dispose()
    {
        _translator.Unregister(this);
        _jumpCache.Dispose();
    }

    /// <summary>Publishes the current generation as the epoch (clearing the jump cache first when it moved on): the
    /// write is a full fence, and the generation is read again after it, so a flush that bumps it meanwhile either
    /// sees this epoch or is seen here.</summary>
    private void Hold()
    {
        while (true)
        {
            int g = _translator.Generation;
            if (g != _generation)
            {
                // translations were dropped: neither this table nor a link may point at old code any more
                _generation = g;
                _jumpCache.Clear();
            }
            Interlocked.Exchange(ref Epoch, g + 1L);
            if (_translator.Generation == g) return;
        }
    }

    /// <summary>Under the translator's lock, after a wait for a flush: holds <paramref name="generation"/> (no flush can
    /// move it while the lock is held; the runner's own check after its lookup clears what is stale).</summary>
    internal void HoldLocked(int generation) => Interlocked.Exchange(ref Epoch, generation + 1L);

    /// <summary>Holds no code: a flush need not wait for this runner.</summary>
    internal void LetGo() => Volatile.Write(ref Epoch, 0);

    /// <summary>What <see cref="LookupHeld"/> looks up: the block at Pc, a debugger's one-instruction block, a fresh
    /// one-instruction translation (<see cref="StepFresh"/>), or the full translation of a quick block whose countdown ran
    /// out (Translator.Tiers.cs).</summary>
    private enum Kind { Block, Step, Fresh, Full }

    /// <summary>The code at Pc, looked up (or translated) under an epoch equal to the current generation.</summary>
    private nint LookupHeld(CpuState* cpu, Kind kind = Kind.Block)
    {
        while (true)
        {
            nint code = kind switch
            {
                Kind.Block => Lookup(cpu->Pc),
                Kind.Step => _translator.GetOrTranslateStep(cpu->Pc, this),
                Kind.Full => Full(cpu->Pc),
                _ => _translator.TranslateOnce(cpu->Pc, this),
            };
            if (_generation == _translator.Generation && Volatile.Read(ref Epoch) == _generation + 1L) return code;
            Hold();
            cpu->LinkSite = 0; // an exit of older code: never patched now
        }
    }

    public JumpCache JumpCache => _jumpCache;

    /// <summary>Prepares the host-local fields of <paramref name="cpu"/> for this runner.</summary>
    public void Attach(CpuState* cpu)
    {
        cpu->JumpCache = (ulong)_jumpCache.Address;
        if (cpu->Mxcsr == 0) cpu->Mxcsr = CpuOffsets.DefaultMxcsr;
        if (cpu->NzcvHost == 0) cpu->NzcvHost = Flags.ArmToHost(0);
    }

    private nint Lookup(ulong pc) => Counted(_translator.GetOrTranslate(pc, out int n, this), n);

    private nint Full(ulong pc) => Counted(_translator.TierUp(pc, out int n, this), n);

    /// <summary><paramref name="code"/>, after counting the <paramref name="translated"/> guest instructions it took.</summary>
    private nint Counted(nint code, int translated)
    {
        if (translated > 0) { BlocksTranslated++; InstructionsTranslated += translated; }
        return code;
    }

    private int _generation;

    /// <summary>A jump cache that stays empty: a single step's branch exits find nothing in it and come back here.</summary>
    private static readonly JumpCache s_empty = new();

    /// <summary>
    /// Runs the one guest instruction at Pc (a debugger's single step, <see cref="Translator.GetOrTranslateStep"/>)
    /// and returns its exit: Branch or Indirect when it ran and Pc is the next instruction (nothing is linked), an
    /// event as <see cref="Run"/> returns it, or Interrupt when ExitRequest was set before it could run.
    /// </summary>
    public ExitReason Step(CpuState* cpu) => RunAlone(cpu, Kind.Step);

    /// <summary>Runs a one-instruction block (<see cref="Translator.GetOrTranslateStep"/>, or
    /// <see cref="Translator.TranslateOnce"/>) with an empty jump cache and links nothing.</summary>
    private ExitReason RunAlone(CpuState* cpu, Kind kind)
    {
        Hold();
        try
        {
            nint code = LookupHeld(cpu, kind);
            ulong own = cpu->JumpCache;
            cpu->JumpCache = (ulong)s_empty.Address;
            ExitReason reason;
            try { reason = (ExitReason)_translator.Stubs.Run(cpu, code); }
            finally { cpu->JumpCache = own; }
            Entries++;
            cpu->LinkSite = 0;
            if (reason == ExitReason.SegFault && cpu->FaultHostRip != 0) _translator.RestoreFaultState(cpu);
            return reason;
        }
        finally { LetGo(); }
    }

    /// <summary>
    /// Runs the one guest instruction at Pc from a fresh translation (<see cref="Translator.TranslateOnce"/>) and
    /// returns its exit as <see cref="Step"/> does: how a store that faulted on write-protected guest code runs again
    /// once its page is writable, without a block of that page (which would protect it again) around it.
    /// </summary>
    public ExitReason StepFresh(CpuState* cpu) => RunAlone(cpu, Kind.Fresh);

    public ExitReason Run(CpuState* cpu)
    {
        Hold();
        try
        {
            cpu->LinkSite = 0;
            nint code = LookupHeld(cpu);
            while (true)
            {
                Entries++;
                var reason = (ExitReason)_translator.Stubs.Run(cpu, code);
                switch (reason)
                {
                    case ExitReason.Branch:
                        LinkExits++;
                        code = LookupHeld(cpu); // clears LinkSite when the generation moved
                        // an exit that cannot be patched finds its target in the jump cache from now on
                        if (!_translator.Link(cpu->LinkSite, code, _generation) && _generation == _translator.Generation)
                            _jumpCache.Set(cpu->Pc, code);
                        cpu->LinkSite = 0;
                        break;
                    case ExitReason.Indirect:
                        IndirectMisses++;
                        code = LookupHeld(cpu);
                        if (_generation == _translator.Generation) _jumpCache.Set(cpu->Pc, code);
                        break;
                    case ExitReason.TierUp:
                        // a quick block ran its count (or was entered after its full translation replaced it): the
                        // full one now, and in this thread's jump cache if the quick one was reached through it. Not
                        // added there otherwise: an exit not linked yet that finds its target in the jump cache goes
                        // there through the probe every time, and is never linked
                        code = LookupHeld(cpu, Kind.Full);
                        if (_generation == _translator.Generation) _jumpCache.Refresh(cpu->Pc, code);
                        break;
                    case ExitReason.SegFault when cpu->FaultHostRip != 0:
                        // a host fault in a block: the guest PC and the registers the block held in host registers go
                        // back into CpuState before anyone looks at it
                        _translator.RestoreFaultState(cpu);
                        return reason;
                    default:
                        return reason;
                }
            }
        }
        finally { LetGo(); }
    }
}
