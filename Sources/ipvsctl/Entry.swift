#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import IPVS
import IPVSAdm
import VigilSupport

/// Chooses the command line: ipvsadm's when invoked as `ipvsadm` (a symlink) or as
/// `ipvsctl adm ARGS…`, ipvsctl's own otherwise.
@main
enum Entry {
    static func main() async {
        requireCommandLine("ipvsctl")
        let argv = CommandLine.arguments
        let argv0 = argv.first ?? "ipvsadm"
        if argv0.split(separator: "/").last == "ipvsadm" {
            exit(await runIPVSAdm(program: argv0, Array(argv.dropFirst())))
        }
        if argv.count > 1 && argv[1] == "adm" {
            exit(await runIPVSAdm(program: "\(argv0) adm", Array(argv.dropFirst(2))))
        }
        await IPVSCtl.main()
    }

    static func runIPVSAdm(program: String, _ arguments: [String]) async -> Int32 {
        guard let ipvs = (try? IPVSClient()) ?? (loadIPVSModule() ? try? IPVSClient() : nil) else {
            writeStandardError(IPVSAdmDropIn.notAvailableMessage)
            return 2
        }
        return await IPVSAdmDropIn(program: program, ipvs: ipvs, terminal: ProcessTerminal()).run(arguments)
    }

    /// Runs `/sbin/modprobe -- ip_vs`, as ipvsadm does when IPVS is missing; true when it succeeds.
    static func loadIPVSModule() -> Bool {
        var pid: pid_t = 0
        let args = ["/sbin/modprobe", "--", "ip_vs"]
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        guard posix_spawn(&pid, args[0], nil, nil, &cargs, environ) == 0 else { return false }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return status & 0x7F == 0 && (status >> 8) & 0xFF == 0
    }
}

/// The process's standard streams.
final class ProcessTerminal: IPVSAdmTerminal {
    func write(_ text: String) { if !text.isEmpty { writeStandardOutput(text) } }
    func writeError(_ text: String) { if !text.isEmpty { writeStandardError(text) } }
    func readLine() -> String? { Swift.readLine(strippingNewline: false) }
}
