using System.Diagnostics;
using System.Text;

namespace Dqemu.Tests.Jit;

/// <summary>
/// Runs a snippet under qemu-aarch64 (the behaviour reference) from a given <see cref="MachineState"/> and
/// returns the state after it. The snippet sits at <see cref="JitHarness.CodeAddress"/>, the data page at
/// <see cref="JitHarness.DataAddress"/> and SP at <see cref="JitHarness.StackTop"/>, exactly as in the
/// in-process harness, so PC-relative results and addresses compare equal.
/// </summary>
public static class QemuOracle
{
    private const int VOut = 272;
    private const int OutSize = VOut + 32 * 16 + MachineState.MemorySize;

    /// <param name="codeAddress">Where the snippet sits (default <see cref="JitHarness.CodeAddress"/>; see
    /// <see cref="JitHarness.Run(string, ulong)"/> for high addresses).</param>
    public static MachineState Run(string snippet, MachineState init, ulong codeAddress = JitHarness.CodeAddress)
    {
        string dir = Directory.CreateTempSubdirectory("dqemu-oracle-").FullName;
        try
        {
            string s = Path.Combine(dir, "t.s"), o = Path.Combine(dir, "t.o"), elf = Path.Combine(dir, "t.elf");
            File.WriteAllText(s, Source(snippet, init));
            Tools.Exec("aarch64-linux-gnu-as", $"-o {o} {s}");
            // the prologue/epilogue (.text) sits within branch range of the snippet: a linker veneer would clobber X16
            ulong text = codeAddress == JitHarness.CodeAddress ? 0x400000 : codeAddress + 0x100000;
            Tools.Exec("aarch64-linux-gnu-ld",
                $"-static -e _start --section-start=.snip=0x{codeAddress:x} --section-start=.mem=0x{JitHarness.DataAddress:x} " +
                $"--section-start=.stk=0x{JitHarness.StackTop - 0x10000:x} -Ttext=0x{text:x} -o {elf} {o}");
            byte[] output = Tools.ExecBytes(Tools.Qemu, elf);
            if (output.Length != OutSize) throw new InvalidOperationException($"qemu-aarch64 printed {output.Length} bytes, expected {OutSize}");
            return Parse(output, init);
        }
        finally { Directory.Delete(dir, true); }
    }

    private static string Source(string snippet, MachineState st)
    {
        var sb = new StringBuilder();
        sb.AppendLine(".arch armv8.2-a+lse+crc+crypto+fp16+sha3");
        sb.AppendLine(".section .snip, \"ax\"\n.global snippet\nsnippet:");
        sb.AppendLine(snippet);
        sb.AppendLine("  b epilogue");
        sb.AppendLine(".section .mem, \"aw\"\n.balign 4096\nmem:");
        AppendBytes(sb, st.Memory);
        sb.AppendLine(".section .stk, \"aw\"\n.balign 16\n.skip 0x10000");
        sb.AppendLine(".data\n.balign 16\nstate:");
        foreach (var x in st.X) sb.AppendLine($"  .quad 0x{x:x}");
        sb.AppendLine($"  .quad 0x{st.Sp:x}\n  .quad 0x{st.Nzcv:x}\n  .quad 0x{st.Fpcr:x}\n  .quad 0\n  .quad 0");
        foreach (var v in st.V) sb.AppendLine($"  .quad 0x{v:x}");
        sb.AppendLine(".balign 16\nout:\n  .skip " + OutSize);
        sb.AppendLine(".text\n.global _start\n_start:");
        sb.AppendLine("  adrp x30, state\n  add x30, x30, :lo12:state");
        sb.AppendLine("  ldr x0, [x30, #248]\n  mov sp, x0\n  ldr x0, [x30, #256]\n  msr nzcv, x0\n  ldr x0, [x30, #264]\n  msr fpcr, x0");
        for (int i = 0; i < 32; i += 2) sb.AppendLine($"  ldp q{i}, q{i + 1}, [x30, #{288 + i * 16}]");
        for (int i = 0; i < 30; i += 2) sb.AppendLine($"  ldp x{i}, x{i + 1}, [x30, #{i * 8}]");
        sb.AppendLine("  ldr x30, [x30, #240]");
        sb.AppendLine("  b snippet");
        sb.AppendLine("epilogue:\n  msr tpidr_el0, x0\n  adrp x0, out\n  add x0, x0, :lo12:out");
        for (int i = 1; i < 31; i++) sb.AppendLine($"  str x{i}, [x0, #{i * 8}]");
        sb.AppendLine("  mrs x1, tpidr_el0\n  str x1, [x0]\n  mov x1, sp\n  str x1, [x0, #248]\n  mrs x1, nzcv\n  str x1, [x0, #256]");
        for (int i = 0; i < 32; i += 2) sb.AppendLine($"  stp q{i}, q{i + 1}, [x0, #{VOut + i * 16}]");
        // copy the data page after the registers
        sb.AppendLine($"  add x2, x0, #{VOut + 512}\n  mov x3, #0x{JitHarness.DataAddress:x}\n  mov x4, #{MachineState.MemorySize}");
        sb.AppendLine("1: ldr x5, [x3], #8\n  str x5, [x2], #8\n  subs x4, x4, #8\n  b.ne 1b");
        sb.AppendLine($"  mov x1, x0\n  mov x0, #1\n  mov x2, #{OutSize}\n  mov x8, #64\n  svc #0");
        sb.AppendLine("  mov x0, #0\n  mov x8, #93\n  svc #0");
        return sb.ToString();
    }

    private static void AppendBytes(StringBuilder sb, byte[] bytes)
    {
        for (int i = 0; i < bytes.Length; i += 16)
        {
            sb.Append("  .byte ");
            for (int j = i; j < i + 16; j++) { if (j > i) sb.Append(','); sb.Append(bytes[j]); }
            sb.AppendLine();
        }
    }

    private static MachineState Parse(byte[] o, MachineState init)
    {
        var s = new MachineState { Fpcr = init.Fpcr };
        for (int i = 0; i < 31; i++) s.X[i] = BitConverter.ToUInt64(o, i * 8);
        s.Sp = BitConverter.ToUInt64(o, 248);
        s.Nzcv = (uint)BitConverter.ToUInt64(o, 256);
        for (int i = 0; i < 64; i++) s.V[i] = BitConverter.ToUInt64(o, VOut + i * 8);
        Array.Copy(o, VOut + 512, s.Memory, 0, MachineState.MemorySize);
        return s;
    }
}

internal static class Tools
{
    public const string Qemu = "qemu-aarch64";

    public static void Exec(string tool, string args) => ExecBytes(tool, args);

    public static byte[] ExecBytes(string tool, string args)
    {
        ProcessStartInfo psi = new(tool, args) { RedirectStandardError = true, RedirectStandardOutput = true };
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException($"{tool} is missing: run ./build.sh (toolchains/install.sh installs it)");
        }
        var ms = new MemoryStream();
        var errTask = p.StandardError.ReadToEndAsync();
        p.StandardOutput.BaseStream.CopyTo(ms);
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{tool} {args} failed ({p.ExitCode}): {errTask.Result}");
        return ms.ToArray();
    }
}
