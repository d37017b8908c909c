namespace Dqemu.Runtime.Memory;

/// <summary>What changed in the guest's layout (one primitive of <see cref="GuestSpace"/>).</summary>
public enum LayoutOp : byte
{
    /// <summary>Fresh zeroed memory replaces [start, end) (mmap, brk growth, MAP_FIXED).</summary>
    Map = 1,
    /// <summary>[start, end) is gone (munmap, brk shrink).</summary>
    Unmap = 2,
    /// <summary>[start, end) keeps its contents under a new protection (mprotect).</summary>
    Protect = 3,
}

/// <summary>
/// A cluster's say in guest memory (implemented by Cluster.ClusterMemory; null on one node). GuestSpace stays the
/// one keeper of the layout; the coherence layer decides the host protection of each page (the guest's
/// protection narrowed to what this node holds), copies layout changes to the other nodes, and fetches pages
/// before managed code or the host kernel touches them (DESIGN.md invariant 2).
/// </summary>
public interface IGuestCoherence
{
    /// <summary>
    /// Called under the layout lock after a primitive changed [start, end) (host memory already discarded for
    /// Map/Unmap, host protection not yet set): sets the host protection, resets page states of replaced memory,
    /// and on node 0 applies the same change on every other node before returning.
    /// </summary>
    void OnLayout(LayoutOp op, ulong start, ulong end, GuestProt prot, string name);

    /// <summary>
    /// [addr, addr+len) is mapped with the access the caller needs: make it present on this node and keep it
    /// (pinned) until <see cref="ReleaseResident"/> on this thread.
    /// </summary>
    void MakeResident(ulong addr, ulong len, bool write);

    /// <summary>Releases every range this thread made resident.</summary>
    void ReleaseResident();

    /// <summary>The page holding <paramref name="addr"/> is readable guest memory: fetch a current copy (the
    /// translator then reads it through <see cref="GuestSpace.Alias"/>).</summary>
    void EnsureReadable(ulong addr);
}
