import NIOCore
import VigilSupport

/// UDP_CHECK: sends `payload` to the target over a connected UDP socket. An ICMP port (or host)
/// unreachable, reported by the kernel as an error on the socket, fails the check. With
/// `require_reply` a reply must arrive within `connect_timeout` and match the pattern; without
/// it, silence until the timeout passes, as in keepalived's check_udp.c.
public struct UDPChecker: ReactorChecker {
    public let settings: UDPCheckSettings
    public let reactor: ProbeReactor
    let addresses: ProbeAddresses
    let exchange: UDPExchange

    public init(settings: UDPCheckSettings, reactor: ProbeReactor) {
        self.settings = settings
        self.reactor = reactor
        self.addresses = ProbeAddresses(settings.connection, transport: .datagram)
        self.exchange = UDPExchange(settings)
    }

    public func check() async -> CheckResult {
        let exchange = self.exchange
        return await reactor.exchange(addresses) { exchange }
    }

    func start(owner: any ExchangeOwner) -> Bool {
        reactor.startExchange(addresses, exchange, owner: owner)
        return true
    }
}

/// One datagram out, then the first datagram back judged (or silence, or an ICMP error).
struct UDPExchange: Conversation {
    let payload: [UInt8]
    let requireReply: Bool
    /// nil: any reply passes (keepalived applies the lengths only with a reply pattern).
    let matcher: UDPReplyMatcher?

    init(_ settings: UDPCheckSettings) {
        payload = settings.payload
        requireReply = settings.requireReply
        matcher = settings.reply.map {
            UDPReplyMatcher(expected: $0, wildcard: settings.replyWildcard,
                            minimumLength: settings.minimumReplyLength, maximumLength: settings.maximumReplyLength)
        }
    }

    var maxBuffered: Int { 64 * 1024 }

    mutating func opening() -> [UInt8]? { payload }

    mutating func received(_ buffer: inout ByteBuffer) -> ConversationStep {
        let reply = buffer.readBytes(length: buffer.readableBytes) ?? []
        if let matcher, let why = matcher.mismatch(reply) { return .finished(.failure(why)) }
        return .finished(.success(weight: nil))
    }

    mutating func closed(_ buffer: inout ByteBuffer) -> CheckResult { .failure("socket closed") }

    mutating func timedOut() -> CheckResult? {
        requireReply ? .failure("no reply within the timeout") : .success(weight: nil)
    }
}
