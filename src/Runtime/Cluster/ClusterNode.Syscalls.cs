using System.Buffers.Binary;
using System.Collections.Concurrent;
using Dqemu.Runtime.Memory;
using Dqemu.Runtime.Syscalls;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Cluster;

// Syscall delegation (DESIGN.md invariant 5): a worker's thread sends a Node0 syscall to node 0, where a proxy
// thread for that guest thread runs it against node 0's process (files, layout, exit) and answers.
internal sealed unsafe partial class ClusterNode
{
    private readonly ConcurrentDictionary<int, Proxy> _proxies = new();

    public bool TryDelegate(SyscallContext c, out long result)
    {
        result = 0;
        if (Self == 0) return false;
        var b = NewRequest(4 + 8 * 7);
        var s = b.AsSpan(8);
        BinaryPrimitives.WriteInt32LittleEndian(s, c.Thread.Tid);
        BinaryPrimitives.WriteUInt64LittleEndian(s[4..], c.Cpu->X[8]);
        for (int i = 0; i < 6; i++) BinaryPrimitives.WriteUInt64LittleEndian(s[(12 + 8 * i)..], c.Cpu->X[i]);
        Interlocked.Increment(ref _delegated);
        // no bound: a delegated read() may wait for input as long as it likes; a lost node ends the process anyway
        var answer = Call(0, ClusterMessages.Syscall, b, Timeout.InfiniteTimeSpan, "a syscall");
        result = BinaryPrimitives.ReadInt64LittleEndian(answer);
        // an mprotect's new protections come along (a Widen is not sent to workers): this thread goes on using them
        if (answer.Length > 8) ApplySpans(answer.AsSpan(8));
        return true;
    }

    private void OnSyscall(int from, ReadOnlySpan<byte> body)
    {
        int tid = BinaryPrimitives.ReadInt32LittleEndian(body[8..]);
        Interlocked.Increment(ref _delegated);
        _proxies.GetOrAdd(tid, t => new Proxy(this, t)).Queue.Add((from, body.ToArray()));
    }

    private void EndProxy(int tid)
    {
        if (_proxies.TryRemove(tid, out var p)) p.Queue.CompleteAdding();
    }

    /// <summary>Node 0's stand-in for one remote guest thread: its own host thread runs that thread's delegated
    /// syscalls one after another (a blocking read of one thread does not hold up the others).</summary>
    private sealed class Proxy
    {
        public readonly ServiceQueue<(int From, byte[] Request)> Queue = new();
        private readonly ClusterNode _node;
        private readonly GuestThread _thread;

        /// <summary>The stand-in thread (its HostTid is the proxy's host thread, InSyscall while a call runs): for Diagnosis.</summary>
        public GuestThread Thread => _thread;

        public Proxy(ClusterNode node, int tid)
        {
            _node = node;
            _thread = new GuestThread(node.P) { Tid = tid };
            new System.Threading.Thread(Run) { IsBackground = true, Name = "dqemu-proxy" }.Start();
        }

        private void Run()
        {
            var process = _node.P;
            var ctx = new SyscallContext(process, _thread);
            _thread.HostTid = (int)Host.HostSyscall.Call(Host.HostSyscall.Nr.Gettid);
            // the remote thread waits for every answer; a computing guest thread here must not delay it (UrgentThread)
            Dqemu.Rdma.UrgentThread.Make();
            try { Serve(process, ctx); }
            catch (Exception e)
            {
                // the shutdown closes the transport under a call still running here; anything else is a real failure
                Lost($"node 0: a syscall delegated by thread {_thread.Tid} failed: {e.GetType().Name}: {e.Message}");
            }
        }

        private void Serve(GuestProcess process, SyscallContext ctx)
        {
            foreach (var (from, request) in Queue.Consume())
            {
                if (process.Exiting) break; // the guest is ending: nothing more runs, nobody gets an answer
                var s = request.AsSpan(12);
                _thread.Cpu->X[8] = BinaryPrimitives.ReadUInt64LittleEndian(s);
                for (int i = 0; i < 6; i++) _thread.Cpu->X[i] = BinaryPrimitives.ReadUInt64LittleEndian(s[(8 + 8 * i)..]);
                _thread.InSyscall = true;
                long result = Dispatcher.Execute(ctx, log: false);
                _thread.InSyscall = false;
                process.Space.Coherence?.ReleaseResident();
                // a signal the syscall raised at its caller (SIGPIPE for a write to a pipe without readers) belongs to
                // the real thread: it goes to that thread's node ahead of the answer (one link keeps their order), so
                // the thread takes it as the syscall returns, as on Linux; kept here it would be lost
                if (Volatile.Read(ref _thread.Pending) != 0)
                    foreach (var info in Signals.SignalDelivery.TakeAllPending(_thread))
                        _node.SignalRemote(_thread.Tid, info);
                if (process.Exiting || _thread.Exited)
                {
                    process.Terminate(); // exit_group from a remote thread
                    break;
                }
                if (BinaryPrimitives.ReadUInt64LittleEndian(s) == SyscallTable.MprotectNumber && result == 0)
                {
                    ulong addr = BinaryPrimitives.ReadUInt64LittleEndian(s[8..]), end = addr + GuestSpace.PageUp(BinaryPrimitives.ReadUInt64LittleEndian(s[16..]));
                    var answer = _node.Spans(addr, end, 8);
                    BinaryPrimitives.WriteInt64LittleEndian(answer, result);
                    _node.Answer(from, request, answer);
                }
                else _node.AnswerLong(from, request, result);
            }
        }
    }
}
