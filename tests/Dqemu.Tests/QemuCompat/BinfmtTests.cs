using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace Dqemu.Tests.QemuCompat;

/// <summary>Registration tests change binfmt_misc (the host's own instance when the kernel has no per-user-namespace
/// one): nothing else runs beside them.</summary>
[CollectionDefinition("binfmt", DisableParallelization = true)]
public class BinfmtCollection;

/// <summary>
/// --binfmt: the entry text against qemu-binfmt-conf.sh's aarch64 entry, and a real registration in a private mount
/// namespace that runs an AArch64 program as ./program and compares what it prints with qemu-aarch64's run.
/// </summary>
[Collection("binfmt")]
public class BinfmtTests(ITestOutputHelper output)
{
    /// <summary>
    /// qemu-binfmt-conf.sh's aarch64 magic, written here from the ELF specification: e_ident = 0x7f 'E' 'L' 'F',
    /// ELFCLASS64 (2), ELFDATA2LSB (1), EV_CURRENT (1), OS ABI, ABI version and 7 padding bytes (0), then e_type
    /// ET_EXEC (2, 16-bit little-endian) and e_machine EM_AARCH64 (183 = 0xb7).
    /// </summary>
    const string Magic = @"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00";
    /// <summary>All bits but the OS ABI byte and e_type's lowest bit (ET_EXEC 2 or ET_DYN 3).</summary>
    const string Mask = @"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff";

    [Theory]
    [InlineData(new string[0], "dqemu-aarch64", "")]
    [InlineData(new[] { "--binfmt-flags", "P" }, "dqemu-aarch64", "P")]
    [InlineData(new[] { "--binfmt-flags", "F" }, "dqemu-aarch64", "F")]
    [InlineData(new[] { "--binfmt-flags", "C" }, "dqemu-aarch64", "OC")]        // C implies O; qemu writes OC
    [InlineData(new[] { "--binfmt-flags", "PFCO" }, "dqemu-aarch64", "OCFP")]   // qemu-binfmt-conf.sh's order
    [InlineData(new[] { "--binfmt-name", "other" }, "other", "")]
    public void PrintedEntryMatchesQemusFieldForField(string[] extra, string name, string flags)
    {
        var d = QemuSide.Dqemu;
        var r = GuestRunner.Run(d, ["--binfmt", .. extra], QemuSide.Env());
        Assert.Equal("", r.Stderr);
        Assert.Equal(0, r.ExitCode);
        var fields = r.Stdout.TrimEnd('\n').Split(':');
        // ":name:type:offset:magic:mask:interpreter:flags"
        Assert.Equal(8, fields.Length);
        Assert.Equal("", fields[0]);
        Assert.Equal(name, fields[1]);
        Assert.Equal("M", fields[2]);
        Assert.Equal("", fields[3]);
        Assert.Equal(Magic, fields[4]);
        Assert.Equal(Mask, fields[5]);
        Assert.Equal(Path.GetFullPath(d), fields[6]);
        Assert.Equal(flags, fields[7]);
        Assert.EndsWith("\n", r.Stdout);
        Assert.Single(r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void ExplicitPrintAndInterpreter()
    {
        var r = GuestRunner.Run(QemuSide.Dqemu, ["--binfmt", "print", "--binfmt-interpreter", "/usr/local/bin/dq"], QemuSide.Env());
        Assert.Equal($":dqemu-aarch64:M::{Magic}:{Mask}:/usr/local/bin/dq:\n", r.Stdout);
    }

    [Theory]
    [InlineData(new[] { "--binfmt-flags", "PX" }, 64, "--binfmt-flags takes the letters P, O, C and F, not 'PX'")]
    [InlineData(new[] { "--binfmt-name", "a:b" }, 64, "--binfmt-name: 'a:b' cannot name a binfmt_misc entry")]
    [InlineData(new[] { "--binfmt-interpreter", "relative/dq" }, 64, "--binfmt-interpreter needs an absolute path without ':', not 'relative/dq'")]
    [InlineData(new[] { "/bin/true" }, 64, "--binfmt runs no guest: give it alone (with --binfmt-flags, --binfmt-interpreter, --binfmt-name)")]
    public void BadBinfmtRequestIsOneLine(string[] extra, int status, string message)
    {
        var r = GuestRunner.Run(QemuSide.Dqemu, ["--binfmt", .. extra], QemuSide.Env());
        Assert.Equal($"dqemu-native: {message}\n", r.Stderr);
        Assert.Equal(status, r.ExitCode);
    }

    /// <summary>Outside a namespace where it is mounted: binfmt_misc is not mounted on this host's /proc (or, when it
    /// is, the entry does not exist): status 77 and one line either way.</summary>
    [Fact]
    public void UnregisterWithoutEntryIs77()
    {
        var r = GuestRunner.Run(QemuSide.Dqemu, ["--binfmt", "unregister", "--binfmt-name", "dqemu-test-absent"], QemuSide.Env());
        Assert.Equal(77, r.ExitCode);
        Assert.Matches(@"^dqemu-native: (binfmt_misc is not mounted at /proc/sys/fs/binfmt_misc \(as root: mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc\)|binfmt_misc entry dqemu-test-absent is not registered)\n$", r.Stderr);
    }

    /// <summary>
    /// Registers the entry (in a user and mount namespace of its own: binfmt_misc has one instance per user namespace
    /// since Linux 6.7; on older kernels in a mount namespace of the host's instance, under a unique name, removed at
    /// once), runs tests/guests/argv_env directly as ./argv_env with argv[0] "custom0", and compares its output with
    /// qemu-aarch64's run of the same file with -0 set to what the kernel gives the program: the caller's argv[0] with
    /// flag P, the path it was run by without. Also the kernel's view of the entry, and that a second registration
    /// and the removal are reported.
    /// </summary>
    [Theory]
    [InlineData("")]
    [InlineData("P")]
    [InlineData("OCFP")]
    public void RegisteredEntryRunsAnAArch64ProgramAsQemuDoes(string flags)
    {
        var dqemu = Path.GetFullPath(QemuSide.Dqemu);
        var guest = QemuSide.Guest("argv_env");
        var qemu = QemuSide.Qemu;
        var dir = GuestRunner.CreateTempDirectory("binfmt");
        try
        {
            File.Copy(guest, Path.Combine(dir, "argv_env"));
            string name = $"dqemu-test-{Environment.ProcessId}-{flags}";
            string argv0 = flags.Contains('P') ? "custom0" : "./argv_env";
            // perl (Debian's Essential perl-base) execs with a chosen argv[0] and exactly this environment
            string envList = string.Join(", ", QemuSide.Env().Select(kv => $"\"{kv.Key}\" => \"{kv.Value}\""));
            string Exec(string file, string args) =>
                $"perl -e '%ENV = ({envList}); exec {{\"{file}\"}} {args} or die \"exec: $!\\n\"'";
            var script = new StringBuilder();
            script.AppendLine("set -u");
            script.AppendLine("cd \"$1\"");
            script.AppendLine("mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || exit 90");
            // on the host's instance another AArch64 entry registered first would run the program instead
            script.AppendLine($"for f in /proc/sys/fs/binfmt_misc/*; do case \"$f\" in */register|*/status) continue;; esac; if grep -q 'magic 7f454c460201010000000000000000000200b700' \"$f\" && grep -qx enabled \"$f\"; then echo \"another enabled AArch64 entry: $f\" >&2; exit 91; fi; done");
            script.AppendLine($"'{dqemu}' --binfmt register --binfmt-name {name} --binfmt-flags '{flags}' > register.txt 2>&1 || {{ cat register.txt >&2; exit 92; }}");
            script.AppendLine($"cat /proc/sys/fs/binfmt_misc/{name} > entry.txt");
            script.AppendLine($"{Exec("./argv_env", "\"custom0\", \"a\", \"b c\"")} > binfmt.out 2> binfmt.err; echo $? > binfmt.status");
            script.AppendLine($"'{dqemu}' --binfmt register --binfmt-name {name} > again.txt 2>&1; echo $? >> again.txt");
            script.AppendLine($"'{dqemu}' --binfmt unregister --binfmt-name {name} > unregister.txt 2>&1; echo $? >> unregister.txt");
            script.AppendLine($"test -e /proc/sys/fs/binfmt_misc/{name} && echo still there >> unregister.txt");
            script.AppendLine($"{Exec(qemu, $"\"qemu-aarch64\", \"-0\", \"{argv0}\", \"./argv_env\", \"a\", \"b c\"")} > qemu.out 2> qemu.err; echo $? > qemu.status");
            File.WriteAllText(Path.Combine(dir, "run.sh"), script.ToString());

            var r = GuestRunner.Run("unshare", ["--user", "--map-root-user", "--mount", "sh", Path.Combine(dir, "run.sh"), dir], QemuSide.Env());
            string where = "a private user namespace's binfmt_misc";
            if (r.ExitCode == 90)
            {
                output.WriteLine($"binfmt_misc cannot be mounted in a user namespace here (Linux before 6.7?): {r.Stderr.Trim()}; using the host's instance");
                r = GuestRunner.Run("unshare", ["--mount", "sh", Path.Combine(dir, "run.sh"), dir], QemuSide.Env());
                where = "the host's binfmt_misc (in a private mount)";
            }
            if (r.ExitCode == 90)
                Assert.Fail($"binfmt_misc cannot be mounted here, neither in a user namespace nor as root in a mount namespace: {r.Stderr.Trim()}");
            Assert.True(r.ExitCode == 0, $"the registration script failed ({r.Describe()}): {r.Stderr}");
            output.WriteLine($"registered in {where}");
            string Read(string f) => File.ReadAllText(Path.Combine(dir, f));

            Assert.Equal($"registered /proc/sys/fs/binfmt_misc/{name}: :{name}:M::{Magic}:{Mask}:{dqemu}:{flags}\n", Read("register.txt"));
            var entry = Read("entry.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("enabled", entry[0]);
            Assert.Equal($"interpreter {dqemu}", entry[1]);
            // the kernel lists the flags in its own order
            Assert.Equal($"flags: {string.Concat("POCF".Where(flags.Contains))}", entry[2]);
            Assert.Equal("offset 0", entry[3]);
            Assert.Equal("magic 7f454c460201010000000000000000000200b700", entry[4]);
            Assert.Equal("mask ffffffffffffff00fffffffffffffffffeffffff", entry[5]);

            Assert.Equal($"dqemu-native: binfmt_misc entry {name} is already registered (--binfmt unregister first)\n77\n", Read("again.txt"));
            Assert.Equal($"unregistered /proc/sys/fs/binfmt_misc/{name}\n0\n", Read("unregister.txt"));

            Assert.True(Read("qemu.status") == "0\n", $"the reference run failed: status {Read("qemu.status").Trim()}, {Read("qemu.err")}");
            Assert.True(Read("binfmt.status") == "0\n", $"./argv_env through binfmt_misc: status {Read("binfmt.status").Trim()}, stderr {Read("binfmt.err")}");
            Assert.Equal("", Read("binfmt.err"));
            Assert.Equal(Read("qemu.out"), Read("binfmt.out"));
            Assert.Contains($"argv[0] basename={(flags.Contains('P') ? "custom0" : "argv_env")}", Read("binfmt.out"));
        }
        finally
        {
            GuestRunner.DeleteDirectory(dir);
        }
    }
}
