import HealthCheck
import IPVS
import Testing
import VigilSupport

private let fail = CheckResult.failure("x")
private let ok = CheckResult.success(weight: nil)

@Suite("Checker up/down decisions")
struct CheckerStateTests {
    func timing(retry: Int = 2, alpha: Bool = false) -> CheckTiming {
        CheckTiming(delayLoop: .seconds(10), retry: retry, delayBeforeRetry: .seconds(3), warmup: .seconds(4), alpha: alpha)
    }

    @Test("at start-up one failure is enough to go down")
    func startup() {
        var s = CheckerState(timing: timing())
        #expect(s.isUp)
        let c = s.record(fail)
        #expect(c.becameUp == false)
        #expect(c.nextDelay == .seconds(10))
    }

    @Test("after start-up, down only after retry+1 consecutive failures, retries after delay_before_retry")
    func retries() {
        var s = CheckerState(timing: timing(retry: 2))
        _ = s.record(ok)
        var c = s.record(fail)
        #expect(c.becameUp == nil && c.nextDelay == .seconds(3))
        c = s.record(fail)
        #expect(c.becameUp == nil && c.nextDelay == .seconds(3))
        c = s.record(fail)
        #expect(c.becameUp == false && c.nextDelay == .seconds(10))
        #expect(!s.isUp)
    }

    @Test("a success between failures resets the count")
    func reset() {
        var s = CheckerState(timing: timing(retry: 1))
        _ = s.record(ok)
        _ = s.record(fail)
        _ = s.record(ok)
        #expect(s.record(fail).becameUp == nil)
        #expect(s.record(fail).becameUp == false)
    }

    @Test("one success brings a down checker up")
    func rise() {
        var s = CheckerState(timing: timing())
        _ = s.record(fail)
        #expect(s.record(ok).becameUp == true)
    }

    @Test("alpha starts down; failures keep it down; a success brings it up")
    func alpha() {
        var s = CheckerState(timing: timing(alpha: true))
        #expect(!s.isUp)
        #expect(s.record(fail).becameUp == nil)
        #expect(s.record(ok).becameUp == true)
    }

    @Test("misc_dynamic weights are reported when they change")
    func dynamicWeight() {
        var s = CheckerState(timing: timing())
        #expect(s.record(.success(weight: 5)).weight == 5)
        #expect(s.record(.success(weight: 5)).weight == nil)
        #expect(s.record(.success(weight: 0)).weight == 0)
    }

    @Test("first checks spread over warmup (default delay_loop)")
    func warmup() {
        let s = CheckerState(timing: timing())
        #expect(s.firstDelay(random: 0) == .zero)
        #expect(s.firstDelay(random: 0.5) == .seconds(2))
        var t = timing()
        t.warmup = nil
        #expect(CheckerState(timing: t).firstDelay(random: 0.5) == .seconds(5))
    }
}

private func rs(_ last: UInt32, weight: UInt32 = 1, checks: Int = 1, inhibit: Bool = false, alpha: Bool = false) -> RealServerSpec {
    let a = IPAddress.v4(0xC633_6400 + last)  // 198.51.100.x
    let spec = CheckSpec(kind: .tcp(ConnectionSettings(address: a, port: 80)), timing: CheckTiming(alpha: alpha))
    return RealServerSpec(destination: Destination(address: a, port: 80, weight: weight),
                          checks: Array(repeating: spec, count: checks), inhibitOnFailure: inhibit)
}

private let vip = ServiceKey.address(.tcp, IPAddress("192.0.2.1")!, 80)
private let sorry = Destination(address: IPAddress("203.0.113.9")!, port: 80, weight: 1)

@Suite("Virtual server: real servers, quorum, sorry server")
struct VirtualServerStateTests {
    func weights(_ s: VirtualServerState) -> [String: UInt32] {
        Dictionary(uniqueKeysWithValues: s.desiredDestinations.map { ($0.address.description, $0.weight) })
    }

    @Test("a down real server is removed; with inhibit_on_failure it stays at weight 0")
    func removal() {
        var s = VirtualServerState(spec: VirtualServerSpec(service: Service(key: vip), realServers: [rs(1), rs(2, inhibit: true), rs(3)]))
        #expect(weights(s).count == 3)
        #expect(s.update(realServer: 0, checker: 0, up: false, weight: nil) == [.notifyDown(realServer: 0)])
        _ = s.update(realServer: 1, checker: 0, up: false, weight: nil)
        #expect(weights(s) == ["198.51.100.2": 0, "198.51.100.3": 1])
        #expect(s.update(realServer: 0, checker: 0, up: true, weight: nil) == [.notifyUp(realServer: 0)])
        #expect(weights(s)["198.51.100.1"] == 1)
    }

    @Test("a real server is alive only when all its checkers are up")
    func allCheckers() {
        var s = VirtualServerState(spec: VirtualServerSpec(service: Service(key: vip), realServers: [rs(1, checks: 2), rs(2)]))
        _ = s.update(realServer: 0, checker: 0, up: false, weight: nil)
        _ = s.update(realServer: 0, checker: 1, up: false, weight: nil)
        #expect(s.update(realServer: 0, checker: 0, up: true, weight: nil).isEmpty)
        #expect(!s.isAlive(0))
        #expect(s.update(realServer: 0, checker: 1, up: true, weight: nil) == [.notifyUp(realServer: 0)])
    }

    @Test("alpha: servers start out of the table")
    func alpha() {
        let s = VirtualServerState(spec: VirtualServerSpec(service: Service(key: vip), realServers: [rs(1, alpha: true), rs(2)], quorum: 1))
        #expect(Set(weights(s).keys) == ["198.51.100.2"])
    }

    @Test("misc_dynamic weight replaces the configured weight")
    func dynamic() {
        var s = VirtualServerState(spec: VirtualServerSpec(service: Service(key: vip), realServers: [rs(1, weight: 3)]))
        _ = s.update(realServer: 0, checker: 0, up: nil, weight: 7)
        #expect(weights(s)["198.51.100.1"] == 7)
        #expect(s.liveWeight == 7)
    }

    @Test("losing quorum withdraws live servers and installs the sorry server; regaining reverses it")
    func quorumSorry() {
        var s = VirtualServerState(spec: VirtualServerSpec(service: Service(key: vip), realServers: [rs(1, weight: 2), rs(2, weight: 2), rs(3, weight: 2)],
                                                           sorryServer: sorry, quorum: 4, hysteresis: 1))
        #expect(s.quorumUp)
        #expect(weights(s)["203.0.113.9"] == nil)
        // 6 → 4: 4 ≥ 4 − 1, still up.
        #expect(s.update(realServer: 0, checker: 0, up: false, weight: nil) == [.notifyDown(realServer: 0)])
        #expect(s.quorumUp)
        // 4 → 2: 2 < 3, lost.
        #expect(s.update(realServer: 1, checker: 0, up: false, weight: nil) == [.notifyDown(realServer: 1), .quorumDown])
        #expect(weights(s) == ["203.0.113.9": 1])
        // 2 → 4: 4 < 4 + 1, still down (hysteresis).
        #expect(s.update(realServer: 1, checker: 0, up: true, weight: nil) == [.notifyUp(realServer: 1)])
        #expect(!s.quorumUp)
        // 4 → 6: gained.
        #expect(s.update(realServer: 0, checker: 0, up: true, weight: nil) == [.notifyUp(realServer: 0), .quorumUp])
        #expect(weights(s) == ["198.51.100.1": 2, "198.51.100.2": 2, "198.51.100.3": 2])
    }

    @Test("sum 0 loses quorum even when quorum − hysteresis is 0")
    func zeroSum() {
        var s = VirtualServerState(spec: VirtualServerSpec(service: Service(key: vip), realServers: [rs(1)], sorryServer: sorry, quorum: 1, hysteresis: 1))
        #expect(s.update(realServer: 0, checker: 0, up: false, weight: nil).contains(.quorumDown))
    }

    @Test("sorry_server_inhibit keeps the sorry server at weight 0 while unused")
    func sorryInhibit() {
        var s = VirtualServerState(spec: VirtualServerSpec(service: Service(key: vip), realServers: [rs(1)], sorryServer: sorry, sorryServerInhibit: true))
        #expect(weights(s) == ["198.51.100.1": 1, "203.0.113.9": 0])
        _ = s.update(realServer: 0, checker: 0, up: false, weight: nil)
        #expect(weights(s) == ["203.0.113.9": 1])
    }

    @Test("starts without quorum when alpha servers cannot reach it; sorry server installed")
    func startWithoutQuorum() {
        let s = VirtualServerState(spec: VirtualServerSpec(service: Service(key: vip), realServers: [rs(1, alpha: true)], sorryServer: sorry))
        #expect(!s.quorumUp)
        #expect(desiredTable([s]).first?.destinations.map(\.address.description) == ["203.0.113.9"])
    }
}
