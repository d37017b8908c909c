namespace Dqemu.Dsm;

/// <summary>
/// A node's access to one guest page. The numeric order matters: a higher state grants everything a lower one does
/// (<c>state &gt;= needed</c> is the "do I hold it well enough" test).
/// </summary>
public enum PageState : byte
{
    /// <summary>No valid copy here; the guest view has no access.</summary>
    Invalid = 0,
    /// <summary>A read-only copy; other nodes may hold read-only copies too.</summary>
    Shared = 1,
    /// <summary>The only copy in the cluster, read/write.</summary>
    Modified = 2,
}

/// <summary>
/// The runtime's side of a node's guest memory, as the coherence engine sees it. Implemented by the runtime over
/// GuestSpace (the guest view, whose protection follows the page state, plus a second always-writable alias mapping
/// of the same memory) and by tests over byte arrays.
/// </summary>
/// <remarks>
/// All three methods are called from guest threads (inside <see cref="DsmNode.Acquire"/>) and from transport receive
/// threads; they must be thread-safe, must not block on other pages and must not call back into the engine.
/// The engine never calls two of them concurrently for the same page.
/// </remarks>
public interface IPageStore
{
    /// <summary>Sets the guest view's protection of <paramref name="page"/> (page number = guest address &gt;&gt; 12):
    /// Invalid = no access, Shared = read, Modified = read/write. When it returns, no thread of this node may still
    /// write the page through the guest view (mprotect gives that).</summary>
    void Protect(ulong page, PageState state);

    /// <summary>Copies the page's 4096 bytes into <paramref name="dst"/>, whatever the guest view's protection.</summary>
    void Read(ulong page, Span<byte> dst);

    /// <summary>Overwrites the page's 4096 bytes from <paramref name="src"/>, whatever the guest view's protection.</summary>
    void Write(ulong page, ReadOnlySpan<byte> src);
}

/// <summary>The DSM engine failed: a node was lost, the protocol broke, or a page did not arrive in time.</summary>
public sealed class DsmException(string message) : Exception(message);
