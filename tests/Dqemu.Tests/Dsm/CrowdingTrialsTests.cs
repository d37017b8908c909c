using Dqemu.Dsm;
using Xunit;

namespace Dqemu.Tests.Dsm;

public class CrowdingTrialsTests
{
    private static readonly ThreadMove[] PairOnto0 = [new ThreadMove(2, 1, 0, Crowding: true)];

    private static Dictionary<int, double> Rates(params (int Tid, double Rate)[] r) => r.ToDictionary(x => x.Tid, x => x.Rate);

    [Fact]
    public void ACrowdingThatPaysStays()
    {
        var trials = new CrowdingTrials(settleMs: 1000, giveUpMs: 5000);
        Assert.True(trials.Start(PairOnto0, [1], tid => 100, now: 0)); // before: 200
        Assert.Equal(1, trials.Open);
        Assert.Empty(trials.Judge(Rates((1, 150), (2, 150)), new Dictionary<int, int> { [1] = 0, [2] = 0 }, now: 1000));
        Assert.Equal(0, trials.Open);
        Assert.Equal(0, trials.Undone);
        Assert.False(trials.Refused(1) || trials.Refused(2));
    }

    [Fact]
    public void ACrowdingThatLosesIsUndoneAndNotTriedAgain()
    {
        var trials = new CrowdingTrials(1000, 5000);
        Assert.True(trials.Start(PairOnto0, [1], tid => 100, 0));
        // 190 < 200: thread 2 goes back to node 1, thread 1 (which did not move) stays; neither is crowded again
        var undo = trials.Judge(Rates((1, 95), (2, 95)), new Dictionary<int, int> { [1] = 0, [2] = 0 }, 1200);
        Assert.Equal(new[] { new ThreadMove(2, 0, 1) }, undo);
        Assert.Equal(1, trials.Undone);
        Assert.True(trials.Refused(1) && trials.Refused(2));
        Assert.False(trials.Refused(3));
    }

    [Fact]
    public void NothingIsJudgedBeforeTheThreadsSettle()
    {
        var trials = new CrowdingTrials(1000, 5000);
        Assert.True(trials.Start(PairOnto0, [1], tid => 100, 0));
        Assert.Empty(trials.Judge(Rates((1, 1), (2, 1)), new Dictionary<int, int> { [1] = 0, [2] = 0 }, 999));
        Assert.Equal(1, trials.Open);
        Assert.Equal(0, trials.Undone);
    }

    [Fact]
    public void ATrialWaitsForEveryThreadsRateThenGivesUp()
    {
        var trials = new CrowdingTrials(1000, 5000);
        Assert.True(trials.Start(PairOnto0, [1], tid => 100, 0));
        var at = new Dictionary<int, int> { [1] = 0, [2] = 0 };
        Assert.Empty(trials.Judge(Rates((1, 1)), at, 2000));              // thread 2 did not report
        Assert.Empty(trials.Judge(Rates((1, 1), (2, double.NaN)), at, 3000)); // thread 2 new on its node
        Assert.Equal(1, trials.Open);
        Assert.Empty(trials.Judge(Rates((1, 1)), at, 5000));              // given up, no verdict
        Assert.Equal(0, trials.Open);
        Assert.Equal(0, trials.Undone);
        Assert.False(trials.Refused(2));
    }

    [Fact]
    public void NoBaselineNoTrial()
    {
        var trials = new CrowdingTrials(1000, 5000);
        Assert.False(trials.Start(PairOnto0, [1], tid => tid == 2 ? double.NaN : 100, 0));
        Assert.Equal(0, trials.Open);
    }

    [Fact]
    public void ATrialCoversMovesToOneNodeOnly()
    {
        var trials = new CrowdingTrials(1000, 5000);
        Assert.Throws<ArgumentException>(() => trials.Start([new ThreadMove(1, 0, 1, true), new ThreadMove(2, 0, 2, true)], [], _ => 1, 0));
        Assert.Throws<ArgumentException>(() => trials.Start([], [], _ => 1, 0));
    }

    [Fact]
    public void AnUndoneThreadThatMovedSinceGoesBackFromWhereItIsNow()
    {
        var trials = new CrowdingTrials(0, 0);
        var moves = new[] { new ThreadMove(5, 2, 0, true), new ThreadMove(6, 1, 0, true) };
        Assert.True(trials.Start(moves, [], _ => 10, 0));
        // thread 6 ended (no location): nothing to undo for it; thread 5 is on node 3 by now
        var undo = trials.Judge(Rates((5, 1), (6, 1)), new Dictionary<int, int> { [5] = 3 }, 0);
        Assert.Equal(new[] { new ThreadMove(5, 3, 2) }, undo);
    }
}
