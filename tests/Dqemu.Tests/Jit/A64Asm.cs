using System.Collections.Concurrent;

namespace Dqemu.Tests.Jit;

/// <summary>
/// Assembles AArch64 source with the cross binutils (aarch64-linux-gnu-as), so tests state instructions
/// as text and never hand-encode words. Results are cached per source text.
/// </summary>
public static class A64Asm
{
    private static readonly ConcurrentDictionary<string, uint[]> Cache = new();

    public static uint[] Assemble(string source) => Cache.GetOrAdd(source, Run);

    private static uint[] Run(string source)
    {
        string dir = Directory.CreateTempSubdirectory("dqemu-as-").FullName;
        try
        {
            string s = Path.Combine(dir, "t.s"), o = Path.Combine(dir, "t.o"), b = Path.Combine(dir, "t.bin");
            File.WriteAllText(s, ".arch armv8.2-a+lse+crc+crypto+fp16+sha3\n.text\n" + source + "\n");
            Exec("aarch64-linux-gnu-as", $"-o {o} {s}");
            Exec("aarch64-linux-gnu-objcopy", $"-O binary -j .text {o} {b}");
            var bytes = File.ReadAllBytes(b);
            var words = new uint[bytes.Length / 4];
            Buffer.BlockCopy(bytes, 0, words, 0, words.Length * 4);
            return words;
        }
        finally { Directory.Delete(dir, true); }
    }

    private static void Exec(string tool, string args) => Tools.Exec(tool, args);
}
