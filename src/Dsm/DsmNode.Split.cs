using System.Buffers.Binary;
using System.Diagnostics;

namespace Dqemu.Dsm;

// Page splitting, the home's half: spotting a page that ping-pongs between nodes while they touch disjoint parts of
// it. The split itself (shadow units, redirection in translated code, merging back) is the runtime's; the engine only
// learns the pattern, because every request for the page passes its home.
public sealed partial class DsmNode
{
    /// <summary>
    /// Raised on the home's thread (often a transport receive thread; handlers must not block) when a page has changed
    /// hands <see cref="DsmOptions.SplitAfter"/> times within <see cref="DsmOptions.SplitWindow"/> and the offsets of
    /// the accesses that fetched it show the nodes in disjoint parts: arguments are the page and the largest unit
    /// (as a shift, 3-11: 8 B to 2 KiB) that keeps every node's accesses apart. Raised again only after another
    /// such run of hand-offs.
    /// </summary>
    public event Action<ulong, int>? SplitSuggested;

    /// <summary>The unit shifts <see cref="SplitSuggested"/> proposes: 8-byte to 2 KiB units.</summary>
    public const int MinSplitShift = 3, MaxSplitShift = 11;

    /// <summary>
    /// Raised like <see cref="SplitSuggested"/> when a page at or above <see cref="DsmOptions.SplitPageLimit"/> (a unit of
    /// a split page) has changed hands <see cref="DsmOptions.SplitAfter"/> times within the window: the nodes share the
    /// unit itself, so the split does not help and the runtime merges the page back.
    /// </summary>
    public event Action<ulong>? UnitContended;

    /// <summary>Pages this node, as home, proposed for splitting so far.</summary>
    public long SplitsSuggested => Interlocked.Read(ref _splitsSuggested);

    private long _splitsSuggested;

    private static ushort RequestOffset(ReadOnlySpan<byte> body) =>
        body.Length >= DsmMessages.RequestSize ? BinaryPrimitives.ReadUInt16LittleEndian(body[8..]) : DsmMessages.NoOffset;

    /// <summary>
    /// Records one request (under the entry's lock) and returns the unit shift to split the page at, or 0. A hand-off
    /// is a request from another node than the previous one; the last <see cref="SharingSamples.Size"/> requests'
    /// (node, offset) pairs are the evidence for the unit.
    /// </summary>
    private int NoteSharing(DirEntry e, int from, ushort offset)
    {
        if (offset >= PageSize) return 0;
        (e.Sharing ??= new SharingSamples()).Add(from, offset);
        return NoteHandOff(e, from) ? e.Sharing.DisjointShift() : 0;
    }

    /// <summary>Records a request for a unit (under the entry's lock); true when the unit has been handed off
    /// <see cref="DsmOptions.SplitAfter"/> times within the window.</summary>
    private bool NoteHandOff(DirEntry e, int from)
    {
        var s = e.Sharing ??= new SharingSamples();
        if (from == s.LastNode) return false;
        s.LastNode = from;
        long now = Stopwatch.GetTimestamp();
        if (s.HandOffs == 0 || now - s.WindowStart > _options.SplitWindow.TotalSeconds * Stopwatch.Frequency)
        {
            s.WindowStart = now;
            s.HandOffs = 0;
        }
        if (++s.HandOffs < _options.SplitAfter) return false;
        s.HandOffs = 0;
        return true;
    }

    /// <summary>Raises <see cref="SplitSuggested"/> (shift &gt; 0) or <see cref="UnitContended"/> (shift -1).</summary>
    private void SuggestSplit(ulong page, int shift)
    {
        if (shift > 0) Interlocked.Increment(ref _splitsSuggested);
        try
        {
            if (shift > 0) SplitSuggested?.Invoke(page, shift);
            else UnitContended?.Invoke(page);
        }
        catch (Exception ex) { Fail($"node {_self}: split of page 0x{page:x}: {ex.Message}"); }
    }

    /// <summary>The recent requests for one page: who asked, at which offset.</summary>
    private sealed class SharingSamples
    {
        public const int Size = 16;

        private readonly int[] _node = new int[Size];
        private readonly ushort[] _offset = new ushort[Size];
        private int _count, _next;
        public int LastNode = -1;
        public int HandOffs;
        public long WindowStart;

        public void Add(int node, ushort offset)
        {
            _node[_next] = node;
            _offset[_next] = offset;
            _next = (_next + 1) % Size;
            if (_count < Size) _count++;
        }

        /// <summary>
        /// The largest unit shift at which no unit holds offsets of two different nodes, or 0 when even 8-byte units
        /// would be shared (true sharing: splitting cannot help) or when the accesses do not come back to the same
        /// units (more distinct units than half the samples: nodes scattered over the page, as random accesses to
        /// shared data are, would only trade page faults for unit faults).
        /// </summary>
        public int DisjointShift()
        {
            for (int shift = MaxSplitShift; shift >= MinSplitShift; shift--)
            {
                bool apart = true;
                for (int i = 0; i < _count && apart; i++)
                    for (int j = i + 1; j < _count && apart; j++)
                        apart = _node[i] == _node[j] || _offset[i] >> shift != _offset[j] >> shift;
                if (!apart) continue;
                int distinct = 0;
                for (int i = 0; i < _count; i++)
                {
                    bool seen = false;
                    for (int j = 0; j < i && !seen; j++) seen = _offset[i] >> shift == _offset[j] >> shift;
                    if (!seen) distinct++;
                }
                return distinct * 2 <= _count ? shift : 0;
            }
            return 0;
        }
    }
}
