@testable import IPVS
import VigilSupport

/// The family id the fake kernel and hand-built replies use.
let testFamily: UInt16 = 0x24

/// Builds kernel-style messages for decoding tests.
enum Reply {
    /// A raw netlink message: header plus payload.
    static func raw(type: UInt16, flags: UInt16 = 0, sequence: UInt32, payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) } }
        put(UInt32(16 + payload.count))
        put(type)
        put(flags)
        put(sequence)
        put(UInt32(0))
        bytes += payload
        while bytes.count % 4 != 0 { bytes.append(0) }
        return bytes
    }

    /// `NLMSG_ERROR` answering the request with `sequence`; errno 0 is an acknowledgement.
    static func error(_ errno: Int32, sequence: UInt32, text: String? = nil) -> [UInt8] {
        var payload: [UInt8] = []
        withUnsafeBytes(of: -errno) { payload.append(contentsOf: $0) }
        // The capped original header.
        let original = raw(type: testFamily, flags: Netlink.flagRequest | Netlink.flagAck, sequence: sequence, payload: [])
        payload += original
        var flags = Netlink.flagCapped
        if let text {
            var w = NetlinkWriter()
            w.attribute(Netlink.errorAttributeMessage, string: text)
            payload += w.bytes
            flags |= Netlink.flagAckTLVs
        }
        return raw(type: Netlink.messageError, flags: flags, sequence: sequence, payload: payload)
    }

    /// `NLMSG_DONE` ending a dump, optionally carrying a negative errno.
    static func done(sequence: UInt32, errno: Int32 = 0) -> [UInt8] {
        var payload: [UInt8] = []
        withUnsafeBytes(of: -errno) { payload.append(contentsOf: $0) }
        return raw(type: Netlink.messageDone, flags: Netlink.flagMulti, sequence: sequence, payload: payload)
    }

    /// A generic-netlink message whose attributes `body` writes.
    static func generic(
        command: UInt8, flags: UInt16 = Netlink.flagMulti, sequence: UInt32, _ body: (inout NetlinkWriter) -> Void
    ) -> [UInt8] {
        var w = NetlinkWriter()
        w.beginMessage(type: testFamily, flags: flags, sequence: sequence, command: command, version: 1)
        body(&w)
        w.endMessage()
        return w.bytes
    }

    /// Statistics as the kernel writes them: 32-bit (`wide == false`) or 64-bit counters.
    static func statistics(_ type: UInt16, _ s: Statistics, wide: Bool, into w: inout NetlinkWriter) {
        typealias A = IPVSWire.StatisticsAttribute
        w.beginNested(type)
        func put(_ t: UInt16, _ v: UInt64, alwaysWide: Bool = false) {
            if wide || alwaysWide { w.attribute(t, v) } else { w.attribute(t, UInt32(truncatingIfNeeded: v)) }
        }
        put(A.connections, s.connections)
        put(A.inPackets, s.inPackets)
        put(A.outPackets, s.outPackets)
        put(A.inBytes, s.inBytes, alwaysWide: true)
        put(A.outBytes, s.outBytes, alwaysWide: true)
        put(A.cps, s.cps)
        put(A.inPPS, s.inPPS)
        put(A.outPPS, s.outPPS)
        put(A.inBPS, s.inBPS)
        put(A.outBPS, s.outBPS)
        w.endNested()
    }

    /// A service nest as `ip_vs_genl_fill_service` writes it.
    static func service(_ s: Service, stats32: Statistics? = nil, stats64: Statistics? = nil, into w: inout NetlinkWriter) {
        typealias A = IPVSWire.ServiceAttribute
        w.beginNested(IPVSWire.CommandAttribute.service)
        w.attribute(A.family, s.key.family.rawValue)
        switch s.key {
        case .address(let p, let a, let port):
            w.attribute(A.protocol, p.rawValue)
            w.attribute(A.address, bytes: a.paddedBytes)
            w.attribute(A.port, bigEndian: port)
        case .firewallMark(let m, _):
            w.attribute(A.firewallMark, m)
        }
        w.attribute(A.scheduler, string: s.scheduler)
        if let pe = s.persistenceEngine { w.attribute(A.persistenceEngine, string: pe) }
        w.attribute(A.flags, bytes: withUnsafeBytes(of: (s.flags.union(.hashed).rawValue, UInt32.max)) { Array($0) })
        w.attribute(A.timeout, s.timeout)
        if s.key.family == .inet { w.attribute(A.netmask, bigEndian: s.netmask) } else { w.attribute(A.netmask, s.netmask) }
        if let stats32 { statistics(A.statistics, stats32, wide: false, into: &w) }
        if let stats64 { statistics(A.statistics64, stats64, wide: true, into: &w) }
        w.endNested()
    }

    /// A destination nest as `ip_vs_genl_fill_dest` writes it.
    static func destination(
        _ d: Destination, active: UInt32 = 0, inactive: UInt32 = 0, persistent: UInt32 = 0,
        stats32: Statistics? = nil, stats64: Statistics? = nil, into w: inout NetlinkWriter
    ) {
        typealias A = IPVSWire.DestinationAttribute
        w.beginNested(IPVSWire.CommandAttribute.destination)
        w.attribute(A.address, bytes: d.address.paddedBytes)
        w.attribute(A.port, bigEndian: d.port)
        w.attribute(A.forwarding, d.forwarding.rawValue)
        w.attribute(A.weight, d.weight)
        w.attribute(A.tunnelType, d.tunnelType.rawValue)
        w.attribute(A.tunnelPort, bigEndian: d.tunnelPort)
        w.attribute(A.tunnelFlags, d.tunnelFlags.rawValue)
        w.attribute(A.upperThreshold, d.upperThreshold)
        w.attribute(A.lowerThreshold, d.lowerThreshold)
        w.attribute(A.activeConnections, active)
        w.attribute(A.inactiveConnections, inactive)
        w.attribute(A.persistentConnections, persistent)
        w.attribute(A.family, d.address.family.rawValue)
        if let stats32 { statistics(A.statistics, stats32, wide: false, into: &w) }
        if let stats64 { statistics(A.statistics64, stats64, wide: true, into: &w) }
        w.endNested()
    }
}

/// Test addresses from the documentation ranges.
enum Doc {
    static let vip = IPAddress("192.0.2.1")!
    static let vip6 = IPAddress("2001:db8::1")!
    static func real(_ i: Int) -> IPAddress { IPAddress("198.51.100.\(i)")! }
    static func real6(_ i: Int) -> IPAddress { IPAddress("2001:db8:1::\(i)")! }
}

/// A small deterministic generator (SplitMix64) for fuzz-style tests.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
