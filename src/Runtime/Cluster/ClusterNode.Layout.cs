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
        _placement = new Dqemu.Dsm.Placement(_ctx.Config.Placement == "fill" ? Dqemu.Dsm.PlacementPolicy.Fill : Dqemu.Dsm.PlacementPolicy.RoundRobin,
            _ctx.Config.Nodes.Select(n => n.Cores).ToArray());
        _placement.Add(0);
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
        CallAll(Workers, ClusterMessages.Attach, b.ToArray(), "the attach");
        _memory.Replicate = Replicate;
    }

    private void Replicate(LayoutOp op, ulong start, ulong end, GuestProt prot, string name)
    {
        var b = new List<byte>(new byte[8]) { (byte)op };
        PutRange(b, start, end, prot, name);
        CallAll(Workers, ClusterMessages.Layout, b.ToArray(), "a layout change");
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
        foreach (var work in _applier.GetConsumingEnumerable()) work();
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
                        for (int i = 0; i < n; i++)
                        {
                            var r = GetRange(s, ref at);
                            process.Space.ApplyRemote(LayoutOp.Map, r.Start, r.End, r.Prot, r.Name);
                        }
                        break;
                    }
                case ClusterMessages.Layout:
                    {
                        var op = (LayoutOp)s[at++];
                        var r = GetRange(s, ref at);
                        P.Space.ApplyRemote(op, r.Start, r.End, r.Prot, r.Name);
                        break;
                    }
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
