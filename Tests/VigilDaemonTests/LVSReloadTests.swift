import HealthCheck
import IPVS
import NIOPosix
import Testing
import VigilDaemon
import VigilSupport

private func addr(_ s: String) -> IPAddress { IPAddress(s)! }
private func key(_ n: Int) -> ServiceKey { .address(.tcp, addr("192.0.2.\(n)"), 80) }

/// A real server at 198.51.100.`n` with one TCP_CHECK.
private func server(_ n: Int, weight: UInt32 = 1, timeout: Duration = .seconds(3), alpha: Bool = false) -> RealServerSpec {
    let a = addr("198.51.100.\(n)")
    return RealServerSpec(destination: Destination(address: a, port: 80, forwarding: .masquerade, weight: weight),
                          checks: [CheckSpec(kind: .tcp(ConnectionSettings(address: a, port: 80, timeout: timeout)),
                                             timing: CheckTiming(alpha: alpha))])
}

private func virtualServer(_ n: Int, _ servers: [RealServerSpec], scheduler: String = "wrr") -> VirtualServerSpec {
    VirtualServerSpec(service: Service(key: key(n), scheduler: scheduler), realServers: servers)
}

/// A manager started on `plan` against an in-memory kernel, its pool not running (no checks).
private func started(_ plan: LVSPlan) async throws -> (LVSManager, CheckPool, FakeIPVS) {
    let fake = FakeIPVS()
    let pool = try CheckPool(specs: plan.allChecks, group: MultiThreadedEventLoopGroup.singleton)
    let manager = LVSManager(plan: plan, pool: pool, ipvs: fake, differ: CheckerDaemon.differ,
                             options: ReconcileOptions(drainTimeout: .seconds(30)))
    try await manager.start()
    await fake.clearApplied()
    return (manager, pool, fake)
}

private func weights(_ fake: FakeIPVS, _ k: ServiceKey) async -> [String: UInt32]? {
    guard let e = try? await fake.entry(for: k) else { return nil }
    return Dictionary(uniqueKeysWithValues: e.destinations.map { ($0.address.description, $0.weight) })
}

@Suite("Reloading the checker half: only the difference")
struct LVSReloadTests {
    @Test("an identical plan in another order issues no IPVS operation and keeps every probe")
    func reordered() async throws {
        let plan = LVSPlan(virtualServers: [virtualServer(1, [server(1), server(2)]), virtualServer(2, [server(3)])])
        let (m, pool, fake) = try await started(plan)
        let shuffled = LVSPlan(virtualServers: [virtualServer(2, [server(3)]), virtualServer(1, [server(2), server(1)])])
        let report = try await m.reload(plan: shuffled, pool: pool)
        #expect(await fake.applied.isEmpty)
        #expect(report.operations.isEmpty)
        #expect(report.changes.isEmpty)
        #expect(report.probes == CheckPool.Update(kept: 3, started: 0, stopped: 0))
    }

    @Test("one changed weight among 10,000 real servers is one destination edit and starts no probe")
    func oneWeightOfTenThousand() async throws {
        func plan(changed: UInt32) -> LVSPlan {
            LVSPlan(virtualServers: (0..<100).map { v in
                VirtualServerSpec(service: Service(key: .address(.tcp, addr("203.0.113.\(v)"), 80), scheduler: "wrr"),
                                  realServers: (0..<100).map { r in
                                      let a = addr("198.51.\(v).\(r + 1)")
                                      return RealServerSpec(destination: Destination(address: a, port: 80, forwarding: .route,
                                                                                     weight: v == 42 && r == 7 ? changed : 1),
                                                            checks: [CheckSpec(kind: .tcp(ConnectionSettings(address: a, port: 80)), timing: CheckTiming())])
                                  })
            })
        }
        let (m, pool, fake) = try await started(plan(changed: 1))
        let report = try await m.reload(plan: plan(changed: 5), pool: pool)
        let ops = await fake.applied
        #expect(ops.count == 1)
        #expect(ops.first == .editDestination(.address(.tcp, addr("203.0.113.42"), 80),
                                              Destination(address: addr("198.51.42.8"), port: 80, forwarding: .route, weight: 5)))
        #expect(report.probes == CheckPool.Update(kept: 10_000, started: 0, stopped: 0))
        #expect(report.changes == ["TCP 203.0.113.42:80: real server 198.51.42.8:80 weight 1 -> 5"])
    }

    @Test("a changed scheduler is one service edit; the destinations stay")
    func scheduler() async throws {
        let (m, pool, fake) = try await started(LVSPlan(virtualServers: [virtualServer(1, [server(1), server(2)])]))
        _ = try await m.reload(plan: LVSPlan(virtualServers: [virtualServer(1, [server(1), server(2)], scheduler: "lc")]), pool: pool)
        let ops = await fake.applied
        #expect(ops.count == 1)
        #expect(ops.first.map { if case .editService(let s) = $0 { s.scheduler == "lc" } else { false } } == true)
        #expect(await weights(fake, key(1)) == ["198.51.100.1": 1, "198.51.100.2": 1])
    }

    @Test("a removed real server drains at weight 0, then goes once it has no connections")
    func drain() async throws {
        let (m, pool, fake) = try await started(LVSPlan(virtualServers: [virtualServer(1, [server(1, weight: 3), server(2)])]))
        let report = try await m.reload(plan: LVSPlan(virtualServers: [virtualServer(1, [server(1, weight: 3)])]), pool: pool)
        #expect(await weights(fake, key(1)) == ["198.51.100.1": 3, "198.51.100.2": 0])
        #expect(report.probes == CheckPool.Update(kept: 1, started: 0, stopped: 1))
        #expect(report.changes.contains { $0.contains("198.51.100.2:80 removed; draining") })
        await fake.setConnections(key(1), DestinationKey(addr("198.51.100.2"), 80), active: 2)
        await m.finishDrains()
        await m.applyPending()
        #expect(await weights(fake, key(1)) == ["198.51.100.1": 3, "198.51.100.2": 0], "connections left: still draining")
        await fake.setConnections(key(1), DestinationKey(addr("198.51.100.2"), 80), active: 0)
        await m.finishDrains()
        await m.applyPending()
        #expect(await weights(fake, key(1)) == ["198.51.100.1": 3])
    }

    @Test("a real server named again while draining is back at its weight")
    func undrain() async throws {
        let both = LVSPlan(virtualServers: [virtualServer(1, [server(1), server(2, weight: 4)])])
        let (m, pool, fake) = try await started(both)
        _ = try await m.reload(plan: LVSPlan(virtualServers: [virtualServer(1, [server(1)])]), pool: pool)
        _ = try await m.reload(plan: both, pool: pool)
        #expect(await weights(fake, key(1)) == ["198.51.100.1": 1, "198.51.100.2": 4])
        #expect(await m.draining.isEmpty)
    }

    @Test("an added real server and virtual server are added; a removed virtual server is deleted")
    func addRemove() async throws {
        let (m, pool, fake) = try await started(LVSPlan(virtualServers: [virtualServer(1, [server(1)]), virtualServer(2, [server(2)])]))
        let report = try await m.reload(plan: LVSPlan(virtualServers: [virtualServer(1, [server(1), server(3)]), virtualServer(3, [server(4)])]), pool: pool)
        #expect(await weights(fake, key(1)) == ["198.51.100.1": 1, "198.51.100.3": 1])
        #expect(await weights(fake, key(3)) == ["198.51.100.4": 1])
        #expect(await weights(fake, key(2)) == nil)
        #expect(report.probes == CheckPool.Update(kept: 1, started: 2, stopped: 1))
    }

    @Test("a changed checker keeps its server's current state until it reports")
    func changedCheckerKeepsState() async throws {
        let (m, pool, fake) = try await started(LVSPlan(virtualServers: [virtualServer(1, [server(1), server(2)])]))
        // Server 2 goes down.
        let probe = try #require(pool.index(of: server(2).checks[0]))
        await m.handle(ProbeEvent(probe: probe, result: .failure("test"),
                                  change: CheckerState.Change(becameUp: false, weight: nil, nextDelay: .seconds(1)), isUp: false))
        #expect(await weights(fake, key(1)) == ["198.51.100.1": 1])
        await fake.clearApplied()
        // Its checker changes (another connect_timeout): it stays out until the new checker passes.
        let report = try await m.reload(plan: LVSPlan(virtualServers: [virtualServer(1, [server(1), server(2, timeout: .seconds(1))])]), pool: pool)
        #expect(await fake.applied.isEmpty)
        #expect(report.probes == CheckPool.Update(kept: 1, started: 1, stopped: 1))
        // The old probe's late result is ignored; the new one's success brings the server back.
        let newProbe = try #require(pool.index(of: server(2, timeout: .seconds(1)).checks[0]))
        #expect(newProbe != probe)
        await m.handle(ProbeEvent(probe: probe, result: .success(weight: nil),
                                  change: CheckerState.Change(becameUp: true, weight: nil, nextDelay: .seconds(1)), isUp: true))
        #expect(await weights(fake, key(1)) == ["198.51.100.1": 1])
        await m.handle(ProbeEvent(probe: newProbe, result: .success(weight: nil),
                                  change: CheckerState.Change(becameUp: true, weight: nil, nextDelay: .seconds(1)), isUp: true))
        #expect(await weights(fake, key(1)) == ["198.51.100.1": 1, "198.51.100.2": 1])
    }
}
