import VigilSupport

/// The operations that turn the `actual` kernel table into `desired`, touching only services
/// Vigil owns.
///
/// The contract:
/// - Owned services are the keys in `managed` plus every key in `desired` (wanting a service is
///   owning it). Services in `actual` outside that set belong to other tools and are never touched.
/// - An owned key present in `actual` but absent from `desired` is deleted (its destinations go
///   with it).
/// - Changes the kernel can edit in place are edits, never delete + add: scheduler, flags,
///   persistence timeout, netmask and persistence engine (`editService`); forwarding method,
///   weight, thresholds and tunnel settings (`editDestination`). Protocol, address, port, mark and
///   address family are part of the key, so changing them is a different service.
/// - Kernel-reported fields never cause operations: statistics, connection counts and the
///   `hashed` flag. Tunnel type, port and flags count only for `.tunnel` destinations.
/// - Written services and destinations carry no statistics or counts.
/// - Order is deterministic and make-before-break: service adds, service edits, destination adds,
///   destination edits, destination deletes, service deletes; within each group, sorted by service
///   key then destination key. So a service is added before its destinations, and destinations
///   are deleted before services are.
/// - When `desired` lists a service key or a destination key twice, the first wins.
///
/// - Returns: an empty array when nothing differs.
public func diff(actual: [ServiceEntry], desired: [ServiceEntry], managed: Set<ServiceKey>) -> [IPVSOperation] {
    let have = firstByKey(actual)
    let want = firstByKey(desired)
    let owned = managed.union(want.keys).sorted(by: ServiceKey.precedes)

    var addServices: [IPVSOperation] = []
    var editServices: [IPVSOperation] = []
    var addDestinations: [IPVSOperation] = []
    var editDestinations: [IPVSOperation] = []
    var deleteDestinations: [IPVSOperation] = []
    var deleteServices: [IPVSOperation] = []

    for key in owned {
        switch (have[key], want[key]) {
        case (nil, nil):
            continue
        case (.some, nil):
            deleteServices.append(.deleteService(key))
        case (nil, .some(let w)):
            addServices.append(.addService(w.service.forWriting(key)))
            for d in uniqueDestinations(w.destinations) {
                addDestinations.append(.addDestination(key, d.forWriting))
            }
        case (.some(let h), .some(let w)):
            if !h.service.sameSettings(as: w.service) {
                editServices.append(.editService(w.service.forWriting(key)))
            }
            let current = Dictionary(h.destinations.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
            let wanted = uniqueDestinations(w.destinations)
            let wantedKeys = Set(wanted.map(\.key))
            for d in wanted {
                if let c = current[d.key] {
                    if !c.sameSettings(as: d) { editDestinations.append(.editDestination(key, d.forWriting)) }
                } else {
                    addDestinations.append(.addDestination(key, d.forWriting))
                }
            }
            for k in current.keys.sorted(by: DestinationKey.precedes) where !wantedKeys.contains(k) {
                deleteDestinations.append(.deleteDestination(key, k))
            }
        }
    }
    return addServices + editServices + addDestinations + editDestinations + deleteDestinations + deleteServices
}

private func firstByKey(_ entries: [ServiceEntry]) -> [ServiceKey: ServiceEntry] {
    var result: [ServiceKey: ServiceEntry] = [:]
    for e in entries where result[e.service.key] == nil { result[e.service.key] = e }
    return result
}

/// Destinations sorted by key, first occurrence of a key kept.
private func uniqueDestinations(_ destinations: [Destination]) -> [Destination] {
    var seen = Set<DestinationKey>()
    return destinations.filter { seen.insert($0.key).inserted }.sorted { DestinationKey.precedes($0.key, $1.key) }
}

extension Service {
    /// True when the settings the kernel stores and lets us write are equal.
    func sameSettings(as other: Service) -> Bool {
        scheduler == other.scheduler
            && flags.subtracting(.hashed) == other.flags.subtracting(.hashed)
            && timeout == other.timeout
            && netmask == other.netmask
            && (persistenceEngine ?? "") == (other.persistenceEngine ?? "")
    }

    /// The service as written: given key, no statistics, no kernel-internal flag.
    func forWriting(_ key: ServiceKey) -> Service {
        var s = self
        s.key = key
        s.statistics = nil
        s.flags.remove(.hashed)
        if s.persistenceEngine == "" { s.persistenceEngine = nil }
        return s
    }
}

extension Destination {
    /// True when the settings the kernel stores and lets us write are equal.
    func sameSettings(as other: Destination) -> Bool {
        guard forwarding == other.forwarding, weight == other.weight,
              upperThreshold == other.upperThreshold, lowerThreshold == other.lowerThreshold
        else { return false }
        if forwarding == .tunnel {
            return tunnelType == other.tunnelType && tunnelPort == other.tunnelPort && tunnelFlags == other.tunnelFlags
        }
        return true
    }

    /// The destination as written: no counters.
    var forWriting: Destination {
        var d = self
        d.activeConnections = nil
        d.inactiveConnections = nil
        d.persistentConnections = nil
        d.statistics = nil
        return d
    }
}

extension ServiceKey {
    /// Total order used for deterministic output: address services (IPv4, then IPv6; by
    /// protocol, address, port) before firewall marks (by mark, then family).
    public static func precedes(_ a: ServiceKey, _ b: ServiceKey) -> Bool {
        switch (a, b) {
        case (.address(let pa, let aa, let porta), .address(let pb, let ab, let portb)):
            if aa.family != ab.family { return aa.family == .inet }
            if pa != pb { return pa.rawValue < pb.rawValue }
            if aa != ab { return aa < ab }
            return porta < portb
        case (.address, .firewallMark): return true
        case (.firewallMark, .address): return false
        case (.firewallMark(let ma, let fa), .firewallMark(let mb, let fb)):
            if ma != mb { return ma < mb }
            return fa == .inet && fb == .inet6
        }
    }
}

extension DestinationKey {
    /// Total order: by address (IPv4 before IPv6), then port.
    public static func precedes(_ a: DestinationKey, _ b: DestinationKey) -> Bool {
        if a.address != b.address { return a.address < b.address }
        return a.port < b.port
    }
}
