import HealthCheck
import Logging
import NIOCore
import NIOPosix
import Testing
import VigilSupport

@Suite("Check pool")
struct CheckPoolTests {
    @Test("identical probes shared by several virtual servers run once (keepalived #2358, #2111)")
    func shared() throws {
        let a = CheckSpec(kind: .tcp(connection(80)), timing: CheckTiming(delayLoop: .seconds(1)))
        let b = CheckSpec(kind: .tcp(connection(81)), timing: CheckTiming(delayLoop: .seconds(1)))
        let pool = try CheckPool(specs: [a, b, a, a, b], group: MultiThreadedEventLoopGroup.singleton)
        #expect(pool.specs.count == 2)
        #expect(pool.index(of: a) != pool.index(of: b))
    }

    @Test("probes run concurrently on their schedule and report a backend going down and up")
    func downAndUp() async throws {
        let server = try await TestServer.start(.silent)
        let port = server.port
        let timing = CheckTiming(delayLoop: .milliseconds(100), retry: 0, delayBeforeRetry: .milliseconds(50), warmup: .zero)
        // 50 probes at a closed port each bounded by 1 s: they must not delay the live one.
        var specs = [CheckSpec(kind: .tcp(connection(port)), timing: timing)]
        for i in 0..<50 {
            specs.append(CheckSpec(kind: .tcp(ConnectionSettings(address: deadAddress, port: 9, bindPort: 0, timeout: .milliseconds(1000 + i))), timing: timing))
        }
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let pool = try CheckPool(specs: specs, group: MultiThreadedEventLoopGroup.singleton, logger: quiet)
        let run = Task { await pool.run() }
        defer { run.cancel() }
        let guardTask = Task {
            try? await Task.sleep(for: .seconds(20))
            run.cancel()
        }
        defer { guardTask.cancel() }
        await server.stop()
        var sawDown = false
        var restarted: TestServer?
        for await event in pool.events where event.probe == 0 {
            if event.change.becameUp == false {
                sawDown = true
                // Restart a listener on the same port.
                restarted = try? await TestServer.startOn(port: port)
            } else if event.change.becameUp == true {
                break
            }
        }
        #expect(sawDown)
        await restarted?.stop()
        let stats = pool.statistics
        #expect(stats.checks > 0 && stats.failures > 0)
        #expect(stats.latenessCounts.reduce(0, +) == stats.checks)
    }

    @Test("lateness quantiles are read from the histogram's bucket bounds")
    func latenessQuantiles() {
        var s = ProbeStatistics()
        #expect(s.latenessQuantile(0.99) == 0)
        s.latenessCounts[0] = 98   // within 1 ms
        s.latenessCounts[5] = 1    // 20-50 ms
        s.latenessCounts[ProbeStatistics.latenessBounds.count] = 1  // beyond 5 s
        #expect(s.latenessQuantile(0.5) == 0.001)
        #expect(s.latenessQuantile(0.99) == 0.05)
        #expect(s.latenessQuantile(1) == .infinity)
    }
}

extension TestServer {
    static func startOn(port: UInt16) async throws -> TestServer {
        let log = ServerLog()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: Int(port)).get()
        return TestServer(channel: channel, log: log)
    }
}
