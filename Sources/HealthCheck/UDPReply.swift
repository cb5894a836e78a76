/// UDP_CHECK's judgement of a reply datagram, keepalived's `check_udp_reply`, as a pure value
/// (no I/O; the UDP fuzzer compiles this file alone).
struct UDPReplyMatcher: Sendable, Hashable, Codable {
    /// Expected octets (a wildcard nibble is 0 here).
    var expected: [UInt8]
    /// Per expected octet, the bits that may differ (a wildcard `x` nibble is 0xF).
    var wildcard: [UInt8]
    /// `min_reply_length` / `max_reply_length`.
    var minimumLength: Int
    var maximumLength: Int

    /// nil when the reply passes, else why not. As keepalived: the length must lie within the
    /// bounds, and the first min(reply length, pattern length) octets must match, so a reply
    /// shorter than the pattern passes when its octets agree and it is long enough.
    func mismatch(_ reply: [UInt8]) -> String? {
        if reply.count < minimumLength { return "reply of \(reply.count) bytes, shorter than min_reply_length \(minimumLength)" }
        if reply.count > maximumLength { return "reply of \(reply.count) bytes, longer than max_reply_length \(maximumLength)" }
        for i in 0..<min(reply.count, expected.count) {
            let care = i < wildcard.count ? ~wildcard[i] : 0xFF
            if (reply[i] ^ expected[i]) & care != 0 { return "reply differs from the expected data at byte \(i)" }
        }
        return nil
    }
}
