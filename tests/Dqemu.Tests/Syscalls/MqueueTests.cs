using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Syscalls;

/// <summary>
/// mq_notify, which qemu-aarch64 7.2 answers ENOSYS, so it cannot be the reference: tests/guests/mqueue run as
/// "mqueue notify" must print Linux's answers, the lines the same program built for x86-64 prints natively (a
/// notification by SIGUSR1 with SI_MESGQ, its value and the sender's pid; EBUSY for a second registration; one by
/// SIGEV_THREAD, which glibc runs through a netlink socket and a helper thread). The rest of the guest (open, send,
/// receive, priorities, timeouts, attributes, unlink) is compared with qemu-aarch64 by GuestProgramTests.
/// </summary>
public class MqueueTests(ITestOutputHelper output)
{
    private static readonly string[] LinuxAnswer =
    [
        "open: ok",
        "notify by signal: ok",
        "second registration: Device or resource busy",
        "signal: 10 code -3 (SI_MESGQ -3) value 77 pid-is-me 1",
        "register and remove: ok ok",
        "notify by thread: ok",
        "thread ran 1 value 99",
        "unlink: ok",
    ];

    [Fact]
    public void NotifyBySignalAndByThreadGiveLinuxsAnswers()
    {
        string guest = Path.Combine(GuestRunner.GuestBinaryDir, "mqueue");
        Assert.True(File.Exists(guest), $"{guest} is missing: run toolchains/build-guests.sh");
        Assert.True(File.Exists(GuestRunner.DqemuBinary), $"{GuestRunner.DqemuBinary} is missing: run ./build.sh");
        var r = GuestRunner.Run(GuestRunner.DqemuBinary, [guest, "notify"], GuestRunner.StandardGuestEnvironment,
            timeout: TimeSpan.FromSeconds(30));
        output.WriteLine($"{r.Describe()}\n{r.Stdout}\nstderr: {r.Stderr}");
        Assert.False(r.TimedOut, "mqueue notify timed out");
        Assert.Equal(LinuxAnswer, r.Stdout.TrimEnd('\n').Split('\n'));
        Assert.Equal(0, r.ExitCode);
    }
}
