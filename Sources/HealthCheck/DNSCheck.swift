import NIOCore
import Synchronization
import VigilSupport

/// DNS_CHECK: one query (`type`, `name`, class IN, recursion desired) over UDP; passes on a
/// response to it with RCODE 0 (NOERROR), fails on any other RCODE, an ICMP unreachable or
/// silence within `connect_timeout`. Datagrams that are not a response to the query (another
/// id, QR clear, another question, too short) are ignored while the time lasts, as in
/// keepalived's check_dns.c. Retries follow `retry` / `delay_before_retry` (keepalived's
/// defaults for DNS_CHECK: 3, and `delay_loop`).
public struct DNSChecker: ReactorChecker {
    public let settings: DNSCheckSettings
    public let reactor: ProbeReactor
    let addresses: ProbeAddresses
    let type: UInt16
    /// Query ids, one per check: random start, then counting (keepalived draws random()).
    let ids: QueryCounter

    public init(settings: DNSCheckSettings, reactor: ProbeReactor) {
        self.settings = settings
        self.reactor = reactor
        self.addresses = ProbeAddresses(settings.connection, transport: .datagram)
        self.type = DNSQuery.RecordType(rawValue: settings.type.uppercased())?.code ?? DNSQuery.RecordType.soa.code
        self.ids = QueryCounter()
    }

    public func check() async -> CheckResult {
        let query = makeQuery()
        return await reactor.exchange(addresses) { DNSExchange(query: query) }
    }

    func start(owner: any ExchangeOwner) -> Bool {
        reactor.startExchange(addresses, DNSExchange(query: makeQuery()), owner: owner)
        return true
    }

    func makeQuery() -> DNSQuery { DNSQuery(id: ids.next(), name: settings.name, type: type) }
}

/// A 16-bit counter starting at a random value, shared by a probe's checks.
final class QueryCounter: Sendable {
    private let value = Atomic<UInt16>(UInt16.random(in: 0...UInt16.max))

    func next() -> UInt16 { value.wrappingAdd(1, ordering: .relaxed).newValue }
}

/// The query out, then datagrams judged until a response to it arrives.
struct DNSExchange: Conversation {
    let query: DNSQuery
    var matcher: DNSResponseMatcher { DNSResponseMatcher(query: query) }

    var maxBuffered: Int { 64 * 1024 }

    mutating func opening() -> [UInt8]? { query.encoded }

    mutating func received(_ buffer: inout ByteBuffer) -> ConversationStep {
        let message = buffer.readBytes(length: buffer.readableBytes) ?? []
        switch matcher.judge(message) {
        case .ignored:
            return .needMore
        case .response(let rcode) where rcode == 0:
            return .finished(.success(weight: nil))
        case .response(let rcode):
            return .finished(.failure("response with RCODE \(rcode)\(Self.rcodeNames[Int(rcode)].map { " (\($0))" } ?? "")"))
        }
    }

    mutating func closed(_ buffer: inout ByteBuffer) -> CheckResult { .failure("socket closed") }

    mutating func timedOut() -> CheckResult? { .failure("no response to the query within the timeout") }

    /// RFC 1035 §4.1.1 and RFC 6895 §2.3 names of RCODEs 0–5.
    static let rcodeNames: [Int: String] = [0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"]
}
