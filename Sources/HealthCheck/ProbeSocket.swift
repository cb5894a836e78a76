#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import VigilSupport

/// A `struct sockaddr_in` / `struct sockaddr_in6` built once per probe, ready for connect(2)
/// and bind(2) without per-check conversions.
struct RawSocketAddress: Sendable {
    var storage = sockaddr_storage()
    var length: socklen_t
    let family: Int32

    init(_ address: IPAddress, port: UInt16) {
        switch address {
        case .v4(let v):
            family = AF_INET
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr.s_addr = v.bigEndian
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: sin) { raw.copyMemory(from: $0) }
            }
        case .v6:
            family = AF_INET6
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { dst in
                let b = address.bytes
                for i in 0..<16 { dst[i] = b[i] }
            }
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: sin6) { raw.copyMemory(from: $0) }
            }
        }
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }
}

/// The kind of socket a probe speaks over.
enum ProbeTransport: Sendable, Hashable {
    /// TCP (TCP_CHECK, HTTP_GET, SMTP_CHECK).
    case stream
    /// UDP (UDP_CHECK, DNS_CHECK): one datagram at a time.
    case datagram
    /// ICMP or ICMPv6 echo (PING_CHECK); see ``ProbeSocket/open(_:)`` for the socket chosen.
    case icmp
}

/// Where a probe connects: target and optional source, resolved once when the checker is built.
/// A class: every check refers to it without copying two socket addresses.
final class ProbeAddresses: Sendable {
    let target: RawSocketAddress
    let local: RawSocketAddress?
    let transport: ProbeTransport
    /// `bind_if`: the socket is bound to this interface (`SO_BINDTODEVICE`).
    let interface: String?
    /// `fwmark`: the socket's packets carry this mark (`SO_MARK`).
    let mark: UInt32?
    /// `192.0.2.1:80`, for messages.
    let label: String
    let timeout: Duration
    /// `timeout` in nanoseconds, at least 1.
    let timeoutNanoseconds: UInt64
    /// The socket serves this probe alone: opened for each check and closed after it rather
    /// than kept by the reactor's slot for the next probe (a bound source, an interface, a mark,
    /// or a datagram socket, whose late replies must not reach another check).
    let ownsSocket: Bool

    init(_ settings: ConnectionSettings, transport: ProbeTransport = .stream) {
        target = RawSocketAddress(settings.address, port: transport == .icmp ? 0 : settings.port)
        if settings.bindAddress != nil || settings.bindPort != 0 {
            let host = settings.bindAddress ?? (settings.address.family == .inet ? IPAddress.v4(0) : IPAddress.v6(0, 0))
            local = RawSocketAddress(host, port: transport == .icmp ? 0 : settings.bindPort)
        } else {
            local = nil
        }
        self.transport = transport
        interface = settings.interface
        mark = settings.firewallMark
        label = transport == .icmp ? settings.address.description : settings.target.description
        timeout = settings.timeout
        timeoutNanoseconds = UInt64(max(1, settings.timeout.nanoseconds))
        ownsSocket = local != nil || transport != .stream || interface != nil || mark != nil
    }
}

/// How an ICMP probe's socket delivers echo replies.
enum ICMPSocketKind: Sendable, Hashable {
    /// `SOCK_RAW`: every ICMP message from the connected peer, IPv4 ones with their IP header;
    /// the probe's own identifier is sent and must be matched.
    case raw
    /// `SOCK_DGRAM` / `IPPROTO_ICMP` (a "ping socket"): the kernel replaces the identifier with
    /// this one and delivers only replies carrying it.
    case datagram(identifier: UInt16)
}

/// Socket options and protocol numbers the probe sockets use.
enum ProbeSocketConstant {
    /// `SO_MARK` (socket(7)): the mark put on the socket's packets; needs CAP_NET_ADMIN.
    static let mark: Int32 = 36
    /// `SO_BINDTODEVICE` (socket(7)).
    static let bindToDevice: Int32 = 25
    /// `SO_BINDTOIFINDEX` (socket(7), Linux 5.0): `SO_BINDTODEVICE` by interface index, for
    /// sockets SwiftNIO opens (its options take integers only).
    static let bindToInterfaceIndex: Int32 = 62
    /// `IPPROTO_ICMP` (RFC 792).
    static let protocolICMP: Int32 = 1
    /// `IPPROTO_ICMPV6` (RFC 4443).
    static let protocolICMPv6: Int32 = 58
}

/// Non-blocking socket calls of the probe reactor, through the ``systemCall`` funnel.
enum ProbeSocket {
    /// Opens a non-blocking, close-on-exec socket of `addresses`' transport and family, with its
    /// interface, mark and source applied.
    ///
    /// ICMP probes use a raw socket (Vigil runs with CAP_NET_RAW, as it must for VRRP), which
    /// needs no change to `net.ipv4.ping_group_range`; keepalived instead widens that sysctl and
    /// uses a datagram ICMP socket. Without the capability a datagram ICMP socket is tried.
    static func open(_ addresses: ProbeAddresses) throws(SystemCallError) -> Int32 {
        let flags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let family = addresses.target.family
        let fd: Int32
        switch addresses.transport {
        case .stream:
            fd = try systemCall("socket") { socket(family, Int32(SOCK_STREAM.rawValue) | flags, 0) }
        case .datagram:
            fd = try systemCall("socket") { socket(family, Int32(SOCK_DGRAM.rawValue) | flags, Int32(IPPROTO_UDP)) }
        case .icmp:
            let proto = family == AF_INET ? ProbeSocketConstant.protocolICMP : ProbeSocketConstant.protocolICMPv6
            do throws(SystemCallError) {
                fd = try systemCall("socket", context: "raw ICMP") { socket(family, Int32(SOCK_RAW.rawValue) | flags, proto) }
            } catch where error.errno == .notPermitted || error.errno == .accessDenied {
                fd = try systemCall("socket", context: "datagram ICMP (no CAP_NET_RAW; see net.ipv4.ping_group_range)") {
                    socket(family, Int32(SOCK_DGRAM.rawValue) | flags, proto)
                }
            }
        }
        do throws(SystemCallError) {
            if var mark = addresses.mark {
                try systemCall("setsockopt", context: "SO_MARK \(mark)") {
                    setsockopt(fd, SOL_SOCKET, ProbeSocketConstant.mark, &mark, socklen_t(MemoryLayout<UInt32>.size))
                }
            }
            if let interface = addresses.interface {
                var name = Array(interface.utf8) + [0]
                try systemCall("setsockopt", context: "SO_BINDTODEVICE \(interface)") {
                    setsockopt(fd, SOL_SOCKET, ProbeSocketConstant.bindToDevice, &name, socklen_t(name.count))
                }
            }
            if let local = addresses.local {
                var one: Int32 = 1
                try systemCall("setsockopt(SO_REUSEADDR)") {
                    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
                }
                try systemCall("bind") { local.withSockaddr { Glibc.bind(fd, $0, $1) } }
            }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Whether a connected ICMP socket is raw or a datagram one, and then the identifier the
    /// kernel gave it (its "port", getsockname(2)).
    static func icmpKind(_ fd: Int32) -> ICMPSocketKind {
        var type: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0, type == Int32(SOCK_DGRAM.rawValue) else { return .raw }
        var storage = sockaddr_storage()
        var slen = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &slen) == 0 }
        }
        guard ok else { return .datagram(identifier: 0) }
        // sin_port and sin6_port sit at the same offset, in network order.
        let port = withUnsafeBytes(of: storage) { UInt16($0[2]) << 8 | UInt16($0[3]) }
        return .datagram(identifier: port)
    }

    /// Starts connecting `fd` to `addresses.target`; returns whether the connection is already up
    /// (loopback can be instant).
    static func startConnect(_ fd: Int32, to addresses: ProbeAddresses) throws(SystemCallError) -> Bool {
        let rc = addresses.target.withSockaddr { Glibc.connect(fd, $0, $1) }
        if rc == 0 { return true }
        let e = Errno.current
        if e.rawValue == EINPROGRESS { return false }
        if e == .interrupted { return false }  // the connect goes on in the background
        throw SystemCallError(call: "connect", errno: e)
    }

    /// Ends `fd`'s connection, whatever its state, and leaves the socket ready to connect again:
    /// `connect(2)` to an `AF_UNSPEC` address (Linux's `tcp_disconnect`). An open connection is
    /// reset, as ``abort(_:)`` does, so no TIME_WAIT is left; the local port is released and the
    /// next connect picks a new one. Returns false when the socket should be closed instead.
    static func disconnect(_ fd: Int32) -> Bool {
        var unspec = sockaddr()
        unspec.sa_family = sa_family_t(AF_UNSPEC)
        return Glibc.connect(fd, &unspec, socklen_t(MemoryLayout<sockaddr>.size)) == 0
    }

    /// Closes with a reset (`SO_LINGER` 0) so the checker's side keeps no TIME_WAIT socket per
    /// check (thousands a second pile up in the kernel's tables). For sockets bound to a probe's
    /// own source (`bindto`/`bind_port`), which are not reused, when the checker closes first;
    /// reused sockets get the same reset from ``disconnect(_:)``.
    static func abort(_ fd: Int32) {
        var l = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        close(fd)
    }

    /// The outcome of a non-blocking connect (`SO_ERROR`); nil when it succeeded.
    static func pendingError(_ fd: Int32) -> Errno? {
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 { return Errno.current }
        return err == 0 ? nil : Errno(err)
    }

    /// Sends what the socket takes now without raising SIGPIPE; returns the byte count (0 when it
    /// would block).
    static func send(_ fd: Int32, _ bytes: ArraySlice<UInt8>) throws(SystemCallError) -> Int {
        do throws(SystemCallError) {
            return try systemCall("send") {
                bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
        } catch {
            if error.errno == .wouldBlock { return 0 }
            throw error
        }
    }

    /// Reads into `buffer`; nil when it would block, 0 at end of stream.
    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> Int? {
        do throws(SystemCallError) {
            return try systemCall("recv") { recv(fd, buffer.baseAddress, buffer.count, 0) }
        } catch {
            if error.errno == .wouldBlock { return nil }
            throw error
        }
    }
}
