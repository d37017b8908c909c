using System.Buffers;
using System.Buffers.Binary;
using Dqemu.Rdma;

namespace Dqemu.Dsm;

// Bulk transfers: many protocol requests to one peer in one transport message. A run of pages asked for at once (a
// read-ahead window, a handover of thousands of pages) costs a request per page; sent one by one, each is a system call
// and a wake-up of the peer's receive thread, which on loopback costs more than the bytes. Inside a batch (BeginBatch
// on the asking thread) the messages for other nodes, the requests and what this node's own home sends for them, queue
// per destination and leave together when the batch ends. The replies are not batched (see DispatchBatch). Nothing
// changes for the protocol: a Batch delivers its messages in order, one after another, as if they had been sent one by
// one on the same connection (the transport's per-pair order), only later; and nothing waits inside a batch.
public sealed partial class DsmNode
{
    /// <summary>Body bytes after which a batch to one node is sent at once (bounded so that no send waits long on a full
    /// socket).</summary>
    public const int BatchLimit = 64 << 10;

    [ThreadStatic] private static Batch? t_batch;
    [ThreadStatic] private static Batch? t_spare;

    /// <summary>
    /// Until the returned scope is disposed, messages this thread sends to other nodes (requests, and what this node's
    /// own home or supplier code sends while handling them inline) go out together, one transport message per node
    /// (at most <see cref="BatchLimit"/> bytes each). For loops of <see cref="Prefetch"/>. Scopes nest. Do not wait
    /// for a page inside one (<see cref="Acquire"/>, pins): its request would not leave before the wait.
    /// </summary>
    public BatchScope BeginBatch()
    {
        var outer = t_batch;
        if (outer != null && outer.Owner == this)
        {
            outer.Depth++;
            return new BatchScope(outer);
        }
        var b = t_spare ?? new Batch();
        t_spare = null;
        b.Open(this, outer);
        t_batch = b;
        return new BatchScope(b);
    }

    /// <summary>Messages batched and batches sent so far (a batch of one message goes as that message).</summary>
    public (long Messages, long Batches) BatchCounts =>
        (Interlocked.Read(ref _c.BatchedMessages), Interlocked.Read(ref _c.BatchesSent));

    /// <summary>True when a Post of this thread to another node is held back for a batch (see <see cref="Post"/>).</summary>
    private bool Batching(out Batch batch)
    {
        batch = t_batch!;
        return batch != null && batch.Owner == this;
    }

    private void EndBatch(Batch b)
    {
        if (--b.Depth > 0) return;
        t_batch = b.Outer;
        try
        {
            for (int node = 0; node < _nodeCount; node++) Flush(b, node);
        }
        finally
        {
            b.Close();
            t_spare ??= b;
        }
    }

    private void Flush(Batch b, int node)
    {
        var (buf, length, count) = b.Take(node);
        if (count == 0) return;
        try
        {
            if (count == 1)
            {
                // one message: as itself (no wrapper)
                ushort type = BinaryPrimitives.ReadUInt16LittleEndian(buf);
                _transport.Send(node, type, buf.AsSpan(BatchItemHeader, length - BatchItemHeader));
            }
            else
            {
                _transport.Send(node, DsmMessages.Batch, buf.AsSpan(0, length));
                Interlocked.Increment(ref _c.BatchesSent);
                Interlocked.Add(ref _c.BatchedMessages, count);
            }
        }
        catch (NodeLostException)
        {
            // the transport reports the loss (OnNodeLost), which stops the engine: nobody waits for these any more
        }
        catch (Exception ex)
        {
            Fail($"node {_self}: a batch of {count} messages to node {node}: {ex.Message}");
        }
    }

    /// <summary>Queues a message for <paramref name="node"/> in the thread's batch, sending the batch first when the
    /// message would take it past <see cref="BatchLimit"/>.</summary>
    private void Enqueue(Batch b, int node, ushort type, ReadOnlySpan<byte> body)
    {
        if (b.Length(node) + BatchItemHeader + body.Length > BatchLimit) Flush(b, node);
        b.Add(node, type, body);
    }

    /// <summary>A received Batch: its messages are handled in order. What they send goes out one by one, as it is ready:
    /// a reader waiting for the first page of a window must not wait for the last (par_scan, 2048 pages read ahead a
    /// round: with the replies batched too a round took 1.16x as long as with no batches at all; with the requests
    /// batched only, 0.84x).</summary>
    private void DispatchBatch(int from, ReadOnlySpan<byte> body)
    {
        var items = new DsmMessages.BatchReader(body);
        while (items.Next(out ushort type, out var item))
        {
            if (type == DsmMessages.Batch) throw new ProtocolException("a batch inside a batch");
            Dispatch(from, type, item);
        }
    }

    private const int BatchItemHeader = DsmMessages.BatchItemHeader;

    /// <summary>One thread's open batch of one engine: a buffer per destination.</summary>
    internal sealed class Batch
    {
        private byte[]?[] _buf = [];
        private int[] _length = [];
        private int[] _count = [];
        public DsmNode? Owner;
        public Batch? Outer;
        public int Depth;

        public void Open(DsmNode owner, Batch? outer)
        {
            Owner = owner;
            Outer = outer;
            Depth = 1;
            if (_buf.Length < owner._nodeCount)
            {
                Array.Resize(ref _buf, owner._nodeCount);
                _length = new int[owner._nodeCount];
                _count = new int[owner._nodeCount];
            }
        }

        public int Length(int node) => _length[node];

        public void Add(int node, ushort type, ReadOnlySpan<byte> body)
        {
            int need = _length[node] + BatchItemHeader + body.Length;
            ref var buf = ref _buf[node];
            if (buf == null || buf.Length < need)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(need, 16 << 10));
                if (buf != null)
                {
                    buf.AsSpan(0, _length[node]).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buf);
                }
                buf = bigger;
            }
            var at = buf.AsSpan(_length[node]);
            BinaryPrimitives.WriteUInt16LittleEndian(at, type);
            BinaryPrimitives.WriteInt32LittleEndian(at[2..], body.Length);
            body.CopyTo(at[BatchItemHeader..]);
            _length[node] = need;
            _count[node]++;
        }

        /// <summary>The queued messages for <paramref name="node"/> (valid until the next Add), and an empty queue.</summary>
        public (byte[] Buffer, int Length, int Count) Take(int node)
        {
            var taken = (_buf[node]!, _length[node], _count[node]);
            _length[node] = 0;
            _count[node] = 0;
            return taken;
        }

        public void Close()
        {
            for (int i = 0; i < _buf.Length; i++)
            {
                if (_buf[i] is { } buf) ArrayPool<byte>.Shared.Return(buf);
                _buf[i] = null;
                _length[i] = 0;
                _count[i] = 0;
            }
            Owner = null;
            Outer = null;
            Depth = 0;
        }
    }

    /// <summary>An open batch (<see cref="BeginBatch"/>); dispose to send what it holds.</summary>
    public readonly struct BatchScope : IDisposable
    {
        private readonly Batch? _batch;

        internal BatchScope(Batch batch) => _batch = batch;

        public void Dispose()
        {
            if (_batch?.Owner is { } owner) owner.EndBatch(_batch);
        }
    }
}
