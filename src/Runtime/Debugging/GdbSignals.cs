namespace Dqemu.Runtime.Debugging;

/// <summary>
/// The remote protocol numbers signals by gdb's own table (include/gdb/signals.def), not by the target's: it agrees
/// with Linux up to SIGKILL and for SIGSEGV, SIGPIPE, SIGALRM and SIGTERM, and differs elsewhere (Linux SIGBUS 7 is
/// gdb's 10, SIGUSR1 10 is 30). Stop replies ("T", "X") are sent in gdb's numbers and resume signals ("C", "S",
/// vCont) arrive in them, so every crossing goes through this table.
/// </summary>
internal static class GdbSignals
{
    /// <summary>gdb's number for Linux signals 1-31; 0 where gdb has no such signal (SIGSTKFLT).</summary>
    private static readonly int[] FromLinux =
    [
        0,
        1, 2, 3, 4, 5, 6, 10, 8, 9, 30,       // HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1
        11, 31, 13, 14, 15, 0, 20, 19, 17, 18, // SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP
        21, 22, 16, 24, 25, 26, 27, 28, 23, 32, // TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR
        12,                                    // SYS
    ];

    /// <summary>gdb's GDB_SIGNAL_UNKNOWN: what a signal without a gdb number is reported as.</summary>
    private const int Unknown = 143;

    static GdbSignals()
    {
        // one registry: no two Linux signals may share a gdb number (the reverse lookup depends on it)
        var seen = new HashSet<int>();
        foreach (int g in FromLinux)
            if (g != 0 && !seen.Add(g)) throw new InvalidOperationException($"gdb signal {g} listed twice");
    }

    /// <summary>The gdb number of Linux signal <paramref name="sig"/>: the table for 1-31, the realtime signals by
    /// gdb's REALTIME_32 (77), REALTIME_33..63 (45..75) and REALTIME_64 (78).</summary>
    public static int ToGdb(int sig) => sig switch
    {
        0 => 0,
        > 0 and < 32 => FromLinux[sig] is int g && g != 0 ? g : Unknown,
        32 => 77,
        >= 33 and <= 63 => 45 + (sig - 33),
        64 => 78,
        _ => Unknown,
    };

    /// <summary>The Linux signal for gdb number <paramref name="gdb"/>, or -1 when Linux has none.</summary>
    public static int ToLinux(int gdb)
    {
        if (gdb == 0) return 0;
        for (int sig = 1; sig <= 64; sig++)
            if (ToGdb(sig) == gdb) return sig;
        return -1;
    }
}
