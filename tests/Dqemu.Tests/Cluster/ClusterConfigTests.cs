using Dqemu.Dsm;
using Dqemu.Runtime;
using Dqemu.Runtime.Cluster;
using Xunit;

namespace Dqemu.Tests.Cluster;

public class ClusterConfigTests
{
    private const string Example = """
        [cluster]
        transport = "tcp"            # or "ucx"
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
        AssertErrorAt(ReplacedLast(Example, from, to), line, message);
    }

    /// <summary>The keys of the UCX transport and the wait/compression tuning (lines 1-6, then two nodes).</summary>
    internal const string UcxExample = """
        [cluster]
        transport = "ucx"
        ucx_tls = "posix,self,cma"
        compress = "zstd"
        wait_spin_us = 250.5
        placement = "fill"
        [[node]]
        id = 0
        address = "127.0.0.1:7400"
        [[node]]
        id = 1
        address = "127.0.0.1:7401"
        """;

    [Fact]
    public void TheUcxKeysParse()
    {
        var c = ClusterConfig.Parse("cluster.toml", UcxExample);
        Assert.Equal("ucx", c.Transport);
        Assert.Equal("posix,self,cma", c.UcxTls);
        Assert.Equal("zstd", c.Compress);
        Assert.Equal(250.5, c.WaitSpinUs);
        Assert.Equal("fill", c.Placement);
        Assert.Equal(2, c.Nodes.Count);
    }

    [Fact]
    public void TheNewKeysHaveDefaults()
    {
        var c = ClusterConfig.Parse("cluster.toml", Example);
        Assert.Equal("tcp", c.Transport);
        Assert.Null(c.UcxTls);
        Assert.Equal("auto", c.Compress);
        Assert.Equal(1000, c.WaitSpinUs);
    }

    [Theory]
    [InlineData("ucx_tls = \"posix,self,cma\"", "ucx_tls = \"tcp\"", "tcp")]
    [InlineData("ucx_tls = \"posix,self,cma\"", "ucx_tls = \"rc,ud,self\"", "rc,ud,self")]
    [InlineData("ucx_tls = \"posix,self,cma\"", "ucx_tls = \"^tcp\"", "^tcp")]
    [InlineData("ucx_tls = \"posix,self,cma\"", "ucx_tls = \" sm,self \"", "sm,self")]
    [InlineData("ucx_tls = \"posix,self,cma\"", "ucx_tls = \"rc_x:1,self\"", "rc_x:1,self")]
    public void UcxTlsTakesUcxTransportLists(string from, string to, string expected)
    {
        var c = ClusterConfig.Parse("c.toml", UcxExample.Replace(from, to, StringComparison.Ordinal));
        Assert.Equal(expected, c.UcxTls);
    }

    [Theory]
    [InlineData("compress = \"zstd\"", "compress = \"auto\"", "auto")]
    [InlineData("compress = \"zstd\"", "compress = \"none\"", "none")]
    [InlineData("wait_spin_us = 250.5", "wait_spin_us = 0", "0")]
    [InlineData("wait_spin_us = 250.5", "wait_spin_us = 1000000", "1000000")]
    public void CompressAndWaitSpinTakeTheirValues(string from, string to, string expected)
    {
        var c = ClusterConfig.Parse("c.toml", UcxExample.Replace(from, to, StringComparison.Ordinal));
        if (from.StartsWith("compress", StringComparison.Ordinal)) Assert.Equal(expected, c.Compress);
        else Assert.Equal(double.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), c.WaitSpinUs);
    }

    /// <summary>
    /// compress = "auto" compresses pages only on tcp between hosts (192.0.2.1 is TEST-NET-1, never this host's);
    /// "zstd" and "none" are what they say whatever the transport.
    /// </summary>
    [Theory]
    [InlineData("tcp", "auto", "127.0.0.1", false)]
    [InlineData("tcp", "auto", "192.0.2.1", true)]
    [InlineData("ucx", "auto", "192.0.2.1", false)]
    [InlineData("ucx", "zstd", "127.0.0.1", true)]
    [InlineData("tcp", "zstd", "127.0.0.1", true)]
    [InlineData("tcp", "none", "192.0.2.1", false)]
    public void CompressAutoMeansTcpBetweenHosts(string transport, string compress, string node1Host, bool pagesCompressed)
    {
        string text = $"[cluster]\ntransport = \"{transport}\"\ncompress = \"{compress}\"\n" +
            $"[[node]]\nid = 0\naddress = \"127.0.0.1:7400\"\n[[node]]\nid = 1\naddress = \"{node1Host}:7401\"\n";
        Assert.Equal(pagesCompressed, ClusterConfig.Parse("c.toml", text).CompressPages);
    }

    [Theory]
    [InlineData("transport = \"ucx\"", "transport = \"shm\"", 2, "transport must be one of \"tcp\", \"ucx\", not \"shm\"")]
    [InlineData("transport = \"ucx\"", "transport = \"tcp\"", 3, "ucx_tls is only used with transport = \"ucx\"")]
    [InlineData("transport = \"ucx\"", "", 3, "ucx_tls is only used with transport = \"ucx\"")] // tcp by default
    [InlineData("transport = \"ucx\"\nucx_tls = \"posix,self,cma\"", "ucx_tls = \"tcp\"\ntransport = \"tcp\"", 2, "ucx_tls is only used with transport = \"ucx\"")]
    [InlineData("ucx_tls = \"posix,self,cma\"", "ucx_tls = \"\"", 3, "is not a UCX transport list")]
    [InlineData("ucx_tls = \"posix,self,cma\"", "ucx_tls = \"   \"", 3, "is not a UCX transport list")]
    [InlineData("ucx_tls = \"posix,self,cma\"", "ucx_tls = \"posix self\"", 3, "is not a UCX transport list")]
    [InlineData("ucx_tls = \"posix,self,cma\"", "ucx_tls = \"tcp;rc\"", 3, "is not a UCX transport list")]
    [InlineData("ucx_tls = \"posix,self,cma\"", "ucx_tls = \"UCX_TLS=tcp\"", 3, "is not a UCX transport list")]
    [InlineData("ucx_tls = \"posix,self,cma\"", "ucx_tls = 5", 3, "ucx_tls must be a string")]
    [InlineData("ucx_tls = \"posix,self,cma\"", "ucx_tls = [\"tcp\"]", 3, "ucx_tls must be a string")]
    [InlineData("compress = \"zstd\"", "compress = \"lz4\"", 4, "compress must be one of \"auto\", \"zstd\", \"none\", not \"lz4\"")]
    [InlineData("compress = \"zstd\"", "compress = \"\"", 4, "compress must be one of")]
    [InlineData("compress = \"zstd\"", "compress = true", 4, "compress must be a string")]
    [InlineData("wait_spin_us = 250.5", "wait_spin_us = -1", 5, "wait_spin_us must be between 0 and")]
    [InlineData("wait_spin_us = 250.5", "wait_spin_us = -0.5", 5, "wait_spin_us must be between 0 and")]
    [InlineData("wait_spin_us = 250.5", "wait_spin_us = \"100\"", 5, "wait_spin_us must be a number")]
    [InlineData("wait_spin_us = 250.5", "wait_spin_us = true", 5, "wait_spin_us must be a number")]
    [InlineData("wait_spin_us = 250.5", "wait_spin_us = fast", 5, "")] // not TOML: the parser's own message, same line
    public void UcxAndTuningErrorsNameFileAndLine(string from, string to, int line, string message)
    {
        Assert.Contains(from, UcxExample);
        AssertErrorAt(UcxExample.Replace(from, to, StringComparison.Ordinal), line, message);
    }

    /// <summary><paramref name="text"/> with the last <paramref name="from"/> replaced by <paramref name="to"/>.</summary>
    private static string ReplacedLast(string text, string from, string to)
    {
        int at = text.LastIndexOf(from, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{from}' is not in the example");
        return text[..at] + to + text[(at + from.Length)..];
    }

    /// <summary>Parsing <paramref name="text"/> is the config error on <paramref name="line"/>, saying <paramref name="message"/>.</summary>
    private static void AssertErrorAt(string text, int line, string message)
    {
        var e = Assert.Throws<FatalException>(() => ClusterConfig.Parse("c.toml", text));
        Assert.Equal(ExitCodes.Config, e.ExitCode);
        Assert.StartsWith($"c.toml:{line}:", e.Message);
        Assert.Contains(message, e.Message);
    }

    /// <summary>A lone UTF-16 surrogate in the text (a truncation that cut a pair, from the fuzzer's long run) made
    /// Tomlyn's lexer throw ArgumentOutOfRangeException past the parser; it is the config error now.</summary>
    [Theory]
    [InlineData("transport = \"tcp\ud800\"")]
    [InlineData("transport = \"\udc00")]
    [InlineData("# \ud83d")]
    public void LoneSurrogateIsTheConfigError(string line)
    {
        string text = "[cluster]\n" + line + "\n[[node]]\nid = 0\naddress = \"127.0.0.1:7400\"\n";
        var e = Assert.Throws<FatalException>(() => ClusterConfig.Parse("c.toml", text));
        Assert.Equal(ExitCodes.Config, e.ExitCode);
        Assert.DoesNotContain('\n', e.Message);
    }

    /// <summary>The optimizations' switches: read-ahead on and page splitting off by default (split after 16 hand-offs
    /// once on), each can be switched, and bad values name the file and line.</summary>
    [Fact]
    public void OptimizationSwitchesHaveDefaultsAndCheckTheirValues()
    {
        const string nodes = "[[node]]\nid = 0\naddress = \"127.0.0.1:7400\"\n";
        var d = ClusterConfig.Parse("c.toml", "[cluster]\n" + nodes);
        Assert.False(d.SplitPages);
        Assert.True(d.ForwardPages);
        Assert.False(d.ForwardWakes);
        Assert.True(ClusterConfig.Parse("c.toml", "[cluster]\nforward_wakes = true\n" + nodes).ForwardWakes);
        Assert.Equal(16, d.SplitAfter);
        Assert.True(ClusterConfig.Parse("c.toml", "[cluster]\nsplit_pages = true\n" + nodes).SplitPages);
        var off = ClusterConfig.Parse("c.toml", "[cluster]\nsplit_pages = false\nforward_pages = false\nsplit_after = 4\n" + nodes);
        Assert.False(off.SplitPages);
        Assert.False(off.ForwardPages);
        Assert.Equal(4, off.SplitAfter);
        foreach (var (line, message) in new[]
                 {
                     ("split_pages = 1", "split_pages must be true or false"),
                     ("forward_pages = \"yes\"", "forward_pages must be true or false"),
                     ("forward_wakes = 0", "forward_wakes must be true or false"),
                     ("split_after = 1", "split_after must be between 2 and"),
                     ("split_after = 2.5", "split_after must be an integer"),
                 })
        {
            var e = Assert.Throws<FatalException>(() => ClusterConfig.Parse("c.toml", "[cluster]\n" + line + "\n" + nodes));
            Assert.Equal(ExitCodes.Config, e.ExitCode);
            Assert.StartsWith("c.toml:2:", e.Message);
            Assert.Contains(message, e.Message);
        }
    }

    /// <summary>placement = "auto" and [[placement]] rules (thread = N or threads = [...], node = K): read after every
    /// node, checked against them; bad rules name the file and line.</summary>
    [Fact]
    public void PlacementAutoAndRules()
    {
        const string nodes = "[[node]]\nid = 0\naddress = \"127.0.0.1:7400\"\n[[node]]\nid = 1\naddress = \"127.0.0.1:7401\"\n";
        var d = ClusterConfig.Parse("c.toml", "[cluster]\n" + nodes);
        Assert.False(d.AutoPlacement);
        Assert.Empty(d.PlacementRules);
        var c = ClusterConfig.Parse("c.toml", "[cluster]\nplacement = \"auto\"\n[[placement]]\nthreads = [1, 2]\nnode = 1\n[[placement]]\nthread = 3\nnode = 0\n" + nodes);
        Assert.True(c.AutoPlacement);
        Assert.Equal(new Dictionary<int, int> { [1] = 1, [2] = 1, [3] = 0 }, c.PlacementRules);
        foreach (var (rule, line, message) in new[]
                 {
                     ("[[placement]]\nthread = 1\nnode = 2\n", 3, "node 2 is not in this cluster"),
                     ("[[placement]]\nthread = 0\nnode = 1\n", 2, "thread must be between 1 and"),
                     ("[[placement]]\nthreads = []\nnode = 1\n", 2, "threads must be a list"),
                     ("[[placement]]\nthreads = [1, \"x\"]\nnode = 1\n", 2, "threads must hold thread indexes"),
                     ("[[placement]]\nnode = 1\n", 1, "needs thread = N"),
                     ("[[placement]]\nthread = 1\n", 1, "needs a node"),
                     ("[[placement]]\nthread = 1\nnode = 1\n[[placement]]\nthreads = [1]\nnode = 0\n", 4, "thread 1 is placed by two"),
                     ("[[placement]]\nthread = 1\ncores = 1\n", 3, "unknown key 'cores' in [[placement]]"),
                 })
        {
            var e = Assert.Throws<FatalException>(() => ClusterConfig.Parse("c.toml", rule + nodes));
            Assert.Equal(ExitCodes.Config, e.ExitCode);
            Assert.StartsWith($"c.toml:{line}:", e.Message);
            Assert.Contains(message, e.Message);
        }
        var bad = Assert.Throws<FatalException>(() => ClusterConfig.Parse("c.toml", "[cluster]\nplacement = \"near\"\n" + nodes));
        Assert.Contains("\"auto\"", bad.Message);
    }

    /// <summary>auto_start: where placement = "auto" starts new threads ("local" by default, or "round-robin"); the
    /// other placements ignore it.</summary>
    [Fact]
    public void AutoStartChoosesTheInitialPlacement()
    {
        const string nodes = "[[node]]\nid = 0\naddress = \"127.0.0.1:7400\"\n[[node]]\nid = 1\naddress = \"127.0.0.1:7401\"\n";
        PlacementPolicy Initial(string cluster) => ClusterConfig.Parse("c.toml", "[cluster]\n" + cluster + nodes).InitialPlacement;
        Assert.Equal(PlacementPolicy.RoundRobin, Initial(""));
        Assert.Equal(PlacementPolicy.Fill, Initial("placement = \"fill\"\n"));
        Assert.Equal(PlacementPolicy.Local, Initial("placement = \"auto\"\n"));
        Assert.Equal(PlacementPolicy.Local, Initial("placement = \"auto\"\nauto_start = \"local\"\n"));
        Assert.Equal(PlacementPolicy.RoundRobin, Initial("placement = \"auto\"\nauto_start = \"round-robin\"\n"));
        Assert.Equal(PlacementPolicy.RoundRobin, Initial("auto_start = \"local\"\n"));
        var e = Assert.Throws<FatalException>(() => ClusterConfig.Parse("c.toml", "[cluster]\nauto_start = \"near\"\n" + nodes));
        Assert.Equal(ExitCodes.Config, e.ExitCode);
        Assert.StartsWith("c.toml:2:", e.Message);
        Assert.Contains("auto_start must be one of", e.Message);
    }

    /// <summary>TOML 1.0: "Defining a key multiple times is invalid", in whatever form the key is written; the later
    /// value used to win silently. The error names the key and the line of the second one.</summary>
    [Theory]
    [InlineData("cores = 1\ncpus = \"1\"", "cores = 1\ncores = 2", 13, "key 'cores' appears twice")]
    [InlineData("cores = 1\ncpus = \"1\"", "cores = 1\n\"cores\" = 1", 13, "key 'cores' appears twice")]
    [InlineData("cores = 1\ncpus = \"1\"", "cores = 1\n'cores' = 1", 13, "key 'cores' appears twice")]
    [InlineData("placement = \"round-robin\"", "placement = \"fill\"\nplacement = \"fill\"", 4, "key 'placement' appears twice")]
    [InlineData("transport = \"tcp\"", "transport = \"tcp\"\n[cluster]", 3, "[cluster] appears twice")]
    public void ADuplicateKeyIsAnError(string from, string to, int line, string message)
    {
        AssertErrorAt(ReplacedLast(Example, from, to), line, message);
    }

    [Fact]
    public void ADuplicateKeyInAPlacementRuleIsAnError()
    {
        const string text = "[[node]]\nid = 0\naddress = \"127.0.0.1:1\"\n[[placement]]\nthread = 1\nnode = 0\nnode = 0\n";
        var e = Assert.Throws<FatalException>(() => ClusterConfig.Parse("c.toml", text));
        Assert.Equal(ExitCodes.Config, e.ExitCode);
        Assert.StartsWith("c.toml:7:", e.Message);
        Assert.Contains("key 'node' appears twice", e.Message);
    }

    /// <summary>A key quoted ('cores' or "cores") is the same key as bare cores (TOML 1.0, "Keys").</summary>
    [Fact]
    public void QuotedKeysAreTheirBareKeys()
    {
        var c = ClusterConfig.Parse("c.toml", "['cluster']\n\"transport\" = \"ucx\"\n[[node]]\n'id' = 0\n\"address\" = \"127.0.0.1:1\"\n'cores' = 3\n");
        Assert.Equal(3, c.Nodes[0].Cores);
        Assert.Equal("ucx", c.Transport);
    }

    /// <summary>
    /// Arrays and inline tables nested deeper than the parser's bound: a config error on the line where it happens,
    /// never an internal error (Tomlyn throws past 64 levels, which was reported with exit 70).
    /// </summary>
    [Theory]
    [InlineData(17)]
    [InlineData(65)]
    [InlineData(100_000)]
    public void DeepNestingIsAConfigError(int depth)
    {
        const string head = "[cluster]\ntransport = \"tcp\"\nx = ";
        string arrays = head + new string('[', depth) + new string(']', depth) + "\n";
        string tables = head + string.Concat(Enumerable.Repeat("{a=", depth)) + "1" + new string('}', depth) + "\n";
        string unclosed = head + new string('[', depth);
        foreach (var text in new[] { arrays, tables, unclosed })
        {
            var e = Assert.Throws<FatalException>(() => ClusterConfig.Parse("c.toml", text));
            Assert.Equal(ExitCodes.Config, e.ExitCode);
            Assert.StartsWith("c.toml:3:", e.Message);
            Assert.Contains("nested more than", e.Message);
        }
    }

    /// <summary>Brackets in comments and strings are text, not nesting: they never hit the nesting bound.</summary>
    [Fact]
    public void BracketsInCommentsAndStringsAreNotNesting()
    {
        string many = new string('[', 200) + new string('{', 200);
        string text = $"# {many}\n[cluster] # {many}\ntransport = \"tcp\"\n[[node]]\nid = 0\naddress = \"127.0.0.1:1\"\n" +
                      "[[node]]\nid = 1\naddress = \"127.0.0.1:2\"\n";
        Assert.Equal(2, ClusterConfig.Parse("c.toml", text).Nodes.Count);
        // in a string they reach the key's own check (here: not an address)
        foreach (var value in new[] { $"\"{many}\"", $"'{many}'", $"\"\"\"\n{many}\"\"\"", $"'''{many}\n'''", $"\"\\\"{many}\"" })
        {
            var e = Assert.Throws<FatalException>(() => ClusterConfig.Parse("c.toml", text.Replace("\"127.0.0.1:2\"", value, StringComparison.Ordinal)));
            Assert.Equal(ExitCodes.Config, e.ExitCode);
            Assert.Contains("is not host:port", e.Message);
        }
    }

    /// <summary>nan compares false with everything, so "v &lt; min || v &gt; max" let it through as a timeout or a spin
    /// time (TimeSpan.FromSeconds(NaN) then threw at start-up); inf and -inf are out of range too.</summary>
    [Theory]
    [InlineData("node_timeout")]
    [InlineData("connect_timeout")]
    [InlineData("wait_spin_us")]
    public void NotANumberIsOutOfRange(string key)
    {
        foreach (var value in new[] { "nan", "+nan", "-nan", "inf", "-inf" })
        {
            var e = Assert.Throws<FatalException>(() => ClusterConfig.Parse("c.toml", $"[cluster]\n{key} = {value}\n[[node]]\nid = 0\naddress = \"127.0.0.1:1\"\n"));
            Assert.Equal(ExitCodes.Config, e.ExitCode);
            Assert.StartsWith("c.toml:2:", e.Message);
            Assert.Contains($"{key} must be between", e.Message);
        }
    }

    /// <summary>A config error is one line on stderr: a value holding a newline or another control character is shown
    /// escaped, not as it is.</summary>
    [Theory]
    [InlineData("address = \"a\\nb:1\"")]
    [InlineData("address = \"a\\rb\\u2028c\\u0000d\"")]
    [InlineData("cpus = \"0\\n1\"")]
    [InlineData("\"co\\nres\" = 1")]
    [InlineData("\"\\u0085\" = 1")]
    public void ErrorMessagesStayOnOneLine(string line)
    {
        string text = "[[node]]\nid = 0\naddress = \"127.0.0.1:1\"\n[[node]]\nid = 1\n" + line + "\n";
        var e = Assert.Throws<FatalException>(() => ClusterConfig.Parse("c.toml", text));
        Assert.Equal(ExitCodes.Config, e.ExitCode);
        Assert.StartsWith("c.toml:6:", e.Message);
        Assert.DoesNotContain(e.Message, c => char.IsControl(c) || c is '\u2028' or '\u2029');
    }

    /// <summary>A megabyte-long value is cut short in the message.</summary>
    [Fact]
    public void AHugeValueIsShownCutShort()
    {
        string huge = new string('x', 500_000);
        var e = Assert.Throws<FatalException>(() => ClusterConfig.Parse("c.toml", $"[[node]]\nid = 0\naddress = \"{huge}\"\n"));
        Assert.Equal(ExitCodes.Config, e.ExitCode);
        Assert.StartsWith("c.toml:3: address \"xxx", e.Message);
        Assert.InRange(e.Message.Length, 1, 500);
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
