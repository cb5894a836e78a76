import IPVS
import VigilSupport

/// A rule file or command line that is not valid ipvsadm syntax: where, which token, what was expected.
public struct RuleSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Machine-readable kind of the mistake.
    public enum Code: String, Sendable, Hashable {
        case unknownOption, missingValue, invalidValue, missingOption, illegalOption
        case conflictingOptions, multipleCommands, missingCommand, unexpectedArgument
    }

    public var code: Code
    /// File name as given (`-` or `<stdin>` for standard input, empty for the command line).
    public var file: String
    /// 1-based line number (0 for the command line).
    public var line: Int
    /// The offending token, when there is one.
    public var token: String?
    public var message: String

    public init(code: Code, file: String = "", line: Int = 0, token: String? = nil, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.token = token
        self.message = message
    }

    /// `FILE:LINE: error: MESSAGE`, or `error: MESSAGE` for the command line.
    public var description: String {
        line > 0 ? "\(file):\(line): error: \(message)" : "error: \(message)"
    }
}

/// One parsed rule: what to do and where it came from.
public struct Rule: Sendable, Hashable {
    public var operation: IPVSOperation
    /// 1-based line in its file (0 for the command line).
    public var line: Int
    /// The rule as written (trimmed), for error messages.
    public var text: String

    public init(operation: IPVSOperation, line: Int, text: String) {
        self.operation = operation
        self.line = line
        self.text = text
    }
}

/// The command a rule line or an `ipvsctl` subcommand performs (ipvsadm's `-A/-E/-D/-a/-e/-d/-C/-Z/--set/...`).
public enum RuleVerb: String, Sendable, Hashable, CaseIterable {
    case addService = "add-service"
    case editService = "edit-service"
    case deleteService = "delete-service"
    case addServer = "add-server"
    case editServer = "edit-server"
    case deleteServer = "delete-server"
    case clear
    case zero
    case setTimeouts = "set"
    case startDaemon = "start-daemon"
    case stopDaemon = "stop-daemon"
}

/// ipvsadm's rule grammar: options, their values, which go with which command.
public enum RuleSyntax {
    /// Scheduler modules the Linux kernel provides (`ip_vs_<name>`).
    public static let schedulers = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"]
    /// Persistence engines the Linux kernel provides (`ip_vs_pe_<name>`).
    public static let persistenceEngines = ["sip"]
    /// ipvsadm's default persistence timeout (`IPVS_SVC_PERSISTENT_TIMEOUT`, 6 minutes), seconds.
    public static let defaultPersistence: UInt32 = 360
    /// ipvsadm's longest timeout: 31 days (`MAX_TIMEOUT`).
    public static let maxTimeout = 86400 * 31

    /// The ipvsadm option naming a service of this protocol in rule files.
    public static func serviceOption(_ p: IPVSProtocol) -> String {
        switch p {
        case .tcp: "-t"
        case .udp: "-u"
        case .sctp: "--sctp-service"
        }
    }

    enum Arity { case none, required, optional }

    /// Option identity (ipvsadm's long option name).
    ///
    /// Hashed by case, not by name: rule parsing looks options up in sets and dictionaries
    /// several times per line, and hashing the raw-value string dominated parsing time.
    enum Opt: String, CaseIterable, Hashable {
        case addService = "add-service", editService = "edit-service", deleteService = "delete-service"
        case clear, zero, addServer = "add-server", editServer = "edit-server", deleteServer = "delete-server"
        case set, startDaemon = "start-daemon", stopDaemon = "stop-daemon"
        case list, save, restore, help, version
        case tcpService = "tcp-service", udpService = "udp-service", sctpService = "sctp-service"
        case fwmarkService = "fwmark-service", ipv6
        case scheduler, persistent, netmask, ops, pe, schedFlags = "sched-flags"
        case realServer = "real-server", gatewaying, ipip, masquerading, weight
        case uThreshold = "u-threshold", lThreshold = "l-threshold"
        case tunType = "tun-type", tunPort = "tun-port", tunNocsum = "tun-nocsum", tunCsum = "tun-csum"
        case tunRemcsum = "tun-remcsum"
        case mcastInterface = "mcast-interface", syncid, mcastGroup = "mcast-group", mcastPort = "mcast-port"
        case mcastTTL = "mcast-ttl", syncMaxlen = "sync-maxlen"
        case numeric, connection, timeout, daemon, stats, rate, thresholds, persistentConn = "persistent-conn"
        case exact, nosort, sort, tunInfo = "tun-info"

        var short: Character? {
            switch self {
            case .addService: "A"
            case .editService: "E"
            case .deleteService: "D"
            case .clear: "C"
            case .zero: "Z"
            case .addServer: "a"
            case .editServer: "e"
            case .deleteServer: "d"
            case .list: "L"
            case .save: "S"
            case .restore: "R"
            case .help: "h"
            case .version: "v"
            case .tcpService: "t"
            case .udpService: "u"
            case .fwmarkService: "f"
            case .ipv6: "6"
            case .scheduler: "s"
            case .persistent: "p"
            case .netmask: "M"
            case .ops: "o"
            case .schedFlags: "b"
            case .realServer: "r"
            case .gatewaying: "g"
            case .ipip: "i"
            case .masquerading: "m"
            case .weight: "w"
            case .uThreshold: "x"
            case .lThreshold: "y"
            case .numeric: "n"
            case .connection: "c"
            case .exact: "X"
            default: nil
            }
        }

        var arity: Arity {
            switch self {
            case .startDaemon, .stopDaemon, .tcpService, .udpService, .sctpService, .fwmarkService,
                 .scheduler, .netmask, .pe, .schedFlags, .realServer, .weight, .uThreshold, .lThreshold,
                 .tunType, .tunPort, .mcastInterface, .syncid, .mcastGroup, .mcastPort, .mcastTTL, .syncMaxlen:
                .required
            case .persistent:
                .optional
            default:
                .none
            }
        }

        var verb: RuleVerb? {
            switch self {
            case .addService: .addService
            case .editService: .editService
            case .deleteService: .deleteService
            case .addServer: .addServer
            case .editServer: .editServer
            case .deleteServer: .deleteServer
            case .clear: .clear
            case .zero: .zero
            case .set: .setTimeouts
            case .startDaemon: .startDaemon
            case .stopDaemon: .stopDaemon
            default: nil
            }
        }

        static func == (a: Opt, b: Opt) -> Bool { a.caseIndex == b.caseIndex }
        func hash(into hasher: inout Hasher) { hasher.combine(caseIndex) }

        /// The enum's stored discriminator (a payload-less enum of fewer than 256 cases is one byte).
        private var caseIndex: UInt8 { unsafeBitCast(self, to: UInt8.self) }

        /// How the option is usually written, for messages: `-s`, `--pe`.
        var spelling: String { short.map { "-\($0)" } ?? "--\(rawValue)" }

        /// Short names; `-l` is ipvsadm's second spelling of `-L`.
        static let byShort: [Character: Opt] = Dictionary(
            uniqueKeysWithValues: allCases.compactMap { o in o.short.map { ($0, o) } } + [("l", .list)])
        static let byLong: [String: Opt] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })
    }
}
