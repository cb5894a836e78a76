import HealthCheck
import VigilDaemon
import IPVS
import NIOPosix
import Testing
import VigilSupport

private let vip = ServiceKey.address(.tcp, IPAddress("192.0.2.10")!, 80)
private let foreign = ServiceKey.address(.tcp, IPAddress("192.0.2.99")!, 443)
private func addr(_ s: String) -> IPAddress { IPAddress(s)! }

private func plan(inhibit: Bool = false, sorry: Bool = false, quorum: UInt32 = 1) -> LVSPlan {
    let rss = ["198.51.100.1", "198.51.100.2"].map { a in
        RealServerSpec(destination: Destination(address: addr(a), port: 80, forwarding: .masquerade, weight: 2),
                       checks: [CheckSpec(kind: .tcp(ConnectionSettings(address: addr(a), port: 80)), timing: CheckTiming())],
                       inhibitOnFailure: inhibit)
    }
    return LVSPlan(virtualServers: [VirtualServerSpec(
        service: Service(key: vip, scheduler: "rr"), realServers: rss,
        sorryServer: sorry ? Destination(address: addr("203.0.113.5"), port: 80, forwarding: .masquerade, weight: 1) : nil,
        quorum: quorum)])
}

private func manager(_ plan: LVSPlan, _ fake: FakeIPVS, options: ReconcileOptions = ReconcileOptions()) throws -> (LVSManager, CheckPool) {
    let pool = try CheckPool(specs: plan.allChecks, group: MultiThreadedEventLoopGroup.singleton)
    return (LVSManager(plan: plan, pool: pool, ipvs: fake, differ: CheckerDaemon.differ, options: options), pool)
}

private func weights(_ fake: FakeIPVS, _ key: ServiceKey = vip) async -> [String: UInt32]? {
    guard let e = try? await fake.entry(for: key) else { return nil }
    return Dictionary(uniqueKeysWithValues: e.destinations.map { ($0.address.description, $0.weight) })
}

private func down(_ pool: CheckPool, _ plan: LVSPlan, rs: Int) -> ProbeEvent {
    ProbeEvent(probe: pool.index(of: plan.virtualServers[0].realServers[rs].checks[0])!, result: .failure("test"),
               change: CheckerState.Change(becameUp: false, weight: nil, nextDelay: .seconds(1)), isUp: false)
}

private func up(_ pool: CheckPool, _ plan: LVSPlan, rs: Int) -> ProbeEvent {
    ProbeEvent(probe: pool.index(of: plan.virtualServers[0].realServers[rs].checks[0])!, result: .success(weight: nil),
               change: CheckerState.Change(becameUp: true, weight: nil, nextDelay: .seconds(1)), isUp: true)
}

@Suite("LVS manager against an in-memory kernel")
struct LVSManagerTests {
    @Test("start installs the configured services and leaves other tools' services alone")
    func start() async throws {
        let other = ServiceEntry(service: Service(key: foreign), destinations: [Destination(address: addr("198.51.100.50"), port: 443)])
        let fake = FakeIPVS([other])
        let p = plan()
        let (m, _) = try manager(p, fake)
        try await m.start()
        #expect(await weights(fake) == ["198.51.100.1": 2, "198.51.100.2": 2])
        #expect(try await fake.entry(for: foreign) == other)
    }

    @Test("start touches only what differs")
    func startMinimal() async throws {
        let p = plan()
        let existing = ServiceEntry(service: Service(key: vip, scheduler: "rr"),
                                    destinations: [Destination(address: addr("198.51.100.1"), port: 80, forwarding: .masquerade, weight: 2)])
        let fake = FakeIPVS([existing])
        let (m, _) = try manager(p, fake)
        try await m.start()
        let ops = await fake.applied
        #expect(ops.count == 1)
        #expect(ops.first.map { if case .addDestination(_, let d) = $0 { d.address == addr("198.51.100.2") } else { false } } == true)
    }

    @Test("lvs_timeouts are set once at start")
    func timeouts() async throws {
        let fake = FakeIPVS()
        var p = plan()
        p.timeouts = Timeouts(tcp: 7200, tcpFin: 0, udp: 60)
        let (m, _) = try manager(p, fake)
        try await m.start()
        let sets = await fake.applied.filter { if case .setTimeouts = $0 { true } else { false } }
        #expect(sets == [.setTimeouts(Timeouts(tcp: 7200, tcpFin: 0, udp: 60))])
    }

    @Test("lvs_flush clears the whole table first")
    func flush() async throws {
        let fake = FakeIPVS([ServiceEntry(service: Service(key: foreign))])
        let (m, _) = try manager(plan(), fake, options: ReconcileOptions(flushOnStart: true))
        try await m.start()
        #expect(await weights(fake, foreign) == nil)
        #expect(await weights(fake) != nil)
    }

    @Test("an operator's ipvsadm -d and -C are repaired by the next reconcile")
    func drift() async throws {
        let fake = FakeIPVS()
        let (m, _) = try manager(plan(), fake)
        try await m.start()
        await fake.deleteDestination(vip, DestinationKey(addr("198.51.100.1"), 80))
        let repaired = try await m.reconcile(reason: "test")
        #expect(repaired.count == 1)
        #expect(await weights(fake) == ["198.51.100.1": 2, "198.51.100.2": 2])
        _ = try await fake.apply([.flush])
        try await m.reconcile(reason: "test")
        #expect(await weights(fake) == ["198.51.100.1": 2, "198.51.100.2": 2])
    }

    @Test("a failed real server is removed, or set to weight 0 with inhibit_on_failure")
    func health() async throws {
        for inhibit in [false, true] {
            let fake = FakeIPVS()
            let p = plan(inhibit: inhibit)
            let (m, pool) = try manager(p, fake)
            try await m.start()
            await m.handle(down(pool, p, rs: 0))
            #expect(await weights(fake) == (inhibit ? ["198.51.100.1": 0, "198.51.100.2": 2] : ["198.51.100.2": 2]))
            await m.handle(up(pool, p, rs: 0))
            #expect(await weights(fake) == ["198.51.100.1": 2, "198.51.100.2": 2])
        }
    }

    @Test("losing quorum swaps in the sorry server; regaining swaps it out")
    func sorry() async throws {
        let fake = FakeIPVS()
        let p = plan(sorry: true, quorum: 3)
        let (m, pool) = try manager(p, fake)
        try await m.start()
        await m.handle(down(pool, p, rs: 1))
        #expect(await weights(fake) == ["203.0.113.5": 1])
        await m.handle(up(pool, p, rs: 1))
        #expect(await weights(fake) == ["198.51.100.1": 2, "198.51.100.2": 2])
    }

    @Test("stop removes the managed services unless --dont-release-ipvs")
    func stop() async throws {
        for release in [true, false] {
            let fake = FakeIPVS([ServiceEntry(service: Service(key: foreign))])
            let (m, _) = try manager(plan(), fake, options: ReconcileOptions(releaseOnStop: release))
            try await m.start()
            await m.stop()
            #expect((await weights(fake) != nil) == !release)
            #expect(await weights(fake, foreign) != nil)
        }
    }
}

/// Reads through to `kernel`, first running `before` once: something that happens while a
/// background read is under way.
private actor InterruptedReader: IPVSControlling {
    let kernel: FakeIPVS
    var before: (@Sendable () async -> Void)?

    init(_ kernel: FakeIPVS, before: (@Sendable () async -> Void)?) {
        self.kernel = kernel
        self.before = before
    }

    func table() async throws -> [ServiceEntry] {
        if let b = before {
            before = nil
            await b()
        }
        return try await kernel.table()
    }

    func info() async throws -> IPVSInfo { try await kernel.info() }
    func entry(for key: ServiceKey) async throws -> ServiceEntry { try await kernel.entry(for: key) }
    func apply(_ operations: [IPVSOperation]) async throws -> Int { try await kernel.apply(operations) }
    func timeouts() async throws -> Timeouts { try await kernel.timeouts() }
    func daemons() async throws -> [SyncDaemon] { try await kernel.daemons() }
}

/// Background drift repair reading through `reader`, on a worker of its own.
private func drift(_ reader: any IPVSControlling) throws -> BackgroundReconcile {
    BackgroundReconcile(reader: reader, worker: try BackgroundWorker(name: "test-drift"))
}

@Suite("LVS manager: drift repair in the background")
struct BackgroundDriftTests {
    @Test("an operator's ipvsadm -d is repaired from a background read and diff; a clean table is left alone")
    func repairs() async throws {
        let fake = FakeIPVS()
        let p = plan()
        let pool = try CheckPool(specs: p.allChecks, group: MultiThreadedEventLoopGroup.singleton)
        let m = LVSManager(plan: p, pool: pool, ipvs: fake, differ: CheckerDaemon.differ,
                           background: try drift(fake))
        try await m.start()
        let atStart = await fake.applied.count
        #expect(try await m.repairDrift().isEmpty)
        #expect(await fake.applied.count == atStart)
        await fake.deleteDestination(vip, DestinationKey(addr("198.51.100.1"), 80))
        #expect(try await m.repairDrift().count == 1)
        #expect(await weights(fake) == ["198.51.100.1": 2, "198.51.100.2": 2])
        #expect(await m.backgroundRepairs == 2)
        #expect(await m.overtakenRepairs == 0)
    }

    @Test("a drift repair that costs more than its share of a CPU is spaced out")
    func paced() async throws {
        let fake = FakeIPVS()
        let p = plan()
        let m = LVSManager(plan: p, pool: nil, ipvs: fake, differ: CheckerDaemon.differ,
                           options: ReconcileOptions(interval: .seconds(5), driftCPUShare: 1e-6),
                           background: try drift(fake))
        try await m.start()
        #expect(await m.driftInterval == .seconds(5))
        try await m.repairDrift()
        let cpu = await m.lastDriftCPU
        #expect(cpu > .zero)
        #expect(await m.driftInterval == max(.seconds(5), cpu / 1e-6))
        let relaxed = LVSManager(plan: p, pool: nil, ipvs: fake, differ: CheckerDaemon.differ,
                                 background: try drift(fake))
        try await relaxed.repairDrift()
        #expect(await relaxed.driftInterval == .seconds(5))
        let explicit = LVSManager(plan: p, pool: nil, ipvs: fake, differ: CheckerDaemon.differ,
                                  options: ReconcileOptions(interval: .seconds(5), driftCPUShare: nil),
                                  background: try drift(fake))
        try await explicit.repairDrift()
        #expect(await explicit.lastDriftCPU > .zero)
        #expect(await explicit.driftInterval == .seconds(5), "an operator's --reconcile-interval is kept")
    }

    @Test("a server that fails during a background read stays out: the stale repair is redone inline")
    func overtaken() async throws {
        let fake = FakeIPVS()
        let p = plan()
        let pool = try CheckPool(specs: p.allChecks, group: MultiThreadedEventLoopGroup.singleton)
        let box = ManagerBox()
        let reader = InterruptedReader(fake) { await box.manager?.handle(down(pool, p, rs: 0)) }
        let m = LVSManager(plan: p, pool: pool, ipvs: fake, differ: CheckerDaemon.differ,
                           background: try drift(reader))
        await box.set(m)
        try await m.start()
        await fake.deleteDestination(vip, DestinationKey(addr("198.51.100.2"), 80))
        _ = try await m.repairDrift()
        // The background diff began while 198.51.100.1 was up, and would have put it back.
        #expect(await weights(fake) == ["198.51.100.2": 2])
        #expect(await m.overtakenRepairs == 1)
        #expect(await m.backgroundRepairs == 0)
    }
}

private actor ManagerBox {
    var manager: LVSManager?
    func set(_ m: LVSManager) { manager = m }
}

@Suite("Checker service")
struct CheckerServiceTests {
    @Test("describes itself in one short line however large the plan (ServiceLifecycle logs it at start)")
    func shortDescription() {
        let big = LVSPlan(virtualServers: (0..<25).map { v in
            VirtualServerSpec(service: Service(key: .address(.tcp, addr("192.0.2.\(v + 1)"), 80), scheduler: "rr"),
                              realServers: (0..<100).map { r in
                                  let a = addr("198.51.\(100 + v / 10).\(r + 1)")
                                  return RealServerSpec(destination: Destination(address: a, port: UInt16(8000 + v), forwarding: .masquerade, weight: 1),
                                                        checks: [CheckSpec(kind: .tcp(ConnectionSettings(address: a, port: UInt16(8000 + v))), timing: CheckTiming())])
                              })
        })
        let service = CheckerService(plan: big, ipvs: FakeIPVS(), differ: CheckerDaemon.differ, options: ReconcileOptions())
        #expect(String(describing: service) == "CheckerService(25 virtual servers, 2500 checks)")
    }
}
