using Dqemu.Dsm;

namespace Dqemu.Tests.Explore;

/// <summary>What one operation of an explored guest thread does.</summary>
public enum OpKind
{
    /// <summary>A guest load of a 64-bit word: faults until the view is readable, then reads it.</summary>
    Read,
    /// <summary>A guest store: faults until the view is writable, then adds one to the word.</summary>
    Write,
    /// <summary>A syscall's pin of one or two pages (read or write), held across a pause, checked and released.</summary>
    Pin,
    /// <summary>Data forwarding's read-ahead of a page (read or write), without waiting.</summary>
    Prefetch,
    /// <summary>A syscall's two buffers in one page, pinned one after the other (both read, both write, or read then
    /// write), with a pause after each: a request held back meanwhile must not make the second pin wait for the first,
    /// nor a write pin's upgrade wait behind the home's transaction that the thread's own read pin holds back.</summary>
    PinTwice,
    /// <summary>Reads a futex word, then FUTEX_WAIT for that value.</summary>
    FutexWait,
    /// <summary>Adds one to a futex word, then FUTEX_WAKE (optionally naming the word's page, as data forwarding does).</summary>
    FutexWake,
    /// <summary>The thread moves to the next node (live migration, between two operations): its later loads must
    /// still see its own earlier stores.</summary>
    Migrate,
}

/// <param name="Page">index into <see cref="ExploreScenario.Pages"/> (Read, Write, Pin, Prefetch).</param>
/// <param name="Word">index into <see cref="ExploreScenario.Words"/> (FutexWait, FutexWake).</param>
/// <param name="Write">a write pin or a write prefetch.</param>
/// <param name="Count">how many threads a FutexWake wakes at most.</param>
/// <param name="Span">pages a pin covers (1 or 2; the second is the next page index).</param>
/// <param name="WithPages">a FutexWake names the word's page; a read PinTwice pins for writing the second time.</param>
public readonly record struct ExploreOp(OpKind Kind, int Page, int Offset, int Word, bool Write, int Count, int Span, bool WithPages)
{
    /// <summary>PinTwice: the second pin is a write pin (after a read pin, an upgrade).</summary>
    public bool SecondPinWrites => Write || WithPages;

    public override string ToString() => Kind switch
    {
        OpKind.Read or OpKind.Write => $"{Kind} page#{Page}+{Offset}",
        OpKind.Pin => $"Pin{(Write ? "W" : "R")} page#{Page}x{Span}",
        OpKind.PinTwice => $"PinTwice{(Write ? "W" : SecondPinWrites ? "RW" : "R")} page#{Page}",
        OpKind.Prefetch => $"Prefetch{(Write ? "W" : "R")} page#{Page} and the next (one batch)",
        OpKind.FutexWait => $"FutexWait word#{Word}",
        OpKind.Migrate => "Migrate",
        _ => $"FutexWake word#{Word} count {Count}{(WithPages ? " +page" : "")}",
    };
}

/// <summary>
/// One explored situation, all drawn from a seed: 2-3 nodes, 1-4 pages, 0-2 futex words living in those pages, one or
/// two guest threads per node with 1-4 operations each, the engines' options (home policy, compression, split sampling,
/// kept futex registrations, pages named by wakes), and whether a node may die. The same seed then drives the
/// schedule's choices, so a seed names a schedule.
/// </summary>
public sealed class ExploreScenario
{
    public const ulong FirstPage = 0x40;
    public const int WordOffset = 2048;

    public required int Nodes { get; init; }
    public required ulong[] Pages { get; init; }
    /// <summary>Per futex word: the index of its page and its offset in it.</summary>
    public required (int Page, int Offset)[] Words { get; init; }
    /// <summary>Per actor: its first node and operations.</summary>
    public required (int Node, ExploreOp[] Ops)[] Actors { get; init; }
    public required HomePolicy Home { get; init; }
    public required bool Compress { get; init; }
    public required int SplitAfter { get; init; }
    public required int KeepIdle { get; init; }
    public required bool ForwardWakes { get; init; }
    /// <summary>Homes offer read-mostly pages to their readers after writes (DsmOptions.PushUpdates); a node offered
    /// a page prefetches it.</summary>
    public bool PushUpdates { get; init; }
    /// <summary>The node that may die during the schedule, or -1.</summary>
    public required int Victim { get; init; }

    public ulong WordAddr(int word) => Pages[Words[word].Page] * DsmNode.PageSize + (ulong)Words[word].Offset;

    public static ExploreScenario Draw(Random rng, ExploreLimits limits)
    {
        int nodes = rng.Next(2, limits.MaxNodes + 1);
        int pageCount = rng.Next(1, limits.MaxPages + 1);
        var pages = new ulong[pageCount];
        ulong next = FirstPage + (ulong)rng.Next(3); // varies which node is home of the first page
        for (int i = 0; i < pageCount; i++) pages[i] = next++;
        int wordCount = rng.Next(0, limits.MaxWords + 1);
        var words = new (int, int)[wordCount];
        for (int i = 0; i < wordCount; i++) words[i] = (rng.Next(pageCount), WordOffset + 8 * i);

        var actors = new List<(int, ExploreOp[])>();
        for (int n = 0; n < nodes; n++)
        {
            int perNode = rng.Next(1, limits.MaxActorsPerNode + 1);
            for (int a = 0; a < perNode; a++)
            {
                var ops = new ExploreOp[rng.Next(1, limits.MaxOps + 1)];
                for (int i = 0; i < ops.Length; i++) ops[i] = DrawOp(rng, pageCount, wordCount);
                actors.Add((n, ops));
            }
        }
        // A wake must cover every wait of its word that it may find queued (the liveness check relies on it: a waiter
        // still blocked at the end must have read the word's final value): count 1 only where one wait exists.
        var waits = new int[wordCount];
        foreach (var (_, ops) in actors)
            foreach (var op in ops)
                if (op.Kind == OpKind.FutexWait) waits[op.Word]++;
        foreach (var (_, ops) in actors)
            for (int i = 0; i < ops.Length; i++)
                if (ops[i].Kind == OpKind.FutexWake)
                    ops[i] = ops[i] with { Count = waits[ops[i].Word] <= 1 ? 1 : rng.Next(2) == 0 ? int.MaxValue : waits[ops[i].Word] };

        return new ExploreScenario
        {
            Nodes = nodes, Pages = pages, Words = words, Actors = actors.ToArray(),
            Home = rng.Next(4) == 0 ? HomePolicy.Centralized : HomePolicy.Distributed,
            Compress = rng.Next(2) == 0,
            SplitAfter = rng.Next(3) == 0 ? 2 : 0,
            KeepIdle = rng.Next(2) == 0 ? 0 : 2,
            ForwardWakes = rng.Next(2) == 0,
            Victim = rng.NextDouble() < limits.KillChance ? rng.Next(nodes) : -1,
            // from the scenario, not the generator: drawing it would change every later choice, and the seeds kept
            // because they once found a bug would no longer replay their schedules
            PushUpdates = (pages[0] + (ulong)actors.Count + (ulong)wordCount) % 2 == 0,
        };
    }

    private static ExploreOp DrawOp(Random rng, int pages, int words)
    {
        int page = rng.Next(pages);
        int offset = 8 * rng.Next(4); // a few words at the start of the page: the futex words live elsewhere
        int r = rng.Next(words > 0 ? 104 : 74);
        var kind = r switch
        {
            < 4 => OpKind.Migrate,
            < 29 => OpKind.Read,
            < 54 => OpKind.Write,
            < 62 => OpKind.Pin,
            < 66 => OpKind.PinTwice,
            < 74 => OpKind.Prefetch,
            < 89 => OpKind.FutexWait,
            _ => OpKind.FutexWake,
        };
        return new ExploreOp(kind, page, offset, words > 0 ? rng.Next(words) : 0, rng.Next(2) == 0, 0,
            kind == OpKind.Pin && page + 1 < pages && rng.Next(3) == 0 ? 2 : 1, rng.Next(2) == 0);
    }

    public override string ToString()
    {
        var sb = new System.Text.StringBuilder();
        sb.Append($"{Nodes} nodes, pages [{string.Join(", ", Pages.Select(p => $"0x{p:x}"))}], home {Home}, compress {Compress}, ");
        sb.Append($"split after {SplitAfter}, keep idle {KeepIdle}, forward wakes {ForwardWakes}, push updates {PushUpdates}, victim {Victim}");
        for (int w = 0; w < Words.Length; w++) sb.Append($"; word#{w} at 0x{WordAddr(w):x}");
        for (int a = 0; a < Actors.Length; a++)
            sb.Append($"\n  actor {a} on node {Actors[a].Node}: {string.Join(", ", Actors[a].Ops)}");
        return sb.ToString();
    }
}

/// <summary>How big an explored situation may get.</summary>
public sealed record ExploreLimits(int MaxNodes = 3, int MaxPages = 4, int MaxWords = 2, int MaxActorsPerNode = 2,
    int MaxOps = 4, double KillChance = 0.1, int MaxSteps = 5000)
{
    public int MaxActors => MaxNodes * MaxActorsPerNode;
}
