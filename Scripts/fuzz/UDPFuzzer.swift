// libFuzzer entry point for UDP_CHECK's hex notation and reply matcher (built by
// Scripts/fuzz/decoders.sh together with Sources/KeepalivedConfig/HexPattern.swift and
// Sources/HealthCheck/UDPReply.swift, in one module).

@_cdecl("LLVMFuzzerTestOneInput")
public func udpFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // The input as configuration text: parsed or refused, never a crash; a pattern matches its own octets.
    let text = String(decoding: bytes, as: UTF8.self)
    for wild in [false, true] {
        guard case .success(let p) = HexPattern.parse(text, allowWildcards: wild) else { continue }
        if p.bytes.count != p.wildcard.count || p.bytes.isEmpty { fatalError("pattern and mask differ in length") }
        if !wild && p.hasWildcards { fatalError("wildcard accepted in a payload") }
        let m = UDPReplyMatcher(expected: p.bytes, wildcard: p.wildcard, minimumLength: 0, maximumLength: p.bytes.count)
        if let why = m.mismatch(p.bytes) { fatalError("pattern refused its own octets: \(why)") }
    }
    // The input as a reply against a pattern taken from its first half: no crash, and the bounds hold.
    let half = bytes.count / 2
    let m = UDPReplyMatcher(expected: Array(bytes.prefix(half)), wildcard: Array(bytes.prefix(half / 2)),
                            minimumLength: Int(bytes.first ?? 0) % 8, maximumLength: Int(bytes.last ?? 255))
    if m.mismatch(bytes) == nil, bytes.count < m.minimumLength || bytes.count > m.maximumLength { fatalError("length bound ignored") }
    return 0
}
