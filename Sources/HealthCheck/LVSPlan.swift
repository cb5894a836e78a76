import IPVS
import KeepalivedConfig
import VigilSupport

/// The checker half's reading of a configuration: virtual servers with their real servers and
/// checks, in the shapes the runtime uses. A pure function of the configuration.
public struct LVSPlan: Sendable, Hashable {
    public var virtualServers: [VirtualServerSpec]
    /// `lvs_flush`: flush the whole IPVS table at start-up.
    public var flushOnStart: Bool
    /// `lvs_timeouts`: set once at start-up; 0 leaves that timeout as the kernel has it.
    public var timeouts: Timeouts?
    /// Things configured that this half does not act on (each names where), for the log.
    public var notes: [String]
    /// `script_user USER [GROUP]` for notify and quorum scripts; nil runs them as Vigil's user.
    public var scriptUser: String?
    public var scriptGroup: String?

    public init(virtualServers: [VirtualServerSpec], flushOnStart: Bool = false, timeouts: Timeouts? = nil, notes: [String] = [],
                scriptUser: String? = nil, scriptGroup: String? = nil) {
        self.virtualServers = virtualServers
        self.flushOnStart = flushOnStart
        self.timeouts = timeouts
        self.notes = notes
        self.scriptUser = scriptUser
        self.scriptGroup = scriptGroup
    }

    /// Every check of every real server (duplicates included; the pool runs each once).
    public var allChecks: [CheckSpec] { virtualServers.flatMap { $0.realServers.flatMap(\.checks) } }

    public init(configuration config: KeepalivedConfiguration, hostName: String? = nil) {
        var specs: [VirtualServerSpec] = []
        var notes: [String] = []
        for vs in config.virtualServers {
            let keys: [ServiceKey]
            switch vs.address {
            case .socket(let sa):
                keys = [.address(IPVSProtocol(vs.protocol), sa.address, sa.port)]
            case .firewallMark(let m):
                keys = [.firewallMark(m, vs.family)]
            case .group(let name):
                guard let group = config.virtualServerGroup(named: name) else {
                    notes.append("virtual_server group \(name): no such virtual_server_group; skipped")
                    continue
                }
                keys = group.entries.flatMap { e -> [ServiceKey] in
                    switch e {
                    case .address(let sa): return [.address(IPVSProtocol(vs.protocol), sa.address, sa.port)]
                    case .firewallMark(let m): return [.firewallMark(m, vs.family)]
                    case .range(let first, let last, let port):
                        var out: [ServiceKey] = []
                        var a = first
                        while a <= last, out.count < 65_536 {
                            out.append(.address(IPVSProtocol(vs.protocol), a, port))
                            guard let n = a.adding(1) else { break }
                            a = n
                        }
                        return out
                    }
                }
            }
            let realServers = vs.realServers.map { rs -> RealServerSpec in
                var checks: [CheckSpec] = []
                for checker in rs.checkers {
                    let made = Self.checks(for: checker, realServer: rs, virtualServer: vs, global: config.global, trackFiles: config.trackFiles,
                                           hostName: hostName)
                    if made.isEmpty {
                        notes.append("real_server \(rs.address): \(checker.kind.rawValue) is not run by Vigil yet; the server's other checkers decide")
                    }
                    checks += made
                }
                return RealServerSpec(
                    destination: Destination(address: rs.address.address, port: rs.address.port,
                                             forwarding: IPVS.ForwardingMethod(rs.forwardingMethod),
                                             weight: UInt32(clamping: max(0, rs.weight)),
                                             upperThreshold: rs.upperThreshold, lowerThreshold: rs.lowerThreshold),
                    checks: checks, inhibitOnFailure: rs.inhibitOnFailure,
                    notifyUp: rs.notifyUp.map(splitScriptCommand), notifyDown: rs.notifyDown.map(splitScriptCommand))
            }
            let sorry = vs.sorryServer.map {
                Destination(address: $0.address.address, port: $0.address.port, forwarding: IPVS.ForwardingMethod($0.forwardingMethod), weight: 1)
            }
            for key in keys {
                var spec = VirtualServerSpec(
                    service: Self.service(key, vs), realServers: realServers.map { Self.adjustPort($0, for: key) },
                    sorryServer: sorry, sorryServerInhibit: vs.sorryServer?.inhibit ?? false,
                    quorum: vs.quorum, hysteresis: vs.hysteresis,
                    quorumUp: vs.quorumUp.map(splitScriptCommand), quorumDown: vs.quorumDown.map(splitScriptCommand))
                spec.transport = IPVSProtocol(vs.protocol)
                specs.append(spec)
            }
        }
        let timeouts = config.global.lvsTimeouts.map { t in
            Timeouts(tcp: UInt32(t.tcp ?? 0), tcpFin: UInt32(t.tcpFin ?? 0), udp: UInt32(t.udp ?? 0))
        }
        self.init(virtualServers: specs, flushOnStart: config.global.lvsFlush, timeouts: timeouts, notes: notes,
                  scriptUser: config.global.scriptUser, scriptGroup: config.global.scriptGroup)
    }

    /// Real servers of a group range keep their own port; nothing to adjust beyond identity today.
    static func adjustPort(_ rs: RealServerSpec, for key: ServiceKey) -> RealServerSpec { rs }

    static func service(_ key: ServiceKey, _ vs: VirtualServer) -> Service {
        var flags: ServiceFlags = []
        if vs.persistenceTimeout != nil { flags.insert(.persistent) }
        if vs.onePacketScheduling { flags.insert(.onePacket) }
        if vs.schedulerFlags.flag1 { flags.insert(.sched1) }
        if vs.schedulerFlags.flag2 { flags.insert(.sched2) }
        if vs.schedulerFlags.flag3 { flags.insert(.sched3) }
        var netmask: UInt32? = nil
        if let g = vs.persistenceGranularity {
            switch g {
            case .v4(let m): netmask = m
            case .v6(let hi, let lo): netmask = UInt32(hi.nonzeroBitCount + lo.nonzeroBitCount)
            }
        }
        return Service(key: key, scheduler: vs.scheduler, flags: flags, timeout: vs.persistenceTimeout ?? 0,
                       netmask: netmask, persistenceEngine: vs.persistenceEngine)
    }

    static func timing(_ t: CheckerTiming) -> CheckTiming {
        CheckTiming(delayLoop: .seconds(t.delayLoop), retry: max(0, t.retry), delayBeforeRetry: .seconds(t.delayBeforeRetry),
                    warmup: .seconds(t.warmup), alpha: t.alpha)
    }

    static func connection(_ c: CheckerConnection, _ t: CheckerTiming) -> ConnectionSettings {
        ConnectionSettings(address: c.connectIP, port: c.connectPort, bindAddress: c.bindTo, bindPort: c.bindPort ?? 0,
                           timeout: .seconds(t.connectTimeout), interface: c.bindInterface, firewallMark: c.firewallMark)
    }

    static func checks(for checker: Checker, realServer rs: RealServer, virtualServer vs: VirtualServer,
                       global: GlobalDefinitions, trackFiles: [TrackFile] = [], hostName: String?) -> [CheckSpec] {
        switch checker {
        case .tcp(let c):
            return [CheckSpec(kind: .tcp(connection(c.connection, c.timing)), timing: timing(c.timing))]
        case .http(let h), .ssl(let h):
            let urls = h.urls.map {
                URLCheck(path: $0.path, statusCodes: StatusCodeSet($0.statusCodes.map { $0.lower...max($0.lower, $0.upper) }),
                         digest: $0.digest, virtualHost: $0.virtualhost,
                         regex: $0.regex.map { [u = $0] in
                             BodyRegex(pattern: $0, options: u.regexOptions, noMatch: u.regexNoMatch, minOffset: u.regexMinOffset ?? 0,
                                       maxOffset: u.regexMaxOffset)
                         })
            }
            let settings = HTTPCheckSettings(
                connection: connection(h.connection, h.timing), urls: urls, virtualHost: h.virtualhost ?? vs.virtualhost,
                version: h.httpProtocol == "1.1" ? .http11 : .http10,
                tls: h.useTLS ? TLSSettings(enableSNI: h.enableSNI,
                                            verification: h.verifyCA.map { TLSVerification(caFile: $0, expectedName: h.verifyName) }) : nil)
            return [CheckSpec(kind: .http(settings), timing: timing(h.timing))]
        case .smtp(let s):
            let targets = [s.connection] + s.hosts
            return targets.map {
                CheckSpec(kind: .smtp(SMTPCheckSettings(connection: connection($0, s.timing), heloName: s.heloName)), timing: timing(s.timing))
            }
        case .misc(let m):
            let settings = MiscCheckSettings(arguments: splitScriptCommand(m.path), timeout: .seconds(m.timeout), dynamic: m.dynamic,
                                             user: m.user ?? global.scriptUser, group: m.user == nil ? global.scriptGroup : m.group)
            return [CheckSpec(kind: .misc(settings), timing: timing(m.timing))]
        case .udp(let u):
            // The resolver has checked the hex text; a pattern it refused never reaches here.
            let payload = u.payload.flatMap { try? HexPattern.parse($0, allowWildcards: false).get() }
            let reply = u.replyData.flatMap { try? HexPattern.parse($0, allowWildcards: true).get() }
            let settings = UDPCheckSettings(
                connection: connection(u.connection, u.timing), payload: payload?.bytes, requireReply: u.requireReply,
                reply: reply?.bytes, replyWildcard: reply?.wildcard,
                minimumReplyLength: u.minimumReplyLength ?? UDPCheck.defaultMinimumReplyLength,
                maximumReplyLength: u.maximumReplyLength ?? UDPCheck.defaultMaximumReplyLength)
            return [CheckSpec(kind: .udp(settings), timing: timing(u.timing))]
        case .dns(let d):
            return [CheckSpec(kind: .dns(DNSCheckSettings(connection: connection(d.connection, d.timing), type: d.type, name: d.name)),
                              timing: timing(d.timing))]
        case .ping(let p):
            return [CheckSpec(kind: .ping(connection(p.connection, p.timing)), timing: timing(p.timing))]
        case .file(let f):
            // The resolver has checked that the track_file exists. No retries: the file's number
            // is the verdict; delay_loop only re-reads it (inotify reports changes at once).
            guard let def = trackFiles.first(where: { $0.name == f.trackFile }) else { return [] }
            let settings = FileCheckSettings(path: def.file, weight: f.weight ?? def.weight,
                                             reverse: f.weight != nil ? f.reverse : def.reverse,
                                             baseWeight: UInt32(clamping: max(0, rs.weight)))
            return [CheckSpec(kind: .file(settings), timing: CheckTiming(delayLoop: .seconds(rs.timing.delayLoop), retry: 0,
                                                                        delayBeforeRetry: .seconds(1), warmup: .zero))]
        }
    }
}


extension IPVSProtocol {
    init(_ p: TransportProtocol) {
        switch p {
        case .tcp: self = .tcp
        case .udp: self = .udp
        case .sctp: self = .sctp
        }
    }
}

extension IPVS.ForwardingMethod {
    init(_ m: KeepalivedConfig.ForwardingMethod) {
        switch m {
        case .nat: self = .masquerade
        case .directRouting: self = .route
        case .tunnel: self = .tunnel
        }
    }
}
