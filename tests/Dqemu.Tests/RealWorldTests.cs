using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests;

/// <summary>
/// A real pthreads code base, not written for these tests: zstd from Debian's source, built by
/// toolchains/realworld.sh (aarch64-linux-gnu-gcc -O2 -static -pthread) into build/realworld/zstd.aarch64.
/// Its multi-threaded compression (-T4: a worker pool fed through mutexes and condition variables, plus
/// threaded asynchronous reads and writes) runs under qemu-aarch64, the reference, and under ./dqemu-native
/// on the same deterministic 8 MiB input; stdout bytes and exit statuses must be identical. zstd's output
/// depends only on the input and the settings, never on thread timing, so any difference is ours.
/// (The script explains why zstd rather than pigz.)
/// </summary>
public class RealWorldTests(RealWorldFixture fx, ITestOutputHelper output) : IClassFixture<RealWorldFixture>
{
    /// <summary>Runs of each threaded command under dqemu-native: a race shows up as one bad run among several.</summary>
    const int ThreadedRuns = 3;

    // -B 1 MiB cuts the 8 MiB input into 8 jobs for the 4 workers (the default job is 8 MiB at level 3).
    static readonly string[] Threads = ["-T4", "-B1048576"];

    [Theory]
    [InlineData(3)]
    [InlineData(9)]
    public void ThreadedCompressionMatchesQemu(int level)
    {
        string[] args = [$"-{level}", .. Threads, "-q", "-c", fx.InputPath];
        var expected = CompareWithQemu($"compress-{level}", args, ThreadedRuns);
        Assert.True(expected.StdoutBytes.Length > 0 && expected.StdoutBytes.Length < fx.Input.Length,
            $"the reference compressed {fx.Input.Length} bytes to {expected.StdoutBytes.Length}");
    }

    [Fact]
    public void DecompressionRoundTripsUnderBoth()
    {
        var compressed = fx.ReferenceCompressed();
        var expected = CompareWithQemu("decompress", ["-d", "-q", "-c", compressed], 1);
        Assert.True(expected.StdoutBytes.AsSpan().SequenceEqual(fx.Input),
            $"qemu-aarch64's round trip gave {expected.StdoutBytes.Length} bytes, not the {fx.Input.Length}-byte input");
    }

    [Fact]
    public void IntegrityTestAgrees()
    {
        var good = fx.ReferenceCompressed();
        var ok = CompareWithQemu("test-good", ["-t", "-q", good], 1);
        Assert.Equal(0, ok.ExitCode);

        // a flipped byte in the middle: zstd must find the damage (checksum or a corrupt block) and exit 1
        var bad = Path.Combine(fx.WorkDir, "corrupt.zst");
        var bytes = File.ReadAllBytes(good);
        bytes[bytes.Length / 2] ^= 0x5a;
        File.WriteAllBytes(bad, bytes);
        var failed = CompareWithQemu("test-corrupt", ["-t", "-q", bad], 1);
        Assert.NotEqual(0, failed.ExitCode);
    }

    /// <summary>
    /// Runs zstd with <paramref name="args"/> once under qemu-aarch64 and <paramref name="runs"/> times under
    /// dqemu-native; fails on any difference in exit status or stdout bytes. Returns the reference result.
    /// </summary>
    ProcessResult CompareWithQemu(string label, string[] args, int runs)
    {
        List<string> argv = [fx.Zstd, .. args];
        var expected = fx.Run(fx.Qemu, argv);
        output.WriteLine($"{label}: zstd {string.Join(' ', args)}");
        output.WriteLine($"  qemu-aarch64: {expected.Describe()}, {expected.StdoutBytes.Length} bytes out, {expected.Elapsed.TotalSeconds:F2} s");
        if (expected.TimedOut)
            Assert.Fail($"the reference run (qemu-aarch64 zstd {string.Join(' ', args)}) timed out\n{expected.Stderr}");

        for (int run = 1; run <= runs; run++)
        {
            var actual = fx.Run(fx.Dqemu, argv);
            output.WriteLine($"  dqemu-native: {actual.Describe()}, {actual.StdoutBytes.Length} bytes out, {actual.Elapsed.TotalSeconds:F2} s");
            var problems = new List<string>();
            if (actual.TimedOut)
                problems.Add($"dqemu-native timed out after {RealWorldFixture.Timeout.TotalSeconds} s and was killed");
            else if (actual.ExitCode != expected.ExitCode)
                problems.Add($"exit status differs: qemu-aarch64 {expected.Describe()}, dqemu-native {actual.Describe()}");
            if (!expected.StdoutBytes.AsSpan().SequenceEqual(actual.StdoutBytes))
                problems.Add("stdout differs: " + FirstDifference(expected.StdoutBytes, actual.StdoutBytes));
            if (problems.Count > 0)
            {
                var msg = new StringBuilder();
                msg.AppendLine($"zstd ({label}) behaves differently under dqemu-native than under qemu-aarch64 (run {run} of {runs})");
                msg.AppendLine($"  command: {fx.Dqemu} {string.Join(' ', argv)}");
                foreach (var p in problems)
                    msg.AppendLine("- " + p);
                msg.AppendLine("qemu-aarch64 stderr:");
                msg.AppendLine(Clip(expected.Stderr));
                msg.AppendLine("dqemu-native stderr:");
                msg.AppendLine(Clip(actual.Stderr));
                Assert.Fail(msg.ToString());
            }
        }
        return expected;
    }

    static string FirstDifference(byte[] expected, byte[] actual)
    {
        int n = Math.Min(expected.Length, actual.Length), i = expected.AsSpan(0, n).CommonPrefixLength(actual.AsSpan(0, n));
        string Around(byte[] b) => i >= b.Length ? "<end>" : Convert.ToHexString(b, i, Math.Min(16, b.Length - i));
        return $"first difference at byte {i} (qemu-aarch64: {expected.Length} bytes, dqemu-native: {actual.Length} bytes); "
            + $"from there qemu-aarch64 {Around(expected)}, dqemu-native {Around(actual)}";
    }

    static string Clip(string s)
    {
        s = s.TrimEnd();
        return s.Length == 0 ? "  (empty)" : s.Length > 2000 ? "  ..." + s[^2000..] : "  " + s.Replace("\n", "\n  ");
    }
}

/// <summary>
/// Builds zstd when it is missing (toolchains/realworld.sh; a failed build fails the tests, never skips
/// them), checks for qemu-aarch64 and ./dqemu-native, and writes the input file into a temporary directory.
/// </summary>
public sealed class RealWorldFixture : IDisposable
{
    public const int InputSize = 8 << 20;
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public string Zstd { get; }
    public string Qemu { get; }
    public string Dqemu { get; }
    public string WorkDir { get; }
    public string InputPath { get; }
    public byte[] Input { get; }

    readonly Lazy<string> referenceCompressed;

    public RealWorldFixture()
    {
        var root = GuestRunner.RequireRepoRoot();
        Zstd = Path.Combine(root, "build", "realworld", "zstd.aarch64");
        Qemu = GuestRunner.FindOnPath("qemu-aarch64")
            ?? throw new InvalidOperationException("qemu-aarch64 not found on PATH; run toolchains/install.sh (Debian package qemu-user) or ./build.sh");
        Dqemu = GuestRunner.DqemuBinary;
        if (!File.Exists(Dqemu))
            throw new InvalidOperationException($"{Dqemu} is missing; run ./build.sh");

        GuestRunner.EnsureMade(Zstd, "realworld.sh", "apt-get access to Debian's source archive, dpkg-dev and gcc-aarch64-linux-gnu");

        WorkDir = GuestRunner.CreateTempDirectory("realworld");
        Input = MakeInput(InputSize);
        InputPath = Path.Combine(WorkDir, "input.bin");
        File.WriteAllBytes(InputPath, Input);
        referenceCompressed = new(() =>
        {
            var r = Run(Qemu, [Zstd, "-3", "-T4", "-B1048576", "-q", "-c", InputPath]);
            if (r.ExitCode != 0 || r.TimedOut)
                throw new InvalidOperationException($"qemu-aarch64 zstd could not compress the input ({r.Describe()}): {r.Stderr}");
            var path = Path.Combine(WorkDir, "input.zst");
            File.WriteAllBytes(path, r.StdoutBytes);
            return path;
        });
    }

    /// <summary>The input compressed by zstd under qemu-aarch64 (made once).</summary>
    public string ReferenceCompressed() => referenceCompressed.Value;

    public ProcessResult Run(string exe, IEnumerable<string> args) =>
        GuestRunner.Run(exe, args, GuestRunner.StandardGuestEnvironment, workingDirectory: WorkDir, timeout: Timeout);

    /// <summary>
    /// Deterministic input (SplitMix64, fixed seed): lines of words from a small vocabulary (very
    /// compressible), runs of random bytes (incompressible) and copies of earlier stretches (long matches).
    /// </summary>
    public static byte[] MakeInput(int size)
    {
        ulong state = 0x0123456789abcdefUL;
        ulong Next()
        {
            ulong z = state += 0x9e3779b97f4a7c15UL;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
            return z ^ (z >> 31);
        }
        int Below(int n) => (int)(Next() % (ulong)n);

        var words = new string[400];
        for (int w = 0; w < words.Length; w++)
        {
            var chars = new char[2 + Below(9)];
            for (int c = 0; c < chars.Length; c++)
                chars[c] = (char)('a' + Below(26));
            words[w] = new string(chars);
        }

        var buf = new byte[size];
        int pos = 0;
        while (pos < size)
        {
            int kind = Below(10);
            if (kind < 6)
            {
                var line = new StringBuilder();
                for (int k = 3 + Below(12); k > 0; k--)
                    line.Append(words[Below(words.Length)]).Append(k > 1 ? ' ' : '\n');
                int n = Math.Min(line.Length, size - pos);
                pos += Encoding.ASCII.GetBytes(line.ToString().AsSpan(0, n), buf.AsSpan(pos, n));
            }
            else if (kind < 8)
            {
                for (int end = Math.Min(size, pos + 64 + Below(1024)); pos < end; pos++)
                    buf[pos] = (byte)Next();
            }
            else if (pos > 4096)
            {
                int len = Math.Min(size - pos, 256 + Below(4096)), from = Below(pos - len > 0 ? pos - len : 1);
                Array.Copy(buf, from, buf, pos, Math.Min(len, pos - from));
                pos += Math.Min(len, pos - from);
            }
        }
        return buf;
    }

    public void Dispose() => GuestRunner.DeleteDirectory(WorkDir);
}
