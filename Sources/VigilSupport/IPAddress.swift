#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The address family of an IP address, with the kernel's numeric value.
public enum AddressFamily: UInt16, Sendable, Hashable, Codable, CustomStringConvertible {
    /// `AF_INET`.
    case inet = 2
    /// `AF_INET6`.
    case inet6 = 10

    public var description: String { self == .inet ? "inet" : "inet6" }
}

/// An IPv4 or IPv6 address, stored in network byte order.
public enum IPAddress: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    case v4(UInt32)
    case v6(UInt64, UInt64)

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text; `nil` when the text is neither.
    public init?(_ text: some StringProtocol) {
        let s = String(text)
        if s.contains(":") {
            var a = in6_addr()
            guard inet_pton(AF_INET6, s, &a) == 1 else { return nil }
            let b = withUnsafeBytes(of: a) { Array($0) }
            self.init(bytes: b)
        } else {
            // inet_pton(AF_INET) accepts exactly four decimal octets, unlike inet_aton.
            var a = in_addr()
            guard inet_pton(AF_INET, s, &a) == 1 else { return nil }
            self = .v4(UInt32(bigEndian: a.s_addr))
        }
    }

    /// Builds an address from 4 or 16 network-order bytes; `nil` for any other length.
    public init?(bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        switch b.count {
        case 4:
            self = .v4(b.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            let hi = b[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let lo = b[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self = .v6(hi, lo)
        default:
            return nil
        }
    }

    public var family: AddressFamily {
        if case .v4 = self { return .inet }
        return .inet6
    }

    /// The address in network byte order (4 or 16 bytes).
    public var bytes: [UInt8] {
        switch self {
        case .v4(let v):
            return (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) }
        case .v6(let hi, let lo):
            return (0..<8).map { UInt8(truncatingIfNeeded: hi >> (56 - 8 * $0)) }
                + (0..<8).map { UInt8(truncatingIfNeeded: lo >> (56 - 8 * $0)) }
        }
    }

    /// The address as the kernel's 16-byte union (`union nf_inet_addr`): IPv4 in the first 4 bytes.
    public var paddedBytes: [UInt8] {
        let b = bytes
        return b + [UInt8](repeating: 0, count: 16 - b.count)
    }

    /// Canonical text as `inet_ntop` prints it (RFC 5952 for IPv6).
    public var description: String {
        var buffer = [CChar](repeating: 0, count: 64)
        let b = bytes
        let af = family == .inet ? AF_INET : AF_INET6
        _ = b.withUnsafeBytes { raw in inet_ntop(af, raw.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The address with `offset` added to it (used for `a.b.c.d-e` ranges); `nil` on overflow.
    public func adding(_ offset: UInt32) -> IPAddress? {
        switch self {
        case .v4(let v):
            let (r, o) = v.addingReportingOverflow(offset)
            return o ? nil : .v4(r)
        case .v6(let hi, let lo):
            let (r, o) = lo.addingReportingOverflow(UInt64(offset))
            if o { return hi == .max ? nil : .v6(hi + 1, r) }
            return .v6(hi, r)
        }
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        switch (a, b) {
        case (.v4(let x), .v4(let y)): return x < y
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        case (.v6(let h1, let l1), .v6(let h2, let l2)): return (h1, l1) < (h2, l2)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let a = IPAddress(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an IP address: \(s)")
        }
        self = a
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// An address with a port, printed as keepalived and ipvsadm do (`[v6]:port` for IPv6).
public struct SocketAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(_ address: IPAddress, _ port: UInt16) {
        self.address = address
        self.port = port
    }

    public var description: String {
        address.family == .inet ? "\(address):\(port)" : "[\(address)]:\(port)"
    }
}
