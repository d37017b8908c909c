using System.Runtime.InteropServices;
using System.Text;
using Dqemu.JitX64.State;

namespace Dqemu.Runtime;

/// <summary>
/// -d exec and -d cpu: translated blocks call <see cref="Entered"/> on entry (TranslatorOptions.BlockEntryHook; with
/// neither item the translator emits no call). The lines are qemu-aarch64 7.2's: "Trace" as qemu's exec log (cpu index
/// 0, the host code address, the guest pc, no symbol name) and qemu's aarch64 register dump. Every block entry is
/// logged, chained or not (qemu logs only the blocks it enters from its main loop unless -d nochain).
/// </summary>
public static unsafe class BlockTrace
{
    private static bool _exec, _cpu;

    /// <summary>The hook for TranslatorOptions, or 0 when neither item is on.</summary>
    public static nint Hook(RuntimeOptions o)
    {
        _exec = o.LogExec;
        _cpu = o.LogCpu;
        return _exec || _cpu ? (nint)(delegate* unmanaged<CpuState*, ulong, ulong, void>)&Entered : 0;
    }

    [UnmanagedCallersOnly]
    private static void Entered(CpuState* cpu, ulong pc, ulong host)
    {
        var sb = new StringBuilder(_cpu ? 1024 : 96);
        if (_exec) sb.Append(ExecLine(pc, host));
        if (_cpu) AppendRegisters(sb, cpu, pc);
        GuestLog.Write(sb.ToString());
    }

    public static string ExecLine(ulong pc, ulong host) => $"Trace 0: 0x{host:x} [{0:x16}/{pc:x16}/{0:x8}/{0:x8}] \n";

    /// <summary>qemu's layout: PC and X00-X30 three to a line, SP after X30, then PSTATE with NZCV as letters.</summary>
    public static void AppendRegisters(StringBuilder sb, CpuState* cpu, ulong pc)
    {
        sb.Append($" PC={pc:x16} ");
        for (int i = 0; i < 31; i++)
            sb.Append($"X{i:d2}={cpu->X[i]:x16}").Append((i + 2) % 3 != 0 ? " " : "\n");
        sb.Append($" SP={cpu->X[31]:x16}\n");
        uint nzcv = cpu->Nzcv;
        sb.Append($"PSTATE={nzcv:x8} ")
            .Append((nzcv & (1u << 31)) != 0 ? 'N' : '-').Append((nzcv & (1u << 30)) != 0 ? 'Z' : '-')
            .Append((nzcv & (1u << 29)) != 0 ? 'C' : '-').Append((nzcv & (1u << 28)) != 0 ? 'V' : '-')
            // qemu's -cpu max has SME and BTI, so its line goes on with SVCR and BTYPE; neither exists here
            .Append(" EL0t  SVCR=00000000 --  BTYPE=0\n");
    }
}
