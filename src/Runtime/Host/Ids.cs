namespace Dqemu.Runtime.Host;

public static class Ids
{
    public static ulong Uid => Tmds.Linux.LibC.getuid();
    public static ulong Euid => Tmds.Linux.LibC.geteuid();
    public static ulong Gid => Tmds.Linux.LibC.getgid();
    public static ulong Egid => Tmds.Linux.LibC.getegid();

    /// <summary>This host process's pid. Not Environment.ProcessId: the runtime reads that once, and a guest's fork
    /// (GuestFork) makes a child process that still has its parent's value there.</summary>
    public static int Pid { get; set; } = Environment.ProcessId;
}
