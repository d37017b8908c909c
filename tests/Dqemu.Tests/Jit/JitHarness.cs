using Dqemu.JitX64.Host;
using Dqemu.JitX64.State;
using Dqemu.JitX64.Translation;
using Dqemu.Runtime.Host;

namespace Dqemu.Tests.Jit;

/// <summary>
/// Runs a few guest instructions in-process: a small guest space (1 GiB reservation, the first 16 MiB
/// mapped), code at <see cref="CodeAddress"/> followed by BRK #0, data at <see cref="DataAddress"/>.
/// </summary>
public sealed unsafe class JitHarness : IDisposable, IGuestCodeReader
{
    public const ulong CodeAddress = 0x10000;
    public const ulong DataAddress = 0x100000;
    public const ulong StackTop = 0xF00000;
    private const ulong ReservationSize = 1UL << 30;
    private const ulong MappedSize = 16UL << 20;
    /// <summary>The highest guest address: the top 1 MiB of the reservation is a guard that is never mapped, where
    /// accesses above the limit fault (CpuOffsets.WildTarget), as above GuestSpace's range.</summary>
    public const ulong AddressLimit = ReservationSize - (1UL << 20) - 1;

    private readonly byte* _base;
    private readonly CpuState* _cpu;
    private readonly Translator _translator;
    private readonly BlockRunner _runner;

    public JitHarness(TranslatorOptions? options = null)
    {
        var host = LinuxHostMemory.Instance;
        _base = (byte*)host.Reserve(ReservationSize);
        host.Commit((nint)_base, MappedSize, HostProtection.ReadWrite);
        _cpu = (CpuState*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)sizeof(CpuState), 64);
        *_cpu = default;
        _cpu->MemBase = (ulong)_base;
        _cpu->AddrLimit = AddressLimit;
        _cpu->Sp = StackTop;
        _translator = new Translator(host, this, options ?? new TranslatorOptions { CodeCacheSize = 16UL << 20 });
        _runner = new BlockRunner(_translator);
        _runner.Attach(_cpu);
    }

    public CpuState* Cpu => _cpu;
    public Translator Translator => _translator;
    public BlockRunner Runner => _runner;
    public ref ulong X(int n) => ref _cpu->X[n];
    public byte* Memory(ulong guest) => _base + guest;

    public ulong ReadU64(ulong guest) => *(ulong*)(_base + guest);
    public void WriteU64(ulong guest, ulong v) => *(ulong*)(_base + guest) = v;

    /// <summary>Which guest code the translator is to treat as volatile (IGuestCodeReader.IsVolatile), or null: none.</summary>
    public Func<ulong, bool>? Volatile { get; set; }

    bool IGuestCodeReader.IsVolatile(ulong pc) => Volatile?.Invoke(pc) ?? false;

    public bool TryFetch(ulong pc, out uint word)
    {
        pc &= ReservationSize - 1; // code placed above the reservation (Run's codeAddress) aliases, as data does
        if (pc >= MappedSize) { word = 0; return false; }
        word = *(uint*)(_base + pc);
        return true;
    }

    /// <summary>
    /// Places assembly source at <paramref name="codeAddress"/> (default <see cref="CodeAddress"/>), runs it to
    /// the trailing BRK. An address above the 1 GiB reservation aliases its low 30 bits (which must give
    /// <see cref="CodeAddress"/>): this runs code at PCs like a dynamic linker's, far above 2 GiB.
    /// </summary>
    public ExitReason Run(string source, ulong codeAddress = CodeAddress) => Run(A64Asm.Assemble(source), codeAddress);

    public ExitReason Run(uint[] code, ulong codeAddress = CodeAddress)
    {
        if ((codeAddress & (ReservationSize - 1)) != CodeAddress)
            throw new ArgumentException($"code address 0x{codeAddress:x} does not alias 0x{CodeAddress:x}", nameof(codeAddress));
        uint* p = (uint*)(_base + CodeAddress);
        for (int i = 0; i < code.Length; i++) p[i] = code[i];
        p[code.Length] = 0xD4200000; // brk #0
        _translator.Cache.ForgetAll();
        _runner.JumpCache.Clear();
        _cpu->Pc = codeAddress;
        return _runner.Run(_cpu);
    }

    /// <summary>Runs from <paramref name="pc"/> with the translations, links and jump cache as they are (code written
    /// to <see cref="Memory"/> by the caller).</summary>
    public ExitReason RunFrom(ulong pc)
    {
        _cpu->Pc = pc;
        return _runner.Run(_cpu);
    }

    /// <summary>Runs and requires that execution reached the trailing BRK.</summary>
    public void RunToEnd(string source, ulong codeAddress = CodeAddress)
    {
        var r = Run(source, codeAddress);
        if (r != ExitReason.Breakpoint) throw new InvalidOperationException($"stopped with {r} at 0x{_cpu->Pc:x}");
    }

    public uint Nzcv => _cpu->Nzcv;

    public void SetState(MachineState s)
    {
        for (int i = 0; i < 31; i++) _cpu->X[i] = s.X[i];
        _cpu->Sp = s.Sp;
        _cpu->Nzcv = s.Nzcv;
        _cpu->Fpcr = s.Fpcr;
        for (int i = 0; i < 64; i++) _cpu->V[i] = s.V[i];
        new ReadOnlySpan<byte>(s.Memory).CopyTo(new Span<byte>(_base + DataAddress, MachineState.MemorySize));
    }

    public MachineState GetState()
    {
        var s = new MachineState { Sp = _cpu->Sp, Nzcv = _cpu->Nzcv, Fpcr = _cpu->Fpcr };
        for (int i = 0; i < 31; i++) s.X[i] = _cpu->X[i];
        for (int i = 0; i < 64; i++) s.V[i] = _cpu->V[i];
        new ReadOnlySpan<byte>(_base + DataAddress, MachineState.MemorySize).CopyTo(s.Memory);
        return s;
    }

    public void Dispose()
    {
        LinuxHostMemory.Instance.Release((nint)_base, ReservationSize);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_cpu);
    }
}
