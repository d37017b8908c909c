using System.Diagnostics;
using Dqemu.Runtime;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Loader;
using Dqemu.Runtime.Memory;
using Xunit;

namespace Dqemu.Tests.Loader;

/// <summary>What the loader made of a file: refused (status and message) or loaded (and checked).</summary>
internal sealed record LoadOutcome(int? Status, string? Message, TimeSpan Elapsed)
{
    public bool Loaded => Status == null;
    public override string ToString() => Loaded ? $"loaded in {Elapsed.TotalMilliseconds:F0} ms" : $"refused ({Status}: {Message})";
}

/// <summary>
/// Runs the emulator's ELF loader in this process: <see cref="ElfFile"/> parses a file (from memory, or from disk
/// as the emulator reads it) and <see cref="ImageLoader"/> maps it into a fresh <see cref="GuestSpace"/>, the way
/// Emulator.Run does before the guest starts. Starting the emulator binary costs tens of milliseconds, this well
/// under one, so the fuzz test runs thousands of files here.
/// </summary>
internal static unsafe class InProcessLoader
{
    /// <summary>Loads <paramref name="file"/> (read from <paramref name="path"/> when given, else parsed from memory)
    /// and, when it loads, checks the result against the ELF rules (<see cref="AssertLoadedAsSpecified"/>).
    /// Any exception but the emulator's FatalException is the test's failure.</summary>
    public static LoadOutcome Load(byte[] file, string name, string? path = null)
    {
        using var lease = new TestGuestSpace();
        var space = lease.Space;
        var clock = Stopwatch.StartNew();
        try
        {
            var elf = path != null ? ElfFile.Load(path) : ElfFile.Parse(name, file);
            var image = ImageLoader.Load(space, elf, GuestSpace.PieBase);
            clock.Stop();
            AssertLoadedAsSpecified(space, file, image);
            return new LoadOutcome(null, null, clock.Elapsed);
        }
        catch (FatalException e)
        {
            return new LoadOutcome(e.ExitCode, e.Message, clock.Elapsed);
        }
    }

    /// <summary>
    /// What the ELF rules say a loaded image looks like: an ET_EXEC at its own addresses, an ET_DYN with its first
    /// page at the PIE base; the entry point moved with it; every page of every PT_LOAD mapped with at least the
    /// segment's rights; a segment's file bytes at its address and zeros after them (its bss), where no other
    /// segment shares its pages.
    /// </summary>
    private static void AssertLoadedAsSpecified(GuestSpace space, byte[] file, LoadedImage image)
    {
        var loads = Elf64.Segments(file).Where(s => s.Type == Elf64.PtLoad).ToList();
        ushort type = (ushort)Elf64.Get(file, Elf64.EType, 2);
        ulong lo = loads.Min(s => GuestSpace.PageDown(s.VAddr));
        ulong bias = type == Elf64.EtDyn ? GuestSpace.PieBase - lo : 0;
        Assert.Equal(bias, image.Bias);
        Assert.Equal(Elf64.Get(file, Elf64.EEntry, 8) + bias, image.Entry);
        foreach (var s in loads)
        {
            ulong start = GuestSpace.PageDown(s.VAddr) + bias, end = GuestSpace.PageUp(s.VAddr + s.MemSize) + bias;
            var rights = Rights(s.Flags);
            ulong at = start;
            foreach (var piece in space.Pieces(start, end))
            {
                Assert.True(piece.Start == at, $"segment {s.Index}: 0x{at:x}-0x{piece.Start:x} not mapped");
                Assert.True((piece.Prot & rights) == rights, $"segment {s.Index}: 0x{piece.Start:x} mapped {piece.Prot}, not {rights}");
                at = piece.End;
            }
            Assert.True(at >= end, $"segment {s.Index}: 0x{at:x}-0x{end:x} not mapped");

            // another segment on the same pages may have put its own bytes there; and a page with no rights
            // cannot be read from here
            bool alone = loads.All(o => o.Index == s.Index || GuestSpace.PageUp(o.VAddr + o.MemSize) <= GuestSpace.PageDown(s.VAddr)
                || GuestSpace.PageDown(o.VAddr) >= GuestSpace.PageUp(s.VAddr + s.MemSize));
            if (!alone || rights == GuestProt.None) continue;
            Assert.True(space.Span(s.VAddr + bias, (int)s.FileSize).SequenceEqual(file.AsSpan((int)s.Offset, (int)s.FileSize)),
                $"segment {s.Index}: the bytes at 0x{s.VAddr + bias:x} are not the file's from 0x{s.Offset:x}");
            int bss = (int)Math.Min(s.MemSize - s.FileSize, 64 * 1024);
            Assert.True(space.Span(s.VAddr + bias + s.FileSize, bss).IndexOfAnyExcept((byte)0) < 0,
                $"segment {s.Index}: its bss at 0x{s.VAddr + bias + s.FileSize:x} is not zero");
        }
    }

    private static GuestProt Rights(uint flags) =>
        ((flags & Elf64.PfR) != 0 ? GuestProt.Read : 0) | ((flags & Elf64.PfW) != 0 ? GuestProt.Write : 0)
        | ((flags & Elf64.PfX) != 0 ? GuestProt.Exec : 0);
}
