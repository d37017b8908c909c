namespace Dqemu.Dsm;

/// <summary>A snapshot of one node's futex counters (see <see cref="FutexEngine.Stats"/>).</summary>
/// <param name="LocalWaits">Waits that queued on this node (the ones refused at once with EINVAL/EINTR are not counted).</param>
/// <param name="LocalWakes">Wake calls finished on this node without any message: enough local waiters, a single-node
/// cluster, or node 0 finding no other node registered.</param>
/// <param name="GlobalWakes">Wake calls that had to involve other nodes: a WakeGlobal sent to node 0, or (on node 0)
/// WakeLocal messages sent to registered nodes.</param>
/// <param name="RemoteWakesReceived">Wake messages handled here: WakeLocal (other nodes), WakeGlobal (node 0).</param>
/// <param name="Registrations">Times this node's local waiter count of an address went 0 -> 1 (a Register RPC, or on
/// node 0 a direct update of the global table).</param>
/// <param name="Unregistrations">Registrations given up again (at once when the count went 1 -> 0, or later for a kept one).</param>
/// <param name="ReusedRegistrations">Waits that found a kept (idle) registration and needed no round trip to node 0.</param>
/// <param name="PagesWithWakes">Pages that remote wakes carried to this node and that were handed on (they woke a waiter
/// here, see <see cref="FutexEngine.PagesWithWake"/>).</param>
public readonly record struct FutexStats(
    long LocalWaits,
    long LocalWakes,
    long GlobalWakes,
    long RemoteWakesReceived,
    long Registrations,
    long Unregistrations,
    long ReusedRegistrations,
    long PagesWithWakes = 0);
