using System.Runtime.InteropServices;

namespace Dqemu.Rdma.Ucx;

/// <summary>
/// Native buffers for messages in flight. UCX may keep a send's buffer until the send completes (a busy shared-memory
/// FIFO, a connection still being wired up), long after <see cref="ITransport.Send"/> has returned and the caller's
/// span is gone; so every message is copied into one of these first, and given back when UCX is done with it (at
/// once in the common case). Buffers up to <see cref="BlockSize"/> are recycled — after warm-up a send allocates
/// nothing; larger ones (rare: a big Attach) are allocated for the one message.
/// </summary>
internal sealed unsafe class SendBufferPool : IDisposable
{
    /// <summary>A block holds a 4 KiB page, its headers and room to spare.</summary>
    public const int BlockSize = 16 * 1024;

    /// <summary>Bytes in front of the message: i32 destination node, i32 1 = pooled / 0 = one-off, 8 reserved.</summary>
    public const int Prefix = 16;

    private const int MaxIdle = 256;

    private readonly Lock _lock = new();
    private readonly nint[] _idle = new nint[MaxIdle];
    private int _count;
    private bool _disposed;

    /// <summary>A buffer with room for <paramref name="length"/> bytes after the prefix; the prefix records <paramref name="node"/>.</summary>
    public byte* Rent(int length, int node)
    {
        byte* b = null;
        bool pooled = length <= BlockSize - Prefix;
        if (pooled)
        {
            lock (_lock)
                if (_count > 0) b = (byte*)_idle[--_count];
            if (b == null) b = (byte*)NativeMemory.Alloc(BlockSize);
        }
        else
        {
            b = (byte*)NativeMemory.Alloc((nuint)(Prefix + length));
        }
        *(int*)b = node;
        *(int*)(b + 4) = pooled ? 1 : 0;
        return b + Prefix;
    }

    /// <summary>The node recorded when <paramref name="message"/> was rented.</summary>
    public static int NodeOf(byte* message) => *(int*)(message - Prefix);

    public void Return(byte* message)
    {
        byte* b = message - Prefix;
        if (*(int*)(b + 4) == 1)
        {
            lock (_lock)
            {
                if (!_disposed && _count < MaxIdle)
                {
                    _idle[_count++] = (nint)b;
                    return;
                }
            }
        }
        NativeMemory.Free(b);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            for (int i = 0; i < _count; i++) NativeMemory.Free((void*)_idle[i]);
            _count = 0;
        }
    }
}
