#if canImport(Glibc)
import Glibc
#endif
import KeepalivedConfig
import Logging
import ServiceLifecycle
import VRRP
import VigilSupport

/// The VRRP half as a swift-service-lifecycle `Service`: runs the runtime until graceful shutdown,
/// then sends priority 0 and releases the VIPs.
public struct VRRPService: Service, CustomStringConvertible {
    public var description: String { "VRRPService" }
    public let runtime: VRRPRuntime

    public init(runtime: VRRPRuntime) { self.runtime = runtime }

    /// Waits until every instance has left INIT (the sockets are open and the state machines
    /// started), or the runtime has stopped.
    public func started() async {
        while !Task.isCancelled {
            let states = await runtime.status.map(\.state)
            if !states.contains(.initialize) { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    public func run() async throws {
        let runtime = self.runtime
        try await withGracefulShutdownHandler {
            try await runtime.run()
        } onGracefulShutdown: {
            Task { await runtime.stop() }
        }
    }
}

/// What `vigil -P` needs from its command line.
public struct VRRPDaemonOptions: Sendable {
    public var configFile: String
    public var configID: String?
    public var pidFile: String?
    public var vrrpPidFile: String?
    public var logDetail: Bool

    public init(configFile: String, configID: String? = nil, pidFile: String? = nil, vrrpPidFile: String? = nil, logDetail: Bool = false) {
        self.configFile = configFile
        self.configID = configID
        self.pidFile = pidFile
        self.vrrpPidFile = vrrpPidFile
        self.logDetail = logDetail
    }
}

/// `vigil -P`: load the file, refuse it whole on any error, run VRRP until SIGTERM/SIGINT.
public enum VRRPDaemon {
    /// Returns the process exit status.
    public static func run(_ options: VRRPDaemonOptions) async -> Int32 {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = options.logDetail ? .debug : .info
            return h
        }
        let logger = Logger(label: "vigil.vrrp")
        let result = ConfigLoader.load(path: options.configFile, configID: options.configID)
        for d in result.diagnostics { writeStandardError("\(d)\n") }
        guard !result.hasErrors, let configuration = result.configuration else {
            writeStandardError("vigil: \(options.configFile) has errors; nothing started\n")
            return 1
        }
        var warnings: [String] = []
        let settings: VRRPSettings
        do {
            settings = try VRRPSettings(configuration: configuration, warnings: &warnings)
        } catch {
            writeStandardError("vigil: \(options.configFile): \(error)\n")
            return 1
        }
        for w in warnings { writeStandardError("vigil: warning: \(w)\n") }
        guard !settings.instances.isEmpty else {
            writeStandardError("vigil: \(options.configFile) has no vrrp_instance; nothing to run\n")
            return 1
        }
        let addresses: KernelAddressManager
        do {
            addresses = try KernelAddressManager()
        } catch {
            writeStandardError("vigil: cannot open rtnetlink: \(error)\n")
            return 1
        }
        // Reload belongs to the combined daemon; until then SIGHUP must not kill the VIP holder.
        signal(SIGHUP, SIG_IGN)
        for path in [options.pidFile, options.vrrpPidFile].compactMap({ $0 }) { writePidFile(path) }
        defer { for path in [options.pidFile, options.vrrpPidFile].compactMap({ $0 }) { unlink(path) } }
        let runtime: VRRPRuntime
        do {
            runtime = try VRRPRuntime(settings: settings, addresses: addresses, logger: logger)
        } catch {
            writeStandardError("vigil: cannot start the VRRP event loop: \(error)\n")
            return 1
        }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: VRRPService(runtime: runtime))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch {
            writeStandardError("vigil: VRRP stopped: \(error)\n")
            return 1
        }
        return 0
    }

    private static func writePidFile(_ path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            writeStandardError("vigil: cannot write pid file \(path): \(Errno.current)\n")
            return
        }
        let text = Array("\(getpid())\n".utf8)
        _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}
