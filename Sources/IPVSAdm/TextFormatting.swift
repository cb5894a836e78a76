import VigilSupport

/// printf-style padding helpers used to reproduce ipvsadm's column layout exactly.
///
/// Widths count bytes, as C's `printf("%-28s")` does (names are ASCII in practice), which is
/// also much cheaper than counting grapheme clusters.
extension String {
    /// `%-Ns`: left-justified in a field of at least `width` bytes (never truncated).
    func leftPadded(to width: Int) -> String {
        let n = utf8.count
        return n >= width ? self : self + String(repeating: " ", count: width - n)
    }

    /// `%Ns`: right-justified in a field of at least `width` bytes (never truncated).
    func rightPadded(to width: Int) -> String {
        let n = utf8.count
        return n >= width ? self : String(repeating: " ", count: width - n) + self
    }

    /// Appends `text` as `%-Ns` would print it, without building the padded copy.
    mutating func appendLeftJustified(_ text: String, width: Int) {
        append(text)
        let n = text.utf8.count
        if n < width { append(contentsOf: repeatElement(" " as Character, count: width - n)) }
    }

    /// The first `length` bytes, as ipvsadm's `buf[length] = '\0'` does.
    func truncated(to length: Int) -> String {
        utf8.count <= length ? self : String(decoding: utf8.prefix(length), as: UTF8.self)
    }

    /// All ASCII digits (and not empty).
    var isASCIIDigits: Bool { !utf8.isEmpty && utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }
    /// Contains an ASCII letter.
    var hasASCIILetter: Bool { utf8.contains { ($0 | 0x20) >= 97 && ($0 | 0x20) <= 122 } }
}

extension Substring {
    var isASCIIDigits: Bool { !utf8.isEmpty && utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }
    var hasASCIILetter: Bool { utf8.contains { ($0 | 0x20) >= 97 && ($0 | 0x20) <= 122 } }
}

extension IPAddress {
    /// Text form without going through `inet_ntop` for IPv4 (listings print thousands of these).
    var fastText: String {
        if case .v4(let v) = self {
            return "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
        }
        return description
    }
}

/// A listing under construction, as bytes: what `printf` writes, without `String`'s per-append
/// cost (a 1,000 × 10 table is 11,000 lines, and the lab VM emulates every instruction).
struct TextBuffer {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func append(byte: UInt8) { bytes.append(byte) }

    mutating func appendSpaces(_ count: Int) {
        var n = count
        while n > 0 {
            let k = min(n, Self.spaces.count)
            bytes.append(contentsOf: Self.spaces[0..<k])
            n -= k
        }
    }

    private static let spaces = [UInt8](repeating: UInt8(ascii: " "), count: 64)

    /// `%-Ns`: `s`, then spaces up to `width` bytes.
    mutating func appendLeft(_ s: String, width: Int) {
        let before = bytes.count
        append(s)
        appendSpaces(width - (bytes.count - before))
    }

    /// `%Ns`: spaces up to `width` bytes, then `s`.
    mutating func appendRight(_ s: String, width: Int) {
        appendSpaces(width - s.utf8.count)
        append(s)
    }

    /// `%-Nu`: the decimal digits of `value`, then spaces up to `width` bytes.
    mutating func appendLeft(_ value: UInt64, width: Int) {
        let before = bytes.count
        appendDecimal(value)
        appendSpaces(width - (bytes.count - before))
    }

    /// `%-Nd`: the decimal form of `value`, then spaces up to `width` bytes.
    mutating func appendLeft(_ value: Int64, width: Int) {
        let before = bytes.count
        appendDecimal(value)
        appendSpaces(width - (bytes.count - before))
    }

    /// `%Nu`: spaces up to `width` bytes, then the decimal digits of `value`.
    mutating func appendRight(_ value: UInt64, width: Int) {
        appendSpaces(width - Self.digitCount(value))
        appendDecimal(value)
    }

    /// `%d`.
    mutating func appendDecimal(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDecimal(value.magnitude)
    }

    /// `%u`.
    mutating func appendDecimal(_ value: UInt64) {
        // Digits are produced last to first into a 24-byte scratch area (UInt64.max has 20).
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &scratch) { raw in
            var i = raw.count
            var v = value
            repeat {
                i -= 1
                raw[i] = UInt8(truncatingIfNeeded: v % 10) &+ UInt8(ascii: "0")
                v /= 10
            } while v != 0
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[i...]))
        }
    }

    static func digitCount(_ value: UInt64) -> Int {
        var n = 1
        var v = value
        while v >= 10 { v /= 10; n += 1 }
        return n
    }

    /// Dotted-quad text of an IPv4 address held in host order.
    mutating func appendIPv4(_ v: UInt32) {
        appendDecimal(UInt64(v >> 24))
        bytes.append(UInt8(ascii: "."))
        appendDecimal(UInt64(v >> 16 & 0xFF))
        bytes.append(UInt8(ascii: "."))
        appendDecimal(UInt64(v >> 8 & 0xFF))
        bytes.append(UInt8(ascii: "."))
        appendDecimal(UInt64(v & 0xFF))
    }
}
