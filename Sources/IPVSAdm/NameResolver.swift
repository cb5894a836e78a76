#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import IPVS
import VigilSupport

/// Turns addresses and ports into names for listings without `-n`, the way ipvsadm does.
public protocol NameResolving: Sendable {
    /// The host name for an address (reverse lookup), or nil to print the address.
    func hostName(for address: IPAddress) -> String?
    /// The service name for a port of a protocol (`/etc/services`), or nil to print the number.
    func serviceName(port: UInt16, protocol: IPVSProtocol?) -> String?
}

/// Prints every address and port numerically (`-n`).
public struct NumericNames: NameResolving {
    public init() {}
    public func hostName(for address: IPAddress) -> String? { nil }
    public func serviceName(port: UInt16, protocol: IPVSProtocol?) -> String? { nil }
}

/// The C library's resolver: `gethostbyaddr(3)` and `getservbyport(3)`, as ipvsadm calls them.
///
/// Lookups are cached for the life of the value, so a table with many destinations on one
/// address costs one reverse lookup.
public final class SystemNames: NameResolving, @unchecked Sendable {
    private var hosts: [IPAddress: String?] = [:]
    private var services: [UInt32: String?] = [:]
    private let lock = Mutex()

    public init() {}

    public func hostName(for address: IPAddress) -> String? {
        lock.withLock {
            if let cached = hosts[address] { return cached }
            let bytes = address.bytes
            let af = address.family == .inet ? AF_INET : AF_INET6
            let entry = bytes.withUnsafeBytes { raw in
                gethostbyaddr(raw.baseAddress, socklen_t(raw.count), af)
            }
            let name = entry.flatMap { $0.pointee.h_name.map { String(cString: $0) } }
            hosts[address] = name
            return name
        }
    }

    public func serviceName(port: UInt16, protocol proto: IPVSProtocol?) -> String? {
        guard let proto else { return nil }
        let key = UInt32(port) << 16 | UInt32(proto.rawValue)
        return lock.withLock {
            if let cached = services[key] { return cached }
            let protoName: String = switch proto {
            case .tcp: "tcp"
            case .udp: "udp"
            case .sctp: "sctp"
            }
            let entry = getservbyport(Int32(port.bigEndian), protoName)
            let name = entry.flatMap { $0.pointee.s_name.map { String(cString: $0) } }
            services[key] = name
            return name
        }
    }
}

/// A pthread mutex small enough to keep `SystemNames` free of extra dependencies.
final class Mutex: @unchecked Sendable {
    private var m = pthread_mutex_t()
    init() { pthread_mutex_init(&m, nil) }
    deinit { pthread_mutex_destroy(&m) }
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&m)
        defer { pthread_mutex_unlock(&m) }
        return try body()
    }
}

/// Looks up names for rule files and command-line arguments (`host[:port]`), as ipvsadm does.
enum ForwardLookup {
    /// IPv4 address of a host name (`gethostbyname(3)`, first address), or nil.
    static func ipv4(ofHost name: String) -> IPAddress? {
        guard let entry = gethostbyname(name), entry.pointee.h_addrtype == AF_INET,
              entry.pointee.h_length == 4, let list = entry.pointee.h_addr_list, let first = list[0]
        else { return nil }
        let bytes = (0..<4).map { UInt8(bitPattern: first[$0]) }
        return IPAddress(bytes: bytes)
    }

    /// Port number of a service name for a protocol (`getservbyname(3)`), or nil.
    static func port(ofService name: String, protocol proto: IPVSProtocol) -> UInt16? {
        let protoName: String = switch proto {
        case .tcp: "tcp"
        case .udp: "udp"
        case .sctp: "sctp"
        }
        guard let entry = getservbyname(name, protoName) else { return nil }
        return UInt16(bigEndian: UInt16(truncatingIfNeeded: entry.pointee.s_port))
    }
}
