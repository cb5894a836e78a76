import NIOCore
import VigilSupport

/// TCP_CHECK: passes when a TCP connection to the target opens within `connect_timeout`.
public struct TCPChecker: ReactorChecker {
    public let settings: ConnectionSettings
    public let reactor: ProbeReactor
    let addresses: ProbeAddresses

    public init(settings: ConnectionSettings, reactor: ProbeReactor) {
        self.settings = settings
        self.reactor = reactor
        self.addresses = ProbeAddresses(settings)
    }

    public func check() async -> CheckResult {
        await reactor.exchange(addresses) { ConnectOnly() }
    }

    func start(owner: any ExchangeOwner) -> Bool {
        reactor.startExchange(addresses, ConnectOnly(), owner: owner)
        return true
    }
}

/// Succeeds as soon as the connection is up.
struct ConnectOnly: Conversation {
    var maxBuffered: Int { 0 }
    mutating func opening() -> [UInt8]? { [] }
    mutating func received(_ buffer: inout ByteBuffer) -> ConversationStep { .finished(.success(weight: nil)) }
    mutating func closed(_ buffer: inout ByteBuffer) -> CheckResult { .failure("connection closed") }
}
