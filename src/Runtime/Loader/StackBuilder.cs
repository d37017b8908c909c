using System.Text;
using Dqemu.Runtime.Memory;

namespace Dqemu.Runtime.Loader;

/// <summary>
/// Lays out the initial stack exactly as Linux's create_elf_tables does: strings at the top
/// (execfn, environment, arguments), then the platform string and AT_RANDOM bytes, then (16-byte aligned)
/// argc, argv[], NULL, envp[], NULL, auxv pairs ending in AT_NULL.
/// </summary>
public static class StackBuilder
{
    public const ulong AtNull = 0, AtPhdr = 3, AtPhent = 4, AtPhnum = 5, AtPagesz = 6, AtBase = 7, AtFlags = 8, AtEntry = 9,
        AtUid = 11, AtEuid = 12, AtGid = 13, AtEgid = 14, AtPlatform = 15, AtHwcap = 16, AtClktck = 17, AtSecure = 23,
        AtRandom = 25, AtHwcap2 = 26, AtExecfn = 31, AtMinsigstksz = 51;

    public const ulong StackSize = 8UL << 20;

    public static ulong Build(GuestSpace space, LoadedImage main, LoadedImage? interp, string execPath,
        IReadOnlyList<string> argv, IReadOnlyList<string> envp, ulong hwcap, ulong hwcap2, Func<byte[]> random, out byte[] auxv)
    {
        ulong top = GuestSpace.StackTop;
        space.MapFixed(top - StackSize, StackSize, GuestProt.Read | GuestProt.Write, "[stack]");
        ulong sp = top - 8; // an 8-byte end marker, as Linux leaves

        ulong PushBytes(byte[] b)
        {
            sp -= (ulong)b.Length;
            b.CopyTo(space.Span(sp, b.Length));
            return sp;
        }
        ulong PushString(string s) => PushBytes(Encoding.UTF8.GetBytes(s + "\0"));

        ulong execfn = PushString(execPath);
        var envPtrs = new ulong[envp.Count];
        for (int i = envp.Count - 1; i >= 0; i--) envPtrs[i] = PushString(envp[i]);
        var argPtrs = new ulong[argv.Count];
        for (int i = argv.Count - 1; i >= 0; i--) argPtrs[i] = PushString(argv[i]);
        ulong platform = PushString("aarch64");
        sp &= ~15UL;
        ulong rand = PushBytes(random());

        var aux = new List<(ulong, ulong)>
        {
            (AtHwcap, hwcap), (AtPagesz, GuestSpace.PageSize), (AtClktck, 100),
            (AtPhdr, main.PhdrAddress), (AtPhent, (ulong)main.PhEnt), (AtPhnum, (ulong)main.PhNum),
            (AtBase, interp?.Bias ?? 0), (AtFlags, 0), (AtEntry, main.Entry),
            (AtUid, Host.Ids.Uid), (AtEuid, Host.Ids.Euid), (AtGid, Host.Ids.Gid), (AtEgid, Host.Ids.Egid),
            (AtSecure, 0), (AtRandom, rand), (AtHwcap2, hwcap2), (AtExecfn, execfn), (AtPlatform, platform),
            (AtMinsigstksz, 5120), (AtNull, 0),
        };
        // the kernel keeps a copy of the vector for /proc/self/auxv; so does the process (GuestProcess.Auxv)
        auxv = new byte[aux.Count * 16];
        for (int i = 0; i < aux.Count; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(auxv.AsSpan(16 * i), aux[i].Item1);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(auxv.AsSpan(16 * i + 8), aux[i].Item2);
        }
        int words = 1 + argv.Count + 1 + envp.Count + 1 + aux.Count * 2;
        sp -= (ulong)words * 8;
        sp &= ~15UL;
        ulong p = sp;
        void Put(ulong v) { space.Write(p, v); p += 8; }
        Put((ulong)argv.Count);
        foreach (var a in argPtrs) Put(a);
        Put(0);
        foreach (var e in envPtrs) Put(e);
        Put(0);
        foreach (var (k, v) in aux) { Put(k); Put(v); }
        return sp;
    }
}
