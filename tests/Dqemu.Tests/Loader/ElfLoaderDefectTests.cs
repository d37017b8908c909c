using Dqemu.Runtime;
using Dqemu.Runtime.Loader;
using Dqemu.Runtime.Memory;
using Xunit;
using static Dqemu.Tests.Loader.Elf64;

namespace Dqemu.Tests.Loader;

/// <summary>
/// Regression tests of the ELF-loader defects of issue 14, found with corrupted copies of a static AArch64 program:
/// each bad image must be refused at once with one line on stderr and status 65 (66 for a file that is not a
/// regular file), never hang, print binary bytes or a .NET trace; and what qemu-aarch64 runs, dqemu-native runs.
/// Expected outcomes come from qemu-aarch64 (run on the same file), Linux's binfmt_elf rules, or the emulator's
/// documented exit statuses.
/// </summary>
public sealed class ElfLoaderDefectTests : IDisposable
{
    private readonly string _dir = GuestRunner.CreateTempDirectory("elf-defects");
    private readonly byte[] _static = File.ReadAllBytes(LoaderRuns.StaticGuest);

    public void Dispose() => GuestRunner.DeleteDirectory(_dir);

    private byte[] Static(Action<byte[]> patch)
    {
        var b = (byte[])_static.Clone();
        patch(b);
        return b;
    }

    private int Load(int n) => Segments(_static).Where(s => s.Type == PtLoad).ElementAt(n).Index;

    private string Write(string name, byte[] bytes) => LoaderRuns.WriteExecutable(_dir, name, bytes);

    private void AssertRefusedByBoth(string name, byte[] bytes)
    {
        var path = Write(name, bytes);
        LoaderRuns.AssertRefused(LoaderRuns.Dqemu(path), ExitCodes.BadElf, name);
        // the reference refuses it too, or at least does not run it (qemu-aarch64 may hang or crash on its way)
        var q = LoaderRuns.Qemu(path);
        Assert.False(!q.TimedOut && q.ExitCode == LoaderRuns.StaticGuestStatus && q.Stdout == LoaderRuns.StaticGuestStdout,
            $"{name}: qemu-aarch64 runs it: not a bad image");
    }

    private void AssertRunByBoth(string name, byte[] bytes)
    {
        var path = Write(name, bytes);
        LoaderRuns.AssertRanLikeTheOriginal(LoaderRuns.Qemu(path), $"{name} under qemu-aarch64");
        LoaderRuns.AssertRanLikeTheOriginal(LoaderRuns.Dqemu(path), name);
    }

    // ---- 1: EI_VERSION and large p_offset, p_memsz, p_align, p_paddr bytes kept the emulator busy for over 10 s ----

    /// <summary>
    /// The user's probe: the version byte and bytes of p_memsz, p_align and p_paddr (and p_offset, where that is not
    /// a PT_LOAD's) in the first four program headers set high, which made each PT_LOAD some 260 GiB. qemu-aarch64
    /// refuses it ("Invalid ELF image"), so must the emulator, at once (it mapped the segments a page at a time).
    /// </summary>
    private static void Probe(byte[] b, bool version)
    {
        if (version) b[EiVersion] = 0x41;
        for (int i = 0; i < 4; i++)
        {
            int p = Phdr(b, i);
            b[p + PMemsz + 4] = 0x41;
            b[p + PAlign + 4] = 0x41;
            b[p + PPaddr + 3] = 0x41;
            if (Get(b, p + PType, 4) != PtLoad) b[p + POffset + 6] = 0x41;
        }
    }

    [Fact]
    public void TheProbeOfABadVersionAndHugeSegmentsIsRefusedAtOnce() =>
        AssertRefusedByBoth("probe", Static(b => Probe(b, version: true)));

    /// <summary>The same headers with a good version byte break no rule of Linux's or qemu's: qemu loads them (and its
    /// guest dies of SIGSEGV after seconds, in the TLS set-up); the emulator must load them as fast, and its guest end
    /// by itself, without a .NET failure.</summary>
    [Fact]
    public void TheProbesHugeSegmentsAloneAreLoadedAtOnce()
    {
        var r = LoaderRuns.Dqemu(Write("probe-segments", Static(b => Probe(b, version: false))));
        Assert.False(r.TimedOut, $"probe-segments: still running after {LoaderRuns.Timeout.TotalSeconds} s");
        LoaderRuns.AssertNoTrace(r, "probe-segments");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(0x41)]
    public void AnElfVersionOtherThanEvCurrentIsRefused(byte version) =>
        AssertRefusedByBoth($"ei-version-{version}", Static(b => b[EiVersion] = version));

    /// <summary>qemu-aarch64 checks e_ehsize too.</summary>
    [Fact]
    public void AnElfHeaderSizeOtherThan64IsRefused() =>
        AssertRefusedByBoth("ehsize-65", Static(b => Set(b, EEhsize, 2, 65)));

    /// <summary>p_align and p_paddr mean nothing to a loader (qemu and Linux ignore them): a p_align of 3 (not a power
    /// of two, not a divisor of p_vaddr - p_offset) was refused as "misaligned segment".</summary>
    [Fact]
    public void AnyAlignAndPhysicalAddressRunAsUnderQemu()
    {
        AssertRunByBoth("align", Static(b =>
        {
            Set(b, Phdr(b, Load(0)) + PAlign, 8, 1UL << 63);
            Set(b, Phdr(b, Load(1)) + PAlign, 8, 3);
            Set(b, Phdr(b, Load(0)) + PPaddr, 8, ulong.MaxValue);
            Set(b, Phdr(b, Load(1)) + PPaddr, 8, 0x4141_4141_4141_4141);
        }));
    }

    /// <summary>A PT_LOAD's file offset and address must agree within a page: Linux and qemu mmap it there
    /// (qemu: "Error mapping file: Invalid argument").</summary>
    [Fact]
    public void ASegmentWhoseOffsetAndAddressDifferWithinAPageIsRefused() =>
        AssertRefusedByBoth("incongruent", Static(b => Set(b, Phdr(b, Load(1)) + POffset, 8, Get(b, Phdr(b, Load(1)) + POffset, 8) + 0x100)));

    /// <summary>Linux refuses p_filesz &gt; p_memsz (qemu maps it and the guest dies of SIGSEGV).</summary>
    [Fact]
    public void AFileSizeAboveTheMemorySizeIsRefused() =>
        AssertRefusedByBoth("filesz-gt-memsz", Static(b => Set(b, Phdr(b, Load(1)) + PFilesz, 8, Get(b, Phdr(b, Load(1)) + PMemsz, 8) + 1)));

    // ---- 2: p_vaddr + p_memsz past 2^64 crashed the loader (.NET trace, or SIGSEGV in memmove) ----

    [Fact]
    public void ASegmentThatWrapsPast2To64IsRefused()
    {
        AssertRefusedByBoth("wrap-memsz", Static(b => Set(b, Phdr(b, Load(1)) + PMemsz, 8, ulong.MaxValue - Get(b, Phdr(b, Load(1)) + PVaddr, 8) + 0x1000)));
        AssertRefusedByBoth("wrap-vaddr", Static(b => Set(b, Phdr(b, Load(1)) + PVaddr, 8, ulong.MaxValue - 0xfff + (Get(b, Phdr(b, Load(1)) + PVaddr, 8) & 0xfff))));
        // the last page of the address space: its page-rounded end is 2^64
        AssertRefusedByBoth("last-page", Static(b =>
        {
            Set(b, Phdr(b, Load(1)) + PVaddr, 8, (ulong.MaxValue & ~0xfffUL) + (Get(b, Phdr(b, Load(1)) + PVaddr, 8) & 0xfff));
            Set(b, Phdr(b, Load(1)) + PMemsz, 8, 0x10);
            Set(b, Phdr(b, Load(1)) + PFilesz, 8, 0x10);
        }));
    }

    /// <summary>The guest space ends at GuestSpace.MmapTop for an image (the stack lies above): an ET_EXEC segment
    /// may end there, not a page later.</summary>
    [Fact]
    public void AnImageLoadsUpToTheTopOfTheGuestSpaceAndNoFurther()
    {
        byte[] EndingAt(ulong end) => Static(b => Set(b, Phdr(b, Load(1)) + PMemsz, 8, end - Get(b, Phdr(b, Load(1)) + PVaddr, 8)));
        Assert.True(InProcessLoader.Load(EndingAt(GuestSpace.MmapTop), "top").Loaded);
        var over = InProcessLoader.Load(EndingAt(GuestSpace.MmapTop + 1), "over");
        Assert.Equal(ExitCodes.BadElf, over.Status);
        LoaderRuns.AssertRefused(LoaderRuns.Dqemu(Write("over", EndingAt(GuestSpace.MmapTop + 1))), ExitCodes.BadElf, "over");
    }

    /// <summary>An ET_DYN is placed at the PIE base: a span of segments larger than the space above it is refused.</summary>
    [Fact]
    public void APositionIndependentImageLargerThanTheSpaceAboveItsBaseIsRefused()
    {
        var dyn = File.ReadAllBytes(LoaderRuns.DynamicGuest);
        int last = Segments(dyn).Last(s => s.Type == PtLoad).Index;
        var b = (byte[])dyn.Clone();
        Set(b, Phdr(b, last) + PMemsz, 8, GuestSpace.MmapTop - GuestSpace.PieBase);
        var r = InProcessLoader.Load(b, "dyn-too-big");
        Assert.Equal(ExitCodes.BadElf, r.Status);
        LoaderRuns.AssertRefused(LoaderRuns.Dqemu(Write("dyn-too-big", b)), ExitCodes.BadElf, "dyn-too-big");
    }

    // ---- 3: p_memsz = 2^39 was mapped a page at a time (still running after 90 s) ----

    /// <summary>A 512 GiB bss is mapped in one go (as a guest mmap of that size is) and the program runs. (qemu-aarch64
    /// cannot: "cannot mmap brk".)</summary>
    [Fact]
    public void AHugeBssIsMappedAtOnceAndTheProgramRuns()
    {
        var bytes = Static(b => Set(b, Phdr(b, Load(1)) + PMemsz, 8, 1UL << 39));
        var inProcess = InProcessLoader.Load(bytes, "bss-2^39");
        Assert.True(inProcess.Loaded, inProcess.ToString());
        Assert.True(inProcess.Elapsed < TimeSpan.FromSeconds(1), inProcess.ToString());
        var r = LoaderRuns.Dqemu(Write("bss-2^39", bytes));
        LoaderRuns.AssertRanLikeTheOriginal(r, "bss-2^39");
        Assert.True(r.Elapsed < TimeSpan.FromSeconds(5), $"bss-2^39 took {r.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>2^40 bytes cannot fit in the guest space at all.</summary>
    [Fact]
    public void ABssLargerThanTheGuestSpaceIsRefused()
    {
        var bytes = Static(b => Set(b, Phdr(b, Load(1)) + PMemsz, 8, GuestSpace.Size));
        LoaderRuns.AssertRefused(LoaderRuns.Dqemu(Write("bss-2^40", bytes)), ExitCodes.BadElf, "bss-2^40");
    }

    // ---- 4: e_phentsize 57 was accepted ----

    [Theory]
    [InlineData(0)]
    [InlineData(55)]
    [InlineData(57)]
    [InlineData(64)]
    public void AProgramHeaderSizeOtherThan56IsRefused(ushort size) =>
        AssertRefusedByBoth($"phentsize-{size}", Static(b => Set(b, EPhentsize, 2, size)));

    [Fact]
    public void ProgramHeadersPastTheEndOfTheFileAreRefused()
    {
        // e_phnum headers from e_phoff must lie in the file
        AssertRefusedByBoth("phoff-past-end", Static(b => Set(b, EPhoff, 8, (ulong)b.Length - PhdrSize)));
        AssertRefusedByBoth("phoff-huge", Static(b => Set(b, EPhoff, 8, ulong.MaxValue - 8)));
        // 65535 headers: more than Linux's 64 KiB table, and past the end of this file
        AssertRefusedByBoth("phnum-max", Static(b => Set(b, EPhnum, 2, 0xffff)));
    }

    // ---- 5: /dev/zero was read to 4.2 GB, a directory was "access denied", a FIFO waited ----

    /// <summary>Only a regular file is a program (as for execve): anything else is refused with status 66 before a
    /// byte is read, naming what it is.</summary>
    [Fact]
    public void AFileThatIsNotARegularFileIsRefusedAtOnce()
    {
        var fifo = Path.Combine(_dir, "fifo");
        Assert.Equal(0, GuestRunner.Run("/usr/bin/mkfifo", [fifo]).ExitCode);
        var dir = Directory.CreateDirectory(Path.Combine(_dir, "dir")).FullName;
        foreach (var (path, says) in new[]
        {
            ("/dev/zero", "not a regular file (a character device)"),
            (dir, "is a directory"),
            (dir + "/", "is a directory"),
            (fifo, "not a regular file (a FIFO)"),
            (Path.Combine(_dir, "missing"), "no such file"),
        })
        {
            var r = LoaderRuns.Dqemu(path);
            LoaderRuns.AssertRefused(r, ExitCodes.NoInput, path);
            Assert.Equal($"dqemu-native: {path}: {says}\n", r.Stderr);
            Assert.True(r.Elapsed < TimeSpan.FromSeconds(5), $"{path}: {r.Elapsed.TotalSeconds:F1} s");
        }
    }

    // ---- 6: a PT_LOAD retyped PT_INTERP printed the segment's bytes as the interpreter's path ----

    [Fact]
    public void AProgramHeaderThatIsNoPathIsRefusedAsPtInterp()
    {
        // a whole code segment as the path: longer than PATH_MAX
        AssertRefusedByBoth("load-as-interp", Static(b => Set(b, Phdr(b, Load(0)) + PType, 4, PtInterp)));
        AssertRefusedByBoth("data-as-interp", Static(b => Set(b, Phdr(b, Load(1)) + PType, 4, PtInterp)));
    }

    [Fact]
    public void APtInterpMustBeANulTerminatedPathOfTwoToPathMaxBytes()
    {
        var dyn = File.ReadAllBytes(LoaderRuns.DynamicGuest);
        int interp = IndexOf(dyn, PtInterp);
        byte[] With(Action<byte[], int> patch)
        {
            var b = (byte[])dyn.Clone();
            patch(b, Phdr(b, interp));
            return b;
        }
        ulong offset = Get(dyn, Phdr(dyn, interp) + POffset, 8), size = Get(dyn, Phdr(dyn, interp) + PFilesz, 8);
        foreach (var (name, bytes) in new[]
        {
            ("interp-no-nul", With((b, p) => b[offset + size - 1] = (byte)'x')),
            ("interp-1-byte", With((b, p) => Set(b, p + PFilesz, 8, 1))),
            ("interp-0-bytes", With((b, p) => Set(b, p + PFilesz, 8, 0))),
            ("interp-4097-bytes", With((b, p) => Set(b, p + PFilesz, 8, ElfFile.PathMax + 1))),
            ("interp-past-end", With((b, p) => Set(b, p + POffset, 8, (ulong)b.Length - 1))),
        })
        {
            var r = LoaderRuns.Dqemu(Write(name, bytes));
            LoaderRuns.AssertRefused(r, ExitCodes.BadElf, name);
            Assert.Contains("PT_INTERP", r.Stderr);
        }
    }

    /// <summary>A path is any bytes: a missing interpreter is named on one line, its control characters escaped.</summary>
    [Fact]
    public void AnInterpreterPathIsPrintedEscapedOnOneLine()
    {
        var b = File.ReadAllBytes(LoaderRuns.DynamicGuest);
        ulong offset = Get(b, Phdr(b, IndexOf(b, PtInterp)) + POffset, 8);
        "/no\n\u001b[31mld\0"u8.CopyTo(b.AsSpan((int)offset));
        var r = LoaderRuns.Dqemu(Write("interp-escapes", b));
        LoaderRuns.AssertRefused(r, ExitCodes.NoInput, "interp-escapes");
        Assert.Contains(@"needs the dynamic linker /no\n\x1b[31mld;", r.Stderr);
    }

    // ---- truncated files ----

    /// <summary>
    /// A file cut anywhere from its first byte to the end of its program headers, or inside a PT_LOAD's file bytes,
    /// is refused (65); cut after the last PT_LOAD's bytes (the section headers, which the loader never reads), it
    /// loads. Every length of the headers in this process (the loader the emulator runs, from memory and from a
    /// file), a few through the emulator.
    /// </summary>
    [Fact]
    public void ATruncatedFileIsRefusedUnlessOnlyUnloadedPartsAreCut()
    {
        var loads = Segments(_static).Where(s => s.Type == PtLoad).ToList();
        int loadedEnd = (int)loads.Max(s => s.Offset + s.FileSize);
        var lengths = Enumerable.Range(0, HeadersEnd(_static) + 1).ToList();
        foreach (var s in loads)
            lengths.AddRange([(int)s.Offset + 1, (int)(s.Offset + s.FileSize / 2), (int)(s.Offset + s.FileSize) - 1]);
        lengths.AddRange([loadedEnd, loadedEnd + 1, _static.Length - 1]);
        var file = Path.Combine(_dir, "cut");
        foreach (int n in lengths.Distinct())
        {
            var cut = _static[..n];
            bool whole = n >= loadedEnd;
            var fromMemory = InProcessLoader.Load(cut, "cut");
            File.WriteAllBytes(file, cut);
            var fromFile = InProcessLoader.Load(cut, "cut", file);
            foreach (var o in new[] { fromMemory, fromFile })
                Assert.True(whole ? o.Loaded : o.Status == ExitCodes.BadElf, $"cut to {n} bytes: {o}");
        }
        foreach (int n in new[] { 0, 3, 4, 63, 64, HeadersEnd(_static) - 1, (int)(loads[0].Offset + loads[0].FileSize / 2),
                     loadedEnd - 1 })
            LoaderRuns.AssertRefused(LoaderRuns.Dqemu(Write($"cut-{n}", _static[..n])), ExitCodes.BadElf, $"cut to {n} bytes");
        AssertRunByBoth($"cut-{loadedEnd}", _static[..loadedEnd]);
    }
}
