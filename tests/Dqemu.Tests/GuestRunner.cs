using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;

namespace Dqemu.Tests;

/// <summary>What a finished (or killed) process left behind.</summary>
public sealed record ProcessResult(
    int ExitCode,
    byte[] StdoutBytes,
    string Stderr,
    bool TimedOut,
    bool StdoutTruncated,
    TimeSpan Elapsed)
{
    /// <summary>Stdout decoded as UTF-8 (compare <see cref="StdoutBytes"/> for exactness).</summary>
    public string Stdout => Encoding.UTF8.GetString(StdoutBytes);

    /// <summary>
    /// Exit status as a shell shows it: the exit code, or 128+signal for a process killed
    /// by a signal (.NET on Unix already reports it that way).
    /// </summary>
    public string Describe() =>
        TimedOut ? "timed out (killed)"
        : ExitCode > 128 && ExitCode < 128 + 65 ? $"exit {ExitCode} (signal {ExitCode - 128})"
        : $"exit {ExitCode}";
}

/// <summary>
/// Shared helpers for tests that run programs: locating the repository, the built
/// emulator and guests, and running a command with arguments, environment, stdin,
/// working directory and a timeout.
/// </summary>
public static class GuestRunner
{
    /// <summary>Environment every guest run gets (the test environment is not inherited).</summary>
    public static readonly IReadOnlyDictionary<string, string> StandardGuestEnvironment =
        new Dictionary<string, string>
        {
            ["PATH"] = "/usr/local/bin:/usr/bin:/bin",
            ["LC_ALL"] = "C",
            ["DQEMU_TEST_VAR"] = "hello",
        };

    /// <summary>Default time limit for one guest run.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Stdout beyond this many bytes is drained but not kept.</summary>
    public const int MaxCapturedStdout = 64 * 1024 * 1024;

    const int MaxCapturedStderr = 1024 * 1024;

    static readonly Lazy<string?> repoRoot = new(LocateRepoRoot);

    /// <summary>
    /// The repository root: the directory holding dqemu-native.sln. Looked for, in order,
    /// in $DQEMU_REPO_ROOT, at or above the test assembly (AppContext.BaseDirectory), at or
    /// above this source file's compile-time location (covers --artifacts-path builds), and
    /// at or above the current directory. Null when none has it.
    /// </summary>
    public static string? RepoRoot => repoRoot.Value;

    static string? LocateRepoRoot()
    {
        var fromEnv = Environment.GetEnvironmentVariable("DQEMU_REPO_ROOT");
        if (!string.IsNullOrEmpty(fromEnv) && File.Exists(Path.Combine(fromEnv, "dqemu-native.sln")))
            return Path.GetFullPath(fromEnv);
        return FindRepoRoot(AppContext.BaseDirectory)
            ?? FindRepoRoot(Path.GetDirectoryName(SourceFilePath()) ?? "")
            ?? FindRepoRoot(Environment.CurrentDirectory);
    }

    static string SourceFilePath([CallerFilePath] string path = "") => path;

    public static string? FindRepoRoot(string start)
    {
        if (string.IsNullOrEmpty(start) || !Directory.Exists(start))
            return null;
        for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "dqemu-native.sln")))
                return dir.FullName;
        }
        return null;
    }

    /// <summary>The repository root, or an exception saying it could not be found.</summary>
    /// <summary>
    /// Runs toolchains/<paramref name="script"/> when <paramref name="product"/> is missing or older than the script
    /// (fetching or building a third-party program at test time, never stored in the repository); a failure throws
    /// with the script's output, so the tests that need the program fail rather than skip.
    /// </summary>
    public static void EnsureMade(string product, string script, string needs)
    {
        var path = Path.Combine(RequireRepoRoot(), "toolchains", script);
        if (File.Exists(product) && File.GetLastWriteTimeUtc(product) >= File.GetLastWriteTimeUtc(path)) return;
        var r = Run("bash", [path], timeout: TimeSpan.FromMinutes(10));
        if (r.ExitCode != 0 || r.TimedOut || !File.Exists(product))
            throw new InvalidOperationException($"toolchains/{script} could not make {product} ({r.Describe()}); it needs {needs}. Its output:\n{r.Stdout}\n{r.Stderr}");
    }

    public static string RequireRepoRoot() =>
        RepoRoot ?? throw new InvalidOperationException(
            $"cannot find dqemu-native.sln above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}; set DQEMU_REPO_ROOT");

    /// <summary>
    /// &lt;repo&gt;/dqemu-native, the NativeAOT binary ./build.sh publishes, or $DQEMU_BINARY when set (a binary
    /// published elsewhere, e.g. with "dotnet publish -o"; the cluster tests read the same variable).
    /// </summary>
    public static string DqemuBinary =>
        Environment.GetEnvironmentVariable("DQEMU_BINARY") is { Length: > 0 } b ? b : Path.Combine(RequireRepoRoot(), "dqemu-native");

    /// <summary>&lt;repo&gt;/tests/guests, the guest sources.</summary>
    public static string GuestSourceDir => Path.Combine(RequireRepoRoot(), "tests", "guests");

    /// <summary>&lt;repo&gt;/build/guests, where toolchains/build-guests.sh puts the AArch64 binaries.</summary>
    public static string GuestBinaryDir => Path.Combine(RequireRepoRoot(), "build", "guests");

    /// <summary>The full path of an executable found on PATH (or in the usual bin directories), or null.</summary>
    public static string? FindOnPath(string name)
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/local/bin", "/usr/bin", "/bin"]);
        foreach (var dir in dirs)
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate) && IsExecutable(candidate))
                return candidate;
        }
        return null;
    }

    public static bool IsExecutable(string path)
    {
        if (OperatingSystem.IsWindows())
            return true;
        try
        {
            var mode = File.GetUnixFileMode(path);
            return (mode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Makes a new empty directory under the system temp directory.</summary>
    public static string CreateTempDirectory(string prefix)
    {
        var safe = new string(prefix.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray());
        return Directory.CreateTempSubdirectory($"dqemu-{safe}-").FullName;
    }

    /// <summary>Deletes a directory tree, ignoring errors (a guest may have left odd permissions).</summary>
    public static void DeleteDirectory(string path)
    {
        try
        {
            if (!Directory.Exists(path))
                return;
            if (!OperatingSystem.IsWindows())
            {
                foreach (var d in Directory.EnumerateDirectories(path, "*", SearchOption.AllDirectories))
                {
                    try { File.SetUnixFileMode(d, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); }
                    catch (Exception) { /* best effort */ }
                }
            }
            Directory.Delete(path, recursive: true);
        }
        catch (Exception)
        {
            // leave it for the OS temp cleaner
        }
    }

    /// <summary>
    /// Runs <paramref name="fileName"/> with <paramref name="args"/> and waits for it.
    /// </summary>
    /// <param name="environment">When given, the child's environment is exactly this (nothing is
    /// inherited); when null, the child inherits the test process's environment.</param>
    /// <param name="stdin">Text written (UTF-8) to the child's stdin, which is then closed. Null
    /// gives an empty stdin (immediate EOF).</param>
    /// <param name="workingDirectory">The child's cwd; null keeps the current one.</param>
    /// <param name="timeout">The child (and its descendants) is killed after this long and the
    /// result says TimedOut. Default <see cref="DefaultTimeout"/>.</param>
    /// <param name="onTimeout">Called with the child's pid when it timed out, before it is killed; what it returns is
    /// appended to the result's stderr (the cluster tests' diagnosis of a hang: ClusterDiagnosis).</param>
    /// <param name="onStarted">Called with the child's pid once it runs (files named after it: --perf-map).</param>
    public static ProcessResult Run(
        string fileName,
        IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? environment = null,
        string? stdin = null,
        string? workingDirectory = null,
        TimeSpan? timeout = null,
        Func<int, string>? onTimeout = null,
        Action<int>? onStarted = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardErrorEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = new UTF8Encoding(false),
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        if (workingDirectory != null)
            psi.WorkingDirectory = workingDirectory;
        if (environment != null)
        {
            psi.Environment.Clear();
            foreach (var (k, v) in environment)
                psi.Environment[k] = v;
        }

        var limit = timeout ?? DefaultTimeout;
        var sw = Stopwatch.StartNew();
        using var p = new Process { StartInfo = psi };
        p.Start();
        onStarted?.Invoke(p.Id);

        var stdoutTask = CaptureAsync(p.StandardOutput.BaseStream, MaxCapturedStdout);
        var stderrTask = CaptureAsync(p.StandardError.BaseStream, MaxCapturedStderr);
        var stdinTask = Task.Run(() =>
        {
            try
            {
                if (!string.IsNullOrEmpty(stdin))
                    p.StandardInput.Write(stdin);
                p.StandardInput.Close();
            }
            catch (IOException)
            {
                // the child exited or closed stdin without reading everything
            }
            catch (ObjectDisposedException)
            {
            }
        });

        var timedOut = false;
        string? diagnosis = null;
        if (!p.WaitForExit(limit))
        {
            timedOut = true;
            if (onTimeout != null)
            {
                try { diagnosis = onTimeout(p.Id); }
                catch (Exception e) { diagnosis = $"(the diagnosis failed: {e.GetType().Name}: {e.Message})"; }
            }
            try { p.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { /* already gone */ }
            p.WaitForExit(TimeSpan.FromSeconds(10));
        }
        else
        {
            p.WaitForExit(); // lets the redirected streams reach EOF
        }

        // A descendant that inherited the pipes could keep them open; do not wait forever.
        var drained = Task.WaitAll([stdoutTask, stderrTask, stdinTask], TimeSpan.FromSeconds(10));
        sw.Stop();

        var (outBytes, outTruncated) = stdoutTask.IsCompletedSuccessfully ? stdoutTask.Result : ([], true);
        var (errBytes, errTruncated) = stderrTask.IsCompletedSuccessfully ? stderrTask.Result : ([], true);
        var stderr = Encoding.UTF8.GetString(errBytes);
        if (errTruncated)
            stderr += "\n[stderr truncated]";
        if (!drained)
            stderr += "\n[output pipes were still open 10 s after the process ended]";
        if (diagnosis != null)
            stderr += $"\n[what its threads were doing when it timed out]\n{diagnosis}";

        int exitCode;
        try { exitCode = p.HasExited ? p.ExitCode : -1; }
        catch (InvalidOperationException) { exitCode = -1; }

        return new ProcessResult(exitCode, outBytes, stderr, timedOut, outTruncated, sw.Elapsed);
    }

    static async Task<(byte[] Data, bool Truncated)> CaptureAsync(Stream s, int limit)
    {
        var ms = new MemoryStream();
        var buf = new byte[64 * 1024];
        var truncated = false;
        int n;
        while ((n = await s.ReadAsync(buf).ConfigureAwait(false)) > 0)
        {
            var keep = Math.Min(n, limit - (int)ms.Length);
            if (keep > 0)
                ms.Write(buf, 0, keep);
            if (keep < n)
                truncated = true; // keep draining so the child never blocks on a full pipe
        }
        return (ms.ToArray(), truncated);
    }
}
