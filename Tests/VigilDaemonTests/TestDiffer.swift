import HealthCheck
import IPVS

/// A straightforward reference diff for manager tests (the production diff lives in IPVS).
let testDiffer: IPVSDiffer = { desired, actual, managed in
    var ops: [IPVSOperation] = []
    let actualByKey = Dictionary(actual.map { ($0.service.key, $0) }, uniquingKeysWith: { a, _ in a })
    let desiredKeys = Set(desired.map(\.service.key))
    for e in actual where managed.contains(e.service.key) && !desiredKeys.contains(e.service.key) {
        ops.append(.deleteService(e.service.key))
    }
    for want in desired {
        let key = want.service.key
        guard let have = actualByKey[key] else {
            ops.append(.addService(want.service))
            ops += want.destinations.map { .addDestination(key, $0) }
            continue
        }
        var s = have.service
        s.statistics = nil
        if s != want.service { ops.append(.editService(want.service)) }
        let haveDests = Dictionary(have.destinations.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let wantKeys = Set(want.destinations.map(\.key))
        for d in have.destinations where !wantKeys.contains(d.key) { ops.append(.deleteDestination(key, d.key)) }
        for d in want.destinations {
            if let h = haveDests[d.key] {
                if h.weight != d.weight || h.forwarding != d.forwarding || h.upperThreshold != d.upperThreshold || h.lowerThreshold != d.lowerThreshold {
                    ops.append(.editDestination(key, d))
                }
            } else {
                ops.append(.addDestination(key, d))
            }
        }
    }
    return ops
}
