import Foundation
import HealthCheck
import IPVS
import KeepalivedConfig
import Synchronization
import VRRP
import VigilSupport

/// What the status server reads, and how it reads it without leaning on the protocol loops:
/// each loop (the VRRP event loop, the LVS manager, the kernel table) is asked at most once per
/// ``minimumRefresh`` however many requests arrive; requests in between share the last answer.
public final class StatusSources: Sendable {
    let checker: CheckerService?
    let vrrp: VRRPService?
    let coordinator: ReloadCoordinator?
    let configFile: String
    let startedAt: Date
    let ipvs: (any IPVSControlling)?
    let minimumRefresh: Duration
    let kernelRefresh: Duration
    private let vrrpCache = SnapshotCache<VRRPView>()
    private let lvsCache = SnapshotCache<LVSView>()
    private let kernelCache = SnapshotCache<[ServiceKey: ServiceEntry]>()

    public init(checker: CheckerService?, vrrp: VRRPService?, coordinator: ReloadCoordinator?, configFile: String,
                ipvs: (any IPVSControlling)?, startedAt: Date = Date(),
                minimumRefresh: Duration = .milliseconds(100), kernelRefresh: Duration = .seconds(1)) {
        self.checker = checker
        self.vrrp = vrrp
        self.coordinator = coordinator
        self.configFile = configFile
        self.ipvs = ipvs
        self.startedAt = startedAt
        self.minimumRefresh = minimumRefresh
        self.kernelRefresh = kernelRefresh
    }

    /// The VRRP half as one hop onto its loop sees it.
    struct VRRPView: Sendable {
        var status: [VRRPInstanceStatus]
        var counters: VRRPCounters
        var activity: [String: VRRPInstanceActivity]
        var scripts: [String: Bool]
        var interfaces: [String: Bool]
        /// As the coordinator last loaded them.
        var settings: VRRPSettings?
    }

    /// The checker half as one hop onto the manager sees it, with the probes' status.
    struct LVSView: Sendable {
        var states: [VirtualServerState]
        var draining: [ServiceKey: [DestinationKey: LVSManager.Drain]]
        var probes: [CheckSpec: ProbeStatus]
        var statistics: ProbeStatistics
        var repairs: Int
        var operationsApplied: Int
    }

    func vrrpView() async -> VRRPView? {
        guard let runtime = vrrp?.runtime else { return nil }
        return await vrrpCache.get(maxAge: minimumRefresh) {
            var view = await runtime.statusView()
            if let settings = await self.coordinator?.runningVRRPSettings { view.settings = settings }
            return view
        }
    }

    func lvsView() async -> LVSView? {
        guard let manager = checker?.manager, let pool = checker?.pool else { return nil }
        return await lvsCache.get(maxAge: minimumRefresh) {
            let (states, draining, repairs, applied) = await manager.statusView()
            let statuses = pool.statuses()
            var probes: [CheckSpec: ProbeStatus] = [:]
            for spec in pool.specs {
                if let i = pool.index(of: spec), let s = statuses[i] { probes[spec] = s }
            }
            return LVSView(states: states, draining: draining, probes: probes, statistics: pool.statistics,
                           repairs: repairs, operationsApplied: applied)
        }
    }

    /// The kernel's table by service, or nil when it cannot be read.
    func kernelTable() async -> [ServiceKey: ServiceEntry]? {
        guard let ipvs, checker != nil else { return nil }
        return await kernelCache.get(maxAge: kernelRefresh) {
            guard let table = try? await ipvs.table() else { return nil }
            return Dictionary(table.map { ($0.service.key, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// `GET /status`'s document now.
    public func document() async -> StatusDocument {
        async let vrrpView = vrrpView()
        async let lvsView = lvsView()
        async let kernel = kernelTable()
        async let reload = coordinator?.statusView()
        let now = Date()
        let r = await reload
        let daemon = StatusDocument.DaemonStatus(
            pid: getpid(), configFile: configFile, configSha256: r?.hash, startedAt: startedAt,
            uptimeSeconds: now.timeIntervalSince(startedAt),
            reloads: .init(applied: r?.applied ?? 0, refused: r?.refused ?? 0, last: r?.last.map {
                .init(result: $0.result == .applied ? "applied" : "refused", finishedAt: $0.finishedAt,
                      changes: $0.changes, diagnostics: $0.diagnostics)
            }))
        let table = await kernel
        return StatusDocument(generatedAt: now, daemon: daemon,
                              vrrp: await vrrpView.map(Self.vrrpStatus),
                              virtualServers: await lvsView.map { Self.virtualServers($0, kernel: table) })
    }

    static func vrrpStatus(_ v: VRRPView) -> StatusDocument.VRRPStatus {
        let settings = Dictionary((v.settings?.instances ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let instances = v.status.map { s -> StatusDocument.VRRPInstance in
            let i = settings[s.name]
            let a = v.activity[s.name] ?? VRRPInstanceActivity()
            let tracked = (i?.trackInterfaces ?? []) + ((i?.dontTrackPrimary ?? true) ? [] : [VRRPTrackedInterface(name: i!.interface)])
            return StatusDocument.VRRPInstance(
                name: s.name, state: s.state.rawValue, interface: i?.interface ?? "",
                virtualRouterId: Int(i?.virtualRouterID ?? 0), version: Int(i?.version.rawValue ?? 2),
                configuredPriority: Int(i?.priority ?? 0), effectivePriority: Int(s.effectivePriority),
                masterAddress: s.masterAddress?.description,
                virtualAddresses: (i?.virtualAddresses ?? []).map(\.description),
                transitions: a.transitions,
                lastTransition: a.lastTransition.map { .init(from: $0.from.rawValue, to: $0.to.rawValue, at: $0.at, reason: $0.reason) },
                faults: s.faults,
                trackedScripts: (i?.trackScripts ?? []).map { .init(name: $0.name, weight: $0.weight, healthy: v.scripts[$0.name]) },
                trackedInterfaces: tracked.map { .init(name: $0.name, weight: $0.weight, up: v.interfaces[$0.name]) },
                counters: .init(advertisementsSent: a.advertisementsSent, advertisementsReceived: a.advertisementsReceived,
                                priorityZeroSent: a.priorityZeroSent, priorityZeroReceived: a.priorityZeroReceived,
                                becameMaster: a.becameMaster, releasedMaster: a.releasedMaster,
                                droppedByReason: Dictionary(a.dropped.map { ($0.key.rawValue, $0.value) }, uniquingKeysWith: +)))
        }
        return StatusDocument.VRRPStatus(
            instances: instances,
            droppedByReason: Dictionary(v.counters.dropped.map { ($0.key.rawValue, $0.value) }, uniquingKeysWith: +),
            advertisementsSent: v.counters.advertisementsSent, advertisementsReceived: v.counters.advertisementsReceived)
    }

    static func virtualServers(_ v: LVSView, kernel: [ServiceKey: ServiceEntry]?) -> [StatusDocument.VirtualServerStatus] {
        let clock = ContinuousClock.now
        return v.states.map { state in
            let spec = state.spec
            let key = spec.service.key
            let desired = Dictionary(state.desiredDestinations.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
            let entry = kernel?[key]
            let inKernel = entry.map { e in Dictionary(e.destinations.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a }) }
            var proto: String?, address: String?, port: Int?, mark: Int?
            switch key {
            case .address(let p, let a, let pt): (proto, address, port) = (p.description, a.description, Int(pt))
            case .firewallMark(let m, _): mark = Int(m)
            }
            let realServers = spec.realServers.enumerated().map { (n, rs) -> StatusDocument.RealServerStatus in
                let d = rs.destination
                let checkers = rs.checks.map { check -> StatusDocument.CheckerStatus in
                    let p = v.probes[check]
                    var result: String?, reason: String?
                    switch p?.lastResult {
                    case .success?: result = "success"
                    case .failure(let why)?: (result, reason) = ("failure", why)
                    case nil: break
                    }
                    return .init(kind: check.kind.name, target: describeTarget(check), up: p?.isUp ?? !check.timing.alpha,
                                 hasVerdict: p?.hasVerdict ?? false, lastResult: result, reason: reason,
                                 durationSeconds: p?.lastDuration?.asSeconds, secondsSinceResult: p?.sinceLastResult?.asSeconds,
                                 consecutiveFailures: p?.consecutiveFailures ?? 0, checks: p?.checks ?? 0,
                                 nextCheckInSeconds: p?.nextCheckIn?.asSeconds)
                }
                let wanted = desired[d.key]
                let k = inKernel?[d.key]
                return .init(address: d.address.description, port: Int(d.port), key: SocketAddress(d.address, d.port).description,
                             alive: state.isAlive(n), configuredWeight: Int(d.weight), effectiveWeight: Int(wanted?.weight ?? 0),
                             inIpvs: wanted != nil, override: state.overrides[n]?.description, checkers: checkers,
                             traffic: k.flatMap { k in k.statistics.map { StatusDocument.Traffic($0, active: k.activeConnections, inactive: k.inactiveConnections) } })
            }
            let sorry = spec.sorryServer.map { s in
                StatusDocument.SorryServer(address: s.address.description, port: Int(s.port),
                                           active: !state.quorumUp && desired[s.key] != nil)
            }
            let draining = (v.draining[key] ?? [:]).values.sorted { $0.destination.key.description < $1.destination.key.description }.map {
                StatusDocument.Draining(address: $0.destination.address.description, port: Int($0.destination.port),
                                        sinceSeconds: (clock - $0.since).asSeconds)
            }
            return .init(key: key.description, protocolName: proto, address: address, port: port, firewallMark: mark,
                         scheduler: spec.service.scheduler,
                         quorum: .init(required: Int(spec.quorum), hysteresis: Int(spec.hysteresis),
                                       liveWeight: Int(state.liveWeight), up: state.quorumUp),
                         sorryServer: sorry, realServers: realServers, draining: draining,
                         traffic: entry?.service.statistics.map { StatusDocument.Traffic($0) })
        }
    }
}

/// The last value of an expensive read, shared by callers within its age; one read at a time.
/// A read that takes longer than `timeout` (a stuck loop) answers with the last value (or nil)
/// and keeps running; later callers wait on it again, each no longer than `timeout`.
actor SnapshotCache<Value: Sendable> {
    private var value: Value?
    private var readAt: ContinuousClock.Instant?
    private var inFlight: Task<Value?, Never>?
    private let timeout: Duration

    init(timeout: Duration = .seconds(2)) { self.timeout = timeout }

    func get(maxAge: Duration, _ read: @escaping @Sendable () async -> Value?) async -> Value? {
        if let readAt, let value, ContinuousClock.now - readAt < maxAge { return value }
        let task: Task<Value?, Never>
        if let inFlight {
            task = inFlight
        } else {
            task = Task { await read() }
            inFlight = task
        }
        guard let v = await Self.first(of: task, within: timeout) else { return value }
        if inFlight == task { inFlight = nil }
        value = v
        readAt = .now
        return v
    }

    /// `task`'s value, or nil when it takes longer than `limit`.
    private static func first(of task: Task<Value?, Never>, within limit: Duration) async -> Value?? {
        let once = Once()
        return await withCheckedContinuation { (c: CheckedContinuation<Value??, Never>) in
            Task {
                let v = await task.value
                if once.claim() { c.resume(returning: .some(v)) }
            }
            Task {
                try? await Task.sleep(for: limit)
                if once.claim() { c.resume(returning: nil) }
            }
        }
    }
}

/// True for the first caller only.
final class Once: Sendable {
    private let done = Mutex(false)

    func claim() -> Bool { done.withLock { d in defer { d = true }; return !d } }
}

extension VRRPRuntime {
    /// Everything status shows, in one hop onto the VRRP loop.
    func statusView() -> StatusSources.VRRPView {
        StatusSources.VRRPView(status: status, counters: counters, activity: activity, scripts: trackedScripts,
                               interfaces: trackedInterfaces, settings: nil)
    }
}

extension LVSManager {
    /// Everything status shows, in one hop onto the manager.
    func statusView() -> ([VirtualServerState], [ServiceKey: [DestinationKey: Drain]], Int, Int) {
        (states, draining, repairs, operationsApplied)
    }
}
