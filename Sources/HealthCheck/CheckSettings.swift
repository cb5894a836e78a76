import VigilSupport

/// Where and how a network checker connects: keepalived's `connect_ip`, `connect_port`,
/// `bindto`, `bind_port`, `bind_if`, `fwmark` and `connect_timeout`.
public struct ConnectionSettings: Sendable, Hashable, Codable {
    /// Address probed; the real server's address when the config has no `connect_ip`.
    public var address: IPAddress
    /// Port probed; the real server's port when the config has no `connect_port`.
    public var port: UInt16
    /// Local source address (`bindto`), if any.
    public var bindAddress: IPAddress?
    /// Local source port (`bind_port`); 0 lets the kernel choose.
    public var bindPort: UInt16
    /// Bound on the whole exchange (connect, send, read), not only on connect: `connect_timeout`.
    public var timeout: Duration
    /// Interface the socket is bound to (`bind_if`, `SO_BINDTODEVICE`), if any.
    public var interface: String?
    /// Firewall mark put on the socket's packets (`fwmark`, `SO_MARK`), if any.
    public var firewallMark: UInt32?

    public init(address: IPAddress, port: UInt16, bindAddress: IPAddress? = nil, bindPort: UInt16 = 0,
                timeout: Duration = .seconds(5), interface: String? = nil, firewallMark: UInt32? = nil) {
        self.address = address
        self.port = port
        self.bindAddress = bindAddress
        self.bindPort = bindPort
        self.timeout = timeout
        self.interface = interface
        self.firewallMark = firewallMark
    }

    public var target: SocketAddress { SocketAddress(address, port) }
}

/// Accepted HTTP status codes: keepalived's `status_code` list of codes and ranges.
public struct StatusCodeSet: Sendable, Hashable, Codable {
    public var ranges: [ClosedRange<Int>]

    public init(_ ranges: [ClosedRange<Int>]) { self.ranges = ranges }

    /// keepalived's default when a `url` block names no `status_code`: 200–299.
    public static let success = StatusCodeSet([200...299])

    public func contains(_ code: Int) -> Bool { ranges.contains { $0.contains(code) } }
}

/// HTTP_GET / SSL_GET `regex`: a PCRE2 pattern over the body (keepalived's check_http.c).
public struct BodyRegex: Sendable, Hashable, Codable {
    public var pattern: String
    /// keepalived's `regex_options` words (`caseless`, `multiline`, ...).
    public var options: [String]
    /// `regex_no_match`: the check passes when the body does not match.
    public var noMatch: Bool
    /// A match must start at or after `minOffset` and at or before `maxOffset` (body bytes).
    public var minOffset: Int
    public var maxOffset: Int?

    public init(pattern: String, options: [String] = [], noMatch: Bool = false, minOffset: Int = 0, maxOffset: Int? = nil) {
        self.pattern = pattern
        self.options = options
        self.noMatch = noMatch
        self.minOffset = minOffset
        self.maxOffset = maxOffset
    }
}

/// One `url` block of HTTP_GET / SSL_GET. Every block must pass for the check to pass.
public struct URLCheck: Sendable, Hashable, Codable {
    /// Request target, e.g. `/health`.
    public var path: String
    public var statusCodes: StatusCodeSet
    /// Expected lowercase hex MD5 of the body (`digest`), if any.
    public var digest: String?
    /// `virtualhost` for the Host header of this url; falls back to the checker's.
    public var virtualHost: String?
    /// `regex` and its settings, if any.
    public var regex: BodyRegex?

    public init(path: String, statusCodes: StatusCodeSet = .success, digest: String? = nil, virtualHost: String? = nil,
                regex: BodyRegex? = nil) {
        self.path = path
        self.statusCodes = statusCodes
        self.digest = digest?.lowercased()
        self.virtualHost = virtualHost
        self.regex = regex
    }
}

/// HTTP version spoken by HTTP_GET (`http_protocol`).
public enum HTTPVersion: String, Sendable, Hashable, Codable {
    case http10 = "1.0"
    case http11 = "1.1"
}

/// Certificate verification for SSL_GET. keepalived never verifies (issue #804); Vigil can.
public struct TLSVerification: Sendable, Hashable, Codable {
    /// PEM file of trusted CA certificates.
    public var caFile: String
    /// Name the certificate must carry; the SNI / virtual host name when nil.
    public var expectedName: String?

    public init(caFile: String, expectedName: String? = nil) {
        self.caFile = caFile
        self.expectedName = expectedName
    }
}

/// TLS settings of SSL_GET.
public struct TLSSettings: Sendable, Hashable, Codable {
    /// Send SNI (`enable_sni`), using the virtual host name.
    public var enableSNI: Bool
    /// nil: no verification, as keepalived. Set: verify chain and name (Vigil extension).
    public var verification: TLSVerification?

    public init(enableSNI: Bool = false, verification: TLSVerification? = nil) {
        self.enableSNI = enableSNI
        self.verification = verification
    }
}

/// HTTP_GET and SSL_GET settings.
public struct HTTPCheckSettings: Sendable, Hashable, Codable {
    public var connection: ConnectionSettings
    public var urls: [URLCheck]
    /// Host header when a url has none (`virtualhost` of the checker or the virtual server).
    public var virtualHost: String?
    public var version: HTTPVersion
    /// Set for SSL_GET.
    public var tls: TLSSettings?
    /// Largest body read; a longer body fails a `digest` check. Vigil bound (keepalived has none).
    public var maxBodyBytes: Int

    public init(connection: ConnectionSettings, urls: [URLCheck], virtualHost: String? = nil,
                version: HTTPVersion = .http10, tls: TLSSettings? = nil, maxBodyBytes: Int = 1 << 20) {
        self.connection = connection
        self.urls = urls
        self.virtualHost = virtualHost
        self.version = version
        self.tls = tls
        self.maxBodyBytes = maxBodyBytes
    }
}

/// SMTP_CHECK settings.
public struct SMTPCheckSettings: Sendable, Hashable, Codable {
    public var connection: ConnectionSettings
    /// Name sent with HELO (`helo_name`); keepalived's default is the host name.
    public var heloName: String

    public init(connection: ConnectionSettings, heloName: String) {
        self.connection = connection
        self.heloName = heloName
    }
}

/// MISC_CHECK settings.
public struct MiscCheckSettings: Sendable, Hashable, Codable {
    /// Program and its arguments (`misc_path`, split into words; never passed to a shell).
    public var arguments: [String]
    /// `misc_timeout`: SIGTERM after it, SIGKILL 2 s later.
    public var timeout: Duration
    /// `misc_dynamic`: exit codes 2–255 set the weight to code − 2.
    public var dynamic: Bool
    /// User (and optional group) the program runs as; nil runs as Vigil's own user.
    public var user: String?
    public var group: String?

    public init(arguments: [String], timeout: Duration = .seconds(5), dynamic: Bool = false,
                user: String? = nil, group: String? = nil) {
        self.arguments = arguments
        self.timeout = timeout
        self.dynamic = dynamic
        self.user = user
        self.group = group
    }
}

/// UDP_CHECK settings.
public struct UDPCheckSettings: Sendable, Hashable, Codable {
    /// Where the datagram goes; `timeout` is how long a reply (or a port unreachable) is awaited.
    public var connection: ConnectionSettings
    /// The datagram sent (`payload`); keepalived's 32-byte filler when the config has none.
    public var payload: [UInt8]
    /// `require_reply`: a reply must arrive within the timeout.
    public var requireReply: Bool
    /// The reply's expected octets (`require_reply HEX`), if any.
    public var reply: [UInt8]?
    /// Per reply octet, the wildcard bits (`x` nibbles).
    public var replyWildcard: [UInt8]
    /// `min_reply_length` / `max_reply_length`, applied with a reply pattern as keepalived does.
    public var minimumReplyLength: Int
    public var maximumReplyLength: Int

    /// keepalived's payload when none is configured: "keepalived check - " repeated over
    /// UDP_BUFSIZE (32) bytes. Vigil sends its own words, same length.
    public static let defaultPayload: [UInt8] = Array(String(repeating: "vigil check - ", count: 3).utf8.prefix(32))

    public init(connection: ConnectionSettings, payload: [UInt8]? = nil, requireReply: Bool = false, reply: [UInt8]? = nil,
                replyWildcard: [UInt8]? = nil, minimumReplyLength: Int = 0, maximumReplyLength: Int = 255) {
        self.connection = connection
        self.payload = payload ?? Self.defaultPayload
        self.requireReply = requireReply
        self.reply = reply
        self.replyWildcard = replyWildcard ?? [UInt8](repeating: 0, count: reply?.count ?? 0)
        self.minimumReplyLength = minimumReplyLength
        self.maximumReplyLength = maximumReplyLength
    }
}

/// DNS_CHECK settings.
public struct DNSCheckSettings: Sendable, Hashable, Codable {
    /// The server (port 53 unless configured); `timeout` bounds each query.
    public var connection: ConnectionSettings
    /// Query type (`type`): A, NS, CNAME, SOA, MX, TXT or AAAA.
    public var type: String
    /// Query name (`name`); `.` is the root.
    public var name: String

    public init(connection: ConnectionSettings, type: String = "SOA", name: String = ".") {
        self.connection = connection
        self.type = type
        self.name = name
    }
}

/// FILE_CHECK settings: the real server's weight and state from a `track_file`'s number.
public struct FileCheckSettings: Sendable, Hashable, Codable {
    /// The tracked file (`track_file`'s `file`).
    public var path: String
    /// The multiplier of the file's value (the checker's `weight`, else the track_file's); 0:
    /// a non-zero value is a failure.
    public var weight: Int
    /// `reverse`: the product is negated (with weight 0: a zero value is the failure).
    public var reverse: Bool
    /// The real server's configured weight, to which the product is added.
    public var baseWeight: UInt32

    public init(path: String, weight: Int = 1, reverse: Bool = false, baseWeight: UInt32 = 1) {
        self.path = path
        self.weight = weight
        self.reverse = reverse
        self.baseWeight = baseWeight
    }
}

/// Which probe a checker runs.
public enum CheckKind: Sendable, Hashable, Codable {
    case tcp(ConnectionSettings)
    case http(HTTPCheckSettings)
    case smtp(SMTPCheckSettings)
    case misc(MiscCheckSettings)
    case udp(UDPCheckSettings)
    case dns(DNSCheckSettings)
    /// PING_CHECK: the connection's port is unused.
    case ping(ConnectionSettings)
    case file(FileCheckSettings)

    /// keepalived's block name: TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK, MISC_CHECK, UDP_CHECK,
    /// DNS_CHECK, PING_CHECK.
    public var name: String {
        switch self {
        case .tcp: "TCP_CHECK"
        case .http(let h): h.tls == nil ? "HTTP_GET" : "SSL_GET"
        case .smtp: "SMTP_CHECK"
        case .misc: "MISC_CHECK"
        case .udp: "UDP_CHECK"
        case .dns: "DNS_CHECK"
        case .ping: "PING_CHECK"
        case .file: "FILE_CHECK"
        }
    }

    /// Where a network check goes; nil for MISC_CHECK.
    public var connection: ConnectionSettings? {
        switch self {
        case .tcp(let c), .ping(let c): c
        case .http(let h): h.connection
        case .smtp(let s): s.connection
        case .udp(let u): u.connection
        case .dns(let d): d.connection
        case .misc, .file: nil
        }
    }
}

/// When a checker runs and how many failures bring it down.
public struct CheckTiming: Sendable, Hashable, Codable {
    /// Interval between rounds (`delay_loop`).
    public var delayLoop: Duration
    /// Extra attempts before declaring failure (`retry`): down after retry+1 consecutive failures.
    public var retry: Int
    /// Pause before each retry (`delay_before_retry`).
    public var delayBeforeRetry: Duration
    /// First check after a random delay in [0, warmup]; keepalived defaults it to delay_loop.
    public var warmup: Duration?
    /// `alpha`: the checker starts down and must pass before the server is used.
    public var alpha: Bool

    public init(delayLoop: Duration = .seconds(60), retry: Int = 1, delayBeforeRetry: Duration = .seconds(1),
                warmup: Duration? = nil, alpha: Bool = false) {
        self.delayLoop = delayLoop
        self.retry = retry
        self.delayBeforeRetry = delayBeforeRetry
        self.warmup = warmup
        self.alpha = alpha
    }
}

/// A complete probe: what to run and when. Identical specs are run once however many
/// virtual servers share them (keepalived issues #2358, #2111).
public struct CheckSpec: Sendable, Hashable, Codable {
    public var kind: CheckKind
    public var timing: CheckTiming

    public init(kind: CheckKind, timing: CheckTiming) {
        self.kind = kind
        self.timing = timing
    }
}

/// What one probe found.
public enum CheckResult: Sendable, Hashable {
    /// Passed; `weight` is set by MISC_CHECK with misc_dynamic (exit code − 2).
    case success(weight: UInt32?)
    /// Failed, with the reason shown in logs.
    case failure(String)

    public var isSuccess: Bool { if case .success = self { true } else { false } }
}

/// Runs one probe of one kind against one target.
public protocol HealthChecker: Sendable {
    /// Runs the probe once. Never throws: every problem is a `.failure` with its reason.
    func check() async -> CheckResult
}
