import ArgumentParser
import VigilDaemon
import VigilDoctor
import VigilSupport

/// `vigil doctor`: checks this host against the configuration and prints each finding with its fix.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil doctor",
        abstract: "Check that this host can run the configuration: IPVS and scheduler modules, sysctls, capabilities, interfaces, VRRP peers, scripts, the status address.",
        discussion: "Each finding is printed as ok, warning or error with the command that fixes it. Exit status 1 when an error would stop Vigil (or part of the configuration) from working, 0 otherwise. Docs/doctor.md lists every finding.")

    @Option(name: [.customShort("f"), .customLong("use-file")], help: "Configuration file.")
    var file: String = VigilOptions.defaultFile

    @Option(name: [.customShort("i"), .customLong("config-id")], help: "Config id selecting `@id` lines (default: short host name).")
    var configID: String?

    @Option(name: .customLong("status-address"), help: "The status address vigil will be started with (default 127.0.0.1:9901; none: not checked).",
            transform: { text in
                do throws(StatusAddressError) { return try StatusAddress(parsing: text) } catch { throw ValidationError(error.description) }
            })
    var statusAddress: StatusAddress = .defaultAddress

    @Flag(name: .customLong("snat"), help: "IPVS traffic is source-NATed by netfilter here (checks net.ipv4.vs.conntrack).")
    var snat = false

    @Flag(name: .customLong("no-listen"), help: "Do not listen about one advert interval per VRRP interface for other routers on the same VRID.")
    var noListen = false

    @Flag(name: .customLong("json"), help: "Print one JSON object (Docs/doctor.md) instead of text.")
    var json = false

    func run() throws {
        let address: (host: String, port: Int)? = switch statusAddress {
        case .off: nil
        case .listen(let host, let port): (host, port)
        }
        let report = Doctor.examine(path: file, configID: configID, host: LiveHost(),
                                    options: DoctorOptions(statusAddress: address, usesSNAT: snat, listensForPeers: !noListen))
        writeStandardOutput(json ? report.json + "\n" : report.text)
        if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
    }
}
