using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Processes;

/// <summary>
/// /proc as a program reads it about itself: tests/guests/proc_files with "check" under ./dqemu-native. Each line is a
/// check against the program's own knowledge (getpid, getauxval(AT_HWCAP), its stack, its maps, the threads it made)
/// and must read "...: 1". Not compared with qemu-aarch64: 7.2 passes the host's cpuinfo, smaps and status through
/// and prints 0 for most stat fields (GuestProgramTests runs the guest without "check", the part qemu answers, and
/// compares).
/// </summary>
public class ProcFilesTests(ITestOutputHelper output)
{
    /// <summary>How many checks the guest makes with "check" (a check that silently went missing fails too).</summary>
    private const int Checks = 31;

    [Fact]
    public void ProcFilesDescribeTheGuest()
    {
        string guest = Path.Combine(GuestRunner.GuestBinaryDir, "proc_files");
        Assert.True(File.Exists(guest), $"{guest} is missing: run toolchains/build-guests.sh");
        var cwd = GuestRunner.CreateTempDirectory("proc-files");
        try
        {
            var r = GuestRunner.Run(GuestRunner.DqemuBinary, [guest, "check"], GuestRunner.StandardGuestEnvironment,
                workingDirectory: cwd);
            output.WriteLine(r.Stdout);
            output.WriteLine(r.Stderr);
            Assert.False(r.TimedOut, "proc_files timed out");
            Assert.Equal(0, r.ExitCode);
            var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(Checks, lines.Length);
            Assert.All(lines, l => Assert.EndsWith(": 1", l));
        }
        finally
        {
            GuestRunner.DeleteDirectory(cwd);
        }
    }
}
