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

/// Where a probe connects: target and optional source, resolved once when the checker is built.
/// A class: every check refers to it without copying two socket addresses.
final class ProbeAddresses: Sendable {
    let target: RawSocketAddress
    let local: RawSocketAddress?
    /// `192.0.2.1:80`, for messages.
    let label: String
    let timeout: Duration
    /// `timeout` in nanoseconds, at least 1.
    let timeoutNanoseconds: UInt64

    init(_ settings: ConnectionSettings) {
        target = RawSocketAddress(settings.address, port: settings.port)
        if settings.bindAddress != nil || settings.bindPort != 0 {
            let host = settings.bindAddress ?? (settings.address.family == .inet ? IPAddress.v4(0) : IPAddress.v6(0, 0))
            local = RawSocketAddress(host, port: settings.bindPort)
        } else {
            local = nil
        }
        label = settings.target.description
        timeout = settings.timeout
        timeoutNanoseconds = UInt64(max(1, settings.timeout.nanoseconds))
    }
}

/// Non-blocking TCP socket calls of the probe reactor, through the ``systemCall`` funnel.
enum ProbeSocket {
    /// Opens a non-blocking, close-on-exec TCP socket for `addresses`' family, bound to its
    /// source when it has one.
    static func open(_ addresses: ProbeAddresses) throws(SystemCallError) -> Int32 {
        let fd = try systemCall("socket") {
            socket(addresses.target.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        if let local = addresses.local {
            do throws(SystemCallError) {
                var one: Int32 = 1
                try systemCall("setsockopt(SO_REUSEADDR)") {
                    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
                }
                try systemCall("bind") { local.withSockaddr { Glibc.bind(fd, $0, $1) } }
            } catch {
                close(fd)
                throw error
            }
        }
        return fd
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
