using System.Numerics;

namespace Dqemu.JitX64.Decoders;

/// <summary>
/// Finds the table row for an instruction word. Rows are bucketed by bits 31..21 (2048 buckets) so a
/// lookup scans only the few rows that can match; within a bucket the most specific row (most fixed
/// bits) comes first, so a special case listed beside its general form wins.
/// </summary>
public static class Decoder
{
    private const int BucketShift = 21;
    private static readonly InstDescriptor[][] Buckets = BuildBuckets(OpCodeTable.All);

    public static InstDescriptor? Decode(uint op)
    {
        foreach (var d in Buckets[op >> BucketShift])
            if ((op & d.Mask) == d.Value) return d;
        return null;
    }

    // Each row goes to exactly the buckets its fixed top bits allow (its free top bits enumerated as subsets), in the
    // specificity order: the work is the size of the result. Testing every row against every bucket cost ~13 ms on a
    // worker node's first guest thread, where it delayed the thread's start. Two passes (count, then fill arrays of
    // the exact size): growing a list per bucket left as much garbage as the buckets hold, at every start.
    private static InstDescriptor[][] BuildBuckets(IReadOnlyList<InstDescriptor> all)
    {
        const int count = 1 << (32 - BucketShift);
        var ordered = all.OrderByDescending(d => BitOperations.PopCount(d.Mask)).ToArray();
        var sizes = new int[count];
        InstDescriptor[][]? buckets = null;
        for (int pass = 0; pass < 2; pass++)
        {
            foreach (var d in ordered)
            {
                const uint topBits = count - 1;
                uint fixedTop = (d.Mask >> BucketShift) & topBits;
                uint valueTop = (d.Value >> BucketShift) & fixedTop;
                uint free = ~fixedTop & topBits;
                uint subset = 0;
                do
                {
                    uint b = valueTop | subset;
                    if (buckets == null) sizes[b]++;
                    else buckets[b][sizes[b]++] = d;
                    subset = (subset - free) & free; // the next subset of the free bits, 0 after the last
                } while (subset != 0);
            }
            if (buckets != null) break;
            buckets = new InstDescriptor[count][];
            for (int b = 0; b < count; b++) buckets[b] = sizes[b] == 0 ? [] : new InstDescriptor[sizes[b]];
            Array.Clear(sizes);
        }
        return buckets!;
    }
}
