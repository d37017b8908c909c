using System.Globalization;
using System.Text;

namespace Dqemu.Tests.Jit.Fuzz;

/// <summary>What qemu-aarch64 left after one fuzz case.</summary>
public sealed class OracleResult
{
    /// <summary>0 when the case ran to its end, else the guest signal it raised (SIGILL 4, SIGBUS 7, SIGSEGV 11, ...).</summary>
    public int Signal { get; init; }
    /// <summary>With a signal: the PC it was raised at (under qemu's slot layout).</summary>
    public ulong FaultPc { get; init; }
    public required MachineState State { get; init; }
    public uint Fpsr { get; init; }
    /// <summary>Where the fuzzed word ran under qemu (for the ADR/ADRP correction).</summary>
    public ulong WordPc { get; init; }
}

/// <summary>
/// Runs many fuzz cases in ONE qemu-aarch64 process (starting qemu per case costs 10-20 ms). The guest is
/// assembled from a generated source: every case owns a 64-byte slot at <see cref="JitHarness.CodeAddress"/> +
/// 64 * i holding
/// <code>
///   bl load_state          // data page, SP, NZCV, FPCR, FPSR, V0-V31, X0-X29 from the state table; CLREX
///   ldr x30, 1f            // X30 from the slot's literal (every other register is already the case's)
///   .inst NOP...           // padding, so that the code ends at a fixed place
///   .inst prefix...        // up to MaxWords - 1 words
///   .inst word
///   b save_state           // every register, NZCV, FPCR, FPSR and the data page to the output table
///   1: .quad x30
/// </code>
/// The state table (<see cref="RecordSize"/> bytes a case) is a binary file pulled in with .incbin. A
/// SIGILL/SIGSEGV/SIGBUS/SIGFPE/SIGTRAP handler (on an alternate stack, SA_NODEFER, SA_SIGINFO) records the
/// signal and the PC it was raised at (from the ucontext) in the case's output record and goes on with the next case, so an encoding qemu rejects costs one case,
/// not the batch. At the end the output table is written to stdout and parsed.
/// </summary>
public static class BatchOracle
{
    public const int RecordSize = 4896;
    private const int OffSp = 248, OffNzcv = 256, OffFpcr = 264, OffFpsr = 272, OffStatus = 280, OffV = 288, OffMem = 800;
    public const int SlotSize = 64;
    /// <summary>Offset of uc_mcontext.pc in the AArch64 Linux ucontext_t (uc_mcontext at 176: fault_address, regs[31], sp, pc).</summary>
    private const int UcontextPc = 176 + 8 + 31 * 8 + 8;
    public const ulong SlotBase = JitHarness.CodeAddress;
    private const uint Nop = 0xD503201F;
    /// <summary>At most this many words (prefix and fuzzed word) a case.</summary>
    public const int MaxWords = 10;

    public static ulong WordPc(int slot) => SlotBase + (ulong)(slot * SlotSize) + 8 + 4 * (MaxWords - 1);

    public static OracleResult[] Run(IReadOnlyList<FuzzCase> cases)
    {
        if (cases.Count == 0) return [];
        if ((ulong)cases.Count * SlotSize > JitHarness.DataAddress - SlotBase) throw new ArgumentException("batch too large for the slot area");
        string dir = Directory.CreateTempSubdirectory("dqemu-fuzz-").FullName;
        try
        {
            string bin = Path.Combine(dir, "states.bin"), s = Path.Combine(dir, "t.s"), o = Path.Combine(dir, "t.o"), elf = Path.Combine(dir, "t.elf");
            File.WriteAllBytes(bin, StateTable(cases));
            File.WriteAllText(s, Source(cases, bin));
            Tools.Exec("aarch64-linux-gnu-as", $"-o {o} {s}");
            Tools.Exec("aarch64-linux-gnu-ld",
                $"-static -e _start --no-warn-rwx-segments --section-start=.slots=0x{SlotBase:x} --section-start=.mem=0x{JitHarness.DataAddress:x} " +
                $"--section-start=.stk=0x{JitHarness.StackTop - 0x10000:x} -Ttext=0x400000 -o {elf} {o}");
            byte[] output = Tools.ExecBytes(Tools.Qemu, elf);
            if (output.Length != cases.Count * RecordSize)
                throw new InvalidOperationException($"qemu-aarch64 wrote {output.Length} bytes, expected {cases.Count * RecordSize}");
            var results = new OracleResult[cases.Count];
            for (int i = 0; i < cases.Count; i++) results[i] = Parse(output.AsSpan(i * RecordSize, RecordSize), cases[i].Init, WordPc(i));
            return results;
        }
        finally
        {
            // DQEMU_FUZZ_KEEP=1 keeps the generated source, state table and ELF for debugging
            if (Environment.GetEnvironmentVariable("DQEMU_FUZZ_KEEP") != "1") Directory.Delete(dir, true);
        }
    }

    private static byte[] StateTable(IReadOnlyList<FuzzCase> cases)
    {
        var table = new byte[cases.Count * RecordSize];
        for (int i = 0; i < cases.Count; i++)
        {
            var rec = table.AsSpan(i * RecordSize, RecordSize);
            var st = cases[i].Init;
            for (int x = 0; x < 31; x++) BitConverter.TryWriteBytes(rec[(x * 8)..], st.X[x]);
            BitConverter.TryWriteBytes(rec[OffSp..], st.Sp);
            BitConverter.TryWriteBytes(rec[OffNzcv..], (ulong)st.Nzcv);
            BitConverter.TryWriteBytes(rec[OffFpcr..], (ulong)st.Fpcr);
            for (int v = 0; v < 64; v++) BitConverter.TryWriteBytes(rec[(OffV + v * 8)..], st.V[v]);
            st.Memory.CopyTo(rec[OffMem..]);
        }
        return table;
    }

    private static string Source(IReadOnlyList<FuzzCase> cases, string statesPath)
    {
        var sb = new StringBuilder(cases.Count * 120 + 4096);
        void L(string line) => sb.Append(line).Append('\n');
        string H(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

        L(".section .slots, \"ax\"");
        for (int i = 0; i < cases.Count; i++)
        {
            var k = cases[i];
            if (k.Prefix.Length + 1 > MaxWords) throw new ArgumentException("too many words in a case");
            L("  bl load_state");
            L($"  ldr x30, 1f");
            for (int j = k.Prefix.Length + 1; j < MaxWords; j++) L($"  .inst {H(Nop)}");
            foreach (uint p in k.Prefix) L($"  .inst {H(p)}");
            L($"  .inst {H(k.Word)}");
            L("  b save_state");
            L("  .inst 0");
            L($"1: .quad {H(k.Init.X[30])}");
        }
        L(".section .mem, \"aw\", @nobits\n.balign 4096\n.skip 4096");
        L(".section .stk, \"aw\", @nobits\n.balign 16\n.skip 0x10000");

        L(".text\n.global _start\n_start:");
        // alternate signal stack, then handlers for the synchronous signals an instruction can raise
        L("  adrp x0, altss\n  add x0, x0, :lo12:altss\n  mov x1, #0\n  mov x8, #132\n  svc #0");
        foreach (int sig in new[] { 4, 5, 7, 8, 11 })
            L($"  mov x0, #{sig}\n  adrp x1, sigact\n  add x1, x1, :lo12:sigact\n  mov x2, #0\n  mov x3, #8\n  mov x8, #134\n  svc #0");
        L("  adrp x0, cur\n  str xzr, [x0, :lo12:cur]");
        L("next_case:");
        L("  adrp x0, cur\n  ldr x1, [x0, :lo12:cur]");
        L($"  ldr x2, ={cases.Count}\n  cmp x1, x2\n  b.hs finish");
        L($"  ldr x3, ={RecordSize}");
        L("  adrp x2, out\n  add x2, x2, :lo12:out\n  madd x2, x1, x3, x2\n  adrp x4, curout\n  str x2, [x4, :lo12:curout]");
        L("  adrp x2, states\n  add x2, x2, :lo12:states\n  madd x2, x1, x3, x2\n  adrp x4, curin\n  str x2, [x4, :lo12:curin]");
        L($"  ldr x2, ={H(SlotBase)}\n  add x2, x2, x1, lsl #6\n  br x2");

        L("load_state:");
        L("  adrp x29, curin\n  ldr x29, [x29, :lo12:curin]");
        L($"  add x0, x29, #{OffMem}\n  ldr x1, ={H(JitHarness.DataAddress)}\n  mov x2, #{MachineState.MemorySize / 64}");
        L("2: ldp q0, q1, [x0], #32\n  ldp q2, q3, [x0], #32\n  stp q0, q1, [x1], #32\n  stp q2, q3, [x1], #32\n  subs x2, x2, #1\n  b.ne 2b");
        L($"  ldr x0, [x29, #{OffSp}]\n  mov sp, x0");
        L($"  ldr x0, [x29, #{OffNzcv}]\n  msr nzcv, x0");
        L($"  ldr x0, [x29, #{OffFpcr}]\n  msr fpcr, x0");
        L($"  ldr x0, [x29, #{OffFpsr}]\n  msr fpsr, x0");
        L("  clrex");
        for (int i = 0; i < 32; i += 2) L($"  ldp q{i}, q{i + 1}, [x29, #{OffV + i * 16}]");
        for (int i = 0; i < 28; i += 2) L($"  ldp x{i}, x{i + 1}, [x29, #{i * 8}]");
        L("  ldr x28, [x29, #224]\n  ldr x29, [x29, #232]\n  ret");

        L("save_state:");
        L("  msr tpidr_el0, x0\n  adrp x0, curout\n  ldr x0, [x0, :lo12:curout]");
        L("  str x1, [x0, #8]");
        for (int i = 2; i < 30; i += 2) L($"  stp x{i}, x{i + 1}, [x0, #{i * 8}]");
        L("  str x30, [x0, #240]");
        L("  mrs x1, tpidr_el0\n  str x1, [x0]\n  mov x1, sp");
        L($"  str x1, [x0, #{OffSp}]\n  mrs x1, nzcv\n  str x1, [x0, #{OffNzcv}]\n  mrs x1, fpcr\n  str x1, [x0, #{OffFpcr}]\n  mrs x1, fpsr\n  str x1, [x0, #{OffFpsr}]");
        for (int i = 0; i < 32; i += 2) L($"  stp q{i}, q{i + 1}, [x0, #{OffV + i * 16}]");
        L($"  ldr x1, ={H(JitHarness.DataAddress)}\n  add x2, x0, #{OffMem}\n  mov x3, #{MachineState.MemorySize / 64}");
        L("3: ldp q0, q1, [x1], #32\n  ldp q2, q3, [x1], #32\n  stp q0, q1, [x2], #32\n  stp q2, q3, [x2], #32\n  subs x3, x3, #1\n  b.ne 3b");
        L("advance:");
        L("  adrp x0, cur\n  ldr x1, [x0, :lo12:cur]\n  add x1, x1, #1\n  str x1, [x0, :lo12:cur]\n  b next_case");

        // x0 = signal number, x2 = ucontext; never returns (the next case reloads every register)
        L("handler:");
        L($"  adrp x1, curout\n  ldr x1, [x1, :lo12:curout]\n  str x0, [x1, #{OffStatus}]");
        L($"  ldr x3, [x2, #{UcontextPc}]\n  str x3, [x1]"); // the fault PC goes where X0 would be
        L("  mov x0, #2\n  adrp x1, zeromask\n  add x1, x1, :lo12:zeromask\n  mov x2, #0\n  mov x3, #8\n  mov x8, #135\n  svc #0");
        L("  adrp x1, hstack_top\n  add x1, x1, :lo12:hstack_top\n  mov sp, x1\n  b advance");

        L("finish:");
        L($"  adrp x19, out\n  add x19, x19, :lo12:out\n  ldr x20, ={(long)cases.Count * RecordSize}");
        L("4: mov x0, #1\n  mov x1, x19\n  mov x2, x20\n  mov x8, #64\n  svc #0\n  cmp x0, #0\n  b.le 5f\n  add x19, x19, x0\n  sub x20, x20, x0\n  cbnz x20, 4b");
        L("  mov x0, #0\n  mov x8, #94\n  svc #0");
        L("5: mov x0, #3\n  mov x8, #94\n  svc #0");
        L(".ltorg");

        L(".data\n.balign 16");
        L("sigact: .quad handler, 0x48000004, 0, 0"); // SA_ONSTACK | SA_NODEFER | SA_SIGINFO
        L("altss: .quad altstack\n  .word 0, 0\n  .quad 0x10000");
        L("zeromask: .quad 0\ncur: .quad 0\ncurin: .quad 0\ncurout: .quad 0");
        L(".balign 16\nstates:");
        L($"  .incbin \"{statesPath}\"");
        L(".bss\n.balign 16\naltstack: .skip 0x10000\n.skip 0x1000\nhstack_top:");
        L($".balign 16\nout: .skip {(long)cases.Count * RecordSize}");
        return sb.ToString();
    }

    private static OracleResult Parse(ReadOnlySpan<byte> o, MachineState init, ulong wordPc)
    {
        int status = (int)BitConverter.ToUInt64(o[OffStatus..]);
        var s = new MachineState { Fpcr = init.Fpcr };
        for (int i = 0; i < 31; i++) s.X[i] = BitConverter.ToUInt64(o[(i * 8)..]);
        s.Sp = BitConverter.ToUInt64(o[OffSp..]);
        s.Nzcv = (uint)BitConverter.ToUInt64(o[OffNzcv..]);
        for (int i = 0; i < 64; i++) s.V[i] = BitConverter.ToUInt64(o[(OffV + i * 8)..]);
        o.Slice(OffMem, MachineState.MemorySize).CopyTo(s.Memory);
        return new OracleResult
        {
            Signal = status, State = s, Fpsr = (uint)BitConverter.ToUInt64(o[OffFpsr..]), WordPc = wordPc,
            FaultPc = status != 0 ? BitConverter.ToUInt64(o) : 0,
        };
    }
}
