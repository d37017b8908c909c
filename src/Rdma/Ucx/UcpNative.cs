using System.Runtime.InteropServices;

namespace Dqemu.Rdma.Ucx;

/// <summary>
/// The part of UCX's UCP API (Debian <c>libucx0</c>, API 1.13) that <see cref="UcxTransport"/> uses: contexts,
/// workers, endpoints created from worker addresses, active messages, progress and wake-up. Structures are laid out
/// byte for byte as <c>ucp/api/ucp.h</c> of 1.13 defines them (only the fields used are named; the rest is padding);
/// <c>tests/Dqemu.Tests/Rdma/UcxLayoutTests</c> compiles a C program against the installed headers and checks every
/// size, offset and constant here against it.
/// </summary>
/// <remarks>
/// ucs_status_t is a packed enum in 1.13 (<c>UCS_S_PACKED</c>): one byte, returned in %al with the rest of %eax
/// undefined, so every status here is <see cref="sbyte"/> (an <c>int</c> would read garbage in the upper bytes).
/// The libraries are bound lazily by name (<c>libucp.so.0</c>, <c>libucs.so.0</c>: the runtime package, no -dev symlink
/// needed) on the first call; <see cref="UcxLibrary.Load"/> probes them first so that a missing UCX is one clear
/// error rather than a <see cref="DllNotFoundException"/>.
/// </remarks>
internal static unsafe partial class UcpNative
{
    public const string Ucp = "libucp.so.0";
    public const string Ucs = "libucs.so.0";

    public const uint ApiMajor = 1, ApiMinor = 13;

    // ucs_status_t
    public const int UCS_OK = 0, UCS_INPROGRESS = 1, UCS_ERR_BUSY = -15, UCS_ERR_CANCELED = -16, UCS_ERR_LAST = -100;

    // ucp_params_t.field_mask / features
    public const ulong UCP_PARAM_FIELD_FEATURES = 1, UCP_PARAM_FIELD_NAME = 256;
    public const ulong UCP_FEATURE_WAKEUP = 16, UCP_FEATURE_AM = 64;

    // ucp_worker_params_t
    public const ulong UCP_WORKER_PARAM_FIELD_THREAD_MODE = 1, UCP_WORKER_PARAM_FIELD_NAME = 64;
    public const int UCS_THREAD_MODE_MULTI = 2;

    // ucp_ep_params_t
    public const ulong UCP_EP_PARAM_FIELD_REMOTE_ADDRESS = 1, UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE = 2,
        UCP_EP_PARAM_FIELD_ERR_HANDLER = 4, UCP_EP_PARAM_FIELD_NAME = 128;
    public const int UCP_ERR_HANDLING_MODE_NONE = 0, UCP_ERR_HANDLING_MODE_PEER = 1;
    public const uint UCP_EP_CLOSE_FLAG_FORCE = 1;

    // ucp_am_handler_param_t
    public const ulong UCP_AM_HANDLER_PARAM_FIELD_ID = 1, UCP_AM_HANDLER_PARAM_FIELD_FLAGS = 2,
        UCP_AM_HANDLER_PARAM_FIELD_CB = 4, UCP_AM_HANDLER_PARAM_FIELD_ARG = 8;
    public const uint UCP_AM_FLAG_WHOLE_MSG = 1;
    public const ulong UCP_AM_RECV_ATTR_FLAG_DATA = 1 << 16, UCP_AM_RECV_ATTR_FLAG_RNDV = 1 << 17;

    // ucp_request_param_t
    public const uint UCP_OP_ATTR_FIELD_CALLBACK = 2, UCP_OP_ATTR_FIELD_USER_DATA = 4, UCP_OP_ATTR_FIELD_DATATYPE = 8,
        UCP_OP_ATTR_FIELD_FLAGS = 16;
    public const uint UCP_AM_SEND_FLAG_EAGER = 2;
    public const ulong UCP_DATATYPE_CONTIG = 0;

    [StructLayout(LayoutKind.Explicit, Size = 80)]
    public struct ucp_params_t
    {
        [FieldOffset(0)] public ulong field_mask;
        [FieldOffset(8)] public ulong features;
        [FieldOffset(72)] public byte* name;
    }

    [StructLayout(LayoutKind.Explicit, Size = 200)]
    public struct ucp_worker_params_t
    {
        [FieldOffset(0)] public ulong field_mask;
        [FieldOffset(8)] public int thread_mode;
        [FieldOffset(176)] public byte* name;
    }

    [StructLayout(LayoutKind.Explicit, Size = 104)]
    public struct ucp_ep_params_t
    {
        [FieldOffset(0)] public ulong field_mask;
        [FieldOffset(8)] public void* address;
        [FieldOffset(16)] public int err_mode;
        /// <summary>ucp_err_handler_t: { ucp_err_handler_cb_t cb; void *arg; }</summary>
        [FieldOffset(24)] public delegate* unmanaged<void*, nint, sbyte, void> err_handler_cb;
        [FieldOffset(32)] public void* err_handler_arg;
        [FieldOffset(80)] public byte* name;
    }

    [StructLayout(LayoutKind.Explicit, Size = 72)]
    public struct ucp_request_param_t
    {
        [FieldOffset(0)] public uint op_attr_mask;
        [FieldOffset(4)] public uint flags;
        /// <summary>cb.send: void (*)(void *request, ucs_status_t status, void *user_data)</summary>
        [FieldOffset(16)] public delegate* unmanaged<void*, sbyte, void*, void> cb_send;
        [FieldOffset(24)] public ulong datatype;
        [FieldOffset(32)] public void* user_data;
    }

    [StructLayout(LayoutKind.Explicit, Size = 32)]
    public struct ucp_am_handler_param_t
    {
        [FieldOffset(0)] public ulong field_mask;
        [FieldOffset(8)] public uint id;
        [FieldOffset(12)] public uint flags;
        /// <summary>ucs_status_t (*)(void *arg, const void *header, size_t header_length, void *data, size_t length,
        /// const ucp_am_recv_param_t *param)</summary>
        [FieldOffset(16)] public delegate* unmanaged<void*, void*, nuint, void*, nuint, ucp_am_recv_param_t*, sbyte> cb;
        [FieldOffset(24)] public void* arg;
    }

    [StructLayout(LayoutKind.Explicit, Size = 16)]
    public struct ucp_am_recv_param_t
    {
        [FieldOffset(0)] public ulong recv_attr;
        [FieldOffset(8)] public nint reply_ep;
    }

    [LibraryImport(Ucp)] public static partial sbyte ucp_config_read(byte* env_prefix, byte* filename, out nint config);
    [LibraryImport(Ucp)] public static partial sbyte ucp_config_modify(nint config, byte* name, byte* value);
    [LibraryImport(Ucp)] public static partial void ucp_config_release(nint config);
    [LibraryImport(Ucp)] public static partial byte* ucp_get_version_string();
    [LibraryImport(Ucp)] public static partial sbyte ucp_init_version(uint api_major, uint api_minor, ucp_params_t* p, nint config, out nint context);
    [LibraryImport(Ucp)] public static partial void ucp_cleanup(nint context);

    [LibraryImport(Ucp)] public static partial sbyte ucp_worker_create(nint context, ucp_worker_params_t* p, out nint worker);
    [LibraryImport(Ucp)] public static partial void ucp_worker_destroy(nint worker);
    [LibraryImport(Ucp)] public static partial sbyte ucp_worker_get_address(nint worker, out nint address, out nuint length);
    [LibraryImport(Ucp)] public static partial void ucp_worker_release_address(nint worker, nint address);
    [LibraryImport(Ucp)] public static partial uint ucp_worker_progress(nint worker);
    [LibraryImport(Ucp)] public static partial sbyte ucp_worker_get_efd(nint worker, out int fd);
    [LibraryImport(Ucp)] public static partial sbyte ucp_worker_arm(nint worker);
    [LibraryImport(Ucp)] public static partial sbyte ucp_worker_signal(nint worker);
    [LibraryImport(Ucp)] public static partial sbyte ucp_worker_set_am_recv_handler(nint worker, ucp_am_handler_param_t* p);

    [LibraryImport(Ucp)] public static partial sbyte ucp_ep_create(nint worker, ucp_ep_params_t* p, out nint ep);
    [LibraryImport(Ucp)] public static partial nint ucp_ep_close_nbx(nint ep, ucp_request_param_t* p);

    [LibraryImport(Ucp)] public static partial nint ucp_am_send_nbx(nint ep, uint id, void* header, nuint header_length,
                                                                   void* buffer, nuint count, ucp_request_param_t* p);
    [LibraryImport(Ucp)] public static partial sbyte ucp_request_check_status(nint request);
    [LibraryImport(Ucp)] public static partial void ucp_request_free(nint request);

    [LibraryImport(Ucs)] public static partial byte* ucs_status_string(sbyte status);

    [LibraryImport(Ucp)] public static partial void ucp_ep_print_info(nint ep, nint stream);

    // stdio, to read what ucp_ep_print_info writes
    [LibraryImport("libc")] public static partial nint open_memstream(out nint buffer, out nuint size);
    [LibraryImport("libc")] public static partial int fclose(nint stream);
    [LibraryImport("libc")] public static partial void free(nint p);

    /// <summary>UCS_PTR_IS_ERR: a status pointer carrying an error code (the top 100 addresses).</summary>
    public static bool IsError(nint p) => (nuint)p >= unchecked((nuint)(nint)UCS_ERR_LAST);

    /// <summary>UCS_PTR_IS_PTR: a request handle (neither NULL = done at once, nor an error).</summary>
    public static bool IsRequest(nint p) => p != 0 && !IsError(p);

    public static string Describe(int status) => Marshal.PtrToStringUTF8((nint)ucs_status_string((sbyte)status)) ?? $"status {status}";
}
