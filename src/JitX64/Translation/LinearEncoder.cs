using Iced.Intel;

namespace Dqemu.JitX64.Translation;

/// <summary>
/// Encodes the instruction list of an Iced <see cref="Assembler"/> at one fixed address, straight into the
/// code cache: the job of <c>Assembler.Assemble</c> (Iced's BlockEncoder) for the code this project emits, at a
/// fraction of the cost (BlockEncoder builds an object per instruction, a dictionary and its relocation lists for
/// every block: most of a block's translation time and most of the garbage a program's start-up makes).
///
/// What the Assembler leaves in its list: an instruction a label was set on carries the label's id as its IP,
/// a branch to a label has the id as its target (in the short form when there is one), and a RIP-relative
/// operand naming a label has the id as its displacement. Here each instruction is one of
///   plain    - its bytes do not depend on where it sits: encoded once, copied into place;
///   label    - a branch to a label: as the Assembler makes it, short, while the displacement fits a byte, else
///              the near form (the layout is redone until no short branch is out of reach; branches only grow, so
///              it ends); one already near stays near;
///   absolute - a branch or call to an address outside the list (a stub, a helper): the near form;
///   relative - a RIP-relative memory operand (to a label or an absolute address): encoded in place.
/// Anything else (a label id that names no instruction, a short-only branch out of reach, an encoder error) makes
/// <see cref="TryLayout"/> return false, and the caller uses BlockEncoder for that list.
///
/// Link sites (the "jmp rel32" a block exit starts with, written as a 5-byte db E9, and a jcc the emitter gave in
/// its near form, EmitterContext.BranchOnHostFlags) get a few bytes of nop before them where their displacement would
/// straddle a 64-byte line: block linking rewrites it with one 4-byte store, which another core fetching the code
/// sees whole only within one line (CodeCache.Patch). A site jcc and the site jmp right after it (its end is the
/// jcc's link address) are kept together: the nop goes before the jcc.
/// </summary>
internal sealed unsafe class LinearEncoder
{
    private enum Kind : byte { Plain, Label, Absolute, Relative }
    private enum Site : byte { None, Jmp, Jcc }

    // Label ids are small (the Assembler numbers them from 1 after each Reset); absolute targets are host
    // addresses far above this.
    private const ulong MaxLabelId = 1 << 20;

    private Instruction[] _insns = new Instruction[256];
    private Kind[] _kind = new Kind[256];
    private int[] _size = new int[256];
    private int[] _target = new int[256];     // Label/Relative-to-label: the index of the labelled instruction, else -1
    private uint[] _offset = new uint[257];
    private int[] _plainAt = new int[256];    // Plain: where its bytes start in _plain
    private Site[] _site = new Site[256];
    private byte[] _pad = new byte[256];      // nop bytes before the instruction (link sites only)
    private ulong _rip;
    private int[] _labelAt = new int[1024];   // label id -> instruction index + 1 (0: none)
    private int _labelsUsed;                  // one past the highest label id set in _labelAt
    private byte[] _plain = new byte[16 * 1024];
    private readonly int[] _branchSize = new int[8192]; // by Code (Iced 1.22 has fewer than 5,000)
    private readonly Sink _sink = new();
    private readonly Encoder _encoder;
    private int _count;

    public LinearEncoder() => _encoder = Encoder.Create(64, _sink);

    /// <summary>Bytes the list takes once laid out (valid after <see cref="TryLayout"/> returned true).</summary>
    public int Length => (int)_offset[_count];

    /// <summary>Offset of instruction <paramref name="index"/> from the start (valid after a layout).</summary>
    public uint OffsetOf(int index) => _offset[index];

    /// <summary>Classifies the list, encodes its plain instructions and fixes every branch's size and every link site's
    /// padding, for code that will run at <paramref name="rip"/>.</summary>
    public bool TryLayout(IReadOnlyList<Instruction> list, ulong rip)
    {
        int n = list.Count;
        Reserve(n);
        _count = n;
        _rip = rip;
        // only the entries the last list set (a whole clear was 4 KiB of stores per block)
        Array.Clear(_labelAt, 0, Math.Min(_labelsUsed, _labelAt.Length));
        _labelsUsed = 0;
        // the Assembler's list is a List<Instruction>: copy it as a span, not element by element through the interface
        if (list is List<Instruction> l) System.Runtime.InteropServices.CollectionsMarshal.AsSpan(l).CopyTo(_insns);
        else for (int i = 0; i < n; i++) _insns[i] = list[i];
        for (int i = 0; i < n; i++)
        {
            ulong id = _insns[i].IP;
            if (id == 0) continue;
            if (id >= MaxLabelId) return false;
            if ((int)id >= _labelAt.Length) Array.Resize(ref _labelAt, Math.Max((int)id + 1, _labelAt.Length * 2));
            _labelAt[(int)id] = i + 1;
            if ((int)id >= _labelsUsed) _labelsUsed = (int)id + 1;
        }

        int plainLength = 0;
        for (int i = 0; i < n; i++)
        {
            ref var insn = ref _insns[i];
            insn.IP = 0;
            _target[i] = -1;
            _site[i] = Site.None;
            if (insn.Code == Code.DeclareByte && insn.DeclareDataCount == 5 && insn.GetDeclareByteValue(0) == 0xE9) _site[i] = Site.Jmp;
            if (insn.Op0Kind == OpKind.NearBranch64)
            {
                ulong t = insn.NearBranch64;
                if (t < MaxLabelId)
                {
                    if ((int)t >= _labelAt.Length || _labelAt[(int)t] == 0) return false;
                    _target[i] = _labelAt[(int)t] - 1;
                    _kind[i] = Kind.Label;
                    // the Assembler makes every branch to a label short; one given in its near form (a jcc that block
                    // linking patches, EmitterContext.BranchOnHostFlags) stays near
                    if (insn.Code == insn.Code.ToNearBranch() && insn.FlowControl == FlowControl.ConditionalBranch) _site[i] = Site.Jcc;
                }
                else
                {
                    _kind[i] = Kind.Absolute;
                    insn.Code = insn.Code.ToNearBranch();
                }
                int size = BranchSize(insn.Code);
                if (size <= 0) return false;
                _size[i] = size;
            }
            else if (insn.IsIPRelativeMemoryOperand)
            {
                ulong t = insn.MemoryDisplacement64;
                if (t < MaxLabelId)
                {
                    if ((int)t >= _labelAt.Length || _labelAt[(int)t] == 0) return false;
                    _target[i] = _labelAt[(int)t] - 1;
                }
                _kind[i] = Kind.Relative;
                // the length does not depend on the distance (always a disp32): measure it with a near target, except
                // for the lea of every jcc exit (7 bytes, written by TryWriteLea)
                if (IsRipLea(insn)) { _size[i] = 7; continue; }
                var probe = insn;
                probe.MemoryDisplacement64 = 0x10000;
                if (!Measure(probe, 0x10000, out int size)) return false;
                _size[i] = size;
            }
            else
            {
                _kind[i] = Kind.Plain;
                if (plainLength + 16 > _plain.Length) Array.Resize(ref _plain, _plain.Length * 2);
                _plainAt[i] = plainLength;
                fixed (byte* p = &_plain[plainLength])
                {
                    int direct = DirectEncoder.TryEncode(insn, p);
                    if (direct == 0 || CheckDirect)
                    {
                        _sink.Target = p;
                        _sink.Written = 0;
                        if (!_encoder.TryEncode(insn, 0, out uint len, out _)) return false;
                        if (direct != 0 && (direct != (int)len || !Same(p, insn, direct)))
                            throw new InvalidOperationException($"DirectEncoder: {insn} differs from Iced's encoding");
                        direct = (int)len;
                    }
                    _size[i] = direct;
                }
                plainLength += _size[i];
            }
        }

        // branches to labels start short and grow to the near form when out of reach
        while (true)
        {
            Place();
            bool grew = false;
            for (int i = 0; i < n; i++)
            {
                if (_kind[i] != Kind.Label) continue;
                ref var insn = ref _insns[i];
                var near = insn.Code.ToNearBranch();
                if (insn.Code == near) continue;
                long disp = (long)_offset[_target[i]] - (_offset[i] + _size[i]);
                if (disp >= sbyte.MinValue && disp <= sbyte.MaxValue) continue;
                insn.Code = near;
                int size = BranchSize(near);
                if (size <= 0) return false;
                _size[i] = size;
                grew = true;
            }
            if (!grew) return true;
        }
    }

    /// <summary>Writes the laid-out list to <paramref name="dst"/>, which will run at <paramref name="rip"/>.</summary>
    public bool TryWrite(byte* dst, ulong rip)
    {
        for (int i = 0; i < _count; i++)
        {
            byte* at = dst + _offset[i];
            if (_pad[i] != 0) WriteNop(at - _pad[i], _pad[i]);
            if (_kind[i] == Kind.Plain)
            {
                // a run of plain instructions with no padding between is one copy (their bytes are in order in _plain):
                // a copy per instruction of a few bytes each was 4.5% of python3's start
                int j = i + 1;
                while (j < _count && _kind[j] == Kind.Plain && _pad[j] == 0) j++;
                int length = _plainAt[j - 1] + _size[j - 1] - _plainAt[i];
                new ReadOnlySpan<byte>(_plain, _plainAt[i], length).CopyTo(new Span<byte>(at, length));
                i = j - 1;
                continue;
            }
            var insn = _insns[i];
            ulong target = _target[i] >= 0 ? rip + _offset[_target[i]] : 0;
            if (_kind[i] == Kind.Label) insn.NearBranch64 = target;
            else if (_kind[i] == Kind.Relative && _target[i] >= 0) insn.MemoryDisplacement64 = target;
            if (_kind[i] != Kind.Relative && TryWriteBranch(insn, at, rip + _offset[i], _size[i])) continue;
            if (_kind[i] == Kind.Relative && IsRipLea(insn) && TryWriteLea(insn, at, rip + _offset[i])) continue;
            _sink.Target = at;
            _sink.Written = 0;
            if (!_encoder.TryEncode(insn, rip + _offset[i], out uint len, out _) || len != (uint)_size[i]) return false;
        }
        return true;
    }

    /// <summary>Writes a jcc, jmp or call to its target at <paramref name="at"/> (running at <paramref name="ip"/>) in the
    /// form its Code names, as Iced's Encoder would (checked by <see cref="CheckDirect"/>); false for any other
    /// instruction, which Iced then encodes.</summary>
    private bool TryWriteBranch(in Instruction insn, byte* at, ulong ip, int size)
    {
        var code = insn.Code;
        long rel = (long)(insn.NearBranch64 - (ip + (ulong)size));
        int n;
        if (code is >= Code.Jo_rel8_64 and <= Code.Jg_rel8_64 && size == 2 && (code - Code.Jo_rel8_64) % 3 == 0)
        {
            at[0] = (byte)(0x70 + (code - Code.Jo_rel8_64) / 3);
            at[1] = (byte)(sbyte)rel;
            n = 2;
        }
        else if (code is >= Code.Jo_rel32_64 and <= Code.Jg_rel32_64 && size == 6 && (code - Code.Jo_rel32_64) % 3 == 0)
        {
            at[0] = 0x0F;
            at[1] = (byte)(0x80 + (code - Code.Jo_rel32_64) / 3);
            *(int*)(at + 2) = (int)rel;
            n = 6;
        }
        else if (code == Code.Jmp_rel8_64 && size == 2) { at[0] = 0xEB; at[1] = (byte)(sbyte)rel; n = 2; }
        else if (code == Code.Jmp_rel32_64 && size == 5) { at[0] = 0xE9; *(int*)(at + 1) = (int)rel; n = 5; }
        else if (code == Code.Call_rel32_64 && size == 5) { at[0] = 0xE8; *(int*)(at + 1) = (int)rel; n = 5; }
        else return false;
        if (CheckDirect)
        {
            byte* iced = stackalloc byte[16];
            _sink.Target = iced;
            _sink.Written = 0;
            if (!_encoder.TryEncode(insn, ip, out uint len, out _) || len != (uint)n || !new ReadOnlySpan<byte>(iced, n).SequenceEqual(new ReadOnlySpan<byte>(at, n)))
                throw new InvalidOperationException($"LinearEncoder: {insn} at 0x{ip:x} differs from Iced's encoding");
        }
        return true;
    }

    /// <summary>lea r64, [rip + disp32]: the only RIP-relative form the translator emits often (a jcc exit's site address).</summary>
    private static bool IsRipLea(in Instruction insn) => insn.Code == Code.Lea_r64_m && insn.MemoryBase == Register.RIP;

    /// <summary>Writes a RIP-relative lea (<see cref="IsRipLea"/>) as Iced's Encoder would (checked by <see cref="CheckDirect"/>):
    /// REX.W (with R for r8-r15), 8D, modrm 00 reg 101, disp32 from the end of the instruction.</summary>
    private bool TryWriteLea(in Instruction insn, byte* at, ulong ip)
    {
        long disp = (long)(insn.MemoryDisplacement64 - (ip + 7));
        if (disp != (int)disp) return false;
        int reg = insn.Op0Register - Register.RAX;
        at[0] = (byte)(0x48 | (reg >= 8 ? 4 : 0));
        at[1] = 0x8D;
        at[2] = (byte)(0x05 | ((reg & 7) << 3));
        *(int*)(at + 3) = (int)disp;
        if (!CheckDirect) return true;
        byte* iced = stackalloc byte[16];
        _sink.Target = iced;
        _sink.Written = 0;
        if (!_encoder.TryEncode(insn, ip, out uint len, out _) || len != 7 || !new ReadOnlySpan<byte>(iced, 7).SequenceEqual(new ReadOnlySpan<byte>(at, 7)))
            throw new InvalidOperationException($"LinearEncoder: {insn} at 0x{ip:x} differs from Iced's encoding");
        return true;
    }

    /// <summary>Tests: every instruction <see cref="DirectEncoder"/> takes is encoded by Iced too, and a difference
    /// throws (DirectEncoderTests translates guest code so).</summary>
    internal static bool CheckDirect;

    /// <summary>True when DirectEncoder writes the same <paramref name="length"/> bytes Iced just wrote at <paramref name="iced"/>.</summary>
    private static bool Same(byte* iced, in Instruction insn, int length)
    {
        byte* mine = stackalloc byte[16];
        return DirectEncoder.TryEncode(insn, mine) == length && new ReadOnlySpan<byte>(mine, length).SequenceEqual(new ReadOnlySpan<byte>(iced, length));
    }

    private void Place()
    {
        uint off = 0;
        for (int i = 0; i < _count; i++)
        {
            int pad = 0;
            if (_site[i] == Site.Jcc && i + 1 < _count && _site[i + 1] == Site.Jmp)
                while (Straddles(off + pad + _size[i]) || Straddles(off + pad + _size[i] + _size[i + 1])) pad++;
            else if (_site[i] != Site.None && !(_site[i] == Site.Jmp && i > 0 && _site[i - 1] == Site.Jcc))
                while (Straddles(off + pad + _size[i])) pad++;
            _pad[i] = (byte)pad;
            off += (uint)pad;
            _offset[i] = off;
            off += (uint)_size[i];
        }
        _offset[_count] = off;
    }

    /// <summary>True when the rel32 of a branch ending at offset <paramref name="end"/> would cross a 64-byte line.</summary>
    private bool Straddles(long end) => ((_rip + (ulong)end - 4) & 63) > 60;

    /// <summary>One nop of 1-3 bytes (a site needs at most 3 to move its displacement into one line).</summary>
    private static void WriteNop(byte* at, int length)
    {
        switch (length)
        {
            case 1: at[0] = 0x90; break;
            case 2: at[0] = 0x66; at[1] = 0x90; break;
            default: at[0] = 0x0F; at[1] = 0x1F; at[2] = 0x00; break;
        }
    }

    /// <summary>Bytes of a branch in form <paramref name="code"/> (measured once per form; prefixes are never used).</summary>
    private int BranchSize(Code code)
    {
        int s = (int)code < _branchSize.Length ? _branchSize[(int)code] : 0;
        if (s != 0) return s;
        var probe = Instruction.CreateBranch(code, 0x10000);
        s = Measure(probe, 0x10000, out int size) ? size : -1;
        if ((int)code < _branchSize.Length) _branchSize[(int)code] = s;
        return s;
    }

    private bool Measure(in Instruction insn, ulong rip, out int size)
    {
        byte* scratch = stackalloc byte[16];
        _sink.Target = scratch;
        _sink.Written = 0;
        bool ok = _encoder.TryEncode(insn, rip, out uint len, out _);
        size = (int)len;
        return ok;
    }

    private void Reserve(int n)
    {
        if (n <= _insns.Length) return;
        int m = Math.Max(n, _insns.Length * 2);
        Array.Resize(ref _insns, m);
        Array.Resize(ref _kind, m);
        Array.Resize(ref _size, m);
        Array.Resize(ref _target, m);
        Array.Resize(ref _plainAt, m);
        Array.Resize(ref _site, m);
        Array.Resize(ref _pad, m);
        Array.Resize(ref _offset, m + 1);
    }

    /// <summary>The encoder's output: bytes go to wherever <see cref="Target"/> points (at most 16 per instruction: 15, or a db of 16).</summary>
    private sealed class Sink : CodeWriter
    {
        public byte* Target;
        public int Written;
        public override void WriteByte(byte value)
        {
            if (Written >= 16) throw new InvalidOperationException("an instruction (or a db of 16 bytes) overran its slot");
            Target[Written++] = value;
        }
    }
}
