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
    /// `protocol`: part of the address service's key; for a fwmark service, what names its
    /// real servers on the notify FIFOs.
    public var transport: IPVSProtocol = .tcp

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

extension VirtualServerSpec {
    /// keepalived's name for this virtual server on its notify FIFOs: `[192.0.2.1]:tcp:80`, `FWM 7`.
    public var fifoName: String {
        switch service.key {
        case .address(let p, let a, let port): Self.trio(a, p, port)
        case .firewallMark(let m, _): "FWM \(m)"
        }
    }

    /// The notify FIFO line of real server `index` going up or down:
    /// `RS [192.0.2.11]:tcp:80 [192.0.2.1]:tcp:80 UP`.
    public func fifoLine(realServer index: Int, up: Bool) -> String {
        let d = realServers[index].destination
        return "RS \(Self.trio(d.address, transport, d.port)) \(fifoName) \(up ? "UP" : "DOWN")"
    }

    /// The notify FIFO line of the quorum gained or lost: `VS [192.0.2.1]:tcp:80 UP`.
    public func fifoLine(quorumUp up: Bool) -> String { "VS \(fifoName) \(up ? "UP" : "DOWN")" }

    /// keepalived's `inet_sockaddrtotrio`: `[ADDRESS]:proto:port`, brackets for both families.
    private static func trio(_ address: IPAddress, _ p: IPVSProtocol, _ port: UInt16) -> String {
        "[\(address)]:\(p.description.lowercased()):\(port)"
    }
}

/// Side effects a state change asks for; the runtime runs them without blocking checkers.
public enum VirtualServerAction: Sendable, Hashable {
    case notifyUp(realServer: Int)
    case notifyDown(realServer: Int)
    case quorumUp
    case quorumDown
}

/// An operator's runtime setting for one real server (`vigil ctl`): part of the desired state,
/// kept across reloads and restarts, keyed by virtual and real server address.
public enum RealServerOverride: Sendable, Hashable, Codable, CustomStringConvertible {
    /// `vigil ctl weight`: this weight instead of the configured (or misc_dynamic) one.
    case weight(UInt32)
    /// `vigil ctl drain`: weight 0, so existing connections finish and no new ones arrive;
    /// with `removeWhenIdle`, out of IPVS once the kernel shows no connections left.
    case drain(removeWhenIdle: Bool)
    /// A drain with removal whose connections reached 0: out of IPVS until `undrain`.
    case drained
    /// `vigil ctl disable` (maintenance): held out as if down, whatever its checkers say; they
    /// keep probing so that `enable` brings it back at once when they pass. No notify script runs.
    case disabled

    public var description: String {
        switch self {
        case .weight(let w): "weight \(w)"
        case .drain(let remove): remove ? "draining (removed when idle)" : "draining"
        case .drained: "drained (removed)"
        case .disabled: "disabled (maintenance)"
        }
    }

    /// Whether the real server is held out of the pool whatever its checkers say.
    var holdsOut: Bool {
        switch self {
        case .disabled, .drained: true
        case .weight, .drain: false
        }
    }
}

/// Health of one virtual server's real servers and its quorum, as a value type with pure transitions.
public struct VirtualServerState: Sendable, Hashable {
    public let spec: VirtualServerSpec
    /// Per real server, per checker: up?
    public private(set) var checkerUp: [[Bool]]
    /// Per real server: weight from misc_dynamic, overriding the configured one.
    public private(set) var dynamicWeight: [UInt32?]
    /// Per real server: the operator's override, if any.
    public private(set) var overrides: [RealServerOverride?]
    public private(set) var quorumUp: Bool

    /// Starts with each checker up unless its timing has `alpha`; quorum judged on that.
    public init(spec: VirtualServerSpec) {
        self.spec = spec
        self.checkerUp = spec.realServers.map { rs in rs.checks.map { !$0.timing.alpha } }
        self.dynamicWeight = spec.realServers.map { _ in nil }
        self.overrides = spec.realServers.map { _ in nil }
        self.quorumUp = true
        self.quorumUp = liveWeight >= spec.quorum
    }

    /// A state carried over a reload: each checker's up/down, each real server's dynamic weight
    /// and the quorum verdict as given (see ``LVSManager/reload(plan:pool:)``). Call
    /// ``evaluateQuorum()`` afterwards for the quorum that the new spec implies.
    public init(spec: VirtualServerSpec, checkerUp: [[Bool]], dynamicWeight: [UInt32?], overrides: [RealServerOverride?]? = nil,
                quorumUp: Bool) {
        precondition(checkerUp.count == spec.realServers.count && dynamicWeight.count == spec.realServers.count)
        precondition(overrides == nil || overrides!.count == spec.realServers.count)
        self.spec = spec
        self.checkerUp = checkerUp
        self.dynamicWeight = dynamicWeight
        self.overrides = overrides ?? spec.realServers.map { _ in nil }
        self.quorumUp = quorumUp
    }

    /// Whether none of the real server's checkers is down.
    public func checkersUp(_ index: Int) -> Bool { !checkerUp[index].contains(false) }

    /// A real server is alive iff none of its checkers is down and no override holds it out.
    public func isAlive(_ index: Int) -> Bool { checkersUp(index) && overrides[index]?.holdsOut != true }

    /// The weight it has in IPVS while alive: the override's, else misc_dynamic's, else the configured one.
    public func weight(_ index: Int) -> UInt32 {
        switch overrides[index] {
        case .weight(let w)?: w
        case .drain?: 0
        default: dynamicWeight[index] ?? spec.realServers[index].destination.weight
        }
    }

    /// Sets or clears (nil) the override of one real server; returns the quorum actions it
    /// causes (the real server's notify scripts report checker verdicts and do not run for this).
    public mutating func setOverride(_ o: RealServerOverride?, realServer index: Int) -> [VirtualServerAction] {
        overrides[index] = o
        return evaluateQuorum()
    }

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
        for (i, rs) in spec.realServers.enumerated() where overrides[i] != .drained {
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
