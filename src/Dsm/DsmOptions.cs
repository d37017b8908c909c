namespace Dqemu.Dsm;

/// <summary>Where a page's directory entry lives (its "home" node, which serialises transactions on it).</summary>
public enum HomePolicy
{
    /// <summary>home(page) = page % NodeCount: the directory is spread over every node (the default).</summary>
    Distributed,
    /// <summary>Every page's home is node 0, as in the original DQEMU.</summary>
    Centralized,
}

/// <summary>Tuning of a <see cref="DsmNode"/>. Every node of a cluster must use the same <see cref="Home"/>.</summary>
public sealed class DsmOptions
{
    /// <summary>Where directory entries live; see <see cref="DsmNode.HomeOf"/>.</summary>
    public HomePolicy Home { get; init; } = HomePolicy.Distributed;

    /// <summary>How long <see cref="DsmNode.Acquire"/> waits for one page before it gives up with a
    /// <see cref="DsmException"/> (a lost message or a dead node must not hang the emulator).
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.</summary>
    public TimeSpan AcquireTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Compress page data with <see cref="Codec"/> (zstd when it pays). When false pages travel raw;
    /// all-zero pages travel as a tag either way. Receivers decode whatever arrives.</summary>
    public bool Compress { get; init; } = true;

    /// <summary>The codec for page data; null means <see cref="Dqemu.Rdma.PageCodec.Shared"/> (zstd level 1).</summary>
    public Dqemu.Rdma.PageCodec? Codec { get; init; }

    /// <summary>Hand-offs of one page between nodes (within <see cref="SplitWindow"/>) after which its home looks at
    /// where the nodes touch it and may raise <see cref="DsmNode.SplitSuggested"/>; 0 turns the detection off.</summary>
    public int SplitAfter { get; init; }

    /// <summary>How close together the <see cref="SplitAfter"/> hand-offs must come.</summary>
    public TimeSpan SplitWindow { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Only pages below this number are candidates (the runtime's shadow units live above it).</summary>
    public ulong SplitPageLimit { get; init; } = ulong.MaxValue;

    /// <summary>A home offers a read-mostly page to its readers after a write (<see cref="DsmNode.UpdateOffered"/>);
    /// see DsmNode.Update.cs.</summary>
    public bool PushUpdates { get; init; }

    public static DsmOptions Default { get; } = new();
}
