using ZstdSharp;

namespace Dqemu.Rdma;

/// <summary>How a page's bytes travel.</summary>
public enum PageEncoding : byte
{
    /// <summary>The bytes as they are (exactly the page's length).</summary>
    Raw = 0,

    /// <summary>Every byte is zero; nothing is sent.</summary>
    Zero = 1,

    /// <summary>One zstd frame that decompresses to exactly the page's length.</summary>
    Zstd = 2,
}

/// <summary>
/// Encodes memory pages for the wire: an all-zero page becomes <see cref="PageEncoding.Zero"/> (no bytes),
/// a page that zstd shrinks to at most <see cref="MaxZstdPercent"/>% of its size becomes
/// <see cref="PageEncoding.Zstd"/>, anything else goes <see cref="PageEncoding.Raw"/>. The codec works on any
/// length (4 KiB pages, split sub-pages, huge pages); it does not know what a page means.
/// </summary>
/// <remarks>
/// Thread-safe: every thread gets its own zstd compressor and decompressor (held in <see cref="ThreadLocal{T}"/>
/// and reused), so after a thread's first call, encoding and decoding allocate nothing. Use
/// <see cref="Shared"/> (level 1, 75%) unless a different level or threshold is wanted; an instance made with
/// the constructor frees its native zstd contexts on <see cref="Dispose"/>.
/// Compression stops as soon as the output would exceed the threshold, so an incompressible page costs one
/// bounded attempt, not a full compression plus a copy.
/// </remarks>
public sealed class PageCodec : IDisposable
{
    /// <summary>The process-wide codec (zstd level 1, Zstd only when ≤ 75% of raw). Never disposed.</summary>
    public static PageCodec Shared { get; } = new();

    private readonly ThreadLocal<Compressor> _compressors;
    private readonly ThreadLocal<Decompressor> _decompressors;
    private bool _disposed;

    /// <param name="level">zstd level (1 = fast; negative levels are faster still, higher ones smaller).</param>
    /// <param name="maxZstdPercent">use Zstd only when the output is at most this share of the raw size (1..99).</param>
    public PageCodec(int level = 1, int maxZstdPercent = 75)
    {
        if (maxZstdPercent is < 1 or > 99) throw new ArgumentOutOfRangeException(nameof(maxZstdPercent), "must be 1..99");
        Level = level;
        MaxZstdPercent = maxZstdPercent;
        _compressors = new ThreadLocal<Compressor>(() => new Compressor(level), trackAllValues: true);
        _decompressors = new ThreadLocal<Decompressor>(() => new Decompressor(), trackAllValues: true);
    }

    public int Level { get; }
    public int MaxZstdPercent { get; }

    /// <summary>The destination size <see cref="Encode"/> needs for a page of <paramref name="pageLength"/> bytes.</summary>
    public static int MaxEncodedLength(int pageLength) => pageLength;

    /// <summary>
    /// Encodes <paramref name="page"/> into <paramref name="dst"/> (at least <see cref="MaxEncodedLength"/> bytes)
    /// and returns the number of bytes written (0 for <see cref="PageEncoding.Zero"/>).
    /// </summary>
    public int Encode(ReadOnlySpan<byte> page, Span<byte> dst, out PageEncoding encoding)
    {
        if (dst.Length < page.Length)
            throw new ArgumentException($"destination of {dst.Length} bytes is smaller than the page ({page.Length} bytes)", nameof(dst));
        if (!page.ContainsAnyExcept((byte)0))
        {
            encoding = PageEncoding.Zero;
            return 0;
        }
        int limit = (int)((long)page.Length * MaxZstdPercent / 100);
        if (limit > 0)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_compressors.Value!.TryWrap(page, dst[..limit], out int written) && written <= limit)
            {
                encoding = PageEncoding.Zstd;
                return written;
            }
        }
        page.CopyTo(dst);
        encoding = PageEncoding.Raw;
        return page.Length;
    }

    /// <summary>
    /// Fills <paramref name="page"/> from what <see cref="Encode"/> produced for a page of the same length.
    /// </summary>
    /// <exception cref="InvalidDataException">the data is corrupt or of the wrong size.</exception>
    public void Decode(PageEncoding encoding, ReadOnlySpan<byte> src, Span<byte> page)
    {
        switch (encoding)
        {
            case PageEncoding.Zero:
                if (!src.IsEmpty) throw new InvalidDataException($"a Zero page carries {src.Length} bytes (expected none)");
                page.Clear();
                return;
            case PageEncoding.Raw:
                if (src.Length != page.Length)
                    throw new InvalidDataException($"a Raw page of {src.Length} bytes for a {page.Length}-byte page");
                src.CopyTo(page);
                return;
            case PageEncoding.Zstd:
                ObjectDisposedException.ThrowIf(_disposed, this);
                int written;
                bool ok;
                try
                {
                    ok = _decompressors.Value!.TryUnwrap(src, page, out written);
                }
                catch (ZstdException e)
                {
                    throw new InvalidDataException($"a Zstd page does not decompress: {e.Message}", e);
                }
                if (!ok || written != page.Length)
                    throw new InvalidDataException(
                        $"a Zstd page decompresses to {(ok ? written.ToString() : "more than " + page.Length)} bytes, expected {page.Length}");
                return;
            default:
                throw new InvalidDataException($"unknown page encoding {(byte)encoding}");
        }
    }

    public void Dispose()
    {
        if (ReferenceEquals(this, Shared) || _disposed) return;
        _disposed = true;
        foreach (var c in _compressors.Values) c.Dispose();
        foreach (var d in _decompressors.Values) d.Dispose();
        _compressors.Dispose();
        _decompressors.Dispose();
    }
}
