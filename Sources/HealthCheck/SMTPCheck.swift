import NIOCore
import VigilSupport

/// SMTP_CHECK: a 2xx greeting, `HELO helo_name` answered with 250, then `QUIT` (RFC 5321 §4.1.1).
public struct SMTPChecker: ReactorChecker {
    public let settings: SMTPCheckSettings
    public let reactor: ProbeReactor
    let addresses: ProbeAddresses

    public init(settings: SMTPCheckSettings, reactor: ProbeReactor) {
        self.settings = settings
        self.reactor = reactor
        self.addresses = ProbeAddresses(settings.connection)
    }

    public func check() async -> CheckResult {
        let helo = settings.heloName
        return await reactor.exchange(addresses) { SMTPExchange(heloName: helo) }
    }

    func start(owner: any ExchangeOwner) -> Bool {
        reactor.startExchange(addresses, SMTPExchange(heloName: settings.heloName), owner: owner)
        return true
    }
}

/// The greeting / HELO / QUIT dialogue. Replies may be multi-line (`250-…` then `250 …`, RFC 5321 §4.2.1).
struct SMTPExchange: Conversation {
    enum Stage { case greeting, helo }
    let heloName: String
    var stage = Stage.greeting

    var maxBuffered: Int { 16 * 1024 }

    mutating func opening() -> [UInt8]? { nil }

    mutating func received(_ buffer: inout ByteBuffer) -> ConversationStep {
        while let code = Self.takeReply(&buffer) {
            switch stage {
            case .greeting:
                // RFC 5321 §4.2: 220 is the greeting; keepalived accepts any 2xx.
                guard (200...299).contains(code) else { return .finished(.failure("greeting \(code)")) }
                stage = .helo
                return .send(Array("HELO \(heloName)\r\n".utf8))
            case .helo:
                guard code == 250 else { return .finished(.failure("HELO answered \(code)")) }
                return .sendThenFinish(Array("QUIT\r\n".utf8), .success(weight: nil))
            }
        }
        return .needMore
    }

    mutating func closed(_ buffer: inout ByteBuffer) -> CheckResult {
        .failure(stage == .greeting ? "connection closed before the greeting" : "connection closed before the HELO reply")
    }

    /// Removes one complete reply from the buffer and returns its code; nil when incomplete.
    /// A malformed line yields code 0, which every stage rejects.
    static func takeReply(_ buffer: inout ByteBuffer) -> Int? {
        let view = buffer.readableBytesView
        var lineStart = view.startIndex
        while let end = HTTPResponseParser.find([13, 10], in: view, from: lineStart) {
            let line = Array(view[lineStart..<end])
            lineStart = end + 2
            let isLast = line.count < 4 || line[3] != UInt8(ascii: "-")
            if isLast {
                buffer.moveReaderIndex(forwardBy: lineStart - view.startIndex)
                guard line.count >= 3, let code = Int(String(decoding: line.prefix(3), as: UTF8.self)) else { return 0 }
                return code
            }
        }
        return nil
    }
}
