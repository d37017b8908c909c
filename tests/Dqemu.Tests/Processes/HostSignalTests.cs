using System.Diagnostics;
using System.Runtime.InteropServices;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Processes;

/// <summary>
/// Signals from another process reach the guest's handlers: tests/guests/sig_external ("wait") installs handlers for
/// SIGUSR1, SIGTERM and SIGINT and ignores SIGHUP; this test sends SIGHUP and then each of the three, one at a time,
/// waiting for the line that acknowledges the one before, then (the guest having set SIGHUP back to SIG_DFL) a SIGHUP
/// that must end it, to qemu-aarch64 (the reference) and to ./dqemu-native. The
/// lines and the exit status must be equal (qemu forwards host signals to the guest; so must the emulator).
/// </summary>
public class HostSignalTests(ITestOutputHelper output)
{
    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    private const int SigHup = 1, SigInt = 2, SigUsr1 = 10, SigTerm = 15;

    [Fact]
    public void SignalsFromAnotherProcessReachTheGuestsHandlers()
    {
        var qemu = GuestRunner.FindOnPath("qemu-aarch64") ?? throw new InvalidOperationException("qemu-aarch64 not found on PATH");
        string guest = Path.Combine(GuestRunner.GuestBinaryDir, "sig_external");
        Assert.True(File.Exists(guest), $"{guest} is missing: run toolchains/build-guests.sh");
        var (refLines, refStatus) = Run(qemu, guest);
        var (lines, status) = Run(GuestRunner.DqemuBinary, guest);
        Assert.Equal(6, refLines.Count);
        Assert.Equal(128 + SigHup, refStatus); // died of the SIGHUP sent after SIG_DFL
        Assert.Equal(refLines, lines);
        Assert.Equal(refStatus, status);
    }

    private (List<string> Lines, int Status) Run(string emulator, string guest)
    {
        var psi = new ProcessStartInfo(emulator) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(guest);
        psi.ArgumentList.Add("wait");
        using var p = Process.Start(psi)!;
        var lines = new List<string>();
        string? Next()
        {
            var t = p.StandardOutput.ReadLineAsync();
            if (!t.Wait(TimeSpan.FromSeconds(20))) return null;
            if (t.Result != null) lines.Add(t.Result);
            return t.Result;
        }
        try
        {
            Assert.Equal("ready", Next());
            Assert.Equal(0, kill(p.Id, SigHup));
            foreach (int sig in new[] { SigUsr1, SigTerm, SigInt })
            {
                Assert.Equal(0, kill(p.Id, sig));
                Assert.NotNull(Next());
            }
            Assert.NotNull(Next()); // "done, ..."
            Assert.NotNull(Next()); // "SIGHUP default again"
            Assert.Equal(0, kill(p.Id, SigHup));
            Assert.True(p.WaitForExit(20_000), $"{emulator} did not exit");
        }
        finally
        {
            if (!p.HasExited) p.Kill();
        }
        output.WriteLine($"{emulator}: {string.Join(" | ", lines)}; status {p.ExitCode}; stderr: {p.StandardError.ReadToEnd()}");
        return (lines, p.ExitCode);
    }
}
