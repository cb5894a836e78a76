#if canImport(Glibc)
import Glibc
#endif
import IPVS
import IPVSAdm
import VigilSupport

/// An in-memory IPVS table with the kernel's add/edit/delete semantics, for tests without a kernel.
actor FakeIPVS: IPVSControlling {
    var entries: [ServiceEntry] = []
    var currentTimeouts = Timeouts(tcp: 900, tcpFin: 120, udp: 300)
    var running: [SyncDaemon] = []
    /// Fails the request about this context with this error code (e.g. a missing scheduler module).
    var failOn: (context: String, code: IPVSErrorCode)?
    /// How many `apply` calls were made, and how many operations in total.
    var applyCalls = 0
    var appliedOperations = 0

    init(_ entries: [ServiceEntry] = []) {
        self.entries = entries
    }

    func setFailure(context: String, code: IPVSErrorCode) { failOn = (context, code) }

    func info() async throws -> IPVSInfo { IPVSInfo(version: 0x010201, connectionTableSize: 4096) }
    func table() async throws -> [ServiceEntry] { entries }
    func timeouts() async throws -> Timeouts { currentTimeouts }
    func daemons() async throws -> [SyncDaemon] { running }

    func entry(for key: ServiceKey) async throws -> ServiceEntry {
        guard let e = entries.first(where: { $0.service.key == key }) else {
            throw IPVSError(code: .notFound, message: "no such service", context: key.description, errno: ESRCH)
        }
        return e
    }

    @discardableResult
    func apply(_ operations: [IPVSOperation]) async throws -> Int {
        applyCalls += 1
        var n = 0
        for op in operations {
            try apply(op)
            n += 1
            appliedOperations += 1
        }
        return n
    }

    private func index(_ key: ServiceKey) throws -> Int {
        guard let i = entries.firstIndex(where: { $0.service.key == key }) else {
            throw IPVSError(code: .notFound, message: "no such service", context: key.description, errno: ESRCH)
        }
        return i
    }

    private func apply(_ op: IPVSOperation) throws {
        let context = OperationText.context(op)
        if let f = failOn, f.context == context {
            throw IPVSError(code: f.code, message: "injected \(f.code)", context: context)
        }
        switch op {
        case .addService(let s):
            if entries.contains(where: { $0.service.key == s.key }) {
                throw IPVSError(code: .alreadyExists, message: "service already exists", context: context, errno: EEXIST)
            }
            entries.append(ServiceEntry(service: s))
        case .editService(let s):
            entries[try index(s.key)].service = s
        case .deleteService(let k):
            entries.remove(at: try index(k))
        case .addDestination(let k, let d):
            let i = try index(k)
            if entries[i].destinations.contains(where: { $0.key == d.key }) {
                throw IPVSError(code: .alreadyExists, message: "destination already exists", context: context, errno: EEXIST)
            }
            var d = d
            d.activeConnections = 0; d.inactiveConnections = 0; d.persistentConnections = 0
            entries[i].destinations.append(d)
        case .editDestination(let k, let d):
            let i = try index(k)
            guard let j = entries[i].destinations.firstIndex(where: { $0.key == d.key }) else {
                throw IPVSError(code: .notFound, message: "no such destination", context: context, errno: ENOENT)
            }
            entries[i].destinations[j] = d
        case .deleteDestination(let k, let d):
            let i = try index(k)
            guard let j = entries[i].destinations.firstIndex(where: { $0.key == d }) else {
                throw IPVSError(code: .notFound, message: "no such destination", context: context, errno: ENOENT)
            }
            entries[i].destinations.remove(at: j)
        case .flush:
            entries = []
        case .zero(let k):
            if let k { _ = try index(k) }
        case .setTimeouts(let t):
            currentTimeouts = Timeouts(tcp: t.tcp == 0 ? currentTimeouts.tcp : t.tcp,
                                       tcpFin: t.tcpFin == 0 ? currentTimeouts.tcpFin : t.tcpFin,
                                       udp: t.udp == 0 ? currentTimeouts.udp : t.udp)
        case .startDaemon(let d):
            running.append(d)
        case .stopDaemon(let r):
            running.removeAll { $0.role == r }
        }
    }
}
