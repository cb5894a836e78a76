#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CNetlink
import CVigilSystem
import VigilSupport

/// What the IPVS request logic needs from a netlink socket; a fake kernel implements it in tests.
protocol NetlinkTransport: AnyObject {
    /// The resolved generic-netlink family id of IPVS.
    var family: UInt16 { get }
    /// The largest datagram to send.
    var sendLimitBytes: Int { get }
    /// Reserves `count` consecutive sequence numbers and returns the first.
    func reserveSequences(_ count: Int) -> UInt32
    func send(_ bytes: [UInt8], context: String) throws(IPVSError)
    /// One datagram's messages.
    func receive(context: String) throws(IPVSError) -> [NetlinkMessage]
    /// The messages of at least one and up to `maxDatagrams` datagrams, waiting only for the first.
    func receiveMany(maxDatagrams: Int, context: String) throws(IPVSError) -> [NetlinkMessage]
}

extension NetlinkTransport {
    func receiveMany(maxDatagrams: Int, context: String) throws(IPVSError) -> [NetlinkMessage] {
        try receive(context: context)
    }
}

/// One generic-netlink socket bound to the IPVS family. Not thread-safe: ``IPVSClient`` owns it
/// behind a lock.
///
/// libnl opens the socket and resolves the family (`genl_ctrl_resolve`); requests are encoded by
/// ``IPVSCodec`` and sent on the raw descriptor, so batching and sequence matching are ours.
final class NetlinkConnection: NetlinkTransport {
    private let socket: OpaquePointer
    private let fd: Int32
    let family: UInt16
    private var sequence: UInt32
    private var buffer: [UInt8]
    /// Slots for `recvmmsg`, allocated on first use, with their headers, vectors and sender
    /// addresses (reused: a table listing calls `recvmmsg` once or twice per service).
    private var batchBuffer: [UInt8] = []
    private var batchHeaders: [vigil_mmsghdr] = []
    private var batchVectors: [iovec] = []
    private var batchSenders: [sockaddr_nl] = []
    /// 64 datagrams per `recvmmsg`, each of ``datagramBytes``.
    private static let batchSlots = 64
    private static let batchSlotBytes = datagramBytes
    /// The receive size for every datagram: one page (at most 8 KiB), which is `NLMSG_GOODSIZE`
    /// plus the skb overhead. The kernel sizes a dump's datagrams to the largest receive buffer
    /// the socket has offered (`max_recvmsg_len`, capped at 32 KiB) and no reply it builds
    /// otherwise is bigger than `NLMSG_GOODSIZE` (acknowledgements carry only the request header,
    /// `NETLINK_CAP_ACK`). Offering 32 KiB made the kernel allocate, and with `init_on_alloc`
    /// zero, 32 KiB twice per destination dump: most of a 1,000-service listing's kernel time.
    static let datagramBytes = min(Int(sysconf(Int32(_SC_PAGESIZE))), 8192)
    /// Replies the socket can queue before the kernel drops one (`SO_RCVBUF`, as granted).
    let receiveBufferBytes: Int
    /// The largest datagram the kernel accepts from us (`SO_SNDBUF` less netlink's 32 bytes).
    let sendLimitBytes: Int
    private let timeoutSeconds: Int

    /// Kernel receive and send buffer sizes asked for; root gets them with `SO_RCVBUFFORCE`.
    static let requestedBufferBytes: Int32 = 8 << 20

    init(timeoutSeconds: Int, networkNamespace: String? = nil) throws(IPVSError) {
        let (socket, family) = try Self.inNamespace(networkNamespace) { () throws(IPVSError) in try Self.open() }
        self.socket = socket
        self.fd = nl_socket_get_fd(socket)
        self.family = UInt16(family)
        self.timeoutSeconds = timeoutSeconds
        // Start away from libnl's own counter so no reply to genl_ctrl_resolve can ever match.
        self.sequence = UInt32(truncatingIfNeeded: Int(getpid()) &* 7919) | 0x4000_0000
        self.buffer = [UInt8](repeating: 0, count: Self.datagramBytes)

        let fd = self.fd
        func set(_ level: Int32, _ name: Int32, _ value: Int32) -> Bool {
            var v = value
            return (try? systemCall("setsockopt") {
                setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
            }) != nil
        }
        func get(_ name: Int32) -> Int {
            var v: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = try? systemCall("getsockopt") { getsockopt(fd, SOL_SOCKET, name, &v, &length) }
            return Int(v)
        }
        if !set(SOL_SOCKET, SO_RCVBUFFORCE, Self.requestedBufferBytes) {
            _ = set(SOL_SOCKET, SO_RCVBUF, Self.requestedBufferBytes)
        }
        if !set(SOL_SOCKET, SO_SNDBUFFORCE, Self.requestedBufferBytes) {
            _ = set(SOL_SOCKET, SO_SNDBUF, Self.requestedBufferBytes)
        }
        receiveBufferBytes = get(SO_RCVBUF)
        sendLimitBytes = max(4096, get(SO_SNDBUF) - 64)
        // Errors carry only the request header back; extended acks carry the kernel's text.
        _ = set(Int32(SOL_NETLINK), Int32(NETLINK_CAP_ACK), 1)
        _ = set(Int32(SOL_NETLINK), Int32(NETLINK_EXT_ACK), 1)
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        _ = try? systemCall("setsockopt") {
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    deinit { nl_socket_free(socket) }

    /// Opens a generic-netlink socket and resolves the IPVS family on it.
    private static func open() throws(IPVSError) -> (OpaquePointer, UInt16) {
        guard let socket = nl_socket_alloc() else {
            throw IPVSError(code: .system, message: "cannot allocate a netlink socket")
        }
        let connected = genl_connect(socket)
        if connected < 0 {
            nl_socket_free(socket)
            throw IPVSError(code: .system, message: "cannot open a generic netlink socket: \(String(cString: nl_geterror(connected)))")
        }
        // libnl's own receives would otherwise offer 16 KiB (see `datagramBytes`).
        _ = nl_socket_set_msg_buf_size(socket, datagramBytes)
        let family = genl_ctrl_resolve(socket, IPVSWire.familyName)
        if family < 0 {
            nl_socket_free(socket)
            if -family == NLE_OBJ_NOTFOUND { throw .notAvailable }
            throw IPVSError(code: .system, message: "cannot resolve the IPVS netlink family: \(String(cString: nl_geterror(family)))")
        }
        return (socket, UInt16(family))
    }

    /// Runs `body` on this thread inside the network namespace at `path` (e.g. /run/netns/NAME),
    /// then moves the thread back. A socket keeps the namespace it was created in.
    private static func inNamespace<T>(_ path: String?, _ body: () throws(IPVSError) -> T) throws(IPVSError) -> T {
        guard let path else { return try body() }
        let target = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard target >= 0 else {
            let e = Errno.current
            throw IPVSError(code: e == .noEntry ? .notFound : .system, message: "cannot open network namespace: \(e)", context: path, errno: e.rawValue)
        }
        defer { close(target) }
        let home = Glibc.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard home >= 0 else {
            let e = Errno.current
            throw IPVSError(code: .system, message: "cannot open this thread's network namespace: \(e)", context: path, errno: e.rawValue)
        }
        defer { close(home) }
        guard vigil_setns(target, vigil_clone_newnet) == 0 else {
            let e = Errno.current
            throw IPVSError(code: e == .notPermitted ? .permissionDenied : .system, message: "cannot enter network namespace: \(e)", context: path, errno: e.rawValue)
        }
        defer {
            // A thread left in the wrong namespace would silently act on the wrong tables.
            precondition(vigil_setns(home, vigil_clone_newnet) == 0, "cannot return to the original network namespace")
        }
        return try body()
    }

    /// Reserves `count` consecutive sequence numbers and returns the first.
    func reserveSequences(_ count: Int) -> UInt32 {
        let first = sequence
        sequence &+= UInt32(truncatingIfNeeded: count)
        if sequence == 0 { sequence = 1 }
        return first
    }

    func send(_ bytes: [UInt8], context: String) throws(IPVSError) {
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(AF_NETLINK)
        let outcome: Result<Int, SystemCallError> = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &kernel) { address in
                address.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    Result { () throws(SystemCallError) -> Int in
                        try systemCall("sendto") {
                            sendto(fd, raw.baseAddress, raw.count, 0, sa, socklen_t(MemoryLayout<sockaddr_nl>.size))
                        }
                    }
                }
            }
        }
        let sent: Int
        switch outcome {
        case .success(let n): sent = n
        case .failure(let error):
            throw IPVSError(code: error.errno == .notPermitted || error.errno == .accessDenied ? .permissionDenied : .system,
                            message: "cannot send to the kernel: \(error.errno)", context: context, errno: error.errno.rawValue)
        }
        guard sent == bytes.count else {
            throw IPVSError(code: .system, message: "the kernel took \(sent) of \(bytes.count) bytes", context: context)
        }
    }

    /// Receives one datagram from the kernel and splits it into messages. Datagrams from
    /// anything but the kernel (port 0) are dropped.
    func receive(context: String) throws(IPVSError) -> [NetlinkMessage] {
        while true {
            var from = sockaddr_nl()
            var fromLength = socklen_t(MemoryLayout<sockaddr_nl>.size)
            let capacity = buffer.count
            let outcome: Result<Int, SystemCallError> = buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &from) { address in
                    address.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                        Result { () throws(SystemCallError) -> Int in
                            try systemCall("recvfrom") { recvfrom(fd, raw.baseAddress, capacity, Int32(MSG_TRUNC), sa, &fromLength) }
                        }
                    }
                }
            }
            let received: Int
            switch outcome {
            case .success(let n): received = n
            case .failure(let error):
                switch error.errno {
                case .wouldBlock:
                    throw IPVSError(code: .system, message: "no reply from the kernel within \(timeoutSeconds) s", context: context, errno: error.errno.rawValue)
                case Errno(ENOBUFS):
                    throw IPVSError(code: .system, message: "netlink receive buffer overrun: kernel replies were lost", context: context, errno: ENOBUFS)
                default:
                    throw IPVSError(code: .system, message: "cannot receive from the kernel: \(error.errno)", context: context, errno: error.errno.rawValue)
                }
            }
            if received > capacity {
                throw IPVSError(code: .malformedReply, message: "kernel reply of \(received) bytes exceeds the \(capacity)-byte buffer", context: context)
            }
            if from.nl_pid != 0 { continue }
            do {
                // Copy out the datagram so the messages never pin (and force copies of) the big buffer.
                return try NetlinkMessage.parse(Array(buffer[0..<received])[...])
            } catch {
                throw .malformed(error, context: context)
            }
        }
    }

    /// Receives every queued datagram (at least one; at most `maxDatagrams`, 64 per system call)
    /// with `recvmmsg`, for reading many acknowledgements or dump parts cheaply. Datagrams not
    /// from the kernel are dropped.
    func receiveMany(maxDatagrams: Int, context: String) throws(IPVSError) -> [NetlinkMessage] {
        let slots = max(1, min(maxDatagrams, Self.batchSlots))
        let slotBytes = Self.batchSlotBytes
        if batchBuffer.isEmpty {
            batchBuffer = [UInt8](repeating: 0, count: Self.batchSlots * slotBytes)
            batchHeaders = [vigil_mmsghdr](repeating: vigil_mmsghdr(), count: Self.batchSlots)
            batchVectors = [iovec](repeating: iovec(), count: Self.batchSlots)
            batchSenders = [sockaddr_nl](repeating: sockaddr_nl(), count: Self.batchSlots)
        }
        let fd = self.fd
        let outcome: Result<Int, SystemCallError> = batchBuffer.withUnsafeMutableBytes { raw in
            batchVectors.withUnsafeMutableBufferPointer { iov in
                batchSenders.withUnsafeMutableBufferPointer { from in
                    batchHeaders.withUnsafeMutableBufferPointer { h in
                        for i in 0..<slots {
                            iov[i] = iovec(iov_base: raw.baseAddress! + i * slotBytes, iov_len: slotBytes)
                            h[i] = vigil_mmsghdr()
                            h[i].msg_hdr.msg_iov = iov.baseAddress! + i
                            h[i].msg_hdr.msg_iovlen = 1
                            h[i].msg_hdr.msg_name = UnsafeMutableRawPointer(from.baseAddress! + i)
                            h[i].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_nl>.size)
                        }
                        return Result { () throws(SystemCallError) -> Int in
                            Int(try systemCall("recvmmsg") {
                                vigil_recvmmsg(fd, h.baseAddress, UInt32(slots), vigil_msg_waitforone)
                            })
                        }
                    }
                }
            }
        }
        let count: Int
        switch outcome {
        case .success(let n): count = n
        case .failure(let error):
            switch error.errno {
            case .wouldBlock:
                throw IPVSError(code: .system, message: "no reply from the kernel within \(timeoutSeconds) s", context: context, errno: error.errno.rawValue)
            case Errno(ENOBUFS):
                throw IPVSError(code: .system, message: "netlink receive buffer overrun: kernel replies were lost", context: context, errno: ENOBUFS)
            default:
                throw IPVSError(code: .system, message: "cannot receive from the kernel: \(error.errno)", context: context, errno: error.errno.rawValue)
            }
        }
        var messages: [NetlinkMessage] = []
        for i in 0..<count {
            if batchSenders[i].nl_pid != 0 { continue }
            if batchHeaders[i].msg_hdr.msg_flags & Int32(MSG_TRUNC) != 0 {
                throw IPVSError(code: .malformedReply, message: "kernel reply exceeds \(slotBytes) bytes", context: context)
            }
            let start = i * slotBytes
            let datagram = Array(batchBuffer[start..<(start + Int(batchHeaders[i].msg_len))])
            do {
                messages += try NetlinkMessage.parse(datagram[...])
            } catch {
                throw .malformed(error, context: context)
            }
        }
        return messages
    }
}
