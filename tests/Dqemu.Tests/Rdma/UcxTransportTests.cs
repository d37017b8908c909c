using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using Dqemu.Rdma;
using Dqemu.Rdma.Ucx;
using Xunit;
using static Dqemu.Tests.Rdma.TransportTestSupport;

namespace Dqemu.Tests.Rdma;

/// <summary>
/// <see cref="UcxTransport"/> with UCX's own choice of transports (shared memory between the nodes of this process):
/// the transport contract (<see cref="TransportContractTests{T}"/>) and what only UCX has — its transport list, the
/// process environment it needs, the signal handlers it must leave alone.
/// </summary>
[Collection(TransportCollection.Name)]
public sealed partial class UcxTransportTests : UcxContractTests
{
    private protected override string? Tls => null;

    /// <summary>Within one host UCX picks shared memory for the active messages.</summary>
    private protected override void AssertRoute(string route, UcxTransport t, int node)
    {
        Assert.StartsWith("ucx ", route);
        Assert.Matches(@"(sysv|posix|cma|xpmem|knem)[^,]*\(am", route);
    }

    /// <summary>Connect fails within its timeout with one exception whose message is one line.</summary>
    private static TException AssertOneClearFailure<TException>(Outcome<UcxTransport> o, TimeSpan timeout) where TException : Exception
    {
        Assert.Null(o.Transport);
        Assert.True(o.Error is TException, $"expected {typeof(TException).Name}, got {o.Error}");
        Assert.DoesNotContain('\n', o.Error!.Message);
        Assert.True(o.Elapsed < timeout + TimeSpan.FromSeconds(3), $"took {o.Elapsed}");
        return (TException)o.Error;
    }

    [Fact]
    public void AnUnknownUcxTransportIsRefusedAtConnect()
    {
        var eps = FreeEndpoints(2);
        var timeout = TimeSpan.FromSeconds(3);
        var outcomes = TransportTestSupport.ConnectConcurrently<UcxTransport>(
            (nodes, self, t, token) => UcxTransport.Connect(nodes, self, t, token, new UcxTransportOptions { Tls = "no_such_transport" }),
            eps, [0, 1], timeout);
        DisposeAll(outcomes.Select(o => o.Transport));
        foreach (var o in outcomes)
        {
            var ex = AssertOneClearFailure<TransportUnavailableException>(o, timeout);
            Assert.Contains("no_such_transport", ex.Message);
        }
    }

    [Fact]
    public void NodesThatShareNoUcxTransportAreRefusedAtConnect()
    {
        var eps = FreeEndpoints(2);
        var timeout = TimeSpan.FromSeconds(3);
        var outcomes = TransportTestSupport.ConnectConcurrently<UcxTransport>(
            (nodes, self, t, token) => UcxTransport.Connect(nodes, self, t, token, new UcxTransportOptions { Tls = self == 0 ? "posix" : "tcp" }),
            eps, [0, 1], timeout);
        DisposeAll(outcomes.Select(o => o.Transport));
        for (int i = 0; i < 2; i++)
        {
            var ex = AssertOneClearFailure<TransportConnectException>(outcomes[i], timeout);
            int other = 1 - i;
            Assert.Equal([other], ex.Nodes);
            Assert.Contains($"node {other}", ex.Message);
            Assert.Contains(eps[other].ToString(), ex.Message);
            Assert.Contains("ucx_tls", ex.Message);
        }
    }

    /// <summary>UcxLibrary put its variables in the C environment (where UCX reads them) before UCX was loaded.</summary>
    [Fact]
    public void UcxRunsWithItsSignalHandlersAndMemoryHooksOff()
    {
        var nodes = ConnectCluster(2);
        try
        {
            Assert.Equal("", GetEnv("UCX_ERROR_SIGNALS"));
            Assert.Equal("", GetEnv("UCX_HANDLE_ERRORS"));
            Assert.Equal("none", GetEnv("UCX_MEM_MMAP_HOOK_MODE"));
            Assert.Equal("n", GetEnv("UCX_MEM_MALLOC_HOOKS"));
            Assert.Equal("n", GetEnv("UCX_MEM_EVENTS"));
            Assert.Equal("y", GetEnv("UCX_USE_MT_MUTEX"));
            Assert.NotNull(GetEnv("UCX_LOG_LEVEL"));
            Assert.Matches(@"^\d+\.\d+", UcxTransport.Version);
        }
        finally
        {
            DisposeAll(nodes);
        }
    }

    /// <summary>
    /// The emulator's fault path is its own SIGSEGV handler (and a signal it does not handle must keep the disposition the
    /// guest expects): creating, using and disposing UCX transports must leave every signal's handler as it was, and none
    /// may point into UCX's libraries — the second check holds whichever test of this process loaded UCX first.
    /// </summary>
    [Fact]
    public void UcxLeavesTheProcessSignalHandlersAlone()
    {
        nint segvBefore = SignalHandler(Sigsegv);
        var before = SignalHandlers();
        var nodes = ConnectCluster(2);
        var h1 = new RecordingHandler();
        try
        {
            StartNode(nodes[0], new RecordingHandler());
            StartNode(nodes[1], h1);
            nodes[0].Send(1, 1, new byte[1 << 20]);
            Assert.True(h1.WaitForCount(1, Wait));
            nint segv = SignalHandler(Sigsegv);
            Assert.True(segv == segvBefore, $"SIGSEGV's handler changed from 0x{segvBefore:x} ({ModuleOf(segvBefore)}) to 0x{segv:x} ({ModuleOf(segv)})");
            var during = SignalHandlers();
            Assert.True(Changes(before, during) is null, "while UCX transports run: " + Changes(before, during));
        }
        finally
        {
            DisposeAll(nodes);
        }
        var after = SignalHandlers();
        Assert.True(Changes(before, after) is null, "after the UCX transports are gone: " + Changes(before, after));
        var ucx = after.Where(kv => IsUcx(ModuleOf(kv.Value))).Select(kv => $"{SignalName(kv.Key)} is handled in {ModuleOf(kv.Value)}").ToList();
        Assert.True(ucx.Count == 0, string.Join("; ", ucx));
        Assert.NotEqual(0, after[Sigsegv]); // the .NET runtime's own handler is there and stays (dqemu-native's, in the emulator)
    }

    private const int Sigsegv = 11;

    private static bool IsUcx(string module) => module.Contains("libucs") || module.Contains("libucp") || module.Contains("libuct");

    private static string SignalName(int sig) => sig switch
    {
        1 => "SIGHUP", 2 => "SIGINT", 4 => "SIGILL", 5 => "SIGTRAP", 6 => "SIGABRT", 7 => "SIGBUS", 8 => "SIGFPE", 10 => "SIGUSR1",
        11 => "SIGSEGV", 12 => "SIGUSR2", 13 => "SIGPIPE", 14 => "SIGALRM", 15 => "SIGTERM", 17 => "SIGCHLD", _ => $"signal {sig}",
    };

    /// <summary>The signals whose handler differs, one clause each, or null.</summary>
    private static string? Changes(Dictionary<int, nint> a, Dictionary<int, nint> b)
    {
        var diffs = a.Keys.Union(b.Keys).Order()
            .Where(sig => a.GetValueOrDefault(sig) != b.GetValueOrDefault(sig))
            .Select(sig => $"{SignalName(sig)}: 0x{a.GetValueOrDefault(sig):x} ({ModuleOf(a.GetValueOrDefault(sig))}) became " +
                           $"0x{b.GetValueOrDefault(sig):x} ({ModuleOf(b.GetValueOrDefault(sig))})")
            .ToList();
        return diffs.Count == 0 ? null : string.Join("; ", diffs);
    }

    /// <summary>sa_handler of <paramref name="sig"/> (sigaction with a null new action: a query).</summary>
    private static unsafe nint SignalHandler(int sig)
    {
        byte* old = stackalloc byte[512]; // struct sigaction is 152 bytes on x86-64 glibc; sa_handler comes first
        new Span<byte>(old, 512).Clear();
        Assert.Equal(0, sigaction(sig, null, old));
        return *(nint*)old;
    }

    /// <summary>sa_handler of every signal but SIGKILL and SIGSTOP.</summary>
    private static unsafe Dictionary<int, nint> SignalHandlers()
    {
        var result = new Dictionary<int, nint>();
        byte* old = stackalloc byte[512]; // struct sigaction is 152 bytes on x86-64 glibc; sa_handler comes first
        for (int sig = 1; sig <= 64; sig++)
        {
            if (sig is 9 or 19 or 32 or 33) continue; // SIGKILL, SIGSTOP, glibc's internal signals
            new Span<byte>(old, 512).Clear();
            if (sigaction(sig, null, old) != 0) continue;
            result[sig] = *(nint*)old;
        }
        return result;
    }

    private static unsafe string ModuleOf(nint address)
    {
        if (address is 0 or 1) return address == 0 ? "SIG_DFL" : "SIG_IGN";
        DlInfo info;
        if (dladdr((void*)address, &info) == 0 || info.FileName == null) return "?";
        return Marshal.PtrToStringUTF8((nint)info.FileName) ?? "?";
    }

    private static unsafe string? GetEnv(string name)
    {
        byte* v = getenv(name);
        return v == null ? null : Marshal.PtrToStringUTF8((nint)v);
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct DlInfo
    {
        public byte* FileName;
        public void* Base;
        public byte* SymbolName;
        public void* SymbolAddress;
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial byte* getenv(string name);

    [LibraryImport("libc")]
    private static unsafe partial int sigaction(int sig, void* act, void* oldact);

    [LibraryImport("libc")]
    private static unsafe partial int dladdr(void* address, DlInfo* info);
}

/// <summary>
/// <see cref="UcxTransport"/> restricted to UCX's TCP transport (<c>Tls = "tcp"</c>), the wire between hosts without
/// RDMA: the whole transport contract again, order and large messages included.
/// </summary>
[Collection(TransportCollection.Name)]
public sealed class UcxOverTcpTransportTests : UcxContractTests
{
    private protected override string? Tls => "tcp";

    /// <summary>Only UCX's TCP carries anything (that the option reached UCX).</summary>
    private protected override void AssertRoute(string route, UcxTransport t, int node)
    {
        Assert.StartsWith("ucx tcp", route);
        Assert.DoesNotContain("sysv", route);
        Assert.DoesNotContain("posix", route);
    }
}

/// <summary>The contract for <see cref="UcxTransport"/> with a given UCX transport list.</summary>
public abstract class UcxContractTests : TransportContractTests<UcxTransport>
{
    /// <summary><see cref="UcxTransportOptions.Tls"/> for every node.</summary>
    private protected abstract string? Tls { get; }

    private protected override UcxTransport Connect(IReadOnlyList<IPEndPoint> nodes, int self, TimeSpan timeout, ulong token) =>
        UcxTransport.Connect(nodes, self, timeout, token, new UcxTransportOptions { Tls = Tls });

    private protected override IPEndPoint AddressOf(UcxTransport t, int node) => t.Control.Nodes[node];
    private protected override void KillConnection(UcxTransport t, int node) => t.Control.KillConnection(node);
    private protected override string? LostReason(UcxTransport t, int node) => t.LostReason(node);

    /// <summary>Around the send pool's 16 KiB blocks (16-byte prefix, 8-byte header: bodies up to 16,360 bytes are pooled).</summary>
    private protected override int[] BoundarySizes => [16360 - 1, 16360, 16360 + 1, 16384, 65536, 262144];

    /// <summary>Messages go over UCX and the goodbye over the TCP mesh: what was still on its way may be cut off.</summary>
    private protected override bool DeliversWhatWasSentBeforeDispose => false;
}
