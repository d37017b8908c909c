using System.Globalization;
using System.Text;
using Dqemu.JitX64;
using Dqemu.JitX64.Instructions;
using Dqemu.Runtime.Memory;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Syscalls;

/// <summary>
/// The /proc files a program reads about itself, as the guest's (the host's describe the emulator: an x86 CPU, a
/// 32 TiB reservation, threads the guest never made). Each is built whole when it is opened (SyscallTable.Openat
/// serves it as a memfd). Fields the emulator knows better than the host are the guest's; the rest are the host's,
/// which are the process's own (state, process group, session, tty, times, faults, start time, priority, cpu).
/// </summary>
public static class ProcFiles
{
    /// <summary>
    /// The AT_HWCAP bits' names in /proc/cpuinfo's Features line, in bit order (arch/arm64/kernel/cpuinfo.c's
    /// hwcap_str, which prints AT_HWCAP's bits first, then AT_HWCAP2's).
    /// </summary>
    private static readonly string[] HwcapNames =
    [
        "fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32", "atomics", "fphp", "asimdhp", "cpuid",
        "asimdrdm", "jscvt", "fcma", "lrcpc", "dcpop", "sha3", "sm3", "sm4", "asimddp", "sha512", "sve", "asimdfhm",
        "dit", "uscat", "ilrcpc", "flagm", "ssbs", "sb", "paca", "pacg",
    ];

    private static readonly string[] Hwcap2Names =
    [
        "dcpodp", "sve2", "sveaes", "svepmull", "svebitperm", "svesha3", "svesm4", "flagm2", "frint", "svei8mm",
        "svef32mm", "svef64mm", "svebf16", "i8mm", "bf16", "dgh", "rng", "bti", "mte", "ecv", "afp", "rpres", "mte3",
        "sme", "smei16i64", "smef64f64", "smei8i32", "smef16f32", "smeb16f32", "smef32f32", "smefa64", "wfxt", "ebf16",
        "sveebf16", "cssc", "rprfm", "sve2p1", "sme2", "sme2p1", "smei16i32", "smebi32i32", "smeb16b16", "smef16f16",
        "mops", "hbc",
    ];

    /// <summary>The Features line's words for <paramref name="hwcap"/> and <paramref name="hwcap2"/>.</summary>
    public static IEnumerable<string> FeatureNames(ulong hwcap, ulong hwcap2)
    {
        for (int i = 0; i < HwcapNames.Length; i++) if ((hwcap & (1UL << i)) != 0) yield return HwcapNames[i];
        for (int i = 0; i < Hwcap2Names.Length; i++) if ((hwcap2 & (1UL << i)) != 0) yield return Hwcap2Names[i];
    }

    /// <summary>
    /// /proc/cpuinfo as arm64 Linux prints it, one block per host CPU that is online (the guest's threads run on
    /// them): the features the emulator advertises in AT_HWCAP/AT_HWCAP2, the identity MIDR_EL1 reads as, and
    /// BogoMIPS as arm64 derives it from the generic timer (CNTFRQ_EL0 * 2 / 10^6).
    /// </summary>
    public static byte[] Cpuinfo()
    {
        ulong midr = InstEmit.MidrValue;
        ulong bogo = InstEmit.CounterFrequency * 2 / 10_000; // hundredths
        string features = string.Join(' ', FeatureNames(Features.HwCap, Features.HwCap2));
        var sb = new StringBuilder();
        foreach (int cpu in HostCpus())
        {
            sb.Append($"processor\t: {cpu}\n");
            sb.Append($"BogoMIPS\t: {bogo / 100}.{bogo % 100:D2}\n");
            sb.Append($"Features\t: {features}\n");
            sb.Append($"CPU implementer\t: 0x{(midr >> 24) & 0xff:x2}\n");
            sb.Append("CPU architecture: 8\n");
            sb.Append($"CPU variant\t: 0x{(midr >> 20) & 0xf:x}\n");
            sb.Append($"CPU part\t: 0x{(midr >> 4) & 0xfff:x3}\n");
            sb.Append($"CPU revision\t: {midr & 0xf}\n\n");
        }
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary>The numbers of the host's online CPUs, as its /proc/cpuinfo lists them.</summary>
    private static List<int> HostCpus()
    {
        var cpus = new List<int>();
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("processor", StringComparison.Ordinal) && line.IndexOf(':') is int colon and > 0
                    && int.TryParse(line.AsSpan(colon + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                    cpus.Add(n);
        }
        catch (IOException) { }
        if (cpus.Count == 0) cpus.AddRange(Enumerable.Range(0, Environment.ProcessorCount));
        return cpus;
    }

    /// <summary>Where the guest's argument and environment strings lie on its first stack (/proc/PID/stat's
    /// arg_start..env_end), read once from the stack the loader built, before the guest can change it; which
    /// mappings are the program's (startcode, endcode, start_data, end_data). Call after Auxv is set.</summary>
    public static void NoteStartStack(GuestProcess process, ulong sp)
    {
        const ulong AtEntry = 9;
        var mem = process.Space;
        process.StartStack = sp;
        ulong argc = mem.Read<ulong>(sp);
        ulong argv = sp + 8, envp = argv + (argc + 1) * 8;
        (ulong, ulong) Strings(ulong vector)
        {
            ulong first = 0, end = 0;
            for (ulong p = vector; ; p += 8)
            {
                ulong s = mem.Read<ulong>(p);
                if (s == 0) break;
                if (first == 0) first = s;
                ulong e = s;
                while (mem.Read<byte>(e) != 0) e++;
                end = e + 1;
            }
            return (first, end);
        }
        var (argStart, argEnd) = Strings(argv);
        var (envStart, envEnd) = Strings(envp);
        process.StackStrings = (argStart, argEnd, envStart, envEnd);
        // the program's own mappings: the loader names them by the path it was given (perhaps relative, and the guest
        // may chdir), so by the name of the mapping that holds AT_ENTRY
        for (int i = 0; i + 16 <= process.Auxv.Length; i += 16)
            if (BitConverter.ToUInt64(process.Auxv, i) == AtEntry)
                process.ExeMapName = mem.Find(BitConverter.ToUInt64(process.Auxv, i + 8))?.Name ?? "";
    }

    /// <summary>comm: the name the thread gave itself (prctl PR_SET_NAME), else the program file's name cut to 15
    /// bytes, as Linux sets it at exec (qemu-aarch64 takes argv[0]'s last component instead).</summary>
    public static string Comm(GuestProcess process, GuestThread? thread)
    {
        if (thread != null)
        {
            var name = GuestSignals.Of(thread).Name;
            int len = Array.IndexOf(name, (byte)0);
            if (len != 0) return Encoding.UTF8.GetString(name, 0, len < 0 ? name.Length : len);
        }
        var file = Encoding.UTF8.GetBytes(Path.GetFileName(process.ExePath));
        return Encoding.UTF8.GetString(file, 0, Math.Min(file.Length, 15));
    }

    /// <summary>
    /// /proc/PID/stat (or, with <paramref name="thread"/>, /proc/PID/task/TID/stat): the host's line for the process
    /// (or that thread) with the guest's fields put in: pid (the tid for a task), comm, num_threads, vsize (the
    /// guest's mappings), startcode/endcode (the program's text), startstack (the stack pointer it started with, as
    /// Linux and qemu-aarch64 give), kstkesp/kstkeip 0, the signal sets (pending, blocked, ignored, caught), start_data,
    /// end_data, start_brk and the argument and environment strings' ranges. The host's are kept for state, ppid,
    /// pgrp, session, tty_nr, tpgid, flags, faults, utime/stime (the emulator's own work included), priority, nice,
    /// starttime, rss (the emulator's resident memory, which holds the guest's), processor and the rest; qemu-aarch64
    /// 7.2 prints 0 for every field but pid, comm, ppid, starttime and startstack.
    /// </summary>
    public static byte[]? Stat(GuestProcess process, GuestThread? thread)
    {
        var main = process.Threads.TryGetValue(GuestProcess.Pid, out var m) ? m : null;
        var subject = thread ?? main;
        string hostPath = thread != null ? $"/proc/self/task/{thread.HostTid}/stat" : "/proc/self/stat";
        string line;
        try { line = File.ReadAllText(hostPath).TrimEnd('\n'); }
        catch (IOException) { return null; }
        int close = line.LastIndexOf(')');
        if (close < 0) return null;
        // f[k] is field k + 3 of proc(5) (state is field 3)
        var f = line[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 50) return null;
        void Set(int field, ulong value) => f[field - 3] = value.ToString(CultureInfo.InvariantCulture);

        var vmas = process.Space.Vmas;
        ulong vsize = 0;
        foreach (var v in vmas) vsize += v.End - v.Start;
        var (exe, startCode, endCode) = ProgramText(process, vmas);
        var data = exe.Where(v => (v.Prot & GuestProt.Exec) == 0 && v.Start >= endCode).ToList();
        ulong startData = data.Count > 0 ? data.Min(v => v.Start) : 0, endData = data.Count > 0 ? data.Max(v => v.End) : 0;

        ulong ignored = 0, caught = 0;
        for (int sig = 1; sig <= GuestSignals.NSig; sig++)
        {
            ulong handler = process.SigHandlers[4 * sig];
            if (handler == GuestSignals.SigIgn) ignored |= GuestSignals.Bit(sig);
            else if (handler != GuestSignals.SigDfl) caught |= GuestSignals.Bit(sig);
        }
        var (argStart, argEnd, envStart, envEnd) = process.StackStrings;

        Set(20, (ulong)process.LiveThreads);
        Set(23, vsize);
        Set(26, startCode);
        Set(27, endCode);
        Set(28, process.StartStack);
        Set(29, 0);
        Set(30, 0);
        Set(31, subject != null ? Volatile.Read(ref subject.Pending) : 0);
        Set(32, subject?.SignalMask ?? 0);
        Set(33, ignored);
        Set(34, caught);
        Set(45, startData);
        Set(46, endData);
        Set(47, process.Space.BrkStart);
        Set(48, argStart);
        Set(49, argEnd);
        Set(50, envStart);
        Set(51, envEnd);
        int id = thread?.Tid ?? GuestProcess.Pid;
        return Encoding.UTF8.GetBytes($"{id} ({Comm(process, subject)}) {string.Join(' ', f)}\n");
    }

    /// <summary>The program's own mappings and the range of its executable ones (0, 0 when none).</summary>
    private static (List<Vma> Exe, ulong StartCode, ulong EndCode) ProgramText(GuestProcess process, IReadOnlyList<Vma> vmas)
    {
        var exe = vmas.Where(v => v.Name == process.ExeMapName).ToList();
        var code = exe.Where(v => (v.Prot & GuestProt.Exec) != 0).ToList();
        return code.Count == 0 ? (exe, 0, 0) : (exe, code.Min(v => v.Start), code.Max(v => v.End));
    }

    /// <summary>
    /// /proc/PID/statm, in pages, from the guest's layout: size (all mappings), resident (their pages resident on the
    /// host), shared (the resident pages of file and shared mappings), text (the program's code), lib 0, data (the
    /// writable private mappings, the stack among them, as Linux's data_vm + stack_vm), dt 0. qemu-aarch64 7.2 shows
    /// its own process's.
    /// </summary>
    public static byte[] Statm(GuestProcess process)
    {
        var vmas = process.Space.Vmas;
        ulong size = 0, resident = 0, shared = 0, data = 0;
        foreach (var v in vmas)
        {
            ulong pages = (v.End - v.Start) / GuestSpace.PageSize, res = Resident(process.Space, v.Start, v.End);
            size += pages;
            resident += res;
            bool sharedMap = IsShared(v);
            if (sharedMap || v.Name.StartsWith('/')) shared += res;
            if (!sharedMap && (v.Prot & GuestProt.Write) != 0) data += pages;
        }
        var (_, startCode, endCode) = ProgramText(process, vmas);
        ulong text = (endCode - startCode) / GuestSpace.PageSize;
        return Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{size} {resident} {shared} {text} 0 {data} 0\n"));
    }

    /// <summary>
    /// /proc/PID/status: the host's, with the guest's Name, Threads and signal sets (SigBlk of the thread that reads,
    /// as Linux shows the task's own; SigIgn, SigCgt). The memory lines (VmSize, VmRSS, ...) stay the emulator's.
    /// </summary>
    public static byte[]? Status(GuestProcess process, GuestThread reader)
    {
        string[] lines;
        try { lines = File.ReadAllLines("/proc/self/status"); }
        catch (IOException) { return null; }
        var main = process.Threads.TryGetValue(GuestProcess.Pid, out var m) ? m : null;
        ulong ignored = 0, caught = 0;
        for (int sig = 1; sig <= GuestSignals.NSig; sig++)
        {
            ulong handler = process.SigHandlers[4 * sig];
            if (handler == GuestSignals.SigIgn) ignored |= GuestSignals.Bit(sig);
            else if (handler != GuestSignals.SigDfl) caught |= GuestSignals.Bit(sig);
        }
        var sb = new StringBuilder();
        foreach (var line in lines)
        {
            int tab = line.IndexOf(':');
            string key = tab > 0 ? line[..tab] : "";
            sb.Append(key switch
            {
                "Name" => $"Name:\t{Comm(process, main)}",
                "Threads" => $"Threads:\t{process.LiveThreads}",
                "SigBlk" => $"SigBlk:\t{reader.SignalMask:x16}",
                "SigIgn" => $"SigIgn:\t{ignored:x16}",
                "SigCgt" => $"SigCgt:\t{caught:x16}",
                _ => line,
            }).Append('\n');
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>One /proc/PID/maps line. SysV segments and shared anonymous memory are the shared ('s') mappings
    /// the layout can name; other MAP_SHARED mappings show as private.</summary>
    public static void MapsLine(StringBuilder sb, Vma v)
    {
        sb.Append($"{v.Start:x8}-{v.End:x8} ");
        sb.Append((v.Prot & GuestProt.Read) != 0 ? 'r' : '-');
        sb.Append((v.Prot & GuestProt.Write) != 0 ? 'w' : '-');
        sb.Append((v.Prot & GuestProt.Exec) != 0 ? 'x' : '-');
        sb.Append(IsShared(v) ? 's' : 'p');
        sb.Append(" 00000000 00:00 0");
        if (v.Name.Length > 0) sb.Append(' ', 19).Append(v.Name);
        sb.Append('\n');
    }

    private static bool IsShared(Vma v) =>
        v.Name.StartsWith("/SYSV", StringComparison.Ordinal) || v.Name == "/dev/zero (deleted)";

    /// <summary>/proc/PID/maps from the guest layout.</summary>
    public static string Maps(GuestSpace mem)
    {
        var sb = new StringBuilder();
        foreach (var v in mem.Vmas) MapsLine(sb, v);
        return sb.ToString();
    }

    /// <summary>
    /// /proc/PID/smaps: the maps lines, each followed by Linux's fields. Size and the page sizes are exact; Rss (and
    /// Pss, the same number: sharing is not known) counts the pages resident on the host (mincore of the range);
    /// the finer counters are 0, as qemu-aarch64 8 gives them; VmFlags from the protection (rd wr ex, mr mw me, sh ms
    /// for shared mappings, gd for the stack).
    /// </summary>
    public static unsafe string Smaps(GuestSpace mem)
    {
        var sb = new StringBuilder();
        foreach (var v in mem.Vmas)
        {
            MapsLine(sb, v);
            ulong kb = (v.End - v.Start) / 1024, rss = Resident(mem, v.Start, v.End) * (GuestSpace.PageSize / 1024);
            void Field(string name, ulong value) => sb.Append($"{name + ":",-16}{value,8} kB\n");
            Field("Size", kb);
            Field("KernelPageSize", 4);
            Field("MMUPageSize", 4);
            Field("Rss", rss);
            Field("Pss", rss);
            foreach (var name in (string[])["Pss_Dirty", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty",
                "Referenced", "Anonymous", "KSM", "LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped",
                "Shared_Hugetlb", "Private_Hugetlb", "Swap", "SwapPss", "Locked"])
                Field(name, 0);
            sb.Append($"{"THPeligible:",-16}{0,8}\n");
            sb.Append("VmFlags:");
            if ((v.Prot & GuestProt.Read) != 0) sb.Append(" rd");
            if ((v.Prot & GuestProt.Write) != 0) sb.Append(" wr");
            if ((v.Prot & GuestProt.Exec) != 0) sb.Append(" ex");
            sb.Append(IsShared(v) ? " sh mr mw me ms" : " mr mw me");
            if (v.Name == "[stack]") sb.Append(" gd");
            sb.Append(" \n");
        }
        return sb.ToString();
    }

    /// <summary>Pages of [start, end) resident on the host (mincore, a chunk of the vector at a time).</summary>
    private static unsafe ulong Resident(GuestSpace mem, ulong start, ulong end)
    {
        const ulong Chunk = 1 << 14; // pages per call
        var vec = stackalloc byte[(int)Chunk];
        ulong resident = 0;
        for (ulong at = start; at < end;)
        {
            ulong pages = Math.Min(Chunk, (end - at) / GuestSpace.PageSize);
            if (Host.HostSyscall.Call(Sys.X64Mincore, (long)(mem.Base + at), (long)(pages * GuestSpace.PageSize), (long)vec) != 0) break;
            for (ulong i = 0; i < pages; i++) resident += (ulong)(vec[i] & 1);
            at += pages * GuestSpace.PageSize;
        }
        return resident;
    }
}
