using Dqemu.Dsm;
using Xunit;

namespace Dqemu.Tests.Dsm;

public class PlacementTests
{
    private static int[] PlaceMany(Placement p, int n) => Enumerable.Range(0, n).Select(_ => p.Place()).ToArray();

    [Fact]
    public void RoundRobinCyclesFromNodeOne()
    {
        var p = new Placement(PlacementPolicy.RoundRobin, [4, 1, 2]);
        p.Add(0); // main thread
        Assert.Equal(new[] { 1, 2, 0, 1, 2, 0, 1 }, PlaceMany(p, 7));
        Assert.Equal(3, p.Running(0));
        Assert.Equal(3, p.Running(1));
        Assert.Equal(2, p.Running(2));
    }

    /// <summary>[[placement]] rules: by creation index (the main thread is 0), ahead of the policy, which goes on where it
    /// was for the others; Place says which threads a rule placed.</summary>
    [Fact]
    public void RulesPlaceThreadsByCreationIndex()
    {
        var p = new Placement(PlacementPolicy.RoundRobin, [1, 1, 1]);
        p.Add(0);
        p.SetRule(2, 0);
        p.SetRule(3, 0);
        var placed = Enumerable.Range(0, 5).Select(_ => (p.Place(out bool ruled), ruled)).ToArray();
        Assert.Equal(new[] { (1, false), (0, true), (0, true), (2, false), (0, false) }, placed);
        Assert.Equal(4, p.Running(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.SetRule(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.SetRule(1, 3));
    }

    /// <summary>Moves shift the counts; a move and an end reported in either order give the same counts.</summary>
    [Fact]
    public void MovesAreCountedInAnyOrder()
    {
        var p = new Placement(PlacementPolicy.RoundRobin, [1, 1]);
        p.Add(0);
        Assert.Equal(1, p.Place());
        // the thread on node 1 moves to node 0 and ends there; node 0 hears of the end first
        p.Remove(0);
        Assert.Equal(0, p.Running(0));
        p.Move(1, 0);
        Assert.Equal(1, p.Running(0));
        Assert.Equal(0, p.Running(1));
        p.Remove(0);
        Assert.Throws<InvalidOperationException>(() => p.Remove(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Move(0, 2));
    }

    [Fact]
    public void RoundRobinStartCanBeChosenAndOneNodeIsAlwaysZero()
    {
        Assert.Equal(new[] { 0, 1, 0 }, PlaceMany(new Placement(PlacementPolicy.RoundRobin, [1, 1], firstRoundRobinNode: 0), 3));
        Assert.Equal(new[] { 0, 0, 0 }, PlaceMany(new Placement(PlacementPolicy.RoundRobin, [8]), 3));
    }

    [Fact]
    public void FillUsesEveryCoreOfANodeBeforeTheNext()
    {
        var p = new Placement(PlacementPolicy.Fill, [2, 3, 1]);
        p.Add(0); // main thread takes one of node 0's cores
        Assert.Equal(new[] { 0, 1, 1, 1, 2 }, PlaceMany(p, 5));
        // Every core busy: least threads per core wins, lowest id on ties.
        Assert.Equal(0, p.Place());  // 2/2, 3/3, 1/1 all 1.0 -> node 0 (now 3/2)
        Assert.Equal(1, p.Place());  // 1.5, 1.0, 1.0 -> node 1 (now 4/3)
        Assert.Equal(2, p.Place());  // 1.5, 1.33, 1.0 -> node 2
    }

    [Fact]
    public void FillReusesFreedCores()
    {
        var p = new Placement(PlacementPolicy.Fill, [1, 1]);
        Assert.Equal(0, p.Place());
        Assert.Equal(1, p.Place());
        p.Remove(0);
        Assert.Equal(0, p.Place());
        Assert.Throws<InvalidOperationException>(() => new Placement(PlacementPolicy.Fill, [1]).Remove(0));
    }

    [Fact]
    public void BadInputIsRefused()
    {
        Assert.Throws<ArgumentException>(() => new Placement(PlacementPolicy.Fill, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Placement(PlacementPolicy.Fill, [1, 0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Placement(PlacementPolicy.Fill, [1]).Add(1));
        Assert.Equal(PlacementPolicy.RoundRobin, Placement.Parse("round-robin"));
        Assert.Equal(PlacementPolicy.Fill, Placement.Parse("fill"));
        Assert.Throws<ArgumentException>(() => Placement.Parse("random"));
    }

    [Fact]
    public void LocalPlacesOnTheCreatorsNodeAndRulesStillWin()
    {
        var p = new Placement(PlacementPolicy.Local, [1, 1, 2]);
        p.Add(0);
        Assert.Equal(0, p.Place());                   // thread 1, created on node 0
        Assert.Equal(2, p.Place(2, out bool ruled));  // thread 2, created by a thread of node 2
        Assert.False(ruled);
        p.SetRule(3, 1);
        Assert.Equal(1, p.Place(2, out ruled));       // thread 3: its rule, not its creator's node
        Assert.True(ruled);
        Assert.Equal(new[] { 2, 1, 1 }, Enumerable.Range(0, 3).Select(p.Running).ToArray());
        Assert.Equal(PlacementPolicy.Local, Placement.Parse("local"));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Place(3, out _));
    }
}
