@testable import IPVS
import Testing
import VigilSupport

/// The bytes Vigil sends for each request, checked attribute by attribute.
@Suite struct CodecEncodingTests {
    /// Encodes one operation and parses it back into (header, command, attributes).
    func encode(_ op: IPVSOperation, sequence: UInt32 = 77) throws -> (NetlinkMessage, UInt8, NetlinkAttributes) {
        var w = NetlinkWriter()
        IPVSCodec.write(op, family: testFamily, sequence: sequence, into: &w)
        #expect(w.count % 4 == 0)
        let messages = try NetlinkMessage.parse(w.bytes[...])
        #expect(messages.count == 1)
        let m = try #require(messages.first)
        let (command, attributes) = try m.genericPayload()
        #expect(m.payload[m.payload.startIndex + 1] == 1, "IPVS_GENL_VERSION")
        return (m, command, attributes)
    }

    func bytes(_ value: some FixedWidthInteger) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }

    @Test func addServiceCarriesEveryFieldTheKernelRequires() throws {
        let s = Service(key: .address(.tcp, Doc.vip, 80), scheduler: "sh", flags: [.persistent, .sched1, .hashed],
                        timeout: 600, netmask: 0xFFFF_FF00)
        let (m, command, a) = try encode(.addService(s))
        #expect(m.type == testFamily)
        #expect(m.sequence == 77)
        #expect(m.flags == Netlink.flagRequest | Netlink.flagAck)
        #expect(command == IPVSWire.Command.newService)
        let svc = try #require(try a.nested(IPVSWire.CommandAttribute.service))
        typealias A = IPVSWire.ServiceAttribute
        #expect(try svc.integer(A.family, as: UInt16.self) == 2)
        #expect(try svc.integer(A.protocol, as: UInt16.self) == 6)
        #expect(svc[A.address].map(Array.init) == [192, 0, 2, 1] + [UInt8](repeating: 0, count: 12))
        #expect(svc[A.port].map(Array.init) == [0, 80], "port is big-endian")
        #expect(svc.string(A.scheduler) == "sh")
        #expect(svc[A.scheduler]?.last == 0, "NUL-terminated")
        // {flags, mask}: the hashed bit is kernel-internal, never written nor under the mask.
        #expect(svc[A.flags].map(Array.init) == bytes(UInt32(0x9)) + bytes(~UInt32(2)))
        #expect(try svc.integer(A.timeout, as: UInt32.self) == 600)
        #expect(svc[A.netmask].map(Array.init) == [255, 255, 255, 0], "IPv4 netmask is big-endian")
        #expect(!svc.contains(A.persistenceEngine))
        #expect(!svc.contains(A.firewallMark))
    }

    @Test func theNestedFlagIsSetOnNests() throws {
        var w = NetlinkWriter()
        IPVSCodec.write(.deleteService(.firewallMark(1, .inet)), family: testFamily, sequence: 1, into: &w)
        // nlmsghdr (16) + genlmsghdr (4) then the nest's header: length, type | NLA_F_NESTED.
        let type = UInt16(w.bytes[22]) | UInt16(w.bytes[23]) << 8
        #expect(type == IPVSWire.CommandAttribute.service | 0x8000)
    }

    @Test func ipv6ServiceSendsPrefixLengthInHostOrder() throws {
        let s = Service(key: .address(.sctp, Doc.vip6, 3868), scheduler: "rr", flags: .persistent, timeout: 30, netmask: 64,
                        persistenceEngine: "sip")
        let (_, command, a) = try encode(.editService(s))
        #expect(command == IPVSWire.Command.setService)
        let svc = try #require(try a.nested(IPVSWire.CommandAttribute.service))
        #expect(try svc.integer(IPVSWire.ServiceAttribute.family, as: UInt16.self) == 10)
        #expect(try svc.integer(IPVSWire.ServiceAttribute.protocol, as: UInt16.self) == 132)
        #expect(svc[IPVSWire.ServiceAttribute.address].map(Array.init) == Doc.vip6.bytes)
        #expect(try svc.integer(IPVSWire.ServiceAttribute.netmask, as: UInt32.self) == 64)
        #expect(svc.string(IPVSWire.ServiceAttribute.persistenceEngine) == "sip")
    }

    @Test(arguments: [AddressFamily.inet, .inet6])
    func firewallMarkServiceKey(family: AddressFamily) throws {
        let (_, command, a) = try encode(.deleteService(.firewallMark(42, family)))
        #expect(command == IPVSWire.Command.deleteService)
        let svc = try #require(try a.nested(IPVSWire.CommandAttribute.service))
        #expect(try svc.integer(IPVSWire.ServiceAttribute.family, as: UInt16.self) == family.rawValue)
        #expect(try svc.integer(IPVSWire.ServiceAttribute.firewallMark, as: UInt32.self) == 42)
        #expect(!svc.contains(IPVSWire.ServiceAttribute.scheduler), "a delete carries only the key")
        #expect(!svc.contains(IPVSWire.ServiceAttribute.protocol))
    }

    @Test func destinationWeightIsAFull32BitValue() throws {
        let key = ServiceKey.address(.tcp, Doc.vip, 80)
        let d = Destination(address: Doc.real(2), port: 8080, forwarding: .masquerade, weight: 70_000,
                            upperThreshold: 100, lowerThreshold: 10)
        let (_, command, a) = try encode(.addDestination(key, d))
        #expect(command == IPVSWire.Command.newDestination)
        #expect(try a.nested(IPVSWire.CommandAttribute.service) != nil)
        let dest = try #require(try a.nested(IPVSWire.CommandAttribute.destination))
        typealias A = IPVSWire.DestinationAttribute
        #expect(dest[A.address].map(Array.init) == [198, 51, 100, 2] + [UInt8](repeating: 0, count: 12))
        #expect(dest[A.port].map(Array.init) == [0x1F, 0x90])
        #expect(try dest.integer(A.family, as: UInt16.self) == 2)
        #expect(try dest.integer(A.forwarding, as: UInt32.self) == 0)
        #expect(try dest.integer(A.weight, as: UInt32.self) == 70_000)
        #expect(dest[A.weight]?.count == 4)
        #expect(try dest.integer(A.upperThreshold, as: UInt32.self) == 100)
        #expect(try dest.integer(A.lowerThreshold, as: UInt32.self) == 10)
        #expect(!dest.contains(A.tunnelType), "tunnel settings only for tunnel destinations")
    }

    static let tunnels: [(TunnelType, UInt16, TunnelFlags)] = [(.ipip, 0, []), (.gue, 6080, .checksum), (.gre, 0, [.checksum, .remoteChecksum])]

    @Test(arguments: tunnels)
    func tunnelDestinationsCarryTunnelSettings(_ tunnel: (TunnelType, UInt16, TunnelFlags)) throws {
        let (type, port, flags) = tunnel
        let d = Destination(address: Doc.real6(4), port: 80, forwarding: .tunnel, tunnelType: type, tunnelPort: port, tunnelFlags: flags)
        let (_, command, a) = try encode(.editDestination(.firewallMark(3, .inet), d))
        #expect(command == IPVSWire.Command.setDestination)
        let dest = try #require(try a.nested(IPVSWire.CommandAttribute.destination))
        typealias A = IPVSWire.DestinationAttribute
        #expect(try dest.integer(A.forwarding, as: UInt32.self) == 2)
        #expect(try dest.integer(A.family, as: UInt16.self) == 10, "a mixed-family destination names its own family")
        #expect(try dest.integer(A.tunnelType, as: UInt8.self) == type.rawValue)
        #expect(try dest.bigEndian(A.tunnelPort, as: UInt16.self) == port)
        #expect(try dest.integer(A.tunnelFlags, as: UInt16.self) == flags.rawValue)
    }

    @Test func deleteDestinationCarriesOnlyTheKeys() throws {
        let (_, command, a) = try encode(.deleteDestination(.address(.udp, Doc.vip, 53), DestinationKey(Doc.real(3), 53)))
        #expect(command == IPVSWire.Command.deleteDestination)
        let dest = try #require(try a.nested(IPVSWire.CommandAttribute.destination))
        #expect(Set(dest.types) == [IPVSWire.DestinationAttribute.address, IPVSWire.DestinationAttribute.port,
                                          IPVSWire.DestinationAttribute.family])
    }

    @Test func flushAndZeroAll() throws {
        let (_, flush, fa) = try encode(.flush)
        #expect(flush == IPVSWire.Command.flush)
        #expect(fa.types.isEmpty)
        let (_, zero, za) = try encode(.zero(nil))
        #expect(zero == IPVSWire.Command.zero)
        #expect(za.types.isEmpty)
        let (_, _, one) = try encode(.zero(.address(.tcp, Doc.vip, 80)))
        #expect(one.contains(IPVSWire.CommandAttribute.service))
    }

    @Test func timeoutsLeaveZeroFieldsOut() throws {
        let (_, command, a) = try encode(.setTimeouts(Timeouts(tcp: 900, tcpFin: 0, udp: 300)))
        #expect(command == IPVSWire.Command.setConfig)
        #expect(try a.integer(IPVSWire.CommandAttribute.timeoutTCP, as: UInt32.self) == 900)
        #expect(!a.contains(IPVSWire.CommandAttribute.timeoutTCPFin))
        #expect(try a.integer(IPVSWire.CommandAttribute.timeoutUDP, as: UInt32.self) == 300)
    }

    @Test func startDaemonCarriesEveryDaemonAttribute() throws {
        let d = SyncDaemon(role: .backup, interface: "eth1", syncID: 9, maxLength: 1400,
                           multicastGroup: IPAddress("239.1.2.3"), multicastPort: 8849, multicastTTL: 3)
        let (_, command, a) = try encode(.startDaemon(d))
        #expect(command == IPVSWire.Command.newDaemon)
        let n = try #require(try a.nested(IPVSWire.CommandAttribute.daemon))
        typealias A = IPVSWire.DaemonAttribute
        #expect(try n.integer(A.state, as: UInt32.self) == 2)
        #expect(n.string(A.interface) == "eth1")
        #expect(try n.integer(A.syncID, as: UInt32.self) == 9)
        #expect(try n.integer(A.maxLength, as: UInt16.self) == 1400)
        #expect(n[A.group].map(Array.init) == [239, 1, 2, 3])
        #expect(!n.contains(A.group6))
        #expect(try n.integer(A.port, as: UInt16.self) == 8849)
        #expect(try n.integer(A.ttl, as: UInt8.self) == 3)
        #expect(try IPVSCodec.decodeDaemon(n) == d)
    }

    @Test func startDaemonWithIPv6GroupAndDefaults() throws {
        let d = SyncDaemon(role: .master, interface: "eth0", multicastGroup: IPAddress("ff02::81"))
        let (_, _, a) = try encode(.startDaemon(d))
        let n = try #require(try a.nested(IPVSWire.CommandAttribute.daemon))
        #expect(n[IPVSWire.DaemonAttribute.group6].map(Array.init) == IPAddress("ff02::81")!.bytes)
        #expect(!n.contains(IPVSWire.DaemonAttribute.maxLength))
        #expect(!n.contains(IPVSWire.DaemonAttribute.port))
        #expect(!n.contains(IPVSWire.DaemonAttribute.ttl))
        let (_, stop, sa) = try encode(.stopDaemon(.master))
        #expect(stop == IPVSWire.Command.deleteDaemon)
        #expect(try sa.nested(IPVSWire.CommandAttribute.daemon)?.integer(IPVSWire.DaemonAttribute.state, as: UInt32.self) == 1)
    }

    @Test func queriesAskForDumpsOrSingleReplies() throws {
        var w = NetlinkWriter()
        IPVSCodec.writeQuery(command: IPVSWire.Command.getDestination, service: .firewallMark(5, .inet6), dump: true,
                             family: testFamily, sequence: 9, into: &w)
        IPVSCodec.writeQuery(command: IPVSWire.Command.getInfo, dump: false, family: testFamily, sequence: 10, into: &w)
        let m = try NetlinkMessage.parse(w.bytes[...])
        #expect(m.count == 2)
        #expect(m[0].flags == Netlink.flagRequest | Netlink.flagDump)
        #expect(try m[0].genericPayload().attributes.contains(IPVSWire.CommandAttribute.service))
        #expect(m[1].flags == Netlink.flagRequest)
        #expect(m[1].sequence == 10)
    }

    @Test(arguments: [
        IPVSOperation.addService(Service(key: .address(.udp, Doc.vip, 53), scheduler: "rr", flags: .onePacket)),
        .editService(Service(key: .firewallMark(7, .inet6), scheduler: "mh", flags: [.sched1, .sched2])),
        .deleteService(.address(.tcp, Doc.vip6, 443)),
        .addDestination(.address(.tcp, Doc.vip, 80), Destination(address: Doc.real(2), port: 80, forwarding: .masquerade, weight: 0)),
        .editDestination(.address(.tcp, Doc.vip, 80), Destination(address: Doc.real(2), port: 80, forwarding: .tunnel, tunnelType: .gue, tunnelPort: 1)),
        .deleteDestination(.address(.tcp, Doc.vip, 80), DestinationKey(Doc.real(2), 80)),
        .flush, .zero(nil), .zero(.firewallMark(1, .inet)),
        .setTimeouts(Timeouts(tcp: 1, tcpFin: 2, udp: 3)),
        .startDaemon(SyncDaemon(role: .master, interface: "eth0", syncID: 4)),
        .stopDaemon(.backup),
    ])
    func everyOperationDecodesBackToItself(_ op: IPVSOperation) throws {
        let (_, command, a) = try encode(op)
        #expect(FakeKernel.operation(command, a) == op)
    }

    @Test func manyOperationsShareOneDatagramWithConsecutiveSequences() throws {
        var w = NetlinkWriter()
        for i in 0..<50 {
            IPVSCodec.write(.deleteService(.firewallMark(UInt32(i), .inet)), family: testFamily, sequence: 100 + UInt32(i), into: &w)
        }
        let m = try NetlinkMessage.parse(w.bytes[...])
        #expect(m.map(\.sequence) == (100..<150).map { UInt32($0) })
    }
}
