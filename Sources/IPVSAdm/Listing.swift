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
        listingBuffer(info: info, table: table, options: options).text
    }

    /// ``listing(info:table:options:)`` as the bytes to write (no `String` round trip).
    public func listingBytes(info: IPVSInfo, table: [ServiceEntry], options: ListingOptions) -> [UInt8] {
        listingBuffer(info: info, table: table, options: options).bytes
    }

    func listingBuffer(info: IPVSInfo, table: [ServiceEntry], options: ListingOptions) -> TextBuffer {
        let lines = table.reduce(table.count) { $0 + $1.destinations.count }
        var out = TextBuffer(capacity: 128 + lines * 90)
        out.append("IP Virtual Server version \(info.versionString) (size=\(info.connectionTableSize))\n")
        out.append(title(options.columns))
        if options.sorted {
            for entry in IPVSAdmOrder.sorted(table) { service(entry, options: options, into: &out) }
        } else {
            for entry in table { service(entry, options: options, into: &out) }
        }
        return out
    }

    /// `ipvsadm -L -t|-u|-f SERVICE`: column titles and one service, without the version header.
    public func listing(entry: ServiceEntry, options: ListingOptions) -> String {
        var out = TextBuffer()
        out.append(title(options.columns))
        service(entry, options: options, into: &out)
        return out.text
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

    /// One service line and its destination lines, as `ipvsadm -L` prints them.
    func service(_ entry: ServiceEntry, options: ListingOptions, into out: inout TextBuffer) {
        let svc = entry.service
        let exact = options.exact
        switch options.columns {
        case .stats:
            let st = svc.statistics ?? Statistics()
            appendServiceName(svc.key, width: 33, into: &out)
            for v in [st.connections, st.inPackets, st.outPackets, st.inBytes, st.outBytes] {
                appendLargeNumber(v, exact: exact, into: &out)
            }
        case .rate:
            let st = svc.statistics ?? Statistics()
            appendServiceName(svc.key, width: 33, into: &out)
            for v in [st.cps, st.inPPS, st.outPPS, st.inBPS, st.outBPS] {
                appendLargeNumber(v, exact: exact, into: &out)
            }
        default:
            appendServiceName(svc.key, width: 0, into: &out)
            out.append(byte: UInt8(ascii: " "))
            out.append(svc.scheduler)
            if svc.flags.hasSchedulerFlags { out.append(" (" + schedulerFlagsText(svc) + ")") }
            if svc.flags.contains(.persistent) {
                out.append(" persistent ")
                out.appendDecimal(UInt64(svc.timeout))
                out.append(maskText(svc, prefix: " mask "))
                if let pe = svc.persistenceEngine, !pe.isEmpty { out.append(" pe " + pe) }
            }
            if svc.flags.contains(.onePacket) { out.append(" ops") }
        }
        out.append(byte: UInt8(ascii: "\n"))
        let proto = proto(svc.key)
        if options.sorted && entry.destinations.count > 1 {
            for d in IPVSAdmOrder.sorted(entry.destinations) { destination(d, proto, options: options, into: &out) }
        } else {
            for d in entry.destinations { destination(d, proto, options: options, into: &out) }
        }
    }

    /// One `  -> ` line.
    private func destination(_ d: Destination, _ proto: IPVSProtocol?, options: ListingOptions, into out: inout TextBuffer) {
        out.append("  -> ")
        appendAddressPort(d.address, d.port, proto, limit: d.address.family == .inet6 ? 59 : 28, into: &out, width: 28)
        let active = d.activeConnections ?? 0, inactive = d.inactiveConnections ?? 0
        let weight = Int32(bitPattern: d.weight)
        let exact = options.exact
        switch options.columns {
        case .stats:
            let s = d.statistics ?? Statistics()
            for v in [s.connections, s.inPackets, s.outPackets, s.inBytes, s.outBytes] {
                appendLargeNumber(v, exact: exact, into: &out)
            }
        case .rate:
            let s = d.statistics ?? Statistics()
            out.append(byte: UInt8(ascii: " "))
            out.appendRight(s.cps, width: 8)
            out.append(byte: UInt8(ascii: " "))
            out.appendRight(s.inPPS, width: 8)
            out.append(byte: UInt8(ascii: " "))
            out.appendRight(s.outPPS, width: 8)
            appendLargeNumber(s.inBPS, exact: exact, into: &out)
            appendLargeNumber(s.outBPS, exact: exact, into: &out)
        case .thresholds:
            out.append(byte: UInt8(ascii: " "))
            out.appendLeft(UInt64(d.upperThreshold), width: 10)
            out.append(byte: UInt8(ascii: " "))
            out.appendLeft(UInt64(d.lowerThreshold), width: 10)
            out.append(byte: UInt8(ascii: " "))
            out.appendLeft(UInt64(active), width: 10)
            out.append(byte: UInt8(ascii: " "))
            out.appendLeft(UInt64(inactive), width: 10)
        case .persistentConnections:
            out.append(byte: UInt8(ascii: " "))
            out.appendLeft(UInt64(d.weight), width: 9)
            out.append(byte: UInt8(ascii: " "))
            out.appendLeft(UInt64(d.persistentConnections ?? 0), width: 11)
            out.append(byte: UInt8(ascii: " "))
            out.appendLeft(UInt64(active), width: 10)
            out.append(byte: UInt8(ascii: " "))
            out.appendLeft(UInt64(inactive), width: 10)
        case .tunnelInfo:
            out.append(byte: UInt8(ascii: " "))
            out.appendLeft(forwardingName(d.forwarding), width: 7)
            out.append(byte: UInt8(ascii: " "))
            out.appendLeft(tunnelInfo(d) ?? "n/a", width: 13)
            out.append(byte: UInt8(ascii: " "))
            out.appendLeft(Int64(weight), width: 6)
            out.append(byte: UInt8(ascii: " "))
            out.appendLeft(UInt64(active), width: 10)
            out.append(byte: UInt8(ascii: " "))
            out.appendLeft(UInt64(inactive), width: 10)
        case .standard:
            out.append(byte: UInt8(ascii: " "))
            out.appendLeft(forwardingName(d.forwarding), width: 7)
            out.append(byte: UInt8(ascii: " "))
            out.appendLeft(Int64(weight), width: 6)
            out.append(byte: UInt8(ascii: " "))
            out.appendLeft(UInt64(active), width: 10)
            out.append(byte: UInt8(ascii: " "))
            out.appendLeft(UInt64(inactive), width: 10)
        }
        out.append(byte: UInt8(ascii: "\n"))
    }

    /// ``listServiceName(_:)`` written straight into `out`, left-justified to `width`.
    private func appendServiceName(_ key: ServiceKey, width: Int, into out: inout TextBuffer) {
        if case .address(let p, let a, let port) = key {
            let before = out.bytes.count
            out.appendLeft(p.description, width: 4)
            out.append(byte: UInt8(ascii: " "))
            // The label is cut at 33 bytes for IPv4 (the protocol and space take 5 of them).
            appendAddressPort(a, port, p, limit: a.family == .inet6 ? 59 : 28, into: &out, width: 0)
            out.appendSpaces(width - (out.bytes.count - before))
        } else {
            out.appendLeft(listServiceName(key), width: width)
        }
    }

    /// ``addressPort(_:_:_:)`` cut at `limit` bytes and left-justified to `width`, written into
    /// `out`; numeric IPv4 text (at most 21 bytes) is written digit by digit.
    private func appendAddressPort(
        _ a: IPAddress, _ port: UInt16, _ proto: IPVSProtocol?, limit: Int, into out: inout TextBuffer, width: Int
    ) {
        let host = names.hostName(for: a)
        let service = names.serviceName(port: port, protocol: proto)
        let before = out.bytes.count
        if case .v4(let v) = a, host == nil, service == nil {
            out.appendIPv4(v)
            out.append(byte: UInt8(ascii: ":"))
            out.appendDecimal(UInt64(port))
        } else {
            out.append(Self.addressPortText(a, port, host: host, service: service).truncated(to: limit))
        }
        out.appendSpaces(width - (out.bytes.count - before))
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
        Self.addressPortText(a, port, host: names.hostName(for: a), service: names.serviceName(port: port, protocol: proto))
            .truncated(to: 59)
    }

    private static func addressPortText(_ a: IPAddress, _ port: UInt16, host: String?, service: String?) -> String {
        let host = host ?? a.fastText
        let service = service ?? String(port)
        return a.family == .inet ? host + ":" + service : "[" + host + "]:" + service
    }

    private func maskText(_ svc: Service, prefix: String) -> String {
        if svc.key.family == .inet {
            return svc.netmask == 0xFFFF_FFFF ? "" : prefix + IPAddress.v4(svc.netmask).description
        }
        return svc.netmask == 128 ? "" : prefix + String(Int32(bitPattern: svc.netmask))
    }

    /// Counter column: exact, or abbreviated with K/M/G/T as ipvsadm's `print_largenum`.
    private func appendLargeNumber(_ i: UInt64, exact: Bool, into out: inout TextBuffer) {
        if exact {
            out.appendRight(i, width: max(9, TextBuffer.digitCount(i) + 1))
            return
        }
        if i < 100_000_000 { return out.appendRight(i, width: 9) }
        let (value, unit): (UInt64, Unicode.Scalar) =
            if i < 1_000_000_000 { (i / 1000, "K") }
            else if i < 100_000_000_000 { (i / 1_000_000, "M") }
            else if i < 100_000_000_000_000 { (i / 1_000_000_000, "G") }
            else { (i / 1_000_000_000_000, "T") }
        out.appendRight(value, width: 8)
        out.append(byte: UInt8(ascii: unit))
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
