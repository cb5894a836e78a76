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
                            releaseOnStop: Bool, reconcileInterval: Duration = .seconds(5),
                            logger: Logger) throws -> CheckerService {
        let loaded = ConfigLoader.load(path: configFile, configID: configID)
        for w in loaded.warnings { logger.warning("\(w)") }
        guard !loaded.hasErrors, let config = loaded.configuration else {
            throw CheckerStartError(message: "\(configFile): configuration has errors; nothing applied", diagnostics: loaded.errors)
        }
        let plan = LVSPlan(configuration: config)
        return CheckerService(plan: plan, ipvs: ipvs, differ: differ,
                              options: ReconcileOptions(interval: reconcileInterval, flushOnStart: plan.flushOnStart, releaseOnStop: releaseOnStop),
                              logger: logger)
    }
}
