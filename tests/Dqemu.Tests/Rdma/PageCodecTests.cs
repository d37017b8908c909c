using Dqemu.Rdma;
using Xunit;

namespace Dqemu.Tests.Rdma;

public sealed class PageCodecTests
{
    private const int Page = 4096;

    private static byte[] RandomPage(int seed, int length = Page)
    {
        var p = new byte[length];
        new Random(seed).NextBytes(p);
        return p;
    }

    /// <summary>Looks like typical heap data: small integers, pointers into one region, some text.</summary>
    private static byte[] CompressiblePage(int length = Page)
    {
        var p = new byte[length];
        var rng = new Random(7);
        for (int i = 0; i + 8 <= length; i += 8)
        {
            ulong v = (i / 8 % 4) switch
            {
                0 => (ulong)rng.Next(100),
                1 => 0x0000_7f3a_1200_0000UL + (ulong)(i * 2),
                2 => 0x6f6c6c6568UL, // "hello"
                _ => 0,
            };
            BitConverter.TryWriteBytes(p.AsSpan(i), v);
        }
        return p;
    }

    private static (PageEncoding enc, int len, byte[] back) RoundTrip(PageCodec codec, byte[] page)
    {
        var wire = new byte[PageCodec.MaxEncodedLength(page.Length)];
        int len = codec.Encode(page, wire, out var enc);
        var back = new byte[page.Length];
        back.AsSpan().Fill(0xCC); // stale contents must be overwritten
        codec.Decode(enc, wire.AsSpan(0, len), back);
        return (enc, len, back);
    }

    [Fact]
    public void RandomPageTravelsRaw()
    {
        var page = RandomPage(1);
        var (enc, len, back) = RoundTrip(PageCodec.Shared, page);
        Assert.Equal(PageEncoding.Raw, enc);
        Assert.Equal(Page, len);
        Assert.Equal(page, back);
    }

    [Fact]
    public void ZeroPageTravelsAsNothing()
    {
        var page = new byte[Page];
        var (enc, len, back) = RoundTrip(PageCodec.Shared, page);
        Assert.Equal(PageEncoding.Zero, enc);
        Assert.Equal(0, len);
        Assert.Equal(page, back);
    }

    [Fact]
    public void CompressiblePageTravelsZstdAndSmaller()
    {
        var page = CompressiblePage();
        var (enc, len, back) = RoundTrip(PageCodec.Shared, page);
        Assert.Equal(PageEncoding.Zstd, enc);
        Assert.InRange(len, 1, Page * 3 / 4);
        Assert.Equal(page, back);
    }

    [Fact]
    public void ZstdIsUsedOnlyWhenItSavesAQuarter()
    {
        // 2 KiB random + zeros compresses to ~52%: worth it; 3.5 KiB random + zeros (~86%): not
        var half = new byte[Page];
        RandomPage(2, 2048).CopyTo(half, 0);
        Assert.Equal(PageEncoding.Zstd, RoundTrip(PageCodec.Shared, half).enc);
        var most = new byte[Page];
        RandomPage(3, 3584).CopyTo(most, 0);
        var (enc, len, back) = RoundTrip(PageCodec.Shared, most);
        Assert.Equal(PageEncoding.Raw, enc);
        Assert.Equal(Page, len);
        Assert.Equal(most, back);
    }

    [Fact]
    public void OtherPageSizesRoundTrip()
    {
        foreach (int size in new[] { 1, 64, 1024, 16384, 65536, 2 << 20 })
        {
            foreach (var page in new[] { RandomPage(size, size), CompressiblePage(size), new byte[size] })
            {
                var (_, len, back) = RoundTrip(PageCodec.Shared, page);
                Assert.InRange(len, 0, size);
                Assert.Equal(page, back);
            }
        }
    }

    [Fact]
    public void CodecWithOtherLevelAndThreshold()
    {
        using var codec = new PageCodec(level: 9, maxZstdPercent: 10);
        var page = CompressiblePage();
        var (enc, len, back) = RoundTrip(codec, page);
        Assert.Equal(page, back);
        Assert.True(enc == PageEncoding.Raw || len <= Page / 10);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PageCodec(maxZstdPercent: 100));
    }

    [Fact]
    public void BadInputIsRejectedClearly()
    {
        var codec = PageCodec.Shared;
        var page = new byte[Page];
        Assert.Throws<ArgumentException>(() => codec.Encode(CompressiblePage(), new byte[Page - 1], out _));
        Assert.Throws<InvalidDataException>(() => codec.Decode(PageEncoding.Zstd, [1, 2, 3, 4, 5, 6, 7, 8, 9], page));
        Assert.Throws<InvalidDataException>(() => codec.Decode(PageEncoding.Raw, new byte[100], page));
        Assert.Throws<InvalidDataException>(() => codec.Decode(PageEncoding.Zero, new byte[1], page));
        Assert.Throws<InvalidDataException>(() => codec.Decode((PageEncoding)9, [], page));

        // a valid frame of the wrong size
        var wire = new byte[Page];
        int len = codec.Encode(CompressiblePage(), wire, out var enc);
        Assert.Equal(PageEncoding.Zstd, enc);
        Assert.Throws<InvalidDataException>(() => codec.Decode(enc, wire.AsSpan(0, len), new byte[Page / 2]));
        Assert.Throws<InvalidDataException>(() => codec.Decode(enc, wire.AsSpan(0, len), new byte[Page * 2]));
        // truncated
        Assert.Throws<InvalidDataException>(() => codec.Decode(enc, wire.AsSpan(0, len - 3), page));
    }

    [Fact]
    public void ManyThreadsShareOneCodec()
    {
        var pages = new[] { RandomPage(11), CompressiblePage(), new byte[Page] };
        var failures = 0;
        var threads = Enumerable.Range(0, 6).Select(t => new Thread(() =>
        {
            var wire = new byte[Page];
            var back = new byte[Page];
            for (int k = 0; k < 2000; k++)
            {
                var page = pages[(k + t) % pages.Length];
                int len = PageCodec.Shared.Encode(page, wire, out var enc);
                PageCodec.Shared.Decode(enc, wire.AsSpan(0, len), back);
                if (!back.AsSpan().SequenceEqual(page)) Interlocked.Increment(ref failures);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        foreach (var t in threads) Assert.True(t.Join(TimeSpan.FromSeconds(60)));
        Assert.Equal(0, failures);
    }

    [Fact]
    public void EncodeAndDecodeAllocateNothingAfterWarmUp()
    {
        var pages = new[] { RandomPage(12), CompressiblePage(), new byte[Page] };
        var wire = new byte[Page];
        var back = new byte[Page];
        void Run()
        {
            for (int k = 0; k < 300; k++)
            {
                var page = pages[k % 3];
                int len = PageCodec.Shared.Encode(page, wire, out var enc);
                PageCodec.Shared.Decode(enc, wire.AsSpan(0, len), back);
            }
        }
        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
