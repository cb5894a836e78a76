import NIOCore
import VigilSupport

/// TCP_CHECK: passes when a TCP connection to the target opens within `connect_timeout`.
public struct TCPChecker: HealthChecker {
    public let settings: ConnectionSettings
    let group: any EventLoopGroup
    let endpoint: ProbeEndpoint

    public init(settings: ConnectionSettings, group: any EventLoopGroup) {
        self.settings = settings
        self.group = group
        self.endpoint = ProbeEndpoint(settings)
    }

    public func check() async -> CheckResult {
        await runExchange(group: group, settings: settings, endpoint: endpoint, tls: nil, serverName: nil) { ConnectOnly() }
    }
}

/// Succeeds as soon as the connection is up.
struct ConnectOnly: Conversation {
    var maxBuffered: Int { 0 }
    mutating func opening() -> [UInt8]? { [] }
    mutating func received(_ buffer: inout ByteBuffer) -> ConversationStep { .finished(.success(weight: nil)) }
    mutating func closed(_ buffer: inout ByteBuffer) -> CheckResult { .failure("connection closed") }
}
