using System.Buffers.Binary;
using Dqemu.Dsm;
using Dqemu.Rdma;
using Dqemu.Tests.Dsm;

namespace Dqemu.Tests.Explore;

/// <summary>What exploring one seed found.</summary>
/// <param name="Violation">null when every check held.</param>
/// <param name="Trace">the steps taken (only when asked for: a replay).</param>
/// <param name="ActorRuns">how many of the steps were an actor's turn.</param>
/// <param name="Switches">how many turns needed a switch to another thread (the expensive steps).</param>
/// <param name="Rescues">waiting actors that got on only when the explorer, finding nothing to do, let every one look
/// again: a message or event the explorer did not count as news for them (0 while its model of waits is right).</param>
public sealed record ExploreOutcome(long Seed, string? Violation, int Steps, int ActorRuns, int Switches, int Rescues, ExploreScenario Scenario, IReadOnlyList<string>? Trace,
    long UpdatesOffered = 0, long Batches = 0);

/// <summary>
/// Systematic exploration of the real <see cref="DsmNode"/> and <see cref="FutexEngine"/> of 2-3 nodes over a
/// <see cref="ScheduledNetwork"/>. At every step the explorer lists what could happen next — deliver the oldest message
/// of a (from, to) channel, start an actor's next operation, resume an actor whose node has news since it began
/// waiting or that paused (a pin held), interrupt a futex waiter, kill the scenario's victim node, tell a survivor
/// about the loss — and takes one chosen by the seed's random stream. One thread runs at a time, so the seed replays
/// the schedule exactly.
/// </summary>
/// <remarks>
/// Checks after every step (until a node dies, after which only liveness counts):
/// one writer (one Modified copy and no other valid one); no view more open than its engine's state; every valid copy
/// holds the last written bytes (a model of the pages updated with every store); every load and every futex word read
/// returns the last written value; a home's idle entry, with no message about the page on the wire, names exactly the
/// copies the nodes hold; no engine failed. At the end (nothing enabled): every operation completed — a futex waiter
/// still blocked must have read the word's final value (then it is interrupted and the schedule goes on), anything
/// else blocked is a lost wake-up or a lost page; no waiter is left in a futex queue. A schedule longer than
/// <see cref="ExploreLimits.MaxSteps"/> is a livelock.
/// </remarks>
public sealed class ProtocolExplorer : IDisposable
{
    private const long EAGAIN = 11, EINTR = 4;

    private readonly ExploreLimits _limits;
    private readonly Actor[] _pool;

    public ProtocolExplorer(ExploreLimits? limits = null)
    {
        _limits = limits ?? new ExploreLimits();
        _pool = new Actor[_limits.MaxActors];
        for (int i = 0; i < _pool.Length; i++) _pool[i] = new Actor($"explore-actor-{i}");
    }

    public ExploreLimits Limits => _limits;

    /// <summary>A message type the network loses once per schedule (see <see cref="ScheduledNetwork"/>); 0: none.</summary>
    public ushort LoseFirst { get; init; }

    /// <summary>Draws each schedule's scenario instead of <see cref="ExploreScenario.Draw"/> (a situation too rare
    /// among random ones, explored under every schedule the seeds give); it must stay within <see cref="Limits"/>.</summary>
    public Func<Random, ExploreScenario>? Scenario { get; init; }

    /// <summary>The network delivers every page with the contents of its first delivery (see <see cref="ScheduledNetwork"/>).</summary>
    public bool StalePages { get; init; }

    /// <summary>Explores the schedule of <paramref name="seed"/>; with <paramref name="trace"/> every step is recorded.</summary>
    public ExploreOutcome Run(long seed, bool trace = false)
    {
        var rng = new Random((int)(seed ^ (seed >> 32)) ^ 0x5eed);
        var scenario = Scenario?.Invoke(rng) ?? ExploreScenario.Draw(rng, _limits);
        if (_broken is { } broken) throw new InvalidOperationException("the explorer is unusable: " + broken);
        var run = new Schedule(this, scenario, rng, trace);
        string? violation = run.Explore();
        if (run.Wedged) _broken = violation;
        return new ExploreOutcome(seed, violation, run.Steps, run.ActorRuns, run.Switches, run.Rescues, scenario, trace ? run.Trace : null,
            run.UpdatesOffered, run.Batches);
    }

    /// <summary>Set when a schedule left an actor blocked outside a poll: its thread cannot be used again.</summary>
    private string? _broken;

    public void Dispose()
    {
        foreach (var a in _pool) a.Dispose();
    }

    /// <summary>One schedule: the engines, the model of memory and what each actor is doing.</summary>
    private sealed class Schedule
    {
        private readonly ProtocolExplorer _x;
        private readonly ExploreScenario _s;
        private readonly Random _rng;
        private readonly ScheduledNetwork _net;
        private readonly InMemoryMemory _mem;
        private readonly DsmNode[] _dsm;
        private readonly FutexEngine[] _futex;
        private readonly ActorState[] _actors;
        private readonly byte[][] _model;
        private readonly bool[] _lossReported;
        private readonly List<Choice> _choices = new();
        private readonly List<string>? _trace;
        private string? _violation; // found on an actor's thread
        private bool _killed, _swept, _over;
        private string? _result;
        private Choice _lastChoice;
        private readonly SemaphoreSlim _mainWake = new(0);
        private long _sweepMark;
        private long _stores;

        public Schedule(ProtocolExplorer x, ExploreScenario s, Random rng, bool trace)
        {
            _x = x;
            _s = s;
            _rng = rng;
            _trace = trace ? new List<string>() : null;
            _net = new ScheduledNetwork(s.Nodes, x.LoseFirst, x.StalePages);
            _mem = new InMemoryMemory(s.Nodes);
            var options = new DsmOptions
            {
                Home = s.Home, Compress = s.Compress, AcquireTimeout = Timeout.InfiniteTimeSpan,
                SplitAfter = s.SplitAfter, SplitWindow = TimeSpan.FromDays(1), PushUpdates = s.PushUpdates,
            };
            _dsm = new DsmNode[s.Nodes];
            _futex = new FutexEngine[s.Nodes];
            for (int n = 0; n < s.Nodes; n++)
            {
                _dsm[n] = new DsmNode(n, s.Nodes, _net[n], _mem[n], options);
                _futex[n] = new FutexEngine(n, s.Nodes, _net[n], new WordReader(this, n), Timeout.InfiniteTimeSpan, s.KeepIdle);
                if (s.ForwardWakes)
                {
                    var dsm = _dsm[n];
                    _futex[n].PagesWithWake = pages => { foreach (ulong p in pages) dsm.Prefetch(p); };
                }
                if (s.PushUpdates)
                {
                    var dsm = _dsm[n];
                    dsm.UpdateOffered += page => dsm.Prefetch(page);
                }
                _net[n].Start(new Handler(_dsm[n], _futex[n]));
            }
            _actors = new ActorState[s.Actors.Length];
            for (int a = 0; a < _actors.Length; a++)
            {
                var st = _actors[a] = new ActorState(x._pool[a], s.Actors[a].Node, s.Actors[a].Ops);
                st.Actor.Drive = () => DriveFrom(st);
                st.Actor.Crashed = ex => Violate($"an operation threw {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}");
            }
            _model = new byte[s.Pages.Length][];
            for (int p = 0; p < _model.Length; p++) _model[p] = new byte[DsmNode.PageSize];
            _lossReported = new bool[s.Nodes];
        }

        /// <summary>Read-mostly pages the homes offered to readers (DsmOptions.PushUpdates).</summary>
        public long UpdatesOffered => _dsm.Sum(d => d.UpdateCounts.Offered);

        /// <summary>Batches the engines sent (DsmNode.BeginBatch: prefetches, and replies to a batch).</summary>
        public long Batches => _dsm.Sum(d => d.BatchCounts.Batches);

        public int Steps { get; private set; }
        public int ActorRuns { get; private set; }
        public int Rescues { get; private set; }
        public int Switches { get; private set; }
        public List<string> Trace => _trace ?? [];

        /// <summary>True when an actor blocked outside a poll (the schedule could not end its turn).</summary>
        public bool Wedged { get; private set; }

        /// <summary>Runs the schedule from the calling (main) thread; returns the violation found, or null.</summary>
        public string? Explore()
        {
            DriveFrom(null);
            if (!_over)
            {
                // the main thread gave up waiting: an actor's turn never ended
                Wedged = true;
                return "an actor blocked outside a poll of the network (its turn never ended)\n" + string.Join("\n", Trace.TakeLast(50));
            }
            return _result;
        }

        /// <summary>
        /// The schedule's engine, run by whichever thread holds the turn: the main thread at the start, then the thread of
        /// each actor whose turn ends (<paramref name="self"/>). It takes steps on this thread until one is an actor's
        /// turn: its own (return at once, no switch) or another's (wake it and sleep until chosen again). When the
        /// schedule is over the main thread is woken instead.
        /// </summary>
        private void DriveFrom(ActorState? self)
        {
            if (self is not null) EndTurn(self);
            var next = NextTurn();
            if (next is not null && next == self) return;
            if (next is null)
            {
                if (self is null) return;
                _mainWake.Release();
            }
            else
            {
                Switches++;
                next.Actor.Wake();
            }
            if (self is not null)
            {
                self.Actor.Sleep();
                return;
            }
            if (!_mainWake.Wait(TimeSpan.FromSeconds(60))) return; // Explore reports the wedge
        }

        /// <summary>Takes steps until one is an actor's turn (returned, its bookkeeping begun) or the schedule is over
        /// and every actor idle again (null).</summary>
        private ActorState? NextTurn()
        {
            while (true)
            {
                if (_over)
                {
                    // draining: every actor still inside an operation finishes it (the engines stopped, so waits end)
                    foreach (var st in _actors)
                        if (st.Actor.Status != ActorStatus.Idle) return BeginTurn(st);
                    return null;
                }
                if (_violation is { } v)
                {
                    Finish(v);
                    continue;
                }
                if (Steps >= _x._limits.MaxSteps)
                {
                    Finish($"livelock: {Steps} steps and still going\n{Dump()}");
                    continue;
                }
                // the victim's threads finish what they were in before anything else happens
                foreach (var st in _actors)
                    if (_net.IsDead(st.Node) && st.Actor.Status != ActorStatus.Idle)
                        return BeginTurn(st);
                ListChoices();
                if (_choices.Count == 0)
                {
                    if (EndOrUnblock() is { } stuck)
                    {
                        Finish(stuck);
                        continue;
                    }
                    if (_choices.Count == 0)
                    {
                        Finish(FinalChecks());
                        continue;
                    }
                }
                var c = _choices[_rng.Next(_choices.Count)];
                Steps++;
                _lastChoice = c;
                if (Take(c) is { } turn) return BeginTurn(turn);
                AfterStep();
            }
        }

        /// <summary>After every step (a turn's end included): what the sweep saved, and the checks.</summary>
        private void AfterStep()
        {
            var c = _lastChoice;
            if (_swept && (c.Kind != Kind.Resume || Mark != _sweepMark || _actors[c.A].Actor.Status != ActorStatus.Waiting))
            {
                if (c.Kind == Kind.Resume) Rescues++;
                _swept = false;
            }
            if (_violation is { } v) Finish(v);
            else if (!_killed && StepChecks() is { } bad) Finish(bad);
        }

        private ActorState BeginTurn(ActorState st)
        {
            st.Before = Mark;
            st.Started = st.Actor.Status == ActorStatus.Idle;
            return st;
        }

        private void EndTurn(ActorState st)
        {
            if (_over) return; // a drained actor: nothing counts any more
            AfterRun(st, st.Started, st.Before);
            if (_net.IsDead(st.Node)) return;
            AfterStep();
        }

        /// <summary>The schedule ends with <paramref name="result"/>: the engines stop, so that every actor still in an
        /// operation can finish it.</summary>
        private void Finish(string? result)
        {
            _result = result;
            _over = true;
            for (int n = 0; n < _s.Nodes; n++)
            {
                _dsm[n].Fail("schedule over");
                _futex[n].Fail("schedule over");
            }
            foreach (var st in _actors) st.Next = st.Ops.Length;
        }

        // ------------------------------------------------------------ choices

        private enum Kind : byte { Deliver, Start, Resume, Interrupt, Kill, ReportLoss }

        private readonly record struct Choice(Kind Kind, int A, int B = 0);

        private void ListChoices()
        {
            _choices.Clear();
            for (int f = 0; f < _s.Nodes; f++)
                for (int t = 0; t < _s.Nodes; t++)
                    if (f != t && !_net.IsDead(t) && _net.Channel(f, t).Count > 0) _choices.Add(new(Kind.Deliver, f, t));
            for (int a = 0; a < _actors.Length; a++)
            {
                var st = _actors[a];
                if (_net.IsDead(st.Node)) continue;
                switch (st.Actor.Status)
                {
                    case ActorStatus.Idle when st.Next < st.Ops.Length:
                        _choices.Add(new(Kind.Start, a));
                        break;
                    case ActorStatus.Paused:
                        _choices.Add(new(Kind.Resume, a));
                        break;
                    case ActorStatus.Waiting:
                        if (st.News) _choices.Add(new(Kind.Resume, a));
                        else if (st.InFutexWait && !st.Interrupted && _rng.Next(8) == 0) _choices.Add(new(Kind.Interrupt, a));
                        break;
                }
            }
            if (_s.Victim >= 0 && !_killed && _rng.Next(24) == 0) _choices.Add(new(Kind.Kill, _s.Victim));
            if (_killed)
                for (int n = 0; n < _s.Nodes; n++)
                    if (!_net.IsDead(n) && !_lossReported[n]) _choices.Add(new(Kind.ReportLoss, n));
        }

        /// <summary>Takes one step: an actor's turn is returned (its thread runs it), anything else runs here.</summary>
        private ActorState? Take(Choice c)
        {
            switch (c.Kind)
            {
                case Kind.Deliver:
                {
                    var m = _net.Deliver(c.A, c.B);
                    NewsFor(m);
                    _trace?.Add($"{Steps}: deliver {m}");
                    return null;
                }
                case Kind.Start:
                {
                    var st = _actors[c.A];
                    var op = st.Ops[st.Next++];
                    _trace?.Add($"{Steps}: actor {c.A} (node {st.Node}) starts {op}");
                    if (NeverWaits(st.Node, op))
                    {
                        RunOp(c.A, op); // the same code on this thread: it cannot reach a wait, so it needs no turn
                        NewsFor(st.Node);
                        return null;
                    }
                    st.Watch(op, _s);
                    int a = c.A;
                    st.Actor.Assign(() => RunOp(a, op));
                    return st;
                }
                case Kind.Resume:
                {
                    var st = _actors[c.A];
                    _trace?.Add($"{Steps}: actor {c.A} (node {st.Node}) resumes ({st.Actor.Status})");
                    return st;
                }
                case Kind.Interrupt:
                {
                    var st = _actors[c.A];
                    _trace?.Add($"{Steps}: actor {c.A} (node {st.Node}) gets a signal");
                    st.Interrupted = true;
                    st.Waiter.Interrupt();
                    st.News = true;
                    return null;
                }
                case Kind.Kill:
                    Kill(c.A);
                    return null;
                default: // ReportLoss
                    _trace?.Add($"{Steps}: node {c.A} learns node {_s.Victim} is lost");
                    _lossReported[c.A] = true;
                    _dsm[c.A].OnNodeLost(_s.Victim, "killed by the explorer");
                    _futex[c.A].OnNodeLost(_s.Victim, "killed by the explorer");
                    NewsFor(c.A);
                    return null;
            }
        }

        /// <summary>
        /// After an actor's turn: the node's other waiting actors have news when the turn started or ended an operation,
        /// paused in one, sent something, changed a view or stored to memory. A turn that only looked and waited again
        /// changes nothing (two waiting actors would otherwise wake each other for ever).
        /// </summary>
        private void AfterRun(ActorState st, bool started, long before)
        {
            ActorRuns++;
            if (started || st.Actor.Status != ActorStatus.Waiting || Mark != before) NewsFor(st.Node);
            st.News = false;
        }

        /// <summary>Something happened on <paramref name="node"/> that any of its waiting actors may be waiting for.</summary>
        private void NewsFor(int node)
        {
            foreach (var st in _actors)
                if (st.Node == node) st.News = true;
        }

        /// <summary>A message arrived: news for the waiting actors of its node that watch its page or futex word (an
        /// engine's wait depends on nothing else; <see cref="EndOrUnblock"/> still looks at every actor before it calls
        /// a schedule stuck).</summary>
        private void NewsFor(ChannelMessage m)
        {
            foreach (var st in _actors)
                if (st.Node == m.To && (m.IsDsm ? m.Subjects().Any(p => p >= st.PageLo && p <= st.PageHi) : m.Subject == st.Addr)) st.News = true;
        }

        /// <summary>Moves whenever something is sent, a view changes or memory is stored to.</summary>
        private long Mark => _net.Sent + _mem.ProtectCalls + _stores;

        /// <summary>Whether an operation is sure to complete without a wait (a load or store its view allows, a
        /// read-ahead, a wake whose word's view is writable): the explorer runs those itself.</summary>
        private bool NeverWaits(int node, ExploreOp op) => op.Kind switch
        {
            OpKind.Read => _mem.StateOf(node, _s.Pages[op.Page]) != PageState.Invalid,
            OpKind.Write => _mem.StateOf(node, _s.Pages[op.Page]) == PageState.Modified,
            OpKind.Prefetch or OpKind.Migrate => true,
            OpKind.FutexWake => _mem.StateOf(node, _s.Pages[_s.Words[op.Word].Page]) == PageState.Modified,
            _ => false,
        };

        /// <summary>The victim's process ends: its engines stop, its threads finish what they were in (their waits end in
        /// failure; <see cref="NextTurn"/> gives them their turns first), nothing more leaves it, and the survivors hear
        /// of it later, each at its own step.</summary>
        private void Kill(int node)
        {
            _trace?.Add($"{Steps}: node {node} dies");
            _killed = true;
            _net.MarkDead(node);
            _dsm[node].Fail("killed by the explorer");
            _futex[node].Fail("killed by the explorer");
            foreach (var st in _actors)
                if (st.Node == node) st.Next = st.Ops.Length;
        }

        /// <summary>Nothing is enabled. Blocked futex waiters that read the word's final value wait legitimately:
        /// interrupt them (choices are added) and go on. Anything else blocked is a liveness violation.</summary>
        private string? EndOrUnblock()
        {
            if (!_swept)
            {
                // first, every waiting actor looks again (news it was not told of would show here: Rescues counts them)
                _swept = true;
                _sweepMark = Mark;
                foreach (var st in _actors)
                    if (st.Actor.Status == ActorStatus.Waiting && !_net.IsDead(st.Node))
                    {
                        st.News = true;
                        _choices.Add(new(Kind.Resume, Array.IndexOf(_actors, st)));
                    }
                if (_choices.Count > 0) return null;
            }
            var stuck = new List<string>();
            for (int a = 0; a < _actors.Length; a++)
            {
                var st = _actors[a];
                if (st.Actor.Status == ActorStatus.Idle || _net.IsDead(st.Node)) continue;
                if (st.InFutexWait && !_killed && ReadModelWord(st.WaitWord) == st.WaitExpected && !st.Interrupted)
                {
                    _choices.Add(new(Kind.Interrupt, a));
                    continue;
                }
                stuck.Add($"actor {a} on node {st.Node} in {st.Ops[st.Next - 1]} ({st.Actor.Status}" +
                          (st.InFutexWait ? $", waiting for word#{st.WaitWord} != {st.WaitExpected}, now {ReadModelWord(st.WaitWord)}" : "") + ")");
            }
            return stuck.Count == 0 ? null : $"liveness: nothing can happen, yet {string.Join("; ", stuck)}\n{Dump()}";
        }

        private string? FinalChecks()
        {
            if (_killed) return null;
            for (int n = 0; n < _s.Nodes; n++)
            {
                if (_dsm[n].Failure is { } f) return $"node {n}'s DSM engine failed: {f}";
                if (_futex[n].Failure is { } g) return $"node {n}'s futex engine failed: {g}";
                for (int w = 0; w < _s.Words.Length; w++)
                    if (_futex[n].LocalWaiters(_s.WordAddr(w)) != 0)
                        return $"node {n} still queues {_futex[n].LocalWaiters(_s.WordAddr(w))} waiter(s) on word#{w} after every wait ended\n{Dump()}";
            }
            return null;
        }

        // ------------------------------------------------------------ checks

        private string? StepChecks()
        {
            for (int n = 0; n < _s.Nodes; n++)
            {
                if (_dsm[n].Failure is { } f) return $"node {n}'s DSM engine failed: {f}\n{Dump()}";
                if (_futex[n].Failure is { } g) return $"node {n}'s futex engine failed: {g}\n{Dump()}";
            }
            if (_mem.Violations is { Length: > 0 } v) return $"two writers: {v[0]}\n{Dump()}";
            for (int p = 0; p < _s.Pages.Length; p++)
            {
                ulong page = _s.Pages[p];
                int modified = 0, valid = 0;
                ulong copies = 0;
                for (int n = 0; n < _s.Nodes; n++)
                {
                    var state = _dsm[n].State(page);
                    var view = _mem.StateOf(n, page);
                    if (view > state) return $"page 0x{page:x}: node {n}'s view is {view} but its engine holds it {state}\n{Dump()}";
                    if (state == PageState.Invalid) continue;
                    valid++;
                    copies |= 1UL << n;
                    if (state == PageState.Modified) modified++;
                    if (!_mem.CopyEquals(n, page, _model[p]))
                        return $"page 0x{page:x}: node {n} holds it {state} with bytes other than the last written\n{Dump()}";
                }
                if (modified > 1 || (modified == 1 && valid > 1))
                    return $"page 0x{page:x}: {modified} Modified and {valid} valid copies\n{Dump()}";
                var home = _dsm[0].HomeOf(page);
                var e = _dsm[home].DirectoryEntry(page);
                if (!e.Busy && e.Queued == 0 && !_net.DsmMessageInFlight(page) && (e.Copies != copies || e.Modified != (modified == 1)))
                    return $"page 0x{page:x}: home node {home} records copies 0x{e.Copies:x} modified {e.Modified}, the nodes hold 0x{copies:x} ({modified} Modified)\n{Dump()}";
            }
            return null;
        }

        private string Dump()
        {
            var sb = new System.Text.StringBuilder();
            for (int n = 0; n < _s.Nodes; n++)
            {
                sb.Append($" node {n}{(_net.IsDead(n) ? " (dead)" : "")}: pages");
                foreach (var page in _s.Pages) sb.Append($" 0x{page:x}={_dsm[n].State(page)}/{_mem.StateOf(n, page)}");
                sb.Append('\n').Append(_dsm[n].DebugDump()).Append("  futex:").Append(_futex[n].DebugDump()).Append('\n');
                for (int t = 0; t < _s.Nodes; t++)
                    if (t != n && _net.Channel(n, t).Count > 0) sb.Append($"  to {t}: {string.Join(", ", _net.Channel(n, t))}\n");
            }
            return sb.ToString();
        }

        // ------------------------------------------------------------ what the actors do (on their own threads)

        private void RunOp(int a, ExploreOp op)
        {
            var st = _actors[a];
            int n = st.Node;
            try
            {
                switch (op.Kind)
                {
                    case OpKind.Read:
                        Access(n, op.Page, op.Offset, write: false);
                        break;
                    case OpKind.Write:
                        Access(n, op.Page, op.Offset, write: true);
                        break;
                    case OpKind.Pin:
                        Pin(st, op);
                        break;
                    case OpKind.PinTwice:
                        PinTwice(st, op);
                        break;
                    case OpKind.Prefetch:
                        // read-ahead asks for a run of pages in one batch (DsmNode.BeginBatch): this page and the next
                        // one of the scenario, so that batches, and the replies batched where they arrive, are explored
                        using (_dsm[n].BeginBatch())
                        {
                            _dsm[n].Prefetch(_s.Pages[op.Page], op.Write);
                            if (op.Page + 1 < _s.Pages.Length) _dsm[n].Prefetch(_s.Pages[op.Page + 1], op.Write);
                        }
                        break;
                    case OpKind.FutexWait:
                        FutexWait(st, op.Word);
                        break;
                    case OpKind.Migrate:
                        MigrateToNextNode(st);
                        break;
                    case OpKind.FutexWake:
                        var (page, offset) = _s.Words[op.Word];
                        Access(n, page, offset, write: true);
                        ulong[] pages = op.WithPages ? [_s.Pages[page]] : [];
                        _futex[n].Wake(_s.WordAddr(op.Word), op.Count, uint.MaxValue, pages);
                        break;
                }
            }
            catch (DsmException) when (_killed || _dsm[n].Failure is not null)
            {
                // a node was lost: the operation ends in failure, as the runtime would report it
            }
        }

        /// <summary>A guest load or store as the runtime's fault path does it (ClusterMemory.Fetch): try the view; on a
        /// fault, open a view the engine already allows (a read-ahead page's first touch), else acquire and retry.</summary>
        private ulong Access(int n, int p, int offset, bool write)
        {
            ulong page = _s.Pages[p];
            var dsm = _dsm[n];
            while (true)
            {
                ulong got = 0;
                if (write ? _mem.TryIncrement(n, page, offset) : _mem.TryRead(n, page, offset, out got))
                {
                    ulong value = BinaryPrimitives.ReadUInt64LittleEndian(_model[p].AsSpan(offset));
                    if (write)
                    {
                        BinaryPrimitives.WriteUInt64LittleEndian(_model[p].AsSpan(offset), ++value);
                        _stores++;
                    }
                    else if (got != value)
                        Violate($"node {n} loaded {got} at page 0x{page:x}+{offset}, the last store wrote {value}");
                    return value;
                }
                if (_killed || dsm.Failure is not null) throw new DsmException("the engine stopped");
                var need = write ? PageState.Modified : PageState.Shared;
                if (dsm.State(page) >= need)
                {
                    dsm.TakePrefetched(page);
                    _mem.Reprotect(n, page, () => dsm.State(page));
                    continue;
                }
                dsm.AcquireAt(page * DsmNode.PageSize + (ulong)offset, write);
            }
        }

        /// <summary>A syscall's pin: acquire and pin, let anything happen meanwhile, check the pages stayed, touch them
        /// through the alias as managed code does, release (which may run a request the pin held back).</summary>
        private void Pin(ActorState st, ExploreOp op)
        {
            int n = st.Node;
            ulong first = _s.Pages[op.Page];
            using var pin = _dsm[n].PinRange(first * DsmNode.PageSize + 8, (ulong)((op.Span - 1) * DsmNode.PageSize + 16), op.Write);
            st.Actor.Pause();
            for (int i = 0; i < op.Span; i++) CheckPinnedAndStore(n, op.Page + i, op.Write, op.Offset);
        }

        /// <summary>What managed code does with a pinned page: it must be held as pinned and hold the last written bytes;
        /// a write pin stores through the alias (and the model follows).</summary>
        private void CheckPinnedAndStore(int n, int p, bool write, int offset)
        {
            ulong page = _s.Pages[p];
            var need = write ? PageState.Modified : PageState.Shared;
            if (_dsm[n].State(page) < need) Violate($"node {n} pinned page 0x{page:x} for {need} but holds it {_dsm[n].State(page)}");
            if (!_mem.CopyEquals(n, page, _model[p])) Violate($"node {n} pinned page 0x{page:x}: its copy is not the last written bytes");
            if (!write) return;
            _mem.IncrementAlias(n, page, offset);
            _stores++;
            var m = _model[p].AsSpan(offset);
            BinaryPrimitives.WriteUInt64LittleEndian(m, BinaryPrimitives.ReadUInt64LittleEndian(m) + 1);
        }

        /// <summary>Moves the thread to the next living node, as the runtime does between two guest instructions: nothing
        /// of the engines moves with it (it waits on nothing), and its futex waiter is the new node's from now on.</summary>
        private void MigrateToNextNode(ActorState st)
        {
            for (int i = 1; i < _s.Nodes; i++)
            {
                int to = (st.Node + i) % _s.Nodes;
                if (_net.IsDead(to)) continue;
                _trace?.Add($"    moves from node {st.Node} to node {to}");
                st.Node = to;
                return;
            }
        }

        /// <summary>Two pins of one page by one thread, as a syscall with two buffers there makes them (ClusterMemory
        /// keeps a syscall's pins until it ends); then the same checks and store as <see cref="Pin"/>.</summary>
        private void PinTwice(ActorState st, ExploreOp op)
        {
            int n = st.Node;
            ulong page = _s.Pages[op.Page];
            using var first = _dsm[n].PinRange(page * DsmNode.PageSize + 8, 16, op.Write);
            st.Actor.Pause();
            using var second = _dsm[n].PinRange(page * DsmNode.PageSize + 64, 16, op.SecondPinWrites);
            st.Actor.Pause();
            CheckPinnedAndStore(n, op.Page, op.SecondPinWrites, op.Offset);
        }

        private void FutexWait(ActorState st, int word)
        {
            int n = st.Node;
            var (page, offset) = _s.Words[word];
            uint expected = (uint)Access(n, page, offset, write: false);
            st.WaitWord = word;
            st.WaitExpected = expected;
            st.InFutexWait = true;
            st.Interrupted = false;
            long r;
            try
            {
                r = _futex[n].Wait(_s.WordAddr(word), expected, uint.MaxValue, long.MaxValue, st.Waiter);
            }
            finally
            {
                st.InFutexWait = false;
                st.Waiter.ClearInterrupt(); // one not consumed (woken at the same time) is the runtime's to deliver
            }
            if (r != 0 && r != -EAGAIN && r != -EINTR) Violate($"node {n}: futex wait on word#{word} returned {r}");
            if (r == -EINTR && !st.Interrupted && !_killed && _futex[n].Failure is null)
                Violate($"node {n}: futex wait on word#{word} returned -EINTR without a signal");
        }

        private uint ReadModelWord(int word)
        {
            var (page, offset) = _s.Words[word];
            return (uint)BinaryPrimitives.ReadUInt64LittleEndian(_model[page].AsSpan(offset));
        }

        /// <summary>Records what an actor found wrong (the checks count only while every node lives).</summary>
        private void Violate(string what)
        {
            if (!_killed) _violation ??= what;
        }

        /// <summary>The futex engine reads its word through the DSM, as the runtime's does (and checks the value read).</summary>
        private sealed class WordReader(Schedule s, int node) : IFutexMemory
        {
            public bool TryReadWord(ulong addr, out uint value)
            {
                value = 0;
                for (int w = 0; w < s._s.Words.Length; w++)
                    if (s._s.WordAddr(w) == addr)
                    {
                        var (page, offset) = s._s.Words[w];
                        try
                        {
                            value = (uint)s.Access(node, page, offset, write: false);
                            return true;
                        }
                        catch (DsmException)
                        {
                            return false;
                        }
                    }
                return false;
            }
        }

        private sealed class ActorState(Actor actor, int node, ExploreOp[] ops)
        {
            public readonly Actor Actor = actor;
            public int Node = node;
            public readonly ExploreOp[] Ops = ops;
            public readonly FutexWaiter Waiter = new();
            public int Next;
            /// <summary>The current turn: the mark when it began, and whether it starts an operation.</summary>
            public long Before;
            public bool Started;
            /// <summary>Something happened since this actor last waited that may end its wait.</summary>
            public bool News;
            /// <summary>The pages and the futex word its current operation may wait for.</summary>
            public ulong PageLo, PageHi, Addr;
            public bool InFutexWait, Interrupted;
            public int WaitWord;
            public uint WaitExpected;

            public void Watch(ExploreOp op, ExploreScenario s)
            {
                bool futex = op.Kind is OpKind.FutexWait or OpKind.FutexWake;
                PageLo = s.Pages[futex ? s.Words[op.Word].Page : op.Page];
                PageHi = PageLo + (ulong)(op.Kind == OpKind.Pin ? op.Span - 1 : 0);
                Addr = futex ? s.WordAddr(op.Word) : ulong.MaxValue;
            }
        }

        private sealed class Handler(DsmNode dsm, FutexEngine futex) : IMessageHandler
        {
            public void OnMessage(int from, ushort type, ReadOnlySpan<byte> body)
            {
                if (DsmNode.IsDsmMessage(type)) dsm.OnMessage(from, type, body);
                else futex.OnMessage(from, type, body);
            }

            public void OnNodeLost(int node, string reason)
            {
                dsm.OnNodeLost(node, reason);
                futex.OnNodeLost(node, reason);
            }
        }
    }
}
