import HealthCheck
import IPVS
import KeepalivedConfig
import Logging
import NIOPosix
import VigilSupport

/// A configuration that cannot be run, with every diagnostic.
public struct CheckerStartError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var diagnostics: [Diagnostic]

    public init(message: String, diagnostics: [Diagnostic] = []) {
        self.message = message
        self.diagnostics = diagnostics
    }

    public var description: String {
        ([message] + diagnostics.map(\.description)).joined(separator: "\n")
    }
}

/// Builds the checker half from a configuration file.
public enum CheckerDaemon {
    /// Loads `configFile`, logs its warnings, and returns the service (errors throw, nothing applied).
    public static func make(configFile: String, configID: String?, ipvs: any IPVSControlling, differ: @escaping IPVSDiffer,
                            background: BackgroundReconcile? = nil,
                            releaseOnStop: Bool, reconcileInterval: Duration? = nil,
                            logger: Logger) throws -> CheckerService {
        let loaded = ConfigLoader.load(path: configFile, configID: configID)
        for w in loaded.warnings { logger.warning("\(w)") }
        guard !loaded.hasErrors, let config = loaded.configuration else {
            throw CheckerStartError(message: "\(configFile): configuration has errors; nothing applied", diagnostics: loaded.errors)
        }
        let plan = LVSPlan(configuration: config)
        var options = ReconcileOptions(flushOnStart: plan.flushOnStart, releaseOnStop: releaseOnStop)
        if let reconcileInterval {
            // An operator's interval is kept as given, whatever a pass costs.
            options.interval = reconcileInterval
            options.driftCPUShare = nil
        }
        return CheckerService(plan: plan, ipvs: ipvs, differ: differ, options: options, background: background, logger: logger)
    }
}

extension CheckerDaemon {
    /// The production diff (IPVS), in the manager's argument order.
    public static let differ: IPVSDiffer = { desired, actual, managed in
        diff(actual: actual, desired: desired, managed: managed)
    }

    /// The checker service for a plan, on the kernel's IPVS over netlink.
    public static func service(plan: LVSPlan, options: ReconcileOptions, overrideStore: OverrideStore? = nil,
                               logger: Logger = Logger(label: "vigil.checker"),
                               fifoLines: (@Sendable (String) -> Void)? = nil) throws -> CheckerService {
        let client = try IPVSClient()
        return CheckerService(plan: plan, ipvs: client, differ: differ, options: options,
                              background: try backgroundReconcile(), logger: logger, overrideStore: overrideStore,
                              fifoLines: fifoLines)
    }

    /// A second netlink client, on a thread of its own at nice 19, for drift repair.
    public static func backgroundReconcile() throws -> BackgroundReconcile {
        let worker = try BackgroundWorker(name: "vigil-drift")
        return BackgroundReconcile(reader: try IPVSClient(worker: worker), worker: worker)
    }

    /// `vigil -C`: loads the file and returns the service on the kernel's IPVS.
    public static func make(configFile: String, configID: String?, releaseOnStop: Bool,
                            reconcileInterval: Duration? = nil, logger: Logger) throws -> CheckerService {
        let client = try IPVSClient()
        return try make(configFile: configFile, configID: configID, ipvs: client, differ: differ,
                        background: try backgroundReconcile(),
                        releaseOnStop: releaseOnStop, reconcileInterval: reconcileInterval, logger: logger)
    }
}
