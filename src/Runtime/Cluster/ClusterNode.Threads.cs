using System.Buffers.Binary;
using Dqemu.JitX64.State;
using Dqemu.Runtime.Signals;
using Dqemu.Runtime.Syscalls;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Cluster;

// Guest threads across nodes: placement (node 0 decides), start from a shipped CpuState, exit, signals.
internal sealed unsafe partial class ClusterNode
{
    public long StartThread(ReadOnlySpan<byte> image, uint mxcsr, ulong flags, ulong parentTid, ulong childTid, ulong signalMask)
    {
        int placed = Self == 0 ? PlaceOnNode0(0) : BinaryPrimitives.ReadInt32LittleEndian(Call(0, ClusterMessages.Place, NewRequest(0), RpcTimeout, "a thread placement"));
        int target = placed & PlacedNodeMask;
        if (target == Self) return (placed & PlacedByRule) != 0 ? IClusterProcess.StartHerePinned : IClusterProcess.StartHere;
        var b = NewRequest(37 + CpuOffsets.ShippedSize);
        var s = b.AsSpan(8);
        BinaryPrimitives.WriteUInt64LittleEndian(s, flags);
        BinaryPrimitives.WriteUInt64LittleEndian(s[8..], parentTid);
        BinaryPrimitives.WriteUInt64LittleEndian(s[16..], childTid);
        BinaryPrimitives.WriteUInt64LittleEndian(s[24..], signalMask);
        BinaryPrimitives.WriteUInt32LittleEndian(s[32..], mxcsr);
        s[36] = (byte)((placed & PlacedByRule) != 0 ? 1 : 0);
        image[..CpuOffsets.ShippedSize].CopyTo(s[37..]);
        return BinaryPrimitives.ReadInt64LittleEndian(Call(target, ClusterMessages.Start, b, RpcTimeout, "a thread start"));
    }

    /// <summary>Node 0 places every new thread of the cluster and counts those that run elsewhere, so the guest ends
    /// when its last thread anywhere does. The answer is the node, with <see cref="PlacedByRule"/> for a thread a
    /// [[placement]] rule put there (it stays there: pinned). <paramref name="creator"/> is the node whose thread called
    /// clone().</summary>
    private int PlaceOnNode0(int creator)
    {
        int node = _placement!.Place(creator, out bool ruled);
        if (node != 0) P.AddRemoteThread();
        return node | (ruled ? PlacedByRule : 0);
    }

    private const int PlacedNodeMask = 0xFFFF, PlacedByRule = 0x10000;

    private void OnPlace(int from, ReadOnlySpan<byte> request)
    {
        Span<byte> a = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(a, PlaceOnNode0(from));
        Answer(from, request, a);
    }

    private void OnStart(int from, byte[] request)
    {
        long tid;
        try
        {
            var s = request.AsSpan(8);
            ulong flags = BinaryPrimitives.ReadUInt64LittleEndian(s);
            ulong parentTid = BinaryPrimitives.ReadUInt64LittleEndian(s[8..]);
            ulong childTid = BinaryPrimitives.ReadUInt64LittleEndian(s[16..]);
            ulong mask = BinaryPrimitives.ReadUInt64LittleEndian(s[24..]);
            uint mxcsr = BinaryPrimitives.ReadUInt32LittleEndian(s[32..]);
            tid = GuestThreads.StartFromImage(P, s[37..], mxcsr, flags, parentTid, childTid, mask, pinned: s[36] != 0);
        }
        catch (Exception e)
        {
            Lost($"node {Self}: starting a guest thread failed: {e.GetType().Name}: {e.Message}");
            return;
        }
        AnswerLong(from, request, tid);
    }

    public bool ThreadFinished(GuestThread t, int status)
    {
        if (Self == 0)
        {
            _placement?.Remove(0);
            return false;
        }
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(b, t.Tid);
        BinaryPrimitives.WriteInt32LittleEndian(b[4..], status);
        Send(0, ClusterMessages.ThreadExit, b);
        return true;
    }

    private void OnThreadExit(int from, ReadOnlySpan<byte> body)
    {
        int tid = BinaryPrimitives.ReadInt32LittleEndian(body);
        int status = BinaryPrimitives.ReadInt32LittleEndian(body[4..]);
        EndProxy(tid);
        _placement?.Remove(from);
        // counting may end the guest (the last thread): not on the receive thread, which shutdown needs
        new Thread(() => P.CountFinished(status)) { IsBackground = true, Name = "dqemu-exit" }.Start();
    }

    /// <summary>The node a guest tid runs on (see <see cref="GuestProcess.TidFor"/>).</summary>
    private static int NodeOfTid(int tid) => tid >> GuestProcess.NodeTidShift;

    public bool SignalRemote(int tid, SigInfo info)
    {
        if (tid <= 0) return false;
        if (RouteMoved(tid, info)) return true;
        int node = NodeOfTid(tid);
        if (node == Self || node >= _transport.NodeCount) return false;
        SendSignal(node, tid, info);
        return true;
    }

    /// <summary>A Signal message: i32 tid, then the siginfo.</summary>
    private void SendSignal(int node, int tid, SigInfo info)
    {
        Span<byte> b = stackalloc byte[4 + SigInfoSize];
        BinaryPrimitives.WriteInt32LittleEndian(b, tid);
        PutSigInfo(b[4..], info);
        Send(node, ClusterMessages.Signal, b);
        Interlocked.Increment(ref _signalsForwarded);
    }

    private void OnSignal(ReadOnlySpan<byte> b)
    {
        int tid = BinaryPrimitives.ReadInt32LittleEndian(b);
        var info = GetSigInfo(b[4..]);
        // a thread that moved on gets it where it went; one that already left is like the kernel's ESRCH after the
        // fact: the signal is dropped
        if (_process == null) return;
        GuestThread? t;
        lock (_moveLock)
            if (!_process.Threads.TryGetValue(tid, out t) || t.Exited) t = null;
        if (t != null) GuestSignals.SendToThread(_process, t, info);
        else RouteMoved(tid, info);
    }

    public void RequestExit(int status)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, status);
        Send(0, ClusterMessages.Exit, b);
    }

}
