namespace Dqemu.Tests.Sweep;

/// <summary>The sample files beside these tests' sources, tests/Dqemu.Tests/Sweep/ (the test project copies nothing to its output).</summary>
internal static class SweepTestFiles
{
    public static string Path(string name) =>
        System.IO.Path.Combine(GuestRunner.RequireRepoRoot(), "tests", "Dqemu.Tests", "Sweep", name);

    public static string Read(string name) => File.ReadAllText(Path(name));
}
