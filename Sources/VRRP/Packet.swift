import VigilSupport

/// VRRP protocol version carried in the high nibble of the first octet.
public enum VRRPVersion: UInt8, Sendable, Hashable, Codable, CustomStringConvertible {
    /// RFC 3768: IPv4 only, advertisement interval in whole seconds, optional authentication.
    case v2 = 2
    /// RFC 5798: IPv4 and IPv6, 12-bit centisecond interval, checksum over a pseudo-header.
    case v3 = 3

    public var description: String { "VRRPv\(rawValue)" }
}

/// Authentication carried by a VRRPv2 advertisement (RFC 3768 section 5.3.6).
public enum VRRPAuthentication: Sendable, Hashable, Codable {
    /// Auth type 0: no authentication.
    case none
    /// Auth type 1 (`auth_type PASS`): up to 8 octets of clear text, zero padded.
    case password([UInt8])
    /// Auth type 2 (`auth_type AH`): an IPsec Authentication Header keyed with these 8 octets
    /// (``IPsecAH``) precedes the message; the VRRP auth data is zero. Decoded packets carry an empty key.
    case authenticationHeader([UInt8])

    /// The wire value of the Auth Type field.
    public var typeCode: UInt8 {
        switch self {
        case .none: 0
        case .password: 1
        case .authenticationHeader: 2
        }
    }

    /// The 8 octets of Authentication Data (RFC 3768 section 5.3.10).
    var data: [UInt8] {
        if case .password(let p) = self {
            return Array(p.prefix(8)) + [UInt8](repeating: 0, count: 8 - min(p.count, 8))
        }
        return [UInt8](repeating: 0, count: 8)
    }

    /// A PASS authentication from keepalived's `auth_pass` text (truncated to 8 octets as keepalived does).
    public static func password(_ text: String) -> VRRPAuthentication {
        .password(Array(text.utf8.prefix(8)))
    }

    /// AH authentication keyed with keepalived's `auth_pass` text (first 8 octets, zero padded).
    public static func authenticationHeader(_ text: String) -> VRRPAuthentication {
        .authenticationHeader(IPsecAH.key(text))
    }

    /// The HMAC key when this is AH authentication.
    public var authenticationHeaderKey: [UInt8]? {
        if case .authenticationHeader(let k) = self { return k }
        return nil
    }
}

/// VRRP wire constants, each from the RFC that defines it.
public enum VRRPConstants {
    /// IP protocol number 112 (RFC 5798 section 5.2.4).
    public static let ipProtocol: UInt8 = 112
    /// Required IP TTL / IPv6 hop limit (RFC 5798 sections 5.1.1.3 and 5.1.2.3).
    public static let ttl: UInt8 = 255
    /// IPv4 multicast group 224.0.0.18 (RFC 5798 section 5.1.1.2).
    public static let multicastV4 = IPAddress("224.0.0.18")!
    /// IPv6 multicast group ff02::12 (RFC 5798 section 5.1.2.2).
    public static let multicastV6 = IPAddress("ff02::12")!
    /// Type 1 = ADVERTISEMENT (RFC 5798 section 5.2.2).
    public static let typeAdvertisement: UInt8 = 1
    /// Priority of the address owner (RFC 5798 section 5.2.4).
    public static let ownerPriority: UInt8 = 255
    /// Priority 0: the master is stopping (RFC 5798 section 5.2.4).
    public static let stopPriority: UInt8 = 0
    /// Length of the fixed header before the address list (RFC 5798 section 5.1).
    public static let headerLength = 8
    /// Length of the v2 Authentication Data field (RFC 3768 section 5.3.10).
    public static let v2AuthLength = 8
    /// Largest v3 interval, 12 bits of centiseconds (RFC 5798 section 5.2.7).
    public static let maxV3IntervalCentiseconds: UInt16 = 0x0FFF
}

/// One VRRP advertisement, independent of its wire encoding.
public struct VRRPAdvertisement: Sendable, Hashable {
    public var version: VRRPVersion
    public var virtualRouterID: UInt8
    public var priority: UInt8
    /// Advertisement interval in centiseconds (v2 carries whole seconds: a multiple of 100).
    public var intervalCentiseconds: UInt16
    public var addresses: [IPAddress]
    /// Only meaningful for v2; v3 has no authentication (RFC 5798 section 9).
    public var authentication: VRRPAuthentication

    public init(
        version: VRRPVersion, virtualRouterID: UInt8, priority: UInt8, intervalCentiseconds: UInt16,
        addresses: [IPAddress], authentication: VRRPAuthentication = .none
    ) {
        self.version = version
        self.virtualRouterID = virtualRouterID
        self.priority = priority
        self.intervalCentiseconds = intervalCentiseconds
        self.addresses = addresses
        self.authentication = authentication
    }

    /// The advertisement interval as a duration.
    public var interval: Duration { .milliseconds(Int64(intervalCentiseconds) * 10) }
}

/// Why a received packet was dropped; each case is counted separately.
public enum VRRPDropReason: String, Sendable, Hashable, CaseIterable, Codable {
    /// IP TTL / hop limit was not 255 (RFC 5798 section 7.1).
    case badTTL = "ttl"
    /// Version nibble is not 2 or 3, or differs from the instance's version.
    case badVersion = "version"
    /// Type is not ADVERTISEMENT.
    case badType = "type"
    /// Shorter than the header plus the announced addresses (and v2 auth data).
    case badLength = "length"
    /// Checksum does not verify.
    case badChecksum = "checksum"
    /// No instance here has this VRID on this interface.
    case unknownVRID = "vrid"
    /// Auth type differs from the configured one (RFC 3768 section 7.1).
    case authTypeMismatch = "auth_type"
    /// Password differs from the configured one.
    case authFailure = "auth"
    /// v2 interval differs from the configured one (RFC 3768 section 7.1).
    case intervalMismatch = "interval"
    /// Address list differs and the sender is not the owner (RFC 5798 section 7.1).
    case addressMismatch = "addresses"
    /// The address count field is zero.
    case badAddressCount = "address_count"
    /// The IPsec AH ICV (HMAC-MD5-96) does not verify: wrong `auth_pass` or an altered packet.
    case badICV = "ah_icv"
    /// The IPsec AH SPI is not the sender's address (keepalived's convention).
    case badSPI = "ah_spi"
    /// The IPsec AH sequence number is not above the last one seen: a replay (RFC 2402 section 3.4.3).
    case replayedSequence = "ah_sequence"
}

/// A packet rejected by the codec or the receive checks.
public struct VRRPPacketError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: VRRPDropReason
    public var detail: String

    public init(_ reason: VRRPDropReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "dropped VRRP packet (\(reason.rawValue)): \(detail)" }
}

/// Encodes and decodes VRRP advertisements (the VRRP message only, not the IP header).
public enum VRRPCodec {
    /// Encodes `advertisement`; `source` and `destination` feed the v3 pseudo-header checksum.
    public static func encode(_ advertisement: VRRPAdvertisement, source: IPAddress, destination: IPAddress) -> [UInt8] {
        let a = advertisement
        var out: [UInt8] = [
            a.version.rawValue << 4 | VRRPConstants.typeAdvertisement, a.virtualRouterID, a.priority,
            UInt8(truncatingIfNeeded: a.addresses.count),
        ]
        switch a.version {
        case .v2:
            out.append(a.authentication.typeCode)
            out.append(UInt8(clamping: max(1, a.intervalCentiseconds / 100)))
        case .v3:
            let i = min(a.intervalCentiseconds, VRRPConstants.maxV3IntervalCentiseconds)
            out.append(UInt8(i >> 8))
            out.append(UInt8(i & 0xFF))
        }
        out += [0, 0]
        for address in a.addresses { out += address.bytes }
        if a.version == .v2 { out += a.authentication.data }
        let sum = checksum(out, version: a.version, source: source, destination: destination)
        out[6] = UInt8(sum >> 8)
        out[7] = UInt8(sum & 0xFF)
        return out
    }

    /// Decodes and structurally validates a VRRP message.
    ///
    /// Checks TTL, version, type, length, address count and checksum. Instance-specific checks
    /// (VRID, authentication, interval, address list) are made by ``VRRPReceiveFilter``.
    public static func decode(
        _ bytes: some Collection<UInt8>, source: IPAddress, destination: IPAddress, ttl: UInt8
    ) throws(VRRPPacketError) -> VRRPAdvertisement {
        let b = Array(bytes)
        guard ttl == VRRPConstants.ttl else { throw VRRPPacketError(.badTTL, "TTL/hop limit \(ttl), expected 255") }
        guard b.count >= VRRPConstants.headerLength else {
            throw VRRPPacketError(.badLength, "\(b.count) bytes is shorter than the 8-byte header")
        }
        guard let version = VRRPVersion(rawValue: b[0] >> 4) else {
            throw VRRPPacketError(.badVersion, "version \(b[0] >> 4)")
        }
        guard b[0] & 0x0F == VRRPConstants.typeAdvertisement else {
            throw VRRPPacketError(.badType, "type \(b[0] & 0x0F), expected 1 (ADVERTISEMENT)")
        }
        if version == .v2 && source.family == .inet6 {
            throw VRRPPacketError(.badVersion, "VRRPv2 is IPv4 only")
        }
        let count = Int(b[3])
        let width = source.family == .inet ? 4 : 16
        let needed = VRRPConstants.headerLength + count * width + (version == .v2 ? VRRPConstants.v2AuthLength : 0)
        guard count > 0 else { throw VRRPPacketError(.badAddressCount, "address count is 0") }
        guard b.count >= needed else {
            throw VRRPPacketError(.badLength, "\(b.count) bytes, \(count) addresses need \(needed)")
        }
        let message = Array(b[0..<needed])
        guard checksum(message, version: version, source: source, destination: destination) == 0 else {
            let got = UInt16(b[6]) << 8 | UInt16(b[7])
            throw VRRPPacketError(.badChecksum, "checksum 0x\(String(got, radix: 16)) does not verify")
        }
        var addresses: [IPAddress] = []
        for i in 0..<count {
            let start = VRRPConstants.headerLength + i * width
            addresses.append(IPAddress(bytes: b[start..<start + width])!)
        }
        let interval: UInt16
        var auth = VRRPAuthentication.none
        switch version {
        case .v2:
            interval = UInt16(b[5]) * 100
            let data = Array(b[(needed - 8)..<needed])
            switch b[4] {
            case 0: auth = .none
            case 1: auth = .password(Array(data.prefix { $0 != 0 }))
            case 2: auth = .authenticationHeader([])
            default: throw VRRPPacketError(.authTypeMismatch, "unknown auth type \(b[4])")
            }
        case .v3:
            interval = (UInt16(b[4]) << 8 | UInt16(b[5])) & VRRPConstants.maxV3IntervalCentiseconds
        }
        return VRRPAdvertisement(
            version: version, virtualRouterID: b[1], priority: b[2], intervalCentiseconds: interval,
            addresses: addresses, authentication: auth)
    }

    /// Internet checksum of the message; v3 adds the IPv4 or IPv6 pseudo-header (RFC 5798 section 5.2.8).
    static func checksum(_ message: [UInt8], version: VRRPVersion, source: IPAddress, destination: IPAddress) -> UInt16 {
        var sum: UInt32 = 0
        func add(_ bytes: [UInt8]) {
            var i = 0
            while i + 1 < bytes.count {
                sum &+= UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
                i += 2
            }
            if i < bytes.count { sum &+= UInt32(bytes[i]) << 8 }
        }
        if version == .v3 {
            add(source.bytes)
            add(destination.bytes)
            if source.family == .inet {
                // RFC 768-style pseudo-header: zero, protocol, VRRP length.
                add([0, VRRPConstants.ipProtocol, UInt8(message.count >> 8), UInt8(message.count & 0xFF)])
            } else {
                // RFC 8200 section 8.1: 32-bit length, 24 zero bits, next header.
                let n = UInt32(message.count)
                add([UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), 0, 0, 0, VRRPConstants.ipProtocol])
            }
        }
        add(message)
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(truncatingIfNeeded: sum)
    }
}

/// Instance-level receive checks of RFC 3768 / RFC 5798 section 7.1 after the codec's structural ones.
public struct VRRPReceiveFilter: Sendable, Hashable {
    public var version: VRRPVersion
    public var virtualRouterID: UInt8
    public var authentication: VRRPAuthentication
    public var intervalCentiseconds: UInt16
    public var addresses: [IPAddress]

    public init(version: VRRPVersion, virtualRouterID: UInt8, authentication: VRRPAuthentication,
                intervalCentiseconds: UInt16, addresses: [IPAddress]) {
        self.version = version
        self.virtualRouterID = virtualRouterID
        self.authentication = authentication
        self.intervalCentiseconds = intervalCentiseconds
        self.addresses = addresses
    }

    /// Throws the reason the advertisement must be dropped by this instance.
    public func check(_ a: VRRPAdvertisement) throws(VRRPPacketError) {
        guard a.version == version else {
            throw VRRPPacketError(.badVersion, "\(a.version) advertisement for a \(version) instance")
        }
        guard a.virtualRouterID == virtualRouterID else {
            throw VRRPPacketError(.unknownVRID, "VRID \(a.virtualRouterID), expected \(virtualRouterID)")
        }
        if version == .v2 {
            guard a.authentication.typeCode == authentication.typeCode else {
                throw VRRPPacketError(.authTypeMismatch, "auth type \(a.authentication.typeCode), expected \(authentication.typeCode)")
            }
            if case .password = authentication, a.authentication.data != authentication.data {
                throw VRRPPacketError(.authFailure, "password does not match")
            }
            guard a.intervalCentiseconds == max(100, intervalCentiseconds / 100 * 100) else {
                throw VRRPPacketError(.intervalMismatch, "interval \(a.intervalCentiseconds / 100) s, expected \(intervalCentiseconds / 100) s")
            }
        }
        if a.priority != VRRPConstants.ownerPriority, Set(a.addresses) != Set(addresses) {
            throw VRRPPacketError(.addressMismatch, "addresses \(a.addresses.map(\.description).joined(separator: ",")) differ from the configured ones")
        }
    }
}

/// The IPv4 header fields a receiver needs (RFC 791), parsed from a raw socket read.
public struct IPv4HeaderInfo: Sendable, Hashable {
    public var source: IPAddress
    public var destination: IPAddress
    public var ttl: UInt8
    public var protocolNumber: UInt8
    /// Offset of the payload in the buffer.
    public var payloadOffset: Int
    /// End of the packet per the header's total length (clamped to the buffer).
    public var totalLength: Int

    /// Parses the header; `nil` when the buffer is not an IPv4 packet.
    public init?(_ b: [UInt8]) {
        guard b.count >= 20, b[0] >> 4 == 4 else { return nil }
        let ihl = Int(b[0] & 0x0F) * 4
        guard ihl >= 20, b.count >= ihl else { return nil }
        ttl = b[8]
        protocolNumber = b[9]
        source = IPAddress(bytes: b[12..<16])!
        destination = IPAddress(bytes: b[16..<20])!
        payloadOffset = ihl
        totalLength = min(b.count, max(ihl, Int(b[2]) << 8 | Int(b[3])))
    }
}
