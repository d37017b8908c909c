using System.Runtime.InteropServices;
using System.Text;

namespace Dqemu.Runtime.Cluster;

/// <summary>
/// Reads a cluster file's bytes once (the parser and the cluster token both use them), refusing what is not a
/// regular file of bounded size before opening it: File.ReadAllBytes read /dev/zero until it ran out of memory,
/// blocked forever in open() on a FIFO, and called a directory "access denied". Every refusal is a config error
/// (exit 78), as a missing or unreadable cluster file always was.
/// </summary>
internal static unsafe class ClusterFileReader
{
    /// <summary>The largest cluster file read: a 64-node cluster with every key and comment is a few KiB.</summary>
    public const int MaxBytes = 1 << 20;

    private const int AtFdCwd = -100;
    private const uint StatxType = 0x1, StatxSize = 0x200;
    private const int SIfmt = 0xF000, SIfreg = 0x8000, SIfdir = 0x4000, SIfifo = 0x1000, SIfchr = 0x2000,
                      SIfblk = 0x6000, SIfsock = 0xC000;

    public static byte[] Read(string path)
    {
        if (path.Length == 0 || path.Contains('\0')) throw Fail(path, "cannot read (not a file name)");
        // stat before open: opening a FIFO blocks until a writer comes, and a device's size says nothing
        var (mode, size) = Stat(path);
        CheckKind(path, mode, size);
        byte[] data;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            // read at most one byte past the limit, whatever the stat said: the file may have grown since, and files
            // of /proc or of some FUSE file systems say 0 and still hold text (a file swapped for a FIFO in between
            // would still block here; that race is not worth a native open)
            var buffer = new byte[MaxBytes + 1];
            int total = 0, n;
            while (total < buffer.Length && (n = file.Read(buffer, total, buffer.Length - total)) > 0) total += n;
            if (total > MaxBytes) throw TooBig(path);
            data = buffer[..total];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Fail(path, $"cannot read ({e.Message})");
        }
        return data;
    }

    /// <summary>The text of the file: TOML is UTF-8 (a leading byte-order mark is allowed and dropped).</summary>
    public static string Decode(string path, byte[] bytes)
    {
        int start = bytes is [0xEF, 0xBB, 0xBF, ..] ? 3 : 0;
        try { return new UTF8Encoding(false, true).GetString(bytes, start, bytes.Length - start); }
        catch (DecoderFallbackException e)
        {
            // the decoder's index counts from the start it was given
            int at = start + Math.Max(0, e.Index);
            int line = 1 + bytes.AsSpan(0, Math.Min(at, bytes.Length)).Count((byte)'\n');
            throw Fail($"{path}:{line}", "not UTF-8 text (TOML files are UTF-8)");
        }
    }

    private static void CheckKind(string path, int mode, long size)
    {
        switch (mode & SIfmt)
        {
            case SIfreg:
                if (size > MaxBytes) throw TooBig(path);
                return;
            case SIfdir: throw Fail(path, "is a directory, not a cluster file");
            case SIfifo: throw Fail(path, "is a named pipe (FIFO), not a regular file");
            case SIfchr: throw Fail(path, "is a character device, not a regular file");
            case SIfblk: throw Fail(path, "is a block device, not a regular file");
            case SIfsock: throw Fail(path, "is a socket, not a regular file");
            default: throw Fail(path, "is not a regular file");
        }
    }

    /// <summary>statx(2) of the path, following symbolic links: the file type bits and the size.</summary>
    private static (int Mode, long Size) Stat(string path)
    {
        byte[] name = Encoding.UTF8.GetBytes(path + "\0");
        // struct statx (linux/stat.h): 256 bytes, stx_mode a u16 at offset 28, stx_size a u64 at offset 40
        byte* buf = stackalloc byte[256];
        int r;
        fixed (byte* p = name) r = ClusterNative.statx(AtFdCwd, p, 0, StatxType | StatxSize, buf);
        if (r != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw Fail(path, $"cannot read ({Marshal.GetPInvokeErrorMessage(errno)})");
        }
        return (*(ushort*)(buf + 28), (long)*(ulong*)(buf + 40));
    }

    private static FatalException TooBig(string path)
        => Fail(path, $"is larger than {MaxBytes >> 20} MiB, the most a cluster file may have");

    private static FatalException Fail(string where, string message)
        => new(ExitCodes.Config, ConfigText.OneLine($"{where}: {message}"));
}
