#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import VigilSupport

/// An in-memory IPVS table with the kernel's rules, for tests of code above the client
/// (health checking, the daemon) that must not need a kernel.
///
/// It answers as `ip_vs_ctl.c` does: EEXIST on duplicate adds, ESRCH for a missing service,
/// ENOENT for a missing destination or an unknown scheduler, ERANGE for a weight above `INT_MAX`
/// or a lower threshold above the upper one, and reports the `hashed` flag and zeroed counters
/// on reads. `apply` stops at the first failure (it is not pipelined), with the same
/// `IPVSError` the netlink client would throw.
public actor InMemoryIPVS: IPVSControlling {
    private var entries: [ServiceEntry] = []
    private var currentTimeouts = Timeouts(tcp: 900, tcpFin: 120, udp: 300)
    private var runningDaemons: [SyncDaemon] = []
    /// Scheduler names this "kernel" has modules for.
    public var schedulers: Set<String>
    /// Every operation applied successfully, in order (for assertions in tests).
    public private(set) var history: [IPVSOperation] = []

    public init(
        entries: [ServiceEntry] = [],
        schedulers: Set<String> = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"]
    ) {
        self.entries = entries
        self.schedulers = schedulers
    }

    public func info() async throws -> IPVSInfo { IPVSInfo(version: 0x010201, connectionTableSize: 4096) }

    public func table() async throws -> [ServiceEntry] { entries.map(Self.reported) }

    public func entry(for key: ServiceKey) async throws -> ServiceEntry {
        guard let e = entries.first(where: { $0.service.key == key }) else {
            throw IPVSError(code: .notFound, message: "no such service", context: key.description, errno: ESRCH)
        }
        return Self.reported(e)
    }

    @discardableResult
    public func apply(_ operations: [IPVSOperation]) async throws -> Int {
        for (i, op) in operations.enumerated() {
            let errno = perform(op)
            if errno != 0 {
                var e = IPVSError.kernel(errno: errno, operation: op)
                e.operationIndex = i
                e.appliedCount = i
                throw e
            }
            history.append(op)
        }
        return operations.count
    }

    public func timeouts() async throws -> Timeouts { currentTimeouts }

    public func daemons() async throws -> [SyncDaemon] { runningDaemons }

    private static func reported(_ e: ServiceEntry) -> ServiceEntry {
        var r = e
        r.service.flags.insert(.hashed)
        r.service.statistics = Statistics()
        for i in r.destinations.indices {
            r.destinations[i].activeConnections = 0
            r.destinations[i].inactiveConnections = 0
            r.destinations[i].persistentConnections = 0
            r.destinations[i].statistics = Statistics()
        }
        return r
    }

    /// The errno values `ip_vs_ctl.c` answers with.
    private enum E {
        static let noEntry = ENOENT, noProcess = ESRCH, exists = EEXIST, invalid = EINVAL, range = ERANGE
    }

    private func perform(_ op: IPVSOperation) -> Int32 {
        func index(_ k: ServiceKey) -> Int? { entries.firstIndex { $0.service.key == k } }
        func valid(_ d: Destination) -> Bool { d.weight <= UInt32(Int32.max) && d.lowerThreshold <= d.upperThreshold }
        switch op {
        case .addService(let s):
            if index(s.key) != nil { return E.exists }
            if !schedulers.contains(s.scheduler) { return E.noEntry }
            entries.append(ServiceEntry(service: s.forWriting(s.key)))
        case .editService(let s):
            guard let i = index(s.key) else { return E.noProcess }
            if !schedulers.contains(s.scheduler) { return E.noEntry }
            entries[i].service = s.forWriting(s.key)
        case .deleteService(let k):
            guard let i = index(k) else { return E.noProcess }
            entries.remove(at: i)
        case .addDestination(let k, let d):
            guard let i = index(k) else { return E.noProcess }
            if !valid(d) { return E.range }
            if d.address.family != k.family && d.forwarding != .tunnel { return E.invalid }
            if entries[i].destinations.contains(where: { $0.key == d.key }) { return E.exists }
            entries[i].destinations.append(d.forWriting)
        case .editDestination(let k, let d):
            guard let i = index(k) else { return E.noProcess }
            if !valid(d) { return E.range }
            guard let j = entries[i].destinations.firstIndex(where: { $0.key == d.key }) else { return E.noEntry }
            entries[i].destinations[j] = d.forWriting
        case .deleteDestination(let k, let dk):
            guard let i = index(k) else { return E.noProcess }
            guard let j = entries[i].destinations.firstIndex(where: { $0.key == dk }) else { return E.noEntry }
            entries[i].destinations.remove(at: j)
        case .flush:
            entries = []
        case .zero(let k):
            if let k, index(k) == nil { return E.noProcess }
        case .setTimeouts(let t):
            if t.tcp != 0 { currentTimeouts.tcp = t.tcp }
            if t.tcpFin != 0 { currentTimeouts.tcpFin = t.tcpFin }
            if t.udp != 0 { currentTimeouts.udp = t.udp }
        case .startDaemon(let d):
            if runningDaemons.contains(where: { $0.role == d.role }) { return E.exists }
            runningDaemons.append(d)
        case .stopDaemon(let role):
            guard let i = runningDaemons.firstIndex(where: { $0.role == role }) else { return E.noProcess }
            runningDaemons.remove(at: i)
        }
        return 0
    }
}
