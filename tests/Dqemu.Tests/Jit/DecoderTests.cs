using System.Numerics;
using Dqemu.JitX64.Decoders;
using Xunit;

namespace Dqemu.Tests.Jit;

/// <summary>The bucketed decoder finds what a plain scan of the table finds: the first row, most fixed bits first
/// (table order among equals), whose mask and value match the word.</summary>
public class DecoderTests
{
    private static readonly InstDescriptor[] Ordered =
        OpCodeTable.All.OrderByDescending(d => BitOperations.PopCount(d.Mask)).ToArray();

    private static InstDescriptor? Scan(uint op)
    {
        foreach (var d in Ordered)
            if ((op & d.Mask) == d.Value) return d;
        return null;
    }

    [Fact]
    public void WordsOfEveryRowDecodeAsAPlainScanDoes()
    {
        var rnd = new Random(8);
        foreach (var d in OpCodeTable.All)
            for (int i = 0; i < 20; i++)
            {
                uint op = ((uint)rnd.NextInt64() & ~d.Mask) | d.Value;
                var found = Decoder.Decode(op);
                Assert.NotNull(found);
                Assert.Same(Scan(op), found);
            }
    }

    [Fact]
    public void RandomWordsDecodeAsAPlainScanDoes()
    {
        var rnd = new Random(9);
        int decoded = 0;
        for (int i = 0; i < 50_000; i++)
        {
            uint op = (uint)rnd.NextInt64();
            var found = Decoder.Decode(op);
            Assert.Same(Scan(op), found);
            if (found != null) decoded++;
        }
        Assert.True(decoded > 500, $"only {decoded} of 50000 random words decoded"); // the comparison saw real rows
    }
}
