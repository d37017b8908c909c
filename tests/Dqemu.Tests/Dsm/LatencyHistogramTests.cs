using Dqemu.Dsm;
using Xunit;

namespace Dqemu.Tests.Dsm;

public class LatencyHistogramTests
{
    [Fact]
    public void EmptyIsZero()
    {
        var h = new LatencyHistogram();
        Assert.Equal(0, h.Count);
        Assert.Equal(0, h.Mean);
        Assert.Equal(0, h.Quantile(0.99));
    }

    [Fact]
    public void SmallValuesAreExact()
    {
        var h = new LatencyHistogram();
        for (ulong v = 0; v < 10; v++) h.Record(v);
        Assert.Equal(4.5, h.Mean);
        Assert.Equal(9, h.Quantile(1));
        Assert.Equal(4, h.Quantile(0.5));
    }

    [Fact]
    public void QuantilesAreWithinABucket()
    {
        var h = new LatencyHistogram();
        for (int i = 0; i < 990; i++) h.Record(50);
        for (int i = 0; i < 10; i++) h.Record(100_000);
        Assert.Equal(1000, h.Count);
        Assert.InRange(h.Quantile(0.99), 47, 53);
        Assert.InRange(h.Quantile(0.999), 94_000, 106_000);
        Assert.InRange(h.Quantile(1.0), 94_000, 106_000);
        Assert.Equal((990 * 50 + 10 * 100_000) / 1000.0, h.Mean);
    }

    [Fact]
    public void BucketsCoverEveryValueInOrder()
    {
        int last = -1;
        foreach (ulong v in new ulong[] { 0, 1, 15, 16, 17, 31, 32, 1000, 1 << 20, ulong.MaxValue })
        {
            int i = LatencyHistogram.BucketIndex(v);
            Assert.True(i >= last);
            Assert.True(LatencyHistogram.BucketLowerBound(i) <= v);
            last = i;
        }
    }
}
