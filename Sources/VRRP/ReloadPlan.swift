import VigilSupport

/// One way an instance differs between two configurations.
public enum VRRPInstanceDifference: Sendable, Hashable, CustomStringConvertible {
    /// `priority`: a master advertises the new one at once.
    case priority(from: UInt8, to: UInt8)
    /// `virtual_ipaddress`, `virtual_ipaddress_excluded` and `virtual_routes`: only these are
    /// added or removed (by a master); reordered-only lists have both sides empty.
    case addresses(VRRPAddressDelta)
    /// `preempt`, `nopreempt`, `preempt_delay`.
    case preemption
    /// `track_script`, `track_interface`, `dont_track_primary`.
    case tracking
    /// `notify*` scripts.
    case notify
    /// `garp_master_*`.
    case gratuitous
    /// `state MASTER|BACKUP`: a start-up hint, used at the next start only.
    case initialState
    /// A setting the running instance cannot take in place: it is released and started again.
    case restart(setting: String, from: String, to: String)

    public var description: String {
        switch self {
        case .priority(let from, let to): "priority \(from) -> \(to)"
        case .addresses(let d): d.description
        case .preemption: "preemption changed"
        case .tracking: "tracked scripts/interfaces changed"
        case .notify: "notify scripts changed"
        case .gratuitous: "garp_master settings changed"
        case .initialState: "state hint changed (applies at the next start)"
        case .restart(let setting, let from, let to): "\(setting) \(from) -> \(to)"
        }
    }

    /// Whether this difference restarts the instance.
    public var restarts: Bool {
        if case .restart = self { return true }
        return false
    }
}

/// Addresses and routes a reload adds to and removes from one instance.
public struct VRRPAddressDelta: Sendable, Hashable, CustomStringConvertible {
    /// VIPs and excluded addresses to remove.
    public var removed: [VRRPVirtualAddress] = []
    /// VIPs and excluded addresses to add.
    public var added: [VRRPVirtualAddress] = []
    public var removedRoutes: [VRRPVirtualRoute] = []
    public var addedRoutes: [VRRPVirtualRoute] = []

    public init(removed: [VRRPVirtualAddress] = [], added: [VRRPVirtualAddress] = [],
                removedRoutes: [VRRPVirtualRoute] = [], addedRoutes: [VRRPVirtualRoute] = []) {
        self.removed = removed
        self.added = added
        self.removedRoutes = removedRoutes
        self.addedRoutes = addedRoutes
    }

    /// The difference from `old` to `new`, keyed by the whole address entry (a changed prefix,
    /// device or label removes the old entry and adds the new one).
    init(old: VRRPInstanceSettings, new: VRRPInstanceSettings) {
        let before = old.virtualAddresses + old.excludedAddresses
        let after = new.virtualAddresses + new.excludedAddresses
        let beforeSet = Set(before), afterSet = Set(after)
        removed = before.filter { !afterSet.contains($0) }
        added = after.filter { !beforeSet.contains($0) }
        let beforeRoutes = Set(old.virtualRoutes), afterRoutes = Set(new.virtualRoutes)
        removedRoutes = old.virtualRoutes.filter { !afterRoutes.contains($0) }
        addedRoutes = new.virtualRoutes.filter { !beforeRoutes.contains($0) }
    }

    public var isEmpty: Bool { removed.isEmpty && added.isEmpty && removedRoutes.isEmpty && addedRoutes.isEmpty }

    public var description: String {
        var parts: [String] = []
        if !added.isEmpty { parts.append("+" + added.map(\.description).joined(separator: " +")) }
        if !removed.isEmpty { parts.append("-" + removed.map(\.description).joined(separator: " -")) }
        let routes = addedRoutes.count + removedRoutes.count
        if routes > 0 { parts.append("\(addedRoutes.count) route(s) added, \(removedRoutes.count) removed") }
        return parts.isEmpty ? "virtual_ipaddress reordered" : "virtual_ipaddress " + parts.joined(separator: " ")
    }
}

/// One instance's change in a reload.
public struct VRRPInstanceChange: Sendable, Hashable {
    public var name: String
    public var differences: [VRRPInstanceDifference]

    /// Whether the instance must be released and started again.
    public var restarts: Bool { differences.contains(where: \.restarts) }

    /// The addresses to add and remove when the instance changes in place.
    public var addressDelta: VRRPAddressDelta {
        for d in differences { if case .addresses(let delta) = d { return delta } }
        return VRRPAddressDelta()
    }
}

/// What a reload does to the VRRP half: computed from the old and new settings alone, keyed by
/// instance, script and sync group name (never by position, so reordering the file changes nothing).
public struct VRRPReloadPlan: Sendable, Hashable {
    /// Instances identical in both, in the new order.
    public var kept: [String] = []
    /// Instances in both that differ, in the new order (those that ``VRRPInstanceChange/restarts``
    /// are released and started again).
    public var changed: [VRRPInstanceChange] = []
    /// Instances only in the new settings, in the new order.
    public var added: [String] = []
    /// Instances only in the old settings, in the old order.
    public var removed: [String] = []
    /// `vrrp_script`s whose runs go on (same command and schedule), keeping their verdict.
    public var keptScripts: [String] = []
    /// `vrrp_script`s to stop (removed, or changed: they start again below).
    public var stoppedScripts: [String] = []
    /// `vrrp_script`s to start (new, or changed), with their initial verdict.
    public var startedScripts: [String] = []
    /// One line per changed, added or removed `vrrp_sync_group`.
    public var syncGroupChanges: [String] = []
    /// Whether a setting every instance's scripts use changed (`script_user`, `enable_script_security`).
    public var scriptGlobalsChanged = false

    public init(old: VRRPSettings, new: VRRPSettings) {
        let oldByName = Dictionary(old.instances.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let newNames = Set(new.instances.map(\.name))
        for i in new.instances {
            guard let o = oldByName[i.name] else {
                added.append(i.name)
                continue
            }
            let differences = Self.differences(o, i)
            if differences.isEmpty && o == i {
                kept.append(i.name)
            } else {
                changed.append(VRRPInstanceChange(name: i.name, differences: differences))
            }
        }
        removed = old.instances.map(\.name).filter { !newNames.contains($0) }

        scriptGlobalsChanged = old.scriptSecurity != new.scriptSecurity || old.scriptUser != new.scriptUser
            || old.scriptGroup != new.scriptGroup
        // Only tracked scripts run (as at start-up).
        let oldScripts = Self.runningScripts(old), newScripts = Self.runningScripts(new)
        for s in new.scripts {
            guard let n = newScripts[s.name] else { continue }
            if let o = oldScripts[s.name], Self.sameRuns(o, n), !scriptGlobalsChanged {
                keptScripts.append(s.name)
            } else {
                if oldScripts[s.name] != nil { stoppedScripts.append(s.name) }
                startedScripts.append(s.name)
            }
        }
        for s in old.scripts where oldScripts[s.name] != nil && !keptScripts.contains(s.name) && !stoppedScripts.contains(s.name) {
            stoppedScripts.append(s.name)
        }

        let oldGroups = Dictionary(old.syncGroups.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let newGroupNames = Set(new.syncGroups.map(\.name))
        for g in new.syncGroups {
            guard let o = oldGroups[g.name] else {
                syncGroupChanges.append("sync group \(g.name): added (\(g.members.joined(separator: ", ")))")
                continue
            }
            if o.members != g.members {
                syncGroupChanges.append("sync group \(g.name): members \(o.members.joined(separator: ", ")) -> \(g.members.joined(separator: ", "))")
            } else if o.notify != g.notify {
                syncGroupChanges.append("sync group \(g.name): notify scripts changed")
            }
        }
        for g in old.syncGroups where !newGroupNames.contains(g.name) {
            syncGroupChanges.append("sync group \(g.name): removed")
        }
    }

    /// Whether the reload changes nothing.
    public var isEmpty: Bool {
        changed.isEmpty && added.isEmpty && removed.isEmpty && stoppedScripts.isEmpty && startedScripts.isEmpty
            && syncGroupChanges.isEmpty
    }

    /// Instances released and started again.
    public var restarted: [String] { changed.filter(\.restarts).map(\.name) }

    /// Instances changed in place.
    public var changedInPlace: [VRRPInstanceChange] { changed.filter { !$0.restarts } }

    /// What differs between two settings of the instance with the same name.
    static func differences(_ o: VRRPInstanceSettings, _ n: VRRPInstanceSettings) -> [VRRPInstanceDifference] {
        var out: [VRRPInstanceDifference] = []
        func restart<T: Equatable>(_ setting: String, _ a: T, _ b: T, _ show: (T) -> String) {
            if a != b { out.append(.restart(setting: setting, from: show(a), to: show(b))) }
        }
        restart("version", o.version, n.version) { "\($0)" }
        restart("virtual_router_id", o.virtualRouterID, n.virtualRouterID) { "\($0)" }
        restart("interface", o.interface, n.interface) { $0 }
        restart("advert_int", o.advertIntervalCentiseconds, n.advertIntervalCentiseconds) { "\(Double($0) / 100)s" }
        if o.authentication != n.authentication {
            // Passwords stay out of the log.
            let names = ["none", "PASS", "AH"]
            let from = names[Int(o.authentication.typeCode)], to = names[Int(n.authentication.typeCode)]
            out.append(from == to ? .restart(setting: "auth_pass", from: "(old)", to: "(new)")
                                  : .restart(setting: "auth_type", from: from, to: to))
        }
        restart("source address", o.sourceAddress, n.sourceAddress) { $0.map { "\($0)" } ?? "interface primary" }
        restart("unicast_peer", o.unicastPeers, n.unicastPeers) { $0.isEmpty ? "multicast" : $0.map(\.description).joined(separator: ",") }
        restart("address family", o.family, n.family) { $0 == .inet ? "IPv4" : "IPv6" }
        if o.priority != n.priority { out.append(.priority(from: o.priority, to: n.priority)) }
        if o.virtualAddresses != n.virtualAddresses || o.excludedAddresses != n.excludedAddresses || o.virtualRoutes != n.virtualRoutes {
            out.append(.addresses(VRRPAddressDelta(old: o, new: n)))
        }
        if o.preempt != n.preempt || o.preemptDelay != n.preemptDelay { out.append(.preemption) }
        if o.trackScripts != n.trackScripts || o.trackInterfaces != n.trackInterfaces || o.dontTrackPrimary != n.dontTrackPrimary {
            out.append(.tracking)
        }
        if o.notify != n.notify { out.append(.notify) }
        if o.gratuitous != n.gratuitous { out.append(.gratuitous) }
        if o.initialMaster != n.initialMaster { out.append(.initialState) }
        return out
    }

    /// Scripts some instance tracks, by name.
    private static func runningScripts(_ s: VRRPSettings) -> [String: VRRPScriptSettings] {
        let tracked = Set(s.instances.flatMap { $0.trackScripts.map(\.name) })
        var out: [String: VRRPScriptSettings] = [:]
        for script in s.scripts where tracked.contains(script.name) && out[script.name] == nil { out[script.name] = script }
        return out
    }

    /// Same command, schedule and verdict rules: the runs (and the verdict) carry on. `weight` and
    /// `reverse` are the trackers' business, read from the instances.
    private static func sameRuns(_ a: VRRPScriptSettings, _ b: VRRPScriptSettings) -> Bool {
        a.command == b.command && a.interval == b.interval && a.timeout == b.timeout && a.rise == b.rise && a.fall == b.fall
            && a.user == b.user && a.group == b.group && a.initiallyFailed == b.initiallyFailed
    }

    /// The report of this plan, one line per instance and per script or sync group change.
    public var report: VRRPReloadReport {
        var r = VRRPReloadReport()
        for n in kept { r.instances.append(.init(name: n, outcome: .kept, line: "\(n): unchanged")) }
        for c in changed {
            let what = c.differences.map(\.description).joined(separator: ", ")
            if c.restarts {
                r.instances.append(.init(name: c.name, outcome: .restarted, line: "\(c.name): \(what): restarted (released, then started as new)"))
            } else {
                r.instances.append(.init(name: c.name, outcome: .changed, line: "\(c.name): \(what)"))
            }
        }
        for n in added { r.instances.append(.init(name: n, outcome: .added, line: "\(n): added, starting")) }
        for n in removed { r.instances.append(.init(name: n, outcome: .removed, line: "\(n): removed, VIPs released with priority 0")) }
        let restartedScripts = Set(stoppedScripts).intersection(startedScripts)
        for s in startedScripts {
            r.other.append(restartedScripts.contains(s) ? "vrrp_script \(s): changed, restarted with its initial verdict" : "vrrp_script \(s): started")
        }
        for s in stoppedScripts where !restartedScripts.contains(s) { r.other.append("vrrp_script \(s): stopped") }
        r.other += syncGroupChanges
        return r
    }
}

/// What a VRRP reload did, for the log and the caller.
public struct VRRPReloadReport: Sendable, Hashable, Codable {
    /// What happened to one instance.
    public enum Outcome: String, Sendable, Hashable, Codable {
        /// Identical: state, timers and master untouched.
        case kept
        /// Changed in place, without a transition.
        case changed
        /// A setting that cannot change in place: released, then started as new.
        case restarted
        case added
        case removed
    }

    public struct Instance: Sendable, Hashable, Codable {
        public var name: String
        public var outcome: Outcome
        /// One human line for the log, e.g. "VI_1: priority 100 -> 150".
        public var line: String
    }

    /// One entry per instance of the old and new settings: kept, changed, restarted, added, removed.
    public var instances: [Instance] = []
    /// Lines for scripts and sync groups.
    public var other: [String] = []
    /// Effects that failed while applying (a VIP that could not be added, a socket that would not open).
    public var errors: [String] = []

    public init() {}

    /// The entry for an instance.
    public subscript(name: String) -> Instance? { instances.first { $0.name == name } }

    /// Every line, instances first.
    public var lines: [String] { instances.map(\.line) + other + errors }
}
