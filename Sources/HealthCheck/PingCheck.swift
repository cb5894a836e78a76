import NIOCore
import VigilSupport

/// PING_CHECK: one ICMP (IPv4) or ICMPv6 echo request per check, on the probe reactor; passes
/// when the echo reply carrying the request's identifier and sequence comes back from the
/// target within `connect_timeout`. An ICMP error reported on the socket (host unreachable)
/// fails at once; silence fails at the timeout. See ``ProbeSocket/open(_:)`` for the socket.
public struct PingChecker: ReactorChecker {
    public let settings: ConnectionSettings
    public let reactor: ProbeReactor
    let addresses: ProbeAddresses
    let version: ICMPEcho.Version
    /// The identifier of this probe's requests on a raw socket.
    let identifier: UInt16
    let sequences: QueryCounter

    public init(settings: ConnectionSettings, reactor: ProbeReactor) {
        self.settings = settings
        self.reactor = reactor
        self.addresses = ProbeAddresses(settings, transport: .icmp)
        self.version = settings.address.family == .inet ? .v4 : .v6
        self.identifier = UInt16.random(in: 1...UInt16.max)
        self.sequences = QueryCounter()
    }

    public func check() async -> CheckResult {
        let exchange = makeExchange()
        return await reactor.exchange(addresses) { exchange }
    }

    func start(owner: any ExchangeOwner) -> Bool {
        reactor.startExchange(addresses, makeExchange(), owner: owner)
        return true
    }

    func makeExchange() -> PingExchange {
        PingExchange(echo: ICMPEcho(version: version, identifier: identifier, sequence: sequences.next(), data: PingExchange.data))
    }
}

/// The echo request out, then datagrams judged until its reply arrives.
struct PingExchange: Conversation {
    var echo: ICMPEcho
    var matcher: ICMPEchoReplyMatcher

    /// Echo data: 56 bytes, as ping(8) sends by default.
    static let data: [UInt8] = Array(String(repeating: "vigil check - ", count: 4).utf8)

    init(echo: ICMPEcho) {
        self.echo = echo
        self.matcher = ICMPEchoReplyMatcher(version: echo.version, identifier: echo.identifier, sequence: echo.sequence,
                                            includesIPv4Header: echo.version == .v4)
    }

    var maxBuffered: Int { 64 * 1024 }

    mutating func icmpSocketOpened(_ kind: ICMPSocketKind) {
        switch kind {
        case .raw:
            break
        case .datagram(let identifier):
            echo.identifier = identifier
            matcher.identifier = identifier
            matcher.includesIPv4Header = false
        }
    }

    mutating func opening() -> [UInt8]? { echo.request }

    mutating func received(_ buffer: inout ByteBuffer) -> ConversationStep {
        let datagram = buffer.readBytes(length: buffer.readableBytes) ?? []
        switch matcher.judge(datagram) {
        case .reply: return .finished(.success(weight: nil))
        case .ignored: return .needMore
        }
    }

    mutating func closed(_ buffer: inout ByteBuffer) -> CheckResult { .failure("socket closed") }

    mutating func timedOut() -> CheckResult? { .failure("no echo reply within the timeout") }
}
