import ArgumentParser
import VigilDaemon
import VigilSupport

/// `vigil`: keepalived-compatible command line. Each mode lives in its own file and calls into
/// the library targets; this file only parses flags and dispatches.
@main
struct Vigil: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Layer-4 load-balancer controller: IPVS health checking and VRRP, configured by keepalived.conf.",
        discussion: "Also: `vigil doctor [-f FILE] [--json]` checks this host for the configuration (modules, sysctls, capabilities, interfaces, peers, scripts, the status address; see vigil doctor --help); `vigil ctl status|reload|drain|undrain|weight|disable|enable|check|vrrp` steers a running vigil (see vigil ctl --help).",
        subcommands: [Genhash.self]
    )

    @OptionGroup var options: VigilOptions

    /// Routes what ArgumentParser cannot express before the keepalived-style flags are parsed:
    /// `genhash` / `-T` (its own `-p PORT` is not vigil's `-p PIDFILE`), `--signum`, and the
    /// optional arguments of `-g [FILE]` and `-t[=FILE]`.
    static func main() async {
        requireCommandLine("vigil")
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "doctor" {
            DoctorCommand.main(Array(arguments.dropFirst()))
            return
        }
        if arguments.first == "ctl" {
            await Ctl.main(Array(arguments.dropFirst()))
            return
        }
        if let first = arguments.first, ["genhash", "-T", "--genhash"].contains(first) {
            await Genhash.main(Array(arguments.dropFirst()))
            return
        }
        if let request = KeepalivedCommandLine.signumRequest(arguments) {
            guard let number = KeepalivedCommandLine.signalNumber(request) else {
                writeStandardError("Unknown sigfunc \(request)\n")
                Vigil.exit(withError: ExitCode(1))
            }
            writeStandardOutput("\(number)\n")
            return
        }
        if arguments.contains("-v") || arguments.contains("--version") {
            writeStandardOutput("\(vigilVersion)\n")
            return
        }
        if let refusal = KeepalivedCommandLine.refusal(arguments) {
            writeStandardError("vigil: \(refusal)\n")
            Vigil.exit(withError: ExitCode(64))
        }
        arguments = KeepalivedCommandLine.normalise(arguments)
        await Vigil.main(arguments)
    }

    func run() async throws {
        let status: Int32
        if options.configTest {
            status = await ConfigTestMode.run(options)
        } else if options.dumpConfig {
            status = await DumpConfigMode.run(options)
        } else if options.checkersOnly && options.vrrpOnly {
            throw ValidationError("-C and -P exclude each other; give neither to run both halves")
        } else {
            status = await DaemonMode.run(options)
        }
        if status != 0 { throw ExitCode(status) }
    }
}

/// The version `-v` prints.
let vigilVersion = "Vigil 0.6 (keepalived 2.2.7 compatible configuration and command line)"

/// Flags shared by every mode, spelled as keepalived spells them.
struct VigilOptions: ParsableArguments {
    @Option(name: [.customShort("f"), .customLong("use-file")], help: "Configuration file.")
    var file: String = VigilOptions.defaultFile

    /// keepalived's default configuration file, which Vigil reads in its place.
    static let defaultFile = "/etc/keepalived/keepalived.conf"

    @Flag(name: [.customShort("t"), .customLong("config-test")], help: "Check the configuration and exit (0: runnable, 1: errors); -t=FILE writes the report to FILE.")
    var configTest = false

    @Option(name: .customLong("config-test-file"), help: .hidden)
    var configTestFile: String?

    @Flag(name: .customLong("dump-config"), help: "Print the resolved configuration as JSON and exit (not a keepalived option).")
    var dumpConfig = false

    @Flag(name: [.customShort("C"), .customLong("check")], help: "Run only the health-checker / LVS half.")
    var checkersOnly = false

    @Flag(name: [.customShort("P"), .customLong("vrrp")], help: "Run only the VRRP half.")
    var vrrpOnly = false

    @Flag(name: [.customShort("B"), .customLong("no_bfd")], help: "Accepted: Vigil has no BFD subsystem to leave out.")
    var noBFD = false

    @Flag(name: .customLong("all"), help: "Run each half even when the configuration gives it nothing to do.")
    var all = false

    @Flag(name: [.customShort("n"), .customLong("dont-fork")], help: "Stay in the foreground (Vigil never forks; accepted).")
    var dontFork = false

    @Flag(name: [.customShort("R"), .customLong("dont-respawn")], help: "Accepted: Vigil is one process and respawns nothing.")
    var dontRespawn = false

    @Flag(name: [.customShort("l"), .customLong("log-console")], help: "Log to the console (standard error).")
    var logConsole = false

    @Flag(name: [.customShort("D"), .customLong("log-detail")], help: "Detailed logging.")
    var logDetail = false

    @Option(name: [.customShort("S"), .customLong("log-facility")], help: "Syslog facility: 0-7, local0-local7, user or daemon (default).",
            transform: { text in
                guard let f = SyslogFacility(text) else { throw ValidationError("-S \(text): expected 0-7, local0-local7, user or daemon") }
                return f
            })
    var facility: SyslogFacility = .daemon

    @Flag(name: [.customShort("G"), .customLong("no-syslog")], help: "Do not log to syslog.")
    var noSyslog = false

    @Option(name: .customLong("log-file"), help: "-g [FILE]: also log to FILE (default \(KeepalivedCommandLine.defaultLogFile)).")
    var logFile: String?

    @Option(name: [.customShort("u"), .customLong("umask")], help: "umask for files Vigil creates (numeric, e.g. 0022).",
            transform: { text in
                guard let m = UInt32(text.hasPrefix("0") && text.count > 1 ? String(text.dropFirst()) : text, radix: 8), m <= 0o777 else {
                    throw ValidationError("-u \(text): expected an octal umask such as 022")
                }
                return m
            })
    var umask: UInt32?

    @Flag(name: [.customShort("X"), .customLong("release-vips")], help: "Accepted: Vigil always releases the VIPs of an instance a reload stops or changes.")
    var releaseVIPs = false

    @Flag(name: [.customShort("I"), .customLong("dont-release-ipvs")], help: "Leave IPVS entries in place on exit.")
    var dontReleaseIPVS = false

    @Flag(name: [.customShort("d"), .customLong("dump-conf")], help: "Write the resolved configuration to the log at start.")
    var dumpConf = false

    @Option(name: [.customShort("p"), .customLong("pid")], help: "Pid file of the process.")
    var pidFile: String?

    @Option(name: [.customShort("r"), .customLong("vrrp_pid")], help: "VRRP pid file (the same process: Vigil writes its pid there too).")
    var vrrpPidFile: String?

    @Option(name: [.customShort("c"), .customLong("checkers_pid")], help: "Checkers pid file (the same process: Vigil writes its pid there too).")
    var checkersPidFile: String?

    @Option(name: [.customShort("s"), .customLong("namespace")], help: "Run in the network namespace NAME (/run/netns/NAME).")
    var namespace: String?

    @Flag(name: [.customShort("m"), .customLong("core-dump")], help: "Allow a core dump if Vigil terminates abnormally.")
    var coreDump = false

    @Option(name: [.customShort("M"), .customLong("core-dump-pattern")], help: "Also set /proc/sys/kernel/core_pattern.")
    var coreDumpPattern: String?

    @Flag(name: [.customShort("e"), .customLong("all-config")], help: "An include that matches no file is an error.")
    var allConfig = false

    @Option(name: [.customShort("i"), .customLong("config-id")], help: "Config id selecting `@id` lines (default: short host name).")
    var configID: String?

    @Option(name: .customLong("reconcile-interval"),
            help: "Seconds between re-reads of the kernel's IPVS table to repair drift (0.1 to 86400; not a keepalived option). Without it: every 5 s, or less often when a re-read would take over 1% of a CPU.")
    var reconcileInterval: Double?

    @Option(name: .customLong("status-address"),
            help: "Status server (read-only HTTP: /status, /metrics, /healthz, /readyz, /): HOST:PORT, [IPv6]:PORT or none (default 127.0.0.1:9901; not a keepalived option).",
            transform: { text in
                do throws(StatusAddressError) { return try StatusAddress(parsing: text) } catch { throw ValidationError(error.description) }
            })
    var statusAddress: StatusAddress?

    @Option(name: .customLong("control-socket"),
            help: "Control socket for `vigil ctl` (root-only Unix socket): PATH or none (default \(ControlService.defaultPath); not a keepalived option).")
    var controlSocket: String?

    @Option(name: .customLong("state-file"),
            help: "Where `vigil ctl`'s overrides (drain, weight, disable) are kept so that a restart keeps them: PATH or none (default \(OverrideStore.defaultPath); not a keepalived option).")
    var stateFile: String?

    func validate() throws {
        if let reconcileInterval, !(reconcileInterval.isFinite && (0.1...86_400).contains(reconcileInterval)) {
            throw ValidationError("--reconcile-interval \(reconcileInterval): expected seconds from 0.1 to 86400")
        }
    }
}
