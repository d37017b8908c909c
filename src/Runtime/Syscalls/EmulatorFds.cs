using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;
using static Tmds.Linux.LibC;

namespace Dqemu.Runtime.Syscalls;

/// <summary>
/// Host fds the emulator itself holds. Guest fds are host fds (as in qemu), so the emulator's own must stay
/// out of the guest's way: a guest's first open() is fd 3 on Linux, and a guest that closes every fd from 3
/// up (a common daemon idiom) must not close the .NET runtime's /dev/urandom or console descriptors.
/// <see cref="MoveRuntimeFdsHigh"/> (call it first thing in Main) makes the runtime open what it keeps above
/// <see cref="Floor"/>; close, close_range and dup2/dup3 onto a recorded fd then leave it alone.
/// </summary>
public static partial class EmulatorFds
{
    /// <summary>Emulator fds live at or above this number (guests rarely get that far).</summary>
    public const int Floor = 200;

    private static readonly ConcurrentDictionary<int, byte> Fds = new();

    public static bool Owns(int fd) => !Fds.IsEmpty && Fds.ContainsKey(fd);

    /// <summary>Records an fd the emulator opened itself (move it to <see cref="Floor"/> or above first: F_DUPFD).</summary>
    public static void Add(int fd) => Fds[fd] = 0;

    /// <summary>The emulator closed <paramref name="fd"/>: the number is the guest's to use again.</summary>
    public static void Forget(int fd) => Fds.TryRemove(fd, out _);

    /// <summary>A close-on-exec pipe of the emulator's own, both ends moved high and recorded; 0 or -errno.</summary>
    public static unsafe long Pipe(out int readEnd, out int writeEnd)
    {
        readEnd = writeEnd = -1;
        int* fds = stackalloc int[2];
        long r = Host.HostSyscall.Call(Host.HostSyscall.Nr.Pipe2, (long)fds, O_CLOEXEC);
        if (r < 0) return r;
        readEnd = MoveHigh(fds[0], out _);
        writeEnd = MoveHigh(fds[1], out _);
        return 0;
    }

    /// <summary>Closes an emulator fd and gives its number back to the guest (nothing for -1).</summary>
    public static void Close(int fd)
    {
        if (fd < 0) return;
        Forget(fd);
        close(fd);
    }

    public static IReadOnlyCollection<int> All => Fds.Keys.ToArray();

    /// <summary>
    /// Moves a descriptor the emulator just opened to <see cref="Floor"/> or above (close-on-exec), closes the low one
    /// and records the one kept. When no copy can be made the low one is kept (and recorded), and
    /// <paramref name="dupError"/> says why; the result is then below <see cref="Floor"/>.
    /// </summary>
    public static int MoveHigh(int fd, out int dupError)
    {
        int high = DupHigh(fd);
        dupError = high < 0 ? -high : 0;
        if (high < 0)
        {
            Add(fd);
            return fd;
        }
        close(fd);
        return high;
    }

    /// <summary>A close-on-exec copy of <paramref name="fd"/> at <see cref="Floor"/> or above, recorded as the
    /// emulator's (the original stays open and is not recorded), or -errno.</summary>
    public static int DupHigh(int fd)
    {
        int high = fcntl(fd, F_DUPFD_CLOEXEC, Floor);
        if (high < 0) return -errno;
        Add(high);
        return high;
    }

    /// <summary>
    /// Occupies every free fd below <see cref="Floor"/> with a placeholder, runs <paramref name="warmUp"/>
    /// (which makes the runtime open the descriptors it keeps: its random seed source, the console streams),
    /// frees the placeholders and records the close-on-exec fds at or above <see cref="Floor"/>: the runtime
    /// opens everything close-on-exec, while fds inherited from the parent (the guest's) cannot be.
    /// Call it before anything else: whatever runs first may open what the runtime keeps at a low number.
    /// </summary>
    public static void MoveRuntimeFdsHigh(Action warmUp)
    {
        // one open of /dev/null, then dup()s of it (Dup, bound at link time): 200 File.OpenHandle calls (open, fstat,
        // a SafeHandle each) were ~1.4 ms of a static hello world's start
        var first = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read);
        int firstFd = (int)first.DangerousGetHandle();
        var placeholders = new List<int>();
        int ceiling = Floor;
        if (firstFd >= Floor) first.Dispose();
        else
        {
            while (true)
            {
                int fd = Dup(firstFd);
                if (fd < 0)
                {
                    // a low RLIMIT_NOFILE: leave room for what the warm-up opens
                    for (int i = 0; i < 32 && placeholders.Count > 0; i++)
                    {
                        close(placeholders[^1]);
                        placeholders.RemoveAt(placeholders.Count - 1);
                    }
                    // dup gives the lowest free fd, so the last placeholder is the highest
                    ceiling = placeholders.Count == 0 ? firstFd : placeholders[^1] + 1;
                    if (placeholders.Count == 0) first.Dispose();
                    break;
                }
                if (fd >= Floor) { close(fd); break; }
                placeholders.Add(fd);
            }
        }
        try { warmUp(); }
        finally
        {
            foreach (int fd in placeholders) close(fd);
            first.Dispose(); // a SafeHandle closes its fd once, however often it is disposed
        }
        foreach (int fd in OpenFds())
            if (fd >= ceiling && fcntl(fd, F_GETFD) is int f && f >= 0 && (f & FD_CLOEXEC) != 0) Add(fd);
    }

    // bound when the binary is linked (DirectPInvoke "libc"): Tmds.LibC's dup, bound at run time, seeded string
    // hashing first, which opened /dev/urandom below the placeholders
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "dup")]
    private static partial int Dup(int fd);

    /// <summary>The default warm-up: what the .NET runtime opens lazily and then keeps.</summary>
    public static void WarmUpRuntime()
    {
        _ = Random.Shared.Next();               // the random seed source (/dev/urandom, held open)
        _ = "dqemu".GetHashCode();               // string hashing's seed (the same source)
        Console.Out.Flush();                     // duplicates of fds 1 and 2 for the console streams
        Console.Error.Flush();
        Console.Error.Write("");
        // the console's terminal and signal set-up (a pipe pair) happens at the first write reaching the console
        // stream, which Write("") never does: a first --strace line opened it at fds 3 and 4 (the guest's first open
        // got 5). A zero-byte write to the stream runs it now.
        using (var err = Console.OpenStandardError()) err.Write(ReadOnlySpan<byte>.Empty);
    }

    private static HashSet<int> OpenFds()
    {
        var set = new HashSet<int>();
        try
        {
            foreach (var e in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
                if (int.TryParse(Path.GetFileName(e), out int fd)) set.Add(fd);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return set;
    }
}
