using Dqemu.Runtime.Cluster;
using Xunit;

namespace Dqemu.Tests.Cluster;

/// <summary>
/// The split-page table's bookkeeping (PageSplitter): which pages are split now, which the runtime reads to unmark
/// every split-aware instruction once the last split page is whole again.
/// </summary>
public class PageSplitterTests
{
    [Fact]
    public void ActivePagesCountsInstalledPagesUntilTheyAreRemoved()
    {
        var s = new PageSplitter();
        Assert.Equal(0, s.ActivePages);
        int a = s.NewSlot(), b = s.NewSlot();
        s.Install(0x400, a, PageSplitter.MinShift, PageSplitter.SlotState.Filling);
        s.Install(0x401, b, PageSplitter.MaxShift, PageSplitter.SlotState.Active);
        Assert.Equal(2, s.ActivePages);
        Assert.True(s.IsSplit(0x400) && s.IsSplit(0x401));

        s.Remove(0x400, a);
        Assert.Equal(1, s.ActivePages);
        Assert.False(s.IsSplit(0x400));
        Assert.Equal(PageSplitter.SlotState.Retired, s.StateOf(a));
        s.Remove(0x401, b);
        Assert.Equal(0, s.ActivePages);
        Assert.Equal(2, s.SlotsUsed); // slots are never reused
    }
}
