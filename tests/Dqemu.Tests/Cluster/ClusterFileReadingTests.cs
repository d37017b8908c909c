using System.Text;
using Dqemu.Runtime;
using Dqemu.Runtime.Cluster;
using Xunit;

namespace Dqemu.Tests.Cluster;

/// <summary>
/// What <see cref="ClusterConfig.Load"/> reads: only a regular file of at most 1 MiB, UTF-8. Anything else is a config
/// error (exit 78) with one line naming what the path is, and it comes at once: /dev/zero used to be read until the
/// process ran out of memory (exit 70 after ~20 s), a FIFO blocked forever, and a directory was "access denied".
/// </summary>
public sealed class ClusterFileReadingTests : IDisposable
{
    private const string Valid = "[cluster]\ntransport = \"tcp\"\n[[node]]\nid = 0\naddress = \"127.0.0.1:7400\"\n";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    private readonly string _dir = GuestRunner.CreateTempDirectory("cluster-file");

    public void Dispose() => GuestRunner.DeleteDirectory(_dir);

    /// <summary>Load on another thread, so that a hang fails the test instead of blocking it (the stuck thread is
    /// left behind).</summary>
    private static FatalException LoadFails(string path)
    {
        var load = Task.Run(() => ClusterConfig.Load(path));
        Assert.True(((IAsyncResult)load).AsyncWaitHandle.WaitOne(Limit), $"loading {path} did not end within {Limit}");
        Assert.True(load.IsFaulted, $"{path} was loaded without an error");
        var e = Assert.IsType<FatalException>(load.Exception!.InnerException);
        Assert.Equal(ExitCodes.Config, e.ExitCode);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    private static void Timed(Action test)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        test();
        Assert.InRange(sw.Elapsed, TimeSpan.Zero, Limit);
    }

    [Fact]
    public void ADirectoryIsSaidToBeADirectory()
        => Timed(() => Assert.Equal($"{_dir}: is a directory, not a cluster file", LoadFails(_dir).Message));

    [Fact]
    public void ACharacterDeviceIsRefusedWithoutReadingIt()
        => Timed(() => Assert.Equal("/dev/zero: is a character device, not a regular file", LoadFails("/dev/zero").Message));

    [Fact]
    public void AFifoIsRefusedWithoutWaitingForAWriter()
    {
        string fifo = Path.Combine(_dir, "cluster.toml");
        var r = GuestRunner.Run("mkfifo", [fifo], timeout: TimeSpan.FromSeconds(10));
        Assert.Equal(0, r.ExitCode);
        Timed(() => Assert.Equal($"{fifo}: is a named pipe (FIFO), not a regular file", LoadFails(fifo).Message));
    }

    [Fact]
    public void AMissingFileIsAConfigError()
    {
        string missing = Path.Combine(_dir, "absent.toml");
        Assert.Equal($"{missing}: cannot read (No such file or directory)", LoadFails(missing).Message);
    }

    [Fact]
    public void AFileOverOneMebibyteIsRefused()
    {
        string path = Path.Combine(_dir, "big.toml");
        // valid TOML (comments) so that only the size can be the reason
        var sb = new StringBuilder(Valid);
        while (sb.Length <= (1 << 20)) sb.Append("# ").Append('x', 1000).Append('\n');
        File.WriteAllText(path, sb.ToString());
        Timed(() => Assert.Equal($"{path}: is larger than 1 MiB, the most a cluster file may have", LoadFails(path).Message));
    }

    [Fact]
    public void AFileOfExactlyOneMebibyteIsRead()
    {
        string path = Path.Combine(_dir, "max.toml");
        var sb = new StringBuilder(Valid);
        while (sb.Length < (1 << 20) - 1002) sb.Append("# ").Append('x', 1000).Append('\n');
        int rest = (1 << 20) - sb.Length - 2; // a last comment line: '#', rest times 'x', '\n'
        sb.Append('#').Append('x', rest).Append('\n');
        Assert.Equal(1 << 20, Encoding.UTF8.GetByteCount(sb.ToString()));
        File.WriteAllText(path, sb.ToString());
        Assert.Single(ClusterConfig.Load(path).Nodes);
    }

    [Fact]
    public void TextThatIsNotUtf8IsRefusedWithItsLine()
    {
        string path = Path.Combine(_dir, "latin1.toml");
        File.WriteAllBytes(path, [.. Encoding.UTF8.GetBytes(Valid), .. "# caf"u8, 0xE9, (byte)'\n']);
        Assert.Equal($"{path}:6: not UTF-8 text (TOML files are UTF-8)", LoadFails(path).Message);
    }

    [Fact]
    public void AByteOrderMarkIsAllowed()
    {
        string path = Path.Combine(_dir, "bom.toml");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Valid)]);
        Assert.Equal("tcp", ClusterConfig.Load(path).Transport);
    }

    [Fact]
    public void ASymbolicLinkToARegularFileIsFollowed()
    {
        string target = Path.Combine(_dir, "real.toml"), link = Path.Combine(_dir, "link.toml");
        File.WriteAllText(target, Valid);
        File.CreateSymbolicLink(link, target);
        Assert.Single(ClusterConfig.Load(link).Nodes);
        File.CreateSymbolicLink(Path.Combine(_dir, "dev.toml"), "/dev/zero");
        Assert.Contains("is a character device", LoadFails(Path.Combine(_dir, "dev.toml")).Message);
    }
}
