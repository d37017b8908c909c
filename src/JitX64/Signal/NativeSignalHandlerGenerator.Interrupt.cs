using Dqemu.JitX64.Translation;
using Iced.Intel;

namespace Dqemu.JitX64.Signal;

public static partial class NativeSignalHandlerGenerator
{
    /// <summary>
    /// A handler that does nothing: its only effect is that a blocking host syscall of the thread it hits
    /// returns EINTR (it is installed without SA_RESTART), so a guest signal can be delivered.
    /// </summary>
    public static nint GenerateNoOp(CodeCache cache)
    {
        var a = new Assembler(64);
        a.ret();
        return (nint)cache.Place(a, "dqemu:interrupt-handler");
    }
}
