using BenchmarkDotNet.Attributes;
using Dqemu.JitX64.Decoders;
using Dqemu.JitX64.Translation;
using Dqemu.Runtime.Host;
using Dqemu.Runtime.Loader;

namespace Dqemu.Bench;

/// <summary>
/// How fast guest code is decoded and translated: the cost a program pays at start-up for every
/// instruction it reaches. Input is the executable segment of a real static guest (a bench guest).
/// </summary>
[MemoryDiagnoser]
public class TranslationBenchmarks
{
    private uint[] _words = [];
    private ulong _textStart;

    [Params(2000)]
    public int Instructions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        string root = RepoRoot();
        string guest = Path.Combine(root, "build", "bench", "sha256.aarch64");
        if (!File.Exists(guest)) throw new InvalidOperationException($"{guest} is missing: run ./build.sh first");
        var elf = ElfFile.Load(guest);
        var text = elf.ProgramHeaders.First(p => p.Type == ElfFile.PtLoad && (p.Flags & ElfFile.PfX) != 0);
        _textStart = text.VAddr;
        int n = Math.Min(Instructions, (int)(text.FileSize / 4));
        _words = new uint[n];
        elf.Read(text.Offset, System.Runtime.InteropServices.MemoryMarshal.AsBytes(_words.AsSpan()));
    }

    [Benchmark]
    public int Decode()
    {
        int found = 0;
        foreach (uint w in _words) if (Decoder.Decode(w) != null) found++;
        return found;
    }

    [Benchmark]
    public long Translate()
    {
        var reader = new ArrayCodeReader(_textStart, _words);
        var t = new Translator(LinuxHostMemory.Instance, reader, new TranslatorOptions { CodeCacheSize = 64UL << 20 });
        // translate from every instruction that starts a block, as a program's start-up does
        ulong pc = _textStart, end = _textStart + (ulong)_words.Length * 4;
        while (pc < end)
        {
            long before = t.InstructionsTranslated;
            t.GetOrTranslate(pc);
            pc += 4 * (ulong)Math.Max(1, t.InstructionsTranslated - before);
        }
        long n = t.InstructionsTranslated;
        LinuxHostMemory.Instance.Release(t.Cache.Base, t.Cache.Size);
        return n;
    }

    private sealed class ArrayCodeReader(ulong start, uint[] words) : IGuestCodeReader
    {
        public bool TryFetch(ulong pc, out uint word)
        {
            ulong i = (pc - start) / 4;
            if (pc < start || i >= (ulong)words.Length) { word = 0; return false; }
            word = words[i];
            return true;
        }
    }

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "dqemu-native.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("run from inside the repository");
    }
}
