import HealthCheck
import IPVS
import Testing
import VigilSupport

@Suite("Real-server overrides in the desired table (vigil ctl drain/weight/disable)")
struct OverrideStateTests {
    static func spec(inhibit: Bool = false) -> VirtualServerSpec {
        let timing = CheckTiming(delayLoop: .seconds(1))
        let rss = [(1, UInt32(3)), (2, UInt32(2))].map { n, w in
            RealServerSpec(destination: Destination(address: IPAddress("198.51.100.\(n)")!, port: 80, forwarding: .route, weight: w),
                           checks: [CheckSpec(kind: .tcp(ConnectionSettings(address: IPAddress("198.51.100.\(n)")!, port: 80, timeout: .seconds(1))),
                                              timing: timing)],
                           inhibitOnFailure: inhibit)
        }
        return VirtualServerSpec(service: Service(key: .address(.tcp, IPAddress("192.0.2.1")!, 80), scheduler: "wrr"), realServers: rss,
                                 sorryServer: Destination(address: IPAddress("203.0.113.9")!, port: 80, forwarding: .route, weight: 1),
                                 quorum: 1)
    }

    static func weights(_ s: VirtualServerState) -> [String: UInt32] {
        Dictionary(uniqueKeysWithValues: s.desiredDestinations.map { ($0.key.description, $0.weight) })
    }

    @Test("weight N replaces the configured weight; clearing it returns to it")
    func weight() {
        var s = VirtualServerState(spec: Self.spec())
        _ = s.setOverride(.weight(9), realServer: 0)
        #expect(Self.weights(s) == ["198.51.100.1:80": 9, "198.51.100.2:80": 2])
        _ = s.setOverride(nil, realServer: 0)
        #expect(Self.weights(s) == ["198.51.100.1:80": 3, "198.51.100.2:80": 2])
    }

    @Test("drain keeps the server in IPVS at weight 0; drained takes it out")
    func drain() {
        var s = VirtualServerState(spec: Self.spec())
        _ = s.setOverride(.drain(removeWhenIdle: true), realServer: 0)
        #expect(Self.weights(s) == ["198.51.100.1:80": 0, "198.51.100.2:80": 2])
        _ = s.setOverride(.drained, realServer: 0)
        #expect(Self.weights(s) == ["198.51.100.2:80": 2])
    }

    @Test("disable holds a passing server out (weight 0 with inhibit_on_failure) and runs no notify script")
    func disable() {
        var s = VirtualServerState(spec: Self.spec())
        #expect(s.setOverride(.disabled, realServer: 1).isEmpty)
        #expect(Self.weights(s) == ["198.51.100.1:80": 3])
        // Its checker's verdicts do not move it while disabled: no notify_down, no notify_up.
        #expect(s.update(realServer: 1, checker: 0, up: false, weight: nil).isEmpty)
        #expect(s.update(realServer: 1, checker: 0, up: true, weight: nil).isEmpty)
        var inhibited = VirtualServerState(spec: Self.spec(inhibit: true))
        _ = inhibited.setOverride(.disabled, realServer: 1)
        #expect(Self.weights(inhibited) == ["198.51.100.1:80": 3, "198.51.100.2:80": 0])
    }

    @Test("draining or disabling every server loses quorum: the sorry server answers")
    func quorum() {
        var s = VirtualServerState(spec: Self.spec())
        #expect(s.setOverride(.drain(removeWhenIdle: false), realServer: 0).isEmpty)
        #expect(s.setOverride(.disabled, realServer: 1) == [.quorumDown])
        #expect(Self.weights(s) == ["203.0.113.9:80": 1])
        #expect(s.setOverride(nil, realServer: 1) == [.quorumUp])
    }
}
