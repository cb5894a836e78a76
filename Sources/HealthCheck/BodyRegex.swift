import CPCRE2

/// A compiled PCRE2 pattern (8-bit code units, no JIT); each match has its own match data.
final class CompiledRegex: @unchecked Sendable {
    let code: OpaquePointer

    /// PCRE2's compile options by keepalived's `regex_options` names (check_http.c's table).
    static let optionBits: [String: UInt32] = [
        "allow_empty_class": UInt32(PCRE2_ALLOW_EMPTY_CLASS), "alt_bsux": UInt32(PCRE2_ALT_BSUX),
        "auto_callout": UInt32(PCRE2_AUTO_CALLOUT), "caseless": UInt32(PCRE2_CASELESS),
        "dollar_endonly": UInt32(PCRE2_DOLLAR_ENDONLY), "dotall": UInt32(PCRE2_DOTALL), "dupnames": UInt32(PCRE2_DUPNAMES),
        "extended": UInt32(PCRE2_EXTENDED), "firstline": UInt32(PCRE2_FIRSTLINE),
        "match_unset_backref": UInt32(PCRE2_MATCH_UNSET_BACKREF), "multiline": UInt32(PCRE2_MULTILINE),
        "never_ucp": UInt32(PCRE2_NEVER_UCP), "never_utf": UInt32(PCRE2_NEVER_UTF),
        "no_auto_capture": UInt32(PCRE2_NO_AUTO_CAPTURE), "no_auto_possess": UInt32(PCRE2_NO_AUTO_POSSESS),
        "no_dotstar_anchor": UInt32(PCRE2_NO_DOTSTAR_ANCHOR), "no_start_optimize": UInt32(PCRE2_NO_START_OPTIMIZE),
        "ucp": UInt32(PCRE2_UCP), "ungreedy": UInt32(PCRE2_UNGREEDY), "utf": UInt32(PCRE2_UTF),
        "never_backslash_c": UInt32(PCRE2_NEVER_BACKSLASH_C), "alt_circumflex": UInt32(PCRE2_ALT_CIRCUMFLEX),
        "alt_verbnames": UInt32(PCRE2_ALT_VERBNAMES), "use_offset_limit": UInt32(PCRE2_USE_OFFSET_LIMIT),
    ]

    /// Compiles `pattern`; the error names the offset and PCRE2's message.
    init(_ pattern: String, options: [String]) throws(RegexError) {
        let bits = options.reduce(UInt32(0)) { $0 | (Self.optionBits[$1] ?? 0) }
        var error: Int32 = 0
        var offset = 0
        let bytes = Array(pattern.utf8)
        let compiled = bytes.withUnsafeBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(1, p.count)) {
                vigil_pcre2_compile($0, p.count, bits, &error, &offset)
            }
        }
        guard let compiled else { throw RegexError("regex `\(pattern)` is invalid at offset \(offset): \(Self.message(error))") }
        code = compiled
    }

    deinit { vigil_pcre2_free(code) }

    static func message(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        vigil_pcre2_error_message(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Where the leftmost match at or after `start` begins; nil when there is none.
    func firstMatch(in subject: [UInt8], from start: Int) throws(RegexError) -> Int? {
        guard start <= subject.count else { return nil }
        var error: Int32 = 0
        let r = subject.withUnsafeBufferPointer { p in
            withUnsafePointer(to: UInt8(0)) { empty in
                vigil_pcre2_first_match(code, p.baseAddress ?? empty, p.count, start, &error)
            }
        }
        if r == -2 { throw RegexError("regex match failed: \(Self.message(error))") }
        return r < 0 ? nil : r
    }
}

/// A pattern PCRE2 refused, or a match that failed.
struct RegexError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension BodyRegex {
    /// Why `body` fails this regex (keepalived: a match must start within [min, max] offset;
    /// `regex_no_match` inverts); nil when it passes.
    func judge(_ body: [UInt8]) -> String? {
        let matched: Bool
        do {
            // Compiled per check: microseconds, and nothing kept across reloads.
            let start = try CompiledRegex(pattern, options: options).firstMatch(in: body, from: minOffset)
            matched = start.map { s in maxOffset.map { s <= $0 } ?? true } ?? false
        } catch {
            return error.description
        }
        if matched == noMatch {
            return noMatch ? "body matches regex `\(pattern)` (regex_no_match)" : "body does not match regex `\(pattern)`"
        }
        return nil
    }
}
