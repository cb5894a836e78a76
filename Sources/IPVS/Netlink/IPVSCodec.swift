import VigilSupport

/// Encodes IPVS requests and decodes IPVS replies. Pure: no sockets, so it is unit-tested
/// byte for byte.
enum IPVSCodec {
    // MARK: Requests

    /// Writes the request for one write operation.
    static func write(
        _ operation: IPVSOperation, family: UInt16, sequence: UInt32, ack: Bool = true,
        into w: inout NetlinkWriter
    ) {
        let flags = Netlink.flagRequest | (ack ? Netlink.flagAck : 0)
        func begin(_ command: UInt8) {
            w.beginMessage(type: family, flags: flags, sequence: sequence, command: command, version: IPVSWire.version)
        }
        switch operation {
        case .addService(let s):
            begin(IPVSWire.Command.newService)
            writeService(s, into: &w)
        case .editService(let s):
            begin(IPVSWire.Command.setService)
            writeService(s, into: &w)
        case .deleteService(let key):
            begin(IPVSWire.Command.deleteService)
            writeServiceKey(key, into: &w)
        case .addDestination(let key, let d):
            begin(IPVSWire.Command.newDestination)
            writeServiceKey(key, into: &w)
            writeDestination(d, into: &w)
        case .editDestination(let key, let d):
            begin(IPVSWire.Command.setDestination)
            writeServiceKey(key, into: &w)
            writeDestination(d, into: &w)
        case .deleteDestination(let key, let d):
            begin(IPVSWire.Command.deleteDestination)
            writeServiceKey(key, into: &w)
            w.beginNested(IPVSWire.CommandAttribute.destination)
            w.attribute(IPVSWire.DestinationAttribute.address, bytes: d.address.paddedBytes)
            w.attribute(IPVSWire.DestinationAttribute.port, bigEndian: d.port)
            w.attribute(IPVSWire.DestinationAttribute.family, d.address.family.rawValue)
            w.endNested()
        case .flush:
            begin(IPVSWire.Command.flush)
        case .zero(let key):
            begin(IPVSWire.Command.zero)
            if let key { writeServiceKey(key, into: &w) }
        case .setTimeouts(let t):
            begin(IPVSWire.Command.setConfig)
            // 0 means "leave unchanged": such values are not sent at all.
            if t.tcp != 0 { w.attribute(IPVSWire.CommandAttribute.timeoutTCP, t.tcp) }
            if t.tcpFin != 0 { w.attribute(IPVSWire.CommandAttribute.timeoutTCPFin, t.tcpFin) }
            if t.udp != 0 { w.attribute(IPVSWire.CommandAttribute.timeoutUDP, t.udp) }
        case .startDaemon(let d):
            begin(IPVSWire.Command.newDaemon)
            writeDaemon(d, into: &w)
        case .stopDaemon(let role):
            begin(IPVSWire.Command.deleteDaemon)
            w.beginNested(IPVSWire.CommandAttribute.daemon)
            w.attribute(IPVSWire.DaemonAttribute.state, role.rawValue)
            w.endNested()
        }
        w.endMessage()
    }

    /// Writes a read request: a dump (`NLM_F_DUMP`) or a single get.
    static func writeQuery(
        command: UInt8, service: ServiceKey? = nil, dump: Bool, family: UInt16, sequence: UInt32,
        into w: inout NetlinkWriter
    ) {
        let flags = Netlink.flagRequest | (dump ? Netlink.flagDump : 0)
        w.beginMessage(type: family, flags: flags, sequence: sequence, command: command, version: IPVSWire.version)
        if let service { writeServiceKey(service, into: &w) }
        w.endMessage()
    }

    private static func writeKeyAttributes(_ key: ServiceKey, into w: inout NetlinkWriter) {
        typealias A = IPVSWire.ServiceAttribute
        switch key {
        case .address(let proto, let address, let port):
            w.attribute(A.family, address.family.rawValue)
            w.attribute(A.protocol, proto.rawValue)
            w.attribute(A.address, bytes: address.paddedBytes)
            w.attribute(A.port, bigEndian: port)
        case .firewallMark(let mark, let family):
            w.attribute(A.family, family.rawValue)
            w.attribute(A.firewallMark, mark)
        }
    }

    static func writeServiceKey(_ key: ServiceKey, into w: inout NetlinkWriter) {
        w.beginNested(IPVSWire.CommandAttribute.service)
        writeKeyAttributes(key, into: &w)
        w.endNested()
    }

    static func writeService(_ s: Service, into w: inout NetlinkWriter) {
        typealias A = IPVSWire.ServiceAttribute
        w.beginNested(IPVSWire.CommandAttribute.service)
        writeKeyAttributes(s.key, into: &w)
        w.attribute(A.scheduler, string: s.scheduler)
        if let pe = s.persistenceEngine, !pe.isEmpty { w.attribute(A.persistenceEngine, string: pe) }
        // struct ip_vs_flags { u32 flags; u32 mask; }: every settable bit is under the mask.
        let flags = s.flags.subtracting(.hashed).rawValue
        w.attribute(A.flags, bytes: withUnsafeBytes(of: (flags, UInt32.max & ~ServiceFlags.hashed.rawValue)) { Array($0) })
        w.attribute(A.timeout, s.timeout)
        if s.key.family == .inet {
            w.attribute(A.netmask, bigEndian: s.netmask)
        } else {
            w.attribute(A.netmask, s.netmask)
        }
        w.endNested()
    }

    static func writeDestination(_ d: Destination, into w: inout NetlinkWriter) {
        typealias A = IPVSWire.DestinationAttribute
        w.beginNested(IPVSWire.CommandAttribute.destination)
        w.attribute(A.address, bytes: d.address.paddedBytes)
        w.attribute(A.port, bigEndian: d.port)
        w.attribute(A.family, d.address.family.rawValue)
        w.attribute(A.forwarding, d.forwarding.rawValue)
        w.attribute(A.weight, d.weight)
        w.attribute(A.upperThreshold, d.upperThreshold)
        w.attribute(A.lowerThreshold, d.lowerThreshold)
        if d.forwarding == .tunnel {
            w.attribute(A.tunnelType, d.tunnelType.rawValue)
            w.attribute(A.tunnelPort, bigEndian: d.tunnelPort)
            w.attribute(A.tunnelFlags, d.tunnelFlags.rawValue)
        }
        w.endNested()
    }

    static func writeDaemon(_ d: SyncDaemon, into w: inout NetlinkWriter) {
        typealias A = IPVSWire.DaemonAttribute
        w.beginNested(IPVSWire.CommandAttribute.daemon)
        w.attribute(A.state, d.role.rawValue)
        w.attribute(A.interface, string: d.interface)
        w.attribute(A.syncID, d.syncID)
        if d.maxLength != 0 { w.attribute(A.maxLength, d.maxLength) }
        switch d.multicastGroup {
        case .some(let g) where g.family == .inet: w.attribute(A.group, bytes: g.bytes)
        case .some(let g): w.attribute(A.group6, bytes: g.bytes)
        case .none: break
        }
        if d.multicastPort != 0 { w.attribute(A.port, d.multicastPort) }
        if d.multicastTTL != 0 { w.attribute(A.ttl, d.multicastTTL) }
        w.endNested()
    }

    // MARK: Replies

    static func decodeStatistics(_ a: NetlinkAttributes) throws(NetlinkDecodeError) -> Statistics {
        typealias A = IPVSWire.StatisticsAttribute
        var s = Statistics()
        s.connections = try a.counter(A.connections) ?? 0
        s.inPackets = try a.counter(A.inPackets) ?? 0
        s.outPackets = try a.counter(A.outPackets) ?? 0
        s.inBytes = try a.counter(A.inBytes) ?? 0
        s.outBytes = try a.counter(A.outBytes) ?? 0
        s.cps = try a.counter(A.cps) ?? 0
        s.inPPS = try a.counter(A.inPPS) ?? 0
        s.outPPS = try a.counter(A.outPPS) ?? 0
        s.inBPS = try a.counter(A.inBPS) ?? 0
        s.outBPS = try a.counter(A.outBPS) ?? 0
        return s
    }

    /// Decodes an `IPVS_CMD_ATTR_SERVICE` nest as the kernel fills it.
    static func decodeService(_ a: NetlinkAttributes) throws(NetlinkDecodeError) -> Service {
        typealias A = IPVSWire.ServiceAttribute
        guard let rawFamily = try a.integer(A.family, as: UInt16.self) else {
            throw NetlinkDecodeError("service without an address family")
        }
        guard let family = AddressFamily(rawValue: rawFamily) else {
            throw NetlinkDecodeError("service with unknown address family \(rawFamily)")
        }
        let key: ServiceKey
        if let mark = try a.integer(A.firewallMark, as: UInt32.self), mark != 0 {
            key = .firewallMark(mark, family)
        } else {
            guard let rawProto = try a.integer(A.protocol, as: UInt16.self),
                  let addressBytes = a[A.address],
                  let port = try a.bigEndian(A.port, as: UInt16.self)
            else { throw NetlinkDecodeError("service without protocol, address and port or firewall mark") }
            guard let proto = IPVSProtocol(rawValue: rawProto) else {
                throw NetlinkDecodeError("service with unknown protocol \(rawProto)")
            }
            key = .address(proto, try decodeAddress(addressBytes, family: family), port)
        }
        var flags = ServiceFlags()
        if let f = a[A.flags] {
            guard let value = WireRead.integer(UInt32.self, f, at: 0) else {
                throw NetlinkDecodeError("service flags have \(f.count) bytes, expected 8")
            }
            flags = ServiceFlags(rawValue: value)
        }
        let rawNetmask = try a.integer(A.netmask, as: UInt32.self)
        let netmask = rawNetmask.map { family == .inet ? UInt32(bigEndian: $0) : $0 }
        let pe = a.string(A.persistenceEngine).flatMap { $0.isEmpty ? nil : $0 }
        var statistics: Statistics?
        if let s64 = try a.nested(A.statistics64) {
            statistics = try decodeStatistics(s64)
        } else if let s32 = try a.nested(A.statistics) {
            statistics = try decodeStatistics(s32)
        }
        return Service(
            key: key, scheduler: a.string(A.scheduler) ?? "", flags: flags,
            timeout: try a.integer(A.timeout) ?? 0, netmask: netmask, persistenceEngine: pe,
            statistics: statistics)
    }

    /// Decodes an `IPVS_CMD_ATTR_DEST` nest; `serviceFamily` applies when the kernel omits the
    /// destination's own family (kernels before 4.x).
    static func decodeDestination(_ a: NetlinkAttributes, serviceFamily: AddressFamily) throws(NetlinkDecodeError) -> Destination {
        typealias A = IPVSWire.DestinationAttribute
        var family = serviceFamily
        if let raw = try a.integer(A.family, as: UInt16.self) {
            guard let f = AddressFamily(rawValue: raw) else {
                throw NetlinkDecodeError("destination with unknown address family \(raw)")
            }
            family = f
        }
        guard let addressBytes = a[A.address], let port = try a.bigEndian(A.port, as: UInt16.self) else {
            throw NetlinkDecodeError("destination without address and port")
        }
        let rawForwarding = (try a.integer(A.forwarding, as: UInt32.self) ?? 0) & IPVSWire.forwardingMask
        guard let forwarding = ForwardingMethod(rawValue: rawForwarding) else {
            throw NetlinkDecodeError("destination with unknown forwarding method \(rawForwarding)")
        }
        let rawTunnel = try a.integer(A.tunnelType, as: UInt8.self) ?? 0
        guard let tunnelType = TunnelType(rawValue: rawTunnel) else {
            throw NetlinkDecodeError("destination with unknown tunnel type \(rawTunnel)")
        }
        var d = Destination(
            address: try decodeAddress(addressBytes, family: family), port: port, forwarding: forwarding,
            weight: try a.integer(A.weight) ?? 0,
            upperThreshold: try a.integer(A.upperThreshold) ?? 0,
            lowerThreshold: try a.integer(A.lowerThreshold) ?? 0,
            tunnelType: tunnelType,
            tunnelPort: try a.bigEndian(A.tunnelPort) ?? 0,
            tunnelFlags: TunnelFlags(rawValue: try a.integer(A.tunnelFlags) ?? 0))
        d.activeConnections = try a.integer(A.activeConnections)
        d.inactiveConnections = try a.integer(A.inactiveConnections)
        d.persistentConnections = try a.integer(A.persistentConnections)
        if let s64 = try a.nested(A.statistics64) {
            d.statistics = try decodeStatistics(s64)
        } else if let s32 = try a.nested(A.statistics) {
            d.statistics = try decodeStatistics(s32)
        }
        return d
    }

    static func decodeDaemon(_ a: NetlinkAttributes) throws(NetlinkDecodeError) -> SyncDaemon {
        typealias A = IPVSWire.DaemonAttribute
        guard let rawState = try a.integer(A.state, as: UInt32.self) else {
            throw NetlinkDecodeError("sync daemon without a state")
        }
        guard let role = SyncDaemonRole(rawValue: rawState) else {
            throw NetlinkDecodeError("sync daemon with unknown state \(rawState)")
        }
        var group: IPAddress?
        if let g = a[A.group6] {
            group = try decodeAddress(g, family: .inet6)
        } else if let g = a[A.group] {
            group = try decodeAddress(g, family: .inet)
        }
        return SyncDaemon(
            role: role, interface: a.string(A.interface) ?? "", syncID: try a.integer(A.syncID) ?? 0,
            maxLength: try a.integer(A.maxLength) ?? 0, multicastGroup: group,
            multicastPort: try a.integer(A.port) ?? 0, multicastTTL: try a.integer(A.ttl) ?? 0)
    }

    static func decodeInfo(_ a: NetlinkAttributes) throws(NetlinkDecodeError) -> IPVSInfo {
        guard let version = try a.integer(IPVSWire.InfoAttribute.version, as: UInt32.self),
              let size = try a.integer(IPVSWire.InfoAttribute.connectionTableSize, as: UInt32.self)
        else { throw NetlinkDecodeError("info reply without version and connection table size") }
        return IPVSInfo(version: version, connectionTableSize: size)
    }

    static func decodeTimeouts(_ a: NetlinkAttributes) throws(NetlinkDecodeError) -> Timeouts {
        typealias A = IPVSWire.CommandAttribute
        return Timeouts(
            tcp: try a.integer(A.timeoutTCP) ?? 0, tcpFin: try a.integer(A.timeoutTCPFin) ?? 0,
            udp: try a.integer(A.timeoutUDP) ?? 0)
    }

    static func decodeAddress(_ bytes: ArraySlice<UInt8>, family: AddressFamily) throws(NetlinkDecodeError) -> IPAddress {
        let size = family == .inet ? 4 : 16
        if family == .inet, bytes.count >= 4, let raw = WireRead.integer(UInt32.self, bytes, at: 0) {
            return .v4(UInt32(bigEndian: raw))
        }
        guard bytes.count >= size, let address = IPAddress(bytes: bytes.prefix(size)) else {
            throw NetlinkDecodeError("\(family) address attribute has \(bytes.count) bytes")
        }
        return address
    }
}
