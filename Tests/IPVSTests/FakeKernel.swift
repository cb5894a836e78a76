#if canImport(Glibc)
import Glibc
#endif
@testable import IPVS
import VigilSupport

/// An in-memory IPVS behind the netlink transport: it decodes the client's requests, keeps a
/// table, and answers as the kernel does (acks, errors, multi-part dumps), with knobs to inject
/// stray replies, reorder nothing it should not, and split dumps across many datagrams.
final class FakeKernel: NetlinkTransport, @unchecked Sendable {
    let family = testFamily
    var sendLimitBytes = 1 << 20
    private var nextSequence: UInt32 = 1000

    /// Datagrams waiting to be received.
    private(set) var inbox: [[UInt8]] = []
    /// Every datagram the client sent.
    private(set) var sent: [[UInt8]] = []
    /// Requests processed, in order.
    private(set) var processed: [IPVSOperation] = []

    var services: [ServiceEntry] = []
    var schedulers: Set<String> = ["rr", "wrr", "lc", "wlc", "sh", "mh"]
    /// Dump messages per datagram (small values force multi-datagram dumps).
    var messagesPerDatagram = 3
    /// Queue a stray message (wrong sequence) before every reply datagram.
    var injectStrays = false
    /// Statistics reported for every service and destination.
    var reportWideStatistics = true

    func reserveSequences(_ count: Int) -> UInt32 {
        let first = nextSequence
        nextSequence &+= UInt32(count)
        return first
    }

    func send(_ bytes: [UInt8], context: String) throws(IPVSError) {
        sent.append(bytes)
        guard let messages = try? NetlinkMessage.parse(bytes[...]) else {
            throw IPVSError(code: .system, message: "fake kernel: unparsable request")
        }
        for m in messages { handle(m) }
    }

    func receive(context: String) throws(IPVSError) -> [NetlinkMessage] {
        guard !inbox.isEmpty else {
            throw IPVSError(code: .system, message: "fake kernel: no reply queued (the client would hang)", context: context)
        }
        let datagram = inbox.removeFirst()
        do { return try NetlinkMessage.parse(datagram[...]) } catch { throw .malformed(error) }
    }

    private func queue(_ datagram: [UInt8]) {
        if injectStrays {
            inbox.append(Reply.error(EEXIST, sequence: 7))
        }
        inbox.append(datagram)
    }

    private func handle(_ m: NetlinkMessage) {
        guard m.type == family, let (command, a) = try? m.genericPayload() else {
            queue(Reply.error(EINVAL, sequence: m.sequence))
            return
        }
        let isDump = m.flags & Netlink.flagDump == Netlink.flagDump
        let serviceAttrs = try? a.nested(IPVSWire.CommandAttribute.service)
        let key = serviceAttrs.flatMap { try? Self.decodeKey($0) }
        typealias C = IPVSWire.Command
        switch command {
        case C.getService where isDump:
            dump(m.sequence, services.map { e in { (w: inout NetlinkWriter) in self.writeService(e.service, &w) } })
        case C.getService:
            guard let key, let e = services.first(where: { $0.service.key == key }) else {
                queue(Reply.error(ESRCH, sequence: m.sequence)); return
            }
            queue(Reply.generic(command: C.newService, flags: 0, sequence: m.sequence) { self.writeService(e.service, &$0) })
        case C.getDestination:
            let dests = services.first(where: { $0.service.key == key })?.destinations ?? []
            dump(m.sequence, dests.map { d in { (w: inout NetlinkWriter) in self.writeDestination(d, &w) } })
        case C.getInfo:
            queue(Reply.generic(command: C.getInfo, flags: 0, sequence: m.sequence) { w in
                w.attribute(IPVSWire.InfoAttribute.version, UInt32(0x010201))
                w.attribute(IPVSWire.InfoAttribute.connectionTableSize, UInt32(4096))
            })
        default:
            guard let op = Self.operation(command, a) else {
                queue(Reply.error(EINVAL, sequence: m.sequence)); return
            }
            let errno = apply(op)
            if errno == 0 { processed.append(op) }
            if errno != 0 || m.flags & Netlink.flagAck != 0 {
                queue(Reply.error(errno, sequence: m.sequence))
            }
        }
    }

    private func dump(_ sequence: UInt32, _ writers: [(inout NetlinkWriter) -> Void]) {
        var datagram: [UInt8] = []
        var inDatagram = 0
        for write in writers {
            datagram += Reply.generic(command: IPVSWire.Command.newService, sequence: sequence, write)
            inDatagram += 1
            if inDatagram == messagesPerDatagram {
                queue(datagram)
                datagram = []
                inDatagram = 0
            }
        }
        datagram += Reply.done(sequence: sequence)
        queue(datagram)
    }

    private func writeService(_ s: Service, _ w: inout NetlinkWriter) {
        var stats = Statistics()
        stats.connections = 5_000_000_000
        stats.inBytes = 1 << 40
        Reply.service(s, stats32: stats, stats64: reportWideStatistics ? stats : nil, into: &w)
    }

    private func writeDestination(_ d: Destination, _ w: inout NetlinkWriter) {
        Reply.destination(d, active: 3, inactive: 2, persistent: 1, stats64: Statistics(), into: &w)
    }

    /// Applies one operation to the table; returns the errno the kernel would.
    private func apply(_ op: IPVSOperation) -> Int32 {
        func index(_ k: ServiceKey) -> Int? { services.firstIndex { $0.service.key == k } }
        switch op {
        case .addService(let s):
            if index(s.key) != nil { return EEXIST }
            if !schedulers.contains(s.scheduler) { return ENOENT }
            services.append(ServiceEntry(service: s))
        case .editService(let s):
            guard let i = index(s.key) else { return ESRCH }
            if !schedulers.contains(s.scheduler) { return ENOENT }
            services[i].service = s
        case .deleteService(let k):
            guard let i = index(k) else { return ESRCH }
            services.remove(at: i)
        case .addDestination(let k, let d):
            guard let i = index(k) else { return ESRCH }
            if d.weight > UInt32(Int32.max) || d.lowerThreshold > d.upperThreshold { return ERANGE }
            if services[i].destinations.contains(where: { $0.key == d.key }) { return EEXIST }
            services[i].destinations.append(d)
        case .editDestination(let k, let d):
            guard let i = index(k) else { return ESRCH }
            guard let j = services[i].destinations.firstIndex(where: { $0.key == d.key }) else { return ENOENT }
            services[i].destinations[j] = d
        case .deleteDestination(let k, let dk):
            guard let i = index(k) else { return ESRCH }
            guard let j = services[i].destinations.firstIndex(where: { $0.key == dk }) else { return ENOENT }
            services[i].destinations.remove(at: j)
        case .flush:
            services = []
        case .zero(let k):
            if let k, index(k) == nil { return ESRCH }
        case .setTimeouts, .startDaemon, .stopDaemon:
            break
        }
        return 0
    }

    static func decodeKey(_ a: NetlinkAttributes) throws -> ServiceKey {
        let family = AddressFamily(rawValue: try a.integer(IPVSWire.ServiceAttribute.family) ?? 0) ?? .inet
        if let mark = try a.integer(IPVSWire.ServiceAttribute.firewallMark, as: UInt32.self) {
            return .firewallMark(mark, family)
        }
        let proto = IPVSProtocol(rawValue: try a.integer(IPVSWire.ServiceAttribute.protocol) ?? 0) ?? .tcp
        let address = try IPVSCodec.decodeAddress(a[IPVSWire.ServiceAttribute.address] ?? [], family: family)
        return .address(proto, address, try a.bigEndian(IPVSWire.ServiceAttribute.port) ?? 0)
    }

    /// Decodes a write request back into the operation it encodes.
    static func operation(_ command: UInt8, _ a: NetlinkAttributes) -> IPVSOperation? {
        typealias C = IPVSWire.Command
        let s = try? a.nested(IPVSWire.CommandAttribute.service)
        let key = s.flatMap { try? decodeKey($0) }
        let dest = (try? a.nested(IPVSWire.CommandAttribute.destination)).flatMap { $0 }
        switch command {
        case C.newService, C.setService:
            guard let s, var service = try? IPVSCodec.decodeService(s) else { return nil }
            service.flags.remove(.hashed)
            return command == C.newService ? .addService(service) : .editService(service)
        case C.deleteService:
            return key.map { .deleteService($0) }
        case C.newDestination, C.setDestination:
            guard let key, let dest, let d = try? IPVSCodec.decodeDestination(dest, serviceFamily: key.family) else { return nil }
            return command == C.newDestination ? .addDestination(key, d) : .editDestination(key, d)
        case C.deleteDestination:
            guard let key, let dest, let d = try? IPVSCodec.decodeDestination(dest, serviceFamily: key.family) else { return nil }
            return .deleteDestination(key, d.key)
        case C.flush:
            return .flush
        case C.zero:
            return .zero(key)
        case C.setConfig:
            guard let t = try? IPVSCodec.decodeTimeouts(a) else { return nil }
            return .setTimeouts(t)
        case C.newDaemon:
            guard let d = (try? a.nested(IPVSWire.CommandAttribute.daemon)).flatMap({ $0 }),
                  let daemon = try? IPVSCodec.decodeDaemon(d) else { return nil }
            return .startDaemon(daemon)
        case C.deleteDaemon:
            guard let d = (try? a.nested(IPVSWire.CommandAttribute.daemon)).flatMap({ $0 }),
                  let daemon = try? d.integer(IPVSWire.DaemonAttribute.state, as: UInt32.self),
                  let role = SyncDaemonRole(rawValue: daemon) else { return nil }
            return .stopDaemon(role)
        default:
            return nil
        }
    }
}
