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
