import IPVS
import VigilSupport

/// A real server as configured: its IPVS destination, its checkers and what to do on change.
public struct RealServerSpec: Sendable, Hashable {
    /// Address, port, forwarding method, configured weight and thresholds.
    public var destination: Destination
    public var checks: [CheckSpec]
    /// `inhibit_on_failure`: a down server stays with weight 0 instead of being removed.
    public var inhibitOnFailure: Bool
    /// `notify_up` / `notify_down`: program and arguments, run with no shell.
    public var notifyUp: [String]?
    public var notifyDown: [String]?

    public init(destination: Destination, checks: [CheckSpec] = [], inhibitOnFailure: Bool = false,
                notifyUp: [String]? = nil, notifyDown: [String]? = nil) {
        self.destination = destination
        self.checks = checks
        self.inhibitOnFailure = inhibitOnFailure
        self.notifyUp = notifyUp
        self.notifyDown = notifyDown
    }
}

/// A virtual server as configured: its IPVS service, real servers, quorum and sorry server.
public struct VirtualServerSpec: Sendable, Hashable {
    public var service: Service
    public var realServers: [RealServerSpec]
    public var sorryServer: Destination?
    /// `sorry_server_inhibit`: the sorry server stays in IPVS with weight 0 while unused.
    public var sorryServerInhibit: Bool
    public var quorum: UInt32
    public var hysteresis: UInt32
    public var quorumUp: [String]?
    public var quorumDown: [String]?

    public init(service: Service, realServers: [RealServerSpec], sorryServer: Destination? = nil,
                sorryServerInhibit: Bool = false, quorum: UInt32 = 1, hysteresis: UInt32 = 0,
                quorumUp: [String]? = nil, quorumDown: [String]? = nil) {
        self.service = service
        self.realServers = realServers
        self.sorryServer = sorryServer
        self.sorryServerInhibit = sorryServerInhibit
        self.quorum = quorum
        self.hysteresis = hysteresis
        self.quorumUp = quorumUp
        self.quorumDown = quorumDown
    }
}

/// Side effects a state change asks for; the runtime runs them without blocking checkers.
public enum VirtualServerAction: Sendable, Hashable {
    case notifyUp(realServer: Int)
    case notifyDown(realServer: Int)
    case quorumUp
    case quorumDown
}

/// Health of one virtual server's real servers and its quorum, as a value type with pure transitions.
public struct VirtualServerState: Sendable, Hashable {
    public let spec: VirtualServerSpec
    /// Per real server, per checker: up?
    public private(set) var checkerUp: [[Bool]]
    /// Per real server: weight from misc_dynamic, overriding the configured one.
    public private(set) var dynamicWeight: [UInt32?]
    public private(set) var quorumUp: Bool

    /// Starts with each checker up unless its timing has `alpha`; quorum judged on that.
    public init(spec: VirtualServerSpec) {
        self.spec = spec
        self.checkerUp = spec.realServers.map { rs in rs.checks.map { !$0.timing.alpha } }
        self.dynamicWeight = spec.realServers.map { _ in nil }
        self.quorumUp = true
        self.quorumUp = liveWeight >= spec.quorum
    }

    /// A state carried over a reload: each checker's up/down, each real server's dynamic weight
    /// and the quorum verdict as given (see ``LVSManager/reload(plan:pool:)``). Call
    /// ``evaluateQuorum()`` afterwards for the quorum that the new spec implies.
    public init(spec: VirtualServerSpec, checkerUp: [[Bool]], dynamicWeight: [UInt32?], quorumUp: Bool) {
        precondition(checkerUp.count == spec.realServers.count && dynamicWeight.count == spec.realServers.count)
        self.spec = spec
        self.checkerUp = checkerUp
        self.dynamicWeight = dynamicWeight
        self.quorumUp = quorumUp
    }

    /// A real server is alive iff none of its checkers is down.
    public func isAlive(_ index: Int) -> Bool { !checkerUp[index].contains(false) }

    public func weight(_ index: Int) -> UInt32 { dynamicWeight[index] ?? spec.realServers[index].destination.weight }

    /// Sum of the weights of alive real servers.
    public var liveWeight: UInt32 {
        var sum: UInt64 = 0
        for i in spec.realServers.indices where isAlive(i) { sum += UInt64(weight(i)) }
        return UInt32(clamping: sum)
    }

    /// Applies one checker's change; returns the notifications it triggers.
    public mutating func update(realServer index: Int, checker: Int, up: Bool?, weight: UInt32?) -> [VirtualServerAction] {
        var actions: [VirtualServerAction] = []
        let wasAlive = isAlive(index)
        if let up { checkerUp[index][checker] = up }
        if let weight { dynamicWeight[index] = weight }
        let alive = isAlive(index)
        if alive != wasAlive { actions.append(alive ? .notifyUp(realServer: index) : .notifyDown(realServer: index)) }
        actions += evaluateQuorum()
        return actions
    }

    /// keepalived's quorum rules: gain when sum ≥ quorum + hysteresis; lose when sum is 0 or
    /// sum < quorum − hysteresis.
    public mutating func evaluateQuorum() -> [VirtualServerAction] {
        let sum = UInt64(liveWeight)
        let q = UInt64(spec.quorum), h = UInt64(spec.hysteresis)
        if !quorumUp, sum >= q + h {
            quorumUp = true
            return [.quorumUp]
        }
        if quorumUp, sum == 0 || sum + h < q {
            quorumUp = false
            return [.quorumDown]
        }
        return []
    }

    /// The destinations this virtual server wants in IPVS now.
    public var desiredDestinations: [Destination] {
        var out: [Destination] = []
        for (i, rs) in spec.realServers.enumerated() {
            var d = rs.destination
            if quorumUp && isAlive(i) {
                d.weight = weight(i)
                out.append(d)
            } else if rs.inhibitOnFailure {
                d.weight = 0
                out.append(d)
            }
        }
        if var sorry = spec.sorryServer, !out.contains(where: { $0.key == sorry.key }) {
            if !quorumUp {
                out.append(sorry)
            } else if spec.sorryServerInhibit {
                sorry.weight = 0
                out.append(sorry)
            }
        }
        return out
    }

    public var desiredEntry: ServiceEntry {
        ServiceEntry(service: spec.service, destinations: desiredDestinations)
    }
}

/// The whole desired IPVS table: a pure function of configuration and checker results, plus
/// the real servers a reload removed that still drain (weight 0, until their connections end).
public func desiredTable(_ states: [VirtualServerState], draining: [ServiceKey: [Destination]] = [:]) -> [ServiceEntry] {
    guard !draining.isEmpty else { return states.map(\.desiredEntry) }
    return states.map { state in
        var entry = state.desiredEntry
        if let extra = draining[entry.service.key] {
            let present = Set(entry.destinations.map(\.key))
            entry.destinations += extra.filter { !present.contains($0.key) }
        }
        return entry
    }
}
