import Dispatch
import Synchronization
import VigilSupport

/// Reads and changes the kernel's IPVS tables over the generic-netlink family "IPVS".
///
/// One netlink socket serves every caller: requests from concurrent tasks take turns on it, and
/// every reply is matched to its request by sequence number, so a late or stray reply is dropped
/// rather than handed to the wrong caller (the shared-handle bug of kubernetes#71071).
///
/// ``apply(_:)`` is the one write path. It pipelines: it writes a batch of requests in one
/// datagram, each asking for an acknowledgement, then reads the acknowledgements.
///
/// The async methods run their blocking socket calls on the client's own serial queue (or a
/// ``BackgroundWorker``'s thread), never on the Swift cooperative pool, so a long table dump
/// cannot hold up other tasks (health probes).
public final class IPVSClient: IPVSControlling {
    private let connection: Mutex<any NetlinkTransport>
    /// Where the blocking netlink calls of the async methods run.
    private let queue = DispatchQueue(label: "vigil.ipvs.netlink")
    /// Where they run instead when the client was opened for background reads.
    private let worker: BackgroundWorker?
    /// Most requests in flight at once during ``apply(_:)``.
    public let pipelineDepth: Int

    /// Opens the socket and resolves the IPVS family.
    ///
    /// - Parameters:
    ///   - pipelineDepth: most requests sent before their acknowledgements are read. It is also
    ///     capped by the socket's receive buffer so no acknowledgement can be dropped.
    ///   - replyTimeoutSeconds: how long to wait for any kernel reply before failing.
    ///   - networkNamespace: a network-namespace file (e.g. `/run/netns/NAME`) whose IPVS tables
    ///     to use; nil for the caller's own namespace.
    ///   - worker: run the socket calls on this low-priority thread rather than the client's own
    ///     queue: a client for background reads (drift repair) that must not take CPU from
    ///     health checks. Give it its own client, so a slow background read never holds the
    ///     socket another caller is waiting for.
    /// - Throws: `.notAvailable` when the kernel has no IPVS.
    public convenience init(pipelineDepth: Int = 1024, replyTimeoutSeconds: Int = 30, networkNamespace: String? = nil,
                            worker: BackgroundWorker? = nil) throws(IPVSError) {
        let c = try NetlinkConnection(timeoutSeconds: replyTimeoutSeconds, networkNamespace: networkNamespace)
        // An acknowledgement occupies about 1 KiB of receive buffer (skb overhead included).
        let affordable = max(1, c.receiveBufferBytes / 2048)
        self.init(transport: c, pipelineDepth: min(pipelineDepth, affordable), worker: worker)
    }

    /// A client over any transport (tests use a fake kernel).
    init(transport: sending any NetlinkTransport, pipelineDepth: Int, worker: BackgroundWorker? = nil) {
        self.pipelineDepth = max(1, pipelineDepth)
        self.connection = Mutex(transport)
        self.worker = worker
    }

    // MARK: Reading

    public func info() async throws -> IPVSInfo {
        try await offload { try self.readInfo() }
    }

    public func table() async throws -> [ServiceEntry] {
        try await offload { try self.readTable() }
    }

    public func entry(for key: ServiceKey) async throws -> ServiceEntry {
        try await offload { try self.readEntry(key) }
    }

    /// All services without their destinations (one dump).
    public func services() async throws -> [Service] {
        try await offload { try self.connection.withLock { c throws(IPVSError) in try Self.dumpServices(c) } }
    }

    /// The destinations of one service; empty when the service does not exist.
    public func destinations(of key: ServiceKey) async throws -> [Destination] {
        try await offload { try self.connection.withLock { c throws(IPVSError) in try Self.dumpDestinations(c, key) } }
    }

    public func timeouts() async throws -> Timeouts {
        try await offload { try self.connection.withLock { c throws(IPVSError) -> Timeouts in
            let a = try Self.get(c, command: IPVSWire.Command.getConfig, service: nil, what: "read timeouts", context: "timeouts")
            do throws(NetlinkDecodeError) { return try IPVSCodec.decodeTimeouts(a) } catch { throw .malformed(error, context: "timeouts") }
        } }
    }

    public func daemons() async throws -> [SyncDaemon] {
        try await offload { try self.connection.withLock { c throws(IPVSError) -> [SyncDaemon] in
            var result: [SyncDaemon] = []
            try Self.dump(c, command: IPVSWire.Command.getDaemon, service: nil, what: "list sync daemons", context: "sync daemons") { a throws(NetlinkDecodeError) in
                if let d = try a.nested(IPVSWire.CommandAttribute.daemon) {
                    result.append(try IPVSCodec.decodeDaemon(d))
                }
            }
            return result
        } }
    }

    // MARK: Writing

    @discardableResult
    public func apply(_ operations: [IPVSOperation]) async throws -> Int {
        try await offload { try self.applyNow(operations) }
    }

    /// Deletes every service and destination.
    public func flush() async throws { try await offload { _ = try self.applyNow([.flush]) } }

    /// Zeroes the counters of one service, or of all services when `key` is nil.
    public func zero(_ key: ServiceKey? = nil) async throws { try await offload { _ = try self.applyNow([.zero(key)]) } }

    /// Sets connection timeouts; zero fields are left unchanged.
    public func setTimeouts(_ timeouts: Timeouts) async throws { try await offload { _ = try self.applyNow([.setTimeouts(timeouts)]) } }

    /// Starts a connection-synchronisation daemon.
    public func startDaemon(_ daemon: SyncDaemon) async throws { try await offload { _ = try self.applyNow([.startDaemon(daemon)]) } }

    /// Stops the connection-synchronisation daemon of the given role.
    public func stopDaemon(_ role: SyncDaemonRole) async throws { try await offload { _ = try self.applyNow([.stopDaemon(role)]) } }

    /// Runs `body` on ``queue`` (or the background worker) and resumes the caller with its result.
    private func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        if let worker { return try await worker.run(body) }
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            queue.async { c.resume(with: Result { try body() }) }
        }
    }

    // MARK: Synchronous core (runs under the lock; never awaits)

    func readInfo() throws(IPVSError) -> IPVSInfo {
        try connection.withLock { c throws(IPVSError) -> IPVSInfo in
            let a = try Self.get(c, command: IPVSWire.Command.getInfo, service: nil, what: "read IPVS info", context: "")
            do throws(NetlinkDecodeError) { return try IPVSCodec.decodeInfo(a) } catch { throw .malformed(error) }
        }
    }

    func readTable() throws(IPVSError) -> [ServiceEntry] {
        try connection.withLock { c throws(IPVSError) -> [ServiceEntry] in
            let services = try Self.dumpServices(c)
            var entries: [ServiceEntry] = []
            entries.reserveCapacity(services.count)
            for s in services {
                entries.append(ServiceEntry(service: s, destinations: try Self.dumpDestinations(c, s.key)))
            }
            return entries
        }
    }

    func readEntry(_ key: ServiceKey) throws(IPVSError) -> ServiceEntry {
        try connection.withLock { c throws(IPVSError) -> ServiceEntry in
            let a = try Self.get(c, command: IPVSWire.Command.getService, service: key, what: "read service", context: key.description)
            let service: Service
            do throws(NetlinkDecodeError) {
                guard let nest = try a.nested(IPVSWire.CommandAttribute.service) else {
                    throw NetlinkDecodeError("service reply without a service")
                }
                service = try IPVSCodec.decodeService(nest)
            } catch {
                throw .malformed(error, context: key.description)
            }
            return ServiceEntry(service: service, destinations: try Self.dumpDestinations(c, key))
        }
    }

    @discardableResult
    func applyNow(_ operations: [IPVSOperation]) throws(IPVSError) -> Int {
        if operations.isEmpty { return 0 }
        let depth = pipelineDepth
        return try connection.withLock { c throws(IPVSError) -> Int in
            try Self.pipeline(c, operations, depth: depth)
        }
    }

    static func pipeline(_ c: some NetlinkTransport, _ operations: [IPVSOperation], depth: Int) throws(IPVSError) -> Int {
        var index = 0
        var applied = 0
        while index < operations.count {
            // Build one datagram: up to `depth` requests that fit the send buffer.
            var w = NetlinkWriter(capacity: min(c.sendLimitBytes, 256 * depth))
            let first = c.reserveSequences(depth)
            var count = 0
            while index + count < operations.count && count < depth {
                let before = w.count
                IPVSCodec.write(operations[index + count], family: c.family, sequence: first &+ UInt32(count), into: &w)
                if w.count > c.sendLimitBytes && count > 0 {
                    // Too big: send without this one; it leads the next batch.
                    w = truncated(w, to: before)
                    break
                }
                count += 1
            }
            do {
                try c.send(w.bytes, context: operations[index].context)
            } catch {
                var e = error
                e.operationIndex = index
                e.appliedCount = applied
                throw e
            }

            var results = [Int32?](repeating: nil, count: count)
            var details = [String?](repeating: nil, count: count)
            var pending = count
            while pending > 0 {
                for m in try c.receiveMany(maxDatagrams: pending, context: operations[index].context) where m.type == Netlink.messageError {
                    let slot = Int(m.sequence &- first)
                    guard slot >= 0 && slot < count, results[slot] == nil else { continue }
                    do {
                        let (code, text) = try m.errorPayload()
                        results[slot] = code
                        details[slot] = text
                    } catch {
                        var e = IPVSError.malformed(error, context: operations[index + slot].context)
                        e.operationIndex = index + slot
                        e.appliedCount = applied
                        throw e
                    }
                    pending -= 1
                }
            }
            if let failed = results.firstIndex(where: { $0 != 0 }) {
                let total = applied + results.count(where: { $0 == 0 })
                let op = operations[index + failed]
                var e = IPVSError.kernel(errno: -(results[failed] ?? 0), operation: op, detail: details[failed])
                e.operationIndex = index + failed
                e.appliedCount = total
                throw e
            }
            applied += count
            index += count
        }
        return applied
    }

    /// Sends requests without reading their replies, as a caller that gave up would. Tests use
    /// it to prove later requests never receive those replies.
    func sendUnansweredForTesting(_ operations: [IPVSOperation]) throws(IPVSError) {
        try connection.withLock { c throws(IPVSError) in
            var w = NetlinkWriter()
            let first = c.reserveSequences(operations.count)
            for (i, op) in operations.enumerated() {
                IPVSCodec.write(op, family: c.family, sequence: first &+ UInt32(i), into: &w)
            }
            try c.send(w.bytes, context: "unanswered")
        }
    }

    static func truncated(_ w: NetlinkWriter, to size: Int) -> NetlinkWriter {
        var copy = NetlinkWriter(capacity: size)
        copy.appendRaw(w.bytes[0..<size])
        return copy
    }

    /// A single request (no dump): returns the reply's top-level attributes.
    static func get(
        _ c: some NetlinkTransport, command: UInt8, service: ServiceKey?, what: String, context: String
    ) throws(IPVSError) -> NetlinkAttributes {
        let seq = c.reserveSequences(1)
        var w = NetlinkWriter()
        IPVSCodec.writeQuery(command: command, service: service, dump: false, family: c.family, sequence: seq, into: &w)
        try c.send(w.bytes, context: context)
        while true {
            for m in try c.receive(context: context) where m.sequence == seq {
                do {
                    if m.type == Netlink.messageError {
                        let (code, text) = try m.errorPayload()
                        if code == 0 { continue }
                        throw IPVSError.kernel(errno: -code, reading: what, context: context, detail: text)
                    }
                    if m.type == c.family {
                        return try m.genericPayload().attributes
                    }
                } catch let e as NetlinkDecodeError {
                    throw .malformed(e, context: context)
                } catch let e as IPVSError {
                    throw e
                } catch {
                    throw IPVSError(code: .system, message: "\(error)", context: context)
                }
            }
        }
    }

    /// A dump: hands every reply message's attributes to `each`, across all datagrams, until
    /// `NLMSG_DONE`. Retries (at most twice) when the kernel flags the dump as interrupted.
    static func dump(
        _ c: some NetlinkTransport, command: UInt8, service: ServiceKey?, what: String, context: String,
        _ each: (NetlinkAttributes) throws(NetlinkDecodeError) -> Void
    ) throws(IPVSError) {
        var collected: [NetlinkAttributes] = []
        for attempt in 0..<3 {
            collected.removeAll(keepingCapacity: true)
            let seq = c.reserveSequences(1)
            var w = NetlinkWriter()
            IPVSCodec.writeQuery(command: command, service: service, dump: true, family: c.family, sequence: seq, into: &w)
            try c.send(w.bytes, context: context)
            var interrupted = false
            var done = false
            while !done {
                for m in try c.receiveMany(maxDatagrams: 64, context: context) where m.sequence == seq {
                    if m.flags & Netlink.flagDumpInterrupted != 0 { interrupted = true }
                    do {
                        switch m.type {
                        case Netlink.messageDone:
                            // A failed dump ends with the negative errno in NLMSG_DONE.
                            if let code = WireRead.integer(Int32.self, m.payload, at: 0), code < 0 {
                                throw IPVSError.kernel(errno: -code, reading: what, context: context)
                            }
                            done = true
                        case Netlink.messageError:
                            let (code, text) = try m.errorPayload()
                            if code != 0 { throw IPVSError.kernel(errno: -code, reading: what, context: context, detail: text) }
                        case c.family:
                            collected.append(try m.genericPayload().attributes)
                        default:
                            break
                        }
                    } catch let e as NetlinkDecodeError {
                        throw .malformed(e, context: context)
                    } catch let e as IPVSError {
                        throw e
                    } catch {
                        throw IPVSError(code: .system, message: "\(error)", context: context)
                    }
                    if done { break }
                }
            }
            if !interrupted || attempt == 2 { break }
        }
        for a in collected {
            do { try each(a) } catch { throw .malformed(error, context: context) }
        }
    }

    static func dumpServices(_ c: some NetlinkTransport) throws(IPVSError) -> [Service] {
        var services: [Service] = []
        try dump(c, command: IPVSWire.Command.getService, service: nil, what: "list services", context: "services") { a throws(NetlinkDecodeError) in
            guard let nest = try a.nested(IPVSWire.CommandAttribute.service) else {
                throw NetlinkDecodeError("service dump message without a service")
            }
            services.append(try IPVSCodec.decodeService(nest))
        }
        return services
    }

    static func dumpDestinations(_ c: some NetlinkTransport, _ key: ServiceKey) throws(IPVSError) -> [Destination] {
        var destinations: [Destination] = []
        try dump(c, command: IPVSWire.Command.getDestination, service: key, what: "list destinations", context: key.description) { a throws(NetlinkDecodeError) in
            guard let nest = try a.nested(IPVSWire.CommandAttribute.destination) else {
                throw NetlinkDecodeError("destination dump message without a destination")
            }
            destinations.append(try IPVSCodec.decodeDestination(nest, serviceFamily: key.family))
        }
        return destinations
    }
}
