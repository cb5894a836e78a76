#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import KeepalivedConfig
import VigilSupport
import enum VRRP.VRRPCodec
import enum VRRP.VRRPConstants

/// The running system's facts, read from /proc, /sys, /lib/modules and a few probing sockets.
/// Nothing here changes the host: a bind probe closes its socket, a route probe sends nothing.
public struct LiveHost: DoctorHost {
    /// Where /proc/sys, /proc/modules and /lib/modules are read from (tests of this type use "/").
    public init() {}

    public func sysctl(_ name: String) -> String? {
        readFile("/proc/sys/" + name.replacingOccurrences(of: ".", with: "/"))
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    public var kernelRelease: String {
        var u = utsname()
        guard uname(&u) == 0 else { return "" }
        return withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    public func module(_ name: String) -> ModuleState {
        let wanted = name.replacingOccurrences(of: "-", with: "_")
        if let loaded = readFile("/proc/modules"),
           loaded.split(separator: "\n").contains(where: { $0.split(separator: " ").first.map(String.init) == wanted }) {
            return .loaded
        }
        let base = "/lib/modules/\(kernelRelease)/"
        func listed(_ file: String) -> Bool {
            guard let text = readFile(base + file) else { return false }
            for line in text.split(separator: "\n") {
                let path = line.split(separator: ":", maxSplits: 1).first ?? line
                let file = path.split(separator: "/").last ?? path
                guard let stem = file.split(separator: ".").first else { continue }
                if stem.replacingOccurrences(of: "-", with: "_") == wanted { return true }
            }
            return false
        }
        if listed("modules.builtin") { return .builtIn }
        if listed("modules.dep") { return .loadable }
        return .missing
    }

    public func interfaces() -> [HostInterface] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var order: [String] = []
        var byName: [String: HostInterface] = [:]
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            let name = String(cString: entry.pointee.ifa_name)
            let flags = Int32(bitPattern: entry.pointee.ifa_flags)
            if byName[name] == nil {
                order.append(name)
                byName[name] = HostInterface(name: name, isUp: flags & Int32(IFF_UP) != 0,
                                             isRunning: flags & Int32(IFF_RUNNING) != 0,
                                             supportsMulticast: flags & Int32(IFF_MULTICAST) != 0)
            }
            if let sa = entry.pointee.ifa_addr, let address = Self.address(sa) {
                byName[name]!.addresses.append(address)
            }
        }
        return order.compactMap { byName[$0] }
    }

    public func effectiveCapabilities() -> UInt64? {
        guard let status = readFile("/proc/self/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            return UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        }
        return nil
    }

    public func probeBind(host: String, port: Int) -> BindProbe {
        guard let address = IPAddress(host) else { return .failed("\(host) is not an IP address") }
        let family = address.family == .inet ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return .failed("socket: \(Errno.current)") }
        defer { close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let result = Self.withSocketAddress(address, UInt16(port)) { sa, length in bind(fd, sa, length) }
        if result != 0 {
            let e = Errno.current
            return e.rawValue == EADDRINUSE ? .inUse : .failed("bind: \(e)")
        }
        if listen(fd, 1) != 0 {
            let e = Errno.current
            return e.rawValue == EADDRINUSE ? .inUse : .failed("listen: \(e)")
        }
        return .free
    }

    public func fileStatus(_ path: String) -> FileStatus? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileStatus(uid: st.st_uid, mode: UInt32(st.st_mode))
    }

    public func route(to destination: IPAddress) -> RouteProbe {
        let family = destination.family == .inet ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return .unreachable("socket: \(Errno.current)") }
        defer { close(fd) }
        // The discard port: connect(2) on a datagram socket only looks the route up.
        let result = Self.withSocketAddress(destination, 9) { sa, length in connect(fd, sa, length) }
        guard result == 0 else { return .unreachable("connect: \(Errno.current)") }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0, let source = withUnsafePointer(to: &storage, {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Self.address($0) }
        }) else { return .unreachable("getsockname: \(Errno.current)") }
        let holder = interfaces().first { $0.addresses.contains(source) }?.name
        return .via(interface: holder, source: source)
    }

    public func advertisements(on interface: String, for duration: Duration) -> AdvertisementWatch {
        let index = if_nametoindex(interface)
        guard index != 0 else { return .failed("no interface \(interface)") }
        let fd = socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(VRRPConstants.ipProtocol))
        guard fd >= 0 else { return .failed("raw IPPROTO_VRRP socket: \(Errno.current)") }
        defer { close(fd) }
        var name = Array(interface.utf8) + [0]
        /// `SO_BINDTODEVICE`.
        let bindToDevice: Int32 = 25
        guard setsockopt(fd, SOL_SOCKET, bindToDevice, &name, socklen_t(name.count)) == 0 else {
            return .failed("SO_BINDTODEVICE \(interface): \(Errno.current)")
        }
        var join = ip_mreqn()
        join.imr_multiaddr.s_addr = in_addr_t(VRRPConstants.multicastV4.bytes.withUnsafeBytes { $0.load(as: UInt32.self) })
        join.imr_ifindex = Int32(index)
        /// `IP_ADD_MEMBERSHIP`.
        let addMembership: Int32 = 35
        guard setsockopt(fd, Int32(IPPROTO_IP), addMembership, &join, socklen_t(MemoryLayout<ip_mreqn>.size)) == 0 else {
            return .failed("IP_ADD_MEMBERSHIP 224.0.0.18 on \(interface): \(Errno.current)")
        }
        var heard: [ObservedAdvertisement] = []
        let deadline = ContinuousClock.now + duration
        var buffer = [UInt8](repeating: 0, count: 2048)
        while heard.count < 1000 {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { break }
            let (s, atto) = left.components
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(s * 1000 + atto / 1_000_000_000_000_000) + 1)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { break }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n >= 20 else { continue }
            let packet = buffer[0..<n]
            // The IPv4 header a raw socket delivers: its length, the TTL, the addresses (RFC 791 section 3.1).
            let headerLength = Int(packet[0] & 0x0F) * 4
            guard headerLength >= 20, n > headerLength,
                  let source = IPAddress(bytes: packet[12..<16]), let destination = IPAddress(bytes: packet[16..<20]) else { continue }
            if let advertisement = try? VRRPCodec.decode(packet[headerLength...], source: source, destination: destination, ttl: packet[8]) {
                heard.append(ObservedAdvertisement(source: source, advertisement: advertisement))
            }
        }
        return .heard(heard)
    }

    public func userID(_ name: String) -> UInt32? {
        guard let pw = getpwnam(name) else { return nil }
        return pw.pointee.pw_uid
    }

    public var searchPath: [String] {
        let path = getenv("PATH").map { String(cString: $0) } ?? ""
        return (path + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(separator: ":").map(String.init)
    }

    /// A whole file (procfs files report size 0, so this reads to end of file).
    private func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func address(_ sa: UnsafePointer<sockaddr>) -> IPAddress? {
        switch Int32(sa.pointee.sa_family) {
        case AF_INET:
            return sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                withUnsafeBytes(of: sin.pointee.sin_addr) { IPAddress(bytes: $0) }
            }
        case AF_INET6:
            return sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                withUnsafeBytes(of: sin6.pointee.sin6_addr) { IPAddress(bytes: $0) }
            }
        default:
            return nil
        }
    }

    private static func withSocketAddress(_ address: IPAddress, _ port: UInt16,
                                          _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        let bytes = address.bytes
        if address.family == .inet {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin.sin_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: bytes) }
        return withUnsafePointer(to: &sin6) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    }
}
