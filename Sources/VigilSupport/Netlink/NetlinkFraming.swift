import CVigilSystem

/// Netlink framing constants (linux/netlink.h, RFC 3549 §2.3.2), named once for Swift.
///
/// Shared by generic netlink (IPVS) and rtnetlink (VRRP's addresses, routes and link events).
public enum Netlink {
    /// `sizeof(struct nlmsghdr)`: length, type, flags, sequence, port id (RFC 3549 §2.3.2).
    public static let headerSize = 16
    /// `GENL_HDRLEN`: command, version, reserved.
    public static let genericHeaderSize = 4
    /// `NLA_HDRLEN`: attribute length and type.
    public static let attributeHeaderSize = 4

    /// `NLMSG_ERROR`: an error or acknowledgement.
    public static let messageError = UInt16(NLMSG_ERROR)
    /// `NLMSG_DONE`: the end of a multi-part dump.
    public static let messageDone = UInt16(NLMSG_DONE)
    /// `NLMSG_NOOP`.
    public static let messageNoop = UInt16(NLMSG_NOOP)
    /// `NLMSG_OVERRUN`.
    public static let messageOverrun = UInt16(NLMSG_OVERRUN)

    /// `NLM_F_REQUEST`.
    public static let flagRequest = UInt16(NLM_F_REQUEST)
    /// `NLM_F_MULTI`: part of a multi-part reply.
    public static let flagMulti = UInt16(NLM_F_MULTI)
    /// `NLM_F_ACK`: asks the kernel for an acknowledgement.
    public static let flagAck = UInt16(NLM_F_ACK)
    /// `NLM_F_REPLACE`: replaces an existing object.
    public static let flagReplace = UInt16(NLM_F_REPLACE)
    /// `NLM_F_EXCL`: fails when the object exists.
    public static let flagExclusive = UInt16(NLM_F_EXCL)
    /// `NLM_F_CREATE`: creates the object when absent.
    public static let flagCreate = UInt16(NLM_F_CREATE)
    /// `NLM_F_DUMP_INTR`: the table changed while it was being dumped.
    public static let flagDumpInterrupted = UInt16(NLM_F_DUMP_INTR)
    /// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
    public static let flagDump = UInt16(NLM_F_ROOT | NLM_F_MATCH)
    /// `NLM_F_CAPPED`: the error message carries only the request's header.
    public static let flagCapped = UInt16(NLM_F_CAPPED)
    /// `NLM_F_ACK_TLVS`: extended-ack attributes follow the error message.
    public static let flagAckTLVs = UInt16(NLM_F_ACK_TLVS)

    /// `NLA_F_NESTED`: the attribute holds attributes.
    public static let attributeNested = UInt16(NLA_F_NESTED)
    /// `NLA_TYPE_MASK`: strips the nested / byte-order bits from an attribute type.
    public static let attributeTypeMask = UInt16(truncatingIfNeeded: ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER))

    /// `NLMSGERR_ATTR_MSG`: the kernel's extended-ack error text.
    public static let errorAttributeMessage = UInt16(NLMSGERR_ATTR_MSG.rawValue)

    /// Rounds up to the 4-byte netlink alignment (`NLMSG_ALIGN`, `NLA_ALIGN`).
    @inlinable @inline(__always)
    public static func align(_ n: Int) -> Int { (n + 3) & ~3 }
}

/// Builds a buffer of one or more netlink messages, attribute by attribute.
///
/// Integers are written in host byte order, as netlink requires, except where a `bigEndian`
/// method says otherwise (ports, IPv4 netmasks).
public struct NetlinkWriter: Sendable {
    public var bytes: [UInt8] = []
    @usableFromInline var messageStart = -1
    @usableFromInline var nests: [Int] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    /// Starts a message with its `nlmsghdr`; a family's fixed header follows with `appendRaw`.
    public mutating func beginMessage(type: UInt16, flags: UInt16, sequence: UInt32) {
        precondition(messageStart < 0, "message already open")
        messageStart = bytes.count
        appendInteger(UInt32(0))  // length, patched in endMessage
        appendInteger(type)
        appendInteger(flags)
        appendInteger(sequence)
        appendInteger(UInt32(0))  // port id: the kernel fills it in
    }

    /// Starts a generic-netlink message: `nlmsghdr` then `genlmsghdr`.
    public mutating func beginMessage(type: UInt16, flags: UInt16, sequence: UInt32, command: UInt8, version: UInt8) {
        beginMessage(type: type, flags: flags, sequence: sequence)
        bytes.append(command)
        bytes.append(version)
        appendInteger(UInt16(0))
    }

    /// Finishes the open message by writing its length.
    public mutating func endMessage() {
        precondition(messageStart >= 0 && nests.isEmpty, "no message open or nest left open")
        patch(UInt32(bytes.count - messageStart), at: messageStart)
        messageStart = -1
    }

    /// Byte count of everything written so far.
    public var count: Int { bytes.count }

    /// Appends already-encoded bytes: whole messages, or a family's fixed header (`ifaddrmsg`, `rtmsg`).
    public mutating func appendRaw(_ raw: some Collection<UInt8>) {
        bytes.append(contentsOf: raw)
        pad()
    }

    public mutating func attribute(_ type: UInt16, bytes payload: some Collection<UInt8>) {
        appendInteger(UInt16(Netlink.attributeHeaderSize + payload.count))
        appendInteger(type)
        bytes.append(contentsOf: payload)
        pad()
    }

    public mutating func attribute(_ type: UInt16, _ value: UInt8) {
        attribute(type, bytes: CollectionOfOne(value))
    }

    @inlinable
    public mutating func attribute<T: FixedWidthInteger>(_ type: UInt16, _ value: T) {
        appendInteger(UInt16(Netlink.attributeHeaderSize + MemoryLayout<T>.size))
        appendInteger(type)
        appendInteger(value)
        pad()
    }

    /// An integer in network byte order (`nla_put_be16` / `nla_put_be32`).
    @inlinable
    public mutating func attribute<T: FixedWidthInteger>(_ type: UInt16, bigEndian value: T) {
        attribute(type, value.bigEndian)
    }

    /// A NUL-terminated string (`nla_put_string`).
    public mutating func attribute(_ type: UInt16, string: String) {
        attribute(type, bytes: Array(string.utf8) + [0])
    }

    public mutating func beginNested(_ type: UInt16) {
        nests.append(bytes.count)
        appendInteger(UInt16(0))
        appendInteger(type | Netlink.attributeNested)
    }

    public mutating func endNested() {
        let start = nests.removeLast()
        patch(UInt16(bytes.count - start), at: start)
    }

    @inlinable
    mutating func appendInteger<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    @inlinable
    mutating func pad() {
        let padding = Netlink.align(bytes.count) - bytes.count
        if padding > 0 { bytes.append(contentsOf: repeatElement(0, count: padding)) }
    }

    private mutating func patch<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeBytes(of: value) { raw in
            for (i, b) in raw.enumerated() { bytes[offset + i] = b }
        }
    }
}

/// A reason a netlink reply could not be decoded (truncated, a length that does not fit, a missing field).
public struct NetlinkDecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Reads host-order integers from a byte slice without alignment assumptions.
public enum WireRead {
    @inlinable @inline(__always)
    public static func integer<T: FixedWidthInteger>(_ type: T.Type, _ bytes: ArraySlice<UInt8>, at offset: Int) -> T? {
        guard offset >= 0, offset + MemoryLayout<T>.size <= bytes.count else { return nil }
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }
}

/// One netlink message inside a received datagram.
public struct NetlinkMessage: Equatable, Sendable {
    public var type: UInt16
    public var flags: UInt16
    public var sequence: UInt32
    public var portID: UInt32
    /// Everything after the 16-byte header.
    public var payload: ArraySlice<UInt8>

    public init(type: UInt16, flags: UInt16, sequence: UInt32, portID: UInt32, payload: ArraySlice<UInt8>) {
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
        self.payload = payload
    }

    /// Splits a datagram into messages, checking every length against the buffer.
    public static func parse(_ buffer: ArraySlice<UInt8>) throws(NetlinkDecodeError) -> [NetlinkMessage] {
        var messages: [NetlinkMessage] = []
        var offset = 0
        let total = buffer.count
        while total - offset >= Netlink.headerSize {
            let slice = buffer.dropFirst(offset)
            guard let length = WireRead.integer(UInt32.self, slice, at: 0),
                  let type = WireRead.integer(UInt16.self, slice, at: 4),
                  let flags = WireRead.integer(UInt16.self, slice, at: 6),
                  let sequence = WireRead.integer(UInt32.self, slice, at: 8),
                  let port = WireRead.integer(UInt32.self, slice, at: 12)
            else { throw NetlinkDecodeError("truncated netlink header") }
            guard length >= UInt32(Netlink.headerSize), Int(length) <= total - offset else {
                throw NetlinkDecodeError("netlink message length \(length) does not fit the \(total - offset) bytes received")
            }
            let start = slice.startIndex
            messages.append(NetlinkMessage(
                type: type, flags: flags, sequence: sequence, portID: port,
                payload: buffer[(start + Netlink.headerSize)..<(start + Int(length))]))
            offset += Netlink.align(Int(length))
        }
        if offset < total && total - offset > 0 && messages.isEmpty {
            throw NetlinkDecodeError("datagram of \(total) bytes is shorter than a netlink header")
        }
        return messages
    }

    /// For `NLMSG_ERROR`: the (negative) errno, 0 for an acknowledgement, plus the kernel's
    /// extended-ack text when it sent one.
    public func errorPayload() throws(NetlinkDecodeError) -> (code: Int32, text: String?) {
        guard let code = WireRead.integer(Int32.self, payload, at: 0) else {
            throw NetlinkDecodeError("error message without an error code")
        }
        var text: String?
        if flags & Netlink.flagAckTLVs != 0 {
            // The original request header (and, uncapped, its payload) precedes the TLVs.
            var skip = 4 + Netlink.headerSize
            if flags & Netlink.flagCapped == 0, let originalLength = WireRead.integer(UInt32.self, payload, at: 4) {
                skip = 4 + Netlink.align(Int(originalLength))
            }
            if skip <= payload.count,
               let attributes = try? NetlinkAttributes(payload.dropFirst(skip)),
               let message = attributes.string(Netlink.errorAttributeMessage) {
                text = message
            }
        }
        return (code, text)
    }

    /// For generic-netlink messages: the command byte and the top-level attributes.
    public func genericPayload() throws(NetlinkDecodeError) -> (command: UInt8, attributes: NetlinkAttributes) {
        guard payload.count >= Netlink.genericHeaderSize else {
            throw NetlinkDecodeError("generic netlink message shorter than its header")
        }
        let command = payload[payload.startIndex]
        return (command, try NetlinkAttributes(payload.dropFirst(Netlink.genericHeaderSize)))
    }
}

/// The attributes of one message or nest, by type (the last occurrence of a type wins).
///
/// Stored as one slot per type for the small type numbers netlink families use, so decoding a
/// large dump allocates one array per nest rather than a dictionary.
public struct NetlinkAttributes: Equatable, Sendable {
    @usableFromInline let bytes: ArraySlice<UInt8>
    /// Per type: the payload's (start, end) indices into `bytes`, or (-1, -1) when absent.
    @usableFromInline var slots: [(Int, Int)]
    @usableFromInline var overflow: [UInt16: Range<Int>] = [:]
    @usableFromInline static let slotCount = 32

    public static func == (a: NetlinkAttributes, b: NetlinkAttributes) -> Bool {
        a.types == b.types && a.types.allSatisfy { a[$0] == b[$0] }
    }

    public init(_ bytes: ArraySlice<UInt8>) throws(NetlinkDecodeError) {
        self.bytes = bytes
        self.slots = Array(repeating: (-1, -1), count: Self.slotCount)
        var offset = 0
        let total = bytes.count
        let base = bytes.startIndex
        while total - offset >= Netlink.attributeHeaderSize {
            guard let length = WireRead.integer(UInt16.self, bytes, at: offset),
                  let rawType = WireRead.integer(UInt16.self, bytes, at: offset + 2)
            else { throw NetlinkDecodeError("truncated attribute header") }
            guard Int(length) >= Netlink.attributeHeaderSize, Int(length) <= total - offset else {
                throw NetlinkDecodeError("attribute \(rawType & Netlink.attributeTypeMask) length \(length) exceeds the \(total - offset) bytes left")
            }
            let type = rawType & Netlink.attributeTypeMask
            let start = base + offset + Netlink.attributeHeaderSize
            let end = base + offset + Int(length)
            if Int(type) < Self.slotCount {
                slots[Int(type)] = (start, end)
            } else {
                overflow[type] = start..<end
            }
            offset += Netlink.align(Int(length))
        }
    }

    /// The types present, ascending.
    public var types: [UInt16] {
        (0..<UInt16(Self.slotCount)).filter { slots[Int($0)].0 >= 0 } + overflow.keys.sorted()
    }

    @inlinable
    public subscript(_ type: UInt16) -> ArraySlice<UInt8>? {
        if Int(type) < Self.slotCount {
            let (start, end) = slots[Int(type)]
            return start < 0 ? nil : bytes[start..<end]
        }
        return overflow[type].map { bytes[$0] }
    }

    @inlinable
    public func contains(_ type: UInt16) -> Bool { self[type] != nil }

    /// A fixed-size integer; nil when absent, an error when present with the wrong size.
    @inlinable
    public func integer<T: FixedWidthInteger>(_ type: UInt16, as: T.Type = T.self) throws(NetlinkDecodeError) -> T? {
        guard let (start, count) = span(type) else { return nil }
        guard count >= MemoryLayout<T>.size else {
            throw NetlinkDecodeError("attribute \(type) has \(count) bytes, expected \(MemoryLayout<T>.size)")
        }
        return load(T.self, at: start)
    }

    /// Where the payload of `type` starts (relative to `bytes`) and how long it is; read without
    /// building a slice, as the integer accessors are called ~25 times per listed destination.
    @inlinable @inline(__always)
    func span(_ type: UInt16) -> (start: Int, count: Int)? {
        if Int(type) < Self.slotCount {
            let (start, end) = slots[Int(type)]
            return start < 0 ? nil : (start - bytes.startIndex, end - start)
        }
        return overflow[type].map { ($0.lowerBound - bytes.startIndex, $0.count) }
    }

    @inlinable @inline(__always)
    func load<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    /// A big-endian integer (`nla_get_be16` / `nla_get_be32`).
    @inlinable
    public func bigEndian<T: FixedWidthInteger>(_ type: UInt16, as: T.Type = T.self) throws(NetlinkDecodeError) -> T? {
        try integer(type, as: T.self).map { T(bigEndian: $0) }
    }

    /// A counter sent either as u32 or as u64 (the 32-bit and 64-bit statistics differ).
    @inlinable
    public func counter(_ type: UInt16) throws(NetlinkDecodeError) -> UInt64? {
        guard let (start, count) = span(type) else { return nil }
        switch count {
        case 8...: return load(UInt64.self, at: start)
        case 4..<8: return UInt64(load(UInt32.self, at: start))
        default: throw NetlinkDecodeError("counter attribute \(type) has \(count) bytes")
        }
    }

    /// A string up to its first NUL (`nla_get_string`); invalid UTF-8 is repaired, never fatal.
    public func string(_ type: UInt16) -> String? {
        guard let v = self[type] else { return nil }
        return String(decoding: v.prefix { $0 != 0 }, as: UTF8.self)
    }

    public func nested(_ type: UInt16) throws(NetlinkDecodeError) -> NetlinkAttributes? {
        guard let v = self[type] else { return nil }
        return try NetlinkAttributes(v)
    }
}
