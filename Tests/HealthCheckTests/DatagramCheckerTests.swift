@testable import HealthCheck
import Foundation
import NIOPosix
import Testing
import VigilSupport

private func udp(_ port: UInt16, requireReply: Bool = false, reply: [UInt8]? = nil, wildcard: [UInt8]? = nil,
                 min: Int = 0, max: Int = 255, payload: [UInt8]? = nil, timeout: Duration = .milliseconds(500)) -> UDPChecker {
    UDPChecker(settings: UDPCheckSettings(connection: connection(port, timeout: timeout), payload: payload, requireReply: requireReply,
                                          reply: reply, replyWildcard: wildcard, minimumReplyLength: min, maximumReplyLength: max),
               reactor: testReactor)
}

private func failure(_ r: CheckResult) -> String? {
    if case .failure(let why) = r { return why }
    return nil
}

@Suite("UDP_CHECK against loopback")
struct UDPCheckTests {
    @Test("the payload is sent; a matching reply passes, wildcards included")
    func matchingReply() async throws {
        let seen = Recorder()
        let server = try await UDPTestServer.start { d in seen.add(d); return [[0x01, 0x02, 0x35]] }
        defer { Task { await server.stop() } }
        #expect(await udp(server.port, requireReply: true, reply: [0x01, 0x02, 0x30], wildcard: [0, 0, 0x0F], payload: [0xCA, 0xFE]).check()
            == .success(weight: nil))
        #expect(seen.all == [[0xCA, 0xFE]])
        // require_reply without data: any reply passes.
        #expect(await udp(server.port, requireReply: true).check() == .success(weight: nil))
    }

    @Test("a wrong, short or long reply fails with the reason")
    func wrongReply() async throws {
        let server = try await UDPTestServer.start { _ in [[0x01, 0x09, 0x30]] }
        defer { Task { await server.stop() } }
        #expect(failure(await udp(server.port, requireReply: true, reply: [0x01, 0x02]).check())?.contains("byte 1") == true)
        #expect(failure(await udp(server.port, requireReply: true, reply: [0x01], min: 4).check())?.contains("shorter") == true)
        #expect(failure(await udp(server.port, requireReply: true, reply: [0x01], max: 2).check())?.contains("longer") == true)
    }

    @Test("silence: down with require_reply, up without (as keepalived)")
    func silence() async throws {
        let server = try await UDPTestServer.start { _ in [] }
        defer { Task { await server.stop() } }
        #expect(failure(await udp(server.port, requireReply: true, reply: [1]).check())?.contains("no reply") == true)
        #expect(await udp(server.port).check() == .success(weight: nil))
    }

    @Test("an ICMP port unreachable fails, with or without require_reply")
    func portUnreachable() async throws {
        let port = try closedUDPPort()
        for check in [udp(port, timeout: .seconds(2)), udp(port, requireReply: true, timeout: .seconds(2))] {
            let why = failure(await check.check())
            #expect(why?.lowercased().contains("refused") == true, "\(why ?? "passed")")
        }
    }
}

@Suite("DNS_CHECK against a loopback responder")
struct DNSCheckTests {
    /// A response to `query` with `rcode`, QR set, the question echoed.
    static func answer(_ query: [UInt8], rcode: UInt8 = 0, id: UInt16? = nil, qr: Bool = true, question: [UInt8]? = nil) -> [UInt8] {
        guard query.count >= 12 else { return [] }
        var m = query
        if let id { m[0] = UInt8(id >> 8); m[1] = UInt8(id & 0xFF) }
        m[2] = (qr ? 0x80 : 0) | 0x01
        m[3] = 0x80 | rcode
        if let question { m = Array(m.prefix(12)) + question }
        return m
    }

    func dns(_ port: UInt16, type: String = "A", name: String = "example.com", timeout: Duration = .milliseconds(600)) -> DNSChecker {
        DNSChecker(settings: DNSCheckSettings(connection: connection(port, timeout: timeout), type: type, name: name), reactor: testReactor)
    }

    @Test("NOERROR to our query passes; the query asks the configured type and name")
    func good() async throws {
        let seen = Recorder()
        let server = try await UDPTestServer.start { q in seen.add(q); return [Self.answer(q)] }
        defer { Task { await server.stop() } }
        #expect(await dns(server.port, type: "MX", name: "mail.example.com").check() == .success(weight: nil))
        let q = try #require(seen.all.first)
        #expect(q.count == 12 + 18 + 4)
        #expect(Array(q[12...]) == [4] + Array("mail".utf8) + [7] + Array("example".utf8) + [3] + Array("com".utf8) + [0, 0, 15, 0, 1])
    }

    @Test("an error RCODE fails and names it")
    func rcode() async throws {
        let server = try await UDPTestServer.start { q in [Self.answer(q, rcode: 3)] }
        defer { Task { await server.stop() } }
        #expect(failure(await dns(server.port).check())?.contains("NXDOMAIN") == true)
    }

    @Test("another id, QR clear or another question are ignored: down at the timeout, up if the real answer follows")
    func ignored() async throws {
        let otherQuestion = DNSQuery(id: 0, name: "example.org", type: 1).encoded.dropFirst(12)
        let decoys: [@Sendable ([UInt8]) -> [UInt8]] = [
            { q in Self.answer(q, id: (UInt16(q[0]) << 8 | UInt16(q[1])) &+ 1) },
            { q in Self.answer(q, qr: false) },
            { q in Self.answer(q, question: Array(otherQuestion)) },
            { q in Array(Self.answer(q).prefix(8)) },
        ]
        for decoy in decoys {
            let alone = try await UDPTestServer.start { q in [decoy(q)] }
            #expect(failure(await dns(alone.port).check())?.contains("no response") == true)
            await alone.stop()
            let thenGood = try await UDPTestServer.start { q in [decoy(q), Self.answer(q)] }
            #expect(await dns(thenGood.port).check() == .success(weight: nil))
            await thenGood.stop()
        }
    }

    @Test("a closed port fails as refused")
    func refused() async throws {
        let port = try closedUDPPort()
        #expect(failure(await dns(port, timeout: .seconds(2)).check())?.lowercased().contains("refused") == true)
    }
}

@Suite("PING_CHECK against loopback")
struct PingCheckTests {
    @Test("127.0.0.1 and ::1 answer; successive checks use new sequence numbers")
    func loopbackAnswers() async throws {
        let v4 = PingChecker(settings: ConnectionSettings(address: loopback, port: 0, timeout: .seconds(2)), reactor: testReactor)
        for _ in 0..<3 { #expect(await v4.check() == .success(weight: nil)) }
        let v6 = PingChecker(settings: ConnectionSettings(address: IPAddress("::1")!, port: 0, timeout: .seconds(2)), reactor: testReactor)
        #expect(await v6.check() == .success(weight: nil))
    }

    @Test("bind_if naming no interface fails with the reason, for every reactor checker")
    func missingInterface() async throws {
        var c = ConnectionSettings(address: loopback, port: 9, timeout: .seconds(1))
        c.interface = "vigil-nosuch0"
        let results = [
            await PingChecker(settings: c, reactor: testReactor).check(),
            await TCPChecker(settings: c, reactor: testReactor).check(),
            await UDPChecker(settings: UDPCheckSettings(connection: c), reactor: testReactor).check(),
            await DNSChecker(settings: DNSCheckSettings(connection: c), reactor: testReactor).check(),
        ]
        for r in results { #expect(failure(r)?.contains("SO_BINDTODEVICE") == true, "\(r)") }
        // SSL_GET's sockets come from SwiftNIO, bound by interface index.
        let ssl = try HTTPChecker(settings: HTTPCheckSettings(connection: c, urls: [URLCheck(path: "/")], tls: TLSSettings()),
                                  reactor: testReactor, group: MultiThreadedEventLoopGroup.singleton)
        #expect(failure(await ssl.check())?.contains("bind_if vigil-nosuch0: no such interface") == true)
        c.interface = "lo"
        #expect(await PingChecker(settings: c, reactor: testReactor).check() == .success(weight: nil))
    }
}

/// Collects what a server saw.
final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [[UInt8]] = []
    func add(_ d: [UInt8]) { lock.withLock { items.append(d) } }
    var all: [[UInt8]] { lock.withLock { items } }
}
