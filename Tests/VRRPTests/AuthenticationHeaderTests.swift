import Crypto
import Foundation
import Testing
import VigilSupport
@testable import VRRP

/// The reason `body` threw, or `nil` when it did not.
func dropReason(_ body: () throws -> Void) -> VRRPDropReason? {
    do { try body() } catch let e as VRRPPacketError { return e.reason } catch { return nil }
    return nil
}

private func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

/// The MD5 digest `auth_type AH` relies on (swift-crypto).
private func md5(_ message: [UInt8]) -> [UInt8] { Array(Insecure.MD5.hash(data: message)) }

/// The HMAC-MD5 `auth_type AH` relies on (swift-crypto).
private func hmacMD5(key: [UInt8], message: [UInt8]) -> [UInt8] {
    Array(HMAC<Insecure.MD5>.authenticationCode(for: message, using: SymmetricKey(data: key)))
}

@Suite("IPsec AH (auth_type AH) as keepalived does it")
struct AuthenticationHeaderTests {
    @Test func md5MatchesRFC1321TestSuite() {
        #expect(hex(md5([])) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(hex(md5(Array("abc".utf8))) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(hex(md5(Array("message digest".utf8))) == "f96b697d7cb7938d525a2f31aaf161d0")
        let digits = String(repeating: "1234567890", count: 8)
        #expect(hex(md5(Array(digits.utf8))) == "57edf4a22be3c955ac49da2e2107b67a")
    }

    @Test func hmacMD5MatchesRFC2202() {
        #expect(hex(hmacMD5(key: [UInt8](repeating: 0x0B, count: 16), message: Array("Hi There".utf8)))
                == "9294727a3638bb1c13f48ef8158bfc9d")
        #expect(hex(hmacMD5(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)))
                == "750c783e6ab0b503eaa86e310a5db738")
        #expect(hex(hmacMD5(key: [UInt8](repeating: 0xAA, count: 80),
                             message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)))
                == "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd")
    }

    @Test func theKeyIsAuthPassTruncatedAndZeroPaddedToEightOctets() {
        #expect(IPsecAH.key("pw") == Array("pw".utf8) + [0, 0, 0, 0, 0, 0])
        #expect(IPsecAH.key("secret1234") == Array("secret12".utf8))
        #expect(VRRPAuthentication.authenticationHeader("pw").typeCode == 2)
    }

    private let me = IPAddress("192.0.2.11")!
    private let vip = IPAddress("192.0.2.100")!

    private func vrrp(priority: UInt8 = 150, vrid: UInt8 = 52) -> [UInt8] {
        VRRPCodec.encode(VRRPAdvertisement(version: .v2, virtualRouterID: vrid, priority: priority, intervalCentiseconds: 100,
                                           addresses: [vip], authentication: .authenticationHeader("secret12")),
                         source: me, destination: VRRPConstants.multicastV4)
    }

    @Test func aSealedDatagramFollowsRFC2402Layout() throws {
        let d = IPsecAH.seal(vrrp(), source: me, destination: VRRPConstants.multicastV4, identification: 7, sequence: 0x0102_0304,
                             key: IPsecAH.key("secret12"), unicast: false)
        #expect(d.count == 20 + 24 + 20)
        #expect(d[0] == 0x45 && d[1] == 0xC0 && d[8] == 255 && d[9] == 51, "IPv4, TOS network control, TTL 255, protocol AH")
        #expect(Array(d[2..<4]) == [0, 64] && Array(d[4..<6]) == [0, 7])
        #expect(ipv4HeaderChecksum(Array(d[0..<20])) == 0, "header checksum verifies")
        #expect(Array(d[20..<24]) == [112, 4, 0, 0], "next header VRRP, payload length 4 (6 words - 2)")
        #expect(Array(d[24..<28]) == me.bytes, "SPI is the sender address")
        #expect(Array(d[28..<32]) == [1, 2, 3, 4])
        #expect(Array(d[44...]) == vrrp())
        // The ICV is HMAC-MD5-96 over the datagram with TOS, fragment and checksum fields and the ICV zeroed.
        var zeroed = d
        for i in [1, 6, 7, 10, 11] { zeroed[i] = 0 }
        for i in 32..<44 { zeroed[i] = 0 }
        #expect(Array(d[32..<44]) == Array(hmacMD5(key: Array("secret12".utf8), message: zeroed).prefix(12)))
        let opened = try IPsecAH.open(d, key: IPsecAH.key("secret12"), unicast: false)
        #expect(opened.sequence == 0x0102_0304 && opened.vrrp == vrrp())
    }

    @Test func theICVRejectsAWrongKeyAndAlteredBytesButNotMutableFields() throws {
        let key = IPsecAH.key("secret12")
        let d = IPsecAH.seal(vrrp(), source: me, destination: VRRPConstants.multicastV4, identification: 1, sequence: 1,
                             key: key, unicast: false)
        #expect(dropReason {
            _ = try IPsecAH.open(d, key: IPsecAH.key("secret13"), unicast: false)
        } == .badICV)
        var priority = d
        priority[44 + 2] = 255  // a forged priority
        #expect(dropReason { _ = try IPsecAH.open(priority, key: key, unicast: false) } == .badICV)
        var id = d
        id[5] ^= 1  // the IP ID is immutable: covered
        #expect(dropReason { _ = try IPsecAH.open(id, key: key, unicast: false) } == .badICV)
        var tos = d
        tos[1] = 0  // TOS and flags are mutable in transit (RFC 2402 section 3.3.3.1.1.1)
        tos[6] = 0x40
        _ = try IPsecAH.open(tos, key: key, unicast: false)
        var ttl = d
        ttl[8] = 254
        #expect(dropReason { _ = try IPsecAH.open(ttl, key: key, unicast: false) } == .badICV)
        let u = IPsecAH.seal(vrrp(), source: me, destination: IPAddress("192.0.2.12")!, identification: 1, sequence: 1,
                             key: key, unicast: true)
        var uttl = u
        uttl[8] = 64  // unicast: keepalived leaves TTL out of the ICV
        _ = try IPsecAH.open(uttl, key: key, unicast: true)
        var spi = d
        spi[27] ^= 1
        #expect(dropReason { _ = try IPsecAH.open(spi, key: key, unicast: false) } == .badICV, "the SPI is covered by the ICV")
        spi.replaceSubrange(32..<44, with: IPsecAH.icv(spi, headerLength: 20, key: key, unicast: false))
        #expect(dropReason { _ = try IPsecAH.open(spi, key: key, unicast: false) } == .badSPI, "a signed SPI must still be the sender")
        #expect(throws: VRRPPacketError.self) { _ = try IPsecAH.open(Array(d.prefix(40)), key: key, unicast: false) }
    }

    @Test func theSequenceCounterIsSharedBetweenReceivingAndSending() {
        var s = IPsecAHSequence()
        let accepted = [s.accept(5), s.accept(5), s.accept(4)]
        #expect(accepted == [true, false, false], "replays are refused")
        let sent = s.next()
        #expect(sent == 6, "a backup that takes over numbers above what the old master sent")
        let later = [s.accept(6), s.accept(9)]
        #expect(later == [false, true])
        var top = IPsecAHSequence(value: 0xFFFF_FFFE)
        let last = top.next()
        #expect(last == 0xFFFF_FFFE, "the counter stops at keepalived's limit")
    }
}

/// keepalived 2.2.7's AH adverts (VRID 52, priority 150, auth_pass secret12), captured with tshark.
@Suite("IPsec AH packets captured from keepalived 2.2.7")
struct AuthenticationHeaderFixtureTests {
    private func datagrams(_ name: String) throws -> [[UInt8]] {
        try pcapFrames(name).map { Array($0.dropFirst(14)) }
    }

    @Test(arguments: [("keepalived-2.2.7-v2-ah-secret12-prio150.pcap", false),
                      ("keepalived-2.2.7-v2-ah-unicast-secret12-prio150.pcap", true)])
    func vigilBuildsByteIdenticalDatagramsAndVerifiesKeepalived(_ file: String, unicast: Bool) throws {
        let all = try datagrams(file)
        #expect(all.count >= 3)
        var sequence = IPsecAHSequence()
        for d in all {
            let h = try #require(IPv4HeaderInfo(d))
            let opened = try IPsecAH.open(d, key: IPsecAH.key("secret12"), unicast: unicast)
            let newer = sequence.accept(opened.sequence)
            #expect(newer, "keepalived's sequence numbers increase")
            let a = try VRRPCodec.decode(opened.vrrp, source: h.source, destination: h.destination, ttl: h.ttl)
            #expect(a.version == .v2 && a.virtualRouterID == 52 && a.priority == 150 && a.authentication.typeCode == 2)
            #expect(h.destination == (unicast ? IPAddress("192.0.2.10")! : VRRPConstants.multicastV4))
            // Rebuilt from the decoded fields, the whole datagram matches keepalived's byte for byte.
            let ours = IPsecAH.seal(
                VRRPCodec.encode(VRRPAdvertisement(version: .v2, virtualRouterID: 52, priority: 150, intervalCentiseconds: 100,
                                                   addresses: a.addresses, authentication: .authenticationHeader("secret12")),
                                 source: h.source, destination: h.destination),
                source: h.source, destination: h.destination, identification: UInt16(d[4]) << 8 | UInt16(d[5]),
                sequence: opened.sequence, key: IPsecAH.key("secret12"), unicast: unicast)
            #expect(ours == d)
            #expect(dropReason {
                _ = try IPsecAH.open(d, key: IPsecAH.key("secret13"), unicast: unicast)
            } == .badICV)
        }
    }
}

@Suite("VRRP runtime with IPsec AH on a fake wire")
struct AuthenticationHeaderRuntimeTests {
    private let me = IPAddress("192.0.2.11")!
    private let peer = IPAddress("192.0.2.12")!
    private let vip = IPAddress("192.0.2.100")!

    private func packet(priority: UInt8, sequence: UInt32, key: String) -> VRRPReceivedPacket {
        let vrrp = VRRPCodec.encode(VRRPAdvertisement(version: .v2, virtualRouterID: 51, priority: priority, intervalCentiseconds: 100,
                                                      addresses: [vip], authentication: .authenticationHeader(key)),
                                    source: peer, destination: VRRPConstants.multicastV4)
        let d = IPsecAH.seal(vrrp, source: peer, destination: VRRPConstants.multicastV4, identification: UInt16(truncatingIfNeeded: sequence),
                             sequence: sequence, key: IPsecAH.key(key), unicast: false)
        return VRRPReceivedPacket(payload: Array(d[44...]), source: peer, destination: VRRPConstants.multicastV4, ttl: 255,
                                  interface: "lab0", authenticatedDatagram: d)
    }

    /// Runs `body` on a thread of its own (a starved cooperative pool would silence the fake peer).
    private func onThread(_ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            Thread { body(); c.resume() }.start()
        }
    }

    @Test func badICVsAndReplaysAreDroppedAndCountedWithoutStateChange() async throws {
        let wire = FakeTransport()
        let addresses = FakeAddresses()
        let settings = VRRPInstanceSettings(
            name: "VI_1", version: .v2, virtualRouterID: 51, priority: 100, advertIntervalCentiseconds: 100, interface: "lab0",
            authentication: .authenticationHeader("secret12"), virtualAddresses: [VRRPVirtualAddress(address: vip)],
            sourceAddress: me, gratuitous: VRRPGratuitousSettings(masterDelay: .zero), dontTrackPrimary: true)
        let runtime = try VRRPRuntime(settings: VRRPSettings(instances: [settings]), transport: wire, addresses: addresses)
        let run = Task { try await runtime.run() }
        for _ in 0..<200 where await runtime.status.first?.state != .backup {
            try await Task.sleep(for: .milliseconds(50))
        }
        // A higher-priority "master" with the wrong key for longer than Master_Down_Interval (3.6 s).
        let forged = (1...50).map { packet(priority: 200, sequence: UInt32($0), key: "wrongkey") }
        await onThread {
            for p in forged {
                wire.inject(p)
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        #expect(await runtime.status.first?.state == .master, "forged adverts do not hold the backup down")
        var counters = await runtime.counters
        #expect(counters.dropped[.badICV, default: 0] >= 40 && counters.advertisementsReceived == 0)
        // Our own adverts are AH datagrams that verify with the key, with increasing sequence numbers.
        var sequences: [UInt32] = []
        for d in wire.sentPayloads where d.count == 64 {
            sequences.append(try IPsecAH.open(d, key: IPsecAH.key("secret12"), unicast: false).sequence)
        }
        #expect(!sequences.isEmpty && sequences == sequences.sorted() && Set(sequences).count == sequences.count)

        // The real peer continues above our numbering; a replay of one of its packets is refused.
        let base = (sequences.last ?? 0) + 1
        let genuine = (0..<10).map { packet(priority: 200, sequence: base + UInt32($0), key: "secret12") }
        await onThread {
            for p in genuine {
                wire.inject(p)
                Thread.sleep(forTimeInterval: 0.1)
            }
            wire.inject(genuine[3])
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(await runtime.status.first?.state == .backup)
        counters = await runtime.counters
        #expect(counters.dropped[.replayedSequence, default: 0] == 1)
        #expect(counters.advertisementsReceived == 10)
        await runtime.stop()
        try await run.value
    }

    @Test func aPlainAdvertIsAnAuthTypeMismatchForAnAHInstance() async throws {
        let wire = FakeTransport()
        let settings = VRRPInstanceSettings(
            name: "VI_1", version: .v2, virtualRouterID: 51, priority: 100, advertIntervalCentiseconds: 100, interface: "lab0",
            authentication: .authenticationHeader("secret12"), virtualAddresses: [VRRPVirtualAddress(address: vip)],
            sourceAddress: me, gratuitous: VRRPGratuitousSettings(masterDelay: .zero), dontTrackPrimary: true)
        let runtime = try VRRPRuntime(settings: VRRPSettings(instances: [settings]), transport: wire, addresses: FakeAddresses())
        let run = Task { try await runtime.run() }
        var plain = packet(priority: 200, sequence: 1, key: "secret12")
        plain.authenticatedDatagram = nil
        await runtime.handle(plain)
        #expect(await runtime.counters.dropped[.authTypeMismatch] == 1)
        await runtime.stop()
        try await run.value
    }
}
