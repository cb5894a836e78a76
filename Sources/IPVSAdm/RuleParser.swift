import IPVS
import VigilSupport

/// Parses ipvsadm rule lines (`ipvsadm -S` output, `ipvsadm -R` input) and ipvsadm-style
/// command arguments into ``IPVSOperation``s, with the checks ipvsadm makes and clear errors.
public enum RuleParser {
    /// Parses a whole rule file; nothing is returned unless every line is valid.
    ///
    /// Blank lines are skipped. Lines starting with `#` are comments (a Vigil extension:
    /// ipvsadm -R rejects them).
    public static func parse(_ text: String, file: String) throws(RuleSyntaxError) -> [Rule] {
        var rules: [Rule] = []
        var lineNumber = 0
        for rawLine in text.utf8.split(separator: 10, omittingEmptySubsequences: false) {
            lineNumber += 1
            let bytes = rawLine.split(whereSeparator: { $0 == 32 || $0 == 9 || $0 == 13 })
            if bytes.isEmpty || bytes[0].first == 35 { continue }
            let tokens = bytes.map { String(decoding: $0, as: UTF8.self) }
            // Already single-space separated (as ipvsadm -S writes): the line itself is the text.
            let singleSpaced = rawLine.count == bytes.reduce(bytes.count - 1) { $0 + $1.count }
                && !rawLine.contains(9) && !rawLine.contains(13)
            let line = singleSpaced ? String(decoding: rawLine, as: UTF8.self) : tokens.joined(separator: " ")
            let op = try parse(arguments: tokens, verb: nil, file: file, line: lineNumber)
            rules.append(Rule(operation: op, line: lineNumber, text: line))
        }
        return rules
    }

    /// Parses one command's ipvsadm-style arguments. With `verb`, the arguments carry no
    /// command option (`ipvsctl add-service -t 192.0.2.1:80 -s rr`).
    public static func parse(
        arguments: [String], verb implied: RuleVerb?, file: String = "", line: Int = 0
    ) throws(RuleSyntaxError) -> IPVSOperation {
        var p = LineParser(file: file, line: line, verb: implied)
        try p.scan(arguments)
        return try p.build()
    }
}

private typealias Opt = RuleSyntax.Opt

/// The options of one rule line and their values, in the order given. A line has a handful, so
/// a linear scan beats hashing.
private struct OptionValues {
    private var entries: [(opt: Opt, value: String?, token: String)] = []

    subscript(_ opt: Opt) -> (value: String?, token: String)? {
        get {
            for e in entries where e.opt == opt { return (e.value, e.token) }
            return nil
        }
        set {
            if let i = entries.firstIndex(where: { $0.opt == opt }) {
                if let newValue { entries[i] = (opt, newValue.value, newValue.token) } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append((opt, newValue.value, newValue.token))
            }
        }
    }

    /// The first option given that satisfies `predicate`, with its value.
    func first(where predicate: (Opt) -> Bool) -> (value: String?, token: String)? {
        entries.first { predicate($0.opt) }.map { ($0.value, $0.token) }
    }
}

private struct LineParser {
    let file: String
    let line: Int
    var verb: RuleVerb?
    var verbToken: String?
    var values = OptionValues()
    var order: [Opt] = []
    var positionals: [String] = []

    init(file: String, line: Int, verb: RuleVerb?) {
        self.file = file
        self.line = line
        self.verb = verb
    }

    func fail(_ code: RuleSyntaxError.Code, _ token: String?, _ message: String) -> RuleSyntaxError {
        RuleSyntaxError(code: code, file: file, line: line, token: token, message: message)
    }

    // MARK: Scanning (popt's rules: see PoptScanner)

    mutating func scan(_ tokens: [String]) throws(RuleSyntaxError) {
        var scanner = PoptScanner(tokens)
        while true {
            let item: PoptScanner.Item?
            do {
                item = try scanner.next()
            } catch {
                throw scanFailure(error)
            }
            switch item {
            case nil: return
            case .positional(let word)?: positionals.append(word)
            case .option(let opt, let value, let token)?: try record(opt, value, token: token)
            }
        }
    }

    func scanFailure(_ f: PoptScanner.Failure) -> RuleSyntaxError {
        let t = f.token
        switch f.kind {
        case .unknownOption(let c):
            let what = c.map { t.count > 2 ? "'-\($0)' in '\(t)'" : "'\(t)'" } ?? "'\(t)'"
            return fail(.unknownOption, t, "unknown option \(what)")
        case .missingArgument(let opt):
            return fail(.missingValue, t, "option \(t) needs a value: expected \(expectation(opt))")
        case .unwantedArgument(let opt):
            return fail(.unexpectedArgument, t, "option --\(opt.rawValue) takes no value")
        }
    }

    mutating func record(_ opt: Opt, _ value: String?, token: String) throws(RuleSyntaxError) {
        switch opt {
        case .list, .save, .restore, .help, .version:
            throw fail(.illegalOption, token,
                       "'\(token)' is not a rule: expected one of -A, -E, -D, -a, -e, -d, -C, -Z, --set, --start-daemon, --stop-daemon")
        default: break
        }
        if let v = opt.verb {
            if verb != nil {
                throw fail(.multipleCommands, token, "more than one command in one rule ('\(token)' after \(verbToken ?? verb!.rawValue))")
            }
            verb = v
            verbToken = token
            if let value { values[opt] = (value, token) }
            return
        }
        if values[opt] != nil {
            throw fail(.conflictingOptions, token, "option \(opt.spelling) (--\(opt.rawValue)) given twice")
        }
        values[opt] = (value, token)
        order.append(opt)
    }

    func expectation(_ opt: Opt) -> String {
        switch opt {
        case .tcpService, .udpService, .sctpService:
            "a service address (IPv4[:port], [IPv6]:port or host[:port])"
        case .realServer: "a real server address (IPv4[:port], [IPv6]:port or host[:port])"
        case .fwmarkService: "a firewall mark 1-4294967295"
        case .scheduler: "a scheduler: " + RuleSyntax.schedulers.joined(separator: ", ")
        case .netmask: "a netmask (IPv4 dotted quad, or IPv6 prefix length 1-128)"
        case .pe: "a persistence engine: " + RuleSyntax.persistenceEngines.joined(separator: ", ")
        case .schedFlags: "comma-separated scheduler flags (sh-fallback, sh-port, mh-fallback, mh-port, flag-1, flag-2, flag-3)"
        case .weight: "a weight 0-2147483647"
        case .uThreshold, .lThreshold: "a connection count 0-2147483647"
        case .tunType: "a tunnel type: ipip, gue, gre"
        case .tunPort, .mcastPort: "a port 1-65535"
        case .startDaemon, .stopDaemon: "master or backup"
        case .mcastInterface: "an interface name"
        case .syncid: "a sync id 0-255"
        case .mcastGroup: "a multicast address"
        case .mcastTTL: "a TTL 1-255"
        case .syncMaxlen: "a length 1-65507"
        default: "a value"
        }
    }

    // MARK: Building

    func value(_ opt: Opt) -> (value: String?, token: String)? { values[opt] }
    func has(_ opt: Opt) -> Bool { values[opt] != nil }

    static let serviceOpts: Set<Opt> = [.tcpService, .udpService, .sctpService, .fwmarkService, .ipv6]
    static let serviceSettingOpts: Set<Opt> = [.scheduler, .persistent, .netmask, .ops, .pe, .schedFlags]
    static let serverOpts: Set<Opt> = [
        .gatewaying, .ipip, .masquerading, .weight, .uThreshold, .lThreshold,
        .tunType, .tunPort, .tunNocsum, .tunCsum, .tunRemcsum,
    ]
    static let daemonOpts: Set<Opt> = [.mcastInterface, .syncid, .mcastGroup, .mcastPort, .mcastTTL, .syncMaxlen]

    static let serviceCommandOpts = serviceOpts.union(serviceSettingOpts)
    static let serverCommandOpts = serviceOpts.union(serverOpts).union([.realServer])
    static let deleteServerOpts = serviceOpts.union([.realServer])

    func allowed(_ verb: RuleVerb) -> Set<Opt> {
        switch verb {
        case .addService, .editService: Self.serviceCommandOpts
        case .deleteService: Self.serviceOpts
        case .addServer, .editServer: Self.serverCommandOpts
        case .deleteServer: Self.deleteServerOpts
        case .clear, .setTimeouts: []
        case .zero: Self.serviceOpts
        case .startDaemon: Self.daemonOpts
        case .stopDaemon: [.syncid]
        }
    }

    func build() throws(RuleSyntaxError) -> IPVSOperation {
        guard let verb else {
            throw fail(.missingCommand, nil,
                       "expected a command (-A, -E, -D, -a, -e, -d, -C, -Z, --set, --start-daemon, --stop-daemon)")
        }
        let allowedOpts = allowed(verb)
        for opt in order where !allowedOpts.contains(opt) {
            throw fail(.illegalOption, values[opt]?.token,
                       "option \(opt.spelling) (--\(opt.rawValue)) is not allowed with \(verb.rawValue)")
        }
        if verb != .setTimeouts, let extra = positionals.first {
            throw fail(.unexpectedArgument, extra, "unexpected argument '\(extra)'")
        }
        switch verb {
        case .clear:
            return .flush
        case .zero:
            return .zero(hasServiceOption ? try serviceKey(for: verb).key : nil)
        case .setTimeouts:
            guard positionals.count == 3 else {
                throw fail(.missingValue, positionals.last,
                           "--set needs 3 timeouts (tcp tcpfin udp), got \(positionals.count)")
            }
            var t: [UInt32] = []
            for p in positionals {
                guard let v = Int(p), v >= 0, v <= RuleSyntax.maxTimeout else {
                    throw fail(.invalidValue, p, "invalid timeout '\(p)': expected 0-\(RuleSyntax.maxTimeout) seconds (0 keeps the current value)")
                }
                t.append(UInt32(v))
            }
            return .setTimeouts(Timeouts(tcp: t[0], tcpFin: t[1], udp: t[2]))
        case .startDaemon, .stopDaemon:
            return try daemonOperation(verb)
        case .addService, .editService:
            let service = try buildService(verb)
            return verb == .addService ? .addService(service) : .editService(service)
        case .deleteService:
            return .deleteService(try serviceKey(for: verb).key)
        case .addServer, .editServer:
            let (key, servicePort) = try serviceKey(for: verb)
            let dest = try buildDestination(key: key, servicePort: servicePort)
            return verb == .addServer ? .addDestination(key, dest) : .editDestination(key, dest)
        case .deleteServer:
            let (key, servicePort) = try serviceKey(for: verb)
            let (address, port) = try realServer(key: key, servicePort: servicePort)
            return .deleteDestination(key, DestinationKey(address, port))
        }
    }

    var hasServiceOption: Bool { has(.tcpService) || has(.udpService) || has(.sctpService) || has(.fwmarkService) }

    /// The service the rule names (`-t/-u/--sctp-service/-f [-6]`), and its port (0 for fwmark).
    func serviceKey(for verb: RuleVerb) throws(RuleSyntaxError) -> (key: ServiceKey, port: UInt16) {
        let given: [(Opt, IPVSProtocol?)] = [(.tcpService, .tcp), (.udpService, .udp), (.sctpService, .sctp), (.fwmarkService, nil)]
        let present = given.filter { has($0.0) }
        guard let (opt, proto) = present.first else {
            throw fail(.missingOption, nil,
                       "\(verb.rawValue) needs a service: -t|-u|--sctp-service ADDRESS[:PORT] or -f FWMARK")
        }
        if present.count > 1 {
            throw fail(.conflictingOptions, values[present[1].0]?.token,
                       "more than one service given (\(present.map { $0.0.spelling }.joined(separator: " and ")))")
        }
        let (text, token) = (values[opt]!.value ?? "", values[opt]!.token)
        if let proto {
            if has(.ipv6) {
                throw fail(.illegalOption, values[.ipv6]?.token, "-6 only applies to firewall-mark services (-f); write IPv6 services as [ADDRESS]:PORT")
            }
            let (address, port) = try hostPort(text, proto: proto, what: "service address", token: token)
            return (.address(proto, address, port ?? 0), port ?? 0)
        }
        guard let mark = UInt32(text), mark > 0 else {
            throw fail(.invalidValue, text, "invalid firewall mark '\(text)': expected an integer 1-4294967295")
        }
        return (.firewallMark(mark, has(.ipv6) ? .inet6 : .inet), 0)
    }

    /// `host[:port]`, `[v6]:port`, bare `v6`: the address and the port if one was given.
    func hostPort(_ text: String, proto: IPVSProtocol, what: String, token: String) throws(RuleSyntaxError) -> (IPAddress, UInt16?) {
        let expected = "expected IPv4[:port], [IPv6]:port, IPv6 or host[:port]"
        func bad() -> RuleSyntaxError {
            fail(.invalidValue, text, "invalid \(what) '\(text)' after \(token): \(expected)")
        }
        if text.isEmpty || text.isASCIIDigits { throw bad() }
        var hostPart: Substring
        var portPart: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw bad() }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":") else { throw bad() }
            portPart = after.dropFirst()
            guard let a = IPAddress(hostPart), a.family == .inet6 else { throw bad() }
            return (a, try port(portPart!, proto: proto, whole: text))
        }
        if let (v4, portText) = Self.dottedQuad(text) {
            return (.v4(v4), try portText.map { (p) throws(RuleSyntaxError) -> UInt16 in try port(p, proto: proto, whole: text) })
        }
        if let a = IPAddress(text), a.family == .inet6 { return (a, nil) }
        if let colon = text.lastIndex(of: ":") {
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        } else {
            hostPart = text[...]
        }
        let address: IPAddress
        if let a = IPAddress(hostPart), a.family == .inet {
            address = a
        } else if hostPart.hasASCIILetter, !hostPart.utf8.contains(58),
                  let a = ForwardLookup.ipv4(ofHost: String(hostPart)) {
            address = a
        } else {
            throw bad()
        }
        return (address, try portPart.map { (p) throws(RuleSyntaxError) -> UInt16 in try port(p, proto: proto, whole: text) })
    }

    /// The common `a.b.c.d[:PORT]` form, read without building strings: the address (as
    /// `inet_pton(AF_INET)` reads it: four decimal octets 0-255, no leading zeros) and the text
    /// after the colon. Nil for anything else, which then takes the general path.
    static func dottedQuad(_ text: String) -> (UInt32, Substring?)? {
        let u = text.utf8
        var address: UInt32 = 0
        var octet = 0, digits = 0, dots = 0
        var i = u.startIndex
        while i != u.endIndex {
            let c = u[i]
            if c >= 48 && c <= 57 {
                if digits > 0 && octet == 0 { return nil }
                octet = octet * 10 + Int(c - 48)
                digits += 1
                if octet > 255 { return nil }
            } else if c == 46 {
                guard digits > 0, dots < 3 else { return nil }
                address = address << 8 | UInt32(octet)
                octet = 0; digits = 0; dots += 1
            } else if c == 58 {
                break
            } else {
                return nil
            }
            i = u.index(after: i)
        }
        guard dots == 3, digits > 0 else { return nil }
        address = address << 8 | UInt32(octet)
        if i == u.endIndex { return (address, nil) }
        let portStart = u.index(after: i)
        guard u[portStart...].allSatisfy({ $0 != 58 }) else { return nil }
        return (address, text[String.Index(portStart, within: text)!...])
    }

    func port(_ text: Substring, proto: IPVSProtocol, whole: String) throws(RuleSyntaxError) -> UInt16 {
        if let n = Int(text), n >= 0, n <= 65535 { return UInt16(n) }
        if !text.isEmpty, !text.isASCIIDigits, let p = ForwardLookup.port(ofService: String(text), protocol: proto) {
            return p
        }
        throw fail(.invalidValue, whole,
                   "invalid port '\(text)' in '\(whole)': expected 0-65535 or a service name from /etc/services")
    }

    func number(_ opt: Opt, range: ClosedRange<Int>, what: String) throws(RuleSyntaxError) -> Int? {
        guard let (value, token) = values[opt] else { return nil }
        let text = value ?? ""
        guard let n = Int(text), range.contains(n) else {
            throw fail(.invalidValue, text, "invalid \(what) '\(text)' after \(token): expected an integer \(range.lowerBound)-\(range.upperBound)")
        }
        return n
    }

    func buildService(_ verb: RuleVerb) throws(RuleSyntaxError) -> Service {
        let (key, port) = try serviceKey(for: verb)
        var flags: ServiceFlags = []
        let scheduler = values[.scheduler]?.value ?? "wlc"
        guard RuleSyntax.schedulers.contains(scheduler) else {
            throw fail(.invalidValue, scheduler,
                       "unknown scheduler '\(scheduler)': expected one of \(RuleSyntax.schedulers.joined(separator: ", "))")
        }
        var timeout: UInt32 = 0
        if let (value, token) = values[.persistent] {
            flags.insert(.persistent)
            if let value {
                guard let n = Int(value), n >= 1, n <= RuleSyntax.maxTimeout else {
                    throw fail(.invalidValue, value, "invalid persistence timeout '\(value)' after \(token): expected 1-\(RuleSyntax.maxTimeout) seconds")
                }
                timeout = UInt32(n)
            } else {
                timeout = RuleSyntax.defaultPersistence
            }
        }
        var netmask: UInt32? = nil
        if let (value, token) = values[.netmask] {
            let text = value ?? ""
            if key.family == .inet {
                guard let a = IPAddress(text), case .v4(let m) = a else {
                    throw fail(.invalidValue, text, "invalid netmask '\(text)' after \(token): expected an IPv4 netmask such as 255.255.255.0")
                }
                netmask = m
            } else {
                guard let n = Int(text), n >= 1, n <= 128 else {
                    throw fail(.invalidValue, text, "invalid IPv6 netmask '\(text)' after \(token): expected a prefix length 1-128")
                }
                netmask = UInt32(n)
            }
        }
        if has(.ops) {
            if case .address(let p, _, _) = key, p != .udp {
                throw fail(.illegalOption, values[.ops]?.token, "one-packet scheduling (-o) is only for UDP services, not \(p)")
            }
            flags.insert(.onePacket)
        }
        var pe: String? = nil
        if let (value, _) = values[.pe] {
            let name = value ?? ""
            guard RuleSyntax.persistenceEngines.contains(name) else {
                throw fail(.invalidValue, name, "unknown persistence engine '\(name)': expected \(RuleSyntax.persistenceEngines.joined(separator: ", "))")
            }
            pe = name
        }
        if let (value, _) = values[.schedFlags] {
            for flag in (value ?? "").split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                switch flag {
                case "flag-1": flags.insert(.sched1)
                case "flag-2": flags.insert(.sched2)
                case "flag-3": flags.insert(.sched3)
                case "sh-fallback", "sh-port", "mh-fallback", "mh-port":
                    let needed = String(flag.prefix(2))
                    guard scheduler == needed else {
                        throw fail(.invalidValue, flag, "scheduler flag '\(flag)' needs scheduler \(needed) (this service uses \(scheduler))")
                    }
                    flags.insert(flag.hasSuffix("fallback") ? .sched1 : .sched2)
                default:
                    throw fail(.invalidValue, flag,
                               "invalid scheduler flag '\(flag)': expected sh-fallback, sh-port, mh-fallback, mh-port, flag-1, flag-2 or flag-3")
                }
            }
        }
        if case .address = key, port == 0, !flags.contains(.persistent) {
            throw fail(.invalidValue, values.first { Self.serviceOpts.contains($0) }?.value,
                       "port 0 is only allowed for persistent services (add -p)")
        }
        return Service(key: key, scheduler: scheduler, flags: flags, timeout: timeout, netmask: netmask, persistenceEngine: pe)
    }

    func realServer(key: ServiceKey, servicePort: UInt16) throws(RuleSyntaxError) -> (IPAddress, UInt16) {
        guard let (value, token) = values[.realServer] else {
            throw fail(.missingOption, nil, "\(verb!.rawValue) needs a real server: -r ADDRESS[:PORT]")
        }
        var proto = IPVSProtocol.tcp
        if case .address(let p, _, _) = key { proto = p }
        let (address, port) = try hostPort(value ?? "", proto: proto, what: "real server address", token: token)
        return (address, port ?? servicePort)
    }

    func buildDestination(key: ServiceKey, servicePort: UInt16) throws(RuleSyntaxError) -> Destination {
        var (address, port) = try realServer(key: key, servicePort: servicePort)
        let methods: [(Opt, ForwardingMethod)] = [(.gatewaying, .route), (.ipip, .tunnel), (.masquerading, .masquerade)]
        let given = order.compactMap { o in methods.first { $0.0 == o } }
        if given.count > 1 {
            throw fail(.conflictingOptions, values[given[1].0]?.token,
                       "more than one forwarding method (\(given.map { $0.0.spelling }.joined(separator: " and "))): choose one of -g, -i, -m")
        }
        let forwarding = given.first?.1 ?? .route
        if case .address = key, forwarding == .route || forwarding == .tunnel {
            port = servicePort
        }
        if address.family != key.family, forwarding != .tunnel {
            throw fail(.invalidValue, values[.realServer]?.value,
                       "real server \(address) is \(address.family == .inet ? "IPv4" : "IPv6") but the service is \(key.family == .inet ? "IPv4" : "IPv6"): mixing families needs tunneling (-i)")
        }
        let weight = try number(.weight, range: 0...Int(Int32.max), what: "weight") ?? 1
        let upper = try number(.uThreshold, range: 0...Int(Int32.max), what: "upper threshold") ?? 0
        let lower = try number(.lThreshold, range: 0...Int(Int32.max), what: "lower threshold") ?? 0
        if lower > upper {
            throw fail(.invalidValue, values[.lThreshold]?.value ?? "",
                       "lower threshold \(lower) is above the upper threshold \(upper) (-x): the kernel refuses it (ERANGE)")
        }
        var dest = Destination(address: address, port: port, forwarding: forwarding, weight: UInt32(weight),
                               upperThreshold: UInt32(upper), lowerThreshold: UInt32(lower))
        let tunnelOpts: [Opt] = [.tunType, .tunPort, .tunNocsum, .tunCsum, .tunRemcsum]
        let givenTunnel = tunnelOpts.filter { has($0) }
        guard !givenTunnel.isEmpty else { return dest }
        if forwarding != .tunnel {
            throw fail(.illegalOption, values[givenTunnel[0]]?.token,
                       "tunnel option --\(givenTunnel[0].rawValue) needs tunneling (-i)")
        }
        let typeName = values[.tunType]?.value ?? "ipip"
        switch typeName {
        case "ipip": dest.tunnelType = .ipip
        case "gue": dest.tunnelType = .gue
        case "gre": dest.tunnelType = .gre
        default:
            throw fail(.invalidValue, typeName, "unknown tunnel type '\(typeName)': expected ipip, gue or gre")
        }
        let csum = [Opt.tunNocsum, .tunCsum, .tunRemcsum].filter { has($0) }
        if dest.tunnelType == .ipip, let extra = givenTunnel.first(where: { $0 != .tunType }) {
            throw fail(.illegalOption, values[extra]?.token, "option --\(extra.rawValue) does not apply to the ipip tunnel type")
        }
        if dest.tunnelType == .gre, let extra = [Opt.tunPort, .tunRemcsum].first(where: { has($0) }) {
            throw fail(.illegalOption, values[extra]?.token, "option --\(extra.rawValue) does not apply to the gre tunnel type")
        }
        if dest.tunnelType == .gue, !has(.tunPort) {
            throw fail(.missingOption, values[.tunType]?.token, "the gue tunnel type needs --tun-port PORT")
        }
        if csum.count > 1 {
            throw fail(.conflictingOptions, values[csum[1]]?.token,
                       "--\(csum[0].rawValue) and --\(csum[1].rawValue) conflict: choose one checksum mode")
        }
        if let p = try number(.tunPort, range: 1...65535, what: "tunnel port") { dest.tunnelPort = UInt16(p) }
        if has(.tunCsum) { dest.tunnelFlags = .checksum }
        if has(.tunRemcsum) { dest.tunnelFlags = .remoteChecksum }
        return dest
    }

    func daemonOperation(_ verb: RuleVerb) throws(RuleSyntaxError) -> IPVSOperation {
        let roleText = values[verb == .startDaemon ? .startDaemon : .stopDaemon]?.value
        let role: SyncDaemonRole
        switch roleText {
        case "master": role = .master
        case "backup": role = .backup
        default:
            throw fail(.invalidValue, roleText, "invalid sync daemon role '\(roleText ?? "")': expected master or backup")
        }
        if verb == .stopDaemon { return .stopDaemon(role) }
        var d = SyncDaemon(role: role, interface: values[.mcastInterface]?.value ?? "eth0")
        if let id = try number(.syncid, range: 0...255, what: "sync id") { d.syncID = UInt32(id) }
        if let n = try number(.syncMaxlen, range: 1...(65535 - 20 - 8), what: "sync message length") { d.maxLength = UInt16(n) }
        if let n = try number(.mcastPort, range: 1...65535, what: "multicast port") { d.multicastPort = UInt16(n) }
        if let n = try number(.mcastTTL, range: 1...255, what: "multicast TTL") { d.multicastTTL = UInt8(n) }
        if let (value, token) = values[.mcastGroup] {
            let text = value ?? ""
            guard let a = IPAddress(text), a.isMulticast else {
                throw fail(.invalidValue, text, "invalid multicast group '\(text)' after \(token): expected an IPv4 or IPv6 multicast address")
            }
            d.multicastGroup = a
        }
        return .startDaemon(d)
    }
}

extension IPAddress {
    /// 224.0.0.0/4 or ff00::/8.
    var isMulticast: Bool {
        switch self {
        case .v4(let v): v >> 28 == 0xE
        case .v6(let hi, _): hi >> 56 == 0xFF
        }
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = lastIndex(where: { !isSpace($0) })!
        return String(self[start...end])
    }
}
