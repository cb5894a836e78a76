#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Synchronization
import VigilSupport

/// rtnetlink constants used by Vigil (linux/rtnetlink.h, linux/if_addr.h); the framing's are `Netlink`'s.
enum RouteNetlinkConstant {
    /// `NETLINK_ROUTE`.
    static let protocolRoute: Int32 = 0
    /// `RTM_NEWLINK`.
    static let newLink: UInt16 = 16
    /// `RTM_DELLINK`.
    static let deleteLink: UInt16 = 17
    /// `RTM_NEWADDR`.
    static let newAddress: UInt16 = 20
    /// `RTM_DELADDR`.
    static let deleteAddress: UInt16 = 21
    /// `RTM_NEWROUTE`.
    static let newRoute: UInt16 = 24
    /// `RTM_DELROUTE`.
    static let deleteRoute: UInt16 = 25
    /// `IFA_ADDRESS`.
    static let ifaAddress: UInt16 = 1
    /// `IFA_LOCAL`.
    static let ifaLocal: UInt16 = 2
    /// `IFA_LABEL`.
    static let ifaLabel: UInt16 = 3
    /// `IFA_BROADCAST`.
    static let ifaBroadcast: UInt16 = 4
    /// `IFA_CACHEINFO`.
    static let ifaCacheInfo: UInt16 = 6
    /// `IFA_F_NODAD`: no duplicate address detection for IPv6 VIPs (keepalived sets it).
    static let ifaFlagNoDAD: UInt8 = 0x02
    /// `RTA_DST`.
    static let rtaDestination: UInt16 = 1
    /// `RTA_OIF`.
    static let rtaOutputInterface: UInt16 = 4
    /// `RTA_GATEWAY`.
    static let rtaGateway: UInt16 = 5
    /// `RTA_PREFSRC`.
    static let rtaPreferredSource: UInt16 = 7
    /// `RT_TABLE_MAIN`.
    static let tableMain: UInt8 = 254
    /// `RTPROT_KEEPALIVED`: routes Vigil adds are marked as keepalived marks them.
    static let protocolKeepalived: UInt8 = 18
    /// `RT_SCOPE_UNIVERSE`.
    static let scopeUniverse: UInt8 = 0
    /// `RT_SCOPE_LINK`.
    static let scopeLink: UInt8 = 253
    /// `RTN_UNICAST`.
    static let routeTypeUnicast: UInt8 = 1
    /// `RTMGRP_LINK`: multicast group for link events.
    static let groupLink: UInt32 = 1
    /// `IFF_UP`.
    static let interfaceUp: UInt32 = 0x1
    /// `IFF_RUNNING` (operational: carrier present).
    static let interfaceRunning: UInt32 = 0x40
    /// `IFLA_IFNAME`.
    static let iflaName: UInt16 = 3
}

/// An rtnetlink failure: which request, on what, and the kernel's errno.
public struct RouteNetlinkError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var context: String
    public var errno: Errno

    public var description: String { "\(operation) \(context): \(errno)" }
}

/// A blocking rtnetlink request socket for addresses and routes.
public final class RouteNetlink: Sendable {
    private let fd: Int32
    private let sequence = Mutex<UInt32>(1)

    public init() throws(SystemCallError) {
        fd = try systemCall("socket", context: "AF_NETLINK/NETLINK_ROUTE") {
            socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), RouteNetlinkConstant.protocolRoute)
        }
        try bindNetlink(fd, groups: 0)
    }

    deinit { close(fd) }

    /// Adds an address; an address already present counts as success (keepalived does the same).
    public func addAddress(_ vip: VRRPVirtualAddress, interfaceIndex: UInt32) throws(RouteNetlinkError) {
        try addressRequest(RouteNetlinkConstant.newAddress, vip, interfaceIndex: interfaceIndex,
                           flags: Netlink.flagCreate | Netlink.flagReplace, ignoring: [])
    }

    /// Removes an address; an absent address counts as success.
    public func removeAddress(_ vip: VRRPVirtualAddress, interfaceIndex: UInt32) throws(RouteNetlinkError) {
        try addressRequest(RouteNetlinkConstant.deleteAddress, vip, interfaceIndex: interfaceIndex, flags: 0,
                           ignoring: [EADDRNOTAVAIL, ENOENT, ESRCH, ENODEV])
    }

    private func addressRequest(_ type: UInt16, _ vip: VRRPVirtualAddress, interfaceIndex: UInt32, flags: UInt16,
                                ignoring: [Int32]) throws(RouteNetlinkError) {
        var body: [UInt8] = [
            UInt8(vip.address.family.rawValue), vip.prefixLength,
            vip.address.family == .inet6 ? RouteNetlinkConstant.ifaFlagNoDAD : 0, vip.scope,
        ]
        withUnsafeBytes(of: interfaceIndex) { body += $0 }
        var m = NetlinkWriter()
        m.beginMessage(type: type, flags: Netlink.flagRequest | Netlink.flagAck | flags, sequence: nextSequence())
        m.appendRaw(body)
        m.attribute(RouteNetlinkConstant.ifaLocal, bytes: vip.address.bytes)
        m.attribute(RouteNetlinkConstant.ifaAddress, bytes: vip.address.bytes)
        if vip.address.family == .inet6 && type == RouteNetlinkConstant.newAddress {
            // struct ifa_cacheinfo: preferred 0 (deprecated, never picked as a source), valid forever; as keepalived.
            var info: [UInt8] = []
            for v in [UInt32(0), UInt32.max, 0, 0] { withUnsafeBytes(of: v) { info += $0 } }
            m.attribute(RouteNetlinkConstant.ifaCacheInfo, bytes: info)
        }
        if vip.address.family == .inet {
            if let brd = vip.broadcast { m.attribute(RouteNetlinkConstant.ifaBroadcast, bytes: brd.bytes) }
            if let label = vip.label { m.attribute(RouteNetlinkConstant.ifaLabel, bytes: Array(label.utf8.prefix(15)) + [0]) }
        }
        m.endMessage()
        let op = type == RouteNetlinkConstant.newAddress ? "add address" : "delete address"
        try transact(m.bytes, operation: op, context: vip.description, ignoring: ignoring)
    }

    /// Adds (or replaces) a route.
    public func addRoute(_ route: VRRPVirtualRoute, interfaceIndex: UInt32?) throws(RouteNetlinkError) {
        try routeRequest(RouteNetlinkConstant.newRoute, route, interfaceIndex: interfaceIndex,
                         flags: Netlink.flagCreate | Netlink.flagReplace, ignoring: [])
    }

    /// Removes a route; an absent route counts as success.
    public func removeRoute(_ route: VRRPVirtualRoute, interfaceIndex: UInt32?) throws(RouteNetlinkError) {
        try routeRequest(RouteNetlinkConstant.deleteRoute, route, interfaceIndex: interfaceIndex, flags: 0, ignoring: [ESRCH, ENOENT])
    }

    private func routeRequest(_ type: UInt16, _ r: VRRPVirtualRoute, interfaceIndex: UInt32?, flags: UInt16,
                              ignoring: [Int32]) throws(RouteNetlinkError) {
        let body: [UInt8] = [
            UInt8(r.destination.family.rawValue), r.prefixLength, 0, 0,
            RouteNetlinkConstant.tableMain, RouteNetlinkConstant.protocolKeepalived,
            r.gateway == nil ? RouteNetlinkConstant.scopeLink : RouteNetlinkConstant.scopeUniverse,
            RouteNetlinkConstant.routeTypeUnicast, 0, 0, 0, 0,
        ]
        var m = NetlinkWriter()
        m.beginMessage(type: type, flags: Netlink.flagRequest | Netlink.flagAck | flags, sequence: nextSequence())
        m.appendRaw(body)
        m.attribute(RouteNetlinkConstant.rtaDestination, bytes: r.destination.bytes)
        if let gw = r.gateway { m.attribute(RouteNetlinkConstant.rtaGateway, bytes: gw.bytes) }
        if let src = r.source { m.attribute(RouteNetlinkConstant.rtaPreferredSource, bytes: src.bytes) }
        if let index = interfaceIndex { m.attribute(RouteNetlinkConstant.rtaOutputInterface, index) }
        m.endMessage()
        let op = type == RouteNetlinkConstant.newRoute ? "add route" : "delete route"
        try transact(m.bytes, operation: op, context: "\(r.destination)/\(r.prefixLength)", ignoring: ignoring)
    }

    private func nextSequence() -> UInt32 {
        sequence.withLock {
            $0 &+= 1
            return $0
        }
    }

    /// Sends one request and waits for its acknowledgement.
    private func transact(_ message: [UInt8], operation: String, context: String, ignoring: [Int32]) throws(RouteNetlinkError) {
        let seq: UInt32 = message.withUnsafeBytes { $0.load(fromByteOffset: 8, as: UInt32.self) }
        do {
            _ = try message.withUnsafeBytes { raw in
                try systemCall("send", context: "netlink") { send(fd, raw.baseAddress, raw.count, 0) }
            }
            var buffer = [UInt8](repeating: 0, count: 8192)
            for _ in 0..<16 {
                let n = try buffer.withUnsafeMutableBytes { raw in
                    try systemCall("recv", context: "netlink") { recv(fd, raw.baseAddress, raw.count, 0) }
                }
                let messages: [NetlinkMessage]
                do { messages = try NetlinkMessage.parse(buffer[..<n]) } catch { throw RouteNetlinkError(operation: operation, context: context, errno: Errno(EBADMSG)) }
                for m in messages where m.type == Netlink.messageError && m.sequence == seq {
                    guard let code = try? m.errorPayload().code else {
                        throw RouteNetlinkError(operation: operation, context: context, errno: Errno(EBADMSG))
                    }
                    if code == 0 || ignoring.contains(-code) { return }
                    throw RouteNetlinkError(operation: operation, context: context, errno: Errno(-code))
                }
            }
            throw RouteNetlinkError(operation: operation, context: context, errno: Errno(ETIMEDOUT))
        } catch let e as RouteNetlinkError {
            throw e
        } catch let e as SystemCallError {
            throw RouteNetlinkError(operation: operation, context: context, errno: e.errno)
        } catch {
            throw RouteNetlinkError(operation: operation, context: context, errno: Errno(EIO))
        }
    }
}

/// Link state changes from rtnetlink (`RTMGRP_LINK`), read on a dedicated thread.
public final class LinkMonitor: @unchecked Sendable {
    private let fd: Int32

    public init() throws(SystemCallError) {
        fd = try systemCall("socket", context: "AF_NETLINK/NETLINK_ROUTE") {
            socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), RouteNetlinkConstant.protocolRoute)
        }
        try bindNetlink(fd, groups: RouteNetlinkConstant.groupLink)
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Reads one batch of events: (interface index, name, up and running). Empty on timeout.
    public func read() -> [(index: UInt32, name: String?, up: Bool)] {
        var buffer = [UInt8](repeating: 0, count: 16384)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return [] }
        return Self.linkEvents(buffer[..<n])
    }

    /// The link events in one datagram; a malformed message ends the batch, never the process.
    static func linkEvents(_ datagram: ArraySlice<UInt8>) -> [(index: UInt32, name: String?, up: Bool)] {
        guard let messages = try? NetlinkMessage.parse(datagram) else { return [] }
        var out: [(index: UInt32, name: String?, up: Bool)] = []
        for m in messages where m.type == RouteNetlinkConstant.newLink || m.type == RouteNetlinkConstant.deleteLink {
            // struct ifinfomsg (16 bytes): family, pad, type (u16), index (i32), flags (u32), change (u32).
            guard let index = WireRead.integer(UInt32.self, m.payload, at: 4),
                  let flags = WireRead.integer(UInt32.self, m.payload, at: 8),
                  let attributes = try? NetlinkAttributes(m.payload.dropFirst(16)) else { continue }
            let up = m.type == RouteNetlinkConstant.newLink
                && flags & RouteNetlinkConstant.interfaceUp != 0 && flags & RouteNetlinkConstant.interfaceRunning != 0
            out.append((index, attributes.string(RouteNetlinkConstant.iflaName), up))
        }
        return out
    }
}

/// Whether an interface is up and running now (IFF_UP and IFF_RUNNING), read from sysfs.
public func interfaceIsUp(_ name: String) -> Bool {
    guard let flags = readSmallFile("/sys/class/net/\(name)/flags"),
          let value = UInt32(flags.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst(2), radix: 16),
          let carrier = readSmallFile("/sys/class/net/\(name)/carrier") else { return false }
    return value & RouteNetlinkConstant.interfaceUp != 0 && carrier.hasPrefix("1")
}

/// The interface's hardware address from sysfs (6 bytes for Ethernet).
public func interfaceHardwareAddress(_ name: String) -> [UInt8]? {
    guard let text = readSmallFile("/sys/class/net/\(name)/address") else { return nil }
    let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":").compactMap { UInt8($0, radix: 16) }
    return parts.count == 6 ? parts : nil
}

/// Reads a small text file (sysfs, procfs) without Foundation.
func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 256)
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard n >= 0 else { return nil }
    return String(decoding: buffer.prefix(n), as: UTF8.self)
}

/// Binds a netlink socket (struct sockaddr_nl: family, pad, pid 0 = kernel assigns, groups).
private func bindNetlink(_ fd: Int32, groups: UInt32) throws(SystemCallError) {
    var addr: [UInt8] = []
    withUnsafeBytes(of: UInt16(AF_NETLINK)) { addr += $0 }
    addr += [0, 0, 0, 0, 0, 0]
    withUnsafeBytes(of: groups) { addr += $0 }
    try systemCall("bind", context: "netlink") {
        addr.withUnsafeBytes { bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(addr.count)) }
    }
}
