using System.Net;
using System.Net.Sockets;

namespace Dqemu.Sweep;

/// <summary>
/// Loopback ports for the cluster runs: each run takes the next block of consecutive ports after the previous run's,
/// so a run never binds what the run before it may still be closing, and the blocks wrap within a range chosen from
/// the process id (two sweeps at once rarely share it). A block with a port something else listens on is skipped;
/// when a whole lap of the range finds none free, it waits a second and tries again.
/// </summary>
internal sealed class PortPool
{
    private const int Span = 2000;
    // below Linux's ephemeral range (32768 up), where outgoing connections would take ports of ours
    private readonly int _base = 20000 + Environment.ProcessId % 6 * Span;
    private int _next;

    /// <summary><paramref name="count"/> consecutive free ports on 127.0.0.1.</summary>
    /// <exception cref="TimeoutException">None were free for <paramref name="patience"/>.</exception>
    public int[] Take(int count, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            for (int tries = 0; tries < Span / count; tries++)
            {
                if (_next + count > Span) _next = 0;
                int first = _base + _next;
                _next += count;
                var ports = Enumerable.Range(first, count).ToArray();
                if (ports.All(IsFree)) return ports;
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no {count} free ports in {_base}..{_base + Span - 1}");
            Thread.Sleep(1000);
        }
    }

    /// <summary>
    /// Whether a listener could bind the port. With SO_REUSEADDR, as the nodes bind theirs: connections of an
    /// earlier run still in TIME_WAIT do not stop a node from binding, only a live listener does.
    /// </summary>
    private static bool IsFree(int port)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            s.Bind(new IPEndPoint(IPAddress.Loopback, port));
            s.Listen();
            return true;
        }
        catch (SocketException) { return false; }
    }
}
