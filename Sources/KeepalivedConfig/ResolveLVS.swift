import VigilSupport

extension Keywords {
    static var virtualServer: [String] { KeywordSupport.keywords(in: .virtualServer) }
    static var realServer: [String] { KeywordSupport.keywords(in: .realServer) }
    static var url: [String] { KeywordSupport.keywords(in: .url) }
}

/// Checker timers as written at one level; unset values inherit from the level above.
struct TimingOverrides {
    var delayLoop: Seconds?
    var retry: Int?
    var delayBeforeRetry: Seconds?
    var connectTimeout: Seconds?
    var warmup: Seconds?
    var alpha: Bool?

    /// These overrides on top of `parent`'s.
    func over(_ parent: TimingOverrides) -> TimingOverrides {
        TimingOverrides(delayLoop: delayLoop ?? parent.delayLoop, retry: retry ?? parent.retry,
                        delayBeforeRetry: delayBeforeRetry ?? parent.delayBeforeRetry,
                        connectTimeout: connectTimeout ?? parent.connectTimeout, warmup: warmup ?? parent.warmup,
                        alpha: alpha ?? parent.alpha)
    }

    /// Effective timing with keepalived's per-kind defaults (keepalived.conf(5)): retry 1 (DNS 3, MISC 0);
    /// delay_before_retry 1 s (HTTP/SSL 3 s, DNS delay_loop); connect_timeout 5 s; delay_loop 60 s;
    /// warmup = delay_loop.
    func resolved(for kind: CheckerKind?) -> CheckerTiming {
        let loop = delayLoop ?? 60
        let defaultRetry: Int
        let defaultDelay: Seconds
        switch kind {
        case .dns?: (defaultRetry, defaultDelay) = (3, loop)
        case .misc?: (defaultRetry, defaultDelay) = (0, 1)
        case .http?, .ssl?: (defaultRetry, defaultDelay) = (1, 3)
        default: (defaultRetry, defaultDelay) = (1, 1)
        }
        return CheckerTiming(delayLoop: loop, retry: retry ?? defaultRetry, delayBeforeRetry: delayBeforeRetry ?? defaultDelay,
                             connectTimeout: connectTimeout ?? 5, warmup: warmup ?? loop, alpha: alpha ?? false)
    }
}

extension Resolver {
    /// Handles a timer keyword into `t`; false when `node` is not one.
    mutating func timingKeyword(_ node: Node, into t: inout TimingOverrides) -> Bool {
        switch node.name {
        case "delay_loop":
            if let v = ctx.seconds(node, in: 0.000001...Context.maximumSeconds) { t.delayLoop = v }
        case "retry":
            if let v = ctx.integer(node, in: 0...Int(Int32.max)) { t.retry = v }
        case "nb_get_retry":
            ctx.deprecated(node, replacement: "retry")
            if let v = ctx.integer(node, in: 0...Int(Int32.max)) { t.retry = v }
        case "delay_before_retry":
            if let v = ctx.seconds(node) { t.delayBeforeRetry = v }
        case "connect_timeout":
            if let v = ctx.seconds(node, in: 0.000001...Context.maximumSeconds) { t.connectTimeout = v }
        case "warmup":
            if let v = ctx.seconds(node) { t.warmup = v }
        case "alpha":
            t.alpha = ctx.bool(node)
        default:
            return false
        }
        ctx.noBlock(node)
        return true
    }

    // MARK: virtual_server_group

    mutating func resolveVirtualServerGroup(_ node: Node) {
        guard let name = ctx.argument(node, expected: "a group name") else { return }
        guard let block = ctx.block(node) else { return }
        var group = VirtualServerGroup(name: name.text)
        for entry in block {
            ctx.noBlock(entry)
            if entry.name == "fwmark" {
                if let m = ctx.integer(entry, in: 1...Int(UInt32.max), checkExtra: false) { group.entries.append(.firewallMark(UInt32(m))) }
                if entry.arguments.count > 1, !["inet", "inet6"].contains(entry.arguments[1].text) {
                    ctx.warning(.unexpectedArgument, "unexpected `\(entry.arguments[1].text)` after `fwmark` (expected inet or inet6; ignored)", at: entry.arguments[1].location)
                }
                continue
            }
            let text = entry.name
            var port: UInt16 = 0
            if let p = entry.arguments.first { port = ctx.port(p, for: "virtual_server_group \(name.text)") ?? 0 }
            ctx.noExtraArguments(entry, count: 1)
            // `A.B.C.D-E` (IPv4 last octet) or `X::Y-Z` (IPv6 last group, hex).
            if let dash = text.lastIndex(of: "-") {
                let base = String(text[..<dash])
                let endText = String(text[text.index(after: dash)...])
                guard let first = IPAddress(base) else {
                    ctx.error(.invalidAddress, "`virtual_server_group` expects an address or range like 10.0.0.1-10, not `\(text)`", at: entry.location)
                    continue
                }
                let isV4 = first.family == .inet
                guard let end = isV4 ? Int(endText) : Int(endText, radix: 16) else {
                    ctx.error(.invalidAddress, "invalid range end `\(endText)` in `\(text)`", at: entry.location)
                    continue
                }
                let bytes = first.bytes
                let start = isV4 ? Int(bytes[3]) : Int(bytes[14]) << 8 | Int(bytes[15])
                let limit = isV4 ? 255 : 0xFFFF
                guard end >= start else {
                    ctx.error(.valueOutOfRange, "range `\(text)` is empty: it ends (\(endText)) before it starts", at: entry.location)
                    continue
                }
                guard end <= limit else {
                    ctx.error(.valueOutOfRange, "range `\(text)` ends past \(isV4 ? "255" : "ffff")", at: entry.location)
                    continue
                }
                let last = first.adding(UInt32(end - start)) ?? first
                group.entries.append(.range(first: first, last: last, port: port))
            } else if let a = IPAddress(text) {
                group.entries.append(.address(SocketAddress(a, port)))
            } else {
                ctx.error(.invalidAddress, "`virtual_server_group` expects `IP PORT`, `IP-RANGE PORT` or `fwmark N`, not `\(text)`", at: entry.location)
            }
        }
        if config.virtualServerGroup(named: name.text) != nil {
            ctx.error(.duplicateName, "virtual_server_group `\(name.text)` is already defined", at: name.location)
            return
        }
        config.virtualServerGroups.append(group)
    }

    // MARK: virtual_server

    mutating func resolveVirtualServer(_ node: Node) {
        guard let first = ctx.argument(node, expected: "`IP PORT`, `fwmark N` or `group NAME`") else { return }
        var vs: VirtualServer
        var isFwmark = false
        var groupToken: Token?
        switch first.text {
        case "fwmark":
            guard let m = ctx.integer(node, in: 1...Int(UInt32.max), index: 1) else { return }
            vs = VirtualServer(address: .firewallMark(UInt32(m)))
            isFwmark = true
        case "group":
            guard let g = ctx.argument(node, 1, expected: "a virtual_server_group name") else { return }
            ctx.noExtraArguments(node, count: 2)
            vs = VirtualServer(address: .group(g.text))
            groupToken = g
        default:
            guard let a = ctx.address(first, for: "virtual_server") else { return }
            var port: UInt16 = 0
            if node.arguments.count > 1 {
                guard let p = ctx.port(node.arguments[1], for: "virtual_server") else { return }
                port = p
            }
            ctx.noExtraArguments(node, count: 2)
            vs = VirtualServer(address: .socket(SocketAddress(a, port)), family: a.family)
        }
        guard let block = ctx.block(node) else { return }
        let label = Resolver.describe(vs.address)

        var timing = TimingOverrides()
        var protocolSet = false
        var schedulerSet = false
        var persistenceTimeoutSet = false
        var sorryAddress: SocketAddress?
        var sorryMethod: ForwardingMethod?
        var sorryInhibit = false
        var familyToken: Token?
        var realServerNodes: [Node] = []
        for child in block {
            if child.name != "real_server" { ctx.noBlock(child) }
            ctx.support(child, in: .virtualServer)
            if timingKeyword(child, into: &timing) { continue }
            switch child.name {
            case "lvs_sched", "lb_algo":
                if child.name == "lb_algo" { ctx.deprecated(child, replacement: "lvs_sched") }
                if let s = scheduler(child) { vs.scheduler = s }
                schedulerSet = true
            case "lvs_method", "lb_kind":
                if child.name == "lb_kind" { ctx.deprecated(child, replacement: "lvs_method") }
                if let m = forwardingMethod(child) { vs.forwardingMethod = m }
            case "protocol":
                guard let t = ctx.argument(child, expected: "TCP, UDP or SCTP") else { break }
                ctx.noExtraArguments(child, count: 1)
                protocolSet = true
                if let p = TransportProtocol(rawValue: t.text.uppercased()) {
                    vs.protocol = p
                } else {
                    ctx.error(.invalidValue, "`protocol` expects TCP, UDP or SCTP, not `\(t.text)`", at: t.location)
                }
            case "persistence_timeout":
                if child.arguments.isEmpty {
                    vs.persistenceTimeout = 360
                } else if let v = ctx.integer(child, in: 1...Int(UInt32.max)) {
                    vs.persistenceTimeout = UInt32(v)
                }
                persistenceTimeoutSet = true
            case "persistence_granularity":
                guard let t = ctx.argument(child, expected: "a netmask or prefix length") else { break }
                if let a = IPAddress(t.text) {
                    vs.persistenceGranularity = a
                } else if let len = Int(t.text), (0...128).contains(len) {
                    vs.persistenceGranularity = Resolver.netmask(prefix: len, family: vs.family)
                } else {
                    ctx.error(.invalidAddress, "`persistence_granularity` expects a netmask, not `\(t.text)`", at: t.location)
                }
            case "persistence_engine":
                vs.persistenceEngine = ctx.word(child, expected: "an engine name (sip)")
            case "ops":
                vs.onePacketScheduling = true
            case "flag-1", "sh-fallback", "mh-fallback":
                vs.schedulerFlags.flag1 = true
            case "flag-2", "sh-port", "mh-port":
                vs.schedulerFlags.flag2 = true
            case "flag-3":
                vs.schedulerFlags.flag3 = true
            case "sorry_server":
                guard let a = ctx.address(child) else { break }
                var port = vs.port
                if child.arguments.count > 1, let p = ctx.port(child.arguments[1], for: "sorry_server") { port = p }
                ctx.noExtraArguments(child, count: 2)
                sorryAddress = SocketAddress(a, port)
            case "sorry_server_inhibit":
                sorryInhibit = ctx.bool(child)
            case "sorry_server_lvs_method":
                sorryMethod = forwardingMethod(child)
            case "quorum":
                if let v = ctx.integer(child, in: 0...Int(UInt32.max)) { vs.quorum = UInt32(v) }
            case "hysteresis":
                if let v = ctx.integer(child, in: 0...Int(UInt32.max)) { vs.hysteresis = UInt32(v) }
            case "quorum_up", "quorum_down":
                if let cmd = ctx.text(child, expected: "a command") {
                    scriptUses.append(ScriptUse(command: cmd, location: child.arguments[0].location, what: "`\(child.name)`"))
                    if child.name == "quorum_up" { vs.quorumUp = cmd } else { vs.quorumDown = cmd }
                }
            case "omega":
                vs.omega = ctx.bool(child)
            case "inhibit_on_failure":
                vs.inhibitOnFailure = ctx.bool(child)
            case "ha_suspend":
                vs.haSuspend = ctx.bool(child)
            case "virtualhost":
                vs.virtualhost = ctx.word(child, expected: "a host name")
            case "ip_family":
                guard let t = ctx.argument(child, expected: "inet or inet6") else { break }
                switch t.text {
                case "inet": vs.family = .inet
                case "inet6": vs.family = .inet6
                default: ctx.error(.invalidValue, "`ip_family` expects inet or inet6, not `\(t.text)`", at: t.location)
                }
                familyToken = t
            case "smtp_alert":
                vs.smtpAlert = ctx.bool(child)
            case "real_server":
                realServerNodes.append(child)
            default:
                ctx.unknownKeyword(child, in: .virtualServer)
            }
        }
        if case .socket(let s) = vs.address, let t = familyToken, s.address.family != vs.family {
            ctx.error(.invalidValue, "`ip_family \(t.text)` does not match virtual server address \(s.address)", at: t.location)
        }
        if !protocolSet {
            if isFwmark {
                vs.protocol = .tcp
            } else {
                vs.protocol = .udp
                ctx.warning(.defaultApplied, "virtual_server \(label): no `protocol` set; defaulting to UDP as keepalived does (add `protocol TCP` for TCP services)", at: node.location)
            }
        }
        if !schedulerSet {
            ctx.warning(.defaultApplied, "virtual_server \(label): no scheduler set (`lvs_sched`); defaulting to `wlc`", at: node.location)
        }
        if vs.persistenceGranularity != nil && !persistenceTimeoutSet { vs.persistenceTimeout = 360 }
        if vs.onePacketScheduling && vs.protocol != .udp && !isFwmark {
            ctx.warning(.ignoredSetting, "virtual_server \(label): `ops` only applies to UDP services (ignored)", at: node.location)
            vs.onePacketScheduling = false
        }
        vs.timing = timing.resolved(for: nil)
        if let a = sorryAddress {
            vs.sorryServer = SorryServer(address: a, forwardingMethod: sorryMethod ?? vs.forwardingMethod, inhibit: sorryInhibit)
        }

        var seen: [SocketAddress: SourceLocation] = [:]
        for rsNode in realServerNodes {
            guard let rs = resolveRealServer(rsNode, in: vs, timing: timing) else { continue }
            if let previous = seen[rs.address] {
                ctx.error(.duplicateName, "real_server \(rs.address) is already defined in virtual_server \(label) at line \(previous.line)", at: rsNode.location)
                continue
            }
            seen[rs.address] = rsNode.location
            vs.realServers.append(rs)
        }

        let key = VirtualServerKey(address: vs.address, protocol: vs.protocol)
        if let previous = virtualServerKeys[key] {
            ctx.error(.duplicateName, "virtual_server \(label) \(vs.protocol.rawValue) is already defined at \(previous.file):\(previous.line)", at: node.location)
            return
        }
        virtualServerKeys[key] = node.location
        if let g = groupToken { groupReferences.append((config.virtualServers.count, g)) }
        config.virtualServers.append(vs)
    }

    private mutating func scheduler(_ node: Node) -> String? {
        guard let t = ctx.argument(node, expected: "a scheduler (\(VirtualServer.schedulers.joined(separator: ", ")))") else { return nil }
        ctx.noExtraArguments(node, count: 1)
        let s = t.text.lowercased()
        guard VirtualServer.schedulers.contains(s) else {
            var message = "unknown scheduler `\(t.text)` for `\(node.name)`"
            if let n = Suggest.nearest(s, in: VirtualServer.schedulers), n.count > 2 { message += " (did you mean `\(n)`?)" }
            message += "; valid schedulers: \(VirtualServer.schedulers.joined(separator: ", "))"
            ctx.error(.unknownScheduler, message, at: t.location)
            return nil
        }
        return s
    }

    /// `NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
    private mutating func forwardingMethod(_ node: Node) -> ForwardingMethod? {
        let valid = ForwardingMethod.allCases.map(\.rawValue).joined(separator: ", ")
        guard let t = ctx.argument(node, expected: "a forwarding method (\(valid))") else { return nil }
        guard let m = ForwardingMethod(rawValue: t.text.uppercased()) else {
            ctx.error(.unknownForwardingMethod, "unknown forwarding method `\(t.text)` for `\(node.name)`; valid methods: \(valid)", at: t.location)
            return nil
        }
        if m != .tunnel { ctx.noExtraArguments(node, count: 1) }
        return m
    }

    // MARK: real_server

    private mutating func resolveRealServer(_ node: Node, in vs: VirtualServer, timing parent: TimingOverrides) -> RealServer? {
        guard let at = ctx.argument(node, expected: "an IP address and port") else { return nil }
        guard let a = ctx.address(at, for: "real_server") else { return nil }
        var port = vs.port
        if node.arguments.count > 1 {
            guard let p = ctx.port(node.arguments[1], for: "real_server") else { return nil }
            port = p
        }
        ctx.noExtraArguments(node, count: 2)
        var rs = RealServer(address: SocketAddress(a, port), forwardingMethod: vs.forwardingMethod,
                            inhibitOnFailure: vs.inhibitOnFailure)
        if a.family != vs.family, case .socket = vs.address, vs.forwardingMethod != .tunnel {
            ctx.error(.invalidAddress, "real_server \(rs.address) is \(a.family == .inet ? "IPv4" : "IPv6") but virtual_server \(Resolver.describe(vs.address)) is \(vs.family == .inet ? "IPv4" : "IPv6") (only TUN forwarding mixes families)", at: at.location)
            return nil
        }
        let block = node.children ?? []
        var timing = TimingOverrides()
        var virtualhost = vs.virtualhost
        var checkerNodes: [Node] = []
        for child in block {
            if CheckerKind(rawValue: child.name) == nil && child.name != "BFD_CHECK" { ctx.noBlock(child) }
            ctx.support(child, in: .realServer)
            if timingKeyword(child, into: &timing) { continue }
            switch child.name {
            case "weight":
                if let w = ctx.integer(child, in: 0...65535) { rs.weight = w }
            case "lvs_method":
                if let m = forwardingMethod(child) { rs.forwardingMethod = m }
            case "inhibit_on_failure":
                rs.inhibitOnFailure = ctx.bool(child)
            case "notify_up", "notify_down":
                if let cmd = ctx.text(child, expected: "a command") {
                    scriptUses.append(ScriptUse(command: cmd, location: child.arguments[0].location, what: "`\(child.name)`"))
                    if child.name == "notify_up" { rs.notifyUp = cmd } else { rs.notifyDown = cmd }
                }
            case "uthreshold":
                if let v = ctx.integer(child, in: 0...Int(UInt32.max)) { rs.upperThreshold = UInt32(v) }
            case "lthreshold":
                if let v = ctx.integer(child, in: 0...Int(UInt32.max)) { rs.lowerThreshold = UInt32(v) }
            case "smtp_alert":
                rs.smtpAlert = ctx.bool(child)
            case "virtualhost":
                virtualhost = ctx.word(child, expected: "a host name")
            default:
                if CheckerKind(rawValue: child.name) != nil {
                    checkerNodes.append(child)
                } else {
                    ctx.unknownKeyword(child, in: .realServer)
                }
            }
        }
        if rs.upperThreshold != 0 && rs.lowerThreshold > rs.upperThreshold {
            ctx.error(.valueOutOfRange, "real_server \(rs.address): lthreshold \(rs.lowerThreshold) is above uthreshold \(rs.upperThreshold)", at: node.location)
        }
        let rsTiming = timing.over(parent)
        rs.timing = rsTiming.resolved(for: nil)
        for c in checkerNodes {
            if let checker = resolveChecker(c, server: rs, timing: rsTiming, virtualhost: virtualhost) { rs.checkers.append(checker) }
        }
        return rs
    }

    // MARK: Checkers

    private mutating func resolveChecker(_ node: Node, server rs: RealServer, timing parent: TimingOverrides, virtualhost: String?) -> Checker? {
        guard let kind = CheckerKind(rawValue: node.name), let checkerBlock = ctx.block(node) else { return nil }
        ctx.noExtraArguments(node, count: 0)
        var timing = TimingOverrides()
        let defaultPort: UInt16 = kind == .smtp ? 25 : (kind == .dns && rs.address.port == 0 ? 53 : rs.address.port)
        var connection = CheckerConnection(connectIP: rs.address.address, connectPort: defaultPort)
        let block = KeywordBlock.checker(kind)
        var http = HTTPCheck(timing: CheckerTiming(), connection: connection, useTLS: kind == .ssl, virtualhost: virtualhost)
        var smtp = SMTPCheck(timing: CheckerTiming(), connection: connection, heloName: global.smtpHeloName ?? "smtpchecker.keepalived.org")
        var miscPath: String?
        var miscTimeout: Seconds?
        var miscDynamic = false
        var user: String?
        var group: String?
        var dns = DNSCheck(timing: CheckerTiming(), connection: connection)
        var udp = UDPCheck(timing: CheckerTiming(), connection: connection)
        var file = FileCheck(trackFile: "")
        for child in checkerBlock {
            if child.name != "url" && child.name != "host" { ctx.noBlock(child) }
            ctx.support(child, in: block)
            if kind != .file, timingKeyword(child, into: &timing) { continue }
            if kind != .misc && kind != .file, connectionKeyword(child, into: &connection) { continue }
            switch (kind, child.name) {
            case (.http, "url"), (.ssl, "url"):
                if let u = resolveURL(child) { http.urls.append(u) }
            case (.http, "http_protocol"), (.ssl, "http_protocol"):
                if let p = ctx.word(child, expected: "1.0, 1.0C or 1.1") {
                    if ["1.0", "1.0C", "1.0c", "1.1"].contains(p) { http.httpProtocol = p.uppercased() } else {
                        ctx.error(.invalidValue, "`http_protocol` expects 1.0, 1.0C or 1.1, not `\(p)`", at: child.arguments[0].location)
                    }
                }
            case (.http, "fast_recovery"), (.ssl, "fast_recovery"):
                http.fastRecovery = ctx.bool(child)
            case (.http, "enable_sni"), (.ssl, "enable_sni"):
                http.enableSNI = ctx.bool(child)
            case (.http, "virtualhost"), (.ssl, "virtualhost"):
                http.virtualhost = ctx.word(child, expected: "a host name")
            case (.ssl, "verify_ca"):
                http.verifyCA = ctx.text(child, expected: "a PEM file of CA certificates")
            case (.ssl, "verify_name"):
                http.verifyName = ctx.word(child, expected: "a host name")
            case (.smtp, "helo_name"):
                if let h = ctx.text(child, expected: "a host name") { smtp.heloName = h }
            case (.smtp, "host"):
                if let hostBlock = ctx.block(child) {
                    var h = CheckerConnection(connectIP: rs.address.address, connectPort: 25)
                    for entry in hostBlock {
                        ctx.noBlock(entry)
                        ctx.support(entry, in: .smtpHost)
                        if !connectionKeyword(entry, into: &h) {
                            ctx.unknownKeyword(entry, in: .smtpHost)
                        }
                    }
                    smtp.hosts.append(h)
                }
            case (.misc, "misc_path"):
                if let p = ctx.text(child, expected: "a command") {
                    miscPath = p
                    scriptUses.append(ScriptUse(command: p, location: child.arguments[0].location, what: "MISC_CHECK"))
                }
            case (.misc, "misc_timeout"):
                miscTimeout = ctx.seconds(child, in: 0.000001...Context.maximumSeconds)
            case (.misc, "misc_dynamic"):
                miscDynamic = ctx.bool(child)
            case (.misc, "user"):
                if let u = ctx.argument(child, expected: "a user name") {
                    user = u.text
                    group = child.arguments.count > 1 ? child.arguments[1].text : nil
                    ctx.noExtraArguments(child, count: 2)
                }
            case (.misc, "log_all_failures"):
                _ = ctx.bool(child)
            case (.dns, "type"):
                if let t = ctx.word(child, expected: "a query type (A, NS, CNAME, SOA, MX, TXT, AAAA)") {
                    let valid = ["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"]
                    if valid.contains(t.uppercased()) { dns.type = t.uppercased() } else {
                        ctx.error(.invalidValue, "`type` expects one of \(valid.joined(separator: ", ")), not `\(t)`", at: child.arguments[0].location)
                    }
                }
            case (.dns, "name"):
                if let n = ctx.word(child, expected: "a domain name") {
                    if let problem = Self.domainNameProblem(n) {
                        ctx.error(.invalidValue, "`name` \(n): \(problem)", at: child.arguments[0].location)
                    } else {
                        dns.name = n
                    }
                }
            case (.udp, "payload"):
                if let hex = ctx.text(child, expected: "hex data such as `01 02 0a0b`"),
                   hexPattern(hex, allowWildcards: false, for: child) != nil {
                    udp.payload = hex
                }
            case (.udp, "require_reply"):
                udp.requireReply = true
                if !child.arguments.isEmpty {
                    let hex = child.arguments.map(\.text).joined(separator: " ")
                    if hexPattern(hex, allowWildcards: true, for: child) != nil { udp.replyData = hex }
                }
            case (.udp, "min_reply_length"):
                udp.minimumReplyLength = ctx.integer(child, in: 0...65535)
            case (.udp, "max_reply_length"):
                udp.maximumReplyLength = ctx.integer(child, in: 0...65535)
            case (.file, "track_file"), (.file, "file"):
                if let n = ctx.word(child, expected: "a track_file name") { file.trackFile = n }
            case (.file, "dynamic"):
                file.dynamic = ctx.bool(child)
            case (.file, "weight"):
                // keepalived's check_file.c: ±IPVS_WEIGHT_MAX, then `reverse` or `noreverse`.
                file.weight = ctx.integer(child, in: -65535...65535, checkExtra: false)
                if child.arguments.count > 1 {
                    switch child.arguments[1].text {
                    case "reverse": file.reverse = true
                    case "noreverse": file.reverse = false
                    default: ctx.error(.invalidValue, "`weight` expects `reverse` or `noreverse` after the number, not `\(child.arguments[1].text)`", at: child.arguments[1].location)
                    }
                }
            default:
                ctx.unknownKeyword(child, in: block)
            }
        }
        let t = timing.over(parent).resolved(for: kind)
        switch kind {
        case .tcp:
            return .tcp(TCPCheck(timing: t, connection: connection))
        case .http, .ssl:
            http.timing = t
            http.connection = connection
            if http.urls.isEmpty {
                ctx.error(.missingRequired, "\(kind.rawValue) for real_server \(rs.address) has no `url { path ... }` block", at: node.location)
                return nil
            }
            if http.verifyName != nil && http.verifyCA == nil {
                ctx.warning(.ignoredSetting, "`verify_name` has no effect without `verify_ca`: the certificate is not verified", at: node.location)
            }
            return kind == .ssl ? .ssl(http) : .http(http)
        case .smtp:
            smtp.timing = t
            smtp.connection = connection
            return .smtp(smtp)
        case .misc:
            guard let path = miscPath else {
                ctx.error(.missingRequired, "MISC_CHECK for real_server \(rs.address) has no `misc_path`", at: node.location)
                return nil
            }
            return .misc(MiscCheck(timing: t, path: path, timeout: miscTimeout ?? t.delayLoop, dynamic: miscDynamic, user: user, group: group))
        case .dns:
            dns.timing = t
            dns.connection = connection
            return .dns(dns)
        case .udp:
            udp.timing = t
            udp.connection = connection
            let low = udp.minimumReplyLength ?? UDPCheck.defaultMinimumReplyLength
            let high = udp.maximumReplyLength ?? UDPCheck.defaultMaximumReplyLength
            if udp.replyData != nil, low > high {
                ctx.warning(.valueOutOfRange, "UDP_CHECK for real_server \(rs.address): min_reply_length \(low) is above max_reply_length \(high); the check always fails", at: node.location)
            }
            return .udp(udp)
        case .ping:
            return .ping(PingCheck(timing: t, connection: connection))
        case .file:
            if file.trackFile.isEmpty {
                ctx.error(.missingRequired, "FILE_CHECK for real_server \(rs.address) has no `track_file`", at: node.location)
                return nil
            }
            fileCheckReferences.append((file.trackFile, node.location))
            return .file(file)
        }
    }

    /// Parses keepalived hex text, reporting where it is wrong; nil when it is.
    private mutating func hexPattern(_ text: String, allowWildcards: Bool, for node: Node) -> HexPattern? {
        switch HexPattern.parse(text, allowWildcards: allowWildcards) {
        case .success(let p):
            return p
        case .failure(.empty):
            ctx.error(.invalidValue, "`\(node.name)` expects hex octets such as `01 02 0a0b`", at: node.location)
        case .failure(.invalidCharacter(let c, let offset)):
            let allowed = allowWildcards ? "hex digits, x for any nibble, spaces" : "hex digits and spaces"
            ctx.error(.invalidValue, "`\(node.name)` has `\(c)` at character \(offset + 1) of `\(text)` (expected \(allowed))", at: node.arguments[0].location)
        }
        return nil
    }

    /// Why `name` cannot be a DNS_CHECK query name (RFC 1035 §2.3.4: labels of 1–63 octets, 255
    /// octets in all); nil when it can. `.` is the root.
    static func domainNameProblem(_ name: String) -> String? {
        if name == "." { return nil }
        var labels = name.split(separator: ".", omittingEmptySubsequences: false)
        if labels.last == "" { labels.removeLast() }
        if labels.contains(where: \.isEmpty) { return "empty label (keepalived refuses it too)" }
        if let long = labels.first(where: { $0.utf8.count > 63 }) { return "label `\(long)` is longer than 63 octets" }
        if labels.reduce(1, { $0 + $1.utf8.count + 1 }) > 255 { return "longer than 255 octets" }
        return nil
    }

    /// Handles a connection keyword into `c`; false when `node` is not one.
    private mutating func connectionKeyword(_ node: Node, into c: inout CheckerConnection) -> Bool {
        switch node.name {
        case "connect_ip":
            if let a = ctx.address(node) { c.connectIP = a }
            ctx.noExtraArguments(node, count: 1)
        case "connect_port":
            if let p = ctx.port(node) { c.connectPort = p }
        case "bindto":
            c.bindTo = ctx.address(node)
            ctx.noExtraArguments(node, count: 1)
        case "bind_port":
            c.bindPort = ctx.port(node)
        case "bind_if":
            c.bindInterface = ctx.word(node, expected: "an interface name")
        case "fwmark":
            if let m = ctx.integer(node, in: 1...Int(UInt32.max)) { c.firewallMark = UInt32(m) }
        case "log_all_failures":
            _ = ctx.bool(node)
        default:
            return false
        }
        return true
    }

    private mutating func resolveURL(_ node: Node) -> HTTPURL? {
        guard let block = ctx.block(node) else { return nil }
        var path: String?
        var url = HTTPURL(path: "/")
        var codes: [HTTPStatusRange] = []
        for child in block {
            ctx.noBlock(child)
            ctx.support(child, in: .url)
            switch child.name {
            case "path":
                path = ctx.word(child, expected: "a request path")
            case "digest":
                if let d = ctx.word(child, expected: "an MD5 digest (32 hex digits)") {
                    let lower = d.lowercased()
                    if lower.utf8.count == 32, lower.allSatisfy({ $0.isHexDigit }) { url.digest = lower } else {
                        ctx.error(.invalidValue, "`digest` expects an MD5 digest of 32 hex digits, not `\(d)`", at: child.arguments[0].location)
                    }
                }
            case "status_code":
                if child.arguments.isEmpty { _ = ctx.argument(child, expected: "status codes or ranges like 200 or 200-299") }
                for t in child.arguments {
                    let parts = t.text.split(separator: "-", omittingEmptySubsequences: false)
                    let lo = parts.first.flatMap { Int($0) }
                    let hi = parts.count == 2 ? Int(parts[1]) : lo
                    guard parts.count <= 2, let l = lo, let h = hi else {
                        ctx.error(.invalidValue, "`status_code` expects a code or range like 200 or 200-299, not `\(t.text)`", at: t.location)
                        continue
                    }
                    guard (100...999).contains(l), (100...999).contains(h), l <= h else {
                        ctx.error(.valueOutOfRange, "`status_code` \(t.text) is out of range (expected 100–999, low before high)", at: t.location)
                        continue
                    }
                    codes.append(HTTPStatusRange(l, h))
                }
            case "virtualhost":
                url.virtualhost = ctx.word(child, expected: "a host name")
            case "regex":
                url.regex = ctx.text(child, expected: "a regular expression")
            case "regex_no_match":
                url.regexNoMatch = ctx.bool(child)
            case "regex_options":
                for t in child.arguments {
                    if HTTPURL.regexOptionNames.contains(t.text) { url.regexOptions.append(t.text) } else {
                        ctx.warning(.unexpectedArgument, "unknown regex option `\(t.text)` (ignored, as keepalived does); valid: \(HTTPURL.regexOptionNames.joined(separator: ", "))", at: t.location)
                    }
                }
            case "regex_min_offset":
                url.regexMinOffset = ctx.integer(child, in: 0...Int(Int32.max))
            case "regex_max_offset":
                url.regexMaxOffset = ctx.integer(child, in: 0...Int(Int32.max))
            default:
                ctx.unknownKeyword(child, in: .url)
            }
        }
        guard let p = path else {
            ctx.error(.missingRequired, "`url` block has no `path`", at: node.location)
            return nil
        }
        url.path = p
        if !codes.isEmpty { url.statusCodes = codes }
        if url.regex == nil, url.regexNoMatch || !url.regexOptions.isEmpty || url.regexMinOffset != nil || url.regexMaxOffset != nil {
            ctx.warning(.ignoredSetting, "`url` \(p): regex settings without `regex` are ignored (keepalived ignores them too)", at: node.location)
            url.regexNoMatch = false
            url.regexOptions = []
            url.regexMinOffset = nil
            url.regexMaxOffset = nil
        }
        if let lo = url.regexMinOffset, let hi = url.regexMaxOffset, lo > hi {
            ctx.error(.valueOutOfRange, "`url` \(p): regex_min_offset \(lo) is above regex_max_offset \(hi) (keepalived ignores both; Vigil refuses)", at: node.location)
        }
        return url
    }

    // MARK: Helpers

    static func describe(_ address: VirtualServerAddress) -> String {
        switch address {
        case .socket(let s): s.description
        case .firewallMark(let m): "fwmark \(m)"
        case .group(let g): "group \(g)"
        }
    }

    static func netmask(prefix: Int, family: AddressFamily) -> IPAddress {
        if family == .inet {
            let p = min(prefix, 32)
            return .v4(p == 0 ? 0 : UInt32.max << (32 - p))
        }
        let p = min(prefix, 128)
        let hi: UInt64 = p >= 64 ? .max : (p == 0 ? 0 : UInt64.max << (64 - p))
        let lo: UInt64 = p <= 64 ? 0 : (p == 128 ? .max : UInt64.max << (128 - p))
        return .v6(hi, lo)
    }
}

/// Identity of a virtual server for duplicate detection.
struct VirtualServerKey: Hashable {
    var address: VirtualServerAddress
    var `protocol`: TransportProtocol
}

extension VirtualServer {
    /// The service port (0 for fwmark and group services, which have none of their own).
    public var port: UInt16 {
        if case .socket(let s) = address { return s.port }
        return 0
    }
}
