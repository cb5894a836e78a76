/// DNS query building and response judging for DNS_CHECK, as pure values (no I/O; the DNS
/// fuzzer compiles this file alone). Message format: RFC 1035 §4.1.
struct DNSQuery: Sendable, Hashable {
    /// Query types DNS_CHECK's `type` accepts, keepalived's list, with their RFC 1035 §3.2.2 /
    /// RFC 3596 §2.1 codes.
    enum RecordType: String, Sendable, Hashable, CaseIterable {
        case a = "A"
        case ns = "NS"
        case cname = "CNAME"
        case soa = "SOA"
        case mx = "MX"
        case txt = "TXT"
        case aaaa = "AAAA"

        var code: UInt16 {
            switch self {
            case .a: 1
            case .ns: 2
            case .cname: 5
            case .soa: 6
            case .mx: 15
            case .txt: 16
            case .aaaa: 28
            }
        }
    }

    /// RFC 1035 §3.2.4: class IN.
    static let classIN: UInt16 = 1
    /// RFC 1035 §4.1.1: the header is six 16-bit fields.
    static let headerLength = 12
    /// RFC 1035 §4.1.1: RD (recursion desired), bit 8 of the flags word; keepalived sets it.
    static let recursionDesired: UInt16 = 0x0100
    /// RFC 1035 §4.1.1: QR, the top bit of the flags word: set in responses.
    static let responseFlag: UInt16 = 0x8000

    var id: UInt16
    /// Wire form of the name (RFC 1035 §3.1: length-prefixed labels, then a zero octet).
    var encodedName: [UInt8]
    var type: UInt16

    /// A query for `name` (`.` is the root; a trailing dot is optional). Labels must be 1–63
    /// octets, which the configuration resolver enforces.
    init(id: UInt16, name: String, type: UInt16) {
        self.id = id
        self.type = type
        var wire: [UInt8] = []
        if name != "." {
            for label in name.split(separator: ".") {
                let bytes = Array(label.utf8.prefix(63))
                wire.append(UInt8(bytes.count))
                wire += bytes
            }
        }
        wire.append(0)
        encodedName = wire
    }

    /// The query datagram: header with RD set and one question (RFC 1035 §4.1.1, §4.1.2).
    var encoded: [UInt8] {
        var m: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), UInt8(Self.recursionDesired >> 8), UInt8(Self.recursionDesired & 0xFF),
                          0, 1, 0, 0, 0, 0, 0, 0]
        m += encodedName
        m += [UInt8(type >> 8), UInt8(type & 0xFF), UInt8(Self.classIN >> 8), UInt8(Self.classIN & 0xFF)]
        return m
    }
}

/// What a datagram received by a DNS probe means.
enum DNSResponseVerdict: Sendable, Hashable {
    /// A response to this query with this RCODE (RFC 1035 §4.1.1; 0 is NOERROR).
    case response(rcode: UInt8)
    /// Not a response to this query (too short, another id, QR clear, another question): keep
    /// waiting, as keepalived does. The text says why.
    case ignored(String)
}

/// Judges datagrams against the query sent.
struct DNSResponseMatcher: Sendable, Hashable {
    var query: DNSQuery

    /// keepalived matches the id and QR and then decides on the RCODE; Vigil also requires the
    /// first question, when the response carries one, to be the query's (RFC 1035 §7.3: a
    /// resolver should check that a response matches its question). Names compare
    /// case-insensitively (RFC 4343 §3).
    func judge(_ m: [UInt8]) -> DNSResponseVerdict {
        guard m.count >= DNSQuery.headerLength else { return .ignored("short message (\(m.count) bytes)") }
        let id = UInt16(m[0]) << 8 | UInt16(m[1])
        guard id == query.id else { return .ignored("id \(id), not \(query.id)") }
        let flags = UInt16(m[2]) << 8 | UInt16(m[3])
        guard flags & DNSQuery.responseFlag != 0 else { return .ignored("a query, not a response") }
        let questions = UInt16(m[4]) << 8 | UInt16(m[5])
        if questions > 0 {
            let name = query.encodedName
            let end = DNSQuery.headerLength + name.count + 4
            guard m.count >= end else { return .ignored("question section truncated") }
            for (i, b) in name.enumerated() where Self.fold(m[DNSQuery.headerLength + i]) != Self.fold(b) {
                return .ignored("question names another domain")
            }
            let tail = DNSQuery.headerLength + name.count
            let type = UInt16(m[tail]) << 8 | UInt16(m[tail + 1])
            let klass = UInt16(m[tail + 2]) << 8 | UInt16(m[tail + 3])
            guard type == query.type, klass == DNSQuery.classIN else { return .ignored("question of type \(type) class \(klass)") }
        }
        return .response(rcode: UInt8(flags & 0x000F))
    }

    /// ASCII lower case; length octets are below "A" and stay as they are.
    private static func fold(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
}
