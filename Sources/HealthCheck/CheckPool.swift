import Logging
import NIOCore
import NIOPosix
import Synchronization
import VigilSupport

/// One probe's result and what it changed.
public struct ProbeEvent: Sendable {
    /// Index into ``CheckPool/specs``.
    public var probe: Int
    public var result: CheckResult
    public var change: CheckerState.Change
    public var isUp: Bool

    public init(probe: Int, result: CheckResult, change: CheckerState.Change, isUp: Bool) {
        self.probe = probe
        self.result = result
        self.change = change
        self.isUp = isUp
    }
}

/// Counters for status and benchmarks.
public struct ProbeStatistics: Sendable {
    /// Checks finished: the lateness histogram's total.
    public var checks: Int { latenessCounts.reduce(0, +) }
    public var failures = 0
    /// Upper bounds, in seconds, of the lateness histogram's buckets; a last bucket takes the rest.
    public static let latenessBounds: [Double] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5]
    /// Checks per lateness bucket (start time minus scheduled time), one more than ``latenessBounds``.
    public var latenessCounts = [Int](repeating: 0, count: ProbeStatistics.latenessBounds.count + 1)

    public init() {}

    /// The upper bound of the bucket holding the q-quantile (0…1) of lateness, in seconds:
    /// 0 with no checks, infinity when it lies beyond the last bound.
    public func latenessQuantile(_ q: Double) -> Double {
        let total = checks
        guard total > 0 else { return 0 }
        let rank = max(1, Int((Double(total) * q).rounded(.up)))
        var seen = 0
        for (i, n) in latenessCounts.enumerated() {
            seen += n
            if seen >= rank { return i < Self.latenessBounds.count ? Self.latenessBounds[i] : .infinity }
        }
        return .infinity
    }
}

/// One probe as status shows it: its verdict, its last result and when the next check is due.
public struct ProbeStatus: Sendable, Hashable {
    public var isUp: Bool
    /// False until the probe's first check has finished.
    public var hasVerdict: Bool
    public var checks: Int
    /// Failed checks in a row, up to the last result (0 after a success).
    public var consecutiveFailures: Int
    /// The last finished check's result; nil before the first.
    public var lastResult: CheckResult?
    /// How long the last check took, on the reactor's clock (read once per batch of events, so
    /// it reads high by the length of a busy batch).
    public var lastDuration: Duration?
    /// How long ago the last check finished.
    public var sinceLastResult: Duration?
    /// How long until the next check starts (zero when due or running now).
    public var nextCheckIn: Duration?
}

/// A checker whose check can run entirely on its probe reactor's thread, without a task.
protocol ReactorChecker: HealthChecker {
    var reactor: ProbeReactor { get }
    /// Starts one check on the reactor thread; `owner` hears the result there exactly once.
    /// Returns false, starting nothing, when this checker needs a task instead (SSL_GET).
    func start(owner: any ExchangeOwner) -> Bool
}

/// Builds the checker for a spec: network checks live on `reactor`, TLS uses `group`.
public func makeChecker(_ spec: CheckSpec, reactor: ProbeReactor, group: any EventLoopGroup) throws -> any HealthChecker {
    switch spec.kind {
    case .tcp(let c): TCPChecker(settings: c, reactor: reactor)
    case .http(let h): try HTTPChecker(settings: h, reactor: reactor, group: group)
    case .smtp(let s): SMTPChecker(settings: s, reactor: reactor)
    case .misc(let m): MiscChecker(settings: m)
    case .udp(let u): UDPChecker(settings: u, reactor: reactor)
    case .dns(let d): DNSChecker(settings: d, reactor: reactor)
    case .ping(let p): PingChecker(settings: p, reactor: reactor)
    case .file(let f): FileChecker(settings: f)
    }
}

/// Runs every distinct probe concurrently, each on its own schedule, and reports results.
/// Identical ``CheckSpec``s given more than once run once (keepalived #2358, #2111): callers
/// map their checkers to ``index(of:)``.
///
/// Probes are spread over ``ProbeReactor`` threads (one by default). Each reactor keeps its probes'
/// timers and runs TCP_CHECK, HTTP_GET and SMTP_CHECK conversations itself; SSL_GET and
/// MISC_CHECK run as tasks whose results come back to the reactor, so every probe's schedule
/// and up/down state live in one place.
///
/// A probe is identified by its spec: ``update(to:initiallyUp:)`` (a reload) keeps the probes
/// whose spec is still wanted, with their schedule and state, stops the others and starts new
/// ones. Probe numbers (``index(of:)``, ``ProbeEvent/probe``) are never reused.
public final class CheckPool: Sendable {
    private struct Probes {
        var byID: [Int: ScheduledProbe] = [:]
        var idBySpec: [CheckSpec: Int] = [:]
        var nextID = 0
        var running = false
    }

    private let probes: Mutex<Probes>
    private let reactors: [ProbeReactor]
    private let group: any EventLoopGroup
    private let sink: ProbeSink
    /// Every probe result that changed a checker's state (and, with `reportAll`, every result).
    public let events: AsyncStream<ProbeEvent>
    private let cancellation = Mutex<(cancelled: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    /// `reactorThreads`: one reactor serves about 20,000 checks a second on a current core, and
    /// in the lab VM more threads cost more CPU per check (loopback and socket-table contention)
    /// for no more throughput, so one is the default, as keepalived's single checker thread.
    /// `maxInFlight` bounds each reactor's open connections; by default ``DescriptorBudget`` sizes
    /// it from the open-file limit in force.
    public init(specs: [CheckSpec], group: any EventLoopGroup, reactorThreads: Int = 1,
                maxInFlight: Int? = nil, reportAll: Bool = false, logger: Logger = Logger(label: "vigil.check")) throws {
        var unique: [CheckSpec] = []
        var seen = Set<CheckSpec>()
        for s in specs where seen.insert(s).inserted { unique.append(s) }
        let (events, continuation) = AsyncStream.makeStream(of: ProbeEvent.self)
        let sink = ProbeSink(continuation: continuation, reportAll: reportAll, logger: logger)
        var reactors: [ProbeReactor] = []
        var state = Probes()
        do {
            let threads = max(1, min(reactorThreads, max(1, unique.count)))
            let cap = try maxInFlight ?? DescriptorBudget(specs: unique, reactors: threads)
                .maxInFlight(openFileLimit: OpenFileLimit.current().soft)
            for n in 0..<threads { reactors.append(try ProbeReactor(name: "vigil-probe-\(n)", maxInFlight: cap)) }
            for spec in unique {
                try Self.add(spec, initiallyUp: nil, to: &state, reactors: reactors, sink: sink, group: group)
            }
        } catch {
            reactors.forEach { $0.stop() }
            throw error
        }
        self.probes = Mutex(state)
        self.reactors = reactors
        self.group = group
        self.events = events
        self.sink = sink
    }

    deinit {
        reactors.forEach { $0.stop() }
    }

    private static func add(_ spec: CheckSpec, initiallyUp: Bool?, to state: inout Probes, reactors: [ProbeReactor],
                            sink: ProbeSink, group: any EventLoopGroup) throws -> ScheduledProbe {
        let id = state.nextID
        let reactor = reactors[id % reactors.count]
        let probe = ScheduledProbe(index: id, spec: spec, reactor: reactor, sink: sink,
                                   checker: try makeChecker(spec, reactor: reactor, group: group),
                                   initiallyUp: initiallyUp ?? !spec.timing.alpha)
        state.nextID += 1
        state.byID[id] = probe
        state.idBySpec[spec] = id
        return probe
    }

    /// The probe that runs `spec`.
    public func index(of spec: CheckSpec) -> Int? { probes.withLock { $0.idBySpec[spec] } }

    /// Runs the probe for `spec` at once, off schedule (`vigil ctl check`); false when no probe has it.
    @discardableResult
    public func checkNow(_ spec: CheckSpec) -> Bool {
        guard let probe = probes.withLock({ p in p.idBySpec[spec].flatMap { p.byID[$0] } }) else { return false }
        probe.checkNow()
        return true
    }

    /// The distinct specs running now, in the order they were first added.
    public var specs: [CheckSpec] {
        probes.withLock { p in p.byID.sorted { $0.key < $1.key }.map(\.value.spec) }
    }

    public var statistics: ProbeStatistics { sink.statistics }

    /// The status of the probe numbered `index` (``index(of:)``); nil when no such probe runs.
    public func status(of index: Int) -> ProbeStatus? {
        guard let probe = probes.withLock({ $0.byID[index] }) else { return nil }
        return probe.status(now: ProbeReactor.now())
    }

    /// The status of every running probe, by probe number.
    public func statuses() -> [Int: ProbeStatus] {
        let all = probes.withLock { $0.byID }
        let now = ProbeReactor.now()
        return all.mapValues { $0.status(now: now) }
    }

    /// Waits until every reactor thread has run a job: returns at once when they are turning,
    /// late (or never) when one is stuck.
    public func ping() async {
        await withTaskGroup(of: Void.self) { group in
            for reactor in reactors {
                group.addTask {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        if !reactor.execute({ c.resume() }) { c.resume() }
                    }
                }
            }
        }
    }

    /// What ``update(to:initiallyUp:)`` did.
    public struct Update: Sendable, Hashable {
        public var kept: Int
        public var started: Int
        public var stopped: Int

        public init(kept: Int, started: Int, stopped: Int) {
            self.kept = kept
            self.started = started
            self.stopped = stopped
        }
    }

    /// Makes the running probes those of `specs`: a probe whose spec is still wanted keeps its
    /// schedule and up/down state; the others stop (a result arriving later is dropped); a new one
    /// starts down or up as `initiallyUp` says (default: up unless `alpha`), after its warm-up.
    /// A spec whose checker cannot be built throws, changing nothing.
    @discardableResult
    public func update(to specs: [CheckSpec], initiallyUp: [CheckSpec: Bool] = [:]) throws -> Update {
        let wanted = Set(specs)
        let (added, removed, kept, running): ([ScheduledProbe], [ScheduledProbe], Int, Bool) = try probes.withLock { state in
            var next = state
            var added: [ScheduledProbe] = []
            var seen = Set<CheckSpec>()
            for spec in specs where next.idBySpec[spec] == nil && seen.insert(spec).inserted {
                added.append(try Self.add(spec, initiallyUp: initiallyUp[spec], to: &next, reactors: reactors, sink: sink, group: group))
            }
            var removed: [ScheduledProbe] = []
            for (spec, id) in next.idBySpec where !wanted.contains(spec) {
                if let p = next.byID.removeValue(forKey: id) { removed.append(p) }
                next.idBySpec[spec] = nil
            }
            let kept = next.byID.count - added.count
            state = next
            return (added, removed, kept, state.running)
        }
        for probe in removed { probe.reactor.execute { probe.retire() } }
        // Before run(), run() starts them.
        if running { for probe in added { probe.start() } }
        return Update(kept: kept, started: added.count, stopped: removed.count)
    }

    /// Runs all probes until the calling task is cancelled, then stops the reactors and finishes
    /// ``events``. Call once.
    public func run() async {
        let initial = probes.withLock { state -> [ScheduledProbe] in
            state.running = true
            return Array(state.byID.values)
        }
        for probe in initial { probe.start() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let already = cancellation.withLock { state -> Bool in
                    if state.cancelled { return true }
                    state.waiter = c
                    return false
                }
                if already { c.resume() }
            }
        } onCancel: {
            let waiter = cancellation.withLock { state -> CheckedContinuation<Void, Never>? in
                state.cancelled = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
        await withTaskGroup(of: Void.self) { group in
            for reactor in reactors { group.addTask { await reactor.shutdown() } }
        }
        sink.continuation.finish()
    }
}

/// Where probes report: statistics and the event stream, shared by every probe of a pool.
/// Counting a check costs a few relaxed atomic additions, no lock.
final class ProbeSink: Sendable {
    private let failures = Atomic<Int>(0)
    private let lateness: [Counter] = (0...ProbeStatistics.latenessBounds.count).map { _ in Counter() }
    private let latenessBoundsNanoseconds = ProbeStatistics.latenessBounds.map { UInt64($0 * 1e9) }

    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// Counts one finished check that started `late` nanoseconds after its schedule.
    func record(success: Bool, late: UInt64) {
        if !success { failures.wrappingAdd(1, ordering: .relaxed) }
        let bounds = latenessBoundsNanoseconds
        var i = 0
        while i < bounds.count, late > bounds[i] { i += 1 }
        lateness[i].value.wrappingAdd(1, ordering: .relaxed)
    }

    var statistics: ProbeStatistics {
        var s = ProbeStatistics()
        s.latenessCounts = lateness.map { $0.value.load(ordering: .relaxed) }
        s.failures = failures.load(ordering: .relaxed)
        return s
    }

    let continuation: AsyncStream<ProbeEvent>.Continuation
    let reportAll: Bool
    let logger: Logger

    init(continuation: AsyncStream<ProbeEvent>.Continuation, reportAll: Bool, logger: Logger) {
        self.continuation = continuation
        self.reportAll = reportAll
        self.logger = logger
    }
}

/// One probe's schedule and up/down state; touched only on its reactor's thread. The reactor
/// holds it while its timer or check is pending, so a check allocates nothing for callbacks.
final class ScheduledProbe: ExchangeOwner, ReactorTimerTarget, @unchecked Sendable {
    let index: Int
    let spec: CheckSpec
    let reactor: ProbeReactor
    let sink: ProbeSink
    let checker: any HealthChecker
    /// `checker` when it can run on the reactor thread (cast once, not per check).
    let native: (any ReactorChecker)?
    var state: CheckerState
    /// When the next check is due (CLOCK_MONOTONIC ns).
    var due: UInt64 = 0
    /// How late the running check started (ns).
    private var late: UInt64 = 0
    /// The last delay and its nanoseconds (delay_loop or delay_before_retry, converted once).
    private var lastDelay: Duration = .zero
    private var lastDelayNanoseconds: UInt64 = 0
    /// A check is running (between its timer and its result).
    private var running = false
    /// ``checkNow()`` came while a check was running: the next one starts at once.
    private var rerun = false
    /// Timers still pending that ``checkNow()`` made redundant: each fires as a no-op.
    private var staleTimers = 0
    /// FILE_CHECK's inotify watch: a change checks at once.
    private var watcher: FileWatcher?

    /// Set once a reload has dropped this probe: its pending timer and result do nothing.
    private var retired = false
    /// What ``status(now:)`` reads from other threads; written once per check.
    private let published = Mutex(Published())
    private var started: UInt64 = 0

    private struct Published {
        var isUp = true
        var checks = 0
        var consecutiveFailures = 0
        var lastResult: CheckResult?
        var lastDuration: UInt64 = 0
        var finishedAt: UInt64 = 0
        var due: UInt64 = 0
    }

    init(index: Int, spec: CheckSpec, reactor: ProbeReactor, sink: ProbeSink, checker: any HealthChecker, initiallyUp: Bool) {
        self.index = index
        self.spec = spec
        self.reactor = reactor
        self.sink = sink
        self.checker = checker
        self.native = checker as? any ReactorChecker
        self.state = CheckerState(timing: spec.timing, initiallyUp: initiallyUp)
        self.published.withLock { $0.isUp = initiallyUp }
    }

    deinit { watcher?.stop() }

    /// This probe's status at `now` (CLOCK_MONOTONIC ns); any thread.
    func status(now: UInt64) -> ProbeStatus {
        let p = published.withLock { $0 }
        let ago = { (t: UInt64) in Duration.nanoseconds(Int64(now >= t ? now - t : 0)) }
        return ProbeStatus(isUp: p.isUp, hasVerdict: p.checks > 0, checks: p.checks, consecutiveFailures: p.consecutiveFailures,
                           lastResult: p.lastResult, lastDuration: p.checks > 0 ? .nanoseconds(Int64(p.lastDuration)) : nil,
                           sinceLastResult: p.checks > 0 ? ago(p.finishedAt) : nil,
                           nextCheckIn: p.due == 0 ? nil : .nanoseconds(Int64(p.due > now ? p.due - now : 0)))
    }

    /// Schedules the first check after a random share of the warm-up, on the reactor thread.
    func start() {
        if case .file(let f) = spec.kind {
            do {
                watcher = try FileWatcher(paths: [f.path], name: "vigil-file-check") { [weak self] _ in self?.checkNow() }
            } catch {
                sink.logger.warning("FILE_CHECK \(f.path): cannot watch it (\(error)); read every delay_loop only")
            }
        }
        reactor.execute { [self] in
            due = reactor.time &+ UInt64(state.firstDelay(random: Double.random(in: 0..<1)).nanoseconds)
            published.withLock { [due] in $0.due = due }
            arm()
        }
    }

    /// Stops this probe for good. Reactor thread only.
    func retire() {
        retired = true
        watcher?.stop()
    }

    /// Checks at once, off schedule (FILE_CHECK's file changed); any thread.
    func checkNow() {
        reactor.execute { [self] in
            guard !retired else { return }
            if running {
                rerun = true
                return
            }
            staleTimers += 1
            due = reactor.time
            reactorTimerFired()
        }
    }

    /// Runs the next check at ``due``.
    func arm() {
        reactor.schedule(at: due, target: self)
    }

    func reactorTimerFired() {
        guard !retired else { return }
        if running {
            staleTimers = max(0, staleTimers - 1)
            return
        }
        if staleTimers > 0, due > reactor.time {
            staleTimers -= 1
            return
        }
        running = true
        let start = reactor.time
        started = start
        late = start >= due ? start - due : 0
        if let native, native.start(owner: self) { return }
        let checker = self.checker
        Task { [self] in
            let result = await checker.check()
            reactor.execute { [self] in exchangeFinished(result) }
        }
    }

    func exchangeFinished(_ result: CheckResult) {
        running = false
        guard !reactor.isStopping, !retired else { return }
        let change = state.record(result)
        sink.record(success: result.isSuccess, late: late)
        if let up = change.becameUp {
            if case .failure(let why) = result, !up {
                sink.logger.info("\(spec.kind.name) \(describeTarget(spec)) down: \(why)")
            } else {
                sink.logger.info("\(spec.kind.name) \(describeTarget(spec)) \(up ? "up" : "down")")
            }
        }
        if sink.reportAll || change.becameUp != nil || change.weight != nil {
            sink.continuation.yield(ProbeEvent(probe: index, result: result, change: change, isUp: state.isUp))
        }
        if change.nextDelay != lastDelay {
            lastDelay = change.nextDelay
            lastDelayNanoseconds = UInt64(max(0, change.nextDelay.nanoseconds))
        }
        due &+= lastDelayNanoseconds
        let now = reactor.time
        if due < now || rerun { due = now }
        rerun = false
        published.withLock { [due, started, isUp = state.isUp] p in
            p.isUp = isUp
            p.checks += 1
            p.consecutiveFailures = result.isSuccess ? 0 : p.consecutiveFailures + 1
            p.lastResult = result
            p.lastDuration = now >= started ? now - started : 0
            p.finishedAt = now
            p.due = due
        }
        arm()
    }
}

/// `192.0.2.1:80` for network checks (the address alone for PING_CHECK), the program for MISC_CHECK.
public func describeTarget(_ spec: CheckSpec) -> String {
    switch spec.kind {
    case .misc(let m): m.arguments.joined(separator: " ")
    case .ping(let c): c.address.description
    case .file(let f): f.path
    default: spec.kind.connection?.target.description ?? ""
    }
}
