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
        t.Start();
    }

    private sealed class NullWriter : CodeWriter
    {
        public override void WriteByte(byte value) { }
    }
}
