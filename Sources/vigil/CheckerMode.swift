import HealthCheck
import IPVS
import KeepalivedConfig
import Logging
import ServiceLifecycle
import VigilDaemon
import VigilSupport

enum CheckerMode {
    /// `vigil -C`: loads the configuration and runs the checker / LVS half until SIGTERM or SIGINT.
    static func run(_ options: VigilOptions) async -> Int32 {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "vigil.checker")
        logger.logLevel = options.logDetail ? .debug : .info
        do {
            let service = try CheckerDaemon.make(configFile: options.file, configID: options.configID,
                                                 releaseOnStop: !options.dontReleaseIPVS,
                                                 reconcileInterval: options.reconcileInterval.map { .seconds($0) },
                                                 logger: logger)
            let group = ServiceGroup(configuration: .init(services: [.init(service: service)],
                                                          gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
            return 0
        } catch {
            writeStandardError("vigil: \(error)\n")
            return 1
        }
    }
}
