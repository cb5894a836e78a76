import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import IPVS
import IPVSAdm
import VigilSupport

struct IPVSCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipvsctl",
        abstract: "Inspect and edit the kernel's IPVS tables (ipvsadm-compatible).",
        discussion: """
            Listings and rule files match ipvsadm 1.31 byte for byte. Invoked as `ipvsadm` (a symlink) \
            or as `ipvsctl adm ARGS...`, it takes ipvsadm's own command line. See Docs/ipvsctl.md.
            """,
        subcommands: [
            List.self, Save.self, Restore.self,
            ServiceCommand.Add.self, ServiceCommand.Edit.self, ServiceCommand.Delete.self,
            ServerCommand.Add.self, ServerCommand.Edit.self, ServerCommand.Delete.self,
            Flush.self, Zero.self, Timeout.self, Daemon.self, Info.self, Watch.self,
        ],
        defaultSubcommand: List.self
    )
}

/// Exit statuses: 0 success, 1 runtime/kernel failure, 2 bad input.
enum Exit {
    static let failure: Int32 = 1
    static let badInput: Int32 = 2
}

/// Prints a one-line message on stderr and exits with `code`.
func die(_ message: String, code: Int32 = Exit.failure) -> ExitCode {
    writeStandardError("ipvsctl: \(message)\n")
    return ExitCode(code)
}

/// Writes `bytes` to standard output with as few `write(2)` calls as it takes (one, normally).
func writeOutput(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            guard let n = try? systemCall("write", { write(1, raw.baseAddress! + offset, raw.count - offset) }), n > 0
            else { return }
            offset += n
        }
    }
}

/// Runs a command body, turning every error into a one-line message and a non-zero exit.
func guarded(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let e as RuleSyntaxError {
        throw die(e.description.hasPrefix("error: ") ? String(e.description.dropFirst(7)) : e.description, code: Exit.badInput)
    } catch let e as RestoreError {
        throw die(e.description)
    } catch let e as IPVSError {
        throw die(e.description)
    } catch let e as ExitCode {
        throw e
    } catch let e as CleanExit {
        throw e
    } catch {
        throw die("\(error)")
    }
}

/// `-t/-u/--sctp-service/-f [-6]`: the service a command is about, written as in ipvsadm.
struct ServiceOptions: ParsableArguments {
    @Option(name: [.customShort("t"), .customLong("tcp-service")], help: "TCP service ADDRESS[:PORT].")
    var tcp: String?
    @Option(name: [.customShort("u"), .customLong("udp-service")], help: "UDP service ADDRESS[:PORT].")
    var udp: String?
    @Option(name: .customLong("sctp-service"), help: "SCTP service ADDRESS[:PORT].")
    var sctp: String?
    @Option(name: [.customShort("f"), .customLong("fwmark-service")], help: "Firewall-mark service.")
    var fwmark: String?
    @Flag(name: [.customShort("6"), .customLong("ipv6")], help: "The firewall-mark service is IPv6.")
    var ipv6 = false

    /// The options as ipvsadm arguments, for the shared rule parser.
    var arguments: [String] {
        var a: [String] = []
        if let tcp { a += ["-t", tcp] }
        if let udp { a += ["-u", udp] }
        if let sctp { a += ["--sctp-service", sctp] }
        if let fwmark { a += ["-f", fwmark] }
        if ipv6 { a.append("-6") }
        return a
    }

    var given: Bool { tcp != nil || udp != nil || sctp != nil || fwmark != nil }

    /// The service key, parsed with the same rules (and messages) as rule files.
    func key() throws -> ServiceKey? {
        guard given else {
            if ipv6 { throw RuleSyntaxError(code: .missingOption, message: "-6 needs a firewall-mark service (-f MARK)") }
            return nil
        }
        guard case IPVSOperation.deleteService(let k) = try RuleParser.parse(arguments: arguments, verb: .deleteService) else {
            return nil
        }
        return k
    }
}
