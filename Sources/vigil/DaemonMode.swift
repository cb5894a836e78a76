#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import VigilDaemon
import VigilSupport

/// `vigil` without `-t`: the daemon, both halves or one (`-C`, `-P`), until SIGTERM or SIGINT.
enum DaemonMode {
    static func run(_ options: VigilOptions) async -> Int32 {
        // A reload asked for before the handler is in place must not end the process (SIGHUP's
        // default action); the signal service traps it once the daemon runs.
        signal(SIGHUP, SIG_IGN)
        if let mask = options.umask {
            umask(mode_t(mask))
        }
        if options.coreDump || options.coreDumpPattern != nil {
            if let problem = ProcessSetup.enableCoreDumps(pattern: options.coreDumpPattern) {
                writeStandardError("vigil: \(problem)\n")
                return 1
            }
        }
        if let namespace = options.namespace {
            let rest = ProcessSetup.removingNamespace(from: Array(CommandLine.arguments.dropFirst()))
            writeStandardError("vigil: \(ProcessSetup.reexecute(inNetworkNamespace: namespace, arguments: rest))\n")
            return 1
        }
        do {
            try DaemonLogging.bootstrap(LogDestinations(
                syslog: !options.noSyslog, facility: options.facility, console: options.logConsole,
                file: options.logFile, detail: options.logDetail))
        } catch {
            writeStandardError("vigil: cannot open the log: \(error)\n")
            return 1
        }
        let halves: DaemonOptions.Halves = options.checkersOnly ? .checkers : options.vrrpOnly ? .vrrp : .both
        return await Daemon.run(DaemonOptions(
            configFile: options.file, configID: options.configID, halves: halves, runAll: options.all,
            releaseIPVS: !options.dontReleaseIPVS, reconcileInterval: options.reconcileInterval.map { .seconds($0) },
            pidFiles: [options.pidFile, options.vrrpPidFile, options.checkersPidFile].compactMap { $0 },
            dumpConfiguration: options.dumpConf, requireIncludedFiles: options.allConfig,
            errorsToStandardError: !options.logConsole, statusAddress: options.statusAddress,
            controlSocket: options.controlSocket, stateFile: options.stateFile))
    }
}
