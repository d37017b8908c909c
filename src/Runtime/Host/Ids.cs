namespace Dqemu.Runtime.Host;

/// <summary>The host process's credentials, which the guest sees as its own.</summary>
public static class Ids
{
    public static ulong Uid => Tmds.Linux.LibC.getuid();
    public static ulong Euid => Tmds.Linux.LibC.geteuid();
    public static ulong Gid => Tmds.Linux.LibC.getgid();
    public static ulong Egid => Tmds.Linux.LibC.getegid();
}
