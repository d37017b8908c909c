namespace Dqemu.JitX64.Host;

[Flags]
public enum HostProtection
{
    None = 0,
    Read = 1,
    Write = 2,
    Execute = 4,
    ReadWrite = Read | Write,
    ReadExecute = Read | Execute,
    All = Read | Write | Execute,
}

/// <summary>
/// The host operating system's virtual memory, as the translator and the guest address space need it.
/// Linux implements it with mmap/mprotect; another host would add its own implementation here.
/// </summary>
public interface IHostMemory
{
    /// <summary>Reserves address space with no access and no backing commitment.</summary>
    nint Reserve(ulong size);

    /// <summary>Maps fresh zeroed memory at a fixed address inside a reservation with the given access.</summary>
    void Commit(nint address, ulong size, HostProtection protection);

    void Protect(nint address, ulong size, HostProtection protection);

    /// <summary>
    /// Maps <paramref name="size"/> bytes of the open file <paramref name="fd"/> from <paramref name="offset"/> (both
    /// page aligned, inside the file) privately at a fixed address inside a reservation, replacing what was there: a
    /// page is read when first touched and becomes a private copy when written. False, with nothing changed, when this
    /// memory cannot hold file pages (a cluster's shared guest memory) or the host refuses; the caller then copies.
    /// </summary>
    bool TryMapFilePrivate(nint address, ulong size, HostProtection protection, int fd, ulong offset);

    /// <summary>False when <see cref="TryMapFilePrivate"/> always refuses (a cluster's shared guest memory): a loader
    /// need not open the file for it.</summary>
    bool MapsFiles { get; }

    /// <summary>
    /// Backs a committed writable range with memory before it is written, now or in the background (best effort: nothing
    /// happens where the host cannot). The range must stay mapped for the life of the process (the code cache's).
    /// A first write to a fresh page otherwise takes a page fault of its own, ~10 µs on the VMs measured here.
    /// </summary>
    void Populate(nint address, ulong size);

    /// <summary>Returns a range to the reserved, inaccessible state, discarding its contents.</summary>
    void Decommit(nint address, ulong size);

    void Release(nint address, ulong size);

    int PageSize { get; }
}
