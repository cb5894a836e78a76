import HealthCheck
import Synchronization
import VRRP

/// Watches that each protocol loop keeps turning, for `GET /healthz` (keepalived #2523: a stuck
/// checker went unnoticed). Every ``interval`` it hands each loop a no-op job: the VRRP event
/// loop, the probe reactors, the LVS manager. A job not run within ``bound`` marks its loop
/// stalled; the drift reconciler is stalled when its last pass is older than its interval plus
/// ``bound``.
public final class Liveness: Sendable {
    /// One watched loop's verdict.
    public struct Loop: Sendable, Hashable, Codable {
        public var name: String
        public var stalled: Bool
        /// How long its oldest unanswered job has waited, or how long since the reconciler's last pass.
        public var waitingSeconds: Double
    }

    public let interval: Duration
    public let bound: Duration
    private let sources: StatusSources
    private let pending = Mutex<[String: ContinuousClock.Instant?]>([:])
    /// The reconciler's last pass and interval, as the manager last answered.
    private let reconciler = Mutex<(ContinuousClock.Instant?, Duration)>((nil, .zero))

    public init(sources: StatusSources, interval: Duration = .seconds(1), bound: Duration = .seconds(5)) {
        self.sources = sources
        self.interval = interval
        self.bound = bound
    }

    /// Pings every loop each ``interval`` until cancelled; each loop has its own task, so one
    /// stuck loop does not stop the others being watched.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            if let runtime = sources.vrrp?.runtime {
                group.addTask { await self.watch("vrrp") { _ = await runtime.counters } }
            }
            if let checker = sources.checker {
                await checker.started()
                group.addTask {
                    await self.watch("probe_reactors") { await checker.pool?.ping() }
                }
                group.addTask {
                    await self.watch("lvs_manager") {
                        guard let manager = checker.manager else { return }
                        let seen = await (manager.lastDriftRepair, manager.driftInterval)
                        self.reconciler.withLock { $0 = seen }
                    }
                }
            }
            await group.waitForAll()
        }
    }

    private func watch(_ name: String, _ ping: @escaping @Sendable () async -> Void) async {
        let clock = ContinuousClock()
        while !Task.isCancelled {
            let started = clock.now
            pending.withLock { $0[name] = .some(started) }
            await ping()
            pending.withLock { $0[name] = .some(nil) }
            try? await Task.sleep(until: started.advanced(by: interval), clock: clock)
        }
    }

    /// Every watched loop's verdict now, the reconciler's included.
    public func loops() -> [Loop] {
        let now = ContinuousClock.now
        var out = pending.withLock { p in
            p.map { name, since in
                let waited = since.map { now - $0 } ?? .zero
                return Loop(name: name, stalled: waited > bound, waitingSeconds: waited.asSeconds)
            }
        }
        let (last, every) = reconciler.withLock { $0 }
        if let last {
            let age = now - last
            out.append(Loop(name: "reconciler", stalled: age > every + bound, waitingSeconds: age.asSeconds))
        }
        return out.sorted { $0.name < $1.name }
    }
}
