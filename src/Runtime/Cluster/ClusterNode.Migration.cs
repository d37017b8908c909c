using System.Buffers.Binary;
using Dqemu.JitX64.State;
using Dqemu.Runtime.Signals;
using Dqemu.Runtime.Syscalls;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Cluster;

// Live thread migration (DQEMU's remote thread migration, at any time rather than only at creation) and the guest's
// placement hints. A thread moves between two blocks, on its own host thread: its CpuState and per-thread records go
// to the new node in one Adopt call, a fresh host thread there runs it on, and the old host thread ends. Its tid stays
// (tids name their first node: that node forwards signals on). No futex wait or syscall is ever in flight at that
// point, so nothing else needs shipping. Node 0 decides every move (hints, the auto policy) and keeps the counts.
internal sealed unsafe partial class ClusterNode
{
    // ---------------------------------------------------------------- any node: moving a thread out, taking it in

    private readonly object _moveLock = new();
    /// <summary>Threads of this node on their way out: signals for them wait here until they run elsewhere.</summary>
    private readonly Dictionary<int, List<SigInfo>> _inTransit = new();
    /// <summary>Threads that ran here and moved on, by tid: where this node last sent each (signals follow them).</summary>
    private readonly Dictionary<int, int> _movedAway = new();
    private long _movedIn, _movedOut;

    public bool MigrateOut(GuestThread t)
    {
        int to = t.MigrateTo;
        t.MigrateTo = -1;
        if (to == Self || to < 0 || to >= _transport.NodeCount || P.Exiting)
        {
            ReportMoved(t.Tid, Self, -1);
            return false;
        }
        var held = new List<SigInfo>();
        lock (_moveLock)
        {
            P.Threads.TryRemove(t.Tid, out _);
            _inTransit[t.Tid] = held;
            t.Exited = true; // senders that still hold the thread now route through SignalRemote (held above)
        }
        List<SigInfo> pending;
        ulong pendingBits;
        lock (t.PendingInfo)
        {
            pending = new List<SigInfo>(t.PendingInfo);
            pendingBits = t.Pending;
            t.PendingInfo.Clear();
            Volatile.Write(ref t.Pending, 0);
        }
        P.Space.Coherence?.ReleaseResident();

        var answer = Call(to, ClusterMessages.Adopt, PackThread(t, pending, pendingBits), RpcTimeout, "a thread migration");
        bool adopted = BinaryPrimitives.ReadInt32LittleEndian(answer) == 0;
        lock (_moveLock)
        {
            // the thread may be back already (moved here again before this answer came): then it is not away
            if (_inTransit.TryGetValue(t.Tid, out var current) && ReferenceEquals(current, held)) _inTransit.Remove(t.Tid);
            if (!adopted)
            {
                t.Exited = false;
                P.Threads[t.Tid] = t;
            }
            else if (!P.Threads.ContainsKey(t.Tid)) _movedAway[t.Tid] = to;
        }
        if (!adopted)
        {
            lock (t.PendingInfo)
            {
                t.PendingInfo.InsertRange(0, pending);
                Interlocked.Or(ref t.Pending, pendingBits);
            }
            foreach (var info in held) GuestSignals.SendToThread(P, t, info);
            ReportMoved(t.Tid, Self, -1);
            return false;
        }
        // a sender that looked the thread up before it left may have added a signal after it was packed
        lock (t.PendingInfo) held.AddRange(t.PendingInfo);
        foreach (var info in held) SendSignal(to, t.Tid, info);
        t.Migrated = true;
        Interlocked.Increment(ref _movedOut);
        if (P.Threads.IsEmpty) HandOver(to);
        return true; // the new node reports the move (before the thread can run there and end: see OnAdopt)
    }

    /// <summary>
    /// An Adopt body: id, i32 tid, u8 pinned, u64 clear_child_tid, u64 sigmask, u64 altstack sp, u64 altstack size,
    /// i32 altstack flags, u64 robust head, u64 robust len, 16-byte name, u32 mxcsr, u64 pending bits, u32 n,
    /// n * siginfo (<see cref="SigInfoSize"/> bytes), the CpuState image (<see cref="CpuOffsets.ShippedSize"/>).
    /// </summary>
    private static byte[] PackThread(GuestThread t, List<SigInfo> pending, ulong pendingBits)
    {
        var x = GuestSignals.Of(t);
        var b = NewRequest(AdoptFixed + SigInfoSize * pending.Count + CpuOffsets.ShippedSize);
        var s = b.AsSpan(8);
        BinaryPrimitives.WriteInt32LittleEndian(s, t.Tid);
        s[4] = (byte)(t.Pinned ? 1 : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(s[5..], t.ClearChildTid);
        BinaryPrimitives.WriteUInt64LittleEndian(s[13..], t.SignalMask);
        BinaryPrimitives.WriteUInt64LittleEndian(s[21..], t.AltStackSp);
        BinaryPrimitives.WriteUInt64LittleEndian(s[29..], t.AltStackSize);
        BinaryPrimitives.WriteInt32LittleEndian(s[37..], t.AltStackFlags);
        BinaryPrimitives.WriteUInt64LittleEndian(s[41..], x.RobustHead);
        BinaryPrimitives.WriteUInt64LittleEndian(s[49..], x.RobustLen);
        x.Name.CopyTo(s[57..]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[73..], t.Cpu->Mxcsr);
        BinaryPrimitives.WriteUInt64LittleEndian(s[77..], pendingBits);
        BinaryPrimitives.WriteInt32LittleEndian(s[85..], pending.Count);
        int at = AdoptFixed;
        foreach (var info in pending)
        {
            PutSigInfo(s[at..], info);
            at += SigInfoSize;
        }
        new ReadOnlySpan<byte>(t.Cpu, CpuOffsets.ShippedSize).CopyTo(s[at..]);
        return b;
    }

    private const int AdoptFixed = 89;

    /// <summary>Takes in a thread another node moved here. The move is reported to node 0 from here, before the thread
    /// runs: its end (ThreadExit, which this node sends too) then reaches node 0 after it.</summary>
    private void OnAdopt(int from, byte[] request)
    {
        var s = request.AsSpan(8);
        var child = new GuestThread(P);
        child.Tid = BinaryPrimitives.ReadInt32LittleEndian(s);
        child.Pinned = s[4] != 0;
        child.ClearChildTid = BinaryPrimitives.ReadUInt64LittleEndian(s[5..]);
        child.SignalMask = BinaryPrimitives.ReadUInt64LittleEndian(s[13..]);
        child.AltStackSp = BinaryPrimitives.ReadUInt64LittleEndian(s[21..]);
        child.AltStackSize = BinaryPrimitives.ReadUInt64LittleEndian(s[29..]);
        child.AltStackFlags = BinaryPrimitives.ReadInt32LittleEndian(s[37..]);
        var x = GuestSignals.Of(child);
        x.RobustHead = BinaryPrimitives.ReadUInt64LittleEndian(s[41..]);
        x.RobustLen = BinaryPrimitives.ReadUInt64LittleEndian(s[49..]);
        s.Slice(57, 16).CopyTo(x.Name);
        uint mxcsr = BinaryPrimitives.ReadUInt32LittleEndian(s[73..]);
        child.Pending = BinaryPrimitives.ReadUInt64LittleEndian(s[77..]);
        int n = BinaryPrimitives.ReadInt32LittleEndian(s[85..]);
        int at = AdoptFixed;
        for (int i = 0; i < n; i++, at += SigInfoSize) child.PendingInfo.Add(GetSigInfo(s[at..]));
        s.Slice(at, CpuOffsets.ShippedSize).CopyTo(new Span<byte>(child.Cpu, CpuOffsets.ShippedSize));
        child.Cpu->Mxcsr = mxcsr;
        child.Cpu->ExclSize = 0; // a context switch clears the exclusive monitor: a pending STXR fails and loops again
        if (child.Pending != 0) child.Cpu->ExitRequest = 1; // delivered before its next block

        Interlocked.Increment(ref _movedIn);
        ReportMoved(child.Tid, from, Self);
        GuestThreads.Launch(P, child, () =>
        {
            lock (_moveLock)
            {
                _movedAway.Remove(child.Tid);
                P.AddThread(child, counted: Self == 0); // node 0 counted it all along, as a remote thread
            }
        });
        Span<byte> a = stackalloc byte[4];
        Answer(from, request, a);
    }

    /// <summary>Node 0 asks this node to move one of its threads: it goes at its next dispatcher pass (a thread in a
    /// blocking syscall goes when the call returns).</summary>
    private void OnMigrate(ReadOnlySpan<byte> body)
    {
        int tid = BinaryPrimitives.ReadInt32LittleEndian(body);
        int to = BinaryPrimitives.ReadInt32LittleEndian(body[4..]);
        if (_process != null && _process.Threads.TryGetValue(tid, out var t) && !t.Exited)
        {
            t.MigrateTo = to;
            Signals.ThreadInterrupter.RequestExit(t);
        }
        else ReportMoved(tid, Self, -1);
    }

    // ---------------------------------------------------------------- the data follows: a node's last thread left

    /// <summary>Pages a Handover names at most (128 MiB of guest data; the rest come by faults as before).</summary>
    private const int MaxHandover = 32768;
    private long _handedOver, _takenOver;

    /// <summary>
    /// This node's last guest thread has moved to <paramref name="to"/> (crowding packs a sharing group onto one node):
    /// nothing here will touch the pages it holds Modified any more, and the threads now on <paramref name="to"/> would
    /// fetch them one remote fault at a time (fluidanimate: ~1000 faults, 300 ms after its crowding). They go in one
    /// burst instead: the receiver asks for them all for writing, as read-ahead (forward_pages).
    /// </summary>
    private void HandOver(int to)
    {
        if (!_memory.ForwardPages) return;
        var pages = Dsm.HeldPages(MaxHandover);
        if (pages.Count == 0) return;
        var b = new byte[4 + 8 * pages.Count];
        BinaryPrimitives.WriteInt32LittleEndian(b, pages.Count);
        for (int i = 0; i < pages.Count; i++) BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(4 + 8 * i), pages[i]);
        Send(to, ClusterMessages.Handover, b);
        Interlocked.Add(ref _handedOver, pages.Count);
    }

    /// <summary>A Handover: its pages are asked for on a thread of their own (a request per page; a receive thread
    /// must not send that much).</summary>
    private void OnHandover(ReadOnlySpan<byte> body)
    {
        int n = BinaryPrimitives.ReadInt32LittleEndian(body);
        if (n < 0 || body.Length != 4 + 8L * n) throw new InvalidDataException($"a Handover of {body.Length} bytes names {n} pages");
        var pages = new ulong[n];
        for (int i = 0; i < n; i++) pages[i] = BinaryPrimitives.ReadUInt64LittleEndian(body[(4 + 8 * i)..]);
        if (!_memory.ForwardPages || _process is not { Exiting: false }) return;
        var p = _process;
        new Thread(() =>
        {
            for (int i = 0; i < n && !Stopping && !p.Exiting; i += 256) // a guest that ends meanwhile stops it
                Interlocked.Add(ref _takenOver, _memory.PrefetchPages(pages.AsSpan(i, Math.Min(256, n - i)), forWriting: true));
        }) { IsBackground = true, Name = "dqemu-takeover" }.Start();
    }

    private void ReportMoved(int tid, int from, int to)
    {
        if (Self == 0)
        {
            OnMoved(tid, from, to);
            return;
        }
        Span<byte> b = stackalloc byte[12];
        BinaryPrimitives.WriteInt32LittleEndian(b, tid);
        BinaryPrimitives.WriteInt32LittleEndian(b[4..], from);
        BinaryPrimitives.WriteInt32LittleEndian(b[8..], to);
        Send(0, ClusterMessages.Moved, b);
    }

    // ---------------------------------------------------------------- signals for threads that moved

    /// <summary>Holds or forwards a signal for a thread that is leaving or has left this node; false when this node
    /// knows nothing of such a move.</summary>
    private bool RouteMoved(int tid, SigInfo info)
    {
        int to;
        lock (_moveLock)
        {
            if (_inTransit.TryGetValue(tid, out var held))
            {
                held.Add(info);
                return true;
            }
            if (!_movedAway.TryGetValue(tid, out to)) return false;
        }
        SendSignal(to, tid, info);
        return true;
    }

    private const int SigInfoSize = 32;

    private static void PutSigInfo(Span<byte> b, SigInfo info)
    {
        BinaryPrimitives.WriteInt32LittleEndian(b, info.Sig);
        BinaryPrimitives.WriteInt32LittleEndian(b[4..], info.Code);
        BinaryPrimitives.WriteInt32LittleEndian(b[8..], info.Pid);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], info.Uid);
        BinaryPrimitives.WriteUInt64LittleEndian(b[16..], info.Addr);
        BinaryPrimitives.WriteUInt64LittleEndian(b[24..], info.Value);
    }

    private static SigInfo GetSigInfo(ReadOnlySpan<byte> b) =>
        new(BinaryPrimitives.ReadInt32LittleEndian(b), BinaryPrimitives.ReadInt32LittleEndian(b[4..]),
            BinaryPrimitives.ReadInt32LittleEndian(b[8..]), BinaryPrimitives.ReadUInt32LittleEndian(b[12..]),
            BinaryPrimitives.ReadUInt64LittleEndian(b[24..]), BinaryPrimitives.ReadUInt64LittleEndian(b[16..]));

    // ---------------------------------------------------------------- hints (any node asks node 0)

    public long Hint(GuestThread t, int op, long arg)
    {
        if (op == (int)SyscallTable.HintOp.Where) return Self;
        long node;
        if (Self == 0) node = DecideHint(t.Tid, 0, op, arg);
        else
        {
            var b = NewRequest(20);
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8), t.Tid);
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(12), op);
            BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(16), arg);
            node = BinaryPrimitives.ReadInt64LittleEndian(Call(0, ClusterMessages.Hint, b, RpcTimeout, "a placement hint"));
        }
        if (node < 0) return node;
        t.Pinned = true; // the program said where it wants this thread: the auto policy leaves it there
        if (node != Self) t.MigrateTo = (int)node;
        return node;
    }

    private void OnHint(int from, ReadOnlySpan<byte> request)
    {
        var s = request[8..];
        long r = DecideHint(BinaryPrimitives.ReadInt32LittleEndian(s), from, BinaryPrimitives.ReadInt32LittleEndian(s[4..]),
                            BinaryPrimitives.ReadInt64LittleEndian(s[8..]));
        AnswerLong(from, request, r);
    }

    // ---------------------------------------------------------------- node 0: where threads are, who moves

    private readonly object _hintLock = new();
    /// <summary>Where node 0 last knew a thread to run (set by hints and moves; otherwise the node its tid names).</summary>
    private readonly Dictionary<int, int> _location = new();
    /// <summary>Threads asked to move and not yet reported moved (or not).</summary>
    private readonly HashSet<int> _moving = new();
    /// <summary>Hint groups: each group's node, each thread's group, and the groups' threads counted per node.</summary>
    private readonly Dictionary<long, int> _groupNode = new();
    private readonly Dictionary<int, long> _threadGroup = new();
    private int[] _groupedOn = [];
    private long _movesAsked, _movesDone, _movesRefused, _hints;

    /// <summary>Node 0: the node a thread on <paramref name="node"/> is to run on after hint <paramref name="op"/>.</summary>
    private long DecideHint(int tid, int node, int op, long arg)
    {
        int nodes = _transport.NodeCount;
        lock (_hintLock)
        {
            Interlocked.Increment(ref _hints);
            if (!_moving.Contains(tid)) _location[tid] = node;
            int target;
            switch ((SyscallTable.HintOp)op)
            {
                case SyscallTable.HintOp.Group:
                    {
                        if (_groupedOn.Length != nodes) _groupedOn = new int[nodes];
                        if (_threadGroup.TryGetValue(tid, out long old))
                        {
                            if (old == arg) return _groupNode[arg];
                            _groupedOn[_groupNode[old]]--;
                        }
                        if (!_groupNode.TryGetValue(arg, out target))
                        {
                            // a new group stays where its first member is unless that node already holds more grouped
                            // threads per core than another: the groups spread over the cluster
                            var cores = _ctx.Config.Nodes;
                            target = node;
                            for (int n = 0; n < nodes; n++)
                                if ((long)_groupedOn[n] * cores[target].Cores < (long)_groupedOn[target] * cores[n].Cores) target = n;
                            _groupNode[arg] = target;
                        }
                        _threadGroup[tid] = arg;
                        _groupedOn[target]++;
                        break;
                    }
                case SyscallTable.HintOp.Node:
                    if (arg >= nodes) return -Errno.EINVAL;
                    target = (int)arg;
                    break;
                case SyscallTable.HintOp.Near:
                    if (arg <= 0 || arg > int.MaxValue || NodeOfTid((int)arg) >= nodes) return -Errno.ESRCH;
                    target = _location.TryGetValue((int)arg, out int at) ? at : NodeOfTid((int)arg);
                    break;
                default:
                    return -Errno.EINVAL;
            }
            if (target != node)
            {
                _moving.Add(tid);
                _movesAsked++;
            }
            return target;
        }
    }

    /// <summary>Node 0: asks the node running <paramref name="tid"/> to move it to <paramref name="to"/>.</summary>
    private void RequestMove(int tid, int from, int to)
    {
        lock (_hintLock)
        {
            if (!_moving.Add(tid)) return;
            _movesAsked++;
        }
        if (from == 0)
        {
            OnMigrate(MigrateBody(tid, to));
            return;
        }
        Send(from, ClusterMessages.Migrate, MigrateBody(tid, to));
    }

    private static byte[] MigrateBody(int tid, int to)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(b, tid);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), to);
        return b;
    }

    private void OnMoved(int tid, int from, int to)
    {
        lock (_hintLock)
        {
            _moving.Remove(tid);
            if (to < 0)
            {
                _movesRefused++;
                return;
            }
            _movesDone++;
            _location[tid] = to;
            _lastMoved[tid] = Environment.TickCount64;
        }
        _placement?.Move(from, to);
    }

    private void OnMovedMessage(ReadOnlySpan<byte> b) =>
        OnMoved(BinaryPrimitives.ReadInt32LittleEndian(b), BinaryPrimitives.ReadInt32LittleEndian(b[4..]), BinaryPrimitives.ReadInt32LittleEndian(b[8..]));

    private string MigrationStatsText()
    {
        string line = $"    threads: moved in {Interlocked.Read(ref _movedIn)}, moved out {Interlocked.Read(ref _movedOut)}" +
                      $"; pages handed over {Interlocked.Read(ref _handedOver)}, asked for when handed over {Interlocked.Read(ref _takenOver)}";
        if (Self == 0)
            lock (_hintLock)
                line += $"; placement {_ctx.Config.Placement}: hints {_hints}, moves asked {_movesAsked}, done {_movesDone}, not done {_movesRefused}" +
                        (_ctx.Config.AutoPlacement ? $"; crowded {Interlocked.Read(ref _crowded)}, spread {Interlocked.Read(ref _spread)}" : "");
        return line;
    }
}
