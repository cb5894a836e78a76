@testable import HealthCheck
import KeepalivedConfig
import Testing

@Suite("keepalived hex notation")
struct HexPatternTests {
    @Test("octets of one or two digits, separated by spaces or not")
    func octets() throws {
        #expect(try HexPattern.parse("0a0b", allowWildcards: false).get().bytes == [0x0A, 0x0B])
        #expect(try HexPattern.parse("0a 0b", allowWildcards: false).get().bytes == [0x0A, 0x0B])
        #expect(try HexPattern.parse("a b\tFF", allowWildcards: false).get().bytes == [0x0A, 0x0B, 0xFF])
        #expect(try HexPattern.parse("123", allowWildcards: false).get().bytes == [0x12, 0x03])
    }

    @Test("x is a wildcard nibble in reply patterns only")
    func wildcards() throws {
        let p = try HexPattern.parse("x5 3X", allowWildcards: true).get()
        #expect(p.bytes == [0x05, 0x30])
        #expect(p.wildcard == [0xF0, 0x0F])
        #expect(HexPattern.parse("x5", allowWildcards: false) == .failure(.invalidCharacter("x", offset: 0)))
    }

    @Test("bad characters and empty text are refused with where")
    func refused() {
        #expect(HexPattern.parse("0g", allowWildcards: false) == .failure(.invalidCharacter("g", offset: 1)))
        #expect(HexPattern.parse("  ", allowWildcards: false) == .failure(.empty))
    }
}

@Suite("UDP_CHECK reply matching")
struct UDPReplyMatcherTests {
    let matcher = UDPReplyMatcher(expected: [0x01, 0x02, 0x30], wildcard: [0, 0, 0x0F], minimumLength: 2, maximumLength: 4)

    @Test("matching octets within the length bounds pass; wildcards match anything")
    func pass() {
        #expect(matcher.mismatch([0x01, 0x02, 0x3F]) == nil)
        #expect(matcher.mismatch([0x01, 0x02, 0x35, 0x99]) == nil)
        // keepalived compares only as many octets as both have.
        #expect(matcher.mismatch([0x01, 0x02]) == nil)
    }

    @Test("a different octet, a short or a long reply fail")
    func fail() {
        #expect(matcher.mismatch([0x01, 0x03, 0x30])?.contains("byte 1") == true)
        #expect(matcher.mismatch([0x01, 0x02, 0x40])?.contains("byte 2") == true)
        #expect(matcher.mismatch([0x01])?.contains("shorter") == true)
        #expect(matcher.mismatch([0x01, 0x02, 0x30, 0, 0])?.contains("longer") == true)
    }
}

@Suite("DNS_CHECK messages")
struct DNSMessageTests {
    @Test("the query carries id, RD, one question of the type and class IN")
    func query() {
        let q = DNSQuery(id: 0x1234, name: "Example.com.", type: 1)
        #expect(q.encoded == [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                              7] + Array("Example".utf8) + [3] + Array("com".utf8) + [0, 0, 1, 0, 1])
        #expect(DNSQuery(id: 1, name: ".", type: 6).encodedName == [0])
        #expect(DNSQuery(id: 1, name: "a.b", type: 6).encodedName == [1, 0x61, 1, 0x62, 0])
    }

    static func response(to q: DNSQuery, id: UInt16? = nil, flags: UInt16 = 0x8180, questions: UInt16 = 1,
                         name: [UInt8]? = nil, type: UInt16? = nil) -> [UInt8] {
        let i = id ?? q.id, t = type ?? q.type
        var m: [UInt8] = [UInt8(i >> 8), UInt8(i & 0xFF), UInt8(flags >> 8), UInt8(flags & 0xFF),
                          UInt8(questions >> 8), UInt8(questions & 0xFF), 0, 0, 0, 0, 0, 0]
        if questions > 0 { m += (name ?? q.encodedName) + [UInt8(t >> 8), UInt8(t & 0xFF), 0, 1] }
        return m
    }

    @Test("a response to the query gives its RCODE; names compare case-insensitively")
    func response() {
        let q = DNSQuery(id: 7, name: "example.com", type: 28)
        let m = DNSResponseMatcher(query: q)
        #expect(m.judge(Self.response(to: q)) == .response(rcode: 0))
        #expect(m.judge(Self.response(to: q, flags: 0x8183)) == .response(rcode: 3))
        #expect(m.judge(Self.response(to: DNSQuery(id: 7, name: "EXAMPLE.com", type: 28))) == .response(rcode: 0))
        // No question section (some servers' error replies): judged on the RCODE, as keepalived.
        #expect(m.judge(Self.response(to: q, flags: 0x8182, questions: 0)) == .response(rcode: 2))
    }

    @Test("another id, a query, another question or a short message are ignored")
    func ignored() {
        let q = DNSQuery(id: 7, name: "example.com", type: 28)
        let m = DNSResponseMatcher(query: q)
        for bad in [Self.response(to: q, id: 8), Self.response(to: q, flags: 0x0100),
                    Self.response(to: q, name: DNSQuery(id: 7, name: "example.org", type: 28).encodedName),
                    Self.response(to: q, type: 1), Array(Self.response(to: q).prefix(11)), Array(Self.response(to: q).prefix(20))] {
            guard case .ignored = m.judge(bad) else { Issue.record("accepted \(bad)"); continue }
        }
    }
}

@Suite("PING_CHECK echo messages")
struct ICMPEchoTests {
    /// `echo` as a raw IPv4 socket delivers it: a 20-byte header, then the message.
    static func ipv4(_ icmp: [UInt8], protocol proto: UInt8 = 1) -> [UInt8] {
        [0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1] + icmp
    }

    /// The reply a host sends to `request`: type 0, checksum adjusted.
    static func reply(to request: [UInt8], type: UInt8 = 0) -> [UInt8] {
        var r = request
        r[0] = type
        r[2] = 0
        r[3] = 0
        let sum = ~ICMPEcho.onesComplementSum(r[...])
        r[2] = UInt8(sum >> 8)
        r[3] = UInt8(sum & 0xFF)
        return r
    }

    @Test("the IPv4 request checksums to zero and carries id and sequence")
    func request() {
        let r = ICMPEcho(version: .v4, identifier: 0xBEEF, sequence: 9, data: [1, 2, 3]).request
        #expect(r[0] == 8)
        #expect(Array(r[4...7]) == [0xBE, 0xEF, 0, 9])
        #expect(ICMPEcho.onesComplementSum(r[...]) == 0xFFFF)
        #expect(ICMPEcho(version: .v6, identifier: 1, sequence: 2, data: []).request[0] == 128)
    }

    @Test("the reply with our id and sequence matches, behind an IPv4 header or not")
    func matches() {
        let req = ICMPEcho(version: .v4, identifier: 0xBEEF, sequence: 9, data: Array(repeating: 7, count: 56)).request
        let raw = ICMPEchoReplyMatcher(version: .v4, identifier: 0xBEEF, sequence: 9, includesIPv4Header: true)
        #expect(raw.judge(Self.ipv4(Self.reply(to: req))) == .reply)
        let dgram = ICMPEchoReplyMatcher(version: .v4, identifier: nil, sequence: 9, includesIPv4Header: false)
        #expect(dgram.judge(Self.reply(to: req)) == .reply)
        var v6 = ICMPEcho(version: .v6, identifier: 5, sequence: 6, data: []).request
        v6[0] = 129
        #expect(ICMPEchoReplyMatcher(version: .v6, identifier: 5, sequence: 6, includesIPv4Header: false).judge(v6) == .reply)
    }

    @Test("our own request, another id or sequence, a bad checksum, other ICMP and garbage are ignored")
    func ignored() {
        let req = ICMPEcho(version: .v4, identifier: 0xBEEF, sequence: 9, data: [1, 2, 3, 4]).request
        let m = ICMPEchoReplyMatcher(version: .v4, identifier: 0xBEEF, sequence: 9, includesIPv4Header: true)
        var badSum = Self.reply(to: req)
        badSum[9] ^= 0xFF
        let cases: [[UInt8]] = [
            Self.ipv4(req), Self.ipv4(Self.reply(to: ICMPEcho(version: .v4, identifier: 0xBEEE, sequence: 9, data: []).request)),
            Self.ipv4(Self.reply(to: ICMPEcho(version: .v4, identifier: 0xBEEF, sequence: 10, data: []).request)),
            Self.ipv4(badSum), Self.ipv4(Self.reply(to: req, type: 3)), Self.ipv4(Self.reply(to: req), protocol: 17),
            [], [0x45, 0, 0], Self.ipv4([0, 0, 0]), [0x4F] + Array(repeating: 0, count: 30),
        ]
        for c in cases {
            guard case .ignored = m.judge(c) else { Issue.record("accepted \(c)"); continue }
        }
    }
}
