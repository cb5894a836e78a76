#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import IPVS
import VigilSupport

/// Where the drop-in `ipvsadm` reads and writes: the process's streams, or buffers in tests.
public protocol IPVSAdmTerminal: AnyObject {
    func write(_ text: String)
    func writeError(_ text: String)
    /// The next line of standard input with its newline (none on a last, unterminated line), or nil at the end.
    func readLine() -> String?
}

/// `ipvsctl` as a drop-in `ipvsadm` 1.31: the same command line, output, messages and exit
/// statuses (see Docs/ipvsctl.md).
public struct IPVSAdmDropIn {
    /// The name "Try `… -h'" and the usage text print (ipvsadm prints its `argv[0]`).
    public var program: String
    public var ipvs: any IPVSControlling
    public var terminal: any IPVSAdmTerminal

    /// The `/proc/net/ip_vs_conn` text, or nil when it cannot be opened.
    public var connectionTable: () -> String? = { ConnectionTable.readProc() }

    public init(program: String, ipvs: any IPVSControlling, terminal: any IPVSAdmTerminal) {
        self.program = program
        self.ipvs = ipvs
        self.terminal = terminal
    }

    /// ipvsadm's message when the kernel has no IPVS (after its `modprobe ip_vs` attempt); status 2.
    public static let notAvailableMessage = "Can't initialize ipvs: Protocol not available\n"
        + "Are you sure that IP Virtual Server is built in the kernel or as module?\n"

    /// Runs one ipvsadm command line (without the program name) and returns the exit status.
    public func run(_ arguments: [String]) async -> Int32 {
        do {
            if arguments.isEmpty {
                try await listAll([])
                return 0
            }
            return try await process(arguments, readingStandardInput: false)
        } catch {
            terminal.writeError(error.message)
            return error.status
        }
    }

    /// ipvsadm's `process_options`: parse and check one line, then list or change the table.
    /// Returns the status for this line; throws when ipvsadm would exit on the spot.
    func process(_ arguments: [String], readingStandardInput: Bool) async throws(IPVSAdmExit) -> Int32 {
        let request: IPVSAdmRequest
        do {
            request = try RuleParser.ipvsadm(arguments: arguments, program: program)
        } catch where !error.immediate {
            terminal.writeError(error.message)
            return error.status
        }
        switch request.action {
        case .help:
            terminal.write(Self.usage(program))
            throw IPVSAdmExit(message: "", status: 0)
        case .version:
            terminal.write(Self.version + "\n")
            throw IPVSAdmExit(message: "", status: 0)
        case .command(let command):
            switch command {
            case .list:
                if request.has(.connection) {
                    try listConnections(request.format)
                } else if let key = request.serviceKey {
                    try await listService(key, request.format)
                } else if request.has(.timeout) {
                    guard let t = try? await ipvs.timeouts() else { throw IPVSAdmExit(message: "", status: 1) }
                    terminal.write(IPVSAdmPrinter.timeouts(t))
                } else if request.has(.daemon) {
                    guard let d = try? await ipvs.daemons() else { throw IPVSAdmExit(message: "", status: 1) }
                    terminal.write(IPVSAdmPrinter.daemons(d))
                } else {
                    try await listAll(request.format)
                }
                return 0
            case .save:
                try await listAll(request.format.union(.rule))
                return 0
            case .restore:
                if readingStandardInput { throw .tryHelp(program) }
                return try await restore()
            default:
                guard let op = request.operation else { return 0 }
                do {
                    try await ipvs.apply([op])
                    return 0
                } catch {
                    terminal.writeError(Self.message(for: error, in: command) + "\n")
                    return 255
                }
            }
        }
    }

    /// `-R`: each line of standard input as a command line (ipvsadm's `config_stream_read`: tokens
    /// split at blanks, the word `ipvsadm` dropped, no comments). The status is the last line's.
    func restore() async throws(IPVSAdmExit) -> Int32 {
        var result: Int32 = 0
        while let line = terminal.readLine() {
            guard let tokens = Self.restoreTokens(line) else { continue }
            if tokens.isEmpty { continue }
            result = try await process(tokens, readingStandardInput: true)
        }
        return result
    }

    /// The words `config_stream_read` makes of one input line; nil when it drops the line (an
    /// unterminated last line that ends in two or more blanks).
    static func restoreTokens(_ line: String) -> [String]? {
        let blanks: Set<UInt8> = [32, 9, 13, 10]
        let bytes = Array(line.utf8)
        if bytes.last != 10, bytes.count >= 2, blanks.contains(bytes[bytes.count - 1]), blanks.contains(bytes[bytes.count - 2]) {
            return nil
        }
        return bytes.split(whereSeparator: { blanks.contains($0) })
            .map { String(decoding: $0, as: UTF8.self) }
            .filter { $0 != "ipvsadm" }
    }

    // MARK: Listings

    func printer(_ format: IPVSAdmRequest.Format) -> IPVSAdmPrinter {
        IPVSAdmPrinter(names: format.contains(.numeric) ? NumericNames() : SystemNames())
    }

    func listingOptions(_ format: IPVSAdmRequest.Format) -> ListingOptions {
        ListingOptions(
            columns: ListingOptions.columns(stats: format.contains(.stats), rate: format.contains(.rate),
                                            thresholds: format.contains(.thresholds),
                                            persistentConnections: format.contains(.persistentConn),
                                            tunnelInfo: format.contains(.tunInfo)),
            exact: format.contains(.exact), sorted: !format.contains(.nosort))
    }

    /// `list_all`: the whole table (`-L`), or its rules (`-S`).
    func listAll(_ format: IPVSAdmRequest.Format) async throws(IPVSAdmExit) {
        do {
            let table = try await ipvs.table()
            if format.contains(.rule) {
                terminal.write(printer(format).rules(table: table, sorted: !format.contains(.nosort)))
            } else {
                let info = try await ipvs.info()
                terminal.write(printer(format).listing(info: info, table: table, options: listingOptions(format)))
            }
        } catch {
            throw IPVSAdmExit(message: Self.message(for: error, in: .list) + "\n", status: 1)
        }
    }

    /// `list_service`: `-L` with a service.
    func listService(_ key: ServiceKey, _ format: IPVSAdmRequest.Format) async throws(IPVSAdmExit) {
        do {
            let entry = try await ipvs.entry(for: key)
            terminal.write(printer(format).listing(entry: entry, options: listingOptions(format)))
        } catch {
            throw IPVSAdmExit(message: Self.message(for: error, in: .list) + "\n", status: 1)
        }
    }

    /// `list_conn`: `-L -c`.
    func listConnections(_ format: IPVSAdmRequest.Format) throws(IPVSAdmExit) {
        guard let text = connectionTable() else {
            throw IPVSAdmExit(message: "cannot open file \(ConnectionTable.procPath)\n", status: 1)
        }
        guard !text.isEmpty else {
            throw IPVSAdmExit(message: "unexpected input from \(ConnectionTable.procPath)\n", status: 1)
        }
        let names: any NameResolving = format.contains(.numeric) ? NumericNames() : SystemNames()
        terminal.write(ConnectionTable.render(text, persistent: format.contains(.persistentConn), names: names))
    }

    // MARK: Messages

    /// ipvsadm's `ipvs_strerror` for a failed request: libipvs's text for the errno and the call
    /// that failed, else the C library's `strerror`.
    static func message(for error: any Error, in command: IPVSAdmCommand) -> String {
        guard let e = error as? IPVSError else { return "\(error)" }
        guard let code = e.errno else {
            return e.code == .notAvailable ? "Protocol not available" : e.description
        }
        let specific: [Int32: String]
        switch command {
        case .add: specific = [EEXIST: "Service already exists", ENOENT: "Scheduler or persistence engine not found"]
        case .edit: specific = [ESRCH: "No such service", ENOENT: "Scheduler or persistence engine not found"]
        case .delete, .zero, .list: specific = [ESRCH: "No such service"]
        case .addServer: specific = [ESRCH: "Service not defined", EEXIST: "Destination already exists"]
        case .editServer, .deleteServer: specific = [ESRCH: "Service not defined", ENOENT: "No such destination"]
        case .startDaemon: specific = [EEXIST: "Daemon has already run"]
        case .stopDaemon: specific = [ESRCH: "No daemon is running"]
        default: specific = [:]
        }
        if let m = specific[code] { return m }
        let generic: [Int32: String] = [
            EPERM: "Permission denied (you must be root)",
            EINVAL: "Invalid operation.  Possibly wrong module version, address not unicast, ...",
            ENOPROTOOPT: "Protocol not available",
            ENOMEM: "Memory allocation problem",
            EOPNOTSUPP: "Operation not supported with IPv6",
            EAFNOSUPPORT: "Operation not supported with specified address family",
            EMSGSIZE: "Module is wrong version",
        ]
        return generic[code] ?? String(cString: strerror(code))
    }

    /// `ipvsadm -v`.
    public static let version = "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)"

    /// `ipvsadm -h`, for the given program name.
    public static func usage(_ p: String) -> String {
        version + "\n" + """
            Usage:
              \(p) -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]
              \(p) -D virtual-service
              \(p) -C
              \(p) -R
              \(p) -S [-n]
              \(p) -a|e virtual-service -r server-address [options]
              \(p) -d virtual-service -r server-address
              \(p) -L|l [virtual-service] [options]
              \(p) -Z [virtual-service]
              \(p) --set tcp tcpfin udp
              \(p) --start-daemon {master|backup} [daemon-options]
              \(p) --stop-daemon {master|backup}
              \(p) -h

            Commands:
            Either long or short options are allowed.
              --add-service     -A        add virtual service with options
              --edit-service    -E        edit virtual service with options
              --delete-service  -D        delete virtual service
              --clear           -C        clear the whole table
              --restore         -R        restore rules from stdin
              --save            -S        save rules to stdout
              --add-server      -a        add real server with options
              --edit-server     -e        edit real server with options
              --delete-server   -d        delete real server
              --list            -L|-l     list the table
              --zero            -Z        zero counters in a service or all services
              --set tcp tcpfin udp        set connection timeout values
              --start-daemon              start connection sync daemon
              --stop-daemon               stop connection sync daemon
              --help            -h        display this help message

            virtual-service:
              --tcp-service|-t  service-address   service-address is host[:port]
              --udp-service|-u  service-address   service-address is host[:port]
              --sctp-service    service-address   service-address is host[:port]
              --fwmark-service|-f fwmark          fwmark is an integer greater than zero

            Options:
              --ipv6         -6                   fwmark entry uses IPv6
              --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh,
                                                  the default scheduler is wlc.
              --pe            engine              alternate persistence engine may be sip,
                                                  not set by default.
              --persistent   -p [timeout]         persistent service
              --netmask      -M netmask           persistent granularity mask
              --real-server  -r server-address    server-address is host (and port)
              --gatewaying   -g                   gatewaying (direct routing) (default)
              --ipip         -i                   ipip encapsulation (tunneling)
              --masquerading -m                   masquerading (NAT)
              --tun-type      type                one of ipip|gue|gre,
                                                  the default tunnel type is ipip.
              --tun-port      port                tunnel destination port
              --tun-nocsum                        tunnel encapsulation without checksum
              --tun-csum                          tunnel encapsulation with checksum
              --tun-remcsum                       tunnel encapsulation with remote checksum
              --weight       -w weight            capacity of real server
              --u-threshold  -x uthreshold        upper threshold of connections
              --l-threshold  -y lthreshold        lower threshold of connections
              --connection   -c                   output of current IPVS connections
              --timeout                           output of timeout (tcp tcpfin udp)
              --daemon                            output of daemon information
              --stats                             output of statistics information
              --rate                              output of rate information
              --exact                             expand numbers (display exact values)
              --thresholds                        output of thresholds information
              --persistent-conn                   output of persistent connection info
              --tun-info                          output of tunnel information
              --nosort                            disable sorting output of service/server entries
              --sort                              does nothing, for backwards compatibility
              --ops          -o                   one-packet scheduling
              --numeric      -n                   numeric output of addresses and ports
              --sched-flags  -b flags             scheduler flags (comma-separated)
            Daemon Options:
              --syncid sid                        syncid for connection sync (default=255)
              --sync-maxlen length                Max sync message length (default=1472)
              --mcast-interface interface         multicast interface for connection sync
              --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)
              --mcast-port port                   UDP port (default=8848)
              --mcast-ttl ttl                     Multicast TTL (default=1)

            """
    }
}

extension ConnectionTable {
    /// The text of `/proc/net/ip_vs_conn`, or nil when it cannot be opened.
    public static func readProc() -> String? {
        guard let f = fopen(procPath, "r") else { return nil }
        defer { fclose(f) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            data += chunk[0..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }
}
