/// Octets written in keepalived's hex notation (UDP_CHECK `payload` and `require_reply`), with
/// optional wildcard nibbles: keepalived's `read_hex_str`.
///
/// Octets are one or two hex digits; spaces and tabs separate them and are otherwise ignored, so
/// `"0a0b"`, `"0a 0b"` and `"a b"` are the same two octets. In a reply pattern `x` or `X` stands
/// for any nibble. Pure and dependency-free: the UDP reply fuzzer compiles this file alone.
public struct HexPattern: Sendable, Hashable, Codable {
    /// The octets; a wildcard nibble is 0 here.
    public var bytes: [UInt8]
    /// Per octet, the bits that are wildcards (`0xF0` for `x5`); all zero without wildcards.
    public var wildcard: [UInt8]

    public init(bytes: [UInt8], wildcard: [UInt8]? = nil) {
        self.bytes = bytes
        self.wildcard = wildcard ?? [UInt8](repeating: 0, count: bytes.count)
    }

    /// Why a hex text was refused.
    public enum ParseError: Error, Hashable, Sendable {
        /// A character that is not a hex digit (or a wildcard where one is allowed), at this offset.
        case invalidCharacter(Character, offset: Int)
        /// No octet at all.
        case empty
    }

    /// Parses `text`; `allowWildcards` accepts `x`/`X` nibbles (reply patterns only).
    public static func parse(_ text: String, allowWildcards: Bool) -> Result<HexPattern, ParseError> {
        let chars = Array(text)
        var bytes: [UInt8] = []
        var masks: [UInt8] = []
        var i = 0
        func nibble(_ c: Character) -> (value: UInt8, wild: Bool)? {
            if let v = c.hexDigitValue, c.isASCII { return (UInt8(v), false) }
            if allowWildcards, c == "x" || c == "X" { return (0, true) }
            return nil
        }
        while i < chars.count {
            if chars[i] == " " || chars[i] == "\t" {
                i += 1
                continue
            }
            guard let high = nibble(chars[i]) else { return .failure(.invalidCharacter(chars[i], offset: i)) }
            i += 1
            if i < chars.count, chars[i] != " ", chars[i] != "\t" {
                guard let low = nibble(chars[i]) else { return .failure(.invalidCharacter(chars[i], offset: i)) }
                i += 1
                bytes.append(high.value << 4 | low.value)
                masks.append((high.wild ? 0xF0 : 0) | (low.wild ? 0x0F : 0))
            } else {
                bytes.append(high.value)
                masks.append(high.wild ? 0x0F : 0)
            }
        }
        guard !bytes.isEmpty else { return .failure(.empty) }
        return .success(HexPattern(bytes: bytes, wildcard: masks))
    }

    /// True when the pattern has a wildcard nibble.
    public var hasWildcards: Bool { wildcard.contains { $0 != 0 } }
}
