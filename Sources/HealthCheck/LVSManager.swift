import IPVS
import Logging
import VigilSupport

/// Computes the IPVS operations that turn `actual` into `desired` for the services in `managed`.
public typealias IPVSDiffer = @Sendable (_ desired: [ServiceEntry], _ actual: [ServiceEntry], _ managed: Set<ServiceKey>) -> [IPVSOperation]

/// How the manager treats the kernel table.
public struct ReconcileOptions: Sendable {
    /// Re-read the kernel and repair drift this often, or less often when a pass costs more than
    /// ``driftCPUShare`` of a CPU at this interval.
    public var interval: Duration
    /// The most of one CPU the periodic drift repair may use: with a background worker, the
    /// interval stretches to the last pass's CPU time divided by this. Nil keeps ``interval`` as
    /// given (an operator's explicit `--reconcile-interval`).
    public var driftCPUShare: Double?
    /// Shortest gap between two health-driven applies: health changes arriving closer together
    /// are applied as one batch.
    public var coalesce: Duration
    /// `lvs_flush`: flush the whole table once at start.
    public var flushOnStart: Bool
    /// On stop, remove the services Vigil manages (false with `-I` / `--dont-release-ipvs`).
    public var releaseOnStop: Bool

    public init(interval: Duration = .seconds(5), coalesce: Duration = .milliseconds(100),
                flushOnStart: Bool = false, releaseOnStop: Bool = true, driftCPUShare: Double? = 0.01) {
        self.interval = interval
        self.driftCPUShare = driftCPUShare
        self.coalesce = coalesce
        self.flushOnStart = flushOnStart
        self.releaseOnStop = releaseOnStop
    }
}

/// Where the periodic drift repair reads the kernel and diffs: a client of its own on a
/// low-priority thread, so that a large table's read never takes CPU from the health checks nor
/// holds the socket that health-driven changes are written through.
public struct BackgroundReconcile: Sendable {
    /// Reads the kernel table; a client whose calls run on ``worker``.
    public var reader: any IPVSControlling
    /// Runs the diff.
    public var worker: BackgroundWorker

    public init(reader: any IPVSControlling, worker: BackgroundWorker) {
        self.reader = reader
        self.worker = worker
    }
}

/// Keeps the kernel's IPVS table equal to the desired one: checker events change the desired
/// table (a pure function of the plan and checker states) and mark it dirty; one apply task turns
/// the changes since the last apply into operations (diffing against the table Vigil last applied,
/// without reading the kernel) at most every ``ReconcileOptions/coalesce``. The periodic drift
/// repair reads the kernel back, diffs, and applies only the difference — so manual drift is
/// repaired too; given a ``BackgroundReconcile``, it reads and diffs on a low-priority thread
/// (``repairDrift()``). Services the configuration does not name are never touched.
public actor LVSManager {
    public let plan: LVSPlan
    private let ipvs: any IPVSControlling
    private let differ: IPVSDiffer
    private let options: ReconcileOptions
    private let logger: Logger
    /// Per virtual server: health and quorum.
    public private(set) var states: [VirtualServerState]
    /// Probe index → (virtual server, real server, checker) positions it feeds.
    private let subscribers: [Int: [(vs: Int, rs: Int, checker: Int)]]
    public let managed: Set<ServiceKey>
    private var reconciling = false
    /// Another pass is wanted after the running one.
    private var again = false
    /// The extra pass must read the kernel (a drift repair arrived during a health-driven pass).
    private var againReads = false
    /// Health changes not yet applied.
    private var dirty = false
    /// The managed part of the kernel table as of the last pass that applied cleanly; nil when
    /// unknown (before start, after a failed operation), which makes the next pass read the kernel.
    private var applied: [ServiceEntry]?
    /// Wakes the apply task (``runApplyLoop()``) when health changes arrive.
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>
    /// Number of reconciles that changed the kernel, and operations applied in total.
    public private(set) var repairs = 0
    public private(set) var operationsApplied = 0
    /// Where drift repair reads and diffs; nil to do it inline, through ``ipvs``.
    private let background: BackgroundReconcile?
    /// Counts the batches Vigil has written to the kernel and the changes to ``states``, so a
    /// background read or diff can tell whether what it worked from is still current.
    private var kernelWrites = 0
    private var stateChanges = 0
    /// Drift repairs done in the background, and those redone inline because Vigil's own
    /// changes overtook them.
    public private(set) var backgroundRepairs = 0
    public private(set) var overtakenRepairs = 0
    /// The CPU time of the last background drift repair (read and diff), and the interval the
    /// repair loop keeps as a result: ``ReconcileOptions/interval``, stretched when a pass costs
    /// more than ``ReconcileOptions/driftCPUShare`` of a CPU.
    public private(set) var lastDriftCPU: Duration = .zero
    public private(set) var driftInterval: Duration

    public init(plan: LVSPlan, pool: CheckPool?, ipvs: any IPVSControlling, differ: @escaping IPVSDiffer,
                options: ReconcileOptions = ReconcileOptions(), background: BackgroundReconcile? = nil,
                logger: Logger = Logger(label: "vigil.lvs")) {
        self.plan = plan
        self.ipvs = ipvs
        self.background = background
        self.driftInterval = options.interval
        self.differ = differ
        self.options = options
        self.logger = logger
        self.states = plan.virtualServers.map(VirtualServerState.init)
        var subs: [Int: [(vs: Int, rs: Int, checker: Int)]] = [:]
        if let pool {
            for (v, vs) in plan.virtualServers.enumerated() {
                for (r, rs) in vs.realServers.enumerated() {
                    for (c, check) in rs.checks.enumerated() {
                        if let p = pool.index(of: check) { subs[p, default: []].append((v, r, c)) }
                    }
                }
            }
        }
        self.subscribers = subs
        self.managed = Set(plan.virtualServers.map(\.service.key))
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The table Vigil wants now.
    public var desired: [ServiceEntry] { desiredTable(states) }

    /// First contact with the kernel: optional flush, then a reconcile that touches only what differs.
    public func start() async throws {
        if options.flushOnStart {
            logger.notice("lvs_flush: flushing the IPVS table")
            try await ipvs.apply([.flush])
        }
        if let t = plan.timeouts {
            do {
                try await ipvs.apply([.setTimeouts(t)])
                logger.info("lvs_timeouts: tcp \(t.tcp) tcpfin \(t.tcpFin) udp \(t.udp) (0: unchanged)")
            } catch {
                logger.error("lvs_timeouts not applied: \(error)")
            }
        }
        for note in plan.notes { logger.warning("\(note)") }
        try await reconcile(reason: "start")
    }

    /// Feeds one probe event to every real server using that probe, runs the resulting scripts
    /// (detached: they never block checkers) and applies the resulting change at once.
    public func handle(_ event: ProbeEvent) async {
        if record(event) { await applyPending() }
    }

    /// Feeds one probe event to every real server using that probe and runs the resulting
    /// scripts; a change of the desired table is marked for the apply task (``runApplyLoop()``).
    /// Returns whether the desired table changed.
    @discardableResult
    public func record(_ event: ProbeEvent) -> Bool {
        guard let subs = subscribers[event.probe] else { return false }
        var changed = false
        for s in subs {
            let before = states[s.vs].desiredDestinations
            let actions = states[s.vs].update(realServer: s.rs, checker: s.checker, up: event.change.becameUp, weight: event.change.weight)
            if states[s.vs].desiredDestinations != before { changed = true }
            for a in actions { run(a, vs: s.vs) }
        }
        if changed {
            dirty = true
            stateChanges += 1
            wake.yield()
        }
        return changed
    }

    /// Applies the health changes recorded so far, diffing against the last applied table (the
    /// kernel is read only when that is unknown).
    public func applyPending() async {
        guard dirty else { return }
        do { _ = try await pass(readKernel: false, reason: "health change") } catch { logger.error("reconcile failed: \(error)") }
    }

    /// Applies recorded health changes until cancelled, at most once per ``ReconcileOptions/coalesce``.
    public func runApplyLoop() async {
        let clock = ContinuousClock()
        for await _ in wakes {
            if Task.isCancelled { return }
            let started = clock.now
            await applyPending()
            do { try await Task.sleep(until: started.advanced(by: options.coalesce), clock: clock) } catch { return }
        }
    }

    /// Reads the kernel, diffs against the desired table and applies the difference.
    /// Concurrent calls coalesce: one more pass runs after the current one.
    @discardableResult
    public func reconcile(reason: String) async throws -> [IPVSOperation] {
        try await pass(readKernel: true, reason: reason)
    }

    /// A drift repair: reads the kernel and diffs in the background when a
    /// ``BackgroundReconcile`` was given, and applies the difference (if any) here. Health-driven
    /// passes are not held up meanwhile; when one writes to the kernel, or a health change
    /// arrives, before the background work is done, that work is stale and the repair is redone
    /// inline as ``reconcile(reason:)``.
    @discardableResult
    public func repairDrift() async throws -> [IPVSOperation] {
        guard let background else { return try await reconcile(reason: "drift repair") }
        let writes = kernelWrites
        let changes = stateChanges
        let snapshot = states
        let managed = managed
        let differ = differ
        let cpuBefore = try await background.worker.cpuTime()
        let actual = try await background.reader.table()
        let (want, ops) = try await background.worker.run { () -> ([ServiceEntry], [IPVSOperation]) in
            let want = desiredTable(snapshot)
            return (want, differ(want, actual, managed))
        }
        pace(cpu: try await background.worker.cpuTime() - cpuBefore)
        guard !reconciling, writes == kernelWrites, changes == stateChanges else {
            overtakenRepairs += 1
            return try await reconcile(reason: "drift repair")
        }
        backgroundRepairs += 1
        return try await pass(readKernel: false, reason: "drift repair", precomputed: (want, ops))
    }

    /// Sets the drift-repair interval from a pass's CPU time, and logs when it is stretched
    /// beyond the configured interval or returns to it.
    private func pace(cpu: Duration) {
        lastDriftCPU = cpu
        guard let share = options.driftCPUShare else { return }
        let before = driftInterval
        driftInterval = max(options.interval, cpu / max(share, 1e-6))
        let stretched = driftInterval > options.interval
        if stretched != (before > options.interval) || (stretched && (driftInterval > before * 1.5 || driftInterval < before / 1.5)) {
            if stretched {
                logger.info("drift repair every \(Self.seconds(driftInterval)) instead of \(Self.seconds(options.interval)): a pass (reading \(plan.virtualServers.count) services back from the kernel and diffing them) took \(Self.seconds(cpu, digits: 3)) of CPU, and drift repair is kept under \(Self.percent(share)) of a CPU")
            } else {
                logger.info("drift repair back to every \(Self.seconds(options.interval))")
            }
        }
    }

    /// "1%", "0.5%".
    static func percent(_ share: Double) -> String {
        let tenths = Int((share * 1000).rounded())
        return tenths % 10 == 0 ? "\(tenths / 10)%" : "\(tenths / 10).\(tenths % 10)%"
    }

    /// "12.5 s", with 0 to 3 decimals.
    static func seconds(_ d: Duration, digits: Int = 1) -> String {
        let digits = min(max(digits, 0), 3)
        let scale = Int64([1, 10, 100, 1000][digits])
        let units = Int64((Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) * Double(scale) + 0.5)
        guard digits > 0 else { return "\(units) s" }
        let fraction = String(units % scale)
        return "\(units / scale).\(String(repeating: "0", count: digits - fraction.count))\(fraction) s"
    }

    /// One reconcile: diffs the desired table against the kernel (read back when `readKernel`,
    /// or when the last applied table is unknown) or else against the last applied table.
    /// `precomputed` is a first round already read and diffed from the current ``states``.
    private func pass(readKernel: Bool, reason: String,
                      precomputed: (want: [ServiceEntry], ops: [IPVSOperation])? = nil) async throws -> [IPVSOperation] {
        if reconciling {
            again = true
            if readKernel { againReads = true }
            return []
        }
        reconciling = true
        defer { reconciling = false }
        var appliedAll: [IPVSOperation] = []
        var read = readKernel
        var first = precomputed
        repeat {
            again = false
            let readNow: Bool
            let want: [ServiceEntry]
            let ops: [IPVSOperation]
            if let (w, o) = first {
                first = nil
                readNow = true
                dirty = false
                (want, ops) = (w, o)
            } else {
                let actual: [ServiceEntry]
                readNow = read || againReads
                read = false
                againReads = false
                if readNow || applied == nil {
                    applied = nil
                    actual = try await ipvs.table()
                } else {
                    actual = applied!
                }
                // Re-read state after the await: events may have changed it.
                dirty = false
                want = desired
                ops = differ(want, actual, managed)
            }
            if ops.isEmpty {
                applied = want
            } else {
                kernelWrites += 1
                let done = await applyTolerant(ops)
                // A failed operation leaves the kernel unknown: the next pass reads it.
                applied = done.count == ops.count ? want : nil
                appliedAll += done
                repairs += 1
                operationsApplied += done.count
                logOperations(done, reason: readNow || !readKernel ? reason : "health change")
            }
            if dirty { again = true }
        } while again
        return appliedAll
    }

    /// Logs each operation at notice level; a large batch (start-up) as one summary line, with
    /// the operations themselves at debug level, so logging never holds up the checkers.
    private func logOperations(_ ops: [IPVSOperation], reason: String) {
        if ops.count <= 20 {
            for op in ops { logger.notice("\(reason): \(describe(op))") }
            return
        }
        let services = ops.filter { if case .addService = $0 { true } else { false } }.count
        let destinations = ops.filter { if case .addDestination = $0 { true } else { false } }.count
        logger.notice("\(reason): applied \(ops.count) operations (\(services) services added, \(destinations) destinations added, \(ops.count - services - destinations) other)")
        for op in ops { logger.debug("\(reason): \(describe(op))") }
    }

    /// Periodic drift repair until cancelled.
    public func runReconcileLoop() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: driftInterval) } catch { return }
            do { try await repairDrift() } catch is CancellationError { return } catch { logger.error("reconcile failed: \(error)") }
        }
    }

    /// On stop: remove the managed services unless told to keep them.
    public func stop() async {
        guard options.releaseOnStop else {
            logger.notice("leaving IPVS entries in place (--dont-release-ipvs)")
            return
        }
        do {
            let present = Set(try await ipvs.table().map(\.service.key))
            let ops = plan.virtualServers.map(\.service.key).filter { present.contains($0) }.map { IPVSOperation.deleteService($0) }
            _ = await applyTolerant(ops)
            logger.notice("released \(ops.count) IPVS services")
        } catch {
            logger.error("releasing IPVS services failed: \(error)")
        }
    }

    /// Applies in one batch; when that fails, one by one, treating "already there" on add and
    /// "already gone" on delete as done (as keepalived does), and logging the rest.
    private func applyTolerant(_ ops: [IPVSOperation]) async -> [IPVSOperation] {
        do {
            try await ipvs.apply(ops)
            return ops
        } catch {
            var done: [IPVSOperation] = []
            for op in ops {
                do {
                    try await ipvs.apply([op])
                    done.append(op)
                } catch let e as IPVSError where (e.code == .alreadyExists && op.isAdd) || (e.code == .notFound && op.isDelete) {
                    continue
                } catch {
                    logger.error("\(describe(op)) failed: \(error)")
                }
            }
            return done
        }
    }

    private func run(_ action: VirtualServerAction, vs: Int) {
        let spec = plan.virtualServers[vs]
        let command: [String]?
        var env = ["VIGIL_VIRTUAL_SERVER": spec.service.key.description]
        var extra: [String] = []
        switch action {
        case .notifyUp(let r), .notifyDown(let r):
            let rs = spec.realServers[r]
            let up: Bool = if case .notifyUp = action { true } else { false }
            logger.notice("\(spec.service.key): real server \(rs.destination.key) \(up ? "up" : "down")")
            command = up ? rs.notifyUp : rs.notifyDown
            env["VIGIL_REAL_SERVER"] = rs.destination.key.description
            extra = [rs.destination.key.description]
        case .quorumUp:
            logger.notice("\(spec.service.key): quorum gained")
            command = spec.quorumUp
        case .quorumDown:
            logger.notice("\(spec.service.key): quorum lost")
            command = spec.quorumDown
        }
        guard let command, !command.isEmpty else { return }
        let logger = self.logger
        let user = plan.scriptUser, group = plan.scriptGroup
        Task.detached {
            let outcome = await ProgramRunner.run(command + extra, user: user, group: group, timeout: .seconds(60), extraEnvironment: env)
            if outcome != .exited(0) {
                logger.warning("script \(command.joined(separator: " ")) failed: \(outcome)")
            }
        }
    }
}

extension IPVSOperation {
    var isAdd: Bool {
        switch self {
        case .addService, .addDestination: true
        default: false
        }
    }

    var isDelete: Bool {
        switch self {
        case .deleteService, .deleteDestination: true
        default: false
        }
    }
}

/// One line per operation for the log, ipvsadm-like.
public func describe(_ op: IPVSOperation) -> String {
    switch op {
    case .addService(let s): "added service \(s.key) \(s.scheduler)"
    case .editService(let s): "edited service \(s.key) \(s.scheduler)"
    case .deleteService(let k): "deleted service \(k)"
    case .addDestination(let k, let d): "added \(k) -> \(d.key) weight \(d.weight)"
    case .editDestination(let k, let d): "set \(k) -> \(d.key) weight \(d.weight)"
    case .deleteDestination(let k, let d): "removed \(k) -> \(d)"
    case .flush: "flushed the table"
    case .zero(let k): "zeroed \(k.map(\.description) ?? "all counters")"
    case .setTimeouts(let t): "set timeouts \(t.tcp) \(t.tcpFin) \(t.udp)"
    case .startDaemon(let d): "started sync daemon \(d.role)"
    case .stopDaemon(let r): "stopped sync daemon \(r)"
    }
}
