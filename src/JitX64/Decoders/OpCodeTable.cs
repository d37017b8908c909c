namespace Dqemu.JitX64.Decoders;

/// <summary>
/// The A64 encodings this translator knows, one partial file per instruction class
/// (OpCodeTable.Alu.cs, OpCodeTable.LoadStore.cs, ...). Anything not listed is unallocated to us and
/// becomes the guest's SIGILL.
/// </summary>
public static partial class OpCodeTable
{
    public static IReadOnlyList<InstDescriptor> All { get; } = Build();

    private static List<InstDescriptor> Build()
    {
        var t = new List<InstDescriptor>();
        AddBranch(t);
        AddSystem(t);
        AddAlu(t);
        AddBitfield(t);
        AddMul(t);
        AddLoadStore(t);
        AddAtomic(t);
        AddFpScalar(t);
        AddSimd(t);
        AddCrypto(t);
        return t;
    }

    static partial void AddBranch(List<InstDescriptor> t);
    static partial void AddSystem(List<InstDescriptor> t);
    static partial void AddAlu(List<InstDescriptor> t);
    static partial void AddBitfield(List<InstDescriptor> t);
    static partial void AddMul(List<InstDescriptor> t);
    static partial void AddLoadStore(List<InstDescriptor> t);
    static partial void AddAtomic(List<InstDescriptor> t);
    static partial void AddFpScalar(List<InstDescriptor> t);
    static partial void AddSimd(List<InstDescriptor> t);
    static partial void AddCrypto(List<InstDescriptor> t);

    private static void Add(this List<InstDescriptor> t, string name, string pattern, InstEmitter emit, string format)
        => t.Add(new InstDescriptor(name, pattern, emit, format));

    /// <summary>A SIMD row whose format is <see cref="FormatV"/>(<paramref name="template"/>, size, q), made on first use.</summary>
    private static void AddLazy(this List<InstDescriptor> t, string name, string pattern, InstEmitter emit, string template, int size, int q)
        => t.Add(new InstDescriptor(name, pattern, emit, FormatV, template, size, q));

    private static void AddEnd(this List<InstDescriptor> t, string name, string pattern, InstEmitter emit, string format)
        => t.Add(new InstDescriptor(name, pattern, emit, format, endsBlock: true));
}
