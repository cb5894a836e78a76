import VigilSupport

/// The states of RFC 5798 section 6.4, plus keepalived's FAULT.
public enum VRRPState: String, Sendable, Hashable, Codable, CustomStringConvertible {
    case initialize = "INIT"
    case backup = "BACKUP"
    case master = "MASTER"
    /// A tracked interface or script failed: the instance neither advertises nor holds the VIPs.
    case fault = "FAULT"
    /// Shut down (keepalived's notify_stop state).
    case stopped = "STOP"

    public var description: String { rawValue }
}

/// What the runtime must do after an event; the state machine never does I/O itself.
public enum VRRPAction: Sendable, Hashable {
    /// Send an advertisement with this priority (0 on shutdown).
    case sendAdvertisement(priority: UInt8)
    /// Add the virtual addresses and routes.
    case addVirtualAddresses
    /// Remove the virtual addresses and routes.
    case removeVirtualAddresses
    /// Send gratuitous ARP / unsolicited NA for the virtual addresses (a first burst).
    case announce
    /// A master heard a lower-priority advertisement: refresh the other routers' and the
    /// switches' caches (`garp_lower_prio_repeat` now, again after `garp_lower_prio_delay`).
    case announceToLowerPriority
    /// The state changed: run notify scripts, log, update status.
    case transition(from: VRRPState, to: VRRPState, priority: UInt8)
}

/// Why the instance is in FAULT; several can hold at once.
public enum VRRPFaultCause: Sendable, Hashable, Codable, CustomStringConvertible {
    case interface(String)
    case script(String)
    /// A `track_file` whose value × weight reached -254 (or non-zero with weight 0).
    case file(String)
    /// A member of the instance's sync group is in fault.
    case syncGroup(String)

    public var description: String {
        switch self {
        case .interface(let n): "interface \(n) down"
        case .script(let n): "script \(n) failing"
        case .file(let n): "track_file \(n) in fault"
        case .syncGroup(let n): "sync group \(n) member in fault"
        }
    }
}

/// One VRRP instance's protocol state: a value driven by events and an injected clock.
///
/// Times are offsets from any fixed origin the caller picks (the runtime uses CLOCK_MONOTONIC).
/// Every mutating method returns the actions the runtime must perform, in order.
public struct VRRPInstanceMachine: Sendable, Hashable {
    /// The instance's settings; a reload replaces them through ``reconfigure(_:priorityAdjustment:now:)``.
    public private(set) var settings: VRRPInstanceSettings
    /// The local primary address used in the tie break (RFC 5798 section 6.4.3).
    public var primaryAddress: IPAddress
    public private(set) var state: VRRPState = .initialize
    /// Sum of tracking weights currently applied.
    public private(set) var priorityAdjustment: Int = 0
    /// `vigil ctl vrrp INSTANCE priority N|backup`: the operator's priority in place of the
    /// configured one (tracking weights still apply); kept across an in-place reload.
    public private(set) var priorityOverride: UInt8?
    public private(set) var faults: Set<VRRPFaultCause> = []
    /// Master_Adver_Interval in centiseconds: learned from the master in v3 (RFC 5798 section 6.4.2).
    public private(set) var masterAdverIntervalCentiseconds: UInt16
    /// When Master_Down_Timer fires (Backup only).
    public private(set) var masterDownDeadline: Duration?
    /// When Adver_Timer fires (Master only).
    public private(set) var advertDeadline: Duration?
    /// Lower-priority masters are accepted until this time (`preempt_delay`).
    public private(set) var preemptAllowedAt: Duration?
    /// The address of the current master as last seen (nil when unknown or self).
    public private(set) var masterAddress: IPAddress?

    public init(settings: VRRPInstanceSettings, primaryAddress: IPAddress) {
        self.settings = settings
        self.primaryAddress = primaryAddress
        self.masterAdverIntervalCentiseconds = settings.advertIntervalCentiseconds
    }

    /// Priority after tracking weights: 1...254, or 255 for an owner (keepalived clamps the same way).
    public var effectivePriority: UInt8 {
        let base = priorityOverride ?? settings.priority
        if base == VRRPConstants.ownerPriority { return VRRPConstants.ownerPriority }
        return UInt8(clamping: min(254, max(1, Int(base) + priorityAdjustment)))
    }

    /// Skew_Time: (256 - Priority)/256 s in v2 (RFC 3768 section 6.1); scaled by Master_Adver_Interval in v3
    /// (RFC 5798 section 6.1).
    public var skewTime: Duration {
        let p = Int64(256 - Int(effectivePriority))
        switch settings.version {
        case .v2: return .microseconds(p * 1_000_000 / 256)
        case .v3: return .microseconds(p * Int64(masterAdverIntervalCentiseconds) * 10_000 / 256)
        }
    }

    /// Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time (RFC 5798 section 6.1).
    public var masterDownInterval: Duration {
        .milliseconds(3 * Int64(masterAdverIntervalCentiseconds) * 10) + skewTime
    }

    /// The advertisement interval this router sends with.
    public var advertInterval: Duration { .milliseconds(Int64(settings.advertIntervalCentiseconds) * 10) }

    /// The next time ``timerFired(now:)`` must be called.
    public var nextDeadline: Duration? {
        switch state {
        case .master: advertDeadline
        case .backup: masterDownDeadline
        default: nil
        }
    }

    /// The advertisement to send with `priority`.
    public func advertisement(priority: UInt8) -> VRRPAdvertisement {
        VRRPAdvertisement(version: settings.version, virtualRouterID: settings.virtualRouterID, priority: priority,
                          intervalCentiseconds: settings.advertIntervalCentiseconds,
                          addresses: settings.virtualAddresses.map(\.address),
                          authentication: settings.version == .v2 ? settings.authentication : .none)
    }

    // MARK: Events

    /// Startup event (RFC 5798 section 6.4.1).
    public mutating func start(now: Duration) -> [VRRPAction] {
        guard state == .initialize || state == .stopped else { return [] }
        if !faults.isEmpty { return enter(.fault, now: now) }
        if settings.priority == VRRPConstants.ownerPriority {
            return becomeMaster(now: now)
        }
        if settings.preemptDelay > .zero { preemptAllowedAt = now + settings.preemptDelay }
        return enterBackup(now: now)
    }

    /// Shutdown event: a master sends priority 0 (RFC 5798 sections 6.4.2 and 6.4.3).
    public mutating func shutdown(now: Duration) -> [VRRPAction] {
        var actions: [VRRPAction] = []
        if state == .master {
            actions.append(.sendAdvertisement(priority: VRRPConstants.stopPriority))
            actions.append(.removeVirtualAddresses)
        }
        let old = state
        state = .stopped
        advertDeadline = nil
        masterDownDeadline = nil
        if old != .stopped { actions.append(.transition(from: old, to: .stopped, priority: effectivePriority)) }
        return actions
    }

    /// A valid advertisement for this instance (already through ``VRRPReceiveFilter``) from `source`.
    public mutating func received(_ adv: VRRPAdvertisement, from source: IPAddress, now: Duration) -> [VRRPAction] {
        switch state {
        case .backup:
            if adv.priority == VRRPConstants.stopPriority {
                // RFC 5798 section 6.4.2: take over after Skew_Time.
                masterDownDeadline = now + skewTime
                return []
            }
            let lower = adv.priority < effectivePriority
            if settings.preempt && lower && !withinPreemptDelay(now: now) {
                return []  // Discard: we will preempt when Master_Down_Timer fires.
            }
            if lower && settings.preempt && preemptAllowedAt == nil && settings.preemptDelay > .zero {
                preemptAllowedAt = now + settings.preemptDelay
            }
            if settings.version == .v3 { masterAdverIntervalCentiseconds = max(1, adv.intervalCentiseconds) }
            masterAddress = source
            masterDownDeadline = now + masterDownInterval
            return []
        case .master:
            if adv.priority == VRRPConstants.stopPriority {
                advertDeadline = now + advertInterval
                return [.sendAdvertisement(priority: effectivePriority)]
            }
            let mine = effectivePriority
            if adv.priority > mine || (adv.priority == mine && source > primaryAddress) {
                if settings.version == .v3 { masterAdverIntervalCentiseconds = max(1, adv.intervalCentiseconds) }
                masterAddress = source
                let farewell: [VRRPAction] = settings.higherPrioritySendAdvert ? [.sendAdvertisement(priority: mine)] : []
                return farewell + leaveMaster(to: .backup, now: now)
            }
            guard adv.priority < mine else { return [] }
            // RFC 5798 section 6.4.3 discards it. keepalived answers with an advert at once (unless
            // `lower_prio_no_advert`) and re-announces the VIPs, so that after a split brain the
            // other router yields soon and the neighbours' caches point at the master that stays.
            var actions: [VRRPAction] = []
            if !settings.lowerPriorityNoAdvert {
                advertDeadline = now + advertInterval
                actions.append(.sendAdvertisement(priority: mine))
            }
            if settings.gratuitous.lowerPriorityRepeat > 0 { actions.append(.announceToLowerPriority) }
            return actions
        default:
            return []
        }
    }

    /// A timer deadline passed; acts on whichever timer is due.
    public mutating func timerFired(now: Duration) -> [VRRPAction] {
        switch state {
        case .backup:
            guard let d = masterDownDeadline, now >= d else { return [] }
            return becomeMaster(now: now)
        case .master:
            guard let d = advertDeadline, now >= d else { return [] }
            advertDeadline = now + advertInterval
            return [.sendAdvertisement(priority: effectivePriority)]
        default:
            return []
        }
    }

    /// Sets the sum of tracking weights; a master advertises a changed priority at once.
    public mutating func setPriorityAdjustment(_ adjustment: Int, now: Duration) -> [VRRPAction] {
        let before = effectivePriority
        priorityAdjustment = adjustment
        guard effectivePriority != before else { return [] }
        if state == .master {
            advertDeadline = now + advertInterval
            return [.sendAdvertisement(priority: effectivePriority)]
        }
        return []
    }

    /// Sets (or clears, nil) the operator's priority. A master advertises the new priority at
    /// once; a backup judges the next advertisement against it (preempting by RFC 5798 section
    /// 6.4.2 when it is now higher and preemption is on).
    public mutating func setPriorityOverride(_ priority: UInt8?, now: Duration) -> [VRRPAction] {
        let before = effectivePriority
        priorityOverride = priority
        guard effectivePriority != before, state == .master else { return [] }
        advertDeadline = now + advertInterval
        return [.sendAdvertisement(priority: effectivePriority)]
    }

    /// Hands mastership over before maintenance: priority 1 from now on, and a master sends
    /// priority 0 (RFC 5798 section 6.4.3, as on shutdown) so the best backup takes over after
    /// its Skew_Time, then waits as BACKUP; a lower priority alone would not move a peer
    /// configured `nopreempt`.
    public mutating func handOver(now: Duration) -> [VRRPAction] {
        priorityOverride = 1
        guard state == .master else { return [] }
        let old = state
        state = .backup
        advertDeadline = nil
        masterAddress = nil
        masterDownDeadline = now + masterDownInterval
        return [.sendAdvertisement(priority: VRRPConstants.stopPriority), .removeVirtualAddresses,
                .transition(from: old, to: .backup, priority: effectivePriority)]
    }

    /// Takes a reload's new settings in place; the caller has checked that nothing that needs a
    /// restart differs (VRID, interface, version, interval, authentication, peers: ``VRRPReloadPlan``).
    ///
    /// No transition and no advertisement gap: timers and the known master stay. A master whose
    /// effective priority changed advertises it at once and counts its next interval from then; a
    /// backup judges the next advertisement against its new priority, preempting or not by RFC 5798
    /// section 6.4.2 as for any advertisement; one that became the address owner (priority 255)
    /// takes over at once, as at start-up. Fault causes of objects the new settings no longer track
    /// are dropped (dropping the last returns the instance to BACKUP). VIP differences are the
    /// caller's to apply: the machine holds no addresses.
    public mutating func reconfigure(_ new: VRRPInstanceSettings, priorityAdjustment adjustment: Int, now: Duration) -> [VRRPAction] {
        let before = effectivePriority
        settings = new
        priorityAdjustment = adjustment
        var tracked = Set(new.trackScripts.map { VRRPFaultCause.script($0.name) } + new.trackInterfaces.map { .interface($0.name) }
                          + new.trackFiles.map { .file($0.name) })
        if !new.dontTrackPrimary { tracked.insert(.interface(new.interface)) }
        var actions: [VRRPAction] = []
        for cause in faults where !tracked.contains(cause) {
            if case .syncGroup = cause { continue }
            actions += setFault(cause, false, now: now)
        }
        switch state {
        case .master where effectivePriority != before:
            advertDeadline = now + advertInterval
            actions.append(.sendAdvertisement(priority: effectivePriority))
        case .backup where new.priority == VRRPConstants.ownerPriority:
            actions += becomeMaster(now: now)
        default:
            break
        }
        return actions
    }

    /// Adds or clears a fault cause; the first cause enters FAULT, clearing the last returns to BACKUP.
    public mutating func setFault(_ cause: VRRPFaultCause, _ active: Bool, now: Duration) -> [VRRPAction] {
        if active {
            faults.insert(cause)
            guard state == .master || state == .backup else { return [] }
            return enter(.fault, now: now)
        }
        faults.remove(cause)
        guard faults.isEmpty, state == .fault else { return [] }
        return enterBackup(now: now)
    }

    /// Forces a state for sync-group coordination (keepalived moves all members together).
    public mutating func force(_ target: VRRPState, now: Duration) -> [VRRPAction] {
        guard target != state, state != .stopped, state != .initialize else { return [] }
        switch target {
        case .master: return state == .fault ? [] : becomeMaster(now: now)
        case .backup: return state == .master ? leaveMaster(to: .backup, now: now) : enterBackup(now: now)
        case .fault: return enter(.fault, now: now)
        default: return []
        }
    }

    // MARK: Transitions

    private func withinPreemptDelay(now: Duration) -> Bool {
        guard let t = preemptAllowedAt else { return false }
        return now < t
    }

    private mutating func becomeMaster(now: Duration) -> [VRRPAction] {
        let old = state
        state = .master
        masterDownDeadline = nil
        masterAddress = nil
        preemptAllowedAt = nil
        advertDeadline = now + advertInterval
        return [.sendAdvertisement(priority: effectivePriority), .addVirtualAddresses, .announce,
                .transition(from: old, to: .master, priority: effectivePriority)]
    }

    private mutating func leaveMaster(to target: VRRPState, now: Duration) -> [VRRPAction] {
        advertDeadline = nil
        if target == .backup {
            let old = state
            state = .backup
            masterDownDeadline = now + masterDownInterval
            return [.removeVirtualAddresses, .transition(from: old, to: .backup, priority: effectivePriority)]
        }
        return enter(target, now: now)
    }

    private mutating func enterBackup(now: Duration) -> [VRRPAction] {
        let old = state
        var actions: [VRRPAction] = []
        if old == .master { actions.append(.removeVirtualAddresses) }
        state = .backup
        advertDeadline = nil
        masterAdverIntervalCentiseconds = settings.advertIntervalCentiseconds
        masterDownDeadline = now + masterDownInterval
        if old != .backup { actions.append(.transition(from: old, to: .backup, priority: effectivePriority)) }
        return actions
    }

    private mutating func enter(_ target: VRRPState, now: Duration) -> [VRRPAction] {
        let old = state
        guard old != target else { return [] }
        var actions: [VRRPAction] = []
        if old == .master {
            // Tell the backups to take over now rather than after Master_Down_Interval.
            actions.append(.sendAdvertisement(priority: VRRPConstants.stopPriority))
            actions.append(.removeVirtualAddresses)
        }
        state = target
        advertDeadline = nil
        masterDownDeadline = nil
        actions.append(.transition(from: old, to: target, priority: effectivePriority))
        return actions
    }
}

/// Moves the members of a `vrrp_sync_group` together, as keepalived does.
///
/// When one member becomes master the others are forced master; when one drops to backup the
/// others follow; a fault in one puts every member in fault until it clears.
public struct VRRPSyncGroupCoordinator: Sendable, Hashable {
    public let name: String
    public let members: [String]

    public init(name: String, members: [String]) {
        self.name = name
        self.members = members
    }

    /// The state the other members must take after `member` made `transition`, if any.
    public func follow(_ transition: VRRPAction) -> VRRPState? {
        guard case .transition(let from, let to, _) = transition, from != to else { return nil }
        switch to {
        case .master, .backup, .fault: return to
        default: return nil
        }
    }
}

/// An action for the instance at `index` of ``VRRPRouterMachine/machines``.
public struct VRRPIndexedAction: Sendable, Hashable {
    public var index: Int
    public var action: VRRPAction
}

/// Every instance of a configuration plus its sync groups: the pure core the runtime drives.
///
/// An instance's identity is its name: ``index(of:)`` and ``subscript(_:)`` find it, and a reload
/// (``reloaded(_:syncGroups:make:)``) carries each machine over by name into the new layout. Within
/// one layout the instances sit in configuration order and are addressed by index on the
/// runtime's hot paths (a master's advertisement timer), so an event mutates its machine in place:
/// no name hashing and no copy of the instance's settings. An index is only valid until the next
/// reload.
public struct VRRPRouterMachine: Sendable {
    /// The instances in configuration order.
    public private(set) var machines: [VRRPInstanceMachine]
    /// Instance names in configuration order.
    public let order: [String]
    private let indexByName: [String: Int]
    /// Per instance: its sync group, if any.
    private let groupOf: [VRRPSyncGroupCoordinator?]
    /// Per instance: the indices of the other members of its sync group.
    private let peersOf: [[Int]]

    public init(_ machines: [VRRPInstanceMachine], syncGroups: [VRRPSyncGroupSettings] = []) {
        self.machines = machines
        order = machines.map(\.settings.name)
        var byName: [String: Int] = [:]
        for (n, m) in machines.enumerated() { byName[m.settings.name] = n }
        indexByName = byName
        var groups = [VRRPSyncGroupCoordinator?](repeating: nil, count: machines.count)
        var peers = [[Int]](repeating: [], count: machines.count)
        for g in syncGroups {
            let c = VRRPSyncGroupCoordinator(name: g.name, members: g.members.filter { byName[$0] != nil })
            let indices = c.members.compactMap { byName[$0] }
            for n in indices {
                groups[n] = c
                peers[n] = indices.filter { $0 != n }
            }
        }
        groupOf = groups
        peersOf = peers
    }

    /// The layout after a reload: one machine per instance of `instances`, in their order. Those
    /// named in `fresh` (new and restarted instances) get a new machine; every other one is carried
    /// over by name with its state, timers and master (its settings already taken through
    /// ``VRRPInstanceMachine/reconfigure(_:priorityAdjustment:now:)``). Sync groups are re-formed.
    public func reloaded(_ instances: [VRRPInstanceSettings], syncGroups: [VRRPSyncGroupSettings],
                         fresh: Set<String>) -> VRRPRouterMachine {
        let machines = instances.map { i in
            (fresh.contains(i.name) ? nil : self[i.name]) ?? VRRPInstanceMachine(settings: i, primaryAddress: i.sourceAddress ?? .v4(0))
        }
        return VRRPRouterMachine(machines, syncGroups: syncGroups)
    }

    /// After sync groups were re-formed: clears every sync-group fault an instance holds for a group
    /// it is no longer in, or whose members are no longer in fault themselves, and faults the other
    /// members of each group with a member in fault (keepalived's rule at start-up).
    public mutating func reconcileSyncGroups(now: Duration, into out: inout [VRRPIndexedAction]) {
        func ownFault(_ n: Int) -> Bool {
            machines[n].faults.contains { if case .syncGroup = $0 { false } else { true } }
        }
        for n in machines.indices {
            for case .syncGroup(let g) in machines[n].faults {
                let holds = groupOf[n]?.name == g && peersOf[n].contains(where: ownFault)
                if !holds { apply(at: n, now: now, into: &out) { $0.setFault(.syncGroup(g), false, now: now) } }
            }
        }
        for n in machines.indices where ownFault(n) {
            guard let g = groupOf[n] else { continue }
            for other in peersOf[n] where !machines[other].faults.contains(.syncGroup(g.name)) {
                apply(at: other, now: now, into: &out) { $0.setFault(.syncGroup(g.name), true, now: now) }
            }
        }
    }

    /// The index of the instance called `name` in ``machines``.
    public func index(of name: String) -> Int? { indexByName[name] }

    /// The instance called `name`.
    public subscript(name: String) -> VRRPInstanceMachine? { indexByName[name].map { machines[$0] } }

    /// Every instance by name.
    public var instances: [String: VRRPInstanceMachine] {
        Dictionary(machines.map { ($0.settings.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// The sync group an instance belongs to.
    public func syncGroup(of instance: String) -> VRRPSyncGroupCoordinator? { indexByName[instance].flatMap { groupOf[$0] } }

    /// The sync group of the instance at `index`.
    public func syncGroup(at index: Int) -> VRRPSyncGroupCoordinator? { groupOf[index] }

    /// The earliest deadline over all instances.
    public var nextDeadline: Duration? {
        var earliest: Duration?
        for m in machines {
            if let d = m.nextDeadline, earliest.map({ d < $0 }) ?? true { earliest = d }
        }
        return earliest
    }

    /// Applies `event` to one instance, then propagates its transitions through its sync group.
    public mutating func apply(
        _ instance: String, now: Duration, _ event: (inout VRRPInstanceMachine) -> [VRRPAction]
    ) -> [(instance: String, action: VRRPAction)] {
        guard let n = indexByName[instance] else { return [] }
        var out: [VRRPIndexedAction] = []
        apply(at: n, now: now, into: &out, event)
        return out.map { (instance: order[$0.index], action: $0.action) }
    }

    /// Applies `event` to the instance at `index` and its sync group, appending the actions to `out`.
    public mutating func apply(
        at index: Int, now: Duration, into out: inout [VRRPIndexedAction], _ event: (inout VRRPInstanceMachine) -> [VRRPAction]
    ) {
        let actions = event(&machines[index])
        for action in actions { out.append(VRRPIndexedAction(index: index, action: action)) }
        guard let group = groupOf[index] else { return }
        for action in actions {
            guard case .transition(let from, let to, _) = action else { continue }
            for other in peersOf[index] {
                let forced: [VRRPAction]
                switch to {
                case .fault:
                    forced = machines[other].setFault(.syncGroup(group.name), true, now: now)
                case .backup where from == .fault:
                    forced = machines[other].setFault(.syncGroup(group.name), false, now: now)
                case .master, .backup:
                    forced = machines[other].state != to ? machines[other].force(to, now: now) : []
                default:
                    forced = []
                }
                for f in forced { out.append(VRRPIndexedAction(index: other, action: f)) }
            }
        }
    }

    /// Fires every due timer.
    public mutating func timersFired(now: Duration) -> [(instance: String, action: VRRPAction)] {
        var out: [VRRPIndexedAction] = []
        timersFired(now: now, into: &out)
        return out.map { (instance: order[$0.index], action: $0.action) }
    }

    /// Fires every due timer, appending the actions to `out`.
    public mutating func timersFired(now: Duration, into out: inout [VRRPIndexedAction]) {
        for n in machines.indices {
            guard let d = machines[n].nextDeadline, d <= now else { continue }
            apply(at: n, now: now, into: &out) { $0.timerFired(now: now) }
        }
    }
}
