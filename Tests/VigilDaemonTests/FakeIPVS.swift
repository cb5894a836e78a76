import IPVS
import VigilSupport

/// An in-memory IPVS table with the kernel's add/edit/delete rules.
actor FakeIPVS: IPVSControlling {
    var entries: [ServiceEntry] = []
    var applied: [IPVSOperation] = []

    init(_ entries: [ServiceEntry] = []) { self.entries = entries }

    func info() async throws -> IPVSInfo { IPVSInfo(version: 0x010201, connectionTableSize: 4096) }
    func table() async throws -> [ServiceEntry] { entries }
    func entry(for key: ServiceKey) async throws -> ServiceEntry {
        guard let e = entries.first(where: { $0.service.key == key }) else { throw IPVSError(code: .notFound, message: "no service") }
        return e
    }
    func timeouts() async throws -> Timeouts { Timeouts(tcp: 900, tcpFin: 120, udp: 300) }
    var syncDaemons: [SyncDaemon] = []
    func daemons() async throws -> [SyncDaemon] { syncDaemons }

    func set(_ e: [ServiceEntry]) { entries = e }

    func clearApplied() { applied = [] }

    /// Connection counts as the kernel would report them for one destination.
    func setConnections(_ key: ServiceKey, _ d: DestinationKey, active: UInt32, inactive: UInt32 = 0) {
        guard let i = entries.firstIndex(where: { $0.service.key == key }),
              let j = entries[i].destinations.firstIndex(where: { $0.key == d }) else { return }
        entries[i].destinations[j].activeConnections = active
        entries[i].destinations[j].inactiveConnections = inactive
    }

    /// Operator edits, as `ipvsadm -d` / `-C` would make them.
    func deleteDestination(_ key: ServiceKey, _ d: DestinationKey) {
        if let i = entries.firstIndex(where: { $0.service.key == key }) { entries[i].destinations.removeAll { $0.key == d } }
    }

    @discardableResult
    func apply(_ operations: [IPVSOperation]) async throws -> Int {
        var n = 0
        for op in operations {
            try applyOne(op)
            applied.append(op)
            n += 1
        }
        return n
    }

    private func index(_ key: ServiceKey) throws -> Int {
        guard let i = entries.firstIndex(where: { $0.service.key == key }) else { throw IPVSError(code: .notFound, message: "no service", context: key.description) }
        return i
    }

    private func applyOne(_ op: IPVSOperation) throws {
        switch op {
        case .addService(let s):
            if entries.contains(where: { $0.service.key == s.key }) { throw IPVSError(code: .alreadyExists, message: "exists") }
            entries.append(ServiceEntry(service: s))
        case .editService(let s):
            entries[try index(s.key)].service = s
        case .deleteService(let k):
            entries.remove(at: try index(k))
        case .addDestination(let k, let d):
            let i = try index(k)
            if entries[i].destinations.contains(where: { $0.key == d.key }) { throw IPVSError(code: .alreadyExists, message: "exists") }
            entries[i].destinations.append(d)
        case .editDestination(let k, let d):
            let i = try index(k)
            guard let j = entries[i].destinations.firstIndex(where: { $0.key == d.key }) else { throw IPVSError(code: .notFound, message: "no dest") }
            var edited = d
            edited.activeConnections = entries[i].destinations[j].activeConnections
            edited.inactiveConnections = entries[i].destinations[j].inactiveConnections
            entries[i].destinations[j] = edited
        case .deleteDestination(let k, let d):
            let i = try index(k)
            guard let j = entries[i].destinations.firstIndex(where: { $0.key == d }) else { throw IPVSError(code: .notFound, message: "no dest") }
            entries[i].destinations.remove(at: j)
        case .flush:
            entries = []
        case .startDaemon(let d):
            if syncDaemons.contains(where: { $0.role == d.role }) { throw IPVSError(code: .alreadyExists, message: "daemon running") }
            // The kernel reports its defaults where the request left 0.
            var running = d
            if running.multicastPort == 0 { running.multicastPort = 8848 }
            if running.multicastTTL == 0 { running.multicastTTL = 1 }
            syncDaemons.append(running)
        case .stopDaemon(let role):
            guard syncDaemons.contains(where: { $0.role == role }) else { throw IPVSError(code: .notFound, message: "no daemon") }
            syncDaemons.removeAll { $0.role == role }
        default:
            break
        }
    }
}
