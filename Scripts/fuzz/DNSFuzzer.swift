// libFuzzer entry point for DNS_CHECK's response matcher (built by Scripts/fuzz/decoders.sh
// together with Sources/HealthCheck/DNSMessage.swift, in one module).

@_cdecl("LLVMFuzzerTestOneInput")
public func dnsFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Any datagram against a fixed query and against a query for the input's own id: no crash;
    // a response always carries the query's id and QR.
    for query in [DNSQuery(id: 0x1234, name: "example.com", type: 1),
                  DNSQuery(id: size > 1 ? UInt16(bytes[0]) << 8 | UInt16(bytes[1]) : 0, name: ".", type: 6)] {
        if case .response = DNSResponseMatcher(query: query).judge(bytes) {
            guard bytes.count >= 12, UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == query.id, bytes[2] & 0x80 != 0 else {
                fatalError("accepted a message that does not answer the query")
            }
        }
    }
    // A query for a name made from the input, answered by echoing it with QR set, is a response.
    let label = String(decoding: bytes.prefix(63).map { $0 % 26 + 0x61 }, as: UTF8.self)
    let query = DNSQuery(id: 42, name: label.isEmpty ? "." : label + ".example", type: 16)
    var answer = query.encoded
    answer[2] |= 0x80
    if DNSResponseMatcher(query: query).judge(answer) != .response(rcode: 0) { fatalError("own answer refused") }
    return 0
}
