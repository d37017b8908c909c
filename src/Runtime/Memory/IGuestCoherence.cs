namespace Dqemu.Runtime.Memory;

/// <summary>What changed in the guest's layout (one primitive of <see cref="GuestSpace"/>).</summary>
public enum LayoutOp : byte
{
    /// <summary>Fresh zeroed memory replaces [start, end) (mmap, brk growth, MAP_FIXED).</summary>
    Map = 1,
    /// <summary>[start, end) is gone (munmap, brk shrink).</summary>
    Unmap = 2,
    /// <summary>[start, end) keeps its contents under a new protection (mprotect) that takes a right away somewhere.</summary>
    Protect = 3,
    /// <summary>
    /// [start, end) keeps its contents under a new protection that only adds rights (mprotect; glibc grows every
    /// thread's malloc arena this way). Node 0 does not copy it to the other nodes, which is what makes it cheap: a
    /// worker's layout may lack it, never has more rights than node 0's, and asks before it denies an access
    /// (<see cref="IGuestCoherence.RefreshLayout"/>).
    /// </summary>
    Widen = 4,
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
    /// and on node 0 applies the same change on every other node before returning (all but a Widen).
    /// </summary>
    void OnLayout(LayoutOp op, ulong start, ulong end, GuestProt prot, string name);

    /// <summary>
    /// [addr, addr+len) is mapped with the access the caller needs: make it present on this node and keep it
    /// (pinned) until <see cref="ReleaseResident"/> on this thread.
    /// </summary>
    void MakeResident(ulong addr, ulong len, bool write);

    /// <summary>Releases every range this thread made resident.</summary>
    void ReleaseResident();

    /// <summary>
    /// This node's layout denies an access somewhere in [addr, addr+len): bring the protections of that range up to
    /// node 0's (which may have widened them without telling, see <see cref="LayoutOp.Widen"/>). True when this
    /// node's layout may have changed, so the caller checks once more; false on node 0 and when nothing changed.
    /// Only from a thread that may wait for another node (a guest thread, never a transport receive thread).
    /// </summary>
    bool RefreshLayout(ulong addr, ulong len);

    /// <summary>The page holding <paramref name="addr"/> is readable guest memory: fetch a current copy (the
    /// translator then reads it through <see cref="GuestSpace.Alias"/>).</summary>
    void EnsureReadable(ulong addr);
}
