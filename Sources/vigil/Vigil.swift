import ArgumentParser

/// `vigil`: keepalived-compatible command line. Each mode lives in its own file and calls into
/// the library targets; this file only parses flags and dispatches.
@main
struct Vigil: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Layer-4 load-balancer controller: IPVS health checking and VRRP, configured by keepalived.conf.",
        subcommands: [Genhash.self]
    )

    @OptionGroup var options: VigilOptions

    /// Routes `genhash` before the keepalived-style flags are parsed, so its own short options
    /// (`-p PORT`, as in keepalived's genhash) are not taken by vigil's `-p PIDFILE`.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "genhash" {
            await Genhash.main(Array(arguments.dropFirst()))
        } else {
            await Vigil.main(arguments)
        }
    }

    func run() async throws {
        let status: Int32
        if options.configTest {
            status = await ConfigTestMode.run(options)
        } else if options.dumpConfig {
            status = await DumpConfigMode.run(options)
        } else if options.checkersOnly && options.vrrpOnly {
            throw ValidationError("-C and -P exclude each other; give neither to run both halves")
        } else if options.checkersOnly {
            status = await CheckerMode.run(options)
        } else if options.vrrpOnly {
            status = await VRRPMode.run(options)
        } else {
            status = await FullDaemonMode.run(options)
        }
        if status != 0 { throw ExitCode(status) }
    }
}

/// Flags shared by every mode, spelled as keepalived spells them.
struct VigilOptions: ParsableArguments {
    @Option(name: [.customShort("f"), .customLong("use-file")], help: "Configuration file.")
    var file: String = "/etc/keepalived/keepalived.conf"

    @Flag(name: [.customShort("t"), .customLong("config-test")], help: "Check the configuration and exit (0: runnable, 1: errors).")
    var configTest = false

    @Flag(name: .customLong("dump-config"), help: "Print the resolved configuration as JSON and exit.")
    var dumpConfig = false

    @Flag(name: [.customShort("C"), .customLong("check")], help: "Run only the health-checker / LVS half.")
    var checkersOnly = false

    @Flag(name: [.customShort("P"), .customLong("vrrp")], help: "Run only the VRRP half.")
    var vrrpOnly = false

    @Flag(name: [.customShort("n"), .customLong("dont-fork")], help: "Stay in the foreground (Vigil never forks; accepted for keepalived compatibility).")
    var dontFork = false

    @Flag(name: [.customShort("l"), .customLong("log-console")], help: "Log to the console.")
    var logConsole = false

    @Flag(name: [.customShort("D"), .customLong("log-detail")], help: "Detailed logging.")
    var logDetail = false

    @Option(name: [.customShort("i"), .customLong("config-id")], help: "Config id selecting `@id` lines (default: short host name).")
    var configID: String?

    @Flag(name: [.customShort("I"), .customLong("dont-release-ipvs")], help: "Leave IPVS entries in place on exit.")
    var dontReleaseIPVS = false

    @Option(name: .customLong("reconcile-interval"),
            help: "Seconds between re-reads of the kernel's IPVS table to repair drift (0.1 to 86400; not a keepalived option). Without it: every 5 s, or less often when a re-read would take over 1% of a CPU.")
    var reconcileInterval: Double?

    @Option(name: [.customShort("p"), .customLong("pid")], help: "Main pid file.")
    var pidFile: String?

    @Option(name: [.customShort("r"), .customLong("vrrp_pid")], help: "VRRP pid file.")
    var vrrpPidFile: String?

    @Option(name: [.customShort("c"), .customLong("checkers_pid")], help: "Checkers pid file.")
    var checkersPidFile: String?

    func validate() throws {
        if let reconcileInterval, !(reconcileInterval.isFinite && (0.1...86_400).contains(reconcileInterval)) {
            throw ValidationError("--reconcile-interval \(reconcileInterval): expected seconds from 0.1 to 86400")
        }
    }
}
