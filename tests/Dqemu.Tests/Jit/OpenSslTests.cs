using System.Security.Cryptography;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Jit;

/// <summary>
/// The crypto extension as a real library uses it: Debian's arm64 OpenSSL (fetched with its closure by
/// toolchains/openssl.sh into build/openssl/sysroot, never stored in the repository) picks its AES, SHA1/SHA2/SHA512,
/// SHA3 and PMULL (GHASH) code from AT_HWCAP. Each command runs under qemu-aarch64 (the reference) and ./dqemu-native;
/// stdout, output files and exit status must be equal, and the answers must be .NET's (the host's libcrypto) for the
/// same input: digests, HMAC, AES-256-CBC both ways, AES-128-CTR, and GMAC (GCM's tag over data, PMULL's part);
/// `openssl speed` for AES-128-GCM and SHA-256 runs as under qemu.
/// </summary>
public class OpenSslTests(ITestOutputHelper output)
{
    private static string Root => Path.Combine(GuestRunner.RequireRepoRoot(), "build", "openssl", "sysroot");
    private static readonly byte[] Key = Convert.FromHexString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    private static readonly byte[] Iv = Convert.FromHexString("f0e1d2c3b4a5968778695a4b3c2d1e0f");

    /// <summary>Runs openssl ARGS under both emulators in fresh directories holding the input "in.bin"; returns
    /// dqemu-native's stdout and the directory it ran in, after checking both agree (stdout, status, files made).</summary>
    private (string Stdout, string Dir) Both(byte[] input, params string[] args)
    {
        var qemu = GuestRunner.FindOnPath("qemu-aarch64") ?? throw new InvalidOperationException("qemu-aarch64 not found on PATH");
        GuestRunner.EnsureMade(Path.Combine(Root, ".complete"), "openssl.sh", "apt-get with arm64 as a foreign architecture (root or sudo)");
        string[] all = ["-L", Root, Path.Combine(Root, "usr", "bin", "openssl"), .. args];
        var dirs = new string[2];
        var results = new ProcessResult[2];
        string[] runners = [qemu, GuestRunner.DqemuBinary];
        for (int i = 0; i < 2; i++)
        {
            dirs[i] = Directory.CreateTempSubdirectory("dqemu-openssl-").FullName;
            File.WriteAllBytes(Path.Combine(dirs[i], "in.bin"), input);
            results[i] = GuestRunner.Run(runners[i], all, GuestRunner.StandardGuestEnvironment, workingDirectory: dirs[i],
                timeout: TimeSpan.FromSeconds(120));
            output.WriteLine($"{(i == 0 ? "qemu-aarch64" : "dqemu-native")} {string.Join(' ', args)}: {results[i].Describe()}\n{results[i].Stdout}{results[i].Stderr}");
            Assert.False(results[i].TimedOut, $"{string.Join(' ', args)} timed out");
        }
        Assert.Equal(0, results[0].ExitCode);
        Assert.Equal(results[0].Stdout, results[1].Stdout);
        Assert.Equal(results[0].ExitCode, results[1].ExitCode);
        var files = Directory.GetFiles(dirs[0]).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(files, Directory.GetFiles(dirs[1]).Select(Path.GetFileName).Order().ToArray());
        foreach (var f in files)
            Assert.True(File.ReadAllBytes(Path.Combine(dirs[0], f!)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(dirs[1], f!))),
                $"{f} differs between the emulators");
        return (results[1].Stdout, dirs[1]);
    }

    private static byte[] Input(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static TheoryData<string> Digests() => new() { "md5", "sha1", "sha256", "sha512", "sha3-256" };

    [Theory]
    [MemberData(nameof(Digests))]
    public void DigestIsTheHostsAnswer(string digest)
    {
        var data = Input(1 << 20, 1);
        var (stdout, _) = Both(data, "dgst", "-" + digest, "-r", "in.bin");
        byte[] expected = digest switch
        {
            "md5" => MD5.HashData(data),
            "sha1" => SHA1.HashData(data),
            "sha256" => SHA256.HashData(data),
            "sha512" => SHA512.HashData(data),
            _ => SHA3_256.HashData(data),
        };
        Assert.Equal($"{Convert.ToHexStringLower(expected)} *in.bin\n", stdout);
    }

    [Fact]
    public void HmacSha256IsTheHostsAnswer()
    {
        var data = Input(100_000, 2);
        var (stdout, _) = Both(data, "mac", "-digest", "SHA256", "-macopt", "hexkey:" + Convert.ToHexString(Key), "-in", "in.bin", "HMAC");
        Assert.Equal(Convert.ToHexString(HMACSHA256.HashData(Key, data)) + "\n", stdout);
    }

    [Fact]
    public void Aes256CbcEncryptsAsTheHostAndDecryptsBack()
    {
        var data = Input(65_537, 3);
        string key = Convert.ToHexString(Key), iv = Convert.ToHexString(Iv);
        var (_, dir) = Both(data, "enc", "-aes-256-cbc", "-K", key, "-iv", iv, "-in", "in.bin", "-out", "out.bin");
        using var aes = Aes.Create();
        aes.Key = Key;
        var expected = aes.EncryptCbc(data, Iv, PaddingMode.PKCS7);
        var cipher = File.ReadAllBytes(Path.Combine(dir, "out.bin"));
        Assert.True(expected.AsSpan().SequenceEqual(cipher), "AES-256-CBC ciphertext differs from the host's");
        var (_, back) = Both(cipher, "enc", "-d", "-aes-256-cbc", "-K", key, "-iv", iv, "-in", "in.bin", "-out", "plain.bin");
        Assert.True(data.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(back, "plain.bin"))), "decryption did not give the input back");
    }

    [Fact]
    public void Aes128CtrIsTheHostsKeystream()
    {
        var data = Input(40_000, 4);
        var key = Key[..16];
        var (_, dir) = Both(data, "enc", "-aes-128-ctr", "-K", Convert.ToHexString(key), "-iv", Convert.ToHexString(Iv), "-in", "in.bin", "-out", "out.bin");
        // CTR: the keystream is AES-ECB of the IV taken as a 128-bit big-endian counter
        using var aes = Aes.Create();
        aes.Key = key;
        var counter = (byte[])Iv.Clone();
        var expected = new byte[data.Length];
        for (int at = 0; at < data.Length; at += 16)
        {
            var block = aes.EncryptEcb(counter, PaddingMode.None);
            for (int i = 0; i < 16 && at + i < data.Length; i++) expected[at + i] = (byte)(data[at + i] ^ block[i]);
            for (int i = 15; i >= 0 && ++counter[i] == 0; i--) { }
        }
        Assert.True(expected.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(dir, "out.bin"))), "AES-128-CTR output differs from the host's");
    }

    /// <summary>
    /// `openssl speed` for one second on 16 KiB blocks: under both emulators it ends normally and prints the same lines
    /// but for the figures (which must be positive) and for the CPU capabilities OpenSSL found (qemu's -cpu max has more).
    /// </summary>
    [Theory]
    [InlineData("-evp aes-128-gcm", "AES-128-GCM")]
    [InlineData("sha256", "sha256")]
    public void SpeedRunsLikeUnderQemu(string algorithm, string row)
    {
        var qemu = GuestRunner.FindOnPath("qemu-aarch64") ?? throw new InvalidOperationException("qemu-aarch64 not found on PATH");
        GuestRunner.EnsureMade(Path.Combine(Root, ".complete"), "openssl.sh", "apt-get with arm64 as a foreign architecture (root or sudo)");
        string[] args = ["-L", Root, Path.Combine(Root, "usr", "bin", "openssl"), "speed", "-seconds", "1", "-bytes", "16384", .. algorithm.Split(' ')];
        var shapes = new List<string>();
        foreach (var runner in new[] { qemu, GuestRunner.DqemuBinary })
        {
            var r = GuestRunner.Run(runner, args, GuestRunner.StandardGuestEnvironment, timeout: TimeSpan.FromSeconds(120));
            output.WriteLine($"{Path.GetFileName(runner)}: {r.Describe()}\n{r.Stdout}");
            Assert.False(r.TimedOut);
            Assert.Equal(0, r.ExitCode);
            var figure = System.Text.RegularExpressions.Regex.Match(r.Stdout, $@"^{System.Text.RegularExpressions.Regex.Escape(row)} +([0-9.]+)k$",
                System.Text.RegularExpressions.RegexOptions.Multiline);
            Assert.True(figure.Success && double.Parse(figure.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0,
                $"no positive {row} figure");
            shapes.Add(System.Text.RegularExpressions.Regex.Replace(
                System.Text.RegularExpressions.Regex.Replace(r.Stdout, " +[0-9]+[.][0-9]+k", " N"), "OPENSSL_armcap=0x[0-9a-f]+", "CAPS"));
        }
        Assert.Equal(shapes[0], shapes[1]);
    }

    [Fact]
    public void GmacIsTheHostsGcmTag()
    {
        var data = Input(50_000, 5);
        var nonce = Iv[..12];
        var key = Key[..16];
        var (stdout, _) = Both(data, "mac", "-cipher", "AES-128-GCM", "-macopt", "hexkey:" + Convert.ToHexString(key),
            "-macopt", "hexiv:" + Convert.ToHexString(nonce), "-in", "in.bin", "GMAC");
        // GMAC is GCM with the data as associated data and nothing to encrypt: GHASH (PMULL) then AES
        var tag = new byte[16];
        using (var gcm = new AesGcm(key, 16)) gcm.Encrypt(nonce, Array.Empty<byte>(), Array.Empty<byte>(), tag, data);
        Assert.Equal(Convert.ToHexString(tag) + "\n", stdout);
    }
}
