/// ICMP and ICMPv6 echo messages, built and judged as pure values (no I/O; the ICMP fuzzer
/// compiles this file alone).
///
/// Layout, RFC 792 "Echo or Echo Reply Message" and RFC 4443 §4.1/§4.2: type (1), code (1),
/// checksum (2), identifier (2), sequence number (2), data.
struct ICMPEcho: Sendable, Hashable {
    /// Which ICMP: IPv4's (RFC 792) or IPv6's (RFC 4443).
    enum Version: Sendable, Hashable {
        case v4
        case v6
    }

    /// RFC 792: Echo = 8 (C `ICMP_ECHO`).
    static let echoRequestV4: UInt8 = 8
    /// RFC 792: Echo Reply = 0 (C `ICMP_ECHOREPLY`).
    static let echoReplyV4: UInt8 = 0
    /// RFC 4443 §4.1: Echo Request = 128 (C `ICMP6_ECHO_REQUEST`).
    static let echoRequestV6: UInt8 = 128
    /// RFC 4443 §4.2: Echo Reply = 129 (C `ICMP6_ECHO_REPLY`).
    static let echoReplyV6: UInt8 = 129
    /// RFC 791 §3.1: protocol number of ICMP in the IPv4 header (C `IPPROTO_ICMP`).
    static let ipv4ProtocolICMP: UInt8 = 1
    /// Type, code, checksum, identifier, sequence.
    static let headerLength = 8

    var version: Version
    var identifier: UInt16
    var sequence: UInt16
    var data: [UInt8]

    /// The echo request, checksum filled in for ICMPv4 (RFC 792, the RFC 1071 sum). For ICMPv6
    /// the kernel computes it over the pseudo-header (RFC 4443 §2.3), so it stays 0.
    var request: [UInt8] {
        var m: [UInt8] = [version == .v4 ? Self.echoRequestV4 : Self.echoRequestV6, 0, 0, 0,
                          UInt8(identifier >> 8), UInt8(identifier & 0xFF), UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
        m += data
        if version == .v4 {
            let sum = ~Self.onesComplementSum(m[...])
            m[2] = UInt8(sum >> 8)
            m[3] = UInt8(sum & 0xFF)
        }
        return m
    }

    /// RFC 1071's 16-bit one's complement sum (not yet complemented).
    static func onesComplementSum(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var sum: UInt32 = 0
        var i = bytes.startIndex
        while i + 1 < bytes.endIndex {
            sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.endIndex { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return UInt16(sum)
    }
}

/// What a received datagram means for one echo probe.
enum ICMPEchoVerdict: Sendable, Hashable {
    /// The reply to this probe's request.
    case reply
    /// Not this probe's reply (another probe's, our own request looped back, an unrelated ICMP
    /// message, garbage); keep waiting. The text says why, for tests and debugging.
    case ignored(String)
}

/// Judges datagrams received on an echo probe's socket against the request it sent.
struct ICMPEchoReplyMatcher: Sendable, Hashable {
    var version: ICMPEcho.Version
    /// The identifier to expect; nil when the kernel assigns and matches it (a datagram
    /// `IPPROTO_ICMP` socket rewrites the identifier and delivers only its own replies).
    var identifier: UInt16?
    var sequence: UInt16
    /// A raw IPv4 socket delivers the IP header before the ICMP message; ICMPv6 and datagram
    /// ICMP sockets do not.
    var includesIPv4Header: Bool

    func judge(_ datagram: [UInt8]) -> ICMPEchoVerdict {
        var icmp = datagram[...]
        if includesIPv4Header {
            // RFC 791 §3.1: version in the high nibble, header length in 32-bit words in the low one.
            guard let first = datagram.first else { return .ignored("empty datagram") }
            guard first >> 4 == 4 else { return .ignored("not an IPv4 packet") }
            let headerLength = Int(first & 0x0F) * 4
            guard headerLength >= 20, datagram.count >= headerLength else { return .ignored("truncated IPv4 header") }
            guard datagram[9] == ICMPEcho.ipv4ProtocolICMP else { return .ignored("not ICMP") }
            icmp = datagram[headerLength...]
        }
        guard icmp.count >= ICMPEcho.headerLength else { return .ignored("short ICMP message (\(icmp.count) bytes)") }
        let base = icmp.startIndex
        let type = icmp[base]
        let expected = version == .v4 ? ICMPEcho.echoReplyV4 : ICMPEcho.echoReplyV6
        guard type == expected else { return .ignored("ICMP type \(type), not an echo reply") }
        if version == .v4, ICMPEcho.onesComplementSum(icmp) != 0xFFFF { return .ignored("bad ICMP checksum") }
        let id = UInt16(icmp[base + 4]) << 8 | UInt16(icmp[base + 5])
        let seq = UInt16(icmp[base + 6]) << 8 | UInt16(icmp[base + 7])
        if let identifier, id != identifier { return .ignored("identifier \(id), not \(identifier)") }
        guard seq == sequence else { return .ignored("sequence \(seq), not \(sequence)") }
        return .reply
    }
}
