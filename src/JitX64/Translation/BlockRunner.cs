using Dqemu.JitX64.State;

namespace Dqemu.JitX64.Translation;

/// <summary>
/// Runs a guest thread's translated code until something other than control flow needs the caller
/// (a syscall, a fault, an undefined instruction, an interrupt request). Branch exits are linked here and
/// jump-cache misses refilled, so the caller's loop only sees events. CpuState is exact at every event returned
/// (a host fault's state is restored here: <see cref="Translator.RestoreFaultState"/>).
/// </summary>
public sealed unsafe class BlockRunner
{
    private readonly Translator _translator;
    private readonly JumpCache _jumpCache = new();

    public long Entries;
    public long LinkExits;
    public long IndirectMisses;
    /// <summary>Blocks and guest instructions this runner's thread translated.</summary>
    public long BlocksTranslated;
    public long InstructionsTranslated;

    public BlockRunner(Translator translator) => _translator = translator;

    public JumpCache JumpCache => _jumpCache;

    /// <summary>Prepares the host-local fields of <paramref name="cpu"/> for this runner.</summary>
    public void Attach(CpuState* cpu)
    {
        cpu->JumpCache = (ulong)_jumpCache.Address;
        if (cpu->Mxcsr == 0) cpu->Mxcsr = CpuOffsets.DefaultMxcsr;
        if (cpu->NzcvHost == 0) cpu->NzcvHost = Flags.ArmToHost(0);
    }

    private nint Lookup(ulong pc)
    {
        nint code = _translator.GetOrTranslate(pc, out int n);
        if (n > 0) { BlocksTranslated++; InstructionsTranslated += n; }
        return code;
    }

    private int _generation;

    /// <summary>A jump cache that stays empty: a single step's branch exits find nothing in it and come back here.</summary>
    private static readonly JumpCache s_empty = new();

    private void CheckGeneration()
    {
        if (_generation != _translator.Generation)
        {
            // translations were dropped: neither this table nor a link may point at old code any more
            _generation = _translator.Generation;
            _jumpCache.Clear();
        }
    }

    /// <summary>
    /// Runs the one guest instruction at Pc (a debugger's single step, <see cref="Translator.GetOrTranslateStep"/>)
    /// and returns its exit: Branch or Indirect when it ran and Pc is the next instruction (nothing is linked), an
    /// event as <see cref="Run"/> returns it, or Interrupt when ExitRequest was set before it could run.
    /// </summary>
    public ExitReason Step(CpuState* cpu)
    {
        CheckGeneration();
        return RunAlone(cpu, _translator.GetOrTranslateStep(cpu->Pc));
    }

    /// <summary>Runs a one-instruction block with an empty jump cache and links nothing (<see cref="Step"/>).</summary>
    private ExitReason RunAlone(CpuState* cpu, nint code)
    {
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

    /// <summary>
    /// Runs the one guest instruction at Pc from a fresh translation (<see cref="Translator.TranslateOnce"/>) and
    /// returns its exit as <see cref="Step"/> does: how a store that faulted on write-protected guest code runs again
    /// once its page is writable, without a block of that page (which would protect it again) around it.
    /// </summary>
    public ExitReason StepFresh(CpuState* cpu)
    {
        CheckGeneration();
        return RunAlone(cpu, _translator.TranslateOnce(cpu->Pc));
    }

    public ExitReason Run(CpuState* cpu)
    {
        CheckGeneration();
        nint code = Lookup(cpu->Pc);
        while (true)
        {
            Entries++;
            var reason = (ExitReason)_translator.Stubs.Run(cpu, code);
            switch (reason)
            {
                case ExitReason.Branch:
                    LinkExits++;
                    code = Lookup(cpu->Pc);
                    // an exit that cannot be patched finds its target in the jump cache from now on
                    if (!_translator.Link(cpu->LinkSite, code, _generation) && _generation == _translator.Generation)
                        _jumpCache.Set(cpu->Pc, code);
                    cpu->LinkSite = 0;
                    break;
                case ExitReason.Indirect:
                    IndirectMisses++;
                    code = Lookup(cpu->Pc);
                    if (_generation == _translator.Generation) _jumpCache.Set(cpu->Pc, code);
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
}
