import HealthCheck
import IPVS
import KeepalivedConfig
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import VigilSupport

/// The checker half (`vigil -C`) as a service: runs every probe, keeps IPVS matched to the healthy
/// real servers, repairs drift every reconcile interval, and on graceful shutdown releases what
/// it installed (unless told to keep it).
public struct CheckerService: ServiceLifecycle.Service {
    public let plan: LVSPlan
    let ipvs: any IPVSControlling
    let differ: IPVSDiffer
    let options: ReconcileOptions
    let background: BackgroundReconcile?
    let logger: Logger
    let group: any EventLoopGroup
    /// Called once the manager exists (status, tests).
    let onStart: (@Sendable (LVSManager, CheckPool) async -> Void)?
    /// The running manager and pool, for reloads.
    private let running = RunningChecker()
    /// Where the operators' overrides are kept across restarts; nil keeps them in memory only.
    let overrideStore: OverrideStore?
    /// Where the manager's notify FIFO lines go.
    let fifoLines: (@Sendable (String) -> Void)?

    public init(plan: LVSPlan, ipvs: any IPVSControlling, differ: @escaping IPVSDiffer, options: ReconcileOptions,
                background: BackgroundReconcile? = nil,
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "vigil.checker"), overrideStore: OverrideStore? = nil,
                fifoLines: (@Sendable (String) -> Void)? = nil,
                onStart: (@Sendable (LVSManager, CheckPool) async -> Void)? = nil) {
        self.fifoLines = fifoLines
        self.overrideStore = overrideStore
        self.plan = plan
        self.ipvs = ipvs
        self.differ = differ
        self.options = options
        self.background = background
        self.group = group
        self.logger = logger
        self.onStart = onStart
    }

    public func run() async throws {
        defer { running.clear() }
        let budget = DescriptorBudget(specs: plan.allChecks)
        let pool = try CheckPool(specs: plan.allChecks, group: group,
                                 maxInFlight: budget.maxInFlight(openFileLimit: prepareOpenFileLimit(for: budget)),
                                 logger: logger)
        var kept: [ServiceKey: [DestinationKey: RealServerOverride]] = [:]
        do throws(OverrideStore.LoadError) {
            kept = try overrideStore?.load() ?? [:]
        } catch {
            logger.error("\(error)")
        }
        let manager = LVSManager(plan: plan, pool: pool, ipvs: ipvs, differ: differ, options: options,
                                 background: background, overrides: kept, logger: logger)
        if let fifoLines { await manager.onNotifyFIFOLine(fifoLines) }
        if let store = overrideStore {
            let logger = logger
            await manager.onOverridesChanged { overrides in
                do { try store.save(overrides) } catch { logger.error("overrides not saved to \(store.path): \(error)") }
            }
        }
        logger.info("checking \(plan.virtualServers.count) virtual servers with \(pool.specs.count) distinct probes (\(plan.allChecks.count) configured)")
        try await manager.start()
        running.set(manager, pool)
        await onStart?(manager, pool)
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await pool.run() }
            tasks.addTask {
                for await event in pool.events { await manager.record(event) }
            }
            tasks.addTask { await manager.runApplyLoop() }
            tasks.addTask { await manager.runReconcileLoop() }
            tasks.addTask { await manager.runDrainLoop() }
            try? await gracefulShutdown()
            tasks.cancelAll()
        }
        await manager.stop()
    }

    /// Waits until the service has made its first contact with the kernel (or stopped).
    public func started() async { await running.started() }

    /// Applies a new plan to the running half (see ``LVSManager/reload(plan:pool:)``); nil when
    /// the service is not running.
    public func reload(plan: LVSPlan) async throws -> LVSManager.ReloadReport? {
        guard let (manager, pool) = running.current else { return nil }
        return try await manager.reload(plan: plan, pool: pool)
    }

    /// The running manager, for status.
    public var manager: LVSManager? { running.current?.0 }

    /// The running probe pool, for status.
    public var pool: CheckPool? { running.current?.1 }
}

/// The manager and pool of a running ``CheckerService``, and who waits for them.
final class RunningChecker: Sendable {
    private struct State {
        var current: (LVSManager, CheckPool)?
        var ended = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    var current: (LVSManager, CheckPool)? { state.withLock { $0.current } }

    func set(_ manager: LVSManager, _ pool: CheckPool) {
        let waiters = state.withLock { s in
            s.current = (manager, pool)
            defer { s.waiters = [] }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }

    func clear() {
        let waiters = state.withLock { s in
            s.current = nil
            s.ended = true
            defer { s.waiters = [] }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }

    func started() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.current != nil || s.ended { return true }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }
}

extension CheckerService {
    /// Raises the soft open-file limit to what `budget` wants (within the hard limit), logs what
    /// changed, and returns the soft limit then in force.
    func prepareOpenFileLimit(for budget: DescriptorBudget) throws(SystemCallError) -> Int {
        let before = try OpenFileLimit.current()
        let after = try OpenFileLimit.raiseSoft(to: budget.wantedLimit)
        if after.soft > before.soft {
            logger.info("raised the open-file limit from \(before.soft) to \(after.soft) for \(budget.probes) probes")
        }
        if after.soft < budget.wantedLimit {
            let cap = budget.maxInFlight(openFileLimit: after.soft)
            logger.warning("the open-file limit (\(after)) is below the \(budget.wantedLimit) descriptors wanted for \(budget.probes) probes: at most \(cap) connections at once, and checks beyond that run late; raise the hard limit (systemd LimitNOFILE=, ulimit -Hn)")
        }
        return after.soft
    }
}

extension CheckerService: CustomStringConvertible {
    /// One line naming the plan's size. ServiceLifecycle describes every service it is given;
    /// without this, Swift's reflection walked the whole plan, which took longer than loading
    /// the file at 2,500 real servers.
    public var description: String {
        "CheckerService(\(plan.virtualServers.count) virtual servers, \(plan.allChecks.count) checks)"
    }
}
