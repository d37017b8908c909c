using System.Buffers.Binary;
using Dqemu.Rdma;

namespace Dqemu.Dsm;

// The node-local half of the protocol: requests reaching a holder of the page (Forward, FetchInvalidate,
// Invalidate) and answers reaching the requester (PageData, Grant), plus message dispatch.
public sealed partial class DsmNode
{
    /// <summary>
    /// Handles one DSM message (<see cref="IsDsmMessage"/>) from a peer. Call it from the transport's receive thread;
    /// it never waits for a page and never throws (a malformed or unexpected message stops the engine, see
    /// <see cref="Failure"/>).
    /// </summary>
    public void OnMessage(int from, ushort type, ReadOnlySpan<byte> body)
    {
        Interlocked.Add(ref _c.BytesReceived, body.Length);
        try
        {
            if (from < 0 || from >= _nodeCount || from == _self)
                throw new ProtocolException($"message from unknown node {from}");
            if (type == DsmMessages.Batch) DispatchBatch(from, body);
            else Dispatch(from, type, body);
        }
        catch (NodeLostException)
        {
            // a reply to a peer that is gone: the transport reports the loss (OnNodeLost), naming the peer; a Fail
            // here could print its own line first
        }
        catch (Exception ex)
        {
            Fail($"node {_self}: {DsmMessages.Name(type)} from node {from}: {ex.Message}");
        }
    }

    private void Dispatch(int from, ushort type, ReadOnlySpan<byte> body)
    {
        if (body.Length < 8) throw new ProtocolException($"body of {body.Length} bytes is too short");
        ulong page = DsmMessages.PageOf(body);
        switch (type)
        {
            case DsmMessages.ReadReq:
            case DsmMessages.WriteReq:
                HomeRequest(page, from, type == DsmMessages.WriteReq, RequestOffset(body));
                break;
            case DsmMessages.InvAck:
                HomeInvAck(page, from);
                break;
            case DsmMessages.Ack:
                if (body.Length < 9) throw new ProtocolException($"body of {body.Length} bytes is too short");
                HomeAck(page, from, (PageState)body[8]);
                break;
            case DsmMessages.Forward:
            case DsmMessages.FetchInvalidate:
                if (body.Length < 12) throw new ProtocolException($"body of {body.Length} bytes is too short");
                int requester = BinaryPrimitives.ReadInt32LittleEndian(body[8..]);
                if (requester < 0 || requester >= _nodeCount || requester == _self)
                    throw new ProtocolException($"page 0x{page:x}: bad requester {requester}");
                Supply(type, page, requester, fromDeferral: false);
                break;
            case DsmMessages.Invalidate:
                Supply(type, page, -1, fromDeferral: false);
                break;
            case DsmMessages.PageData:
                InstallData(page, body);
                break;
            case DsmMessages.Update:
                OnUpdateOffered(page);
                break;
            case DsmMessages.Grant:
                if (body.Length < 9) throw new ProtocolException($"body of {body.Length} bytes is too short");
                InstallGrant(page, (PageState)body[8]);
                break;
            default:
                throw new ProtocolException($"unknown DSM message type 0x{type:x}");
        }
    }

    /// <summary>Runs a request a pin held back, on the thread that released the pin.</summary>
    private void RunDeferred(ushort type, ulong page, int requester)
    {
        try
        {
            Supply(type, page, requester, fromDeferral: true);
        }
        catch (Exception ex)
        {
            Fail($"node {_self}: deferred {DsmMessages.Name(type)} of page 0x{page:x}: {ex.Message}");
        }
    }

    /// <summary>Whether this node's pins on the page forbid what a request of <paramref name="type"/> would do.</summary>
    private static bool Blocks(LocalPage e, ushort type) => type == DsmMessages.Forward
        ? e.WritePins > 0 && e.State == PageState.Modified
        : e.Pins > 0;

    /// <summary>
    /// This node holds a copy and the home wants it: Forward (downgrade to Shared, send the data to the requester),
    /// FetchInvalidate (drop to Invalid, send the data) or Invalidate (drop to Invalid, InvAck the home).
    /// The protection drops before the data is read, so no write of this node can be lost.
    /// </summary>
    private void Supply(ushort type, ulong page, int requester, bool fromDeferral)
    {
        var s = LocalStripeOf(page);
        PageState old, now;
        lock (s)
        {
            if (!s.Pages.TryGetValue(page, out var e))
            {
                if (fromDeferral) return;
                e = new LocalPage(_initialState);
                s.Pages.Add(page, e);
            }
            if (fromDeferral)
            {
                if (e.Deferred != type) return; // somebody else ran it already
            }
            else if (e.Deferred != 0)
            {
                throw new ProtocolException(
                    $"page 0x{page:x}: {DsmMessages.Name(type)} while a {DsmMessages.Name(e.Deferred)} is still held back");
            }
            if (Blocks(e, type))
            {
                if (e.Deferred == 0) Interlocked.Increment(ref _c.DeferredRequests);
                e.Deferred = type;
                e.DeferredRequester = requester;
                if (e.Waiters > 0) Monitor.PulseAll(s); // a write pin of the pinning thread may have to lend its pins
                return;
            }
            e.Deferred = 0;
            DropPrefetched(e);
            old = e.State;
            if (old == PageState.Invalid && type != DsmMessages.Invalidate)
                throw new ProtocolException($"page 0x{page:x}: asked to supply it but this node has no copy");
            now = type == DsmMessages.Forward ? PageState.Shared : PageState.Invalid;
            e.State = now;
            if (e.Waiters > 0) Monitor.PulseAll(s); // pins waiting for the deferral to run
        }
        if (now != old) _store.Protect(page, now);
        if (type == DsmMessages.Invalidate)
        {
            Interlocked.Increment(ref _c.InvalidationsReceived);
            Post(HomeOf(page), DsmMessages.InvAck, PageBody(page, stackalloc byte[8]));
            return;
        }
        if (type == DsmMessages.FetchInvalidate) Interlocked.Increment(ref _c.InvalidationsReceived);
        SendPage(page, requester, type == DsmMessages.Forward ? PageState.Shared : PageState.Modified);
    }

    /// <summary>Reads the page through the store, encodes it and sends it straight to the requester.</summary>
    private void SendPage(ulong page, int to, PageState state)
    {
        Span<byte> raw = stackalloc byte[PageSize];
        _store.Read(page, raw);
        Span<byte> msg = stackalloc byte[DsmMessages.PageDataHeader + PageWire.MaxEncodedLength];
        int n = PageWire.Encode(_options.Compress ? _codec : null, raw, msg[DsmMessages.PageDataHeader..], out var encoding);
        BinaryPrimitives.WriteUInt64LittleEndian(msg, page);
        msg[8] = (byte)state;
        msg[9] = (byte)encoding;
        Interlocked.Increment(ref _c.PagesSent);
        if (encoding == PageEncoding.Zero) Interlocked.Increment(ref _c.ZeroPagesSent);
        else if (encoding == PageEncoding.Zstd) Interlocked.Increment(ref _c.CompressedPagesSent);
        Post(to, DsmMessages.PageData, msg[..(DsmMessages.PageDataHeader + n)]);
    }

    /// <summary>The answer to this node's request, with the data: install it, wake the waiters, Ack the home.</summary>
    private void InstallData(ulong page, ReadOnlySpan<byte> body)
    {
        if (body.Length < DsmMessages.PageDataHeader) throw new ProtocolException($"body of {body.Length} bytes is too short");
        var state = (PageState)body[8];
        if (state != PageState.Shared && state != PageState.Modified)
            throw new ProtocolException($"page 0x{page:x}: data granted as {state}");
        var s = LocalStripeOf(page);
        bool closed;
        lock (s)
        {
            if (!s.Pages.TryGetValue(page, out var e) || e.InFlight == InFlight.None)
                throw new ProtocolException($"page 0x{page:x}: data arrived but this node asked for none");
            if (e.State != PageState.Invalid)
                throw new ProtocolException($"page 0x{page:x}: data arrived for a copy already held {e.State}");
            closed = e.Prefetched; // a prefetch: the view opens at the first touch (TakePrefetched)
        }
        Span<byte> raw = stackalloc byte[PageSize];
        PageWire.Decode(_codec, body[9], body[DsmMessages.PageDataHeader..], raw);
        // Nothing else touches this page here until the Ack below lets the home start the next transaction.
        _store.Write(page, raw);
        _store.Protect(page, closed ? PageState.Invalid : state);
        Complete(page, state);
        Interlocked.Increment(ref _c.PagesReceived);
        Post(HomeOf(page), DsmMessages.Ack, PageStateBody(page, state, stackalloc byte[9]));
    }

    /// <summary>The home upgraded this node's Shared copy to Modified without sending data.</summary>
    private void InstallGrant(ulong page, PageState state)
    {
        if (state != PageState.Modified) throw new ProtocolException($"page 0x{page:x}: grant of {state}");
        var s = LocalStripeOf(page);
        bool closed;
        lock (s)
        {
            if (!s.Pages.TryGetValue(page, out var e) || e.InFlight != InFlight.Write)
                throw new ProtocolException($"page 0x{page:x}: grant arrived but this node asked for no write access");
            if (e.State != PageState.Shared)
                throw new ProtocolException($"page 0x{page:x}: grant arrived for a copy held {e.State}");
            closed = e.Prefetched; // a write prefetch: the view stays read-only until the first write (TakePrefetched)
        }
        _store.Protect(page, closed ? PageState.Shared : state);
        Complete(page, state);
        Interlocked.Increment(ref _c.Upgrades);
        Post(HomeOf(page), DsmMessages.Ack, PageStateBody(page, state, stackalloc byte[9]));
    }

    private void Complete(ulong page, PageState state)
    {
        var s = LocalStripeOf(page);
        lock (s)
        {
            var e = s.Pages[page];
            e.State = state;
            e.InFlight = InFlight.None;
            e.Completions++;
            e.LastGranted = state;
            if (e.Waiters > 0) Monitor.PulseAll(s);
        }
    }

    private sealed class ProtocolException(string message) : Exception(message);
}
