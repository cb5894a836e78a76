#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import IPVS
import VigilSupport

/// ipvsadm 1.31's commands (`CMD_*` in ipvsadm.c), in its order; `name` is what its messages call them.
public enum IPVSAdmCommand: Int, Sendable, CaseIterable {
    case add, edit, delete, flush, list, addServer, deleteServer, editServer, setTimeouts
    case startDaemon, stopDaemon, restore, save, zero

    /// ipvsadm's `cmdnames[]`.
    public var name: String {
        ["add-service", "edit-service", "delete-service", "flush", "list", "add-server", "delete-server",
         "edit-server", "set", "start-daemon", "stop-daemon", "restore", "save", "zero"][rawValue]
    }

    /// The option that names each command.
    static let byOption: [RuleSyntax.Opt: IPVSAdmCommand] = [
        .addService: .add, .editService: .edit, .deleteService: .delete, .clear: .flush, .list: .list,
        .addServer: .addServer, .deleteServer: .deleteServer, .editServer: .editServer, .set: .setTimeouts,
        .startDaemon: .startDaemon, .stopDaemon: .stopDaemon, .restore: .restore, .save: .save, .zero: .zero,
    ]

    /// The command's row of ipvsadm's `commands_v_options` table, one character per ``IPVSAdmOption``
    /// (see `IPVSAdmRequest.checkTable`).
    var allowed: String {
        switch self {
        case .add, .edit: "xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx"
        case .delete: "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        case .list: " 11xxxxxxxxx11       xxxxxxx xxxxx"
        case .addServer, .editServer: "xx+xxx+    xxxxxxxxxxxxxxxxxx     "
        case .deleteServer: "xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx"
        case .startDaemon: "xxxxxxxxxxx xxxxxxx xxxx    xxxxxx"
        case .stopDaemon: "xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxx"
        case .save: " xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        case .zero: "xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        case .flush, .setTimeouts, .restore: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        }
    }
}

/// ipvsadm 1.31's option classes (`OPTC_*`), in its order; `name` is what its messages call them.
public enum IPVSAdmOption: Int, Sendable, CaseIterable {
    case numeric, connection, service, scheduler, persistent, netmask, server, forward, weight
    case uThreshold, lThreshold, mcast, timeout, daemon, stats, rate, thresholds, persistentConn
    case nosort, syncid, exact, ops, pe, schedFlags, mcastGroup, mcastPort, mcastTTL, syncMaxlen
    case tunInfo, tunType, tunPort, tunNocsum, tunCsum, tunRemcsum

    /// ipvsadm's `optnames[]`.
    public var name: String {
        ["numeric", "connection", "service-address", "scheduler", "persistent", "netmask", "real-server",
         "forwarding-method", "weight", "u-threshold", "l-threshold", "mcast-interface", "timeout", "daemon",
         "stats", "rate", "thresholds", "persistent-conn", "nosort", "syncid", "exact", "ops", "pe",
         "sched-flags", "mcast-group", "mcast-port", "mcast-ttl", "sync-maxlen", "tun-info", "tun-type",
         "tun-port", "tun-nocsum", "tun-csum", "tun-remcsum"][rawValue]
    }

    var bit: UInt64 { 1 << UInt64(rawValue) }
}

/// How ipvsadm ends or fails for a command line, with the text it prints on standard error.
public struct IPVSAdmExit: Error, Sendable, Hashable {
    /// Standard-error text, newline included (empty when ipvsadm prints nothing).
    public var message: String
    /// The exit status (ipvsadm's `fail(2, …)` is 2; `exit(-1)` and returning -1 are 255).
    public var status: Int32
    /// True when ipvsadm exits on the spot (`fail`, `tryhelp_exit`); false when the command merely
    /// returns its status, so `-R` goes on with the next line (popt errors, kernel errors).
    public var immediate: Bool

    public init(message: String, status: Int32, immediate: Bool = true) {
        self.message = message
        self.status = status
        self.immediate = immediate
    }

    /// ipvsadm's `fail(2, …)`.
    static func fail(_ message: String) -> IPVSAdmExit { IPVSAdmExit(message: message + "\n", status: 2) }

    /// ipvsadm's `tryhelp_exit(program, -1)`.
    static func tryHelp(_ program: String) -> IPVSAdmExit {
        IPVSAdmExit(message: "Try `\(program) -h' or '\(program) --help' for more information.\n", status: 255)
    }
}

/// One ipvsadm command line, read as ipvsadm 1.31 reads it (`struct ipvs_command_entry` and the
/// option and format bits of `process_options`).
public struct IPVSAdmRequest: Sendable, Hashable {
    /// What the line asks for; help and version are answered during parsing in ipvsadm.
    public enum Action: Sendable, Hashable {
        case command(IPVSAdmCommand)
        case help
        case version
    }

    /// `FMT_*` bits that shape listings.
    public struct Format: OptionSet, Sendable, Hashable {
        public var rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let numeric = Format(rawValue: 0x0001)
        public static let rule = Format(rawValue: 0x0002)
        public static let stats = Format(rawValue: 0x0004)
        public static let rate = Format(rawValue: 0x0008)
        public static let thresholds = Format(rawValue: 0x0010)
        public static let persistentConn = Format(rawValue: 0x0020)
        public static let nosort = Format(rawValue: 0x0040)
        public static let exact = Format(rawValue: 0x0080)
        public static let tunInfo = Format(rawValue: 0x0100)
    }

    public var action: Action
    /// `OPT_*` bits: which option classes the line gave.
    public var options: UInt64 = 0
    public var format: Format = []

    // The service (`ipvs_service_t`): zeroed, netmask /32, as process_options starts it.
    var family: AddressFamily? = nil
    var proto: IPVSProtocol = .tcp
    var address: IPAddress? = nil
    var port: UInt16 = 0
    var fwmark: UInt32 = 0
    var scheduler = ""
    var serviceFlags: ServiceFlags = []
    var persistence: UInt32 = 0
    var netmask: UInt32 = 0xFFFF_FFFF
    var persistenceEngine = ""

    // The destination (`ipvs_dest_t`): direct routing, weight 1, ipip.
    var destination: IPAddress? = nil
    var destinationPort: UInt16 = 0
    var forwarding: ForwardingMethod = .route
    var weight: UInt32 = 1
    var upperThreshold: UInt32 = 0
    var lowerThreshold: UInt32 = 0
    var tunnelType: TunnelType = .ipip
    var tunnelPort: UInt16 = 0
    var tunnelFlags: UInt16 = 0

    var timeouts = Timeouts(tcp: 0, tcpFin: 0, udp: 0)
    var daemon = SyncDaemon(role: .master, interface: "")

    public func has(_ o: IPVSAdmOption) -> Bool { options & o.bit != 0 }

    /// The command, when the line is one (not help or version).
    public var command: IPVSAdmCommand? {
        if case .command(let c) = action { return c }
        return nil
    }

    /// The service the line names (`-t/-u/--sctp-service/-f [-6]`), when it names one.
    public var serviceKey: ServiceKey? {
        guard has(.service) else { return nil }
        if fwmark != 0 { return .firewallMark(fwmark, family ?? .inet) }
        guard let address else { return nil }
        return .address(proto, address, port)
    }

    /// The kernel change the line asks for; nil for listing, saving, restoring, help and version.
    public var operation: IPVSOperation? {
        guard let command else { return nil }
        let key = serviceKey ?? .firewallMark(0, .inet)
        let destinationKey = DestinationKey(destination ?? .v4(0), destinationPort)
        switch command {
        case .add, .edit:
            let service = Service(key: key, scheduler: scheduler, flags: serviceFlags, timeout: persistence,
                                  netmask: netmask, persistenceEngine: persistenceEngine.isEmpty ? nil : persistenceEngine)
            return command == .add ? .addService(service) : .editService(service)
        case .delete: return .deleteService(key)
        case .zero: return .zero(serviceKey)
        case .flush: return .flush
        case .addServer, .editServer:
            let d = Destination(address: destinationKey.address, port: destinationPort, forwarding: forwarding,
                                weight: weight, upperThreshold: upperThreshold, lowerThreshold: lowerThreshold,
                                tunnelType: tunnelType, tunnelPort: tunnelPort,
                                tunnelFlags: TunnelFlags(rawValue: tunnelFlags))
            return command == .addServer ? .addDestination(key, d) : .editDestination(key, d)
        case .deleteServer: return .deleteDestination(key, destinationKey)
        case .setTimeouts: return .setTimeouts(timeouts)
        case .startDaemon: return .startDaemon(daemon)
        case .stopDaemon: return .stopDaemon(daemon.role)
        case .list, .save, .restore: return nil
        }
    }
}

extension RuleParser {
    /// Reads one ipvsadm 1.31 command line (without the program name) as ipvsadm's
    /// `parse_options` and the checks of `process_options` do: the same options, the same order
    /// of checks, the same messages and exit statuses.
    ///
    /// `program` is the name ipvsadm's "Try `… -h'" hint uses.
    public static func ipvsadm(arguments: [String], program: String) throws(IPVSAdmExit) -> IPVSAdmRequest {
        var scanner = PoptScanner(arguments)
        var positionals: [String] = []

        func nextOption() throws(IPVSAdmExit) -> (RuleSyntax.Opt, String?, String)? {
            while true {
                do {
                    switch try scanner.next() {
                    case nil: return nil
                    case .positional(let w)?: positionals.append(w)
                    case .option(let o, let v, let t)?: return (o, v, t)
                    }
                } catch {
                    throw IPVSAdmExit(message: "\(error.token): \(error.poptMessage)\n", status: 255, immediate: false)
                }
            }
        }

        // The first option must be the command.
        let first: (RuleSyntax.Opt, String?, String)?
        do {
            first = try nextOption()
        } catch {
            throw .tryHelp(program)
        }
        guard let (opt, value, _) = first else { throw .tryHelp(program) }
        if opt == .help { return IPVSAdmRequest(action: .help) }
        if opt == .version { return IPVSAdmRequest(action: .version) }
        guard let command = IPVSAdmCommand.byOption[opt] else { throw .tryHelp(program) }
        var r = IPVSAdmRequest(action: .command(command))
        if command == .startDaemon || command == .stopDaemon {
            switch value {
            case "master": r.daemon.role = .master
            case "backup": r.daemon.role = .backup
            default: throw .fail(command == .startDaemon ? "illegal start-daemon parameter specified" : "illegal start_daemon specified")
            }
        }

        var schedFlagsText = ""
        while let (opt, value, token) = try nextOption() {
            try r.take(opt, value ?? "", given: value != nil, token: token, schedFlags: &schedFlagsText)
        }

        if r.command == .setTimeouts {
            guard positionals.count >= 3 else { throw .fail("--set option requires 3 timeout values") }
            let t = try positionals.prefix(3).map { (p) throws(IPVSAdmExit) -> UInt32 in
                UInt32(try IPVSAdmValues.timeout(p, min: 0, max: RuleSyntax.maxTimeout))
            }
            r.timeouts = Timeouts(tcp: t[0], tcpFin: t[1], udp: t[2])
            positionals.removeFirst(3)
        }
        if let extra = positionals.first { throw .fail("unexpected argument \(extra)") }
        if !schedFlagsText.isEmpty {
            r.serviceFlags.subtract([.sched1, .sched2, .sched3])
            r.serviceFlags.formUnion(try IPVSAdmValues.schedulerFlags(schedFlagsText, scheduler: r.scheduler))
        }
        try r.check()
        return r
    }
}

extension IPVSAdmRequest {
    init(action: Action) {
        self.action = action
    }

    mutating func set(_ o: IPVSAdmOption) throws(IPVSAdmExit) {
        if has(o) { throw .fail("multiple '\(o.name)' options specified") }
        options |= o.bit
    }

    /// The listing options: each sets its option class and its `FMT_*` bit.
    static let formatOptions: [RuleSyntax.Opt: (IPVSAdmOption, Format)] = [
        .numeric: (.numeric, .numeric), .stats: (.stats, .stats), .rate: (.rate, .rate),
        .thresholds: (.thresholds, .thresholds), .persistentConn: (.persistentConn, .persistentConn),
        .nosort: (.nosort, .nosort), .exact: (.exact, .exact), .tunInfo: (.tunInfo, .tunInfo),
    ]

    /// One option after the command, as the `switch` in ipvsadm's `parse_options` takes it.
    mutating func take(
        _ opt: RuleSyntax.Opt, _ value: String, given: Bool, token: String, schedFlags: inout String
    ) throws(IPVSAdmExit) {
        typealias V = IPVSAdmValues
        if let (o, f) = Self.formatOptions[opt] {
            try set(o)
            format.insert(f)
            return
        }
        switch opt {
        case .tcpService, .udpService, .sctpService:
            try set(.service)
            proto = opt == .tcpService ? .tcp : opt == .udpService ? .udp : .sctp
            guard let (a, p) = V.service(value, proto: proto) else {
                throw .fail("illegal virtual server address[:port] specified")
            }
            address = a
            family = a.family
            if a.family == .inet6 { netmask = 128 }
            if let p { port = p }
        case .fwmarkService:
            try set(.service)
            family = .inet
            proto = .tcp
            fwmark = try V.fwmark(value)
        case .scheduler:
            try set(.scheduler)
            scheduler = String(value.utf8.prefix(15)) ?? value
        case .persistent:
            try set(.persistent)
            serviceFlags.insert(.persistent)
            persistence = given ? UInt32(try V.timeout(value, min: 1, max: RuleSyntax.maxTimeout)) : RuleSyntax.defaultPersistence
        case .netmask:
            try set(.netmask)
            if family != .inet6 {
                guard let m = V.netmask(value) else { throw .fail("illegal virtual server persistent mask specified") }
                netmask = m
            } else {
                let n = atoi(value)
                guard n >= 1 && n <= 128 else { throw .fail("illegal ipv6 netmask specified") }
                netmask = UInt32(n)
            }
        case .realServer:
            try set(.server)
            guard let (a, p) = V.service(value, proto: proto) else {
                throw .fail("illegal real server address[:port] specified")
            }
            destination = a
            destinationPort = p ?? port
        case .ipip, .gatewaying, .masquerading:
            try set(.forward)
            forwarding = opt == .ipip ? .tunnel : opt == .gatewaying ? .route : .masquerade
        case .weight:
            try set(.weight)
            guard let n = V.number(value, 0, Int(Int32.max)) else { throw .fail("illegal weight specified") }
            weight = UInt32(n)
        case .uThreshold:
            try set(.uThreshold)
            guard let n = V.number(value, 0, Int(Int32.max)) else { throw .fail("illegal u_threshold specified") }
            upperThreshold = UInt32(n)
        case .lThreshold:
            try set(.lThreshold)
            guard let n = V.number(value, 0, Int(Int32.max)) else { throw .fail("illegal l_threshold specified") }
            lowerThreshold = UInt32(n)
        case .connection: try set(.connection)
        case .mcastInterface:
            try set(.mcast)
            daemon.interface = String(value.utf8.prefix(15)) ?? value
        case .syncid:
            try set(.syncid)
            guard let n = V.number(value, 0, 255) else { throw .fail("illegal syncid specified") }
            daemon.syncID = UInt32(n)
        case .timeout: try set(.timeout)
        case .daemon: try set(.daemon)
        case .sort:
            break
        case .ipv6:
            guard fwmark != 0 else { throw .fail("-6 used before -f\n") }
            family = .inet6
            netmask = 128
        case .ops:
            try set(.ops)
            serviceFlags.insert(.onePacket)
        case .pe:
            try set(.pe)
            persistenceEngine = String(value.utf8.prefix(16)) ?? value
        case .schedFlags:
            try set(.schedFlags)
            schedFlags = String(value.utf8.prefix(127)) ?? value
        case .mcastGroup:
            try set(.mcastGroup)
            daemon.multicastGroup = try V.multicastGroup(value)
        case .mcastPort:
            try set(.mcastPort)
            guard let n = V.number(value, 1, 65535) else { throw .fail("illegal mcast-port specified") }
            daemon.multicastPort = UInt16(n)
        case .mcastTTL:
            try set(.mcastTTL)
            guard let n = V.number(value, 1, 255) else { throw .fail("illegal mcast-ttl specified") }
            daemon.multicastTTL = UInt8(n)
        case .syncMaxlen:
            try set(.syncMaxlen)
            guard let n = V.number(value, 1, 65535 - 20 - 8) else { throw .fail("illegal sync-maxlen specified") }
            daemon.maxLength = UInt16(n)
        case .tunType:
            try set(.tunType)
            switch value {
            case "ipip": tunnelType = .ipip
            case "gue": tunnelType = .gue
            case "gre": tunnelType = .gre
            default: throw .fail("illegal tunnel type specified")
            }
        case .tunPort:
            try set(.tunPort)
            guard let n = V.number(value, 1, 65535) else { throw .fail("illegal tunnel port specified") }
            tunnelPort = UInt16(n)
        case .tunNocsum:
            try set(.tunNocsum)
        case .tunCsum:
            try set(.tunCsum)
            tunnelFlags |= TunnelFlags.checksum.rawValue
        case .tunRemcsum:
            try set(.tunRemcsum)
            tunnelFlags |= TunnelFlags.remoteChecksum.rawValue
        default:
            // A second command, -h or -v after the command.
            throw .fail("invalid option `\(token)'")
        }
    }

    /// The checks of `process_options` after parsing, in its order.
    mutating func check() throws(IPVSAdmExit) {
        guard let command else { return }
        try checkTable(command.allowed, IPVSAdmOption.allCases, subject: "'\(command.name)' command")
        if command == .add || command == .edit {
            if fwmark == 0 && port == 0 && !serviceFlags.contains(.persistent) {
                throw .fail("Zero port specified for non-persistent service")
            }
            if serviceFlags.contains(.onePacket) && fwmark == 0 && proto != .udp {
                throw .fail("One-Packet Scheduling is only for UDP virtual services")
            }
            if scheduler.isEmpty { scheduler = "wlc" }
        }
        if command == .startDaemon && daemon.interface.isEmpty { daemon.interface = "eth0" }
        if command == .addServer || command == .editServer {
            if fwmark == 0 && (forwarding == .tunnel || forwarding == .route) { destinationPort = port }
            if destination?.family != family && forwarding != .tunnel {
                throw .fail("Different address family is allowed only for tunneling servers")
            }
            let tunnelOptions: [IPVSAdmOption] = [.tunType, .tunPort, .tunNocsum, .tunCsum, .tunRemcsum]
            if tunnelOptions.contains(where: has), forwarding != .tunnel {
                throw .fail("Tunnel options conflict with forward method")
            }
            try checkTunnelOptions()
        }
        if command == .list {
            let modes = options & (IPVSAdmOption.connection.bit | IPVSAdmOption.timeout.bit | IPVSAdmOption.daemon.bit)
            let columns = options & (IPVSAdmOption.stats.bit | IPVSAdmOption.rate.bit | IPVSAdmOption.thresholds.bit)
            let quiet = options & (IPVSAdmOption.timeout.bit | IPVSAdmOption.daemon.bit)
            if (modes != 0 && columns != 0) || (quiet != 0 && has(.persistentConn)) {
                throw .fail("options conflicts in the list command")
            }
        }
    }

    /// ipvsadm's `tunnel_opt_check` over its `tunnel_types_v_options` table.
    func checkTunnelOptions() throws(IPVSAdmExit) {
        let type = Int(tunnelType.rawValue)
        try checkTable(["xxxx", "+111", "x11x"][type], [.tunPort, .tunNocsum, .tunCsum, .tunRemcsum],
                       subject: "'\(["ipip", "gue", "gre"][type])' tunnel type")
    }

    /// One row of an ipvsadm option table (`generic_opt_check`, `tunnel_opt_check`), one character
    /// per column: `+` required, `x` not allowed, `1` at most one of these, space optional.
    func checkTable(_ row: String, _ columns: [IPVSAdmOption], subject: String) throws(IPVSAdmExit) {
        let rules = Array(row.utf8)
        var exclusive: IPVSAdmOption? = nil
        for (i, o) in columns.enumerated() {
            if !has(o) {
                if rules[i] == UInt8(ascii: "+") { throw .fail("You need to supply the '\(o.name)' option for the \(subject)") }
                continue
            }
            if rules[i] == UInt8(ascii: "x") { throw .fail("Illegal '\(o.name)' option with the \(subject)") }
            if rules[i] == UInt8(ascii: "1") {
                if let first = exclusive {
                    throw .fail("The option '\(o.name)' conflicts with the '\(first.name)' option in the \(subject)")
                }
                exclusive = o
            }
        }
    }
}

/// ipvsadm's value readers (`string_to_number`, `parse_service`, `parse_netmask`, …), with the C
/// library calls it makes, so odd spellings (`+80`, `0x7f.1`, host names) read the same.
enum IPVSAdmValues {
    /// `string_to_number`: a whole base-10 `strtol` number within `min...max`, or nil.
    static func number(_ s: String, _ min: Int, _ max: Int) -> Int? {
        s.withCString { p -> Int? in
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            let n = strtol(p, &end, 10)
            guard let end, end.pointee == 0, end != UnsafeMutablePointer(mutating: p), errno != ERANGE,
                  n >= min, n <= max else { return nil }
            return n
        }
    }

    /// `parse_timeout`.
    static func timeout(_ s: String, min: Int, max: Int) throws(IPVSAdmExit) -> Int {
        guard let n = number(s, min, max) else { throw .fail("invalid timeout value `\(s)' specified") }
        return n
    }

    /// `parse_fwmark`: 1 to UINT_MAX.
    static func fwmark(_ s: String) throws(IPVSAdmExit) -> UInt32 {
        guard let n = number(s, 1, Int(UInt32.max)) else { throw .fail("invalid fwmark value `\(s)' specified") }
        return UInt32(n)
    }

    /// `inet_aton`, then a host-name lookup: an IPv4 address in host order.
    static func ipv4(_ s: Substring) -> IPAddress? {
        var a = in_addr()
        if inet_aton(String(s), &a) != 0 { return .v4(UInt32(bigEndian: a.s_addr)) }
        return ForwardLookup.ipv4(ofHost: String(s))
    }

    /// `parse_netmask`: an IPv4 mask in host order.
    static func netmask(_ s: String) -> UInt32? {
        guard case .v4(let m)? = ipv4(s[...]) else { return nil }
        return m
    }

    /// `parse_service`: `[IPv6]:port`, IPv6, `IPv4|host[:port]`; the port is nil when none was
    /// written. Nil when ipvsadm finds no address (`SERVICE_NONE`).
    static func service(_ text: String, proto: IPVSProtocol) -> (IPAddress, UInt16?)? {
        if text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return nil }
        var host = text[...]
        var portText: Substring? = nil
        if host.hasPrefix("[") {
            host = host.dropFirst()
            guard let close = host.firstIndex(of: "]") else { return nil }
            let after = host[host.index(after: close)...]
            guard after.hasPrefix(":") else { return nil }
            portText = after.dropFirst()
            host = host[..<close]
        }
        let address: IPAddress
        if host.contains(":"), let a = IPAddress(host), a.family == .inet6 {
            address = a
        } else {
            portText = nil
            if let colon = host.lastIndex(of: ":") {
                portText = host[host.index(after: colon)...]
                host = host[..<colon]
            }
            guard let a = ipv4(host) else { return nil }
            address = a
        }
        guard let portText else { return (address, nil) }
        if let n = number(String(portText), 0, 65535) { return (address, UInt16(n)) }
        if let p = ForwardLookup.port(ofService: String(portText), protocol: proto) { return (address, p) }
        return nil
    }

    /// `parse_sched_flags`: comma-separated flags, checked against the scheduler (wlc when none).
    static func schedulerFlags(_ text: String, scheduler: String) throws(IPVSAdmExit) -> ServiceFlags {
        let sched = scheduler.isEmpty ? "wlc" : scheduler
        var flags: ServiceFlags = []
        for flag in text.split(separator: ",").map(String.init) {
            switch flag {
            case "flag-1": flags.insert(.sched1)
            case "flag-2": flags.insert(.sched2)
            case "flag-3": flags.insert(.sched3)
            case "sh-fallback", "sh-port", "mh-fallback", "mh-port":
                flags.insert(flag.hasSuffix("fallback") ? .sched1 : .sched2)
                if sched != String(flag.prefix(2)) { throw .fail("incompatible scheduler flag `\(flag)'") }
            default:
                throw .fail("invalid scheduler flag `\(flag)'")
            }
        }
        return flags
    }

    /// The `--mcast-group` checks: an IPv6 multicast address when the text has a colon, else IPv4.
    static func multicastGroup(_ s: String) throws(IPVSAdmExit) -> IPAddress {
        if s.contains(":") {
            guard let a = IPAddress(s), a.isMulticast else { throw .fail("invalid IPv6 mcast-group `\(s)'") }
            return a
        }
        var a = in_addr()
        guard inet_pton(AF_INET, s, &a) > 0 else { throw .fail("invalid IPv4 mcast-group `\(s)'") }
        let v = IPAddress.v4(UInt32(bigEndian: a.s_addr))
        guard v.isMulticast else { throw .fail("invalid IPv4 mcast-group `\(s)'") }
        return v
    }
}
