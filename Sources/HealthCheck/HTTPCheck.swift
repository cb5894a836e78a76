import Crypto
import NIOCore
import NIOSSL
import VigilSupport

/// HTTP_GET (and, with `tls`, SSL_GET): every `url` block must answer with an accepted status
/// and, when set, a body whose MD5 equals `digest`. Each url's whole exchange is bounded by
/// connect_timeout.
public struct HTTPChecker: ReactorChecker {
    public let settings: HTTPCheckSettings
    public let reactor: ProbeReactor
    /// Event loops for SSL_GET's TLS (swift-nio-ssl); plain HTTP runs on `reactor`.
    let group: any EventLoopGroup
    let tls: NIOSSLContext?
    let addresses: ProbeAddresses
    /// SwiftNIO's form of the target, for SSL_GET only.
    let endpoint: ProbeEndpoint?
    /// The request of each of `settings.urls`, built once.
    let requests: [[UInt8]]
    /// What a plain HTTP_GET check on the reactor needs, in one object (a check then retains
    /// one reference, not every field of this struct), with each url's conversation built once
    /// and copied per check; nil for SSL_GET.
    private let plain: PlainHTTPPlan?

    /// Throws when SSL_GET verification material (CA file) cannot be loaded.
    public init(settings: HTTPCheckSettings, reactor: ProbeReactor, group: any EventLoopGroup) throws {
        self.settings = settings
        self.reactor = reactor
        self.group = group
        self.addresses = ProbeAddresses(settings.connection)
        self.endpoint = settings.tls == nil ? nil : ProbeEndpoint(settings.connection)
        let requests = settings.urls.map { Self.request(for: $0, settings: settings) }
        self.requests = requests
        self.tls = try settings.tls.map { try makeTLSContext($0, nameKnown: settings.virtualHost != nil) }
        self.plain = settings.tls == nil
            ? PlainHTTPPlan(reactor: reactor, addresses: addresses,
                            conversations: zip(settings.urls, requests).map { Self.exchange($0, request: $1, settings: settings, box: nil) },
                            paths: settings.urls.map(\.path))
            : nil
    }

    public func check() async -> CheckResult {
        for (url, request) in zip(settings.urls, requests) {
            let result = await fetch(url, request: request).result
            if case .failure(let why) = result { return failure(url, why) }
        }
        return .success(weight: nil)
    }

    /// Plain HTTP_GET runs every url in turn on the reactor thread; SSL_GET does not (TLS is NIO's).
    func start(owner: any ExchangeOwner) -> Bool {
        guard let plain else { return false }
        HTTPURLSequence(plan: plain, owner: owner).next()
        return true
    }

    fileprivate func failure(_ url: URLCheck, _ why: String) -> CheckResult {
        Self.failure(path: url.path, why, tls: settings.tls != nil)
    }

    /// A url's failure, named by scheme and path.
    fileprivate static func failure(path: String, _ why: String, tls: Bool) -> CheckResult {
        .failure("\(tls ? "HTTPS" : "HTTP") \(path): \(why)")
    }

    /// Fetches one url and judges it; also returns the status and body digest (for genhash).
    public func fetch(_ url: URLCheck) async -> (result: CheckResult, status: Int?, md5: String?) {
        await fetch(url, request: Self.request(for: url, settings: settings))
    }

    /// The GET request for one url.
    static func request(for url: URLCheck, settings: HTTPCheckSettings) -> [UInt8] {
        let hostHeader = url.virtualHost ?? settings.virtualHost ?? settings.connection.target.description
        return Array(("GET \(url.path) HTTP/\(settings.version.rawValue)\r\n"
            + "User-Agent: Vigil/HealthCheck\r\n"
            + "Host: \(hostHeader)\r\n"
            + "Connection: close\r\n\r\n").utf8)
    }

    /// The conversation that fetches and judges one url; `box` (when given) records what it saw.
    private func exchange(_ url: URLCheck, request: [UInt8], box: HTTPResponseBox?) -> HTTPExchange {
        Self.exchange(url, request: request, settings: settings, box: box)
    }

    private static func exchange(_ url: URLCheck, request: [UInt8], settings: HTTPCheckSettings, box: HTTPResponseBox?) -> HTTPExchange {
        let maxBody = settings.maxBodyBytes
        return HTTPExchange(request: request, maxBody: maxBody) { status, body, complete in
            let md5 = complete && (url.digest != nil || box != nil) ? hexMD5(body) : nil
            box?.status = status
            box?.md5 = md5
            guard url.statusCodes.contains(status) else { return .failure("status \(status) not accepted") }
            if let want = url.digest {
                guard let md5 else { return .failure("body larger than \(maxBody) bytes; digest not checked") }
                guard md5 == want else { return .failure("digest \(md5) differs from \(want)") }
            }
            if let r = url.regex {
                guard complete else { return .failure("body larger than \(maxBody) bytes; regex not checked") }
                if let problem = r.judge(body) { return .failure(problem) }
            }
            return .success(weight: nil)
        }
    }

    private func fetch(_ url: URLCheck, request: [UInt8]) async -> (result: CheckResult, status: Int?, md5: String?) {
        let box = HTTPResponseBox()
        let result: CheckResult
        if let tls, let endpoint {
            let host = url.virtualHost ?? settings.virtualHost
            let serverName: String? = settings.tls.flatMap { t in
                if let v = t.verification { return v.expectedName ?? host }
                return t.enableSNI ? host : nil
            }
            result = await runExchange(group: group, settings: settings.connection, endpoint: endpoint, tls: tls, serverName: serverName) {
                exchange(url, request: request, box: box)
            }
        } else {
            result = await reactor.exchange(addresses) { exchange(url, request: request, box: box) }
        }
        return (result, box.status, box.md5)
    }
}

/// A plain HTTP_GET checker's reactor-side parts.
private final class PlainHTTPPlan: Sendable {
    let reactor: ProbeReactor
    let addresses: ProbeAddresses
    let conversations: [HTTPExchange]
    let paths: [String]

    init(reactor: ProbeReactor, addresses: ProbeAddresses, conversations: [HTTPExchange], paths: [String]) {
        self.reactor = reactor
        self.addresses = addresses
        self.conversations = conversations
        self.paths = paths
    }
}

/// One HTTP_GET check on the reactor thread: the urls in turn, stopping at the first failure.
private final class HTTPURLSequence: ExchangeOwner {
    let plan: PlainHTTPPlan
    let owner: any ExchangeOwner
    var index = 0

    init(plan: PlainHTTPPlan, owner: any ExchangeOwner) {
        self.plan = plan
        self.owner = owner
    }

    func next() {
        guard index < plan.conversations.count else {
            owner.exchangeFinished(.success(weight: nil))
            return
        }
        plan.reactor.startExchange(plan.addresses, plan.conversations[index], owner: self)
    }

    func exchangeFinished(_ result: CheckResult) {
        if case .failure(let why) = result {
            owner.exchangeFinished(HTTPChecker.failure(path: plan.paths[index], why, tls: false))
            return
        }
        index += 1
        next()
    }
}

/// Lowercase hex MD5 of bytes, as keepalived's `digest` and genhash print it.
public func hexMD5(_ bytes: some Sequence<UInt8>) -> String {
    Insecure.MD5.hash(data: Array(bytes)).map { byte in
        let s = String(byte, radix: 16)
        return byte < 16 ? "0" + s : s
    }.joined()
}

/// What a fetch saw; written on the channel's event loop, read after the probe completes.
final class HTTPResponseBox: @unchecked Sendable {
    var status: Int?
    var md5: String?
}

/// An HTTP/1.x client exchange: one request, one response (Content-Length, chunked, or until close).
struct HTTPExchange: Conversation, Sendable {
    let request: [UInt8]
    let maxBody: Int
    /// Judges (status, body, body complete within bound).
    let judge: @Sendable (Int, [UInt8], Bool) -> CheckResult

    init(request: [UInt8], maxBody: Int, judge: @escaping @Sendable (Int, [UInt8], Bool) -> CheckResult) {
        self.request = request
        self.maxBody = maxBody
        self.judge = judge
    }

    /// Head size bound (status line and headers).
    static let maxHead = 64 * 1024

    var maxBuffered: Int { Int.max }

    mutating func opening() -> [UInt8]? { request }

    mutating func received(_ buffer: inout ByteBuffer) -> ConversationStep {
        let bytes = buffer.readableBytesView
        switch HTTPResponseParser.parse(bytes) {
        case .invalid(let why):
            return .finished(.failure(why))
        case .incompleteHead:
            return bytes.count > Self.maxHead ? .finished(.failure("response head larger than \(Self.maxHead) bytes")) : .needMore
        case .incompleteBody(let status, let bodySoFar):
            if bodySoFar > maxBody {
                return .finished(judge(status, [], false))
            }
            return .needMore
        case .complete(let status, let body):
            return .finished(judge(status, body.count > maxBody ? [] : body, body.count <= maxBody))
        }
    }

    mutating func closed(_ buffer: inout ByteBuffer) -> CheckResult {
        let bytes = buffer.readableBytesView
        switch HTTPResponseParser.parse(bytes, closed: true) {
        case .complete(let status, let body):
            return judge(status, body.count > maxBody ? [] : body, body.count <= maxBody)
        case .invalid(let why):
            return .failure(why)
        case .incompleteHead:
            return .failure(bytes.isEmpty ? "connection closed without a response" : "connection closed inside the response head")
        case .incompleteBody(_, let n):
            return .failure("connection closed after \(n) bytes of the body")
        }
    }
}

/// Incremental HTTP/1.x response framing (RFC 9112 §6).
enum HTTPResponseParser {
    enum Outcome: Equatable {
        case incompleteHead
        case incompleteBody(status: Int, bodyBytes: Int)
        case complete(status: Int, body: [UInt8])
        case invalid(String)
    }

    static func parse<B: RandomAccessCollection<UInt8>>(_ bytes: B, closed: Bool = false) -> Outcome where B.Index == Int {
        guard let headEnd = find([13, 10, 13, 10], in: bytes, from: bytes.startIndex) else { return .incompleteHead }
        // Status line: `HTTP/1.x NNN reason`, read byte by byte (no String per check).
        let start = bytes.startIndex
        let statusLineEnd = find([13, 10], in: bytes, from: start) ?? headEnd
        let prefix: [UInt8] = Array("HTTP/1.".utf8)
        var status = 0
        var valid = statusLineEnd - start >= 12
        if valid {
            for k in 0..<prefix.count where bytes[start + k] != prefix[k] { valid = false }
        }
        if valid, bytes[start + 8] == UInt8(ascii: " ") {
            for k in 9..<12 {
                let d = bytes[start + k]
                guard d >= 48, d <= 57 else { valid = false; break }
                status = status * 10 + Int(d - 48)
            }
            if statusLineEnd - start > 12, bytes[start + 12] != UInt8(ascii: " ") { valid = false }
        } else {
            valid = false
        }
        guard valid, (100...999).contains(status) else {
            let line = String(decoding: bytes[start..<statusLineEnd].prefix(60), as: UTF8.self)
            return .invalid(line.isEmpty ? "empty response" : "not an HTTP response: \(line)")
        }
        var contentLength: Int?
        var chunked = false
        var lineStart = statusLineEnd + 2
        while lineStart < headEnd {
            let lineEnd = find([13, 10], in: bytes, from: lineStart) ?? headEnd
            if let value = headerValue(bytes, lineStart..<lineEnd, named: "content-length") {
                guard let n = decimalValue(value) else {
                    let text = String(decoding: value, as: UTF8.self).trimmingCharacters(in: " \t")
                    return .invalid("bad Content-Length: \(text.prefix(40))")
                }
                contentLength = n
            } else if let value = headerValue(bytes, lineStart..<lineEnd, named: "transfer-encoding"),
                      String(decoding: value, as: UTF8.self).lowercased().contains("chunked") {
                chunked = true
            }
            lineStart = lineEnd + 2
        }
        let bodyStart = headEnd + 4
        let available = bytes.endIndex - bodyStart
        if status == 204 || status == 304 || (100...199).contains(status) {
            return .complete(status: status, body: [])
        }
        if chunked {
            return decodeChunked(bytes, from: bodyStart, status: status)
        }
        if let contentLength {
            if available >= contentLength {
                return .complete(status: status, body: Array(bytes[bodyStart..<(bodyStart + contentLength)]))
            }
            return .incompleteBody(status: status, bodyBytes: available)
        }
        return closed ? .complete(status: status, body: Array(bytes[bodyStart...])) : .incompleteBody(status: status, bodyBytes: available)
    }

    private static func decodeChunked<B: RandomAccessCollection<UInt8>>(_ bytes: B, from start: Int, status: Int) -> Outcome where B.Index == Int {
        var body: [UInt8] = []
        var i = start
        while true {
            guard let lineEnd = find([13, 10], in: bytes, from: i) else { return .incompleteBody(status: status, bodyBytes: body.count) }
            let sizeText = String(decoding: bytes[i..<lineEnd], as: UTF8.self).split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: " \t"), radix: 16), size >= 0 else {
                return .invalid("bad chunk size: \(sizeText.prefix(20))")
            }
            if size == 0 { return .complete(status: status, body: body) }
            let dataStart = lineEnd + 2
            guard bytes.endIndex - dataStart >= size + 2 else { return .incompleteBody(status: status, bodyBytes: body.count + max(0, bytes.endIndex - dataStart)) }
            body.append(contentsOf: bytes[dataStart..<(dataStart + size)])
            i = dataStart + size + 2
        }
    }

    /// A header value as a non-negative decimal number, ignoring surrounding blanks; nil when it is not one.
    static func decimalValue<S: Collection<UInt8>>(_ value: S) -> Int? {
        var n = 0
        var digits = 0
        var trailing = false
        for c in value {
            if c == 32 || c == 9 {
                if digits > 0 { trailing = true }
                continue
            }
            guard !trailing, c >= 48, c <= 57 else { return nil }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (r, o2) = m.addingReportingOverflow(Int(c - 48))
            guard !o1, !o2 else { return nil }
            n = r
            digits += 1
        }
        return digits > 0 ? n : nil
    }

    /// The value bytes of header line `range` when its name is `name` (ASCII case-insensitive).
    static func headerValue<B: RandomAccessCollection<UInt8>>(_ bytes: B, _ range: Range<Int>, named name: StaticString) -> B.SubSequence? where B.Index == Int {
        let n = name.utf8CodeUnitCount
        guard range.count > n, bytes[range.lowerBound + n] == UInt8(ascii: ":") else { return nil }
        let p = name.utf8Start
        for k in 0..<n {
            var c = bytes[range.lowerBound + k]
            if c >= 65, c <= 90 { c += 32 }
            if c != p[k] { return nil }
        }
        return bytes[(range.lowerBound + n + 1)..<range.upperBound]
    }

    static func find<B: RandomAccessCollection<UInt8>>(_ needle: [UInt8], in bytes: B, from: Int) -> Int? where B.Index == Int {
        guard bytes.endIndex - from >= needle.count else { return nil }
        var i = from
        while i <= bytes.endIndex - needle.count {
            if bytes[i] == needle[0] {
                var match = true
                for k in 1..<needle.count where bytes[i + k] != needle[k] { match = false; break }
                if match { return i }
            }
            i += 1
        }
        return nil
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
