using Dqemu.Sweep;
using Xunit;

namespace Dqemu.Tests.Sweep;

/// <summary>ProgramManifest: the sample manifest as read, and one clear one-line error (with its line) for each kind of mistake.</summary>
public class ProgramManifestTests
{
    private static ProgramManifest Sample() => ProgramManifest.Load(SweepTestFiles.Path("sample-programs.toml"));

    [Fact]
    public void SampleManifestReadsEveryField()
    {
        var m = Sample();
        Assert.Equal(["blackscholes", "fluidanimate"], m.Programs.Select(p => p.Name));

        var bs = m.Get("blackscholes");
        Assert.Equal(ThreadPolicy.Any, bs.Threads);
        Assert.Equal("prices.txt", bs.Output);
        Assert.False(bs.OutputIsStdout);
        Assert.Equal(CompareMode.Float, bs.Compare);
        Assert.Equal(1e-6, bs.Tolerance);
        Assert.Equal(["^Number of .*time", "^Size of data"], bs.Ignore.Select(r => r.ToString()));
        Assert.Equal(["bench", "test"], bs.Sizes.Keys.Order());

        var fa = m.Get("fluidanimate");
        Assert.Equal(ThreadPolicy.PowerOfTwo, fa.Threads);
        Assert.True(fa.OutputIsStdout);
        Assert.Equal(CompareMode.Exact, fa.Compare);
        Assert.Equal(0, fa.Tolerance);
        Assert.Empty(fa.Ignore);
    }

    [Fact]
    public void ExpandArgsReplacesBothPlaceholders()
    {
        var bs = Sample().Get("blackscholes");
        Assert.Equal(["4", "/abs/inputs/blackscholes/in_64K.txt", "prices.txt"], bs.ExpandArgs("bench", 4, "/abs/inputs/blackscholes"));
        Assert.Equal(["1", "/x/in_4K.txt", "prices.txt"], bs.ExpandArgs("test", 1, "/x"));
        Assert.True(bs.UsesInputs("test"));
    }

    [Fact]
    public void Pow2ProgramAcceptsOnlyPowersOfTwo()
    {
        var m = Sample();
        var fa = m.Get("fluidanimate");
        Assert.Equal([1, 2, 4, 8], Enumerable.Range(0, 10).Where(fa.AcceptsThreads));
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9], Enumerable.Range(0, 10).Where(m.Get("blackscholes").AcceptsThreads));
    }

    [Fact]
    public void AMissingSizeOrProgramIsAnError()
    {
        var m = Sample();
        var e = Assert.Throws<ManifestException>(() => m.Get("blackscholes").ExpandArgs("native", 2, "/x"));
        Assert.Contains("program 'blackscholes' has no size 'native'", e.Message);
        e = Assert.Throws<ManifestException>(() => m.Get("dedup"));
        Assert.Contains("no program 'dedup'", e.Message);
    }

    private const string Good = """
        [[program]]
        name = "p"
        threads = "any"
        output = "stdout"
        compare = "float"
        tolerance = 1e-6
        [program.size.test]
        args = ["{threads}"]
        """;

    [Theory]
    // line 5 is the compare line
    [InlineData("compare = \"float\"", "compare = \"fuzzy\"", ":5: program 'p': compare 'fuzzy' is not \"exact\" or \"float\"")]
    [InlineData("threads = \"any\"", "threads = \"some\"", ":3: program 'p': threads 'some' is not \"any\" or \"pow2\"")]
    [InlineData("tolerance = 1e-6", "", "compare = \"float\" needs a tolerance")]
    [InlineData("compare = \"float\"", "compare = \"exact\"", ":6: program 'p': tolerance is only used with compare = \"float\"")]
    [InlineData("tolerance = 1e-6", "tolerance = -1.0", "must be a finite number >= 0")]
    [InlineData("tolerance = 1e-6", "tolerance = 1e-6\nignore = [\"([a-z\"]", ":7: program 'p': ignore regex '([a-z' does not compile")]
    [InlineData("tolerance = 1e-6", "tolerance = 1e-6\nignore = \"x\"", "'ignore' must be an array of strings")]
    [InlineData("[program.size.test]\nargs = [\"{threads}\"]", "", "program 'p': no sizes")]
    [InlineData("args = [\"{threads}\"]", "", "size.test has no args")]
    [InlineData("args = [\"{threads}\"]", "args = [\"{thread}\"]", "unknown placeholder '{thread}'")]
    [InlineData("args = [\"{threads}\"]", "args = [1, 2]", "'args' must be an array of strings")]
    [InlineData("output = \"stdout\"", "outptu = \"stdout\"", ":4: unknown key 'outptu' in [[program]]")]
    [InlineData("output = \"stdout\"", "", "program 'p': missing key 'output'")]
    [InlineData("output = \"stdout\"", "output = \"../x\"", "output '../x' is not \"stdout\" or a plain file name")]
    [InlineData("name = \"p\"", "name = \"a/b\"", "program name 'a/b' is not a plain file name")]
    [InlineData("name = \"p\"", "name = 7", "'name' must be a string")]
    [InlineData("compare = \"float\"", "compare = ", ":5")]                     // not TOML at all
    [InlineData("[[program]]", "title = \"x\"\n[[program]]", "unknown top-level key 'title'")]
    public void EachKindOfMistakeIsOneClearLine(string replace, string with, string expected)
    {
        Assert.Contains(replace, Good);
        var e = Assert.Throws<ManifestException>(() => ProgramManifest.Parse(Good.Replace(replace, with), "m.toml"));
        Assert.StartsWith("m.toml", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void TheUnmodifiedTextIsValid() => Assert.Single(ProgramManifest.Parse(Good, "m.toml").Programs);

    [Fact]
    public void DuplicateProgramsAndEmptyManifestsAreErrors()
    {
        var e = Assert.Throws<ManifestException>(() => ProgramManifest.Parse(Good + "\n" + Good, "m.toml"));
        Assert.Contains("program 'p' appears twice", e.Message);
        e = Assert.Throws<ManifestException>(() => ProgramManifest.Parse("# nothing\n", "m.toml"));
        Assert.Equal("m.toml: no [[program]] entries", e.Message);
        e = Assert.Throws<ManifestException>(() => ProgramManifest.Load("/nonexistent/programs.toml"));
        Assert.StartsWith("/nonexistent/programs.toml: cannot read", e.Message);
    }
}
