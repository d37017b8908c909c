using Dqemu.Runtime;
using Dqemu.Runtime.Cluster;
using Xunit;

namespace Dqemu.Tests.Cluster;

public class ClusterConfigTests
{
    private const string Example = """
        [cluster]
        transport = "tcp"            # the RDMA shim adds transports later
        placement = "round-robin"    # how clone() spreads new guest threads; also "fill"
        [[node]]
        id = 0
        address = "127.0.0.1:7400"
        cores = 1
        cpus = "0"
        [[node]]
        id = 1
        address = "127.0.0.1:7401"
        cores = 1
        cpus = "1"
        """;

    [Fact]
    public void TheDocumentedExampleParses()
    {
        var c = ClusterConfig.Parse("cluster.toml", Example);
        Assert.Equal("tcp", c.Transport);
        Assert.Equal("round-robin", c.Placement);
        Assert.Equal(2, c.Nodes.Count);
        Assert.Equal(7401, c.Nodes[1].Address.Port);
        Assert.Equal([1], c.Nodes[1].Cpus!);
        Assert.Equal(1, c.Nodes[0].Cores);
    }

    [Theory]
    [InlineData("placement = \"round-robin\"", "placement = \"random\"", 3, "placement must be one of")]
    [InlineData("cores = 1\ncpus = \"0\"", "cores = 0\ncpus = \"0\"", 7, "cores must be between 1")]
    [InlineData("address = \"127.0.0.1:7401\"", "address = \"localhost\"", 11, "is not host:port")]
    [InlineData("cpus = \"1\"", "cpus = \"1-x\"", 13, "is not a CPU list")]
    [InlineData("id = 1", "id = 0", 9, "node id 0 appears twice")]
    [InlineData("cores = 1\ncpus = \"1\"", "cores = 1\ncolour = \"red\"", 13, "unknown key 'colour'")]
    [InlineData("transport = \"tcp\"", "transport = tcp", 2, "")]
    public void ErrorsNameFileAndLine(string from, string to, int line, string message)
    {
        int at = Example.LastIndexOf(from, StringComparison.Ordinal);
        string text = Example[..at] + to + Example[(at + from.Length)..];
        var e = Assert.Throws<FatalException>(() => ClusterConfig.Parse("c.toml", text));
        Assert.Equal(ExitCodes.Config, e.ExitCode);
        Assert.StartsWith($"c.toml:{line}:", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void MissingNodeIdsAreReported()
    {
        var e = Assert.Throws<FatalException>(() => ClusterConfig.Parse("c.toml", "[[node]]\nid = 1\naddress = \"127.0.0.1:1\"\n"));
        Assert.Contains("0 is missing", e.Message);
    }
}

public class ClusterConfigStartKeyTests
{
    [Fact]
    public void StartIsOptionalAndBoolean()
    {
        const string text = "[[node]]\nid = 0\naddress = \"127.0.0.1:1\"\n[[node]]\nid = 1\naddress = \"127.0.0.1:2\"\nstart = false\n";
        var c = ClusterConfig.Parse("c.toml", text);
        Assert.Null(c.Nodes[0].Start);
        Assert.False(c.Nodes[1].Start);
        var e = Assert.Throws<FatalException>(() => ClusterConfig.Parse("c.toml", text.Replace("start = false", "start = \"no\"")));
        Assert.Equal(ExitCodes.Config, e.ExitCode);
        Assert.StartsWith("c.toml:7:", e.Message);
    }
}
