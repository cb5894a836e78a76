import IPVS
import Logging
import Metrics
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
    /// The longest a real server removed by a reload drains (weight 0) before it is deleted even
    /// with connections left.
    public var drainTimeout: Duration
    /// How often draining real servers' connection counts are read.
    public var drainPoll: Duration

    public init(interval: Duration = .seconds(5), coalesce: Duration = .milliseconds(100),
                flushOnStart: Bool = false, releaseOnStop: Bool = true, driftCPUShare: Double? = 0.01,
                drainTimeout: Duration = .seconds(60), drainPoll: Duration = .seconds(1)) {
        self.drainTimeout = drainTimeout
        self.drainPoll = drainPoll
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
    public private(set) var plan: LVSPlan
    private let ipvs: any IPVSControlling
    private let differ: IPVSDiffer
    private let options: ReconcileOptions
    private let logger: Logger
    /// Per virtual server: health and quorum.
    public private(set) var states: [VirtualServerState]
    /// Probe index → (virtual server, real server, checker) positions it feeds.
    private var subscribers: [Int: [(vs: Int, rs: Int, checker: Int)]]
    /// The services the plan names.
    public private(set) var managed: Set<ServiceKey>
    /// Services a reload removed that are still to be deleted from the kernel.
    private var retiring: Set<ServiceKey> = []
    /// Real servers a reload removed, kept at weight 0 until their connections end or
    /// ``ReconcileOptions/drainTimeout`` passes.
    public private(set) var draining: [ServiceKey: [DestinationKey: Drain]] = [:]
    /// Wakes the drain task when a reload starts a drain.
    private let drainWake: AsyncStream<Void>.Continuation
    private let drainWakes: AsyncStream<Void>

    /// A real server removed by a reload, draining.
    public struct Drain: Sendable, Hashable {
        /// As it stays in IPVS meanwhile: weight 0.
        public var destination: Destination
        public var since: ContinuousClock.Instant
    }
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
    /// The operators' overrides (`vigil ctl`), by virtual server and real server: the one owner
    /// of them, carried into each new state by key at a reload.
    public private(set) var overrides: [ServiceKey: [DestinationKey: RealServerOverride]] = [:]
    /// Told the overrides after each change (to keep them in the state file).
    private var overridesChanged: (@Sendable ([ServiceKey: [DestinationKey: RealServerOverride]]) -> Void)?
    /// Where notify FIFO lines go; nil writes none.
    private var fifoLines: (@Sendable (String) -> Void)?

    public init(plan: LVSPlan, pool: CheckPool?, ipvs: any IPVSControlling, differ: @escaping IPVSDiffer,
                options: ReconcileOptions = ReconcileOptions(), background: BackgroundReconcile? = nil,
                overrides: [ServiceKey: [DestinationKey: RealServerOverride]] = [:],
                logger: Logger = Logger(label: "vigil.lvs")) {
        self.plan = plan
        self.ipvs = ipvs
        self.background = background
        self.driftInterval = options.interval
        self.differ = differ
        self.options = options
        self.logger = logger
        self.states = plan.virtualServers.map(VirtualServerState.init)
        for (service, servers) in overrides {
            for (key, o) in servers {
                guard let (v, r) = Self.position(plan, service, key) else {
                    logger.warning("override \(o) of \(service) -> \(key) from the state file dropped: not in the configuration")
                    continue
                }
                _ = states[v].setOverride(o, realServer: r)
                self.overrides[service, default: [:]][key] = o
                logger.notice("\(service): real server \(key) \(o) (kept from before the restart)")
            }
        }
        self.subscribers = pool.map { Self.subscribers(plan, $0) } ?? [:]
        self.managed = Set(plan.virtualServers.map(\.service.key))
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        (drainWakes, drainWake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Where a virtual server and one of its real servers are in `plan`.
    static func position(_ plan: LVSPlan, _ service: ServiceKey, _ rs: DestinationKey) -> (vs: Int, rs: Int)? {
        guard let v = plan.virtualServers.firstIndex(where: { $0.service.key == service }),
              let r = plan.virtualServers[v].realServers.firstIndex(where: { $0.destination.key == rs }) else { return nil }
        return (v, r)
    }

    /// Registers the function told the overrides after each change.
    /// Sends each notify FIFO line (``VirtualServerSpec/fifoLine(realServer:up:)``,
    /// ``VirtualServerSpec/fifoLine(quorumUp:)``) to `f`, when the matching notify script would run.
    public func onNotifyFIFOLine(_ f: @escaping @Sendable (String) -> Void) {
        fifoLines = f
    }

    public func onOverridesChanged(_ f: @escaping @Sendable ([ServiceKey: [DestinationKey: RealServerOverride]]) -> Void) {
        overridesChanged = f
    }

    /// A `vigil ctl` request naming a virtual or real server the configuration does not have.
    public struct OverrideError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Sets (or, given nil, clears) an operator's override of one real server and applies the
    /// resulting table at once; returns the line logged. Changes nothing when the virtual server
    /// or the real server is unknown.
    @discardableResult
    public func setOverride(_ o: RealServerOverride?, service: ServiceKey, realServer key: DestinationKey) async throws(OverrideError) -> String {
        guard let v = plan.virtualServers.firstIndex(where: { $0.service.key == service }) else {
            let known = plan.virtualServers.map(\.service.key.description).joined(separator: ", ")
            throw OverrideError(description: "unknown virtual server \(service) (configured: \(known.isEmpty ? "none" : known))")
        }
        guard let r = plan.virtualServers[v].realServers.firstIndex(where: { $0.destination.key == key }) else {
            let known = plan.virtualServers[v].realServers.map(\.destination.key.description).joined(separator: ", ")
            throw OverrideError(description: "real server \(key) is not in \(service) (its real servers: \(known.isEmpty ? "none" : known))")
        }
        let before = states[v].overrides[r]
        let actions = states[v].setOverride(o, realServer: r)
        overrides[service, default: [:]][key] = o
        if overrides[service]?.isEmpty == true { overrides[service] = nil }
        let line = o.map { "\(service): real server \(key) \($0) (vigil ctl)" }
            ?? "\(service): real server \(key) override \(before.map { "\($0)" } ?? "none") cleared (vigil ctl)"
        logger.notice("\(line)")
        for a in actions { run(a, vs: v) }
        overridesChanged?(overrides)
        stateChanges += 1
        dirty = true
        await applyPending()
        if case .drain(removeWhenIdle: true)? = o { drainWake.yield() }
        return line
    }

    /// Real servers draining by override with removal once idle, as (service, real server).
    private var idleWatch: [(ServiceKey, DestinationKey)] {
        overrides.flatMap { service, servers in
            servers.compactMap { key, o in o == .drain(removeWhenIdle: true) ? (service, key) : nil }
        }
    }

    /// Probe number → the (virtual server, real server, checker) positions of `plan` it feeds.
    private static func subscribers(_ plan: LVSPlan, _ pool: CheckPool) -> [Int: [(vs: Int, rs: Int, checker: Int)]] {
        var subs: [Int: [(vs: Int, rs: Int, checker: Int)]] = [:]
        for (v, vs) in plan.virtualServers.enumerated() {
            for (r, rs) in vs.realServers.enumerated() {
                for (c, check) in rs.checks.enumerated() {
                    if let p = pool.index(of: check) { subs[p, default: []].append((v, r, c)) }
                }
            }
        }
        return subs
    }

    /// The draining destinations by service, as the desired table carries them.
    private var drainingDestinations: [ServiceKey: [Destination]] {
        draining.mapValues { $0.values.map(\.destination) }
    }

    /// The services a pass may touch: the plan's and those a reload removed.
    private var owned: Set<ServiceKey> { retiring.isEmpty ? managed : managed.union(retiring) }

    /// The table Vigil wants now.
    public var desired: [ServiceEntry] { desiredTable(states, draining: drainingDestinations) }

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
        let drainingSnapshot = drainingDestinations
        let managed = owned
        let differ = differ
        let cpuBefore = try await background.worker.cpuTime()
        let actual = try await background.reader.table()
        let (want, ops) = try await background.worker.run { () -> ([ServiceEntry], [IPVSOperation]) in
            let want = desiredTable(snapshot, draining: drainingSnapshot)
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
                ops = differ(want, actual, owned)
            }
            let retired = retiring
            if ops.isEmpty {
                applied = want
                retiring.subtract(retired)
            } else {
                kernelWrites += 1
                let done = await applyTolerant(ops)
                // A failed operation leaves the kernel unknown: the next pass reads it.
                applied = done.count == ops.count ? want : nil
                if applied != nil { retiring.subtract(retired) }
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
        lastDriftRepair = .now
        while !Task.isCancelled {
            do { try await Task.sleep(for: driftInterval) } catch { return }
            do { try await repairDrift() } catch is CancellationError { return } catch { logger.error("reconcile failed: \(error)") }
            lastDriftRepair = .now
        }
    }

    /// When the drift repair loop last finished a pass (or started); nil before it runs. A
    /// time older than ``driftInterval`` plus a pass means the reconciler is stuck.
    public private(set) var lastDriftRepair: ContinuousClock.Instant?

    /// What a reload changed in the checker half.
    public struct ReloadReport: Sendable {
        /// One line per change an operator cares about, for the log and the control socket.
        public var changes: [String] = []
        /// The IPVS operations the reload issued.
        public var operations: [IPVSOperation] = []
        /// Probes kept running (schedule and state untouched), started and stopped.
        public var probes = CheckPool.Update(kept: 0, started: 0, stopped: 0)
    }

    /// Switches to `new` without disturbing what did not change; state is keyed by the service
    /// key and the real server's address and port, so reordering the file changes nothing.
    ///
    /// - A checker whose spec is unchanged keeps its probe, schedule and up/down (no warm-up, no
    ///   extra check); a changed or added checker of an existing real server starts with that
    ///   server's current up/down and decides at its first result; a new real server starts as
    ///   configured (`alpha`).
    /// - The IPVS operations issued are the difference between the table before and after:
    ///   a changed weight or forwarding method is one destination edit, a changed scheduler or
    ///   persistence one service edit.
    /// - A real server removed from a kept virtual server drains: weight 0 now, deleted once its
    ///   connections reach 0 or after ``ReconcileOptions/drainTimeout``. A removed virtual server
    ///   is deleted at once (as keepalived does).
    /// Throws, changing nothing, when a new checker cannot be built.
    public func reload(plan new: LVSPlan, pool: CheckPool) async throws -> ReloadReport {
        var report = ReloadReport()
        let oldByKey = Dictionary(states.map { ($0.spec.service.key, $0) }, uniquingKeysWith: { a, _ in a })
        // Up/down of every checker a real server had, by spec, and of the server as a whole.
        func previous(_ vs: ServiceKey, _ rs: DestinationKey) -> (state: VirtualServerState, index: Int)? {
            guard let old = oldByKey[vs], let i = old.spec.realServers.firstIndex(where: { $0.destination.key == rs }) else { return nil }
            return (old, i)
        }
        // The current up/down of every running probe, as the states have it.
        var probeUp: [CheckSpec: Bool] = [:]
        for old in states {
            for (i, rs) in old.spec.realServers.enumerated() {
                for (c, check) in rs.checks.enumerated() where probeUp[check] == nil { probeUp[check] = old.checkerUp[i][c] }
            }
        }
        pendingActions = []
        var initiallyUp: [CheckSpec: Bool] = [:]
        var newStates: [VirtualServerState] = []
        for vs in new.virtualServers {
            var checkerUp: [[Bool]] = []
            var weights: [UInt32?] = []
            for rs in vs.realServers {
                let before = previous(vs.service.key, rs.destination.key)
                var ups: [Bool] = []
                for check in rs.checks {
                    if let (old, i) = before, let c = old.spec.realServers[i].checks.firstIndex(of: check) {
                        ups.append(old.checkerUp[i][c])
                    } else if let up = probeUp[check] ?? initiallyUp[check] {
                        ups.append(up)
                    } else {
                        let up = before.map { $0.state.isAlive($0.index) } ?? !check.timing.alpha
                        initiallyUp[check] = up
                        ups.append(up)
                    }
                }
                checkerUp.append(ups)
                weights.append(before.flatMap { $0.state.dynamicWeight[$0.index] })
            }
            let old = oldByKey[vs.service.key]
            let kept = vs.realServers.map { overrides[vs.service.key]?[$0.destination.key] }
            var state = VirtualServerState(spec: vs, checkerUp: checkerUp, dynamicWeight: weights, overrides: kept,
                                           quorumUp: old?.quorumUp ?? true)
            let actions = state.evaluateQuorum()
            newStates.append(state)
            if old == nil {
                report.changes.append("\(vs.service.key): virtual server added with \(vs.realServers.count) real servers")
            } else if old!.spec != vs {
                report.changes += Self.describeChanges(from: old!.spec, to: vs)
            }
            // Quorum scripts of a kept virtual server run when the reload moved its quorum.
            if old != nil { pendingActions.append(contentsOf: actions.map { ($0, newStates.count - 1) }) }
        }
        report.probes = try pool.update(to: new.allChecks, initiallyUp: initiallyUp)

        let newKeys = Set(new.virtualServers.map(\.service.key))
        let now = ContinuousClock.now
        var drains = draining.filter { newKeys.contains($0.key) }
        for (key, old) in oldByKey {
            guard newKeys.contains(key) else {
                retiring.insert(key)
                report.changes.append("\(key): virtual server removed")
                continue
            }
            let kept = Set(new.virtualServers.first { $0.service.key == key }!.realServers.map(\.destination.key))
            for rs in old.spec.realServers where !kept.contains(rs.destination.key) {
                // Only a server that is in IPVS now drains; one that was down is simply dropped.
                guard let inTable = old.desiredDestinations.first(where: { $0.key == rs.destination.key }) else { continue }
                var d = inTable
                d.weight = 0
                drains[key, default: [:]][rs.destination.key] = Drain(destination: d, since: now)
                report.changes.append("\(key): real server \(rs.destination.key) removed; draining (weight 0) until its connections end, at most \(Self.seconds(options.drainTimeout))")
            }
        }
        // A draining server the new file names again is no longer draining.
        for vs in new.virtualServers {
            for rs in vs.realServers { drains[vs.service.key]?[rs.destination.key] = nil }
            if drains[vs.service.key]?.isEmpty == true { drains[vs.service.key] = nil }
        }
        retiring.subtract(newKeys)
        draining = drains
        var keptOverrides: [ServiceKey: [DestinationKey: RealServerOverride]] = [:]
        for (service, servers) in overrides {
            for (key, o) in servers {
                if Self.position(new, service, key) != nil {
                    keptOverrides[service, default: [:]][key] = o
                } else {
                    report.changes.append("\(service): override \(o) of real server \(key) dropped: no longer configured")
                }
            }
        }
        let overridesMoved = keptOverrides != overrides
        overrides = keptOverrides
        if overridesMoved { overridesChanged?(overrides) }
        plan = new
        states = newStates
        subscribers = Self.subscribers(new, pool)
        managed = newKeys
        stateChanges += 1
        for (action, vs) in pendingActions { run(action, vs: vs) }
        pendingActions = []
        if let t = new.timeouts, t != lastTimeouts {
            do {
                try await ipvs.apply([.setTimeouts(t)])
                report.changes.append("lvs_timeouts: tcp \(t.tcp) tcpfin \(t.tcpFin) udp \(t.udp)")
            } catch {
                logger.error("lvs_timeouts not applied: \(error)")
            }
        }
        lastTimeouts = new.timeouts
        for note in new.notes { logger.warning("\(note)") }
        report.operations = try await pass(readKernel: false, reason: "reload")
        if !draining.isEmpty { drainWake.yield() }
        return report
    }

    /// Actions a reload computed for the new states, run once they are in place.
    private var pendingActions: [(VirtualServerAction, Int)] = []
    /// The `lvs_timeouts` last set.
    private var lastTimeouts: Timeouts?

    /// Lines naming what differs between two specs of one virtual server.
    static func describeChanges(from old: VirtualServerSpec, to new: VirtualServerSpec) -> [String] {
        let key = new.service.key
        var lines: [String] = []
        if old.service != new.service {
            lines.append("\(key): service settings changed (scheduler \(old.service.scheduler) -> \(new.service.scheduler), persistence \(old.service.timeout) -> \(new.service.timeout) s)")
        }
        let before = Dictionary(old.realServers.map { ($0.destination.key, $0) }, uniquingKeysWith: { a, _ in a })
        for rs in new.realServers {
            guard let o = before[rs.destination.key] else {
                lines.append("\(key): real server \(rs.destination.key) added")
                continue
            }
            if o.destination.weight != rs.destination.weight {
                lines.append("\(key): real server \(rs.destination.key) weight \(o.destination.weight) -> \(rs.destination.weight)")
            }
            if o.destination.forwarding != rs.destination.forwarding {
                lines.append("\(key): real server \(rs.destination.key) forwarding \(o.destination.forwarding) -> \(rs.destination.forwarding)")
            }
            if o.checks != rs.checks {
                lines.append("\(key): real server \(rs.destination.key) checkers changed; the new ones start from its current state")
            }
            if o.destination != rs.destination, o.destination.weight == rs.destination.weight, o.destination.forwarding == rs.destination.forwarding {
                lines.append("\(key): real server \(rs.destination.key) thresholds or tunnel settings changed")
            }
        }
        if old.sorryServer != new.sorryServer || old.quorum != new.quorum || old.hysteresis != new.hysteresis {
            lines.append("\(key): quorum or sorry server changed")
        }
        return lines
    }

    /// Ends drains until cancelled: a draining real server goes once the kernel shows it without
    /// connections, or when ``ReconcileOptions/drainTimeout`` has passed.
    public func runDrainLoop() async {
        while !Task.isCancelled {
            if draining.isEmpty && idleWatch.isEmpty {
                var it = drainWakes.makeAsyncIterator()
                guard await it.next() != nil else { return }
                continue
            }
            do { try await Task.sleep(for: options.drainPoll) } catch { return }
            await finishDrains()
        }
    }

    /// One look at the draining real servers: those done leave the desired table.
    public func finishDrains() async {
        let watch = idleWatch
        guard !draining.isEmpty || !watch.isEmpty else { return }
        let table: [ServiceKey: ServiceEntry]
        do {
            table = Dictionary(try await ipvs.table().map { ($0.service.key, $0) }, uniquingKeysWith: { a, _ in a })
        } catch {
            logger.error("reading connection counts of draining real servers failed: \(error)")
            return
        }
        let now = ContinuousClock.now
        var finished = false
        for (service, servers) in draining {
            for (key, drain) in servers {
                let current = table[service]?.destinations.first { $0.key == key }
                let connections = Int(current?.activeConnections ?? 0) + Int(current?.inactiveConnections ?? 0)
                if current == nil || connections == 0 {
                    logger.notice("\(service): real server \(key) drained (no connections left); removing it")
                } else if now - drain.since >= options.drainTimeout {
                    logger.notice("\(service): real server \(key) still has \(connections) connections after \(Self.seconds(options.drainTimeout)) of draining; removing it")
                } else {
                    continue
                }
                draining[service]?[key] = nil
                if draining[service]?.isEmpty == true { draining[service] = nil }
                finished = true
            }
        }
        for (service, key) in watch where overrides[service]?[key] == .drain(removeWhenIdle: true) {
            let current = table[service]?.destinations.first { $0.key == key }
            guard Int(current?.activeConnections ?? 0) + Int(current?.inactiveConnections ?? 0) == 0,
                  let (v, r) = Self.position(plan, service, key) else { continue }
            logger.notice("\(service): real server \(key) drained (no connections left); removing it until undrain")
            overrides[service]?[key] = .drained
            for a in states[v].setOverride(.drained, realServer: r) { run(a, vs: v) }
            overridesChanged?(overrides)
            finished = true
        }
        if finished {
            stateChanges += 1
            dirty = true
            wake.yield()
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
            let ops = owned.filter { present.contains($0) }.sorted(by: ServiceKey.precedes).map { IPVSOperation.deleteService($0) }
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
        if let fifoLines {
            switch action {
            case .notifyUp(let r): fifoLines(spec.fifoLine(realServer: r, up: true))
            case .notifyDown(let r): fifoLines(spec.fifoLine(realServer: r, up: false))
            case .quorumUp: fifoLines(spec.fifoLine(quorumUp: true))
            case .quorumDown: fifoLines(spec.fifoLine(quorumUp: false))
            }
        }
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
        let kind = action.scriptKind
        Task.detached {
            let outcome = await ProgramRunner.run(command + extra, user: user, group: group, timeout: .seconds(60), extraEnvironment: env)
            Counter(label: "vigil_notify_script_runs_total", dimensions: [("kind", kind)]).increment()
            if outcome != .exited(0) {
                Counter(label: "vigil_notify_script_failures_total", dimensions: [("kind", kind)]).increment()
                logger.warning("script \(command.joined(separator: " ")) failed: \(outcome)")
            }
        }
    }
}

extension VirtualServerAction {
    /// The keyword of the script it runs: `notify_up`, `notify_down`, `quorum_up`, `quorum_down`.
    var scriptKind: String {
        switch self {
        case .notifyUp: "notify_up"
        case .notifyDown: "notify_down"
        case .quorumUp: "quorum_up"
        case .quorumDown: "quorum_down"
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
