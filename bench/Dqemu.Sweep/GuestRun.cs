namespace Dqemu.Sweep;

/// <summary>One run of a PARSEC program: what the process did and the output to check.</summary>
/// <param name="Process">Exit status, outputs and times.</param>
/// <param name="Output">Stdout, or the output file's bytes; null when the program wrote no such file.</param>
internal sealed record GuestOutcome(ProcessOutcome Process, byte[]? Output);

/// <summary>
/// Runs a PARSEC program in a fresh temporary working directory (its output file, if any, lands there; nothing of
/// one run can be read by the next), then removes the directory.
/// </summary>
internal static class GuestRun
{
    private const int CannotStart = 126; // what a shell reports for a command it found but could not execute

    /// <param name="command">What to start: the native binary, or an emulator, its options and the guest binary.</param>
    /// <param name="spec">Where the program's output goes.</param>
    /// <param name="args">The guest's arguments (placeholders already expanded), appended to <paramref name="command"/>.</param>
    /// <param name="timeout">How long the run may take before it is killed.</param>
    public static GuestOutcome Run(IReadOnlyList<string> command, ProgramSpec spec, IReadOnlyList<string> args, TimeSpan timeout)
    {
        string dir = Directory.CreateTempSubdirectory("dqemu-sweep-run-").FullName;
        try
        {
            var all = command.Skip(1).Concat(args);
            ProcessOutcome p;
            try { p = TimedProcess.Run(command[0], all, dir, timeout); }
            catch (System.ComponentModel.Win32Exception e)
            {
                // not executable, or a missing interpreter: a failed run like any other, with the shell's status for it
                return new GuestOutcome(new ProcessOutcome(CannotStart, false, [], $"cannot start {command[0]}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(e.NativeErrorCode)}", 0, 0, 0), null);
            }
            byte[]? output = spec.OutputIsStdout ? p.Stdout
                : File.Exists(Path.Combine(dir, spec.Output)) ? File.ReadAllBytes(Path.Combine(dir, spec.Output)) : null;
            return new GuestOutcome(p, output);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* a straggler still writes: leave it in /tmp */ }
        }
    }

    /// <summary>
    /// Why <paramref name="run"/> does not count as correct, in one line, or null when it does: it must not time
    /// out, must exit as the reference did, must write its output, and the output must match (<see cref="OutputCheck"/>).
    /// </summary>
    public static string? Verdict(ProgramSpec spec, Reference reference, GuestOutcome run, TimeSpan timeout)
    {
        if (reference.Problem != null) return $"no reference: {reference.Problem}";
        if (run.Process.TimedOut) return $"timed out after {timeout.TotalSeconds:0} s";
        if (run.Process.ExitCode != reference.ExitCode)
            return $"exit {run.Process.ExitCode} (reference {reference.ExitCode}): {LastError(run.Process.Stderr)}";
        if (run.Output == null) return $"no output file '{spec.Output}'";
        string? diff = OutputCheck.Compare(reference.Output!, run.Output, spec);
        return diff == null ? null : $"output differs: {diff}";
    }

    /// <summary>The last stderr line above the emulator's --stats blocks (where an error message would be), shortened.</summary>
    public static string LastError(string stderr)
    {
        var lines = stderr.Split('\n').Select(l => l.TrimEnd('\r'))
            .TakeWhile(l => !l.StartsWith("dqemu-native stats", StringComparison.Ordinal) && !l.StartsWith("dqemu-native cluster stats", StringComparison.Ordinal))
            .Where(l => l.Trim().Length > 0).ToList();
        if (lines.Count == 0) return "(nothing on stderr)";
        string last = lines[^1].Trim();
        return last.Length > 160 ? last[..160] + "…" : last;
    }
}
