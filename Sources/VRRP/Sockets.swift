#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Synchronization
import VigilSupport

/// Socket option and protocol constants (linux/in.h, linux/if_ether.h, linux/if_arp.h).
enum SocketConstant {
    /// `IP_MULTICAST_IF`.
    static let ipMulticastInterface: Int32 = 32
    /// `IP_MULTICAST_TTL`.
    static let ipMulticastTTL: Int32 = 33
    /// `IP_MULTICAST_LOOP`.
    static let ipMulticastLoop: Int32 = 34
    /// `IP_ADD_MEMBERSHIP`.
    static let ipAddMembership: Int32 = 35
    /// `IP_TTL`.
    static let ipTTL: Int32 = 2
    /// `IP_HDRINCL`: the sender supplies the IPv4 header (needed to sign it for AH).
    static let ipHeaderIncluded: Int32 = 3
    /// `SO_BINDTODEVICE`.
    static let bindToDevice: Int32 = 25
    /// `SIOCGSTAMPNS`: the kernel's receive time of the last packet read from a socket.
    static let getReceiveStampNanoseconds: UInt = 0x8907
    /// `ETH_P_ARP`.
    static let etherTypeARP: UInt16 = 0x0806
    /// `ARPHRD_ETHER`.
    static let arpHardwareEther: UInt16 = 1
    /// `ARPOP_REQUEST`: gratuitous ARP is sent as a request, as keepalived does.
    static let arpRequest: UInt16 = 1
    /// `ETH_P_IP`.
    static let etherTypeIPv4: UInt16 = 0x0800
    /// `ND_NEIGHBOR_ADVERT` (RFC 4861 section 4.4).
    static let icmp6NeighbourAdvert: UInt8 = 136
    /// Override flag of a neighbour advertisement (RFC 4861 section 4.4).
    static let naOverride: UInt8 = 0x20
    /// `ND_OPT_TARGET_LINKADDR`.
    static let ndOptionTargetLinkAddress: UInt8 = 2
    /// `IPV6_UNICAST_HOPS`.
    static let ipv6UnicastHops: Int32 = 16
    /// `IPV6_MULTICAST_IF`.
    static let ipv6MulticastInterface: Int32 = 17
    /// `IPV6_MULTICAST_HOPS`.
    static let ipv6MulticastHops: Int32 = 18
    /// `IPV6_MULTICAST_LOOP`.
    static let ipv6MulticastLoop: Int32 = 19
    /// `IPV6_ADD_MEMBERSHIP` (a.k.a. `IPV6_JOIN_GROUP`).
    static let ipv6JoinGroup: Int32 = 20
    /// `IPV6_RECVPKTINFO`.
    static let ipv6ReceivePacketInfo: Int32 = 49
    /// `IPV6_PKTINFO` (control message type).
    static let ipv6PacketInfo: Int32 = 50
    /// `IPV6_RECVHOPLIMIT`.
    static let ipv6ReceiveHopLimit: Int32 = 51
    /// `IPV6_HOPLIMIT` (control message type).
    static let ipv6HopLimit: Int32 = 52
}

/// A received VRRP packet with what the IP header said.
public struct VRRPReceivedPacket: Sendable {
    public var payload: [UInt8]
    public var source: IPAddress
    public var destination: IPAddress
    public var ttl: UInt8
    public var interface: String
    /// The whole IPv4 datagram when the message came inside an IPsec AH (`auth_type AH`);
    /// `payload` is then the VRRP message after the AH header.
    public var authenticatedDatagram: [UInt8]? = nil
    /// When the kernel received the packet, as time since the epoch on CLOCK_REALTIME (nil when
    /// the transport cannot tell).
    public var kernelTimestamp: Duration? = nil
}

/// Sends advertisements and receives packets: the I/O the runtime needs, behind a protocol for tests.
public protocol VRRPTransport: AnyObject, Sendable {
    /// Prepares sending for `instance` from `source` and receiving on its interface (joining `group`).
    func open(instance: VRRPInstanceSettings, source: IPAddress, group: IPAddress) throws
    /// Interfaces packets can be received on.
    var interfaces: [String] { get }
    /// Blocks briefly (at most a few hundred ms) for one packet on `interface`; `nil` when none came.
    func receive(interface: String) -> VRRPReceivedPacket?
    /// A descriptor that polls readable when `interface` has a packet, for an event loop; once
    /// asked for it, `receive(interface:)` no longer blocks. `nil` when there is none to poll.
    func receiveDescriptor(interface: String) -> Int32?
    /// Sends one encoded advertisement for `instance` to `destination`.
    ///
    /// For an `auth_type AH` instance `payload` is a whole IPv4 datagram (``IPsecAH/seal(_:source:destination:identification:sequence:key:unicast:)``).
    func send(_ payload: [UInt8], instance: String, to destination: IPAddress) throws
    /// The source address bound for an instance.
    func source(of instance: String) -> IPAddress?
    /// Closes what ``open(instance:source:group:)`` opened for `instance` (a reload removed or
    /// restarts it); a receive socket other instances still use stays open.
    func close(instance: String)
}

extension VRRPTransport {
    /// No descriptor: the runtime reads `receive(interface:)` from a thread.
    public func receiveDescriptor(interface: String) -> Int32? { nil }
}

/// Adds and removes VIPs and routes and announces them.
public protocol VRRPAddressManager: Sendable {
    func add(_ instance: VRRPInstanceSettings) throws
    func remove(_ instance: VRRPInstanceSettings) throws
    /// Sends `count` gratuitous ARPs / unsolicited NAs for every VIP.
    func announce(_ instance: VRRPInstanceSettings, count: Int) throws
    /// Looks up ahead of time what adding and announcing will need, so a takeover does not wait on it.
    func prepare(_ instance: VRRPInstanceSettings)
}

extension VRRPAddressManager {
    public func prepare(_ instance: VRRPInstanceSettings) {}
}

/// An error from the VRRP runtime: what failed, for which instance or interface.
public struct VRRPRuntimeError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var context: String

    public init(_ message: String, context: String) {
        self.message = message
        self.context = context
    }

    public var description: String { "\(context): \(message)" }
}

/// Raw IP protocol 112 sockets bound to interfaces, IPv4 and IPv6.
public final class RawVRRPTransport: VRRPTransport, Sendable {
    private struct Sender {
        var fd: Int32
        var source: IPAddress
        var interfaceIndex: UInt32
        /// `sockaddr` bytes of the group and of every unicast peer, built once at open.
        var destinations: [IPAddress: [UInt8]]
        /// The key of the receive socket the instance listens on.
        var receiverKey: String
    }

    private struct Receiver {
        var fd: Int32
        var family: AddressFamily
        var interface: String
        var ipProtocol: UInt8
    }

    private struct Sockets {
        var senders: [String: Sender] = [:]
        /// Keyed by interface name, with "/inet6" appended for the IPv6 socket and "/ah" for the IPsec AH one.
        var receivers: [String: Receiver] = [:]
    }

    private let sockets = Mutex(Sockets())

    public init() {}

    deinit {
        sockets.withLock {
            for s in $0.senders.values { closeDescriptor(s.fd) }
            for r in $0.receivers.values { closeDescriptor(r.fd) }
        }
    }

    /// Opens the send socket for an instance (bound to `source` and its interface) and the receive
    /// socket of its interface and family (joined to the VRRP group).
    public func open(instance: VRRPInstanceSettings, source: IPAddress, group: IPAddress) throws {
        let index = if_nametoindex(instance.interface)
        guard index != 0 else { throw VRRPRuntimeError("no such interface \(instance.interface)", context: instance.name) }
        let family = source.family
        let ah = family == .inet && instance.authentication.authenticationHeaderKey != nil
        let proto = ah ? IPsecAH.ipProtocol : VRRPConstants.ipProtocol
        let send = try Self.rawSocket(family, interface: instance.interface, protocol: proto)
        try bindAddress(send, source, scope: index, label: "\(source) on \(instance.interface)")
        if ah {
            var on: Int32 = 1
            try setOption(send, Int32(IPPROTO_IP), SocketConstant.ipHeaderIncluded, &on, "IP_HDRINCL")
        }
        var hops: Int32 = Int32(VRRPConstants.ttl)
        var off: Int32 = 0
        var small: Int32 = 1
        if family == .inet {
            try setOption(send, Int32(IPPROTO_IP), SocketConstant.ipTTL, &hops, "IP_TTL")
            try setOption(send, Int32(IPPROTO_IP), SocketConstant.ipMulticastTTL, &hops, "IP_MULTICAST_TTL")
            try setOption(send, Int32(IPPROTO_IP), SocketConstant.ipMulticastLoop, &off, "IP_MULTICAST_LOOP")
            var mreq = ip_mreqn()
            mreq.imr_address.s_addr = in_addr_t(source.bytes.withUnsafeBytes { $0.load(as: UInt32.self) })
            mreq.imr_ifindex = Int32(index)
            try setOption(send, Int32(IPPROTO_IP), SocketConstant.ipMulticastInterface, &mreq, "IP_MULTICAST_IF")
        } else {
            try setOption(send, Int32(IPPROTO_IPV6), SocketConstant.ipv6UnicastHops, &hops, "IPV6_UNICAST_HOPS")
            try setOption(send, Int32(IPPROTO_IPV6), SocketConstant.ipv6MulticastHops, &hops, "IPV6_MULTICAST_HOPS")
            try setOption(send, Int32(IPPROTO_IPV6), SocketConstant.ipv6MulticastLoop, &off, "IPV6_MULTICAST_LOOP")
            var ifindex = Int32(index)
            try setOption(send, Int32(IPPROTO_IPV6), SocketConstant.ipv6MulticastInterface, &ifindex, "IPV6_MULTICAST_IF")
        }
        // This socket only sends; keep what the kernel queues for it (unicast copies) tiny.
        _ = setsockopt(send, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))

        let key = ah ? instance.interface + "/ah" : family == .inet ? instance.interface : instance.interface + "/inet6"
        try sockets.withLock { sockets in
            if let old = sockets.senders[instance.name] { closeDescriptor(old.fd) }
            var destinations: [IPAddress: [UInt8]] = [:]
            for d in [group] + instance.unicastPeers { destinations[d] = socketAddress(d, scope: index) }
            sockets.senders[instance.name] = Sender(fd: send, source: source, interfaceIndex: index, destinations: destinations,
                                                    receiverKey: key)
            guard sockets.receivers[key] == nil else { return }
            let fd = try Self.rawSocket(family, interface: instance.interface, protocol: proto)
            if family == .inet {
                var join = ip_mreqn()
                join.imr_multiaddr.s_addr = in_addr_t(group.bytes.withUnsafeBytes { $0.load(as: UInt32.self) })
                join.imr_ifindex = Int32(index)
                try setOption(fd, Int32(IPPROTO_IP), SocketConstant.ipAddMembership, &join, "IP_ADD_MEMBERSHIP")
            } else {
                // struct ipv6_mreq: group address, interface index.
                var join = [UInt8](group.bytes)
                withUnsafeBytes(of: UInt32(index)) { join += $0 }
                try systemCall("setsockopt", context: "IPV6_JOIN_GROUP") {
                    setsockopt(fd, Int32(IPPROTO_IPV6), SocketConstant.ipv6JoinGroup, join, socklen_t(join.count))
                }
                var on: Int32 = 1
                try setOption(fd, Int32(IPPROTO_IPV6), SocketConstant.ipv6ReceiveHopLimit, &on, "IPV6_RECVHOPLIMIT")
                try setOption(fd, Int32(IPPROTO_IPV6), SocketConstant.ipv6ReceivePacketInfo, &on, "IPV6_RECVPKTINFO")
            }
            var tv = timeval(tv_sec: 0, tv_usec: 200_000)
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            // The first SIOCGSTAMPNS switches receive time-stamping on (and finds no packet yet).
            var stamp = timespec()
            _ = ioctl(fd, SocketConstant.getReceiveStampNanoseconds, &stamp)
            sockets.receivers[key] = Receiver(fd: fd, family: family, interface: instance.interface, ipProtocol: proto)
        }
    }

    /// Closes the instance's send socket, and its receive socket when no other instance listens on it.
    public func close(instance: String) {
        sockets.withLock { sockets in
            guard let s = sockets.senders.removeValue(forKey: instance) else { return }
            closeDescriptor(s.fd)
            guard !sockets.senders.values.contains(where: { $0.receiverKey == s.receiverKey }),
                  let r = sockets.receivers.removeValue(forKey: s.receiverKey) else { return }
            closeDescriptor(r.fd)
        }
    }

    /// Receive sockets, one per interface and family.
    public var interfaces: [String] { sockets.withLock { Array($0.receivers.keys) } }

    /// The receive socket `key` names, switched to non-blocking for the caller's event loop.
    public func receiveDescriptor(interface key: String) -> Int32? {
        guard let r = sockets.withLock({ $0.receivers[key] }) else { return nil }
        let flags = fcntl(r.fd, F_GETFL)
        guard flags >= 0, fcntl(r.fd, F_SETFL, flags | O_NONBLOCK) == 0 else { return nil }
        return r.fd
    }

    /// Blocks up to 200 ms for one packet on the socket `key` names; `nil` on timeout.
    public func receive(interface key: String) -> VRRPReceivedPacket? {
        guard let r = sockets.withLock({ $0.receivers[key] }) else { return nil }
        guard var p = r.family == .inet ? receive4(r) : receive6(r) else { return nil }
        var stamp = timespec()
        if ioctl(r.fd, SocketConstant.getReceiveStampNanoseconds, &stamp) == 0 {
            p.kernelTimestamp = .seconds(stamp.tv_sec) + .nanoseconds(stamp.tv_nsec)
        }
        return p
    }

    private func receive4(_ r: Receiver) -> VRRPReceivedPacket? {
        var buffer = [UInt8](repeating: 0, count: 2048)
        let n = buffer.withUnsafeMutableBytes { recv(r.fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        let packet = Array(buffer.prefix(n))
        guard let header = IPv4HeaderInfo(packet), header.protocolNumber == r.ipProtocol else { return nil }
        if r.ipProtocol == IPsecAH.ipProtocol {
            // The VRRP message follows the AH header; the runtime verifies the AH against the instance's key.
            let start = min(header.payloadOffset + IPsecAH.headerLength, header.totalLength)
            return VRRPReceivedPacket(payload: Array(packet[start..<header.totalLength]), source: header.source,
                                      destination: header.destination, ttl: header.ttl, interface: r.interface,
                                      authenticatedDatagram: Array(packet[0..<header.totalLength]))
        }
        return VRRPReceivedPacket(payload: Array(packet[header.payloadOffset..<header.totalLength]),
                                  source: header.source, destination: header.destination, ttl: header.ttl, interface: r.interface)
    }

    /// IPv6 raw sockets deliver no header: the hop limit and destination come as ancillary data.
    private func receive6(_ r: Receiver) -> VRRPReceivedPacket? {
        var buffer = [UInt8](repeating: 0, count: 2048)
        var control = [UInt8](repeating: 0, count: 256)
        var from = sockaddr_in6()
        var controlLength = 0
        let n: Int = buffer.withUnsafeMutableBytes { data in
            control.withUnsafeMutableBytes { ctl in
                withUnsafeMutablePointer(to: &from) { fromPtr in
                    var iov = iovec(iov_base: data.baseAddress, iov_len: data.count)
                    return withUnsafeMutablePointer(to: &iov) { iovPtr in
                        var msg = msghdr()
                        msg.msg_name = UnsafeMutableRawPointer(fromPtr)
                        msg.msg_namelen = socklen_t(MemoryLayout<sockaddr_in6>.size)
                        msg.msg_iov = iovPtr
                        msg.msg_iovlen = 1
                        msg.msg_control = ctl.baseAddress
                        msg.msg_controllen = ctl.count
                        let got = recvmsg(r.fd, &msg, 0)
                        if got >= 0 { controlLength = Int(msg.msg_controllen) }
                        return got
                    }
                }
            }
        }
        guard n > 0 else { return nil }
        var ttl: UInt8 = 0
        var destination = VRRPConstants.multicastV6
        // struct cmsghdr on LP64: size_t len, int level, int type, data aligned to 8.
        var offset = 0
        let total = min(controlLength, control.count)
        while offset + 16 <= total {
            let len = control.withUnsafeBytes { $0.load(fromByteOffset: offset, as: Int.self) }
            let level = control.withUnsafeBytes { $0.load(fromByteOffset: offset + 8, as: Int32.self) }
            let type = control.withUnsafeBytes { $0.load(fromByteOffset: offset + 12, as: Int32.self) }
            guard len >= 16, offset + len <= total else { break }
            if level == Int32(IPPROTO_IPV6) && type == SocketConstant.ipv6HopLimit && len >= 20 {
                ttl = UInt8(clamping: control.withUnsafeBytes { $0.load(fromByteOffset: offset + 16, as: Int32.self) })
            } else if level == Int32(IPPROTO_IPV6) && type == SocketConstant.ipv6PacketInfo && len >= 32 {
                destination = IPAddress(bytes: control[(offset + 16)..<(offset + 32)]) ?? destination
            }
            offset += (len + 7) & ~7
        }
        let source = IPAddress(bytes: withUnsafeBytes(of: from.sin6_addr) { Array($0) }) ?? .v6(0, 0)
        return VRRPReceivedPacket(payload: Array(buffer.prefix(n)), source: source, destination: destination, ttl: ttl,
                                  interface: r.interface)
    }

    public func send(_ payload: [UInt8], instance: String, to destination: IPAddress) throws {
        guard let s = sockets.withLock({ $0.senders[instance] }) else {
            throw VRRPRuntimeError("no socket open", context: instance)
        }
        let address = s.destinations[destination] ?? socketAddress(destination, scope: s.interfaceIndex)
        _ = try payload.withUnsafeBytes { raw in
            try systemCall("sendto", context: "\(instance) -> \(destination)") {
                address.withUnsafeBytes {
                    sendto(s.fd, raw.baseAddress, raw.count, 0, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(address.count))
                }
            }
        }
    }

    /// The source address bound for an instance.
    public func source(of instance: String) -> IPAddress? { sockets.withLock { $0.senders[instance]?.source } }

    private static func rawSocket(_ family: AddressFamily, interface: String, protocol proto: UInt8) throws -> Int32 {
        let fd = try systemCall("socket", context: proto == IPsecAH.ipProtocol ? "raw IPPROTO_AH" : "raw IPPROTO_VRRP") {
            socket(family == .inet ? AF_INET : AF_INET6, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(proto))
        }
        var name = Array(interface.utf8) + [0]
        do {
            try systemCall("setsockopt", context: "SO_BINDTODEVICE \(interface)") {
                setsockopt(fd, SOL_SOCKET, SocketConstant.bindToDevice, &name, socklen_t(name.count))
            }
        } catch {
            closeDescriptor(fd)
            throw error
        }
        return fd
    }
}

/// `close(2)` under a name the transport's own `close(instance:)` does not shadow.
private func closeDescriptor(_ fd: Int32) { _ = close(fd) }

/// `struct sockaddr_in` or `struct sockaddr_in6` (with a scope for link-local addresses) as bytes.
func socketAddress(_ address: IPAddress, scope: UInt32) -> [UInt8] {
    var out: [UInt8] = []
    switch address.family {
    case .inet:
        withUnsafeBytes(of: UInt16(AF_INET)) { out += $0 }
        out += [0, 0] + address.bytes + [UInt8](repeating: 0, count: 8)
    case .inet6:
        withUnsafeBytes(of: UInt16(AF_INET6)) { out += $0 }
        out += [0, 0, 0, 0, 0, 0] + address.bytes
        withUnsafeBytes(of: scope) { out += $0 }
    }
    return out
}

private func bindAddress(_ fd: Int32, _ address: IPAddress, scope: UInt32, label: String) throws {
    let sa = socketAddress(address, scope: scope)
    try systemCall("bind", context: label) {
        sa.withUnsafeBytes { bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(sa.count)) }
    }
}

private func setOption<T>(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: inout T, _ label: String) throws {
    try systemCall("setsockopt", context: label) { setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<T>.size)) }
}

/// Adds VIPs through rtnetlink and announces them with gratuitous ARP / unsolicited NA.
public final class KernelAddressManager: VRRPAddressManager, Sendable {
    /// What announcing on an interface needs, looked up once (``prepare(_:)``) so that a new
    /// master's VIPs and first gratuitous ARP do not wait on interface lookups and socket set-up.
    private struct Link {
        var index: UInt32
        var hardwareAddress: [UInt8]?
        /// AF_PACKET socket opened with protocol 0: the kernel queues no received frames on it.
        var packetSocket: Int32
    }

    private let netlink: RouteNetlink
    private let links = Mutex<[String: Link]>([:])

    public init() throws {
        netlink = try RouteNetlink()
    }

    deinit {
        links.withLock { for l in $0.values { close(l.packetSocket) } }
    }

    /// Looks up every interface the instance's VIPs use and opens their packet sockets.
    public func prepare(_ instance: VRRPInstanceSettings) {
        for vip in instance.virtualAddresses + instance.excludedAddresses {
            _ = try? link(vip.device ?? instance.interface)
        }
    }

    private func link(_ name: String) throws -> Link {
        try links.withLock { links in
            if let l = links[name] { return l }
            let i = if_nametoindex(name)
            guard i != 0 else { throw VRRPRuntimeError("no such interface", context: name) }
            let fd = try systemCall("socket", context: "AF_PACKET") {
                socket(AF_PACKET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            }
            let l = Link(index: i, hardwareAddress: interfaceHardwareAddress(name), packetSocket: fd)
            links[name] = l
            return l
        }
    }

    /// Forgets what was looked up for an interface (it went away or was recreated).
    private func forget(_ name: String) {
        links.withLock {
            if let l = $0.removeValue(forKey: name) { close(l.packetSocket) }
        }
    }

    private func index(_ name: String) throws -> UInt32 { try link(name).index }

    /// Runs `body` with the interface's index; an index gone stale (`ENODEV`: the interface was
    /// recreated) is looked up again once.
    private func withIndex(_ name: String, _ body: (UInt32) throws -> Void) throws {
        do {
            try body(try index(name))
        } catch let e as RouteNetlinkError where e.errno.rawValue == ENODEV {
            forget(name)
            try body(try index(name))
        }
    }

    public func add(_ instance: VRRPInstanceSettings) throws {
        for vip in instance.virtualAddresses + instance.excludedAddresses {
            try withIndex(vip.device ?? instance.interface) { try netlink.addAddress(vip, interfaceIndex: $0) }
        }
        for route in instance.virtualRoutes {
            try netlink.addRoute(route, interfaceIndex: try route.device.map(index))
        }
    }

    public func remove(_ instance: VRRPInstanceSettings) throws {
        var firstError: Error?
        for route in instance.virtualRoutes {
            do { try netlink.removeRoute(route, interfaceIndex: try route.device.map(index)) } catch { firstError = firstError ?? error }
        }
        for vip in instance.virtualAddresses + instance.excludedAddresses {
            do {
                try withIndex(vip.device ?? instance.interface) { try netlink.removeAddress(vip, interfaceIndex: $0) }
            } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }

    public func announce(_ instance: VRRPInstanceSettings, count: Int) throws {
        guard count > 0 else { return }
        for vip in instance.virtualAddresses + instance.excludedAddresses {
            let device = vip.device ?? instance.interface
            switch vip.address.family {
            case .inet: try sendGratuitousARP(vip.address, interface: device, count: count)
            case .inet6: try sendUnsolicitedNA(vip.address, interface: device, count: count)
            }
        }
    }

    /// Gratuitous ARP request (RFC 5227 section 3 / RFC 5798 section 8.1.2): sender and target are the VIP.
    ///
    /// Sent with the interface's hardware address as last looked up, then checked against sysfs:
    /// when it changed (rare: an operator set a new MAC), the burst goes out again with the new
    /// one. An interface recreated since the lookup is looked up again once.
    private func sendGratuitousARP(_ address: IPAddress, interface: String, count: Int) throws {
        var l: Link
        do {
            l = try link(interface)
            try sendGratuitousARP(address, interface: interface, count: count, via: l)
        } catch let e as SystemCallError where [ENXIO, ENODEV].contains(e.errno.rawValue) {
            forget(interface)
            l = try link(interface)
            try sendGratuitousARP(address, interface: interface, count: count, via: l)
        }
        let current = interfaceHardwareAddress(interface)
        if current != l.hardwareAddress {
            links.withLock { $0[interface]?.hardwareAddress = current }
            l.hardwareAddress = current
            try sendGratuitousARP(address, interface: interface, count: count, via: l)
        }
    }

    private func sendGratuitousARP(_ address: IPAddress, interface: String, count: Int, via link: Link) throws {
        guard let mac = link.hardwareAddress, mac.count == 6 else {
            throw VRRPRuntimeError("no Ethernet address", context: interface)
        }
        var frame: [UInt8] = []
        func be16(_ v: UInt16) { frame += [UInt8(v >> 8), UInt8(v & 0xFF)] }
        be16(SocketConstant.arpHardwareEther)
        be16(SocketConstant.etherTypeIPv4)
        frame += [6, 4]
        be16(SocketConstant.arpRequest)
        frame += mac + address.bytes + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + address.bytes
        // struct sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8].
        var sll: [UInt8] = []
        withUnsafeBytes(of: UInt16(AF_PACKET)) { sll += $0 }
        withUnsafeBytes(of: SocketConstant.etherTypeARP.bigEndian) { sll += $0 }
        withUnsafeBytes(of: Int32(link.index)) { sll += $0 }
        sll += [0, 0, 0, 6, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0]
        for _ in 0..<count {
            _ = try frame.withUnsafeBytes { raw in
                try systemCall("sendto", context: "gratuitous ARP \(address) on \(interface)") {
                    sll.withUnsafeBytes {
                        sendto(link.packetSocket, raw.baseAddress, raw.count, 0, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(sll.count))
                    }
                }
            }
        }
    }

    /// Unsolicited neighbour advertisement to all-nodes (RFC 4861 section 7.2.6; RFC 5798 section 8.2.2).
    private func sendUnsolicitedNA(_ address: IPAddress, interface: String, count: Int) throws {
        let ifindex = try index(interface)
        let mac = interfaceHardwareAddress(interface) ?? []
        let fd = try systemCall("socket", context: "ICMPv6 raw") {
            socket(AF_INET6, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_ICMPV6))
        }
        defer { close(fd) }
        var hops: Int32 = 255
        try setOption(fd, Int32(IPPROTO_IPV6), SocketConstant.ipv6MulticastHops, &hops, "IPV6_MULTICAST_HOPS")
        var name = Array(interface.utf8) + [0]
        try systemCall("setsockopt", context: "SO_BINDTODEVICE \(interface)") {
            setsockopt(fd, SOL_SOCKET, SocketConstant.bindToDevice, &name, socklen_t(name.count))
        }
        // Type, code, checksum (the kernel fills it for ICMPv6 raw sockets), flags, reserved, target, option.
        var na: [UInt8] = [SocketConstant.icmp6NeighbourAdvert, 0, 0, 0, SocketConstant.naOverride, 0, 0, 0] + address.bytes
        if mac.count == 6 { na += [SocketConstant.ndOptionTargetLinkAddress, 1] + mac }
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_scope_id = ifindex
        let allNodes = IPAddress("ff02::1")!.bytes
        withUnsafeMutableBytes(of: &sin6.sin6_addr) { for i in 0..<16 { $0[i] = allNodes[i] } }
        for _ in 0..<count {
            _ = try na.withUnsafeBytes { raw in
                try systemCall("sendto", context: "unsolicited NA \(address) on \(interface)") {
                    withUnsafePointer(to: &sin6) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                        }
                    }
                }
            }
        }
    }
}

/// The interface's first IPv4 address (the primary address keepalived uses as source), via getifaddrs.
public func primaryIPv4Address(of interface: String) -> IPAddress? {
    interfaceAddresses(of: interface, family: AF_INET).first
}

/// The interface's IPv6 link-local address: the source of VRRPv3 over IPv6 (RFC 5798 section 5.1.2.1).
public func linkLocalIPv6Address(of interface: String) -> IPAddress? {
    interfaceAddresses(of: interface, family: AF_INET6).first { address in
        let b = address.bytes
        return b[0] == 0xFE && b[1] & 0xC0 == 0x80
    }
}

/// The addresses of one family on an interface, in getifaddrs order.
private func interfaceAddresses(of interface: String, family: Int32) -> [IPAddress] {
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0, let first = list else { return [] }
    defer { freeifaddrs(list) }
    var found: [IPAddress] = []
    var p: UnsafeMutablePointer<ifaddrs>? = first
    while let cur = p {
        defer { p = cur.pointee.ifa_next }
        guard let sa = cur.pointee.ifa_addr, sa.pointee.sa_family == sa_family_t(family),
              String(cString: cur.pointee.ifa_name) == interface else { continue }
        let bytes: [UInt8] = family == AF_INET
            ? sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { s in withUnsafeBytes(of: s.pointee.sin_addr) { Array($0) } }
            : sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { s in withUnsafeBytes(of: s.pointee.sin6_addr) { Array($0) } }
        if let address = IPAddress(bytes: bytes) { found.append(address) }
    }
    return found
}
