using System.Runtime.InteropServices;

namespace Dqemu.Rdma.Ucx;

/// <summary>
/// Loads UCX once per process, after making it safe to share the process with the emulator. By default UCX installs
/// its own SIGSEGV/SIGBUS/SIGILL/SIGFPE handlers and patches mmap/munmap and malloc; the first would take the
/// guest's page faults (the DSM's whole fault path) away from the emulator's generated handler, the second would
/// intercept the guest's mappings. Both are read by UCX's libraries when they are loaded, from the process
/// environment (the C one: .NET's <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach it),
/// so they are set with libc's setenv before the first UCX call. The UCP worker's lock becomes a mutex: with UCX's
/// default spinlock a guest thread preempted while holding it would make every other thread of a one-CPU node spin
/// until the scheduler's next tick.
/// </summary>
public static unsafe partial class UcxLibrary
{
    /// <summary>Variables set whatever the environment says: without them the emulator is not correct.</summary>
    private static readonly (string Name, string Value)[] Forced =
    [
        ("UCX_ERROR_SIGNALS", ""),
        ("UCX_DEBUG_SIGNO", "0"), // UCX takes SIGHUP for its debug mode otherwise: a worker's parent-death signal
        ("UCX_HANDLE_ERRORS", ""),
        ("UCX_MEM_MMAP_HOOK_MODE", "none"),
        ("UCX_MEM_MALLOC_HOOKS", "n"),
        ("UCX_MEM_EVENTS", "n"),
        ("UCX_USE_MT_MUTEX", "y"),
        ("UCX_WARN_UNUSED_ENV_VARS", "n"),
    ];

    /// <summary>Defaults a user may override in the environment: UCX's own log lines would break the one-line
    /// reports (a lost node prints one line, not UCX's view of the broken connection too).</summary>
    private static readonly (string Name, string Value)[] Defaults =
    [
        ("UCX_LOG_LEVEL", "fatal"),
    ];

    private static readonly Lock Gate = new();
    private static string? _version;
    private static string? _error;

    /// <summary>
    /// Makes UCX usable in this process (idempotent) and returns its version string.
    /// </summary>
    /// <exception cref="TransportUnavailableException">the UCX libraries are not installed or not loadable.</exception>
    public static string Load()
    {
        lock (Gate)
        {
            if (_version != null) return _version;
            if (_error != null) throw new TransportUnavailableException(_error);
            foreach (var (name, value) in Forced) SetEnv(name, value, overwrite: true);
            foreach (var (name, value) in Defaults) SetEnv(name, value, overwrite: false);
            foreach (string lib in new[] { UcpNative.Ucs, UcpNative.Ucp })
            {
                if (NativeLibrary.TryLoad(lib, out _)) continue;
                _error = $"transport \"ucx\" needs UCX, but {lib} cannot be loaded: install Debian's libucx0 (apt-get install libucx0)";
                throw new TransportUnavailableException(_error);
            }
            _version = Marshal.PtrToStringUTF8((nint)UcpNative.ucp_get_version_string()) ?? "?";
            return _version;
        }
    }

    private static void SetEnv(string name, string value, bool overwrite)
    {
        fixed (byte* n = Utf8(name), v = Utf8(value))
            if (setenv(n, v, overwrite ? 1 : 0) != 0)
                throw new TransportUnavailableException($"cannot set {name} for UCX (setenv failed)");
    }

    internal static byte[] Utf8(string s)
    {
        var b = new byte[System.Text.Encoding.UTF8.GetByteCount(s) + 1];
        System.Text.Encoding.UTF8.GetBytes(s, b);
        return b;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setenv(byte* name, byte* value, int overwrite);
}
