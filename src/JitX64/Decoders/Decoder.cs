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

    private static InstDescriptor[][] BuildBuckets(IReadOnlyList<InstDescriptor> all)
    {
        var ordered = all.OrderByDescending(d => BitOperations.PopCount(d.Mask)).ToArray();
        var buckets = new InstDescriptor[1 << (32 - BucketShift)][];
        var scratch = new List<InstDescriptor>();
        for (uint b = 0; b < buckets.Length; b++)
        {
            scratch.Clear();
            uint top = b << BucketShift;
            const uint topMask = ~((1u << BucketShift) - 1);
            foreach (var d in ordered)
                if ((top & d.Mask & topMask) == (d.Value & topMask)) scratch.Add(d);
            buckets[b] = scratch.ToArray();
        }
        return buckets;
    }
}
