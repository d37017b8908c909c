using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Dqemu.Sweep;

/// <summary>
/// Drives a plan of runs and shows how far it is: on a terminal a live Spectre.Console progress bar (current
/// configuration, run k of n, elapsed, time left, failures so far; each failure also printed above the bar), and
/// when stdout is not a terminal (CI logs, a pipe) one plain line per run, which a log keeps readable.
/// </summary>
internal static class ProgressView
{
    public static void Run(IReadOnlyList<PlannedRun> plan, Func<PlannedRun, RunDone> execute)
    {
        if (Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive) Plain(plan, execute);
        else Live(plan, execute);
    }

    private static void Plain(IReadOnlyList<PlannedRun> plan, Func<PlannedRun, RunDone> execute)
    {
        var left = new TimeLeft(plan);
        var clock = Stopwatch.StartNew();
        int failures = 0;
        for (int i = 0; i < plan.Count; i++)
        {
            var run = plan[i];
            var done = execute(run);
            left.Finished(run, done.WallSeconds);
            if (!done.Ok) failures++;
            var eta = left.Estimate(i + 1, TimeSpan.Zero);
            Console.WriteLine($"[{i + 1}/{plan.Count}] {run.Label} run {run.Round}/{run.Rounds}: {(done.Ok ? "" : "FAILED: ")}{done.Text}" +
                              $"  (elapsed {Clock(clock.Elapsed)}, left ~{(eta is { } e ? Clock(e) : "?")}, failures {failures})");
        }
    }

    private static void Live(IReadOnlyList<PlannedRun> plan, Func<PlannedRun, RunDone> execute)
    {
        var left = new TimeLeft(plan);
        int current = 0, failures = 0;
        var runClock = new Stopwatch();
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(
                new TaskDescriptionColumn { Alignment = Justify.Left },
                new ProgressBarColumn(),
                new Column(_ => new Text($"{Math.Min(current + 1, plan.Count)}/{plan.Count}")),
                new ElapsedTimeColumn(),
                new Column(_ => left.Estimate(current, runClock.Elapsed) is { } e ? new Markup($"left ~{Clock(e)}") : new Markup("[grey]left ?[/]")),
                new Column(_ => failures == 0 ? new Markup("[green]0 failed[/]") : new Markup($"[red]{failures} failed[/]")))
            .Start(ctx =>
            {
                var task = ctx.AddTask("starting", maxValue: plan.Count); // Spectre refuses an empty description
                for (current = 0; current < plan.Count; current++)
                {
                    var run = plan[current];
                    task.Description = $"{Markup.Escape(run.Label)} [grey]run {run.Round}/{run.Rounds}[/]";
                    runClock.Restart();
                    var done = execute(run);
                    left.Finished(run, done.WallSeconds);
                    if (!done.Ok)
                    {
                        failures++;
                        AnsiConsole.MarkupLine($"[red]FAILED[/] {Markup.Escape(run.Label)} run {run.Round}/{run.Rounds}: {Markup.Escape(done.Text)}");
                    }
                    task.Increment(1);
                }
                task.Description = "done";
            });
    }

    /// <summary>h:mm:ss, or m:ss under an hour.</summary>
    private static string Clock(TimeSpan t) =>
        t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);

    /// <summary>A progress column whose content a function gives at each refresh (the counters change between runs, the time left continuously).</summary>
    private sealed class Column(Func<ProgressTask, IRenderable> render) : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) => render(task);
    }
}
