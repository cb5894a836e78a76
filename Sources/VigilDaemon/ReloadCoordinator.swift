import Crypto
import Foundation
import HealthCheck
import IPVS
import KeepalivedConfig
import Logging
import VRRP
import VigilSupport

/// What one reload did: refused with its diagnostics, or applied with its changes.
public struct ReloadOutcome: Sendable {
    public enum Result: Sendable, Equatable {
        /// The new file had errors: nothing changed.
        case refused
        /// The new file is running.
        case applied
    }

    public var result: Result
    /// Every diagnostic of the new file (`vigil -t`'s lines).
    public var diagnostics: [String]
    /// One line per change applied.
    public var changes: [String]
    /// IPVS operations the reload issued.
    public var operations: Int
    public var finishedAt: Date
}

/// Reloads the running configuration on SIGHUP (and, later, on `vigil ctl reload`): reads and
/// validates the whole new file first; on any error keeps everything running as it is; else
/// hands each half its new settings, which apply only the difference.
public actor ReloadCoordinator {
    private let options: DaemonOptions
    private var state: LoadedConfiguration
    private let checker: CheckerService?
    private let vrrp: VRRPService?
    private let sync: ConnectionSync?
    private let fifos: NotifyFIFOs?
    private let notifier: SystemdNotifier
    private let logger: Logger
    /// Reloads applied and refused since start; the last outcome.
    public private(set) var applied = 0
    public private(set) var refused = 0
    public private(set) var last: ReloadOutcome?
    /// SHA-256 (hex) of the configuration file as last loaded, at start or by an applied reload.
    public private(set) var configHash: String?

    /// The VRRP settings of the configuration last loaded.
    var runningVRRPSettings: VRRPSettings { state.vrrp }

    /// The `router_id` of the configuration last loaded.
    var runningRouterID: String { state.configuration.global.routerID }

    /// What `/status` shows of the configuration and its reloads.
    func statusView() -> (hash: String?, applied: Int, refused: Int, last: ReloadOutcome?) {
        (configHash, applied, refused, last)
    }

    init(options: DaemonOptions, state: LoadedConfiguration, checker: CheckerService?, vrrp: VRRPService?,
         sync: ConnectionSync?, fifos: NotifyFIFOs? = nil, notifier: SystemdNotifier, logger: Logger) {
        self.sync = sync
        self.fifos = fifos
        self.options = options
        self.state = state
        self.checker = checker
        self.vrrp = vrrp
        self.notifier = notifier
        self.logger = logger
        self.configHash = Self.hash(of: options.configFile)
    }

    /// SHA-256 of the file at `path` in hex; nil when it cannot be read.
    static func hash(of path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// One reload, `trigger` naming what asked for it in the log.
    public func reload(trigger: String) async -> ReloadOutcome {
        notifier.reloading()
        defer { notifier.ready() }
        logger.notice("Reloading (\(trigger)): reading \(options.configFile)")
        let result = options.read()
        let diagnostics = result.diagnostics.map(\.description)
        guard !result.hasErrors, let configuration = result.configuration else {
            return refuse(diagnostics, errors: result.errors.map(\.description))
        }
        var vrrpWarnings: [String] = []
        let vrrpSettings: VRRPSettings
        do {
            vrrpSettings = try VRRPSettings(configuration: configuration, warnings: &vrrpWarnings)
        } catch {
            return refuse(diagnostics, errors: ["\(options.configFile): \(error)"])
        }
        for w in result.warnings { logger.warning("\(w)") }
        for w in vrrpWarnings { logger.warning("\(w)") }
        let plan = LVSPlan(configuration: configuration)
        var changes: [String] = []
        var operations = 0

        if let checker {
            do {
                if let report = try await checker.reload(plan: plan) {
                    changes += report.changes
                    operations = report.operations.count
                    let p = report.probes
                    logger.info("reload: checkers: \(p.kept) kept, \(p.started) started, \(p.stopped) stopped")
                }
            } catch {
                return refuse(diagnostics, errors: ["checkers: \(error)"])
            }
        } else if !plan.virtualServers.isEmpty && state.plan.virtualServers.isEmpty {
            changes.append("virtual servers configured, but the checker half was not started with this process: restart Vigil to run them")
        }
        if let vrrp {
            if vrrpSettings != state.vrrp {
                let report = await vrrp.runtime.reload(vrrpSettings)
                changes += report.instances.filter { $0.outcome != .kept }.map(\.line) + report.other
                for e in report.errors { logger.error("reload: VRRP: \(e)") }
            }
        } else if !vrrpSettings.instances.isEmpty && state.vrrp.instances.isEmpty {
            changes.append("vrrp_instance configured, but the VRRP half was not started with this process: restart Vigil to run it")
        }
        let syncSettings = configuration.global.lvsSyncDaemon
        if let sync {
            if await sync.update(syncSettings.map(ConnectionSyncPlan.init)) {
                changes.append(syncSettings.map { "lvs_sync_daemon: now on \($0.interface) following \($0.vrrpInstance)" } ?? "lvs_sync_daemon removed: the sync daemon stops")
            }
        } else if syncSettings != state.configuration.global.lvsSyncDaemon {
            changes.append("lvs_sync_daemon changed, but the VRRP half that runs it is not running in this process (or IPVS was unavailable at start)")
        }
        if let fifos {
            changes += await fifos.apply(configuration.global)
            // keepalived restarts its FIFO readers at every reload, so it can resend the states.
            if configuration.global.fifoWriteVRRPStatesOnReload, let vrrp {
                for line in await vrrp.runtime.currentFIFOLines() { fifos.vrrp(line) }
            }
        }
        state = LoadedConfiguration(configuration: configuration, plan: plan, vrrp: vrrpSettings,
                                    warnings: result.warnings, vrrpWarnings: vrrpWarnings)
        for line in changes { logger.notice("reload: \(line)") }
        logger.notice("Reload finished: \(changes.isEmpty ? "no changes" : "\(changes.count) changes"), \(operations) IPVS operations")
        applied += 1
        configHash = Self.hash(of: options.configFile)
        let outcome = ReloadOutcome(result: .applied, diagnostics: diagnostics, changes: changes, operations: operations, finishedAt: Date())
        last = outcome
        return outcome
    }

    private func refuse(_ diagnostics: [String], errors: [String]) -> ReloadOutcome {
        for e in errors { logger.error("\(e)") }
        logger.error("Reload refused: \(options.configFile) has \(errors.count) error\(errors.count == 1 ? "" : "s"); the running configuration is unchanged")
        refused += 1
        let outcome = ReloadOutcome(result: .refused, diagnostics: diagnostics, changes: [], operations: 0, finishedAt: Date())
        last = outcome
        return outcome
    }
}
