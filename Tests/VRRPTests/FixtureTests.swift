import Foundation
import Testing
import VigilSupport
@testable import VRRP

/// Reads the Ethernet frames of a classic little-endian pcap file.
func pcapFrames(_ name: String) throws -> [[UInt8]] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/vrrp/\(name)")
    let b = [UInt8](try Data(contentsOf: url))
    var out: [[UInt8]] = []
    var offset = 24
    while offset + 16 <= b.count {
        let caplen = Int(b[offset + 8]) | Int(b[offset + 9]) << 8 | Int(b[offset + 10]) << 16 | Int(b[offset + 11]) << 24
        offset += 16
        guard offset + caplen <= b.count else { break }
        out.append(Array(b[offset..<offset + caplen]))
        offset += caplen
    }
    return out
}

@Suite("Packets captured from keepalived 2.2.7")
struct FixtureTests {
    private func adverts(_ name: String) throws -> [(IPv4HeaderInfo, [UInt8], VRRPAdvertisement)] {
        try pcapFrames(name).map { frame in
            let ip = Array(frame.dropFirst(14))  // Ethernet header
            let h = try #require(IPv4HeaderInfo(ip))
            let payload = Array(ip[h.payloadOffset..<h.totalLength])
            return (h, payload, try VRRPCodec.decode(payload, source: h.source, destination: h.destination, ttl: h.ttl))
        }
    }

    @Test func decodesV2WithPasswordAndReencodesIdentically() throws {
        let all = try adverts("keepalived-2.2.7-v2-pass-secret12-prio150.pcap")
        #expect(!all.isEmpty)
        for (h, payload, a) in all {
            #expect(h.ttl == 255 && h.destination == VRRPConstants.multicastV4)
            #expect(a.version == .v2 && a.virtualRouterID == 51 && a.priority == 150 && a.intervalCentiseconds == 100)
            #expect(a.authentication == .password("secret12") && a.addresses == [IPAddress("192.0.2.100")!])
            #expect(VRRPCodec.encode(a, source: h.source, destination: h.destination) == payload)
        }
    }

    @Test func decodesV3AndReencodesIdentically() throws {
        let all = try adverts("keepalived-2.2.7-v3-advert0.1-prio150.pcap")
        #expect(!all.isEmpty)
        for (h, payload, a) in all {
            #expect(a.version == .v3 && a.priority == 150 && a.intervalCentiseconds == 10)
            #expect(VRRPCodec.encode(a, source: h.source, destination: h.destination) == payload)
        }
    }

    @Test func capturedPacketsPassTheInstanceFilter() throws {
        let filter = VRRPReceiveFilter(version: .v2, virtualRouterID: 51, authentication: .password("secret12"),
                                       intervalCentiseconds: 100, addresses: [IPAddress("192.0.2.100")!])
        for (_, _, a) in try adverts("keepalived-2.2.7-v2-pass-secret12-prio150.pcap") { try filter.check(a) }
        let wrong = VRRPReceiveFilter(version: .v2, virtualRouterID: 51, authentication: .password("other"),
                                      intervalCentiseconds: 100, addresses: [IPAddress("192.0.2.100")!])
        for (_, _, a) in try adverts("keepalived-2.2.7-v2-pass-secret12-prio150.pcap") {
            #expect(throws: VRRPPacketError.self) { try wrong.check(a) }
        }
    }
}
