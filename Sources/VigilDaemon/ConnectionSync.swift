import HealthCheck
import IPVS
import KeepalivedConfig
import Logging
import ServiceLifecycle
import VRRP
import VigilSupport

/// The kernel's IPVS connection-sync daemon as `lvs_sync_daemon` asks: a backup daemon while the
/// named VRRP instance is not master, a master daemon while it is (keepalived's
/// ipvs_syncd_master / ipvs_syncd_backup), so the director that takes the VIP already knows
/// the connections the old master was forwarding.
public struct ConnectionSyncPlan: Sendable, Hashable {
    public var settings: LVSSyncDaemon

    public init(_ settings: LVSSyncDaemon) { self.settings = settings }

    /// The daemon for `role` with the configured interface, id and multicast settings.
    public func daemon(_ role: SyncDaemonRole) -> SyncDaemon {
        SyncDaemon(role: role, interface: settings.interface, syncID: UInt32(clamping: settings.syncID),
                   maxLength: UInt16(clamping: settings.maxLength ?? 0), multicastGroup: settings.group,
                   multicastPort: settings.port ?? 0, multicastTTL: UInt8(clamping: settings.ttl ?? 0))
    }

    /// The role for an instance state: master only while the instance is master.
    public static func role(for state: VRRPState?) -> SyncDaemonRole { state == .master ? .master : .backup }

    /// The operations that turn the `running` daemons into the one for `role`: the other role
    /// stops first, a daemon with other settings is restarted, a matching one is left alone.
    public func operations(running: [SyncDaemon], role: SyncDaemonRole) -> [IPVSOperation] {
        let want = daemon(role)
        var ops: [IPVSOperation] = []
        for d in running where !Self.matches(d, want) { ops.append(.stopDaemon(d.role)) }
        if !running.contains(where: { Self.matches($0, want) }) { ops.append(.startDaemon(want)) }
        return ops
    }

    /// Whether the kernel's daemon `have` is the one asked for: the kernel reports its defaults
    /// (port 8848, TTL 1, group 224.0.0.81, its message length) where the request left 0.
    static func matches(_ have: SyncDaemon, _ want: SyncDaemon) -> Bool {
        have.role == want.role && have.interface == want.interface && have.syncID == want.syncID
            && (want.maxLength == 0 || have.maxLength == want.maxLength)
            && (want.multicastGroup == nil || have.multicastGroup == want.multicastGroup)
            && (want.multicastPort == 0 || have.multicastPort == want.multicastPort)
            && (want.multicastTTL == 0 || have.multicastTTL == want.multicastTTL)
    }
}

/// Follows the VRRP instance `lvs_sync_daemon` names and keeps the kernel's sync daemon in the
/// matching role; stops it on graceful shutdown. A reload may change or remove the settings.
public actor ConnectionSync {
    private var plan: ConnectionSyncPlan?
    private let ipvs: any IPVSControlling
    private let logger: Logger
    /// What Vigil started, as the kernel should have it.
    private var running: [SyncDaemon] = []

    public init(plan: ConnectionSyncPlan?, ipvs: any IPVSControlling, logger: Logger) {
        self.plan = plan
        self.ipvs = ipvs
        self.logger = logger
    }

    public var instance: String? { plan?.settings.vrrpInstance }

    /// First contact: adopts the daemons a previous run left in the kernel.
    public func start() async {
        guard plan != nil else { return }
        do {
            running = try await ipvs.daemons()
        } catch {
            logger.error("reading the IPVS sync daemons failed: \(error)")
        }
    }

    /// Brings the kernel's daemons in line with `state` of the instance.
    public func follow(_ state: VRRPState?) async {
        guard let plan else {
            await stopAll(reason: "lvs_sync_daemon no longer configured")
            return
        }
        let role = ConnectionSyncPlan.role(for: state)
        let ops = plan.operations(running: running, role: role)
        guard !ops.isEmpty else { return }
        for op in ops {
            do {
                try await ipvs.apply([op])
                logger.notice("lvs_sync_daemon: \(describe(op)) on \(plan.settings.interface) (\(plan.settings.vrrpInstance) is \(state?.rawValue ?? "not running"))")
            } catch let e as IPVSError where e.code == .notFound {
                continue
            } catch {
                logger.error("lvs_sync_daemon: \(describe(op)) failed: \(error)")
            }
        }
        running = (try? await ipvs.daemons()) ?? [plan.daemon(role)]
    }

    /// A reload's new settings (nil: removed), applied at the next ``follow(_:)``.
    public func update(_ new: ConnectionSyncPlan?) -> Bool {
        guard new != plan else { return false }
        plan = new
        return true
    }

    /// Stops every daemon Vigil runs.
    public func stopAll(reason: String) async {
        for d in running {
            do {
                try await ipvs.apply([.stopDaemon(d.role)])
                logger.notice("lvs_sync_daemon: stopped the \(d.role) sync daemon (\(reason))")
            } catch {
                logger.error("lvs_sync_daemon: stopping the \(d.role) daemon failed: \(error)")
            }
        }
        running = []
    }
}

/// Runs ``ConnectionSync`` beside the VRRP half: watches the instance's state and switches the
/// daemon's role within one poll (50 ms) of a transition.
struct ConnectionSyncService: ServiceLifecycle.Service, CustomStringConvertible {
    /// One word: ServiceLifecycle describes every service, and reflection would walk its fields.
    var description: String { "ConnectionSyncService" }

    let sync: ConnectionSync
    let vrrp: VRRPService
    let poll: Duration

    init(sync: ConnectionSync, vrrp: VRRPService, poll: Duration = .milliseconds(50)) {
        self.sync = sync
        self.vrrp = vrrp
        self.poll = poll
    }

    func run() async throws {
        await sync.start()
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let name = await sync.instance
                let state = await vrrp.runtime.status.first { $0.name == name }?.state
                await sync.follow(state)
                try? await Task.sleep(for: poll)
            }
        }
        await sync.stopAll(reason: "Vigil stopping")
    }
}
