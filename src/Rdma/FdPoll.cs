using System.Runtime.InteropServices;

namespace Dqemu.Rdma;

/// <summary>
/// poll(2) on one descriptor: how the transports' own threads sleep until a socket or UCX's event fd has something
/// (Tmds.LibC 0.5.0 has epoll but no poll).
/// </summary>
internal static unsafe partial class FdPoll
{
    /// <summary>POLLIN: data to read.</summary>
    public const short In = 1;

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> for <paramref name="fd"/> to be readable (or to report an error or a
    /// hang-up, in <paramref name="revents"/>). Returns poll's result: 1 when it is, 0 at the timeout, -1 on an error
    /// (errno through <see cref="Marshal.GetLastPInvokeError"/>, e.g. EINTR).
    /// </summary>
    public static int WaitReadable(int fd, int timeoutMs, out short revents)
    {
        var p = new PollFd { Fd = fd, Events = In };
        int r = poll(&p, 1, timeoutMs);
        revents = p.Revents;
        return r;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int poll(PollFd* fds, nuint count, int timeoutMs);
}
