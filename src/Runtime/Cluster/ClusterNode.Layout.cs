using System.Buffers.Binary;
using Dqemu.Runtime.Memory;
using Dqemu.Runtime.Threading;

namespace Dqemu.Runtime.Cluster;

// The guest's layout and signal dispositions: node 0 decides them, every worker applies the same, in order.
internal sealed unsafe partial class ClusterNode
{
    /// <summary>
    /// Node 0, before the guest's first instruction: every worker gets the process's identity, its signal
    /// dispositions and its layout so far; from then on each layout change is copied as it happens.
    /// </summary>
    public void AttachNode0(GuestProcess process, GuestThread main)
    {
        Join(process);
        main.Cpu->SplitMap = SplitTable; // created before the cluster was attached; later threads take it from it
        _placement = new Dqemu.Dsm.Placement(_ctx.Config.InitialPlacement, _ctx.Config.Nodes.Select(n => n.Cores).ToArray());
        _placement.Add(0);
        foreach (var (index, node) in _ctx.Config.PlacementRules) _placement.SetRule(index, node);
        var b = new List<byte>(new byte[8]);
        PutI32(b, GuestProcess.Pid);
        PutU64(b, process.SigreturnTrampoline);
        b.Add((byte)((process.Options.Stats ? 1 : 0) | (process.Options.Strace ? 2 : 0)));
        PutString(b, process.ExePath);
        PutString(b, process.Sysroot ?? "");
        lock (process.SigHandlers)
            foreach (ulong v in process.SigHandlers) PutU64(b, v);
        var vmas = process.Space.Vmas;
        PutI32(b, vmas.Count);
        foreach (var v in vmas) PutRange(b, v.Start, v.End, v.Prot, v.Name);
        PutU64(b, (ulong)process.Space.Version);
        CallAll(Workers, ClusterMessages.Attach, b.ToArray(), "the attach");
        _memory.Replicate = Replicate;
    }

    private void Replicate(LayoutOp op, ulong start, ulong end, GuestProt prot, string name)
    {
        var b = new List<byte>(new byte[8]) { (byte)op };
        PutRange(b, start, end, prot, name);
        PutU64(b, (ulong)P.Space.Version); // called under node 0's layout lock, right after the change
        CallAll(Workers, ClusterMessages.Layout, b.ToArray(), "a layout change");
    }

    // ------------------------------------------------------------------ widenings, learnt when needed

    /// <summary>Most spans one answer carries: a refresh asks about one page or one syscall buffer.</summary>
    private const int MaxSpans = 256;

    private long _layoutQueries;

    /// <summary>Node 0's spans of [start, end) behind <paramref name="prefix"/> bytes (see <see cref="ClusterMessages"/>).</summary>
    private byte[] Spans(ulong start, ulong end, int prefix)
    {
        var spans = new List<GuestSpace.LayoutSpan>();
        long version = P.Space.SpansIn(start, end, spans, MaxSpans);
        var b = new byte[prefix + 12 + 17 * spans.Count];
        var s = b.AsSpan(prefix);
        BinaryPrimitives.WriteInt64LittleEndian(s, version);
        BinaryPrimitives.WriteInt32LittleEndian(s[8..], spans.Count);
        int at = 12;
        foreach (var span in spans)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(s[at..], span.Start);
            BinaryPrimitives.WriteUInt64LittleEndian(s[(at + 8)..], span.End);
            s[at + 16] = (byte)span.Prot;
            at += 17;
        }
        return b;
    }

    /// <summary>A worker applies node 0's spans (<see cref="GuestSpace.ApplySpans"/>).</summary>
    private GuestSpace.SpansApplied ApplySpans(ReadOnlySpan<byte> s)
    {
        long version = BinaryPrimitives.ReadInt64LittleEndian(s);
        int n = BinaryPrimitives.ReadInt32LittleEndian(s[8..]);
        var spans = new List<GuestSpace.LayoutSpan>(n);
        for (int i = 0, at = 12; i < n; i++, at += 17)
            spans.Add(new(BinaryPrimitives.ReadUInt64LittleEndian(s[at..]), BinaryPrimitives.ReadUInt64LittleEndian(s[(at + 8)..]), (GuestProt)s[at + 16]));
        return P.Space.ApplySpans(spans, version);
    }

    /// <summary>Node 0, on the receiving thread (the layout is read without its lock): a worker's <see cref="RefreshLayout"/>.</summary>
    private void OnLayoutQuery(int from, ReadOnlySpan<byte> body)
    {
        ulong start = BinaryPrimitives.ReadUInt64LittleEndian(body[8..]), end = BinaryPrimitives.ReadUInt64LittleEndian(body[16..]);
        Answer(from, body, Spans(start, end, 0));
    }

    /// <summary>
    /// A worker's <see cref="Memory.IGuestCoherence.RefreshLayout"/>: node 0's protections of the pages of
    /// [addr, addr+len), asked again while a later layout change overtakes the answer.
    /// </summary>
    private bool RefreshLayout(ulong addr, ulong len)
    {
        ulong start = GuestSpace.PageDown(addr), end = Math.Min(GuestSpace.PageUp(addr + Math.Max(len, 1)), GuestSpace.Size);
        // each stale answer is followed by a newer one; the bound only matters if node 0 never stops changing the layout
        for (int attempt = 0; attempt < 64; attempt++)
        {
            Interlocked.Increment(ref _layoutQueries);
            var request = NewRequest(16);
            BinaryPrimitives.WriteUInt64LittleEndian(request.AsSpan(8), start);
            BinaryPrimitives.WriteUInt64LittleEndian(request.AsSpan(16), end);
            var applied = ApplySpans(Call(0, ClusterMessages.LayoutQuery, request, RpcTimeout, "a layout query"));
            if (applied != GuestSpace.SpansApplied.Stale) return applied == GuestSpace.SpansApplied.Changed;
        }
        return true; // the layout kept changing meanwhile: let the caller look at it again
    }

    public void DispositionChanged(int sig)
    {
        if (Self != 0 || _transport.NodeCount == 1) return;
        var b = new List<byte>(new byte[8]);
        PutI32(b, sig);
        for (int i = 0; i < 4; i++) PutU64(b, P.SigHandlers[sig * 4 + i]);
        CallAll(Workers, ClusterMessages.Disposition, b.ToArray(), "a signal disposition");
    }

    /// <summary>Creates a worker's guest process when node 0 attaches it (see <see cref="AttachNode0"/>).</summary>
    public Func<string, string?, bool, bool, GuestProcess>? CreateProcess { get; set; }

    private void RunApplier()
    {
        // node 0 waits for every worker to apply a change; a computing guest thread must not delay it (UrgentThread)
        Dqemu.Rdma.UrgentThread.Make();
        foreach (var work in _applier.Consume()) work();
    }

    /// <summary>A worker applies what node 0 sent, on the applier thread, and answers when done.</summary>
    private void Apply(int from, ushort type, byte[] body)
    {
        try
        {
            int at = 8;
            ReadOnlySpan<byte> s = body;
            switch (type)
            {
                case ClusterMessages.Attach:
                    {
                        int pid = BinaryPrimitives.ReadInt32LittleEndian(s[at..]); at += 4;
                        ulong trampoline = BinaryPrimitives.ReadUInt64LittleEndian(s[at..]); at += 8;
                        byte options = s[at++];
                        string exe = GetString(s, ref at);
                        string sysroot = GetString(s, ref at);
                        GuestProcess.Pid = pid;
                        var process = CreateProcess!(exe, sysroot.Length == 0 ? null : sysroot, (options & 1) != 0, (options & 2) != 0);
                        process.SigreturnTrampoline = trampoline;
                        for (int i = 0; i < process.SigHandlers.Length; i++, at += 8)
                            process.SigHandlers[i] = BinaryPrimitives.ReadUInt64LittleEndian(s[at..]);
                        Join(process);
                        int n = BinaryPrimitives.ReadInt32LittleEndian(s[at..]); at += 4;
                        var ranges = new List<(ulong Start, ulong End, GuestProt Prot, string Name)>(n);
                        for (int i = 0; i < n; i++) ranges.Add(GetRange(s, ref at));
                        long version = BinaryPrimitives.ReadInt64LittleEndian(s[at..]);
                        foreach (var r in ranges) process.Space.ApplyRemote(LayoutOp.Map, r.Start, r.End, r.Prot, r.Name, version);
                        _memory.Refresh = RefreshLayout;
                        break;
                    }
                case ClusterMessages.Layout:
                    {
                        var op = (LayoutOp)s[at++];
                        var r = GetRange(s, ref at);
                        P.Space.ApplyRemote(op, r.Start, r.End, r.Prot, r.Name, BinaryPrimitives.ReadInt64LittleEndian(s[at..]));
                        break;
                    }
                case ClusterMessages.Split:
                    ApplySplit(s);
                    break;
                case ClusterMessages.Disposition:
                    {
                        int sig = BinaryPrimitives.ReadInt32LittleEndian(s[at..]); at += 4;
                        var h = P.SigHandlers;
                        lock (h)
                            for (int i = 0; i < 4; i++, at += 8) h[sig * 4 + i] = BinaryPrimitives.ReadUInt64LittleEndian(s[at..]);
                        break;
                    }
            }
        }
        catch (Exception e)
        {
            Lost($"node {Self}: applying node 0's message 0x{type:x} failed: {e.GetType().Name}: {e.Message}");
        }
        Answer(from, body, ReadOnlySpan<byte>.Empty);
    }
}
