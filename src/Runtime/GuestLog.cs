using Microsoft.Win32.SafeHandles;

namespace Dqemu.Runtime;

/// <summary>
/// Where -d output and --strace lines go: stderr, or the -D file (as qemu: its strace is one of its log items).
/// Writes are whole lines or whole blocks, each flushed at once, from any thread.
/// </summary>
public static class GuestLog
{
    private static TextWriter _writer = Console.Error;

    public static TextWriter Writer => _writer;

    public static void Write(string text) => _writer.Write(text);

    public static void WriteLine(string line) => _writer.WriteLine(line);

    /// <summary>
    /// Sends the log to <paramref name="path"/> (created or truncated, as qemu's -D). Its descriptor is moved above
    /// the guest's fd numbers (<see cref="Syscalls.EmulatorFds"/>): the guest's first open() still gets 3.
    /// </summary>
    public static void OpenFile(string path)
    {
        SafeFileHandle low;
        try { low = File.OpenHandle(path, FileMode.Create, FileAccess.Write); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new FatalException(ExitCodes.CantCreate, $"-D {path}: cannot create the log file ({e.Message})");
        }
        int fd = (int)low.DangerousGetHandle();
        low.SetHandleAsInvalid(); // MoveHigh closes or keeps it; the handle below owns what it keeps
        var handle = new SafeFileHandle(Syscalls.EmulatorFds.MoveHigh(fd, out _), ownsHandle: true);
        var stream = new FileStream(handle, FileAccess.Write, bufferSize: 0);
        _writer = TextWriter.Synchronized(new StreamWriter(stream, new System.Text.UTF8Encoding(false)) { AutoFlush = true });
    }
}
