import IPVS
import VigilSupport

/// Which columns a listing shows (ipvsadm `-L` options); one at a time, as ipvsadm prints them.
public enum ListingColumns: String, Sendable, CaseIterable {
    /// Scheduler, flags, forwarding method, weight, connection counts (plain `-L`).
    case standard
    /// `--stats`: packet and byte counters.
    case stats
    /// `--rate`: per-second rates.
    case rate
    /// `--thresholds`: upper and lower connection thresholds.
    case thresholds
    /// `--persistent-conn`: persistent connection counts.
    case persistentConnections
    /// `--tun-info`: tunnel type, port and checksum flags.
    case tunnelInfo
}

/// How to render a listing: the ipvsadm options that change its shape.
public struct ListingOptions: Sendable {
    public var columns: ListingColumns
    /// `--exact`: print counters in full instead of K/M/G/T abbreviations.
    public var exact: Bool
    /// `--nosort` turns this off: print in kernel order.
    public var sorted: Bool

    public init(columns: ListingColumns = .standard, exact: Bool = false, sorted: Bool = true) {
        self.columns = columns
        self.exact = exact
        self.sorted = sorted
    }

    /// The columns ipvsadm picks when several options are given (stats > rate > thresholds >
    /// persistent-conn > tun-info).
    public static func columns(
        stats: Bool, rate: Bool, thresholds: Bool, persistentConnections: Bool, tunnelInfo: Bool
    ) -> ListingColumns {
        if stats { return .stats }
        if rate { return .rate }
        if thresholds { return .thresholds }
        if persistentConnections { return .persistentConnections }
        if tunnelInfo { return .tunnelInfo }
        return .standard
    }
}

/// Renders the kernel table exactly as ipvsadm 1.31 prints it (`-L`, `-S`, `--timeout`, `--daemon`).
public struct IPVSAdmPrinter: Sendable {
    public var names: any NameResolving

    public init(names: any NameResolving) {
        self.names = names
    }

    // MARK: Listings

    /// `ipvsadm -L`: version header, column titles and every service.
    public func listing(info: IPVSInfo, table: [ServiceEntry], options: ListingOptions) -> String {
        var out = "IP Virtual Server version \(info.versionString) (size=\(info.connectionTableSize))\n"
        out += title(options.columns)
        let entries = options.sorted ? IPVSAdmOrder.sorted(table) : table
        for entry in entries {
            out += service(entry, options: options)
        }
        return out
    }

    /// `ipvsadm -L -t|-u|-f SERVICE`: column titles and one service, without the version header.
    public func listing(entry: ServiceEntry, options: ListingOptions) -> String {
        title(options.columns) + service(entry, options: options)
    }

    /// `ipvsadm -S`: the table as rule lines `ipvsadm -R` reads back.
    ///
    /// Like ipvsadm, thresholds are not written unless `includeThresholds` is set (a Vigil
    /// extension: `-x`/`-y` are appended to destination lines that have them).
    public func rules(table: [ServiceEntry], sorted: Bool = true, includeThresholds: Bool = false) -> String {
        var out = ""
        let entries = sorted ? IPVSAdmOrder.sorted(table) : table
        for entry in entries {
            let svc = entry.service
            let name = ruleServiceName(svc.key)
            out += "-A \(name) -s \(svc.scheduler)"
            if svc.flags.contains(.persistent) {
                out += " -p \(svc.timeout)"
                out += maskText(svc, prefix: " -M ")
            }
            if let pe = svc.persistenceEngine, !pe.isEmpty { out += " --pe \(pe)" }
            if svc.flags.contains(.onePacket) { out += " -o" }
            if svc.flags.hasSchedulerFlags { out += " -b " + schedulerFlagsText(svc) }
            out += "\n"
            let dests = sorted ? IPVSAdmOrder.sorted(entry.destinations) : entry.destinations
            for d in dests {
                let dname = addressPort(d.address, d.port, proto(svc.key))
                var line = "-a \(name) -r \(dname) \(forwardingSwitch(d.forwarding)) -w \(Int32(bitPattern: d.weight))"
                if d.forwarding == .tunnel {
                    switch d.tunnelType {
                    case .ipip:
                        line += " --tun-type ipip"
                    case .gue:
                        line += " --tun-type gue --tun-port \(d.tunnelPort) \(tunnelFlagOption(d.tunnelFlags))"
                    case .gre:
                        line += " --tun-type gre \(tunnelFlagOption(d.tunnelFlags))"
                    }
                }
                if includeThresholds {
                    if d.upperThreshold != 0 { line += " -x \(d.upperThreshold)" }
                    if d.lowerThreshold != 0 { line += " -y \(d.lowerThreshold)" }
                }
                out += line + "\n"
            }
        }
        return out
    }

    /// `ipvsadm -L --timeout`.
    public static func timeouts(_ t: Timeouts) -> String {
        "Timeout (tcp tcpfin udp): \(Int32(bitPattern: t.tcp)) \(Int32(bitPattern: t.tcpFin)) \(Int32(bitPattern: t.udp))\n"
    }

    /// `ipvsadm -L --daemon`: one line per running sync daemon, in kernel order.
    public static func daemons(_ daemons: [SyncDaemon]) -> String {
        var out = ""
        for d in daemons {
            let role = d.role == .master ? "master" : "backup"
            out += "\(role) sync daemon (mcast=\(d.interface), syncid=\(Int32(bitPattern: d.syncID))"
            if d.maxLength != 0 { out += ", maxlen=\(d.maxLength)" }
            if let g = d.multicastGroup { out += ", group=\(g)" }
            if d.multicastPort != 0 { out += ", port=\(d.multicastPort)" }
            if d.multicastTTL != 0 { out += ", ttl=\(d.multicastTTL)" }
            out += ")\n"
        }
        return out
    }

    // MARK: Pieces

    func title(_ columns: ListingColumns) -> String {
        let prot = "Prot LocalAddress:Port".leftPadded(to: 33)
        switch columns {
        case .stats:
            return prot + " " + ["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"]
                .map { $0.rightPadded(to: 8) }.joined(separator: " ") + "\n  -> RemoteAddress:Port\n"
        case .rate:
            return prot + " " + ["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"]
                .map { $0.rightPadded(to: 8) }.joined(separator: " ") + "\n  -> RemoteAddress:Port\n"
        case .thresholds:
            return prot + " " + ["Uthreshold", "Lthreshold", "ActiveConn", "InActConn"]
                .map { $0.leftPadded(to: 10) }.joined(separator: " ") + "\n  -> RemoteAddress:Port\n"
        case .persistentConnections:
            return prot + " " + "Weight".leftPadded(to: 9) + " " + "PersistConn".leftPadded(to: 11) + " "
                + "ActiveConn".leftPadded(to: 10) + " " + "InActConn".leftPadded(to: 10) + "\n  -> RemoteAddress:Port\n"
        case .tunnelInfo:
            return "Prot LocalAddress:Port Scheduler Flags\n"
                + "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n"
        case .standard:
            return "Prot LocalAddress:Port Scheduler Flags\n"
                + "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
        }
    }

    func service(_ entry: ServiceEntry, options: ListingOptions) -> String {
        let svc = entry.service
        let name = listServiceName(svc.key)
        var out: String
        let st = svc.statistics ?? Statistics()
        switch options.columns {
        case .stats:
            out = name.leftPadded(to: 33)
            for v in [st.connections, st.inPackets, st.outPackets, st.inBytes, st.outBytes] {
                out += largeNumber(v, exact: options.exact)
            }
        case .rate:
            out = name.leftPadded(to: 33)
            for v in [st.cps, st.inPPS, st.outPPS, st.inBPS, st.outBPS] {
                out += largeNumber(v, exact: options.exact)
            }
        default:
            out = "\(name) \(svc.scheduler)"
            if svc.flags.hasSchedulerFlags { out += " (" + schedulerFlagsText(svc) + ")" }
            if svc.flags.contains(.persistent) {
                out += " persistent \(svc.timeout)"
                out += maskText(svc, prefix: " mask ")
                if let pe = svc.persistenceEngine, !pe.isEmpty { out += " pe \(pe)" }
            }
            if svc.flags.contains(.onePacket) { out += " ops" }
        }
        out += "\n"
        let dests = options.sorted ? IPVSAdmOrder.sorted(entry.destinations) : entry.destinations
        for d in dests {
            var dname = addressPort(d.address, d.port, proto(svc.key))
            if d.address.family != .inet6 { dname = dname.truncated(to: 28) }
            var prefix = "  -> "
            prefix.appendLeftJustified(dname, width: 28)
            let active = d.activeConnections ?? 0, inactive = d.inactiveConnections ?? 0
            let weight = Int32(bitPattern: d.weight)
            switch options.columns {
            case .stats:
                let s = d.statistics ?? Statistics()
                out += prefix + [s.connections, s.inPackets, s.outPackets, s.inBytes, s.outBytes]
                    .map { largeNumber($0, exact: options.exact) }.joined() + "\n"
            case .rate:
                let s = d.statistics ?? Statistics()
                out += prefix + " " + [s.cps, s.inPPS, s.outPPS].map { String($0).rightPadded(to: 8) }
                    .joined(separator: " ")
                    + largeNumber(s.inBPS, exact: options.exact) + largeNumber(s.outBPS, exact: options.exact) + "\n"
            case .thresholds:
                out += prefix + " " + [d.upperThreshold, d.lowerThreshold, active, inactive]
                    .map { String($0).leftPadded(to: 10) }.joined(separator: " ") + "\n"
            case .persistentConnections:
                out += prefix + " " + String(d.weight).leftPadded(to: 9) + " "
                    + String(d.persistentConnections ?? 0).leftPadded(to: 11) + " "
                    + String(active).leftPadded(to: 10) + " " + String(inactive).leftPadded(to: 10) + "\n"
            case .tunnelInfo:
                out += prefix + " " + forwardingName(d.forwarding).leftPadded(to: 7) + " "
                    + (tunnelInfo(d) ?? "n/a").leftPadded(to: 13) + " " + String(weight).leftPadded(to: 6) + " "
                    + String(active).leftPadded(to: 10) + " " + String(inactive).leftPadded(to: 10) + "\n"
            case .standard:
                // Appended piece by piece: this line is printed once per destination.
                out += prefix
                out += " "
                out.appendLeftJustified(forwardingName(d.forwarding), width: 7)
                out += " "
                out.appendLeftJustified(String(weight), width: 6)
                out += " "
                out.appendLeftJustified(String(active), width: 10)
                out += " "
                out.appendLeftJustified(String(inactive), width: 10)
                out += "\n"
            }
        }
        return out
    }

    /// `TCP  192.0.2.1:80`, `FWM  42`, `FWM  43 IPv6`; IPv4 names are cut at 33 characters.
    func listServiceName(_ key: ServiceKey) -> String {
        switch key {
        case .firewallMark(let m, let f):
            return f == .inet6 ? "FWM  \(m) IPv6" : "FWM  \(m)"
        case .address(let p, let a, let port):
            let label = p.description.leftPadded(to: 4) + " " + addressPort(a, port, p)
            return a.family == .inet6 ? label : label.truncated(to: 33)
        }
    }

    /// `-t 192.0.2.1:80`, `--sctp-service …`, `-f 42`, `-f 43 -6`.
    func ruleServiceName(_ key: ServiceKey) -> String {
        switch key {
        case .firewallMark(let m, let f):
            return f == .inet6 ? "-f \(m) -6" : "-f \(m)"
        case .address(let p, let a, let port):
            return "\(RuleSyntax.serviceOption(p)) \(addressPort(a, port, p))"
        }
    }

    /// The protocol ipvsadm uses to name ports: none for firewall-mark services (the kernel
    /// reports protocol 0 for them, so their ports always print as numbers).
    private func proto(_ key: ServiceKey) -> IPVSProtocol? {
        if case .address(let p, _, _) = key { return p }
        return nil
    }

    /// `host:port` / `[host]:port`, resolved through `names`, at most 59 characters.
    func addressPort(_ a: IPAddress, _ port: UInt16, _ proto: IPVSProtocol?) -> String {
        let host = names.hostName(for: a) ?? a.fastText
        let service = names.serviceName(port: port, protocol: proto) ?? String(port)
        let text = a.family == .inet ? "\(host):\(service)" : "[\(host)]:\(service)"
        return text.truncated(to: 59)
    }

    private func maskText(_ svc: Service, prefix: String) -> String {
        if svc.key.family == .inet {
            return svc.netmask == 0xFFFF_FFFF ? "" : prefix + IPAddress.v4(svc.netmask).description
        }
        return svc.netmask == 128 ? "" : prefix + String(Int32(bitPattern: svc.netmask))
    }

    /// Counter column: exact, or abbreviated with K/M/G/T as ipvsadm's `print_largenum`.
    func largeNumber(_ i: UInt64, exact: Bool) -> String {
        if exact {
            let s = String(i)
            return s.rightPadded(to: s.count <= 8 ? 9 : s.count + 1)
        }
        if i < 100_000_000 { return String(i).rightPadded(to: 9) }
        if i < 1_000_000_000 { return String(i / 1000).rightPadded(to: 8) + "K" }
        if i < 100_000_000_000 { return String(i / 1_000_000).rightPadded(to: 8) + "M" }
        if i < 100_000_000_000_000 { return String(i / 1_000_000_000).rightPadded(to: 8) + "G" }
        return String(i / 1_000_000_000_000).rightPadded(to: 8) + "T"
    }

    func forwardingName(_ f: ForwardingMethod) -> String {
        switch f {
        case .masquerade: "Masq"
        case .localNode: "Local"
        case .tunnel: "Tunnel"
        case .route: "Route"
        case .bypass: "(null)"
        }
    }

    func forwardingSwitch(_ f: ForwardingMethod) -> String {
        switch f {
        case .masquerade: "-m"
        case .tunnel: "-i"
        case .localNode, .route: "-g"
        case .bypass: "(null)"
        }
    }

    /// `ipip`, `gue:6080:+c`, `gre:r+c`; nil for non-tunnel destinations.
    func tunnelInfo(_ d: Destination) -> String? {
        guard d.forwarding == .tunnel else { return nil }
        switch d.tunnelType {
        case .ipip: return "ipip"
        case .gue: return "gue:\(d.tunnelPort):\(tunnelFlagShort(d.tunnelFlags))"
        case .gre: return "gre:\(tunnelFlagShort(d.tunnelFlags))"
        }
    }

    private func tunnelFlagShort(_ f: TunnelFlags) -> String {
        switch f.rawValue {
        case 0: "-c"
        case 1: "+c"
        case 2: "r+c"
        default: "?"
        }
    }

    private func tunnelFlagOption(_ f: TunnelFlags) -> String {
        switch f.rawValue {
        case 0: "--tun-nocsum"
        case 1: "--tun-csum"
        case 2: "--tun-remcsum"
        default: "--tun-csum --tun-remcsum"
        }
    }

    /// `sh-fallback,sh-port`, `mh-port`, `flag-1,flag-3`: named per scheduler as ipvsadm does.
    func schedulerFlagsText(_ svc: Service) -> String {
        var parts: [String] = []
        switch svc.scheduler {
        case "sh":
            if svc.flags.contains(.sched1) { parts.append("sh-fallback") }
            if svc.flags.contains(.sched2) { parts.append("sh-port") }
        case "mh":
            if svc.flags.contains(.sched1) { parts.append("mh-fallback") }
            if svc.flags.contains(.sched2) { parts.append("mh-port") }
        default:
            if svc.flags.contains(.sched1) { parts.append("flag-1") }
            if svc.flags.contains(.sched2) { parts.append("flag-2") }
            if svc.flags.contains(.sched3) { parts.append("flag-3") }
        }
        return parts.joined(separator: ",")
    }
}

extension ServiceFlags {
    /// Any of `IP_VS_SVC_F_SCHED1…3` set.
    var hasSchedulerFlags: Bool { !intersection([.sched1, .sched2, .sched3]).isEmpty }
}
