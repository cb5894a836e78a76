@testable import HealthCheck
import NIOPosix
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
        let sink = Sink()
        for (i, d) in deadlines.enumerated() { heap.push(d) { sink.order.append(i) } }
        #expect(heap.popDue(4) == nil)
        while let body = heap.popDue(45) { body() }
        fired = sink.order
        #expect(fired == [7, 1, 3, 5, 2, 6, 9])
        while let body = heap.popDue(.max) { body() }
        #expect(sink.order == [7, 1, 3, 5, 2, 6, 9, 0, 8, 4])
        #expect(heap.count == 0)
    }
}
