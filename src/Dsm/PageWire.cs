using Dqemu.Rdma;

namespace Dqemu.Dsm;

/// <summary>How page contents travel in a PageData message: the encoding byte is a <see cref="PageEncoding"/>.</summary>
internal static class PageWire
{
    public static readonly int MaxEncodedLength = PageCodec.MaxEncodedLength(DsmNode.PageSize);

    public static int Encode(PageCodec? codec, ReadOnlySpan<byte> page, Span<byte> dst, out PageEncoding encoding)
    {
        if (codec is not null) return codec.Encode(page, dst, out encoding);
        if (!page.ContainsAnyExcept((byte)0))
        {
            encoding = PageEncoding.Zero;
            return 0;
        }
        encoding = PageEncoding.Raw;
        page.CopyTo(dst);
        return page.Length;
    }

    /// <summary>Decodes with any codec: Zero and Raw need none, Zstd frames are self-describing.</summary>
    public static void Decode(PageCodec codec, byte encoding, ReadOnlySpan<byte> src, Span<byte> page) =>
        codec.Decode((PageEncoding)encoding, src, page);
}
