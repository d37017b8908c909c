using Dqemu.JitX64.Host;
using Dqemu.JitX64.Translation;

namespace Dqemu.Runtime.Host;

/// <summary>
/// Copies between managed buffers and guest memory that survive a fault: a guest range the layout calls accessible can
/// still fault (a MAP_SHARED or private file page past the end of its file raises SIGBUS, another guest thread may unmap
/// or re-protect it meanwhile), and a fault in managed code would end the emulator. The copy runs in a routine in the
/// code cache whose one faulting instruction the host fault handler resumes (HostFaultHandler), so a fault becomes a
/// short copy, which the syscalls answer with EFAULT as Linux's copy_to_user/copy_from_user do.
/// </summary>
public static unsafe class GuardedCopy
{
    private static delegate* unmanaged<void*, void*, nuint, nuint> _copy;

    /// <summary>The routine and its resume point; default until <see cref="Initialize"/>.</summary>
    public static GuardedCopyThunk Thunk { get; private set; }

    /// <summary>Places the routine in <paramref name="cache"/> (once); install the fault handler after this.</summary>
    public static void Initialize(CodeCache cache)
    {
        if (_copy != null) return;
        Thunk = NativeThunks.CreateGuardedCopy(cache);
        _copy = (delegate* unmanaged<void*, void*, nuint, nuint>)Thunk.Entry;
    }

    /// <summary>Whether <see cref="Initialize"/> has placed the routine (<see cref="Copy"/> throws before).</summary>
    public static bool Ready => _copy != null;

    /// <summary>Copies <paramref name="len"/> bytes; false when an access faulted (part may have been copied).</summary>
    public static bool Copy(void* dst, void* src, ulong len)
    {
        if (len == 0) return true;
        if (_copy == null) throw new InvalidOperationException("GuardedCopy.Initialize was not called");
        return _copy(dst, src, (nuint)len) == 0;
    }
}
