// libFuzzer entry point for PING_CHECK's echo reply matcher (built by Scripts/fuzz/decoders.sh
// together with Sources/HealthCheck/ICMPEcho.swift, in one module).

@_cdecl("LLVMFuzzerTestOneInput")
public func icmpFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let id: UInt16 = size > 1 ? UInt16(bytes[0]) << 8 | UInt16(bytes[1]) : 0
    let seq: UInt16 = size > 3 ? UInt16(bytes[2]) << 8 | UInt16(bytes[3]) : 0
    // Any datagram, judged as each socket kind delivers them: never a crash; a match carries our id and sequence.
    for (version, header) in [(ICMPEcho.Version.v4, true), (.v4, false), (.v6, false)] {
        let m = ICMPEchoReplyMatcher(version: version, identifier: id, sequence: seq, includesIPv4Header: header)
        if m.judge(bytes) == .reply {
            let offset = header ? Int(bytes[0] & 0x0F) * 4 : 0
            guard UInt16(bytes[offset + 4]) << 8 | UInt16(bytes[offset + 5]) == id,
                  UInt16(bytes[offset + 6]) << 8 | UInt16(bytes[offset + 7]) == seq else { fatalError("matched another probe's reply") }
        }
    }
    // A well-formed reply to a request built from the input always matches.
    var reply = ICMPEcho(version: .v4, identifier: id, sequence: seq, data: Array(bytes.dropFirst(4))).request
    reply[0] = ICMPEcho.echoReplyV4
    reply[2] = 0
    reply[3] = 0
    let sum = ~ICMPEcho.onesComplementSum(reply[...])
    reply[2] = UInt8(sum >> 8)
    reply[3] = UInt8(sum & 0xFF)
    let header: [UInt8] = [0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]
    let raw = ICMPEchoReplyMatcher(version: .v4, identifier: id, sequence: seq, includesIPv4Header: true)
    if raw.judge(header + reply) != .reply { fatalError("a valid reply was not matched") }
    return 0
}
