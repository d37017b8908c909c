using System.Text.RegularExpressions;
using Dqemu.Runtime.Memory;
using Dqemu.Tests.Syscalls;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.Jit;

/// <summary>
/// Self-modifying code on one node (src/Runtime/Memory/GuestSpace.CodeGuard.cs): writable guest pages that code is
/// translated from are write-protected on the host, a write into one drops their translations, and a page written too
/// often becomes volatile code checked on block entry. tests/guests/self_modify rewrites code in place without
/// mprotect (from C, from the running block itself, inside a loop, through read(), next to data, while another thread
/// runs it); its answers are known in advance and its output is compared with qemu-aarch64's. Runs 3 times (it is
/// threaded); the stats show that both mechanisms took part. GuestProgramTests runs it once more. It is not named
/// mt_*: the cluster tests run every mt_ guest on several nodes, where the guard is off (the DSM owns the host
/// protection of every page) and a write without mprotect goes unnoticed, as before.
/// </summary>
public class SelfModifyingCodeTests(ITestOutputHelper output)
{
    private const ulong Code = 0x4000_0000, Text = 0x4001_0000;

    [Fact]
    public void GuestRewritingItsOwnCodeMatchesQemu()
    {
        var qemu = GuestRunner.FindOnPath("qemu-aarch64") ?? throw new InvalidOperationException("qemu-aarch64 not found on PATH");
        string guest = Path.Combine(GuestRunner.GuestBinaryDir, "self_modify");
        Assert.True(File.Exists(guest), $"{guest} is missing: run toolchains/build-guests.sh");
        var reference = GuestRunner.Run(qemu, [guest], GuestRunner.StandardGuestEnvironment);
        Assert.False(reference.TimedOut, "qemu-aarch64 timed out");
        Assert.Equal(0, reference.ExitCode);
        Assert.Contains("all self-modifying code checks passed", reference.Stdout);
        for (int run = 0; run < 3; run++)
        {
            var r = GuestRunner.Run(GuestRunner.DqemuBinary, ["--stats", guest], GuestRunner.StandardGuestEnvironment);
            output.WriteLine(r.Stdout);
            output.WriteLine(r.Stderr);
            Assert.False(r.TimedOut, "dqemu-native timed out");
            Assert.Equal(reference.Stdout, r.Stdout);
            Assert.Equal(reference.ExitCode, r.ExitCode);
            var stats = Regex.Match(r.Stderr, @"code pages guarded +(\d+) \(writable guest code, write-protected; (\d+) released by writes, (\d+) checked on entry instead\)");
            Assert.True(stats.Success, r.Stderr);
            Assert.True(long.Parse(stats.Groups[2].Value) >= GuestSpace.VolatileAfter, r.Stderr); // stores were caught
            Assert.True(long.Parse(stats.Groups[3].Value) >= 1, r.Stderr); // and a page went on to entry checks
        }
    }

    /// <summary>A program that does not write its code pays nothing: its text is not writable, so nothing is guarded.</summary>
    [Fact]
    public void OrdinaryProgramGuardsNothing()
    {
        string guest = Path.Combine(GuestRunner.GuestBinaryDir, "demo");
        Assert.True(File.Exists(guest), $"{guest} is missing: run ./build.sh");
        var r = GuestRunner.Run(GuestRunner.DqemuBinary, ["--stats", guest]);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("code cache used", r.Stderr);
        Assert.DoesNotContain("code pages guarded", r.Stderr);
    }

    /// <summary>
    /// The guard itself: a fetch from a writable page takes the host's write access away (read-only text stays as it
    /// is); a write for the guest by managed code (a syscall's result) gives it back and reports the page's range as
    /// changed, so its translations are dropped instead of the write failing with EFAULT; an mprotect forgets the
    /// guard; a page released <see cref="GuestSpace.VolatileAfter"/> times is checked on entry and not guarded again.
    /// </summary>
    [Fact]
    public void GuardReleaseAndVolatilePages()
    {
        using var h = new SyscallHarness();
        var space = h.Space;
        var changes = new List<(ulong, ulong)>();
        space.LayoutChanged = (s, e) => changes.Add((s, e));
        space.MapFixed(Code, 2 * GuestSpace.PageSize, GuestProt.Read | GuestProt.Write | GuestProt.Exec, "rwx");
        space.MapFixed(Text, GuestSpace.PageSize, GuestProt.Read | GuestProt.Exec, "text");
        Assert.True(space.TryWrite(Code + 8, 0xd65f03c0u));
        changes.Clear();

        Assert.True(space.TryFetch(Text, out _));
        Assert.Equal("r--p", HostPerms(space, Text));
        Assert.Equal(0, space.CodePagesGuarded);

        Assert.True(space.TryFetch(Code + 8, out uint word));
        Assert.Equal(0xd65f03c0u, word);
        Assert.Equal(1, space.CodePagesGuarded);
        Assert.Equal("r--p", HostPerms(space, Code));
        Assert.Equal("rw-p", HostPerms(space, Code + GuestSpace.PageSize)); // only the page code came from

        Assert.True(space.TryWrite(Code + 16, 0x52800020u));
        Assert.Equal([(Code, Code + GuestSpace.PageSize)], changes);
        Assert.Equal("rw-p", HostPerms(space, Code));
        Assert.True(space.TryRead(Code + 16, out uint back));
        Assert.Equal(0x52800020u, back);
        Assert.Equal(1, space.CodeWrites);

        // mprotect sets the host protection afresh: the page is not guarded any more, a write releases nothing
        Assert.True(space.TryFetch(Code, out _));
        Assert.True(space.Protect(Code, GuestSpace.PageSize, GuestProt.Read | GuestProt.Write | GuestProt.Exec));
        changes.Clear();
        Assert.True(space.TryWrite(Code, 0u));
        Assert.Empty(changes);
        Assert.Equal(1, space.CodeWrites);

        for (int i = 0; i < GuestSpace.VolatileAfter; i++)
        {
            Assert.False(space.IsVolatile(Code));
            Assert.True(space.TryFetch(Code, out _));
            Assert.True(space.TryWrite(Code + 32, (uint)i));
        }
        Assert.True(space.IsVolatile(Code));
        Assert.Equal(1, space.VolatileCodePages);
        long guarded = space.CodePagesGuarded;
        Assert.True(space.TryFetch(Code, out _));
        Assert.Equal(guarded, space.CodePagesGuarded);
        Assert.Equal("rw-p", HostPerms(space, Code));
        // a fresh mapping starts over
        space.MapFixed(Code, GuestSpace.PageSize, GuestProt.Read | GuestProt.Write | GuestProt.Exec, "rwx");
        Assert.False(space.IsVolatile(Code));
    }

    /// <summary>The host permissions of the page holding guest <paramref name="addr"/>, from /proc/self/maps.</summary>
    private static unsafe string HostPerms(GuestSpace space, ulong addr)
    {
        ulong host = (ulong)space.Host(addr);
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var range = line[..line.IndexOf(' ')].Split('-');
            ulong lo = Convert.ToUInt64(range[0], 16), hi = Convert.ToUInt64(range[1], 16);
            if (host >= lo && host < hi) return line.Split(' ')[1];
        }
        return "unmapped";
    }
}
