import Foundation
@testable import IPVS
import Testing
import VigilSupport
import VigilTestSupport

/// Services covering every key kind, family, protocol and flag combination the kernel stores.
let sampleServices: [Service] = [
    Service(key: .address(.tcp, Doc.vip, 80)),
    Service(key: .address(.udp, Doc.v4("192.0.2.2"), 53), scheduler: "rr", flags: .onePacket),
    Service(key: .address(.sctp, Doc.vip6, 3868), scheduler: "lc"),
    Service(key: .firewallMark(42, .inet), scheduler: "mh", flags: [.sched1, .sched2]),
    Service(key: .firewallMark(43, .inet6), scheduler: "wrr"),
    Service(key: .address(.tcp, Doc.v4("192.0.2.3"), 443), scheduler: "sh",
            flags: [.persistent, .sched1, .sched2], timeout: 600, netmask: 0xFFFF_FF00),
    Service(key: .address(.tcp, IPAddress("2001:db8::2")!, 443), scheduler: "wlc",
            flags: .persistent, timeout: 300, netmask: 64),
    Service(key: .address(.udp, Doc.v4("192.0.2.4"), 5060), scheduler: "rr",
            flags: .persistent, timeout: 360, persistenceEngine: "sip"),
]

/// Destinations covering every forwarding method, tunnel kind, weight extreme and thresholds.
let sampleDestinations: [Destination] = [
    Destination(address: Doc.real(2), port: 8080, forwarding: .masquerade, weight: 5),
    Destination(address: Doc.real(3), port: 80, forwarding: .route, weight: 0),
    Destination(address: Doc.real(4), port: 80, forwarding: .tunnel, tunnelType: .ipip),
    Destination(address: Doc.real(5), port: 80, forwarding: .tunnel, tunnelType: .gue, tunnelPort: 6080, tunnelFlags: .checksum),
    Destination(address: Doc.real(6), port: 80, forwarding: .tunnel, tunnelType: .gre, tunnelFlags: [.checksum, .remoteChecksum]),
    Destination(address: Doc.real(7), port: 80, forwarding: .route, weight: UInt32(Int32.max), upperThreshold: 100, lowerThreshold: 10),
    Destination(address: Doc.real6(8), port: 80, forwarding: .tunnel, weight: 3),
]

@Suite("IPVSClient against the kernel", .serialized, .tags(.ipvsKernel), .requiresIPVS)
struct ClientKernelTests {
    let ns: IPVSNamespace
    var client: IPVSClient { ns.client }

    init() async throws {
        ns = try IPVSNamespace()
        try await ns.client.flush()
    }

    @Test func infoReportsVersionAndConnectionTableSize() async throws {
        let info = try await client.info()
        #expect(info.version >= 0x010200)
        #expect(info.connectionTableSize > 0)
        let (_, text) = ns.ipvsadm(["-Ln"])
        #expect(text.contains("IP Virtual Server version \(info.versionString) (size=\(info.connectionTableSize))"))
    }

    @Test(arguments: sampleServices)
    func serviceRoundTrips(_ service: Service) async throws {
        try await client.apply([.addService(service)])
        let read = try await client.entry(for: service.key)
        #expect(read.service.key == service.key)
        #expect(read.service.sameSettings(as: service), "read back \(read.service)")
        #expect(read.service.statistics != nil)
        #expect(try await client.table().map(\.service.key) == [service.key])

        var edited = service
        edited.scheduler = service.scheduler == "rr" ? "wrr" : "rr"
        edited.timeout = service.timeout + 60
        edited.flags.remove([.sched1, .sched2])
        try await client.apply([.editService(edited)])
        #expect(try await client.entry(for: service.key).service.sameSettings(as: edited))

        try await client.apply([.deleteService(service.key)])
        await #expect(throws: IPVSError.self) { try await client.entry(for: service.key) }
        #expect(try await client.table().isEmpty)
        try await client.flush()
    }

    @Test(arguments: sampleDestinations)
    func destinationRoundTrips(_ destination: Destination) async throws {
        let key = ServiceKey.address(.tcp, Doc.vip, 80)
        try await client.apply([.addService(Service(key: key)), .addDestination(key, destination)])
        var read = try await client.entry(for: key).destinations
        #expect(read.count == 1)
        #expect(read.first?.key == destination.key)
        #expect(read.first?.sameSettings(as: destination) == true, "read back \(String(describing: read.first))")
        #expect(read.first?.activeConnections == 0)
        #expect(read.first?.statistics != nil)

        var edited = destination
        edited.weight = destination.weight == 0 ? 9 : destination.weight - 1
        edited.upperThreshold = 50
        edited.lowerThreshold = 5
        try await client.apply([.editDestination(key, edited)])
        read = try await client.destinations(of: key)
        #expect(read.first?.sameSettings(as: edited) == true, "read back \(String(describing: read.first))")

        try await client.apply([.deleteDestination(key, destination.key)])
        #expect(try await client.destinations(of: key).isEmpty)
        try await client.flush()
    }

    @Test func forwardingMethodAndTunnelCanBeEditedInPlace() async throws {
        let key = ServiceKey.address(.tcp, Doc.vip, 80)
        let nat = Destination(address: Doc.real(2), port: 80, forwarding: .masquerade)
        var tun = nat
        tun.forwarding = .tunnel
        tun.tunnelType = .gue
        tun.tunnelPort = 5555
        try await client.apply([.addService(Service(key: key)), .addDestination(key, nat), .editDestination(key, tun)])
        #expect(try await client.destinations(of: key).first?.sameSettings(as: tun) == true)
    }

    @Test func tableWrittenByVigilReadsBackInIpvsadm() async throws {
        let key = ServiceKey.address(.tcp, Doc.v4("192.0.2.3"), 443)
        try await client.apply([
            .addService(Service(key: key, scheduler: "sh", flags: [.persistent, .sched1, .sched2], timeout: 600, netmask: 0xFFFF_FF00)),
            .addDestination(key, Destination(address: Doc.real(2), port: 443, forwarding: .masquerade, weight: 7)),
            .addDestination(key, Destination(address: Doc.real(3), port: 443, forwarding: .tunnel, tunnelType: .ipip)),
            .addService(Service(key: .address(.udp, Doc.v4("192.0.2.2"), 53), scheduler: "lc", flags: .onePacket)),
            .addService(Service(key: .firewallMark(42, .inet), scheduler: "mh", flags: [.sched1, .sched2])),
        ])
        let (status, saved) = ns.ipvsadm(["-Sn"])
        #expect(status == 0)
        let lines = Set(saved.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        for expected in [
            "-A -t 192.0.2.3:443 -s sh -p 600 -M 255.255.255.0 -b sh-fallback,sh-port",
            "-a -t 192.0.2.3:443 -r 198.51.100.2:443 -m -w 7",
            "-a -t 192.0.2.3:443 -r 198.51.100.3:443 -i -w 1 --tun-type ipip",
            "-A -u 192.0.2.2:53 -s lc -o",
            "-A -f 42 -s mh -b mh-fallback,mh-port",
        ] {
            #expect(lines.contains(expected), "ipvsadm -Sn printed:\n\(saved)")
        }
    }

    @Test func tableWrittenByIpvsadmDecodes() async throws {
        let rules = """
            -A -t 192.0.2.3:443 -s sh -b sh-fallback,sh-port -p 600 -M 255.255.255.0
            -a -t 192.0.2.3:443 -r 198.51.100.2:443 -m -w 7 -x 100 -y 10
            -a -t 192.0.2.3:443 -r 198.51.100.3:443 -i -w 0 --tun-type gue --tun-port 6080 --tun-nocsum
            -A -u [2001:db8::1]:53 -s rr -o
            -a -u [2001:db8::1]:53 -r [2001:db8:1::2]:53 -g -w 2
            -A -f 42 -s wlc

            """
        let (status, output) = ns.ipvsadm(["-R"], input: rules)
        try #require(status == 0, "ipvsadm -R: \(output)")
        let table = try await client.table()
        #expect(table.count == 3)
        let https = try #require(table.first { $0.service.key == .address(.tcp, Doc.v4("192.0.2.3"), 443) })
        #expect(https.service.scheduler == "sh")
        #expect(https.service.flags.isSuperset(of: [.persistent, .sched1, .sched2]))
        #expect(https.service.timeout == 600)
        #expect(https.service.netmask == 0xFFFF_FF00)
        let masq = try #require(https.destinations.first { $0.address == Doc.real(2) })
        #expect(masq.forwarding == .masquerade && masq.weight == 7 && masq.upperThreshold == 100 && masq.lowerThreshold == 10)
        let gue = try #require(https.destinations.first { $0.address == Doc.real(3) })
        #expect(gue.forwarding == .tunnel && gue.tunnelType == .gue && gue.tunnelPort == 6080 && gue.weight == 0)
        let dns = try #require(table.first { $0.service.key == .address(.udp, Doc.vip6, 53) })
        #expect(dns.service.flags.contains(.onePacket))
        #expect(dns.destinations.map(\.key) == [DestinationKey(Doc.real6(2), 53)])
        #expect(dns.destinations.first?.forwarding == .route)
        #expect(table.contains { $0.service.key == .firewallMark(42, .inet) })
    }

    @Test func flushEmptiesTheTable() async throws {
        try await client.apply(sampleServices.map { .addService($0) })
        #expect(try await client.table().count == sampleServices.count)
        try await client.flush()
        #expect(try await client.table().isEmpty)
    }

    @Test func zeroOneServiceAndAll() async throws {
        let key = ServiceKey.address(.tcp, Doc.vip, 80)
        try await client.apply([.addService(Service(key: key)), .addDestination(key, sampleDestinations[0])])
        try await client.zero(key)
        try await client.zero()
        let stats = try #require(try await client.entry(for: key).service.statistics)
        #expect(stats == Statistics())
    }

    @Test func timeoutsRoundTrip() async throws {
        let before = try await client.timeouts()
        #expect(before.tcp > 0 && before.tcpFin > 0 && before.udp > 0)
        try await client.setTimeouts(Timeouts(tcp: 901, tcpFin: 121, udp: 301))
        #expect(try await client.timeouts() == Timeouts(tcp: 901, tcpFin: 121, udp: 301))
        // Zero leaves a value unchanged.
        try await client.setTimeouts(Timeouts(tcp: 0, tcpFin: 0, udp: 302))
        #expect(try await client.timeouts() == Timeouts(tcp: 901, tcpFin: 121, udp: 302))
        let (_, text) = ns.ipvsadm(["-Ln", "--timeout"])
        #expect(text.contains("Timeout (tcp tcpfin udp): 901 121 302"))
        try await client.setTimeouts(before)
    }

    @Test func syncDaemonsStartListAndStop() async throws {
        _ = Shell.run("/usr/sbin/ip", ["-n", ns.name, "link", "add", "sync0", "type", "dummy"])
        _ = Shell.run("/usr/sbin/ip", ["-n", ns.name, "link", "set", "sync0", "up", "multicast", "on"])
        _ = Shell.run("/usr/sbin/ip", ["-n", ns.name, "addr", "add", "192.0.2.100/24", "dev", "sync0"])
        let master = SyncDaemon(role: .master, interface: "sync0", syncID: 7, maxLength: 1400,
                                multicastGroup: Doc.v4("239.1.2.3"), multicastPort: 8849, multicastTTL: 2)
        try await client.startDaemon(master)
        try await client.startDaemon(SyncDaemon(role: .backup, interface: "sync0", syncID: 9))
        let daemons = try await client.daemons()
        let m = try #require(daemons.first { $0.role == .master })
        #expect(m == master)
        let b = try #require(daemons.first { $0.role == .backup })
        #expect(b.interface == "sync0" && b.syncID == 9)
        #expect(b.multicastGroup == Doc.v4("224.0.0.81") && b.multicastPort == 8848 && b.multicastTTL == 1)
        let (_, text) = ns.ipvsadm(["-Ln", "--daemon"])
        #expect(text.contains("master sync daemon (mcast=sync0, syncid=7"))
        #expect(text.contains("backup sync daemon (mcast=sync0, syncid=9"))

        await #expect { try await client.startDaemon(master) } throws: { ($0 as? IPVSError)?.code == .alreadyExists }
        try await client.stopDaemon(.master)
        try await client.stopDaemon(.backup)
        #expect(try await client.daemons().isEmpty)
        let again = await #expect(throws: IPVSError.self) { try await client.stopDaemon(.master) }
        #expect(again?.code == .notFound)
        #expect(again?.context == "sync daemon master")
    }

    @Test func thousandServicesTimesTenListCompletely() async throws {
        let operations = largeTable(services: 1000, destinations: 10)
        let applyStart = ContinuousClock.now
        let applied = try await client.apply(operations)
        let applyTime = ContinuousClock.now - applyStart
        #expect(applied == 11_000)

        let listStart = ContinuousClock.now
        let table = try await client.table()
        let listTime = ContinuousClock.now - listStart
        #expect(table.count == 1000)
        #expect(table.allSatisfy { $0.destinations.count == 10 })
        #expect(Set(table.map(\.service.key)).count == 1000)

        let (_, listed) = ns.ipvsadm(["-Ln"])
        #expect(listed.split(separator: "\n").count(where: { $0.contains("->") && !$0.contains("RemoteAddress") }) == 10_000)

        // The same table through ipvsadm -R, in its own namespace, for comparison.
        let other = try IPVSNamespace()
        let rules = ipvsadmRules(services: 1000, destinations: 10)
        let ipvsadmStart = ContinuousClock.now
        let (status, output) = other.ipvsadm(["-R"], input: rules)
        let ipvsadmTime = ContinuousClock.now - ipvsadmStart
        #expect(status == 0, "ipvsadm -R: \(output.prefix(200))")
        let ipvsadmListStart = ContinuousClock.now
        _ = other.ipvsadm(["-Ln"])
        let ipvsadmListTime = ContinuousClock.now - ipvsadmListStart
        #expect(try await other.client.table().count == 1000)
        print("""
            | 1,000 services x 10 destinations | Vigil IPVSClient | ipvsadm | ratio |
            |---|---|---|---|
            | apply / -R | \(applyTime) | \(ipvsadmTime) | \(ratio(applyTime, ipvsadmTime)) |
            | table() / -Ln | \(listTime) | \(ipvsadmListTime) | \(ratio(listTime, ipvsadmListTime)) |
            """)
        try await client.flush()
    }

    @Test func concurrentTasksOnOneClientGetTheirOwnReplies() async throws {
        let client = self.client
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    let key = ServiceKey.address(.tcp, Doc.v4("192.0.2.\(10 + task)"), 80)
                    try await client.apply([.addService(Service(key: key, scheduler: "rr"))])
                    for i in 0..<20 {
                        try await client.apply([.addDestination(key, Destination(address: Doc.real(i + 1), port: UInt16(8000 + task)))])
                        let entry = try await client.entry(for: key)
                        #expect(entry.service.key == key)
                        #expect(entry.destinations.count == i + 1)
                        #expect(entry.destinations.allSatisfy { $0.port == UInt16(8000 + task) })
                        _ = try await client.info()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await client.table().map(\.destinations.count) == Array(repeating: 20, count: 8))
    }

    @Test func strayRepliesAreNeverHandedToTheNextRequest() async throws {
        let key = ServiceKey.address(.tcp, Doc.vip, 80)
        try await client.apply([.addService(Service(key: key))])
        // Leave an acknowledgement and an error unread, as a timed-out caller would.
        try client.sendUnansweredForTesting([.addDestination(key, sampleDestinations[0]), .addService(Service(key: key))])
        #expect(try await client.entry(for: key).destinations.count == 1)
        #expect(try await client.apply([.addDestination(key, sampleDestinations[1])]) == 1)
        #expect(try await client.destinations(of: key).count == 2)
    }

    // MARK: Errors

    @Test func duplicateServiceIsAlreadyExists() async throws {
        let s = Service(key: .address(.tcp, Doc.vip, 80))
        try await client.apply([.addService(s)])
        let e = await #expect(throws: IPVSError.self) { try await client.apply([.addService(s)]) }
        #expect(e?.code == .alreadyExists)
        #expect(e?.context == "TCP 192.0.2.1:80")
        #expect(e?.errno == EEXIST)
    }

    @Test func duplicateDestinationIsAlreadyExists() async throws {
        let key = ServiceKey.address(.tcp, Doc.vip, 80)
        let d = Destination(address: Doc.real(2), port: 80)
        try await client.apply([.addService(Service(key: key)), .addDestination(key, d)])
        let e = await #expect(throws: IPVSError.self) { try await client.apply([.addDestination(key, d)]) }
        #expect(e?.code == .alreadyExists)
        #expect(e?.context == "TCP 192.0.2.1:80 -> 198.51.100.2:80")
    }

    @Test(arguments: ["nosuch", "xyz"])
    func unknownSchedulerIsSchedulerMissing(_ scheduler: String) async throws {
        let key = ServiceKey.address(.tcp, Doc.vip, 80)
        var e = await #expect(throws: IPVSError.self) {
            try await client.apply([.addService(Service(key: key, scheduler: scheduler))])
        }
        #expect(e?.code == .schedulerMissing)
        #expect(e?.message.contains("'\(scheduler)'") == true)
        #expect(e?.context == "TCP 192.0.2.1:80")

        try await client.apply([.addService(Service(key: key))])
        e = await #expect(throws: IPVSError.self) {
            try await client.apply([.editService(Service(key: key, scheduler: scheduler))])
        }
        #expect(e?.code == .schedulerMissing)
    }

    @Test func missingServiceIsNotFound() async throws {
        let key = ServiceKey.address(.udp, Doc.vip, 53)
        let d = Destination(address: Doc.real(2), port: 53)
        for op: IPVSOperation in [
            .editService(Service(key: key)), .deleteService(key), .addDestination(key, d),
            .editDestination(key, d), .deleteDestination(key, d.key), .zero(key),
        ] {
            let e = await #expect(throws: IPVSError.self) { try await client.apply([op]) }
            #expect(e?.code == .notFound, "\(op)")
            #expect(e?.context.hasPrefix("UDP 192.0.2.1:53") == true)
        }
        let e = await #expect(throws: IPVSError.self) { try await client.entry(for: key) }
        #expect(e?.code == .notFound)
        #expect(e?.context == "UDP 192.0.2.1:53")
    }

    @Test func missingDestinationIsNotFound() async throws {
        let key = ServiceKey.address(.tcp, Doc.vip, 80)
        let d = Destination(address: Doc.real(9), port: 80)
        try await client.apply([.addService(Service(key: key))])
        for op: IPVSOperation in [.editDestination(key, d), .deleteDestination(key, d.key)] {
            let e = await #expect(throws: IPVSError.self) { try await client.apply([op]) }
            #expect(e?.code == .notFound)
            #expect(e?.message == "no such destination")
            #expect(e?.context == "TCP 192.0.2.1:80 -> 198.51.100.9:80")
        }
    }

    @Test func badValuesAreInvalidArgument() async throws {
        let key = ServiceKey.address(.tcp, Doc.vip, 80)
        try await client.apply([.addService(Service(key: key))])
        for op: IPVSOperation in [
            .addDestination(key, Destination(address: Doc.real(2), port: 80, weight: UInt32(Int32.max) + 1)),
            .addDestination(key, Destination(address: Doc.real(2), port: 80, upperThreshold: 5, lowerThreshold: 10)),
            .addService(Service(key: .address(.tcp, Doc.vip6, 80), flags: .persistent, timeout: 60, netmask: 129)),
            // Only tunnelled destinations may be of another family than their service.
            .addDestination(key, Destination(address: Doc.real6(2), port: 80, forwarding: .masquerade)),
        ] {
            let e = await #expect(throws: IPVSError.self) { try await client.apply([op]) }
            #expect(e?.code == .invalidArgument, "\(op): \(String(describing: e))")
            #expect(e?.context.hasPrefix("TCP ") == true)
        }
        let weight = await #expect(throws: IPVSError.self) {
            try await client.apply([.addDestination(key, Destination(address: Doc.real(2), port: 80, weight: 1 << 31))])
        }
        #expect(weight?.description == "TCP 192.0.2.1:80 -> 198.51.100.2:80: weight 2147483648 is out of range (0-2147483647)")
    }

    @Test(arguments: [1, 1024])
    func applyStopsAtTheFirstFailureAndCounts(depth: Int) async throws {
        let client = try IPVSClient(pipelineDepth: depth, networkNamespace: "/run/netns/\(ns.name)")
        let a = ServiceKey.address(.tcp, Doc.vip, 80)
        let b = ServiceKey.address(.tcp, Doc.vip, 81)
        let ops: [IPVSOperation] = [
            .addService(Service(key: a)), .addDestination(a, sampleDestinations[0]),
            .addService(Service(key: a)),  // fails: exists
            .addDestination(a, sampleDestinations[1]), .addService(Service(key: b)),
        ]
        let e = await #expect(throws: IPVSError.self) { try await client.apply(ops) }
        #expect(e?.code == .alreadyExists)
        #expect(e?.operationIndex == 2)
        #expect(e?.context == "TCP 192.0.2.1:80")
        let table = try await client.table()
        if depth == 1 {
            // Nothing after the failure was sent.
            #expect(e?.appliedCount == 2)
            #expect(table.map(\.service.key) == [a])
            #expect(table.first?.destinations.count == 1)
        } else {
            // The whole batch was in flight: the kernel applied what followed, and says so.
            #expect(e?.appliedCount == 4)
            #expect(table.count == 2)
        }
    }

    @Test func withoutPrivilegeIsPermissionDenied() async throws {
        let client = self.client
        let codes = onUnprivilegedThread { () -> [IPVSErrorCode?] in
            var codes: [IPVSErrorCode?] = []
            do throws(IPVSError) { _ = try client.applyNow([.addService(Service(key: .address(.tcp, Doc.vip, 80)))]) } catch {
                codes.append(error.code)
            }
            do throws(IPVSError) { _ = try client.readTable() } catch { codes.append(error.code) }
            return codes
        }
        #expect(codes == [IPVSErrorCode.permissionDenied, .permissionDenied])
        #expect(try await client.table().isEmpty)
    }
}

/// `services` TCP services on 192.0.2.1 (ports from 10000), each with `destinations` real servers.
func largeTable(services: Int, destinations: Int) -> [IPVSOperation] {
    var ops: [IPVSOperation] = []
    ops.reserveCapacity(services * (destinations + 1))
    for s in 0..<services {
        let key = ServiceKey.address(.tcp, Doc.vip, UInt16(10_000 + s))
        ops.append(.addService(Service(key: key, scheduler: "wrr")))
        for d in 0..<destinations {
            ops.append(.addDestination(key, Destination(address: Doc.real(d + 1), port: 80, forwarding: .masquerade, weight: 1)))
        }
    }
    return ops
}

/// The same table as ``largeTable(services:destinations:)`` in ipvsadm's rule format.
func ipvsadmRules(services: Int, destinations: Int) -> String {
    var text = ""
    for s in 0..<services {
        text += "-A -t 192.0.2.1:\(10_000 + s) -s wrr\n"
        for d in 0..<destinations {
            text += "-a -t 192.0.2.1:\(10_000 + s) -r 198.51.100.\(d + 1):80 -m -w 1\n"
        }
    }
    return text
}

func ratio(_ a: Duration, _ b: Duration) -> String {
    let x = Double(a.components.seconds) + Double(a.components.attoseconds) / 1e18
    let y = Double(b.components.seconds) + Double(b.components.attoseconds) / 1e18
    return y > 0 ? String(format: "%.2f", x / y) : "-"
}
