@testable import IPVS
import Testing
import VigilSupport

/// The diff contract: minimal, ordered, edits over delete+add, only managed services.
@Suite struct DiffTests {
    let web = ServiceKey.address(.tcp, Doc.vip, 80)
    let dns = ServiceKey.address(.udp, Doc.vip, 53)
    let mark = ServiceKey.firewallMark(42, .inet)
    let web6 = ServiceKey.address(.tcp, Doc.vip6, 80)

    func dest(_ i: Int, weight: UInt32 = 1, forwarding: ForwardingMethod = .route) -> Destination {
        Destination(address: Doc.real(i), port: 80, forwarding: forwarding, weight: weight)
    }

    func entry(_ key: ServiceKey, _ dests: [Destination] = [], scheduler: String = "wlc") -> ServiceEntry {
        ServiceEntry(service: Service(key: key, scheduler: scheduler), destinations: dests)
    }

    /// What the kernel reports for `e`: statistics, counts and the hashed flag filled in.
    func asReported(_ e: ServiceEntry) -> ServiceEntry {
        var r = e
        r.service.flags.insert(.hashed)
        var stats = Statistics()
        stats.connections = 99
        stats.inBytes = 1234
        r.service.statistics = stats
        r.destinations = e.destinations.map { d in
            var d = d
            d.activeConnections = 5
            d.inactiveConnections = 6
            d.persistentConnections = 7
            d.statistics = stats
            return d
        }
        return r
    }

    @Test func equalTablesNeedNothing() {
        let t = [entry(web, [dest(1), dest(2)]), entry(mark, [dest(3)])]
        #expect(diff(actual: t.map(asReported), desired: t, managed: [web, mark]).isEmpty)
    }

    @Test func emptyToDesiredAddsServicesBeforeTheirDestinations() {
        let desired = [entry(web, [dest(2), dest(1)]), entry(dns, [dest(3)])]
        let ops = diff(actual: [], desired: desired, managed: [])
        #expect(ops == [
            .addService(Service(key: web)), .addService(Service(key: dns)),
            .addDestination(web, dest(1)), .addDestination(web, dest(2)), .addDestination(dns, dest(3)),
        ])
    }

    @Test func managedKeyMissingFromDesiredIsDeletedWithoutDeletingItsDestinationsOneByOne() {
        let actual = [entry(web, [dest(1), dest(2)]), entry(dns, [dest(3)])].map(asReported)
        let ops = diff(actual: actual, desired: [entry(dns, [dest(3)])], managed: [web, dns])
        #expect(ops == [.deleteService(web)])
    }

    @Test func servicesOtherToolsOwnAreLeftAlone() {
        let foreign = asReported(entry(mark, [dest(9)]))
        let ops = diff(actual: [foreign], desired: [], managed: [web])
        #expect(ops.isEmpty)
        // Even a foreign service with the same destinations as ours is not touched.
        let ops2 = diff(actual: [foreign, asReported(entry(web, [dest(1)]))], desired: [entry(web, [dest(2)])], managed: [web])
        #expect(ops2 == [.addDestination(web, dest(2)), .deleteDestination(web, dest(1).key)])
    }

    @Test func desiredServicesAreManagedEvenWhenNotListed() {
        let ops = diff(actual: [asReported(entry(web, [dest(1)], scheduler: "rr"))], desired: [entry(web, [dest(1)])], managed: [])
        #expect(ops == [.editService(Service(key: web))])
    }

    /// Each service setting the kernel lets `SET_SERVICE` change.
    static let serviceEdits: [(String, @Sendable (inout Service) -> Void)] = [
        ("scheduler", { $0.scheduler = "rr" }),
        ("flags", { $0.flags = [.sched1, .sched2] }),
        ("persistence", { $0.flags = .persistent; $0.timeout = 300 }),
        ("timeout", { $0.timeout = 60 }),
        ("netmask", { $0.netmask = 0xFFFF_FF00 }),
        ("persistence engine", { $0.persistenceEngine = "sip" }),
    ]

    @Test(arguments: 0..<serviceEdits.count)
    func serviceSettingChangesAreEdits(_ i: Int) {
        let (_, change) = Self.serviceEdits[i]
        var wanted = Service(key: web)
        change(&wanted)
        let desired = [ServiceEntry(service: wanted, destinations: [dest(1)])]
        let ops = diff(actual: [asReported(entry(web, [dest(1)]))], desired: desired, managed: [web])
        #expect(ops == [.editService(wanted)], "\(Self.serviceEdits[i].0)")
    }

    /// Each destination setting the kernel lets `SET_DEST` change.
    static let destinationEdits: [(String, @Sendable (inout Destination) -> Void)] = [
        ("weight", { $0.weight = 0 }),
        ("weight above 16 bits", { $0.weight = 100_000 }),
        ("upper threshold", { $0.upperThreshold = 100 }),
        ("lower threshold", { $0.lowerThreshold = 10 }),
        ("forwarding", { $0.forwarding = .masquerade }),
        ("to tunnel", { $0.forwarding = .tunnel }),
    ]

    @Test(arguments: 0..<destinationEdits.count)
    func destinationSettingChangesAreEdits(_ i: Int) {
        var wanted = dest(1)
        Self.destinationEdits[i].1(&wanted)
        let ops = diff(actual: [asReported(entry(web, [dest(1), dest(2)]))], desired: [entry(web, [wanted, dest(2)])], managed: [web])
        #expect(ops == [.editDestination(web, wanted)], "\(Self.destinationEdits[i].0)")
    }

    @Test func tunnelSettingsCountOnlyForTunnelDestinations() {
        var tun = dest(1, forwarding: .tunnel)
        var gue = tun
        gue.tunnelType = .gue
        gue.tunnelPort = 6080
        #expect(diff(actual: [asReported(entry(web, [tun]))], desired: [entry(web, [gue])], managed: [web]) == [.editDestination(web, gue)])
        var flagged = tun
        flagged.tunnelFlags = .checksum
        #expect(diff(actual: [asReported(entry(web, [tun]))], desired: [entry(web, [flagged])], managed: [web]).count == 1)
        // The kernel reports zeros for non-tunnel destinations; stray values in desired do not matter.
        tun.forwarding = .route
        var routed = tun
        routed.tunnelPort = 9
        routed.tunnelType = .gre
        #expect(diff(actual: [asReported(entry(web, [tun]))], desired: [entry(web, [routed])], managed: [web]).isEmpty)
    }

    @Test func addressFamilyAndProtocolAreKeys() {
        // Same address and port, another protocol: a different service.
        let tcp = entry(web, [dest(1)])
        let udp = entry(.address(.udp, Doc.vip, 80), [dest(1)])
        let ops = diff(actual: [asReported(tcp)], desired: [udp], managed: [web])
        #expect(ops == [.addService(Service(key: .address(.udp, Doc.vip, 80))), .addDestination(.address(.udp, Doc.vip, 80), dest(1)), .deleteService(web)])
        // Same mark, other family: a different service.
        let m6 = ServiceKey.firewallMark(42, .inet6)
        let ops6 = diff(actual: [asReported(entry(mark))], desired: [entry(m6)], managed: [mark])
        #expect(ops6 == [.addService(Service(key: m6)), .deleteService(mark)])
        // A destination moving to IPv6 is a different destination.
        let v6 = Destination(address: Doc.real6(1), port: 80)
        let opsd = diff(actual: [asReported(entry(web6, [Destination(address: Doc.real6(2), port: 80)]))], desired: [entry(web6, [v6])], managed: [web6])
        #expect(opsd == [.addDestination(web6, v6), .deleteDestination(web6, DestinationKey(Doc.real6(2), 80))])
    }

    @Test func kernelReportedFieldsNeverCauseOperations() {
        var reported = asReported(entry(web, [dest(1)]))
        reported.service.statistics?.connections = 1 << 40
        reported.destinations[0].activeConnections = 1000
        #expect(diff(actual: [reported], desired: [entry(web, [dest(1)])], managed: [web]).isEmpty)
        // Nor do statistics in the desired table.
        var desired = entry(web, [dest(1)])
        desired.service.statistics = Statistics()
        desired.destinations[0].inactiveConnections = 3
        #expect(diff(actual: [reported], desired: [desired], managed: [web]).isEmpty)
        // And written operations carry none.
        let ops = diff(actual: [], desired: [asReported(entry(web, [dest(1)]))], managed: [])
        #expect(ops == [.addService(Service(key: web)), .addDestination(web, dest(1))])
    }

    @Test func emptyPersistenceEngineEqualsNone() {
        var s = Service(key: web)
        s.persistenceEngine = ""
        #expect(diff(actual: [asReported(entry(web))], desired: [ServiceEntry(service: s)], managed: [web]).isEmpty)
    }

    @Test func orderIsMakeBeforeBreakAndSorted() {
        let actual = [
            entry(mark, [dest(1)]),
            entry(web, [dest(1), dest(2), dest(3)], scheduler: "rr"),
            entry(dns, [dest(5)]),
        ].map(asReported)
        let desired = [
            entry(web, [dest(3, weight: 9), dest(4), dest(2)]),
            entry(web6, [Destination(address: Doc.real6(1), port: 80)]),
            entry(.address(.tcp, Doc.vip, 22), [dest(7)]),
        ]
        let ops = diff(actual: actual, desired: desired, managed: [mark, web, dns])
        let ssh = ServiceKey.address(.tcp, Doc.vip, 22)
        #expect(ops == [
            .addService(Service(key: ssh)),
            .addService(Service(key: web6)),
            .editService(Service(key: web)),
            .addDestination(ssh, dest(7)),
            .addDestination(web, dest(4)),
            .addDestination(web6, Destination(address: Doc.real6(1), port: 80)),
            .editDestination(web, dest(3, weight: 9)),
            .deleteDestination(web, dest(1).key),
            .deleteService(dns),
            .deleteService(mark),
        ])
    }

    @Test func orderDoesNotDependOnInputOrder() {
        let actual = [entry(web, [dest(1), dest(2)]), entry(dns, [dest(3)]), entry(mark)].map(asReported)
        let desired = [entry(web, [dest(2), dest(4)]), entry(web6), entry(mark, [dest(8), dest(7)])]
        let expected = diff(actual: actual, desired: desired, managed: [web, dns, mark])
        var rng = SeededGenerator(seed: 7)
        for _ in 0..<20 {
            let shuffledActual = actual.shuffled(using: &rng).map { e in
                var e = e
                e.destinations.shuffle(using: &rng)
                return e
            }
            let shuffledDesired = desired.shuffled(using: &rng)
            #expect(diff(actual: shuffledActual, desired: shuffledDesired, managed: [mark, dns, web]) == expected)
        }
    }

    @Test func duplicatesInDesiredKeepTheFirst() {
        let desired = [entry(web, [dest(1, weight: 5), dest(1, weight: 6)]), entry(web, [dest(9)], scheduler: "rr")]
        let ops = diff(actual: [], desired: desired, managed: [])
        #expect(ops == [.addService(Service(key: web)), .addDestination(web, dest(1, weight: 5))])
    }

    @Test func applyingTheDiffReachesTheDesiredTable() async throws {
        // Round trip through the fake kernel: after applying the diff, a second diff is empty,
        // and a foreign service survives.
        let kernel = FakeKernel()
        let client = IPVSClient(transport: kernel, pipelineDepth: 16)
        try await client.apply([
            .addService(Service(key: mark, scheduler: "rr")), .addDestination(mark, dest(1)),
            .addService(Service(key: web, scheduler: "rr")), .addDestination(web, dest(1)), .addDestination(web, dest(2)),
            .addService(Service(key: dns)),
        ])
        let desired = [entry(web, [dest(2, weight: 3), dest(5)], scheduler: "wrr"), entry(web6, [Destination(address: Doc.real6(4), port: 80)])]
        let managed: Set<ServiceKey> = [web, dns, web6]
        try await client.apply(diff(actual: try await client.table(), desired: desired, managed: managed))
        let after = try await client.table()
        #expect(diff(actual: after, desired: desired, managed: managed).isEmpty)
        #expect(after.contains { $0.service.key == mark && $0.destinations.count == 1 })
        #expect(!after.contains { $0.service.key == dns })
    }

    @Test func serviceKeyOrderIsTotal() {
        let keys: [ServiceKey] = [web, dns, mark, web6, .firewallMark(42, .inet6), .firewallMark(1, .inet6),
                                  .address(.sctp, Doc.vip, 1), .address(.tcp, Doc.real(1), 80)]
        for a in keys {
            #expect(!ServiceKey.precedes(a, a))
            for b in keys where a != b {
                #expect(ServiceKey.precedes(a, b) != ServiceKey.precedes(b, a), "\(a) vs \(b)")
            }
        }
    }
}
