using System.Runtime.InteropServices;

namespace Dqemu.JitX64.State;

/// <summary>
/// One guest thread's architectural state. Generated code addresses every field through
/// <see cref="CpuOffsets"/>; the part before <see cref="CpuOffsets.ShippedSize"/> is position-independent
/// so another node can take it byte for byte (DESIGN.md invariant 4). The tail is host-local.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = CpuOffsets.Size)]
public unsafe struct CpuState
{
    [FieldOffset(CpuOffsets.X0)] public fixed ulong X[32]; // X[31] is SP
    [FieldOffset(CpuOffsets.Pc)] public ulong Pc;
    [FieldOffset(CpuOffsets.Nzcv)] public uint NzcvHost;
    [FieldOffset(CpuOffsets.Fpcr)] public uint Fpcr;
    [FieldOffset(CpuOffsets.Fpsr)] public uint Fpsr;
    [FieldOffset(CpuOffsets.Tpidr)] public ulong Tpidr;
    [FieldOffset(CpuOffsets.ExclAddr)] public ulong ExclAddr;
    [FieldOffset(CpuOffsets.ExclValue)] public ulong ExclValue0;
    [FieldOffset(CpuOffsets.ExclValue + 8)] public ulong ExclValue1;
    [FieldOffset(CpuOffsets.ExclSize)] public int ExclSize;
    [FieldOffset(CpuOffsets.V0)] public fixed ulong V[64]; // V[2n] low, V[2n+1] high

    // host-local tail
    [FieldOffset(CpuOffsets.MemBase)] public ulong MemBase;
    [FieldOffset(CpuOffsets.ExitRequest)] public int ExitRequest;
    [FieldOffset(CpuOffsets.LinkSite)] public ulong LinkSite;
    [FieldOffset(CpuOffsets.FaultAddr)] public ulong FaultAddr;
    [FieldOffset(CpuOffsets.JumpCache)] public ulong JumpCache;
    [FieldOffset(CpuOffsets.AddrLimit)] public ulong AddrLimit;
    [FieldOffset(CpuOffsets.BlocksRun)] public ulong BlocksRun;
    [FieldOffset(CpuOffsets.HelperScratch)] public ulong HelperScratch;
    [FieldOffset(CpuOffsets.Mxcsr)] public uint Mxcsr;
    [FieldOffset(CpuOffsets.FaultHostRip)] public ulong FaultHostRip;
    [FieldOffset(CpuOffsets.FaultError)] public ulong FaultError;
    /// <summary>Host pointer to the split-page table (format at <see cref="CpuOffsets.SplitMap"/>).</summary>
    [FieldOffset(CpuOffsets.SplitMap)] public ulong SplitMap;
    [FieldOffset(CpuOffsets.FaultRegs)] public fixed ulong FaultRegs[CpuOffsets.FaultRegCount];
    [FieldOffset(CpuOffsets.WildAddr)] public ulong WildAddr;
    [FieldOffset(CpuOffsets.FaultVRegs)] public fixed ulong FaultVRegs[2 * CpuOffsets.FaultVRegCount];

    public ulong Sp { get => X[31]; set => X[31] = value; }

    /// <summary>NZCV in the architectural layout (bits 31..28).</summary>
    public uint Nzcv
    {
        get => Flags.HostToArm(NzcvHost);
        set => NzcvHost = Flags.ArmToHost(value);
    }
}

public static class CpuOffsets
{
    public const int X0 = 0;
    public const int Sp = 31 * 8;
    public const int Pc = 256;
    public const int Nzcv = 264;
    public const int Fpcr = 268;
    public const int Fpsr = 272;
    public const int Tpidr = 280;
    public const int ExclAddr = 288;
    public const int ExclValue = 296;
    public const int ExclSize = 312;
    public const int V0 = 320;
    public const int ShippedSize = V0 + 32 * 16; // 832

    public const int MemBase = 832;
    public const int ExitRequest = 840;
    public const int LinkSite = 848;
    public const int FaultAddr = 856;
    public const int JumpCache = 864;
    public const int AddrLimit = 872;
    public const int BlocksRun = 880;
    public const int HelperScratch = 888;
    /// <summary>Host MXCSR derived from FPCR (rounding mode, flush-to-zero); loaded on every entry.</summary>
    public const int Mxcsr = 896;
    public const int DefaultMxcsr = 0x1F80;
    /// <summary>Host RIP of a faulting guest access, so the dispatcher can find the guest PC.</summary>
    public const int FaultHostRip = 904;
    /// <summary>The x86 page-fault error code of that access (bit 1 set = a write), so a DSM knows what to fetch.</summary>
    public const int FaultError = 912;
    public const ulong FaultErrorWrite = 2;

    /// <summary>
    /// Host pointer to the split-page table: one u64 per guest page, indexed by (masked guest address &gt;&gt; 12),
    /// read by the split-aware accesses only (<c>Translator.MarkSplitAware</c>); the runtime sets it before any
    /// instruction is marked, so it is never 0 when read. The table has slack entries past the guest range, so an index
    /// taken from an address up to 64 KiB + 64 past it (a displacement folded in), or from the wild target
    /// (<see cref="WildTarget"/>), is still inside it.
    ///
    /// Entry format (this is the one place it is defined):
    ///   0                      the page is not split.
    ///   delta | shift          the page is split into coherence units of 2^shift bytes (shift = entry &amp; 0xF,
    ///                          3..11); delta = entry &amp; ~0xFFF is a page-aligned u64 added to the address.
    /// An access covering <c>span</c> bytes from masked guest address A (displacement included) on a page whose
    /// entry E != 0, with off = A &amp; 0xFFF and last = off + span - 1: when last &lt;= 0xFFF and
    /// (off &gt;&gt; shift) == (last &gt;&gt; shift) it goes to host [r15 + A + (E &amp; ~0xFFF) + ((off &gt;&gt; shift) &lt;&lt; 12)],
    /// i.e. unit k of the page lives in its own shadow page (above the guest range, inside the reservation) at
    /// the same in-page offset. Otherwise (the access crosses a unit or the page) it is not redirected and goes
    /// to [r15 + A]; the runtime keeps a split page's guest view inaccessible, so it faults there and the
    /// runtime merges the page back.
    /// </summary>
    public const int SplitMap = 920;

    /// <summary>The masked guest address of a split-aware instruction's access before its redirect (the exclusive
    /// monitor records and compares guest addresses, so LDXR and STXR agree whichever of them redirects).</summary>
    public const int SplitGuestAddr = 928;

    /// <summary>
    /// The register cache's host registers at a host fault in translated code, saved by the SIGSEGV handler in the
    /// order of <c>EmitterContext.CachePool</c> (r12, r13, rbp, r11, r10, r9, r8): guest registers a block holds
    /// only there (write-back) are copied to X[] from here by <c>Translator.RestoreFaultState</c>.
    /// </summary>
    public const int FaultRegs = 936;
    public const int FaultRegCount = 7;

    /// <summary>
    /// The guest address of the last access that was above <see cref="AddrLimit"/> even with its top byte ignored
    /// (<c>JitStubs.WildAddress</c> stores it). Such an access is sent to <see cref="WildTarget"/> bytes above
    /// the limit, in the guard, where it faults; <see cref="GuestFaultAddress"/> gives the guest its own address back.
    /// </summary>
    public const int WildAddr = 992;

    /// <summary>How far above the limit a wild access is sent: beyond what an in-range address plus an instruction's
    /// displacement (at most 64 KiB + 64 bytes) can reach, so the two kinds of guard fault never mix; the guard
    /// above the guest range must cover it plus that reach (GuestSpace.GuardSize, JitHarness).</summary>
    public const ulong WildTarget = 0x20000;

    /// <summary>
    /// The guest address a faulting access really had: <paramref name="faultAddr"/> itself, unless the fault is in
    /// the wild-target range, where it is the address <c>WildAddress</c> kept plus how far into the range the access
    /// faulted (its displacement). Its top byte is replaced by copies of bit 55, as Linux reports si_addr to a handler
    /// without SA_EXPOSE_TAGBITS (a user pointer's tag is cleared; 0xffff8... stays).
    /// </summary>
    public static unsafe ulong GuestFaultAddress(CpuState* cpu, ulong faultAddr)
    {
        ulong into = faultAddr - (cpu->AddrLimit + 1 + WildTarget);
        if (into >= WildTarget) return faultAddr;
        return (ulong)((long)((cpu->WildAddr + into) << 8) >> 8);
    }

    /// <summary>
    /// The thread's split-redirect cache: <see cref="SplitCacheSlots"/> slots of (u64 key, u64 delta), one per
    /// split-aware instruction that got a slot (the translator numbers them). A slot says "this instruction's access
    /// at masked address key goes to key + delta"; it is filled by the redirect stub from the table and checked
    /// inline first, so a loop that keeps hitting its own unit pays a compare and an add. Entries go stale only when
    /// their page merges back, and then they point into a retired shadow slot, which is never accessible: the access
    /// faults, and the runtime clears the thread's cache on every fault at a shadow address.
    /// </summary>
    public const int SplitCache = 1024;
    public const int SplitCacheSlots = 64;

    /// <summary>
    /// The register cache's xmm registers at a host fault in translated code (xmm8..xmm15 and xmm7..xmm4,
    /// <c>EmitterContext.XmmPool</c> order), saved by the exit the SIGSEGV handler sends the thread to: guest V registers a block holds only there
    /// are copied to V[] from here by <c>Translator.RestoreFaultState</c>.
    /// </summary>
    public const int FaultVRegs = SplitCache + SplitCacheSlots * 16;
    public const int FaultVRegCount = 12;
    public const int Size = FaultVRegs + FaultVRegCount * 16;

    public static int Xn(int n) => X0 + n * 8;
    public static int Vn(int n) => V0 + n * 16;
}

/// <summary>
/// FPSR as the translator keeps it: <see cref="CpuState.Fpsr"/> holds QC, IDC and whatever MSR FPSR wrote; the IEEE
/// cumulative exception bits the host raises since then are MXCSR's sticky flags (<see cref="CpuState.Mxcsr"/> while
/// the thread is outside translated code), so that SSE arithmetic needs no extra instruction to record them.
/// </summary>
public static class FpsrBits
{
    /// <summary>QC, cumulative saturation (bit 27): set by a saturating integer instruction whose result saturated
    /// (the Arm ARM's SignedSatQ/UnsignedSatQ), cleared only by MSR FPSR.</summary>
    public const uint QC = 1u << 27;

    /// <summary>MXCSR's six sticky exception flags.</summary>
    public const uint MxcsrFlags = 0x3F;

    /// <summary>FPSR as MRS FPSR reads it: the stored word plus MXCSR's sticky flags (IE->IOC, ZE->DZC, OE->OFC,
    /// UE->UFC, PE->IXC; DE->IDC only under flush-to-zero, where A64 reports flushed denormal inputs). The same
    /// mapping as the code InstEmit.EmitReadFpsr emits.</summary>
    public static uint Read(uint fpsr, uint mxcsr)
    {
        uint r = fpsr | (mxcsr & 1) | ((mxcsr >> 1) & 0x1E);
        if ((mxcsr & 0x8000) != 0) r |= (mxcsr & 2) << 6;
        return r;
    }
}

/// <summary>
/// NZCV is kept in the layout LAHF/SETO produce (N=bit 15, Z=14, C=8, V=0) with C inverted, i.e. the
/// x86 borrow convention, so that a compare followed by B.cond needs no fix-up and every A64 condition
/// maps onto one x86 condition code after "add al,0x7f; sahf".
/// </summary>
public static class Flags
{
    public const uint HostN = 1u << 15, HostZ = 1u << 14, HostNotC = 1u << 8, HostV = 1u;

    public static uint ArmToHost(uint nzcv)
    {
        uint h = 0x0200; // LAHF's bit 1 is always set
        if ((nzcv & (1u << 31)) != 0) h |= HostN;
        if ((nzcv & (1u << 30)) != 0) h |= HostZ;
        if ((nzcv & (1u << 29)) == 0) h |= HostNotC;
        if ((nzcv & (1u << 28)) != 0) h |= HostV;
        return h;
    }

    public static uint HostToArm(uint h)
    {
        uint n = 0;
        if ((h & HostN) != 0) n |= 1u << 31;
        if ((h & HostZ) != 0) n |= 1u << 30;
        if ((h & HostNotC) == 0) n |= 1u << 29;
        if ((h & HostV) != 0) n |= 1u << 28;
        return n;
    }
}
