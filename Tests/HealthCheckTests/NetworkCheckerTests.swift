import HealthCheck
import NIOCore
import NIOPosix
import NIOSSL
import Testing
import VigilSupport

private let group = MultiThreadedEventLoopGroup.singleton
/// One reactor for these suites (a checker lives on one reactor thread).
let testReactor = try! ProbeReactor(name: "test-probe")

private func http(_ port: UInt16, _ urls: [URLCheck], timeout: Duration = .seconds(2),
                  version: HTTPVersion = .http10, virtualHost: String? = nil, tls: TLSSettings? = nil) throws -> HTTPChecker {
    try HTTPChecker(settings: HTTPCheckSettings(connection: connection(port, timeout: timeout), urls: urls,
                                                virtualHost: virtualHost, version: version, tls: tls), reactor: testReactor, group: group)
}

@Suite("TCP_CHECK against loopback")
struct TCPCheckTests {
    @Test("a listening port passes")
    func listening() async throws {
        let server = try await TestServer.start(.silent)
        defer { Task { await server.stop() } }
        let r = await TCPChecker(settings: connection(server.port), reactor: testReactor).check()
        #expect(r == .success(weight: nil))
    }

    @Test("a closed port fails with the reason")
    func closed() async throws {
        let r = await TCPChecker(settings: ConnectionSettings(address: deadAddress, port: 9), reactor: testReactor).check()
        guard case .failure(let why) = r else { Issue.record("expected failure"); return }
        #expect(why.contains("connect"))
    }

    @Test("bindto/bind_port choose the source address")
    func bindTo() async throws {
        let server = try await TestServer.start(.silent)
        defer { Task { await server.stop() } }
        var c = connection(server.port)
        c.bindAddress = IPAddress("127.0.0.2")
        let r = await TCPChecker(settings: c, reactor: testReactor).check()
        #expect(r == .success(weight: nil))
    }

    @Test("a fixed bind_port is free again for the next check")
    func bindPortReused() async throws {
        let server = try await TestServer.start(.silent)
        defer { Task { await server.stop() } }
        let spare = try await TestServer.start(.silent)
        let port = spare.port
        await spare.stop()
        var c = connection(server.port)
        c.bindAddress = IPAddress("127.0.0.2")
        c.bindPort = port
        let checker = TCPChecker(settings: c, reactor: testReactor)
        for _ in 0..<3 {
            #expect(await checker.check() == .success(weight: nil))
        }
        // A probe without a bound source reuses the reactor's sockets in between.
        #expect(await TCPChecker(settings: connection(server.port), reactor: testReactor).check() == .success(weight: nil))
        #expect(await checker.check() == .success(weight: nil))
    }
}

@Suite("HTTP_GET against loopback")
struct HTTPCheckTests {
    @Test("right status and digest pass; the request carries the virtual host and version")
    func right() async throws {
        let server = try await TestServer.start(.http(status: 200, body: "hello"))
        defer { Task { await server.stop() } }
        let r = try await http(server.port, [URLCheck(path: "/health", digest: hexMD5("hello".utf8))],
                               version: .http11, virtualHost: "www.example.com").check()
        #expect(r == .success(weight: nil))
        let req = try #require(server.log.requests.first)
        #expect(req.hasPrefix("GET /health HTTP/1.1\r\n"))
        #expect(req.contains("Host: www.example.com\r\n"))
    }

    @Test("wrong status fails; an accepted range or list passes")
    func status() async throws {
        let server = try await TestServer.start(.http(status: 503, body: ""))
        defer { Task { await server.stop() } }
        let bad = try await http(server.port, [URLCheck(path: "/")]).check()
        #expect(!bad.isSuccess)
        let ok = try await http(server.port, [URLCheck(path: "/", statusCodes: StatusCodeSet([200...200, 500...503]))]).check()
        #expect(ok.isSuccess)
    }

    @Test("wrong body digest fails")
    func wrongBody() async throws {
        let server = try await TestServer.start(.http(status: 200, body: "changed"))
        defer { Task { await server.stop() } }
        let r = try await http(server.port, [URLCheck(path: "/", digest: hexMD5("hello".utf8))]).check()
        guard case .failure(let why) = r else { Issue.record("expected failure"); return }
        #expect(why.contains("digest"))
    }

    @Test("every url block must pass")
    func allURLs() async throws {
        let server = try await TestServer.start(.http(status: 200, body: "a"))
        defer { Task { await server.stop() } }
        let r = try await http(server.port, [URLCheck(path: "/1"), URLCheck(path: "/2", statusCodes: StatusCodeSet([404...404]))]).check()
        #expect(!r.isSuccess)
        #expect(server.log.requests.count == 2)
    }

    @Test("a trickling server fails within connect_timeout (keepalived #1822)")
    func trickle() async throws {
        // The whole answer would take about 20 s at one byte per 500 ms; the check must give up
        // near its 500 ms bound. The margin allows for a heavily loaded test machine.
        let server = try await TestServer.start(.trickle("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", every: .milliseconds(500)))
        defer { Task { await server.stop() } }
        let start = ContinuousClock.now
        let r = try await http(server.port, [URLCheck(path: "/")], timeout: .milliseconds(500)).check()
        #expect(!r.isSuccess)
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test("a server closing inside the body fails")
    func closeEarly() async throws {
        let server = try await TestServer.start(.closeEarly)
        defer { Task { await server.stop() } }
        let r = try await http(server.port, [URLCheck(path: "/")]).check()
        guard case .failure(let why) = r else { Issue.record("expected failure"); return }
        #expect(why.contains("closed"))
    }

    @Test("a silent server times out")
    func silent() async throws {
        let server = try await TestServer.start(.silent)
        defer { Task { await server.stop() } }
        let r = try await http(server.port, [URLCheck(path: "/")], timeout: .milliseconds(300)).check()
        #expect(!r.isSuccess)
    }

    @Test("a body over the bound fails a digest check")
    func bodyBound() async throws {
        let body = String(repeating: "x", count: 5000)
        let server = try await TestServer.start(.http(status: 200, body: body))
        defer { Task { await server.stop() } }
        var s = HTTPCheckSettings(connection: connection(server.port), urls: [URLCheck(path: "/", digest: hexMD5(body.utf8))])
        s.maxBodyBytes = 1000
        let r = try await HTTPChecker(settings: s, reactor: testReactor, group: group).check()
        #expect(!r.isSuccess)
        s.maxBodyBytes = 10000
        #expect(try await HTTPChecker(settings: s, reactor: testReactor, group: group).check().isSuccess)
    }
}

@Suite("HTTP response framing")
struct HTTPFramingTests {
    @Test("chunked bodies are decoded before hashing")
    func chunked() async throws {
        let server = try await TestServer.start(.trickle("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n", every: .milliseconds(1)))
        defer { Task { await server.stop() } }
        let r = try await http(server.port, [URLCheck(path: "/", digest: hexMD5("hello".utf8))]).check()
        #expect(r == .success(weight: nil))
    }

    @Test("a body delimited by close is read to the end")
    func untilClose() async throws {
        let server = try await TestServer.start(.http(status: 200, body: "x"))
        defer { Task { await server.stop() } }
        // Content-Length framing is what the server sends; also check the genhash path returns the digest.
        let c = try http(server.port, [])
        let f = await c.fetch(URLCheck(path: "/"))
        #expect(f.status == 200)
        #expect(f.md5 == hexMD5("x".utf8))
    }
}

@Suite("SMTP_CHECK against loopback")
struct SMTPCheckTests {
    func run(_ greeting: Int, _ helo: Int) async throws -> (CheckResult, [String]) {
        let server = try await TestServer.start(.smtp(greeting: greeting, helo: helo))
        defer { Task { await server.stop() } }
        let r = await SMTPChecker(settings: SMTPCheckSettings(connection: connection(server.port), heloName: "lb.example"), reactor: testReactor).check()
        for _ in 0..<40 where r.isSuccess && !server.log.requests.contains("QUIT") {
            try await Task.sleep(for: .milliseconds(50))
        }
        return (r, server.log.requests)
    }

    @Test("220 then 250 passes, saying HELO and QUIT")
    func good() async throws {
        let (r, lines) = try await run(220, 250)
        #expect(r == .success(weight: nil))
        #expect(lines.first == "HELO lb.example")
        #expect(lines.contains("QUIT"))
    }

    @Test("421 greeting fails")
    func busy() async throws {
        let (r, _) = try await run(421, 250)
        #expect(!r.isSuccess)
    }

    @Test("554 answer to HELO fails")
    func refused() async throws {
        let (r, _) = try await run(220, 554)
        #expect(!r.isSuccess)
    }
}
