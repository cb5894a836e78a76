import Testing
import VigilSupport
@testable import VRRP

private let vip = IPAddress("192.0.2.100")!
private let src = IPAddress("192.0.2.1")!
private let group = VRRPConstants.multicastV4

@Suite("VRRP codec")
struct CodecTests {
    /// RFC 3768 section 5.1 layout, PASS auth "secret", checksum computed independently.
    static let goldenV2: [UInt8] = [0x21, 51, 100, 1, 1, 1, 0x7B, 0x19, 192, 0, 2, 100] + Array("secret".utf8) + [0, 0]
    /// RFC 5798 section 5.1 layout, IPv4, interval 100 cs, pseudo-header 192.0.2.1 -> 224.0.0.18.
    static let goldenV3: [UInt8] = [0x31, 51, 100, 1, 0, 100, 0x05, 0x72, 192, 0, 2, 100]
    /// RFC 5798 IPv6: fe80::1 -> ff02::12, VRID 7, priority 200, 5 cs.
    static let goldenV6: [UInt8] = [0x31, 7, 200, 1, 0, 5, 0xDA, 0x19] + IPAddress("2001:db8::100")!.bytes

    @Test func encodesV2WithPasswordAsTheRFCLaysItOut() {
        let adv = VRRPAdvertisement(version: .v2, virtualRouterID: 51, priority: 100, intervalCentiseconds: 100,
                                    addresses: [vip], authentication: .password("secret"))
        #expect(VRRPCodec.encode(adv, source: src, destination: group) == Self.goldenV2)
    }

    @Test func encodesV3WithThePseudoHeaderChecksum() {
        let adv = VRRPAdvertisement(version: .v3, virtualRouterID: 51, priority: 100, intervalCentiseconds: 100, addresses: [vip])
        #expect(VRRPCodec.encode(adv, source: src, destination: group) == Self.goldenV3)
    }

    @Test func encodesV3OverIPv6() {
        let adv = VRRPAdvertisement(version: .v3, virtualRouterID: 7, priority: 200, intervalCentiseconds: 5,
                                    addresses: [IPAddress("2001:db8::100")!])
        #expect(VRRPCodec.encode(adv, source: IPAddress("fe80::1")!, destination: VRRPConstants.multicastV6) == Self.goldenV6)
    }

    @Test func decodesGoldenPackets() throws {
        let a = try VRRPCodec.decode(Self.goldenV2, source: src, destination: group, ttl: 255)
        #expect(a.version == .v2 && a.virtualRouterID == 51 && a.priority == 100 && a.intervalCentiseconds == 100)
        #expect(a.authentication == .password("secret") && a.addresses == [vip])
        let b = try VRRPCodec.decode(Self.goldenV3, source: src, destination: group, ttl: 255)
        #expect(b.version == .v3 && b.intervalCentiseconds == 100 && b.authentication == .none)
        let c = try VRRPCodec.decode(Self.goldenV6, source: IPAddress("fe80::1")!, destination: VRRPConstants.multicastV6, ttl: 255)
        #expect(c.addresses == [IPAddress("2001:db8::100")!] && c.intervalCentiseconds == 5)
    }

    @Test func roundTripsManyAddressesAndLongIntervals() throws {
        let addrs = (0..<20).map { IPAddress("198.51.100.0")!.adding(UInt32($0))! }
        let adv = VRRPAdvertisement(version: .v3, virtualRouterID: 255, priority: 255, intervalCentiseconds: 4095, addresses: addrs)
        let bytes = VRRPCodec.encode(adv, source: src, destination: group)
        #expect(try VRRPCodec.decode(bytes, source: src, destination: group, ttl: 255) == adv)
    }

    private func reason(_ bytes: [UInt8], ttl: UInt8 = 255, source: IPAddress = src) -> VRRPDropReason? {
        do {
            _ = try VRRPCodec.decode(bytes, source: source, destination: group, ttl: ttl)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func dropsWrongTTL() { #expect(reason(Self.goldenV2, ttl: 64) == .badTTL) }

    @Test func dropsBadChecksum() {
        var b = Self.goldenV2
        b[2] = 101
        #expect(reason(b) == .badChecksum)
        // v3 checksum depends on the source address (pseudo-header).
        #expect(reason(Self.goldenV3, source: IPAddress("192.0.2.2")!) == .badChecksum)
    }

    @Test func dropsUnknownVersionAndType() {
        var b = Self.goldenV2
        b[0] = 0x41
        #expect(reason(b) == .badVersion)
        b[0] = 0x22
        #expect(reason(b) == .badType)
    }

    @Test func dropsTruncatedPacketsAndZeroCounts() {
        #expect(reason(Array(Self.goldenV2.prefix(5))) == .badLength)
        #expect(reason(Array(Self.goldenV2.prefix(15))) == .badLength)
        var b = Self.goldenV3
        b[3] = 3
        #expect(reason(b) == .badLength)
        b[3] = 0
        #expect(reason(b) == .badAddressCount)
    }

    @Test func neverCrashesOnArbitraryBytes() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let n = Int.random(in: 0..<80, using: &rng)
            var b = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if !b.isEmpty { b[0] = [0x21, 0x31, 0x11][Int.random(in: 0..<3, using: &rng)] }
            _ = reason(b)
            _ = IPv4HeaderInfo(b)
        }
    }

    @Test func filterChecksVRIDAuthIntervalAndAddresses() throws {
        let filter = VRRPReceiveFilter(version: .v2, virtualRouterID: 51, authentication: .password("secret"),
                                       intervalCentiseconds: 100, addresses: [vip])
        let good = try VRRPCodec.decode(Self.goldenV2, source: src, destination: group, ttl: 255)
        try filter.check(good)
        func why(_ a: VRRPAdvertisement) -> VRRPDropReason? {
            do { try filter.check(a); return nil } catch { return error.reason }
        }
        var a = good
        a.virtualRouterID = 52
        #expect(why(a) == .unknownVRID)
        a = good
        a.authentication = .password("wrong")
        #expect(why(a) == .authFailure)
        a.authentication = .none
        #expect(why(a) == .authTypeMismatch)
        a = good
        a.intervalCentiseconds = 200
        #expect(why(a) == .intervalMismatch)
        a = good
        a.addresses = [IPAddress("192.0.2.99")!]
        #expect(why(a) == .addressMismatch)
        a.priority = 255
        #expect(why(a) == nil, "the owner's address list is accepted as is (RFC 5798 section 7.1)")
        a = good
        a.version = .v3
        #expect(why(a) == .badVersion)
    }

    @Test func passwordsTruncateToEightOctetsAsKeepalived() {
        #expect(VRRPAuthentication.password("abcdefghij") == .password(Array("abcdefgh".utf8)))
    }

    @Test func parsesIPv4Header() throws {
        var ip: [UInt8] = [0x45, 0, 0, 40, 0, 0, 0, 0, 255, 112, 0, 0] + src.bytes + group.bytes
        ip += Self.goldenV2
        let h = try #require(IPv4HeaderInfo(ip))
        #expect(h.ttl == 255 && h.protocolNumber == 112 && h.source == src && h.destination == group && h.payloadOffset == 20)
    }
}
