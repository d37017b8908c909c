using Dqemu.JitX64.Translation;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>
/// The code cache's pc-to-code table (<see cref="BlockTable"/>): the same answers as a dictionary over long random runs
/// of publishes, replacements, forgets and clears (through growth and the cleaning of forgotten pcs), and readers on
/// other threads, racing a writer that grows and clears it, only ever see a pc's own code or nothing.
/// </summary>
public sealed class BlockTableTests
{
    [Theory]
    [InlineData(1, 300)]    // few pcs: many replacements and forgets of the same pcs, cleaning without growth
    [InlineData(2, 60000)]  // many: growth far past the first array
    public void AnswersAsADictionaryDoes(int seed, int pcs)
    {
        var r = new Random(seed);
        var table = new BlockTable();
        var model = new Dictionary<ulong, nint>();
        for (int step = 0; step < 400_000; step++)
        {
            ulong pc = 0x40_0000UL + (ulong)r.Next(pcs) * 4;
            int op = r.Next(100);
            if (op < 50)
            {
                nint code = (nint)(0x7000_0000_0000L + r.Next(1, int.MaxValue));
                table.Set(pc, code);
                model[pc] = code;
            }
            else if (op < 80)
            {
                // forget only when it is that code: a stale forget (another translation since) leaves it
                nint code = model.TryGetValue(pc, out var c) && r.Next(4) != 0 ? c : 12345;
                table.Remove(pc, code);
                if (model.TryGetValue(pc, out c) && c == code) model.Remove(pc);
            }
            else if (op == 99 && r.Next(200) == 0)
            {
                table.Clear();
                model.Clear();
            }
            else
            {
                Assert.Equal(model.TryGetValue(pc, out var c) ? c : 0, table.Lookup(pc));
            }
            if (step % 50_000 == 0) Assert.Equal(model.Count, table.Count);
        }
        foreach (var (pc, code) in model) Assert.Equal(code, table.Lookup(pc));
        Assert.Equal(model.Count, table.Count);
    }

    [Fact]
    public void ReadersRacingGrowthAndClearsSeeOnlyAPcsOwnCode()
    {
        var table = new BlockTable();
        // a pc's code names the pc, so a reader can tell its own from another pc's
        static nint CodeOf(ulong pc, int round) => (nint)((long)(pc << 8) | (long)(round & 0xff));
        using var stop = new CancellationTokenSource();
        long wrong = 0, seen = 0;
        var readers = Enumerable.Range(0, 2).Select(t => Task.Run(() =>
        {
            var r = new Random(t);
            while (!stop.IsCancellationRequested)
            {
                ulong pc = 0x1000 + (ulong)r.Next(100_000) * 4;
                nint c = table.Lookup(pc);
                if (c == 0) continue;
                Interlocked.Increment(ref seen);
                if ((ulong)c >> 8 != pc) Interlocked.Increment(ref wrong);
            }
        })).ToArray();
        for (int round = 0; round < 12; round++)
        {
            for (int i = 0; i < 100_000; i++)
            {
                ulong pc = 0x1000 + (ulong)i * 4;
                table.Set(pc, CodeOf(pc, round));
                if (i % 3 == 0) table.Remove(pc, CodeOf(pc, round));
            }
            table.Clear();
        }
        stop.Cancel();
        Task.WaitAll(readers);
        Assert.True(seen > 0, "the readers never found a published block");
        Assert.Equal(0, wrong);
    }
}
