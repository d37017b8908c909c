using Dqemu.JitX64.Translation;

namespace Dqemu.JitX64.Decoders;

public delegate void InstEmitter(EmitterContext ctx, A64Op op);

/// <summary>
/// One row of the A64 table. The pattern is 32 characters, bit 31 first: '0'/'1' fixed, '-' ignored,
/// a letter names a field (the same letter may appear in several runs; its bits concatenate, high first).
/// The same row drives decoding, the -d in_asm text and the fuzzer's choice of encodings.
/// </summary>
public sealed class InstDescriptor
{
    public string Name { get; }
    public string Pattern { get; }
    public uint Mask { get; }
    public uint Value { get; }
    public InstEmitter Emit { get; }
    /// <summary>The -d in_asm format (see Disassembler). Rows expanded by arrangement or element size give a template,
    /// the size and Q, and a static function that makes the text on first use: building those strings for every row
    /// cost a static hello world ~2 ms, and a closure per row ~100 bytes more of a table every start builds.</summary>
    public string Format => _format ??= _expand!(_template!, _size, _q);
    private string? _format;
    private readonly Func<string, int, int, string>? _expand;
    private readonly string? _template;
    private readonly int _size, _q;
    /// <summary>Ends the translation block (branches, SVC, exception generation).</summary>
    public bool EndsBlock { get; }

    public InstDescriptor(string name, string pattern, InstEmitter emit, string format, bool endsBlock = false)
        : this(name, pattern, emit, null, null, 0, 0, endsBlock) => _format = format;

    /// <summary>A row whose format is <paramref name="expand"/>(<paramref name="template"/>, <paramref name="size"/>,
    /// <paramref name="q"/>), made on first use.</summary>
    public InstDescriptor(string name, string pattern, InstEmitter emit, Func<string, int, int, string>? expand, string? template,
        int size, int q, bool endsBlock = false)
    {
        if (pattern.Length != 32) throw new ArgumentException($"{name}: pattern must have 32 characters", nameof(pattern));
        Name = name;
        Pattern = pattern;
        Emit = emit;
        _expand = expand;
        _template = template;
        _size = size;
        _q = q;
        EndsBlock = endsBlock;
        uint mask = 0, value = 0;
        for (int i = 0; i < 32; i++)
        {
            char c = pattern[i];
            int bit = 31 - i;
            if (c == '0') mask |= 1u << bit;
            else if (c == '1') { mask |= 1u << bit; value |= 1u << bit; }
        }
        Mask = mask;
        Value = value;
    }

    public bool Matches(uint op) => (op & Mask) == Value;

    /// <summary>Reads the field named by <paramref name="letter"/>, or -1 when the pattern has none.</summary>
    public long Field(uint op, char letter)
    {
        long v = 0;
        bool found = false;
        for (int i = 0; i < 32; i++)
        {
            if (Pattern[i] != letter) continue;
            found = true;
            v = (v << 1) | ((op >> (31 - i)) & 1);
        }
        return found ? v : -1;
    }

    public int FieldWidth(char letter)
    {
        int n = 0;
        foreach (char c in Pattern) if (c == letter) n++;
        return n;
    }

    public override string ToString() => Name;
}
