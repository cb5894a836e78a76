#if canImport(Glibc)
import Glibc
#endif
@testable import HealthCheck
import NIOPosix
import Synchronization
import Testing
import VigilSupport

@Suite("Probe reactor")
struct ProbeReactorTests {
    @Test("a reactor bounded to one open connection still runs every check, in turn")
    func boundedInFlight() async throws {
        let reactor = try ProbeReactor(name: "test-bounded", maxInFlight: 1)
        let server = try await TestServer.start(.http(status: 200, body: "ok"))
        let checker = try HTTPChecker(settings: HTTPCheckSettings(connection: connection(server.port), urls: [URLCheck(path: "/")]),
                                      reactor: reactor, group: MultiThreadedEventLoopGroup.singleton)
        let results = await withTaskGroup(of: CheckResult.self) { group in
            for _ in 0..<8 { group.addTask { await checker.check() } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 8 && results.allSatisfy(\.isSuccess))
        #expect(server.log.requests.count == 8)
        await reactor.shutdown()
        await server.stop()
    }

    @Test("an answer that came while the reactor was busy past the check's deadline still passes the check")
    func answerQueuedPastDeadline() async throws {
        let reactor = try ProbeReactor(name: "test-busy")
        let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        let server = try await TestServer.start(.trickle(response, every: .milliseconds(5)))
        let checker = try HTTPChecker(settings: HTTPCheckSettings(connection: connection(server.port, timeout: .milliseconds(500)),
                                                                  urls: [URLCheck(path: "/")]),
                                      reactor: reactor, group: MultiThreadedEventLoopGroup.singleton)
        async let result = checker.check()
        for _ in 0..<1000 where server.log.requests.isEmpty { try await Task.sleep(for: .milliseconds(2)) }
        #expect(!server.log.requests.isEmpty, "the server saw the request")
        // The answer is all in by 0.25 s; the reactor looks again only at 0.8 s, after the
        // 0.5 s deadline, with the answer waiting in its socket.
        #expect(reactor.execute { usleep(800_000) })
        let outcome = await result
        #expect(outcome.isSuccess, "\(outcome)")
        await reactor.shutdown()
        await server.stop()
    }

    @Test("a reactor out of descriptors runs the checks in turn on the sockets it has, failing none; with none at all a check fails naming why")
    func outOfDescriptors() async throws {
        let opened = Mutex(0)
        // Two sockets, then the process's limit (EMFILE), as for a daemon under `ulimit -n`.
        let reactor = try ProbeReactor(name: "test-emfile", maxInFlight: 8, openSocket: { (a) throws(SystemCallError) in
            let allowed = opened.withLock { n -> Bool in
                n += 1
                return n <= 2
            }
            guard allowed else { throw SystemCallError(call: "socket", errno: .tooManyOpenFiles) }
            return try ProbeSocket.open(a)
        })
        let server = try await TestServer.start(.http(status: 200, body: "ok"))
        let checker = try HTTPChecker(settings: HTTPCheckSettings(connection: connection(server.port), urls: [URLCheck(path: "/")]),
                                      reactor: reactor, group: MultiThreadedEventLoopGroup.singleton)
        for round in 0..<2 {
            let results = await withTaskGroup(of: CheckResult.self) { group in
                for _ in 0..<12 { group.addTask { await checker.check() } }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == 12 && results.allSatisfy(\.isSuccess), "round \(round): \(results.filter { !$0.isSuccess })")
        }
        #expect(server.log.requests.count == 24)
        #expect(opened.withLock { $0 } > 2, "the checks reached the limit")
        await reactor.shutdown()

        let starved = try ProbeReactor(name: "test-nofd", maxInFlight: 8, openSocket: { (_) throws(SystemCallError) -> Int32 in
            throw SystemCallError(call: "socket", errno: .tooManyOpenFiles)
        })
        let lone = TCPChecker(settings: connection(server.port), reactor: starved)
        guard case .failure(let why) = await lone.check() else { Issue.record("a check without a socket passed"); return }
        #expect(why.contains("Too many open files"), "\(why)")
        await starved.shutdown()
        await server.stop()
    }

    @Test("checks through reused connection slots each get their own server's verdict, IPv4 and IPv6")
    func reusedSlots() async throws {
        let reactor = try ProbeReactor(name: "test-reuse", maxInFlight: 3)
        let good = try await TestServer.start(.http(status: 200, body: "ok"))
        let bad = try await TestServer.start(.http(status: 500, body: "no"))
        let gone = try await TestServer.start(.silent)
        let gonePort = gone.port
        await gone.stop()
        let group = MultiThreadedEventLoopGroup.singleton
        let goodCheck = try HTTPChecker(settings: HTTPCheckSettings(connection: connection(good.port), urls: [URLCheck(path: "/")]),
                                        reactor: reactor, group: group)
        let badCheck = try HTTPChecker(settings: HTTPCheckSettings(connection: connection(bad.port), urls: [URLCheck(path: "/")]),
                                       reactor: reactor, group: group)
        let goneCheck = TCPChecker(settings: connection(gonePort), reactor: reactor)
        // A slot that served IPv4 takes a new socket for IPv6, and back.
        let v6 = try await ServerBootstrap(group: group).bind(host: "::1", port: 0).get()
        let v6Check = TCPChecker(settings: ConnectionSettings(address: IPAddress("::1")!, port: UInt16(v6.localAddress!.port!)),
                                 reactor: reactor)
        let results = await withTaskGroup(of: (Int, CheckResult).self) { tasks in
            for i in 0..<80 {
                tasks.addTask {
                    switch i % 4 {
                    case 0: (0, await goodCheck.check())
                    case 1: (1, await badCheck.check())
                    case 2: (2, await goneCheck.check())
                    default: (3, await v6Check.check())
                    }
                }
            }
            return await tasks.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 80)
        for (kind, result) in results {
            switch (kind, result) {
            case (0, .success), (3, .success): break
            case (1, .failure(let why)): #expect(why.contains("status 500"), "\(why)")
            case (2, .failure(let why)): #expect(why.contains("connect"), "\(why)")
            default: Issue.record("server \(kind) got \(result)")
            }
        }
        await reactor.shutdown()
        await good.stop()
        await bad.stop()
        try? await v6.close()
    }

    @Test("a check still open when the reactor stops ends as abandoned; later checks fail at once")
    func stopping() async throws {
        let reactor = try ProbeReactor(name: "test-stop")
        let server = try await TestServer.start(.silent)
        let checker = try HTTPChecker(settings: HTTPCheckSettings(connection: connection(server.port, timeout: .seconds(30)), urls: [URLCheck(path: "/")]),
                                      reactor: reactor, group: MultiThreadedEventLoopGroup.singleton)
        let pending = Task { await checker.check() }
        try await Task.sleep(for: .milliseconds(200))
        await reactor.shutdown()
        let result = await pending.value
        guard case .failure(let why) = result else { Issue.record("expected a failure, got \(result)"); return }
        #expect(why.contains("abandoned"))
        let after = await TCPChecker(settings: connection(server.port), reactor: reactor).check()
        #expect(!after.isSuccess)
        await server.stop()
    }

    @Test("timers come out in deadline order, ties in scheduling order")
    func timerOrder() {
        var heap = TimerHeap()
        var fired: [Int] = []
        let deadlines: [UInt64] = [50, 10, 30, 10, 70, 20, 30, 5, 60, 40]
        final class Sink: @unchecked Sendable { var order: [Int] = [] }
        final class Timer: ReactorTimerTarget {
            let index: Int
            let sink: Sink
            init(_ index: Int, _ sink: Sink) { self.index = index; self.sink = sink }
            func reactorTimerFired() { sink.order.append(index) }
        }
        let sink = Sink()
        for (i, d) in deadlines.enumerated() { heap.push(d, Timer(i, sink)) }
        #expect(heap.popDue(4) == nil)
        while let timer = heap.popDue(45) { timer.reactorTimerFired() }
        fired = sink.order
        #expect(fired == [7, 1, 3, 5, 2, 6, 9])
        while let timer = heap.popDue(.max) { timer.reactorTimerFired() }
        #expect(sink.order == [7, 1, 3, 5, 2, 6, 9, 0, 8, 4])
        #expect(heap.count == 0)
    }
}

@Suite("Exchange deadlines")
struct DeadlineQueueTests {
    @Test("deadlines of one timeout come due in the order they were set, each once")
    func order() {
        var q = DeadlineQueue(timeout: 3_000)
        for (i, start) in [0, 10, 10, 25].enumerated() { q.append(UInt64(start) + 3_000, UInt64(i)) }
        #expect(q.popDue(3_009) == 0)
        #expect(q.popDue(3_009) == nil, "the next is due at 3,010")
        #expect(q.popDue(3_010) == 1)
        #expect(q.popDue(3_010) == 2)
        #expect(q.first?.deadline == 3_025)
        #expect(q.popDue(.max) == 3)
        #expect(q.popDue(.max) == nil)
    }

    @Test("a check that times out fails with the timeout named, and the reactor goes on")
    func timeoutThenNextCheck() async throws {
        let reactor = try ProbeReactor(name: "test-deadline")
        let silent = try await TestServer.start(.silent)
        let answering = try await TestServer.start(.http(status: 200, body: "ok"))
        let group = MultiThreadedEventLoopGroup.singleton
        let slow = try HTTPChecker(settings: HTTPCheckSettings(connection: connection(silent.port, timeout: .milliseconds(300)),
                                                               urls: [URLCheck(path: "/")]), reactor: reactor, group: group)
        let fast = try HTTPChecker(settings: HTTPCheckSettings(connection: connection(answering.port, timeout: .seconds(5)),
                                                               urls: [URLCheck(path: "/")]), reactor: reactor, group: group)
        async let late = slow.check()
        async let onTime = fast.check()
        let (l, o) = await (late, onTime)
        guard case .failure(let why) = l else { Issue.record("expected a timeout, got \(l)"); return }
        #expect(why.contains("no complete answer within"))
        #expect(o.isSuccess, "a 5 s deadline in another queue does not hold up or fail this check")
        #expect(await fast.check().isSuccess)
        await reactor.shutdown()
        await silent.stop()
        await answering.stop()
    }
}

@Suite("HTTP response head parsing")
struct HTTPHeadParsingTests {
    func parse(_ text: String, closed: Bool = false) -> HTTPResponseParser.Outcome {
        HTTPResponseParser.parse(Array(text.utf8), closed: closed)
    }

    @Test("status line and framing headers are read whatever the header case")
    func headers() {
        #expect(parse("HTTP/1.1 204 No Content\r\n\r\n") == .complete(status: 204, body: []))
        #expect(parse("HTTP/1.0 200 OK\r\ncOnTeNt-LeNgTh: 2\r\n\r\nokEXTRA") == .complete(status: 200, body: Array("ok".utf8)))
        #expect(parse("HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n") == .complete(status: 200, body: Array("ok".utf8)))
        #expect(parse("HTTP/1.0 503\r\nContent-Length:  3 \r\n\r\nab") == .incompleteBody(status: 503, bodyBytes: 2))
        #expect(parse("HTTP/1.0 200 OK\r\nX-Content-Length: 5\r\n\r\nabc", closed: true) == .complete(status: 200, body: Array("abc".utf8)))
        #expect(parse("HTTP/1.1 200 OK\r\nContent-") == .incompleteHead)
    }

    @Test("what is not an HTTP/1.x status line is named in the failure")
    func invalid() {
        #expect(parse("SSH-2.0-OpenSSH_9.2\r\n\r\n") == .invalid("not an HTTP response: SSH-2.0-OpenSSH_9.2"))
        #expect(parse("HTTP/1.1 2x0 OK\r\n\r\n") == .invalid("not an HTTP response: HTTP/1.1 2x0 OK"))
        #expect(parse("HTTP/1.1 200OK\r\n\r\n") == .invalid("not an HTTP response: HTTP/1.1 200OK"))
        #expect(parse("\r\n\r\n") == .invalid("empty response"))
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n") == .invalid("bad Content-Length: -1"))
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n") == .invalid("bad Content-Length: 1 2"))
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n")
            == .invalid("bad Content-Length: 99999999999999999999"))
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n") == .invalid("bad Content-Length: "))
    }
}
