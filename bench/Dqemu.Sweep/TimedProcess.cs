using System.Diagnostics;

namespace Dqemu.Sweep;

/// <summary>What one child process did: exit status, stdout bytes, stderr text, wall and CPU time.</summary>
/// <param name="ExitCode">Its exit status (meaningless when <paramref name="TimedOut"/>).</param>
/// <param name="TimedOut">It was killed (with its descendants) after the timeout.</param>
/// <param name="Stdout">Everything it wrote to stdout.</param>
/// <param name="Stderr">Everything it wrote to stderr.</param>
/// <param name="WallSeconds">From start to exit.</param>
/// <param name="UserSeconds">User CPU of it and its waited-for descendants (<see cref="ChildCpu"/>).</param>
/// <param name="SysSeconds">System CPU, likewise.</param>
internal sealed record ProcessOutcome(int ExitCode, bool TimedOut, byte[] Stdout, string Stderr,
                                      double WallSeconds, double UserSeconds, double SysSeconds);

/// <summary>Runs one program to its end (or its timeout) in a given working directory, capturing both outputs.</summary>
internal static class TimedProcess
{
    /// <exception cref="System.ComponentModel.Win32Exception">The program could not be started.</exception>
    public static ProcessOutcome Run(string file, IEnumerable<string> args, string workDir, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file)
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // an empty stdin, not the terminal of the sweep
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);

        var cpu0 = ChildCpu.Now();
        var clock = Stopwatch.StartNew();
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start");
        p.StandardInput.Close();
        // read both pipes concurrently, so that a child filling one of them never blocks
        var stdout = new MemoryStream();
        var outTask = p.StandardOutput.BaseStream.CopyToAsync(stdout);
        var errTask = p.StandardError.ReadToEndAsync();
        bool timedOut = !p.WaitForExit(timeout);
        if (timedOut)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { /* it just ended */ }
            p.WaitForExit();
        }
        else p.WaitForExit(); // the no-argument wait also waits for the pipes to reach end of file
        double wall = clock.Elapsed.TotalSeconds;
        var cpu1 = ChildCpu.Now();
        // a descendant that outlived the run (a worker whose node 0 died) may hold the pipes open: do not wait for it
        Task.WaitAll([outTask, errTask], TimeSpan.FromSeconds(10));
        string stderr = errTask.IsCompletedSuccessfully ? errTask.Result : "(stderr left open by a process that outlived the run)";
        byte[] output = outTask.IsCompletedSuccessfully ? stdout.ToArray() : [];
        return new ProcessOutcome(timedOut ? -1 : p.ExitCode, timedOut, output, stderr,
                                  wall, cpu1.User - cpu0.User, cpu1.System - cpu0.System);
    }
}
