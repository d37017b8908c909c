using Dqemu.JitX64;
using Dqemu.JitX64.Decoders;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// The crypto extension (AES, PMULL .1Q, SHA1, SHA256): snippets compared with qemu-aarch64 from random and
/// edge-valued states, known answers computed independently of both emulators (FIPS-197 AES-128, a C#
/// carry-less multiply), the disassembly as GNU objdump prints it, and AT_HWCAP.
/// </summary>
public class CryptoTests
{
    private static MachineState EdgeState(int seed)
    {
        var s = MachineState.Random(900 + seed);
        var r = new Random(seed);
        ulong[] values = [0, ulong.MaxValue, 1, 0x8000000000000000, 0x0000000100000000, 0xFFFFFFFF00000000, 0x6363636363636363, 0x0123456789ABCDEF];
        for (int i = 0; i < 64; i++) if (r.Next(2) == 0) s.V[i] = values[r.Next(values.Length)];
        return s;
    }

    private static void Check(string snippet)
    {
        for (int i = 0; i < 4; i++) DiffTest.AssertSameAsQemu(snippet, MachineState.Random(i));
        for (int i = 0; i < 4; i++) DiffTest.AssertSameAsQemu(snippet, EdgeState(i));
    }

    public static IEnumerable<object[]> Snippets()
    {
        // AES: rounds of encryption and decryption, Vd aliasing Vn, AESMC/AESIMC into other registers
        yield return ["aese v0.16b, v1.16b\naesmc v0.16b, v0.16b\naese v0.16b, v2.16b\naesmc v0.16b, v0.16b\naese v0.16b, v3.16b\neor v0.16b, v0.16b, v4.16b"];
        yield return ["aesd v5.16b, v6.16b\naesimc v5.16b, v5.16b\naesd v5.16b, v7.16b\naesimc v5.16b, v5.16b\naesd v5.16b, v8.16b\neor v5.16b, v5.16b, v9.16b"];
        yield return ["aese v10.16b, v10.16b\naesd v11.16b, v11.16b\naesmc v12.16b, v13.16b\naesimc v14.16b, v15.16b\naesmc v16.16b, v16.16b\naesimc v31.16b, v0.16b"];
        // PMULL: 64-bit and 8-bit elements, low and high halves, Vd aliasing a source
        yield return ["pmull v0.1q, v1.1d, v2.1d\npmull2 v3.1q, v4.2d, v5.2d\npmull v6.1q, v6.1d, v7.1d\npmull2 v8.1q, v8.2d, v8.2d"];
        yield return ["pmull v0.8h, v1.8b, v2.8b\npmull2 v3.8h, v4.16b, v5.16b\npmull v6.8h, v6.8b, v6.8b\npmull2 v7.8h, v8.16b, v7.16b"];
        // SHA256: the schedule and hash instructions as a block loop uses them, and aliasing
        yield return ["sha256su0 v0.4s, v1.4s\nsha256su1 v0.4s, v2.4s, v3.4s\nmov v10.16b, v4.16b\nsha256h q4, q5, v6.4s\nsha256h2 q5, q10, v6.4s"];
        yield return ["sha256h q0, q0, v1.4s\nsha256h2 q2, q2, v2.4s\nsha256su0 v3.4s, v3.4s\nsha256su1 v4.4s, v4.4s, v4.4s\nsha256su1 v5.4s, v6.4s, v5.4s"];
        // SHA1
        yield return ["sha1h s0, s1\nsha1c q2, s0, v3.4s\nsha1p q4, s5, v6.4s\nsha1m q7, s8, v9.4s\nsha1su0 v10.4s, v11.4s, v12.4s\nsha1su1 v13.4s, v14.4s"];
        yield return ["sha1h s0, s0\nsha1c q1, s1, v1.4s\nsha1p q2, s3, v2.4s\nsha1m q4, s4, v4.4s\nsha1su0 v5.4s, v5.4s, v5.4s\nsha1su1 v6.4s, v6.4s"];
        // SHA512: a round pair and the schedule as OpenSSL's sha512-armv8 uses them, and aliasing
        yield return ["sha512su0 v0.2d, v1.2d\next v7.16b, v4.16b, v5.16b, #8\nsha512su1 v0.2d, v2.2d, v7.2d\nadd v8.2d, v0.2d, v3.2d\nsha512h q9, q10, v8.2d\nadd v11.2d, v12.2d, v9.2d\nsha512h2 q9, q13, v14.2d"];
        yield return ["sha512h q0, q0, v0.2d\nsha512h2 q1, q1, v1.2d\nsha512su0 v2.2d, v2.2d\nsha512su1 v3.2d, v3.2d, v3.2d\nsha512h q4, q5, v4.2d"];
        // SHA3: EOR3, BCAX, RAX1 and XAR at every rotation class (0, 1, 63, in between), aliasing
        yield return ["eor3 v0.16b, v1.16b, v2.16b, v3.16b\nbcax v4.16b, v5.16b, v6.16b, v7.16b\nrax1 v8.2d, v9.2d, v10.2d\nxar v11.2d, v12.2d, v13.2d, #0\nxar v14.2d, v15.2d, v16.2d, #1\nxar v17.2d, v18.2d, v19.2d, #63\nxar v20.2d, v21.2d, v22.2d, #20"];
        yield return ["eor3 v0.16b, v0.16b, v0.16b, v1.16b\nbcax v2.16b, v3.16b, v2.16b, v2.16b\nrax1 v4.2d, v4.2d, v4.2d\nxar v5.2d, v5.2d, v6.2d, #44\nbcax v7.16b, v7.16b, v8.16b, v9.16b"];
    }

    [Theory]
    [MemberData(nameof(Snippets))]
    public void MatchesQemu(string snippet) => Check(snippet);

    // ---- AES-128 known answer (FIPS-197 appendix C.1) ----

    private static byte[] SBox()
    {
        var sbox = new byte[256];
        for (int x = 0; x < 256; x++)
        {
            int inv = 0;
            for (int y = 1; y < 256 && x != 0; y++) if (GfMul((byte)x, (byte)y) == 1) { inv = y; break; }
            int b = inv, s = 0x63;
            for (int i = 0; i < 5; i++) s ^= (b << i | b >> (8 - i)) & 0xFF; // b ^ rotl1 ^ rotl2 ^ rotl3 ^ rotl4
            sbox[x] = (byte)s;
        }
        return sbox;
    }

    private static byte GfMul(byte a, byte b)
    {
        int p = 0, x = a;
        for (int i = 0; i < 8; i++)
        {
            if (((b >> i) & 1) != 0) p ^= x;
            x <<= 1;
            if ((x & 0x100) != 0) x ^= 0x11B;
        }
        return (byte)p;
    }

    private static byte[][] ExpandKey128(byte[] key)
    {
        var sbox = SBox();
        var w = new byte[176];
        key.CopyTo(w, 0);
        byte rcon = 1;
        for (int i = 16; i < 176; i += 4)
        {
            byte[] t = [w[i - 4], w[i - 3], w[i - 2], w[i - 1]];
            if (i % 16 == 0)
            {
                t = [(byte)(sbox[t[1]] ^ rcon), sbox[t[2]], sbox[t[3]], sbox[t[0]]];
                rcon = GfMul(rcon, 2);
            }
            for (int j = 0; j < 4; j++) w[i + j] = (byte)(w[i - 16 + j] ^ t[j]);
        }
        return Enumerable.Range(0, 11).Select(r => w[(16 * r)..(16 * r + 16)]).ToArray();
    }

    private static void SetV(MachineState s, int n, byte[] b)
    {
        s.V[2 * n] = BitConverter.ToUInt64(b, 0);
        s.V[2 * n + 1] = BitConverter.ToUInt64(b, 8);
    }

    private static byte[] GetV(MachineState s, int n) => [.. BitConverter.GetBytes(s.V[2 * n]), .. BitConverter.GetBytes(s.V[2 * n + 1])];

    [Fact]
    public void Aes128EncryptsAndDecryptsTheFips197Example()
    {
        byte[] key = Convert.FromHexString("000102030405060708090a0b0c0d0e0f");
        byte[] plain = Convert.FromHexString("00112233445566778899aabbccddeeff");
        byte[] cipher = Convert.FromHexString("69c4e0d86a7b0430d8cdb78070b4c55a");
        var rk = ExpandKey128(key);
        Assert.Equal("13111d7fe3944a17f307a78b4d2b30c5", Convert.ToHexString(rk[10]).ToLowerInvariant()); // FIPS-197 A.1
        var init = MachineState.Random(77);
        SetV(init, 0, plain);
        SetV(init, 12, cipher);
        for (int r = 0; r <= 10; r++) SetV(init, 1 + r, rk[r]); // round key r in v(1+r)
        var src = new System.Text.StringBuilder();
        for (int r = 0; r < 9; r++) src.Append($"aese v0.16b, v{1 + r}.16b\naesmc v0.16b, v0.16b\n");
        src.Append("aese v0.16b, v10.16b\neor v0.16b, v0.16b, v11.16b\n");
        // the equivalent inverse cipher: InvMixColumns of round keys 9..1 into v21..v13
        for (int r = 1; r <= 9; r++) src.Append($"aesimc v{12 + r}.16b, v{1 + r}.16b\n");
        src.Append("aesd v12.16b, v11.16b\naesimc v12.16b, v12.16b\n");
        for (int r = 9; r >= 2; r--) src.Append($"aesd v12.16b, v{12 + r}.16b\naesimc v12.16b, v12.16b\n");
        src.Append("aesd v12.16b, v13.16b\neor v12.16b, v12.16b, v1.16b");
        string snippet = src.ToString();
        using (var h = new JitHarness())
        {
            h.SetState(init);
            h.RunToEnd(snippet);
            var s = h.GetState();
            Assert.Equal(Convert.ToHexString(cipher), Convert.ToHexString(GetV(s, 0)));
            Assert.Equal(Convert.ToHexString(plain), Convert.ToHexString(GetV(s, 12)));
        }
        DiffTest.AssertSameAsQemu(snippet, init);
    }

    // ---- PMULL .1Q against a C# carry-less multiply ----

    private static (ulong Lo, ulong Hi) Clmul(ulong a, ulong b)
    {
        UInt128 p = 0;
        for (int i = 0; i < 64; i++) if (((b >> i) & 1) != 0) p ^= (UInt128)a << i;
        return ((ulong)p, (ulong)(p >> 64));
    }

    [Fact]
    public void Pmull64IsTheCarrylessProduct()
    {
        for (int seed = 0; seed < 8; seed++)
        {
            var init = seed < 4 ? MachineState.Random(seed) : EdgeState(seed);
            if (seed == 7) { init.V[2] = init.V[4] = ulong.MaxValue; } // (x^64-1)/(x-1) squared: every even bit
            using var h = new JitHarness();
            h.SetState(init);
            h.RunToEnd("pmull v0.1q, v1.1d, v2.1d\npmull2 v3.1q, v4.2d, v5.2d");
            var s = h.GetState();
            var lo = Clmul(init.V[2], init.V[4]);
            var hi = Clmul(init.V[9], init.V[11]);
            Assert.Equal((lo.Lo, lo.Hi), (s.V[0], s.V[1]));
            Assert.Equal((hi.Lo, hi.Hi), (s.V[6], s.V[7]));
            if (seed == 7) Assert.Equal((0x5555555555555555UL, 0x5555555555555555UL), (s.V[0], s.V[1]));
        }
    }

    // ---- disassembly ----

    /// <summary>Each line is what aarch64-linux-gnu-objdump -d prints for the word the assembler makes of it.</summary>
    private static readonly string[] ObjdumpLines =
    [
        "aese v0.16b, v1.16b", "aesd v31.16b, v2.16b", "aesmc v3.16b, v30.16b", "aesimc v4.16b, v5.16b",
        "sha1c q0, s1, v2.4s", "sha1p q3, s4, v5.4s", "sha1m q6, s7, v31.4s", "sha1su0 v8.4s, v9.4s, v10.4s",
        "sha256h q11, q12, v13.4s", "sha256h2 q14, q15, v16.4s", "sha256su1 v17.4s, v18.4s, v19.4s",
        "sha1h s20, s21", "sha1su1 v22.4s, v23.4s", "sha256su0 v24.4s, v25.4s",
        "pmull v0.1q, v1.1d, v2.1d", "pmull2 v3.1q, v4.2d, v5.2d", "pmull v6.8h, v7.8b, v8.8b", "pmull2 v9.8h, v10.16b, v11.16b",
        "sha512h q0, q1, v2.2d", "sha512h2 q3, q4, v5.2d", "sha512su0 v6.2d, v7.2d", "sha512su1 v8.2d, v9.2d, v10.2d",
        "eor3 v11.16b, v12.16b, v13.16b, v14.16b", "bcax v15.16b, v16.16b, v17.16b, v18.16b", "rax1 v19.2d, v20.2d, v21.2d",
        "xar v22.2d, v23.2d, v24.2d, #10", "xar v25.2d, v26.2d, v27.2d, #63", "xar v28.2d, v29.2d, v30.2d, #0",
    ];

    [Fact]
    public void DisassemblesAsObjdump()
    {
        uint[] words = A64Asm.Assemble(string.Join("\n", ObjdumpLines));
        Assert.Equal(ObjdumpLines.Length, words.Length);
        for (int i = 0; i < words.Length; i++)
            Assert.Equal(ObjdumpLines[i], Disassembler.Disassemble(words[i], 0x400000));
    }

    // ---- AT_HWCAP ----

    [Fact]
    public void HwcapAdvertisesWhatIsImplemented()
    {
        // the host's flags from /proc/cpuinfo, a source independent of the CPUID the translator reads
        string flags = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal));
        var set = flags[(flags.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        // less what DQEMU_HOST_FEATURES_OFF takes away (HostFeaturesOffTests)
        var off = (Environment.GetEnvironmentVariable("DQEMU_HOST_FEATURES_OFF") ?? "").Split(',');
        bool Has(string flag, string name) => set.Contains(flag) && !off.Contains(name);
        // SHA1/SHA2 are advertised where SHA-NI translates them; SHA512 runs but is not advertised (Features.HwCap
        // says why); SHA3 is
        ulong expected = Features.HwcapFp | Features.HwcapAsimd | Features.HwcapCrc32 | Features.HwcapAtomics | Features.HwcapSha3
            | (Has("aes", "aes") ? Features.HwcapAes : 0) | (Has("pclmulqdq", "pclmul") ? Features.HwcapPmull : 0)
            | (Has("sha_ni", "sha") ? Features.HwcapSha1 | Features.HwcapSha2 : 0);
        Assert.Equal(expected, Features.HwCap);
        Assert.Equal(1UL << 3, Features.HwcapAes);
        Assert.Equal(1UL << 4, Features.HwcapPmull);
        Assert.Equal(1UL << 5, Features.HwcapSha1);
        Assert.Equal(1UL << 6, Features.HwcapSha2);
        Assert.Equal(1UL << 17, Features.HwcapSha3);      // the kernel's arch/arm64/include/uapi/asm/hwcap.h
        Assert.Equal(1UL << 21, Features.HwcapSha512);
        // every advertised crypto bit has its instructions in the table
        (ulong Bit, uint Word)[] rows = [(Features.HwcapAes, 0x4e284820u), (Features.HwcapPmull, 0x0ee2e020u),
            (Features.HwcapSha1, 0x5e020020u), (Features.HwcapSha2, 0x5e024020u), (Features.HwcapSha512, 0xce628020u),
            (Features.HwcapSha3, 0xce0d398bu), (Features.HwcapSha3, 0xce314a0fu), (Features.HwcapSha3, 0xce758e93u), (Features.HwcapSha3, 0xce982af6u)];
        foreach (var (bit, word) in rows)
            if ((Features.HwCap & bit) != 0) Assert.NotNull(Decoder.Decode(word));
    }
}
