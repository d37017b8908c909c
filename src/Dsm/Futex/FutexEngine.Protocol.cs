using System.Buffers.Binary;
using System.Numerics;
using Dqemu.Rdma;

namespace Dqemu.Dsm;

// The message side of the futex engine: dispatch of received messages, node 0's global table, and the ordered outbox.
public sealed partial class FutexEngine
{
    private readonly object _outLock = new();
    private readonly Queue<Outgoing> _outbox = new();
    private bool _draining;

    /// <summary>
    /// Handles one futex message (<see cref="IsFutexMessage"/>) from a peer. Call it from the transport's receive
    /// thread: it never waits and never throws (a malformed or unexpected message stops the engine, see
    /// <see cref="Failure"/>). Messages arriving after a failure are ignored.
    /// </summary>
    public void OnMessage(int from, ushort type, ReadOnlySpan<byte> body)
    {
        if (_failure is not null) return;
        try
        {
            if (from < 0 || from >= _nodeCount || from == _self)
                throw new ProtocolException($"message from unknown node {from}");
            Dispatch(from, type, body);
        }
        catch (NodeLostException)
        {
            // a reply to a peer that is gone: the transport reports the loss (OnNodeLost), naming the peer; a Fail
            // here could print its own line first
        }
        catch (Exception ex)
        {
            Fail($"node {_self}: {FutexMessages.Name(type)} from node {from}: {ex.Message}");
        }
    }

    private void Dispatch(int from, ushort type, ReadOnlySpan<byte> body)
    {
        int need = type switch
        {
            FutexMessages.Register or FutexMessages.RegisterAck => FutexMessages.RegisterSize,
            FutexMessages.Unregister => FutexMessages.UnregisterSize,
            FutexMessages.WakeGlobal or FutexMessages.WakeLocal => FutexMessages.WakeSize,
            _ => throw new ProtocolException($"unknown futex message type 0x{type:x}"),
        };
        ulong[]? pages = [];
        if (type is FutexMessages.WakeGlobal or FutexMessages.WakeLocal)
        {
            pages = FutexMessages.WakePages(body);
            if (pages == null) throw new ProtocolException($"wake body of {body.Length} bytes is not 16 plus a page list");
        }
        else if (body.Length != need) throw new ProtocolException($"body of {body.Length} bytes, expected {need}");
        bool toNode0 = type is FutexMessages.Register or FutexMessages.Unregister or FutexMessages.WakeGlobal;
        if (toNode0 ? _self != 0 : from != 0)
            throw new ProtocolException(toNode0 ? "sent to a node other than 0" : "sent by a node other than 0");
        ulong addr = FutexMessages.AddrOf(body);
        if ((addr & 3) != 0) throw new ProtocolException($"unaligned address 0x{addr:x}");
        switch (type)
        {
            case FutexMessages.Register:
            {
                uint seq = BinaryPrimitives.ReadUInt32LittleEndian(body[8..]);
                if (!GlobalSet(addr, from))
                    throw new ProtocolException($"futex 0x{addr:x}: node {from} registered twice");
                Post(new Outgoing(from, FutexMessages.RegisterAck, addr, seq, 0));
                Flush();
                break;
            }
            case FutexMessages.RegisterAck:
                CompleteRegistration(addr, BinaryPrimitives.ReadUInt32LittleEndian(body[8..]));
                break;
            case FutexMessages.Unregister:
                if (!GlobalClear(addr, from))
                    throw new ProtocolException($"futex 0x{addr:x}: node {from} unregistered without a registration");
                break;
            case FutexMessages.WakeGlobal:
            case FutexMessages.WakeLocal:
            {
                int count = BinaryPrimitives.ReadInt32LittleEndian(body[8..]);
                uint bitset = BinaryPrimitives.ReadUInt32LittleEndian(body[12..]);
                if (count <= 0 || bitset == 0)
                    throw new ProtocolException($"futex 0x{addr:x}: wake of {count} with bitset 0x{bitset:x}");
                Interlocked.Increment(ref _c.RemoteWakesReceived);
                if (type == FutexMessages.WakeGlobal) GlobalStep(addr, count, bitset, origin: from, pages);
                else if (WakeQueue(addr, count, bitset, remote: true, fromHere: false) > 0) HandOver(pages);
                break;
            }
        }
    }

    /// <summary>RegisterAck: the waiters of registration <paramref name="seq"/> may read the word now.</summary>
    private void CompleteRegistration(ulong addr, uint seq)
    {
        var s = LocalStripeOf(addr);
        lock (s)
        {
            // No entry, or a newer one: every waiter of that registration left and its Unregister is on its way.
            if (!s.Entries.TryGetValue(addr, out var e) || e.Seq != seq) return;
            if (e.Registered) throw new ProtocolException($"futex 0x{addr:x}: registration {seq} acknowledged twice");
            Volatile.Write(ref e.Registered, true);
            for (var w = e.Head; w is not null; w = w.Next) w.Signal.Set();
        }
    }

    // ---------------------------------------------------------------- node 0: the global table

    /// <summary>Sets <paramref name="node"/>'s bit in addr's mask; false when it was set already.</summary>
    private bool GlobalSet(ulong addr, int node)
    {
        var g = GlobalStripeOf(addr);
        lock (g)
        {
            ulong m = g.Masks.GetValueOrDefault(addr);
            if ((m & Bit(node)) != 0) return false;
            g.Masks[addr] = m | Bit(node);
            return true;
        }
    }

    /// <summary>Clears <paramref name="node"/>'s bit in addr's mask (dropping empty masks); false when it was not set.</summary>
    private bool GlobalClear(ulong addr, int node)
    {
        var g = GlobalStripeOf(addr);
        lock (g)
        {
            if (!g.Masks.TryGetValue(addr, out ulong m) || (m & Bit(node)) == 0) return false;
            m &= ~Bit(node);
            if (m == 0) g.Masks.Remove(addr);
            else g.Masks[addr] = m;
            return true;
        }
    }

    /// <summary>
    /// Node 0, the global step of a wake that <paramref name="origin"/> could not satisfy locally: WakeLocal to every
    /// other registered node, and node 0's own waiters when node 0 is registered and is not the origin. The mask is read
    /// once under the lock; a registration that lands after that read completes after this step, so its waiters read the
    /// new word. True when messages were sent.
    /// </summary>
    private bool GlobalStep(ulong addr, int count, uint bitset, int origin, ulong[] pages)
    {
        ulong mask;
        var g = GlobalStripeOf(addr);
        lock (g) mask = g.Masks.GetValueOrDefault(addr);
        mask &= ~Bit(origin);
        bool sent = false;
        for (ulong rest = mask; rest != 0; rest &= rest - 1)
        {
            int node = BitOperations.TrailingZeroCount(rest);
            if (node == 0)
            {
                if (WakeQueue(addr, count, bitset, fromHere: false) > 0) HandOver(pages); // origin is another node (masked out above)
            }
            else
            {
                Post(new Outgoing(node, FutexMessages.WakeLocal, addr, (uint)count, bitset, pages));
                sent = true;
            }
        }
        if (sent) Flush();
        return sent;
    }

    // ---------------------------------------------------------------- the outbox

    /// <summary>
    /// Queues a message. Callers that decide Register/Unregister do it under the stripe lock, so the outbox holds them
    /// in decision order. Must be followed by <see cref="Flush"/> once the caller holds no table lock.
    /// </summary>
    private void Post(in Outgoing m)
    {
        lock (_outLock)
        {
            if (_failure is null) _outbox.Enqueue(m);
        }
    }

    /// <summary>
    /// Sends what the outbox holds, in order, unless another thread is already doing so (it will send this thread's
    /// messages too: it only stops when it finds the outbox empty). Called with no table lock held.
    /// </summary>
    private void Flush()
    {
        lock (_outLock)
        {
            if (_draining) return;
            _draining = true;
        }
        Span<byte> buf = stackalloc byte[FutexMessages.WakeSize + 2 + 8 * FutexMessages.MaxWakePages];
        while (true)
        {
            Outgoing m;
            lock (_outLock)
            {
                if (!_outbox.TryDequeue(out m))
                {
                    _draining = false;
                    return;
                }
            }
            try
            {
                var body = m.Type switch
                {
                    FutexMessages.Register or FutexMessages.RegisterAck => FutexMessages.RegisterBody(m.Addr, m.A, buf),
                    FutexMessages.Unregister => FutexMessages.AddrBody(m.Addr, buf),
                    _ => FutexMessages.WakeBody(m.Addr, (int)m.A, m.B, m.Pages, buf),
                };
                _transport.Send(m.To, m.Type, body);
            }
            catch (NodeLostException)
            {
                // the peer is gone: the transport reports the loss (OnNodeLost, naming the node), which stops the
                // engine; a Fail here could print its own line first
            }
            catch (Exception ex)
            {
                // The message is lost (transport closed): waiters could hang on it, so stop the engine.
                Fail($"node {_self}: sending {FutexMessages.Name(m.Type)} for futex 0x{m.Addr:x} to node {m.To}: {ex.Message}");
            }
        }
    }

    /// <summary>One queued message: A = seq (Register, RegisterAck) or count (wakes), B = bitset (wakes), the pages a wake
    /// carries.</summary>
    private readonly record struct Outgoing(int To, ushort Type, ulong Addr, uint A, uint B, ulong[]? Pages = null);

    /// <summary>A remote wake woke a waiter here: the pages it carries go to <see cref="PagesWithWake"/>.</summary>
    private void HandOver(ulong[] pages)
    {
        if (pages.Length == 0 || PagesWithWake is not { } take) return;
        Interlocked.Add(ref _c.PagesWithWakes, pages.Length);
        take(pages);
    }

    private sealed class ProtocolException(string message) : Exception(message);
}
