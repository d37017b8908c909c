namespace Dqemu.Runtime.Memory;

/// <summary>Guest page protections, with the Linux PROT_* values.</summary>
[Flags]
public enum GuestProt
{
    None = 0,
    Read = 1,
    Write = 2,
    Exec = 4,
}

/// <summary>One mapped range of the guest address space, [Start, End).</summary>
public sealed class Vma
{
    public ulong Start;
    public ulong End;
    public GuestProt Prot;
    public string Name;

    public Vma(ulong start, ulong end, GuestProt prot, string name)
    {
        Start = start; End = end; Prot = prot; Name = name;
    }

    public override string ToString() => $"{Start:x}-{End:x} {Prot} {Name}";
}
