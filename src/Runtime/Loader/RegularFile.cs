using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Dqemu.Runtime.Loader;

/// <summary>
/// Opens a program file (the guest or its dynamic linker) for reading. Only a regular file is a program, as for
/// Linux's execve: a directory, FIFO, device or socket is refused with status 66 (the input cannot be used, like a
/// missing or unreadable file) before anything is read, so /dev/zero is not read until memory runs out and a FIFO
/// does not wait for a writer.
/// </summary>
public static unsafe class RegularFile
{
    public static SafeFileHandle Open(string path)
    {
        int fd;
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer before fstat can tell what it is
        fixed (byte* p = Encoding.UTF8.GetBytes(path + "\0")) fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
        {
            int e = errno;
            throw new FatalException(ExitCodes.NoInput,
                e == ENOENT || e == ENOTDIR ? $"{path}: no such file"
                : e == EACCES || e == EPERM ? $"{path}: permission denied"
                : $"{path}: cannot open ({Marshal.GetPInvokeErrorMessage(e)})");
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        stat st;
        if (fstat(fd, &st) != 0)
        {
            int e = errno;
            handle.Dispose();
            throw new FatalException(ExitCodes.NoInput, $"{path}: cannot read ({Marshal.GetPInvokeErrorMessage(e)})");
        }
        uint type = (uint)st.st_mode & (uint)S_IFMT;
        if (type == (uint)S_IFREG) return handle;
        handle.Dispose();
        throw new FatalException(ExitCodes.NoInput, type == (uint)S_IFDIR ? $"{path}: is a directory" : $"{path}: not a regular file ({TypeName(type)})");
    }

    private static string TypeName(uint type) =>
        type == (uint)S_IFCHR ? "a character device"
        : type == (uint)S_IFBLK ? "a block device"
        : type == (uint)S_IFIFO ? "a FIFO"
        : type == (uint)S_IFSOCK ? "a socket"
        : $"file type 0x{type:x}";
}
