#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Crypto
import VigilSupport

/// IP Authentication Header for VRRPv2 `auth_type AH`, as keepalived implements it.
///
/// RFC 2402 AH with HMAC-MD5-96 (RFC 2403) keyed with `auth_pass` (8 octets, zero padded), no
/// security association: the SPI is the sender's IPv4 address and the sequence number is
/// keepalived's per-instance counter (see ``IPsecAHSequence``). The ICV covers the IPv4 header with
/// the mutable fields TOS, flags/fragment offset and checksum zeroed (RFC 2402 section 3.3.3.1.1.1),
/// and also TTL when sending unicast (keepalived zeroes it then; multicast keeps 255), the AH header
/// with a zero ICV, and the VRRP message. IPv4 only: RFC 3768 section 5.3.6.3.
public enum IPsecAH {
    /// IP protocol number 51, Authentication Header (RFC 2402 section 2).
    public static let ipProtocol: UInt8 = 51
    /// Length of the AH header with a 96-bit ICV: 12 fixed octets + 12 ICV octets (RFC 2402 section 2).
    public static let headerLength = 24
    /// The Payload Length field: AH length in 32-bit words minus 2 (RFC 2402 section 2.2).
    public static let payloadLengthField: UInt8 = 4
    /// HMAC-MD5 truncated to 96 bits (RFC 2403 section 2).
    public static let icvLength = 12
    /// Offset of the ICV inside the AH header (RFC 2402 section 2).
    static let icvOffset = 12
    /// Octets of the Authentication Data keepalived keys the HMAC with (`auth_pass`, zero padded).
    public static let keyLength = 8
    /// IPv4 TOS "internet network control" keepalived sends adverts with.
    static let tos: UInt8 = 0xC0

    /// The HMAC key for an `auth_pass`: its first 8 octets, zero padded.
    public static func key(_ authPass: String) -> [UInt8] {
        let p = Array(authPass.utf8.prefix(keyLength))
        return p + [UInt8](repeating: 0, count: keyLength - p.count)
    }

    /// A whole IPv4 datagram (header, AH, VRRP message) ready for an `IP_HDRINCL` socket.
    ///
    /// The IP header checksum is filled in here too (the kernel recomputes it on send).
    public static func seal(
        _ vrrp: [UInt8], source: IPAddress, destination: IPAddress, identification: UInt16,
        sequence: UInt32, key: [UInt8], unicast: Bool
    ) -> [UInt8] {
        let total = 20 + headerLength + vrrp.count
        var ip: [UInt8] = [
            0x45, tos, UInt8(total >> 8), UInt8(total & 0xFF),
            UInt8(identification >> 8), UInt8(identification & 0xFF), 0, 0,
            VRRPConstants.ttl, ipProtocol, 0, 0,
        ]
        ip += source.bytes + destination.bytes
        var ah: [UInt8] = [VRRPConstants.ipProtocol, payloadLengthField, 0, 0] + source.bytes
        ah += [UInt8(sequence >> 24), UInt8(sequence >> 16 & 0xFF), UInt8(sequence >> 8 & 0xFF), UInt8(sequence & 0xFF)]
        ah += [UInt8](repeating: 0, count: icvLength)
        let icv = self.icv(ip + ah + vrrp, headerLength: 20, key: key, unicast: unicast)
        ah.replaceSubrange(icvOffset..<icvOffset + icvLength, with: icv)
        let sum = ipv4HeaderChecksum(ip)
        ip[10] = UInt8(sum >> 8)
        ip[11] = UInt8(sum & 0xFF)
        return ip + ah + vrrp
    }

    /// What a verified AH datagram carried.
    public struct Opened: Sendable, Hashable {
        public var spi: UInt32
        public var sequence: UInt32
        /// The VRRP message after the AH header.
        public var vrrp: [UInt8]
    }

    /// Checks a received datagram's structure, ICV and SPI (keepalived's order: ICV first, then SPI).
    ///
    /// The sequence number is checked by the caller against the instance's ``IPsecAHSequence``.
    public static func open(_ datagram: [UInt8], key: [UInt8], unicast: Bool) throws(VRRPPacketError) -> Opened {
        guard let h = IPv4HeaderInfo(datagram), h.protocolNumber == ipProtocol else {
            throw VRRPPacketError(.badLength, "not an IPv4 AH datagram")
        }
        let ahStart = h.payloadOffset
        guard h.totalLength >= ahStart + headerLength else {
            throw VRRPPacketError(.badLength, "\(h.totalLength) bytes is too short for an IPv4 + AH header")
        }
        let ah = Array(datagram[ahStart..<ahStart + headerLength])
        guard ah[0] == VRRPConstants.ipProtocol else {
            throw VRRPPacketError(.authTypeMismatch, "AH next header \(ah[0]), expected 112 (VRRP)")
        }
        guard ah[1] == payloadLengthField else {
            throw VRRPPacketError(.authTypeMismatch, "AH length \(ah[1]), expected 4 (HMAC-MD5-96)")
        }
        let packet = Array(datagram[0..<h.totalLength])
        let expected = icv(packet, headerLength: ahStart, key: key, unicast: unicast)
        var difference: UInt8 = 0
        for i in 0..<icvLength { difference |= expected[i] ^ ah[icvOffset + i] }
        guard difference == 0 else {
            throw VRRPPacketError(.badICV, "IPsec AH HMAC-MD5-96 does not verify (wrong auth_pass or altered packet) from \(h.source)")
        }
        let spi = be32(ah, 4)
        guard Array(ah[4..<8]) == h.source.bytes else {
            throw VRRPPacketError(.badSPI, "AH SPI 0x\(String(spi, radix: 16)) is not the sender address \(h.source)")
        }
        return Opened(spi: spi, sequence: be32(ah, 8), vrrp: Array(packet[(ahStart + headerLength)...]))
    }

    /// HMAC-MD5-96 over `packet` (IPv4 header of `headerLength` octets, AH, VRRP) with mutable fields zeroed.
    static func icv(_ packet: [UInt8], headerLength: Int, key: [UInt8], unicast: Bool) -> [UInt8] {
        var p = packet
        p[1] = 0  // TOS
        p[6] = 0  // flags and fragment offset
        p[7] = 0
        p[10] = 0  // header checksum
        p[11] = 0
        if unicast { p[8] = 0 }  // TTL: keepalived zeroes it only for unicast peers
        for i in 0..<icvLength { p[headerLength + icvOffset + i] = 0 }
        return Array(HMAC<Insecure.MD5>.authenticationCode(for: p, using: SymmetricKey(data: key)).prefix(icvLength))
    }

    private static func be32(_ b: [UInt8], _ o: Int) -> UInt32 {
        UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3])
    }
}

/// keepalived's AH sequence counter: one per instance, shared by sending and receiving.
///
/// A received advertisement must carry a sequence number above the counter, which then takes that
/// value; a master sends counter + 1. Sharing the counter means a backup that takes over continues
/// numbering above what the old master sent, so the other nodes accept it without any reset. The
/// counter stops at 0xFFFFFFFE (keepalived's "cycled" limit, 136 years at one advert a second).
public struct IPsecAHSequence: Sendable, Hashable {
    public private(set) var value: UInt32 = 0

    public init(value: UInt32 = 0) { self.value = value }

    /// The sequence number for the next advertisement sent.
    public mutating func next() -> UInt32 {
        if value < 0xFFFF_FFFE { value += 1 }
        return value
    }

    /// Accepts `sequence` when it is newer than anything seen or sent; otherwise the packet is a replay.
    public mutating func accept(_ sequence: UInt32) -> Bool {
        guard sequence > value else { return false }
        value = sequence
        return true
    }
}

/// RFC 791 header checksum over `header` (with its checksum field zero).
func ipv4HeaderChecksum(_ header: [UInt8]) -> UInt16 {
    var sum: UInt32 = 0
    var i = 0
    while i + 1 < header.count {
        sum &+= UInt32(header[i]) << 8 | UInt32(header[i + 1])
        i += 2
    }
    while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
    return ~UInt16(truncatingIfNeeded: sum)
}
