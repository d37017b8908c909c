using System.Text;
using System.Text.RegularExpressions;
using Dqemu.JitX64.Translation;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// The register layer's entry loads (EmitterContext.cs, Translator.PlanCache): a cached guest register whose first
/// access in the block is a write gets no load at the block's start, also when the writing emitter's code branches
/// only out of line (a load's address check); one read before its write keeps its load. SIMD&amp;FP registers are
/// kept in xmm8-xmm15 the same way: a V register written and read again in a block is stored once, at the exit. The
/// values come from the programs' own arithmetic; the host code is read from the translator's -d out_asm log. The
/// fault side (a faulting load whose destination was never loaded) is SplitRedirectFaultTests', and the guest
/// fault_regs checks the X and V registers a signal handler sees at faults against qemu-aarch64's.
/// </summary>
public sealed unsafe class RegisterLayerTests
{
    /// <summary>Runs <paramref name="code"/> translated in full and returns the host code the translator logged.</summary>
    private static string Run(string code, Action<JitHarness> setup, Action<JitHarness> check, bool cacheVectors = true)
    {
        var log = new StringBuilder();
        using var h = new JitHarness(new TranslatorOptions
        {
            CodeCacheSize = 16UL << 20, LogOutAsm = true, Log = s => log.Append(s), CacheVectors = cacheVectors,
        });
        setup(h);
        h.RunToEnd(code);
        Assert.Equal(0, h.Translator.RegisterConflicts);
        check(h);
        return log.ToString();
    }

    /// <summary>Host instructions that load guest register <paramref name="r"/> from CpuState (X0 at rbx + 0).</summary>
    private static int LoadsOf(string outAsm, int r) =>
        Regex.Matches(outAsm, r == 0 ? @"mov r\w+,\[rbx\]" : $@"mov r\w+,\[rbx\+{8 * r:X}h\]").Count;

    [Theory]
    // x10 is read twice after the load writes it (worth a host register); the load's address check branches out of
    // line and back to the load, so the write is unconditional and x10's old value is never needed
    [InlineData("ldr x10, [x1]\nadd x12, x10, x10\nadd x13, x10, #1", false)]
    // the same block with x10 read first: its entry load stays
    [InlineData("add x11, x10, #1\nldr x10, [x1]\nadd x12, x10, x10\nadd x13, x10, #1", true)]
    public void ARegisterIsLoadedAtEntryOnlyWhenReadBeforeItsWrite(string code, bool readFirst)
    {
        string asm = Run(code,
            h => { h.X(1) = JitHarness.DataAddress; h.X(10) = 5; h.X(11) = 0; h.WriteU64(JitHarness.DataAddress, 21); },
            h =>
            {
                Assert.Equal(readFirst ? 6UL : 0UL, h.X(11));
                Assert.Equal(21UL, h.X(10));
                Assert.Equal(42UL, h.X(12));
                Assert.Equal(22UL, h.X(13));
            });
        if (readFirst) Assert.True(LoadsOf(asm, 10) >= 1, asm);
        else Assert.Equal(0, LoadsOf(asm, 10));
    }

    /// <summary>Host instructions that store all of Vn to CpuState (V0 at rbx + 140h).</summary>
    private static int VStoresOf(string outAsm, int n) => Regex.Matches(outAsm, $@"movdqu \[rbx\+{0x140 + 16 * n:X}h\],xmm").Count;

    /// <summary>Host instructions that read Vn in CpuState (whole or in part, into any register).</summary>
    private static int VReadsOf(string outAsm, int n) => Regex.Matches(outAsm, $@"\w+ \w+,\w* ?\[rbx\+{0x140 + 16 * n:X}h\]").Count;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AVectorRegisterWrittenAndReadAgainIsStoredOnceAtTheExit(bool cacheVectors)
    {
        const string code = """
            ldr q1, [x1]
            ldr q2, [x1, #16]
            add v3.4s, v1.4s, v2.4s
            eor v4.16b, v3.16b, v1.16b
            add v3.4s, v3.4s, v4.4s
            str q3, [x1, #32]
            fmov x5, d3
            """;
        uint[] a = [1, 2, 0xffffffff, 0x80000000], b = [10, 20, 1, 0x80000000];
        var sum = new uint[4];
        for (int i = 0; i < 4; i++)
        {
            uint v3 = a[i] + b[i];
            sum[i] = v3 + (v3 ^ a[i]);
        }
        string asm = Run(code,
            h =>
            {
                h.X(1) = JitHarness.DataAddress;
                h.WriteU64(JitHarness.DataAddress, a[0] | (ulong)a[1] << 32);
                h.WriteU64(JitHarness.DataAddress + 8, a[2] | (ulong)a[3] << 32);
                h.WriteU64(JitHarness.DataAddress + 16, b[0] | (ulong)b[1] << 32);
                h.WriteU64(JitHarness.DataAddress + 24, b[2] | (ulong)b[3] << 32);
            },
            h =>
            {
                Assert.Equal(sum[0] | (ulong)sum[1] << 32, h.ReadU64(JitHarness.DataAddress + 32));
                Assert.Equal(sum[2] | (ulong)sum[3] << 32, h.ReadU64(JitHarness.DataAddress + 40));
                Assert.Equal(sum[0] | (ulong)sum[1] << 32, h.X(5));
                Assert.Equal(sum[0] | (ulong)sum[1] << 32, h.Cpu->V[6]);
                Assert.Equal(sum[2] | (ulong)sum[3] << 32, h.Cpu->V[7]);
            },
            cacheVectors);
        if (cacheVectors)
        {
            // V3 (written twice, read three times) and V1 (read twice after its load) live in xmm registers: no read of
            // either in CpuState, V3 stored only by the exit's spill
            Assert.Equal(1, VStoresOf(asm, 3));
            Assert.Equal(0, VReadsOf(asm, 3));
            Assert.Equal(0, VReadsOf(asm, 1));
        }
        else
        {
            Assert.Equal(2, VStoresOf(asm, 3));
            Assert.True(VReadsOf(asm, 3) >= 2, asm);
        }
    }
}
