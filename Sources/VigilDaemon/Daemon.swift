#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import HealthCheck
import IPVS
import KeepalivedConfig
import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import VRRP
import VigilSupport

/// What the daemon runs and how, from the command line (keepalived's flags).
public struct DaemonOptions: Sendable {
    /// Which halves run: both (no `-C`/`-P`), the checker / LVS half (`-C`) or VRRP (`-P`).
    public enum Halves: String, Sendable {
        case both, checkers, vrrp
    }

    public var configFile: String
    public var configID: String?
    public var halves: Halves
    /// `--all`: run a half even when the configuration gives it nothing to do.
    public var runAll: Bool
    /// False with `-I`: IPVS entries stay when the daemon stops.
    public var releaseIPVS: Bool
    public var reconcileInterval: Duration?
    /// `-p`, `-r`, `-c`: written at start, removed at exit (one process: the same pid in each).
    public var pidFiles: [String]
    /// `-d`: the resolved configuration into the log at start.
    public var dumpConfiguration: Bool
    /// The longest a graceful stop may take before the remaining work is cancelled.
    public var stopTimeout: Duration
    /// `-e`: an include that matches no file makes the configuration unusable.
    public var requireIncludedFiles: Bool
    /// Write start-up errors to standard error as well as to the log (off when the log is the console).
    public var errorsToStandardError: Bool
    /// `--status-address`: nil for the default (``StatusAddress/defaultAddress``, skipped with a
    /// warning when it cannot be bound); an address given must bind or the daemon does not start.
    public var statusAddress: StatusAddress?
    /// `--control-socket`: nil for ``ControlService/defaultPath`` (skipped with a warning when it
    /// cannot be bound), `none` for no control socket; a path given must bind.
    public var controlSocket: String?
    /// `--state-file`: where `vigil ctl`'s overrides are kept across restarts (nil for
    /// ``OverrideStore/defaultPath``, `none` to keep them in memory only).
    public var stateFile: String?
    /// How long a loop may go without turning before `/healthz` answers 503.
    public var stallBound: Duration = .seconds(5)

    public init(configFile: String, configID: String? = nil, halves: Halves = .both, runAll: Bool = false,
                releaseIPVS: Bool = true, reconcileInterval: Duration? = nil,
                pidFiles: [String] = [], dumpConfiguration: Bool = false, stopTimeout: Duration = .seconds(10),
                requireIncludedFiles: Bool = false, errorsToStandardError: Bool = true,
                statusAddress: StatusAddress? = nil, controlSocket: String? = nil, stateFile: String? = nil) {
        self.stateFile = stateFile
        self.errorsToStandardError = errorsToStandardError
        self.controlSocket = controlSocket
        self.requireIncludedFiles = requireIncludedFiles
        self.statusAddress = statusAddress
        self.configFile = configFile
        self.configID = configID
        self.halves = halves
        self.runAll = runAll
        self.releaseIPVS = releaseIPVS
        self.reconcileInterval = reconcileInterval
        self.pidFiles = pidFiles
        self.dumpConfiguration = dumpConfiguration
        self.stopTimeout = stopTimeout
    }
}

/// A daemon that could not start, with every diagnostic; nothing was applied.
public struct DaemonStartError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var diagnostics: [Diagnostic]

    public var description: String { ([message] + diagnostics.map(\.description)).joined(separator: "\n") }
}

/// `vigil`: the checker / LVS half and the VRRP half in one process, as services of one
/// ServiceGroup, with SIGHUP reload, systemd notification and pid files.
public enum Daemon {
    /// Runs until SIGTERM or SIGINT; returns the exit status. Logging must be bootstrapped.
    public static func run(_ options: DaemonOptions, notifier: SystemdNotifier = SystemdNotifier()) async -> Int32 {
        let logger = Logger(label: "vigil")
        let halves: RunningHalves
        do {
            halves = try prepare(options, logger: logger)
        } catch {
            logger.error("\(error)")
            if options.errorsToStandardError { writeStandardError("vigil: \(error)\n") }
            return 1
        }
        let pidFiles = PidFiles(options.pidFiles)
        do {
            try pidFiles.write()
        } catch {
            logger.error("cannot write pid file: \(error)")
            if options.errorsToStandardError { writeStandardError("vigil: cannot write pid file: \(error)\n") }
            return 1
        }
        defer { pidFiles.remove() }

        await halves.fifos.apply(halves.loaded.configuration.global)
        defer { Task { await halves.fifos.close() } }
        let coordinator = ReloadCoordinator(options: options, state: halves.loaded, checker: halves.checker,
                                            vrrp: halves.vrrp, sync: halves.sync, fifos: halves.fifos, notifier: notifier, logger: logger)
        StatusMetrics.bootstrapEvents()
        let status: StatusService?, control: ControlService?
        let statusSources: StatusSources
        do {
            let sources = StatusSources(checker: halves.checker, vrrp: halves.vrrp, coordinator: coordinator,
                                        configFile: options.configFile, ipvs: halves.checker == nil ? nil : try? IPVSClient())
            statusSources = sources
            status = try startStatusServer(options, sources: sources, logger: logger)
            control = try startControlSocket(options, sources: sources, coordinator: coordinator, logger: logger)
        } catch {
            logger.error("\(error)")
            writeStandardError("vigil: \(error)\n")
            return 1
        }
        // keepalived's data, statistics and JSON dump signals must not end the process before
        // they are implemented: their default action is to terminate.
        signal(SIGRTMIN_JSON, SIG_IGN)
        signal(SIGRTMAX_STATS_CLEAR, SIG_IGN)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let checker = halves.checker { services.append(.init(service: checker)) }
        if let vrrp = halves.vrrp {
            services.append(.init(service: vrrp))
            if let sync = halves.sync { services.append(.init(service: ConnectionSyncService(sync: sync, vrrp: vrrp))) }
        }
        services.append(.init(service: SignalService(coordinator: coordinator, dumps: DumpWriter(sources: statusSources, coordinator: coordinator),
                                                     logger: logger)))
        if let status { services.append(.init(service: status)) }
        if let control { services.append(.init(service: control)) }
        // Last, so it is the first told to stop: STOPPING=1 goes out before anything is released.
        services.append(.init(service: ReadinessService(checker: halves.checker, vrrp: halves.vrrp, notifier: notifier,
                                                        summary: halves.summary, logger: logger)))
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = options.stopTimeout
        configuration.maximumCancellationDuration = .seconds(2)
        logger.notice("Starting Vigil (\(halves.summary)) with \(options.configFile)")
        do {
            try await ServiceGroup(configuration: configuration).run()
        } catch {
            await halves.fifos.close()
            logger.error("stopped on error: \(error)")
            if options.errorsToStandardError { writeStandardError("vigil: \(error)\n") }
            return 1
        }
        // After both halves stopped: the STOP lines are in the FIFOs before they close.
        await halves.fifos.close()
        logger.notice("Stopped Vigil")
        return 0
    }

    /// Binds the status server `options` ask for; nil when turned off, or when the default
    /// address cannot be bound (a warning: another Vigil may hold it). Throws when an address
    /// given explicitly cannot be bound.
    static func startStatusServer(_ options: DaemonOptions, sources: StatusSources, logger: Logger) throws -> StatusService? {
        let address = options.statusAddress ?? .defaultAddress
        guard case .listen(let host, let port) = address else { return nil }
        let routes = StatusRoutes(sources: sources, liveness: Liveness(sources: sources, bound: options.stallBound))
        do {
            return try StatusService.bind(host: host, port: port, routes: routes, logger: Logger(label: "vigil.status"))
        } catch {
            if options.statusAddress == nil {
                logger.warning("status server not started: cannot listen on \(address) (\(error)); --status-address sets another address, none turns it off")
                return nil
            }
            throw DaemonStartError(message: "--status-address \(address): cannot listen: \(error)", diagnostics: [])
        }
    }

    /// Binds the control socket `options` ask for; nil when turned off, or when the default path
    /// cannot be bound (a warning). Throws when a path given explicitly cannot be bound.
    static func startControlSocket(_ options: DaemonOptions, sources: StatusSources, coordinator: ReloadCoordinator,
                                   logger: Logger) throws -> ControlService? {
        let path = options.controlSocket ?? ControlService.defaultPath
        guard path != "none" else { return nil }
        do {
            return try ControlService.bind(path: path, commands: ControlCommands(sources: sources, coordinator: coordinator),
                                           logger: Logger(label: "vigil.control"))
        } catch {
            if options.controlSocket == nil {
                logger.warning("control socket not started: cannot listen on \(path) (\(error)); --control-socket sets another path, none turns it off")
                return nil
            }
            throw DaemonStartError(message: "--control-socket \(path): cannot listen: \(error)", diagnostics: [])
        }
    }

    /// The halves a configuration asks for, built but not started.
    struct RunningHalves {
        var loaded: LoadedConfiguration
        var checker: CheckerService?
        var vrrp: VRRPService?
        var sync: ConnectionSync?
        var fifos: NotifyFIFOs
        var summary: String
    }

    /// Loads and validates the whole configuration, then builds each half; throws with every
    /// diagnostic, having started nothing.
    static func prepare(_ options: DaemonOptions, logger: Logger) throws -> RunningHalves {
        let loaded = try LoadedConfiguration.load(options, logger: logger)
        if options.dumpConfiguration, let json = try? loaded.configuration.jsonString() {
            for line in json.split(separator: "\n") { logger.info("config: \(line)") }
        }
        var checker: CheckerService?
        var vrrp: VRRPService?
        var parts: [String] = []
        let runsCheckers = options.halves != .vrrp && !(loaded.plan.virtualServers.isEmpty && !options.runAll && options.halves == .both)
        let runsVRRP = options.halves != .checkers && !loaded.vrrp.instances.isEmpty
        let fifos = NotifyFIFOs(runsVRRP: runsVRRP, runsCheckers: runsCheckers)
        if options.halves != .vrrp {
            if loaded.plan.virtualServers.isEmpty && !options.runAll && options.halves == .both {
                logger.info("no virtual_server configured: the checker half does not run")
            } else {
                var reconcile = ReconcileOptions(flushOnStart: loaded.plan.flushOnStart, releaseOnStop: options.releaseIPVS)
                if let interval = options.reconcileInterval {
                    reconcile.interval = interval
                    reconcile.driftCPUShare = nil
                }
                let stateFile = options.stateFile ?? OverrideStore.defaultPath
                checker = try CheckerDaemon.service(plan: loaded.plan, options: reconcile,
                                                    overrideStore: stateFile == "none" ? nil : OverrideStore(path: stateFile),
                                                    logger: Logger(label: "vigil.checker"), fifoLines: fifos.lvs)
                parts.append("\(loaded.plan.virtualServers.count) virtual servers")
            }
        }
        if options.halves != .checkers {
            if loaded.vrrp.instances.isEmpty && options.halves == .both {
                logger.info("no vrrp_instance configured: the VRRP half does not run")
            } else if loaded.vrrp.instances.isEmpty {
                throw DaemonStartError(message: "\(options.configFile) has no vrrp_instance; nothing to run", diagnostics: [])
            } else {
                let runtime = try VRRPRuntime(settings: loaded.vrrp, addresses: try KernelAddressManager(),
                                              logger: Logger(label: "vigil.vrrp"), fifoLines: fifos.vrrp)
                vrrp = VRRPService(runtime: runtime)
                parts.append("\(loaded.vrrp.instances.count) VRRP instances")
            }
        }
        var sync: ConnectionSync?
        let syncSettings = loaded.configuration.global.lvsSyncDaemon
        if vrrp != nil {
            // Connection sync follows VRRP (keepalived runs it from its VRRP process); it needs
            // IPVS only when configured, so a VRRP-only host without ip_vs still runs.
            if let syncSettings {
                sync = ConnectionSync(plan: ConnectionSyncPlan(syncSettings), ipvs: try IPVSClient(), logger: Logger(label: "vigil.sync"))
                parts.append("connection sync on \(syncSettings.interface) following \(syncSettings.vrrpInstance)")
            } else if let client = try? IPVSClient() {
                sync = ConnectionSync(plan: nil, ipvs: client, logger: Logger(label: "vigil.sync"))
            }
        } else if syncSettings != nil {
            logger.warning("lvs_sync_daemon is run by the VRRP half, which does not run in this process")
        }
        guard checker != nil || vrrp != nil else {
            throw DaemonStartError(message: "\(options.configFile) configures neither a virtual_server nor a vrrp_instance; nothing to run", diagnostics: [])
        }
        return RunningHalves(loaded: loaded, checker: checker, vrrp: vrrp, sync: sync, fifos: fifos, summary: parts.joined(separator: ", "))
    }
}

/// A configuration file loaded, validated and mapped into each half's runtime settings.
struct LoadedConfiguration: Sendable {
    var configuration: KeepalivedConfiguration
    var plan: LVSPlan
    var vrrp: VRRPSettings
    /// The diagnostics that did not stop it (warnings).
    var warnings: [Diagnostic]
    var vrrpWarnings: [String]

    /// Reads `options.configFile`; throws with every error diagnostic, and logs the warnings.
    static func load(_ options: DaemonOptions, logger: Logger) throws -> LoadedConfiguration {
        let result = options.read()
        guard !result.hasErrors, let configuration = result.configuration else {
            throw DaemonStartError(message: "\(options.configFile): configuration has errors; nothing started", diagnostics: result.errors)
        }
        var vrrpWarnings: [String] = []
        let vrrp: VRRPSettings
        do {
            vrrp = try VRRPSettings(configuration: configuration, warnings: &vrrpWarnings)
        } catch {
            throw DaemonStartError(message: "\(options.configFile): \(error)", diagnostics: [])
        }
        for w in result.warnings { logger.warning("\(w)") }
        for w in vrrpWarnings { logger.warning("\(w)") }
        return LoadedConfiguration(configuration: configuration, plan: LVSPlan(configuration: configuration), vrrp: vrrp,
                                   warnings: result.warnings, vrrpWarnings: vrrpWarnings)
    }
}

/// SIGRTMIN+2, keepalived's JSON dump signal (`keepalived --signum=JSON`).
let SIGRTMIN_JSON: Int32 = 36
/// keepalived's STATS_CLEAR signal (`keepalived --signum=STATS_CLEAR`: SIGRTMAX with glibc).
let SIGRTMAX_STATS_CLEAR: Int32 = 63

/// Turns SIGHUP into reloads, one at a time; a signal arriving during a reload starts one more.
struct SignalService: ServiceLifecycle.Service, CustomStringConvertible {
    /// One word: ServiceLifecycle describes every service, and reflection would walk its fields.
    var description: String { "SignalService" }

    let coordinator: ReloadCoordinator
    let dumps: DumpWriter
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup, .sigusr1, .sigusr2)
        // SIGRTMIN+2 and SIGRTMAX have no UnixSignal name: dispatch sources, on the same task.
        let (realtime, continuation) = AsyncStream.makeStream(of: Int32.self)
        let queue = DispatchQueue(label: "vigil.signals")
        let sources = [SIGRTMIN_JSON, SIGRTMAX_STATS_CLEAR].map { number -> DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
        defer {
            sources.forEach { $0.cancel() }
            continuation.finish()
        }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await signal in signals.cancelOnGracefulShutdown() {
                        switch signal {
                        case .sighup: _ = await coordinator.reload(trigger: "SIGHUP")
                        case .sigusr1: await dumps.write(.data)
                        case .sigusr2: await dumps.write(.stats)
                        default: break
                        }
                    }
                }
                group.addTask {
                    for await number in realtime.cancelOnGracefulShutdown() {
                        await dumps.write(number == SIGRTMIN_JSON ? .json : .clearStats)
                    }
                }
                await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            continuation.finish()
        }
    }
}

/// Writes keepalived's dumps when their signals arrive (``KeepalivedDumps``).
struct DumpWriter: Sendable {
    let sources: StatusSources
    let coordinator: ReloadCoordinator
    let logger = Logger(label: "vigil.dump")

    enum Kind { case data, stats, json, clearStats }

    func write(_ kind: Kind) async {
        let view = await sources.vrrpView()
        do {
            switch kind {
            case .data:
                if let view {
                    try KeepalivedDumps.write(Data(KeepalivedDumps.data(view, routerID: await coordinator.runningRouterID).utf8), to: KeepalivedDumps.dataPath)
                }
                if sources.checker != nil {
                    try KeepalivedDumps.write(Data(KeepalivedDumps.checkData(await sources.document()).utf8), to: KeepalivedDumps.checkDataPath)
                }
                logger.info("SIGUSR1: data written to \(view == nil ? "" : KeepalivedDumps.dataPath + " ")\(sources.checker == nil ? "" : KeepalivedDumps.checkDataPath)")
            case .stats, .clearStats:
                guard let view else { return logger.info("statistics dump: the VRRP half does not run here") }
                try KeepalivedDumps.write(Data(KeepalivedDumps.stats(view).utf8), to: KeepalivedDumps.statsPath)
                if kind == .clearStats {
                    await sources.vrrp?.runtime.clearStatistics()
                }
                logger.info("\(kind == .stats ? "SIGUSR2" : "STATS_CLEAR"): statistics written to \(KeepalivedDumps.statsPath)\(kind == .clearStats ? " and cleared" : "")")
            case .json:
                if let view { try KeepalivedDumps.write(try KeepalivedDumps.json(view), to: KeepalivedDumps.jsonPath) }
                if sources.checker != nil {
                    let document = await sources.document()
                    let encoder = StatusDocument.encoder
                    try KeepalivedDumps.write(try encoder.encode(document.virtualServers ?? []), to: KeepalivedDumps.checkJSONPath)
                }
                logger.info("JSON dump written to \(view == nil ? "" : KeepalivedDumps.jsonPath + " ")\(sources.checker == nil ? "" : KeepalivedDumps.checkJSONPath)")
            }
        } catch {
            logger.error("dump not written: \(error)")
        }
    }
}

/// Tells systemd when both halves have started, pings its watchdog, and says when stopping.
struct ReadinessService: ServiceLifecycle.Service, CustomStringConvertible {
    /// One word: ServiceLifecycle describes every service, and reflection would walk its fields.
    var description: String { "ReadinessService" }

    let checker: CheckerService?
    let vrrp: VRRPService?
    let notifier: SystemdNotifier
    let summary: String
    let logger: Logger

    func run() async throws {
        await checker?.started()
        await vrrp?.started()
        guard !Task.isShuttingDownGracefully else { return }
        notifier.ready(status: "running: \(summary)")
        logger.info("started: \(summary)")
        await withGracefulShutdownHandler {
            guard let interval = notifier.watchdogInterval else {
                try? await gracefulShutdown()
                return
            }
            while !Task.isShuttingDownGracefully {
                notifier.watchdog()
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            }
        } onGracefulShutdown: {
            notifier.stopping()
        }
    }
}

extension DaemonOptions {
    /// Reads the configuration file as these options say (`-i`, `-e`).
    func read() -> LoadResult {
        let result = ConfigLoader.load(path: configFile, configID: configID)
        return requireIncludedFiles ? result.requiringIncludedFiles() : result
    }
}
