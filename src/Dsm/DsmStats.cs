using System.Diagnostics;
using System.Numerics;

namespace Dqemu.Dsm;

/// <summary>A snapshot of one node's coherence counters (see <see cref="DsmNode.Stats"/>).</summary>
/// <param name="ReadFaults">Read requests this node sent to a home (one per page and miss, however many threads waited).</param>
/// <param name="WriteFaults">Write requests this node sent to a home (including upgrades).</param>
/// <param name="Upgrades">Write requests answered with Grant: the node already had the data and only gained write access.</param>
/// <param name="PagesSent">Pages this node supplied to others (PageData messages).</param>
/// <param name="PagesReceived">Pages installed from PageData messages.</param>
/// <param name="MessagesSent">DSM messages this node sent to other nodes (requests, data, invalidations, acks).</param>
/// <param name="BytesSent">Bytes of DSM message bodies sent to other nodes (page payloads after compression, plus headers).</param>
/// <param name="BytesReceived">Bytes of DSM message bodies received from other nodes.</param>
/// <param name="InvalidationsSent">Invalidate messages this node sent as a home.</param>
/// <param name="InvalidationsReceived">Copies this node dropped because of Invalidate or FetchInvalidate.</param>
/// <param name="ZeroPagesSent">Pages sent as a zero tag (no payload).</param>
/// <param name="CompressedPagesSent">Pages sent compressed.</param>
/// <param name="QueuedRequests">Requests this node, as a home, had to queue behind a running transaction on the same page.</param>
/// <param name="DeferredRequests">Remote requests this node had to hold back because a local pin covered the page.</param>
/// <param name="ReadWaits">Waits for read access that had to go to the network (or join a request of another thread of
/// this node): how many, and their wall time from the miss to the page being usable.</param>
/// <param name="WriteWaits">The same for write access (misses and upgrades).</param>
public readonly record struct DsmStats(
    long ReadFaults,
    long WriteFaults,
    long Upgrades,
    long PagesSent,
    long PagesReceived,
    long MessagesSent,
    long BytesSent,
    long BytesReceived,
    long InvalidationsSent,
    long InvalidationsReceived,
    long ZeroPagesSent,
    long CompressedPagesSent,
    long QueuedRequests,
    long DeferredRequests,
    LatencySummary ReadWaits,
    LatencySummary WriteWaits)
{
    /// <summary>Waits of either kind: the guest-visible remote faults (and syscall buffers fetched) of this node.</summary>
    public long NetworkFaults => ReadWaits.Count + WriteWaits.Count;

    /// <summary>Mean wait over both kinds, microseconds (0 when none).</summary>
    public double MeanFaultLatencyUs => NetworkFaults == 0 ? 0
        : (ReadWaits.MeanUs * ReadWaits.Count + WriteWaits.MeanUs * WriteWaits.Count) / NetworkFaults;
}

/// <summary>A <see cref="LatencyHistogram"/> at one moment: count, mean, median, 99th percentile and maximum, in
/// microseconds (quantiles are bucket midpoints, within about 3%; the maximum is exact).</summary>
public readonly record struct LatencySummary(long Count, double MeanUs, double P50Us, double P99Us, double MaxUs);

/// <summary>
/// A lock-free log-linear histogram of durations in microseconds: values below 16 get their own bucket, larger ones
/// 16 buckets per power of two (so a bucket is at most 1/16 = 6.25% wide). Recording allocates nothing.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBits = 4;
    private const int Sub = 1 << SubBits;          // 16 buckets per octave
    private const int Octaves = 64 - SubBits;
    private readonly long[] _buckets = new long[Sub + Octaves * Sub];
    private long _count;
    private long _sumUs;
    private long _maxUs;

    public long Count => Interlocked.Read(ref _count);

    /// <summary>The largest value recorded (0 when empty).</summary>
    public long Max => Interlocked.Read(ref _maxUs);

    /// <summary>Quantiles are bucket midpoints, so they are capped at the exact maximum.</summary>
    public LatencySummary Summary()
    {
        long max = Max;
        return new(Count, Mean, Math.Min(Quantile(0.5), max), Math.Min(Quantile(0.99), max), max);
    }

    public double Mean { get { long n = Count; return n == 0 ? 0 : (double)Interlocked.Read(ref _sumUs) / n; } }

    public void Record(ulong us)
    {
        Interlocked.Increment(ref _buckets[BucketIndex(us)]);
        long v = (long)Math.Min(us, long.MaxValue / 2);
        Interlocked.Add(ref _sumUs, v);
        Interlocked.Increment(ref _count);
        long max = Interlocked.Read(ref _maxUs);
        while (v > max)
        {
            long seen = Interlocked.CompareExchange(ref _maxUs, v, max);
            if (seen == max) break;
            max = seen;
        }
    }

    public void RecordTicks(long stopwatchTicks)
    {
        if (stopwatchTicks < 0) stopwatchTicks = 0;
        Record((ulong)(stopwatchTicks * 1_000_000.0 / Stopwatch.Frequency));
    }

    public static int BucketIndex(ulong v)
    {
        if (v < Sub) return (int)v;
        int msb = 63 - BitOperations.LeadingZeroCount(v);          // >= SubBits
        int sub = (int)(v >> (msb - SubBits)) & (Sub - 1);
        return Sub + (msb - SubBits) * Sub + sub;
    }

    /// <summary>The smallest value that falls in bucket <paramref name="index"/>.</summary>
    public static ulong BucketLowerBound(int index)
    {
        if (index < Sub) return (ulong)index;
        int octave = (index - Sub) / Sub, sub = (index - Sub) % Sub;
        int msb = octave + SubBits;
        return (1UL << msb) | ((ulong)sub << (msb - SubBits));
    }

    /// <summary>The value at quantile <paramref name="q"/> (0..1): the middle of the bucket holding it; 0 when empty.</summary>
    public double Quantile(double q)
    {
        long n = Count;
        if (n == 0) return 0;
        long rank = Math.Max(1, (long)Math.Ceiling(q * n));
        long seen = 0;
        for (int i = 0; i < _buckets.Length; i++)
        {
            seen += Interlocked.Read(ref _buckets[i]);
            if (seen >= rank)
            {
                if (i < Sub) return i;
                ulong lo = BucketLowerBound(i), hi = i + 1 < _buckets.Length ? BucketLowerBound(i + 1) : ulong.MaxValue;
                return lo + (hi - lo - 1) / 2.0;
            }
        }
        return BucketLowerBound(_buckets.Length - 1);
    }
}
