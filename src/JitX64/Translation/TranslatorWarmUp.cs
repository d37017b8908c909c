using Iced.Intel;

namespace Dqemu.JitX64.Translation;

/// <summary>
/// Builds what the first translation needs on a thread of its own while the emulator starts: the decoder table
/// (rows, their buckets) and Iced's encoder and instruction-info tables. Together ~2 ms of a static hello world's
/// ~14, run alongside the ELF load and guest-space set-up instead of before the first block. Whoever needs a table
/// first waits for its static constructor as usual, so on one CPU this only moves the work.
/// </summary>
public static class TranslatorWarmUp
{
    private static Thread? _thread;

    public static void Start()
    {
        var t = new Thread(() =>
        {
            try
            {
                _ = Decoders.Decoder.Decode(0xD503201F); // NOP: builds OpCodeTable.All and the decoder's buckets
                var a = new Assembler(64);
                a.mov(AssemblerRegisters.rax, AssemblerRegisters.__qword_ptr[AssemblerRegisters.rbx + 8]);
                var insn = a.Instructions[0];
                _ = new InstructionInfoFactory().GetInfo(insn);
                Encoder.Create(64, new NullWriter()).Encode(insn, 0);
            }
            catch (Exception)
            {
                // a table that fails to build fails again, with its message, where the translator uses it
            }
        })
        { IsBackground = true, Name = "dqemu-warm-up" };
        _thread = t;
        t.Start();
    }

    /// <summary>
    /// Waits until the warm-up is done (at once when it never started). Node 0 calls it before it starts its workers:
    /// once, a node 0 died of SIGSEGV in libc on this thread (sscanf, which only the runtime's GC memory-load and
    /// cgroup reads call) in the first milliseconds of a two-node run, while the main thread was starting a worker
    /// process. Not reproduced in 300 two-node and 3000 one-node starts; waiting costs at most the warm-up's ~2 ms
    /// and takes the overlap away.
    /// The thread is forgotten once joined: a forked child, which has a copy of this field but not the thread, must not
    /// join again (Join goes through the runtime's wait subsystem, whose lock a thread of the parent may have held at
    /// the fork: a busybox subshell hung there).
    /// </summary>
    public static void Finish() => Interlocked.Exchange(ref _thread, null)?.Join();

    private sealed class NullWriter : CodeWriter
    {
        public override void WriteByte(byte value) { }
    }
}
