#if canImport(Glibc)
import Glibc
#endif
@testable import IPVS
import Testing
import VigilSupport

/// Decoding kernel replies: hand-built as `ip_vs_ctl.c` fills them, plus broken ones.
@Suite struct CodecDecodingTests {
    func attributes(_ message: [UInt8]) throws -> NetlinkAttributes {
        try #require(try NetlinkMessage.parse(message[...]).first).genericPayload().attributes
    }

    func serviceNest(_ message: [UInt8]) throws -> NetlinkAttributes {
        try #require(try attributes(message).nested(IPVSWire.CommandAttribute.service))
    }

    var bigStats: Statistics {
        var s = Statistics()
        s.connections = 5_000_000_000
        s.inPackets = 1 << 33
        s.outPackets = 7
        s.inBytes = 1 << 50
        s.outBytes = 12345
        s.cps = 10
        s.inPPS = 20
        s.outPPS = 30
        s.inBPS = 40
        s.outBPS = 1 << 35
        return s
    }

    @Test func statistics64AreUsedWhenPresent() throws {
        let s = Service(key: .address(.tcp, Doc.vip, 80), scheduler: "wlc")
        let msg = Reply.generic(command: 1, sequence: 1) { Reply.service(s, stats32: bigStats, stats64: bigStats, into: &$0) }
        let decoded = try IPVSCodec.decodeService(try serviceNest(msg))
        #expect(decoded.statistics == bigStats)
    }

    @Test func statistics32AreTheFallback() throws {
        let s = Service(key: .address(.tcp, Doc.vip, 80))
        let msg = Reply.generic(command: 1, sequence: 1) { Reply.service(s, stats32: bigStats, into: &$0) }
        let decoded = try #require(try IPVSCodec.decodeService(try serviceNest(msg)).statistics)
        #expect(decoded.connections == UInt64(UInt32(truncatingIfNeeded: bigStats.connections)))
        #expect(decoded.inBytes == bigStats.inBytes, "byte counters are 64-bit even in STATS")
        #expect(decoded.outBPS == UInt64(UInt32(truncatingIfNeeded: bigStats.outBPS)))
    }

    @Test(arguments: [
        Service(key: .address(.tcp, Doc.vip, 80), scheduler: "sh", flags: [.persistent, .sched1, .sched2], timeout: 600, netmask: 0xFFFF_FF00),
        Service(key: .address(.udp, Doc.vip6, 53), scheduler: "rr", flags: .onePacket, netmask: 96),
        Service(key: .address(.sctp, Doc.vip, 3868), scheduler: "lc", flags: .persistent, timeout: 360, persistenceEngine: "sip"),
        Service(key: .firewallMark(42, .inet), scheduler: "mh"),
        Service(key: .firewallMark(43, .inet6), scheduler: "wrr"),
    ])
    func servicesDecodeAsWritten(_ s: Service) throws {
        let msg = Reply.generic(command: 1, sequence: 1) { Reply.service(s, into: &$0) }
        let decoded = try IPVSCodec.decodeService(try serviceNest(msg))
        #expect(decoded.key == s.key)
        #expect(decoded.scheduler == s.scheduler)
        #expect(decoded.flags == s.flags.union(.hashed), "the kernel reports the hashed bit")
        #expect(decoded.timeout == s.timeout)
        #expect(decoded.netmask == s.netmask)
        #expect(decoded.persistenceEngine == s.persistenceEngine)
        #expect(decoded.sameSettings(as: s))
    }

    @Test func destinationsDecodeWithCountsAndStatistics() throws {
        let d = Destination(address: Doc.real6(9), port: 443, forwarding: .tunnel, weight: 3_000_000_000 / 2,
                            upperThreshold: 9, lowerThreshold: 2, tunnelType: .gue, tunnelPort: 6080, tunnelFlags: .checksum)
        let msg = Reply.generic(command: 5, sequence: 1) {
            Reply.destination(d, active: 11, inactive: 22, persistent: 33, stats32: Statistics(), stats64: bigStats, into: &$0)
        }
        let nest = try #require(try attributes(msg).nested(IPVSWire.CommandAttribute.destination))
        let decoded = try IPVSCodec.decodeDestination(nest, serviceFamily: .inet)
        #expect(decoded.address == d.address, "the destination's own family wins over the service's")
        #expect(decoded.port == 443)
        #expect(decoded.sameSettings(as: d))
        #expect(decoded.weight == 1_500_000_000)
        #expect(decoded.activeConnections == 11)
        #expect(decoded.inactiveConnections == 22)
        #expect(decoded.persistentConnections == 33)
        #expect(decoded.statistics == bigStats)
    }

    @Test func destinationWithoutFamilyUsesTheServiceFamily() throws {
        var w = NetlinkWriter()
        w.attribute(IPVSWire.DestinationAttribute.address, bytes: Doc.real(7).paddedBytes)
        w.attribute(IPVSWire.DestinationAttribute.port, bigEndian: UInt16(80))
        w.attribute(IPVSWire.DestinationAttribute.forwarding, UInt32(3) | 0x100)  // extra connection-flag bits
        let d = try IPVSCodec.decodeDestination(try NetlinkAttributes(w.bytes[...]), serviceFamily: .inet)
        #expect(d.address == Doc.real(7))
        #expect(d.forwarding == .route)
        #expect(d.weight == 0)
        #expect(d.statistics == nil)
    }

    @Test func infoAndTimeoutsDecode() throws {
        let info = Reply.generic(command: IPVSWire.Command.getInfo, flags: 0, sequence: 1) { w in
            w.attribute(IPVSWire.InfoAttribute.version, UInt32(0x010201))
            w.attribute(IPVSWire.InfoAttribute.connectionTableSize, UInt32(4096))
        }
        let i = try IPVSCodec.decodeInfo(try attributes(info))
        #expect(i == IPVSInfo(version: 0x010201, connectionTableSize: 4096))
        #expect(i.versionString == "1.2.1")
        let config = Reply.generic(command: IPVSWire.Command.getConfig, flags: 0, sequence: 1) { w in
            w.attribute(IPVSWire.CommandAttribute.timeoutTCP, UInt32(900))
            w.attribute(IPVSWire.CommandAttribute.timeoutTCPFin, UInt32(120))
            w.attribute(IPVSWire.CommandAttribute.timeoutUDP, UInt32(300))
        }
        #expect(try IPVSCodec.decodeTimeouts(try attributes(config)) == Timeouts(tcp: 900, tcpFin: 120, udp: 300))
    }

    @Test func multiPartDatagramSplitsIntoMessages() throws {
        var datagram: [UInt8] = []
        for port in 1...3 {
            datagram += Reply.generic(command: 1, sequence: 5) {
                Reply.service(Service(key: .address(.tcp, Doc.vip, UInt16(port))), into: &$0)
            }
        }
        datagram += Reply.done(sequence: 5)
        let messages = try NetlinkMessage.parse(datagram[...])
        #expect(messages.map(\.type) == [testFamily, testFamily, testFamily, Netlink.messageDone])
        #expect(messages.allSatisfy { $0.flags & Netlink.flagMulti != 0 && $0.sequence == 5 })
        let ports = try messages.prefix(3).map { m -> UInt16 in
            let nest = try #require(try m.genericPayload().attributes.nested(IPVSWire.CommandAttribute.service))
            guard case .address(_, _, let p) = try IPVSCodec.decodeService(nest).key else { return 0 }
            return p
        }
        #expect(ports == [1, 2, 3])
    }

    @Test func errorRepliesCarryErrnoAndExtendedAckText() throws {
        let plain = try #require(try NetlinkMessage.parse(Reply.error(EEXIST, sequence: 3)[...]).first)
        #expect(plain.type == Netlink.messageError)
        let (code, text) = try plain.errorPayload()
        #expect(code == -EEXIST)
        #expect(text == nil)
        let ack = try NetlinkMessage.parse(Reply.error(0, sequence: 3)[...])[0].errorPayload()
        #expect(ack.code == 0)
        let extended = try NetlinkMessage.parse(Reply.error(EINVAL, sequence: 3, text: "Attribute failed policy validation")[...])[0]
        #expect(try extended.errorPayload().text == "Attribute failed policy validation")
    }

    @Test func truncatedMessagesThrowInsteadOfCrashing() throws {
        let s = Service(key: .address(.tcp, Doc.vip6, 80), flags: .persistent, timeout: 5)
        let full = Reply.generic(command: 1, sequence: 1) { Reply.service(s, stats64: bigStats, into: &$0) }
        for length in 0..<full.count {
            var cut = Array(full.prefix(length))
            // Keep the header's claimed length consistent with what is there, so the inner
            // attribute checks (not just the outer one) are exercised too.
            if length >= 4 { withUnsafeBytes(of: UInt32(length)) { for i in 0..<4 { cut[i] = $0[i] } } }
            if let messages = try? NetlinkMessage.parse(cut[...]) {
                for m in messages {
                    if let nest = try? m.genericPayload().attributes.nested(IPVSWire.CommandAttribute.service) {
                        _ = try? IPVSCodec.decodeService(nest)
                    }
                }
            }
        }
    }

    @Test func missingKeyAttributesAreMalformed() throws {
        var w = NetlinkWriter()
        w.attribute(IPVSWire.ServiceAttribute.family, UInt16(2))
        w.attribute(IPVSWire.ServiceAttribute.scheduler, string: "rr")
        #expect(throws: NetlinkDecodeError.self) { try IPVSCodec.decodeService(try NetlinkAttributes(w.bytes[...])) }

        var odd = NetlinkWriter()
        odd.attribute(IPVSWire.ServiceAttribute.family, UInt16(99))
        #expect(throws: NetlinkDecodeError.self) { try IPVSCodec.decodeService(try NetlinkAttributes(odd.bytes[...])) }

        var short = NetlinkWriter()
        short.attribute(IPVSWire.ServiceAttribute.family, UInt8(2))
        #expect(throws: NetlinkDecodeError.self) { try IPVSCodec.decodeService(try NetlinkAttributes(short.bytes[...])) }

        var badForwarding = NetlinkWriter()
        badForwarding.attribute(IPVSWire.DestinationAttribute.address, bytes: Doc.real(1).paddedBytes)
        badForwarding.attribute(IPVSWire.DestinationAttribute.port, bigEndian: UInt16(1))
        badForwarding.attribute(IPVSWire.DestinationAttribute.forwarding, UInt32(6))
        #expect(throws: NetlinkDecodeError.self) {
            try IPVSCodec.decodeDestination(try NetlinkAttributes(badForwarding.bytes[...]), serviceFamily: .inet)
        }
    }

    @Test func attributeLongerThanItsMessageIsRejected() throws {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt16(200)) { bytes += $0 }
        withUnsafeBytes(of: UInt16(1)) { bytes += $0 }
        bytes += [1, 2, 3, 4]
        #expect(throws: NetlinkDecodeError.self) { try NetlinkAttributes(bytes[...]) }
        // A zero-length attribute header would loop forever if accepted.
        var zero: [UInt8] = [0, 0, 1, 0]
        zero += [0, 0, 0, 0]
        #expect(throws: NetlinkDecodeError.self) { try NetlinkAttributes(zero[...]) }
    }

    @Test func randomGarbageNeverCrashes() {
        var rng = SeededGenerator(seed: 2026)
        let valid = Reply.generic(command: 1, sequence: 1) {
            Reply.service(Service(key: .address(.udp, Doc.vip, 53)), stats32: Statistics(), into: &$0)
        }
        for round in 0..<3000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int.random(in: 0..<200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                bytes = valid
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            guard let messages = try? NetlinkMessage.parse(bytes[...]) else { continue }
            for m in messages {
                _ = try? m.errorPayload()
                guard let (_, a) = try? m.genericPayload() else { continue }
                if let s = try? a.nested(IPVSWire.CommandAttribute.service) { _ = try? IPVSCodec.decodeService(s) }
                if let d = try? a.nested(IPVSWire.CommandAttribute.destination) { _ = try? IPVSCodec.decodeDestination(d, serviceFamily: .inet6) }
                if let d = try? a.nested(IPVSWire.CommandAttribute.daemon) { _ = try? IPVSCodec.decodeDaemon(d) }
                _ = try? IPVSCodec.decodeInfo(a)
                _ = try? IPVSCodec.decodeTimeouts(a)
            }
        }
    }
}
