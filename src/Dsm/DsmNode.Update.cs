using System.Numerics;

namespace Dqemu.Dsm;

// Data forwarding, the update part: a read-mostly page's new contents offered to the nodes that read it. A home
// learns, per page, which nodes held a copy when a write took it (its readers) and which of them asked for it again
// before the next write. When every one of at least two readers came back after a write, the next writes' pages are
// offered: the first reader's request after a write (the writer still holds the page Modified) makes the home tell
// the other readers, who ask for it at once as read-ahead (counted used or wasted like any other), instead of each
// faulting on its own. An epoch that was offered teaches nothing (the readers' touches are local), so offers stop
// after PushEpochs writes and the home learns again. Offers are hints: the request a reader sends is an ordinary
// ReadReq, so the protocol is the same with them as without.
public sealed partial class DsmNode
{
    /// <summary>
    /// Raised on a node its home offers <paramref name="page"/> to (<see cref="DsmOptions.PushUpdates"/>): this node
    /// held a copy before the page's latest write and has read it again after the writes before. A handler may
    /// <see cref="Prefetch"/> it (the runtime first checks that the page is still mapped and readable). Runs on a
    /// receive thread, or on the thread whose request made the home decide when this node is the home.
    /// </summary>
    public event Action<ulong>? UpdateOffered;

    /// <summary>Writes (epochs) a page is offered for after one in which all its readers came back.</summary>
    private const int PushEpochs = 4;

    /// <summary>Pages offered to readers by this node as home (one per reader), and offers it received.</summary>
    public (long Offered, long Received) UpdateCounts =>
        (Interlocked.Read(ref _c.UpdatesOffered), Interlocked.Read(ref _c.UpdatesReceived));

    /// <summary>Under the entry's lock, in <see cref="Begin"/>: learns who reads the page between writes, and on the
    /// first read after a write of a page known to be read-mostly puts the other readers in <paramref name="a"/>.</summary>
    private static void NoteReaders(DirEntry e, int r, bool write, ref HomeAction a)
    {
        ulong rbit = Bit(r);
        if (write)
        {
            if (e.Offered) e.OfferLeft = Math.Max(0, e.OfferLeft - 1);
            else e.OfferLeft = e.Readers != 0 && e.ReRead == e.Readers && BitOperations.PopCount(e.Readers) >= 2 ? PushEpochs : 0;
            e.Readers = e.Modified ? 0 : e.Copies & ~rbit;
            e.ReRead = 0;
            e.Offered = false;
            return;
        }
        if ((e.Readers & rbit) == 0) return;
        e.ReRead |= rbit;
        if (e.OfferLeft == 0 || e.Offered || !e.Modified) return;
        e.Offered = true;
        a.Offer = e.Readers & ~rbit & ~e.Copies;
    }

    /// <summary>Outside the lock: tells each node in <paramref name="offer"/> that <paramref name="page"/> is worth
    /// asking for.</summary>
    private void SendOffers(ulong page, ulong offer, Span<byte> buf)
    {
        for (; offer != 0; offer &= offer - 1)
        {
            int node = BitOperations.TrailingZeroCount(offer);
            Interlocked.Increment(ref _c.UpdatesOffered);
            if (node == _self) OnUpdateOffered(page);
            else Post(node, DsmMessages.Update, PageBody(page, buf));
        }
    }

    private void OnUpdateOffered(ulong page)
    {
        Interlocked.Increment(ref _c.UpdatesReceived);
        UpdateOffered?.Invoke(page);
    }
}
