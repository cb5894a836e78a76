import Foundation
import HealthCheck
import IPVS
import Logging
import NIOPosix
import ServiceLifecycle
import Testing
import VigilDaemon
import VigilSupport
import VigilTestSupport

/// Where tests keep what a person may want to look at afterwards (the page's screenshot).
private let outputDirectory: String = {
    let dir = ProcessInfo.processInfo.environment["VIGIL_TEST_OUTPUT"] ?? Lab.packageRoot + "/.build/test-output"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}()

private func get(_ url: String) -> (Int, String) { Lab.httpGet(url) }

/// A loopback TCP listener (a live backend: the kernel completes handshakes from its backlog).
private final class Listener: @unchecked Sendable {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && listen(fd, 128) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard fd >= 0, ok else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        self.fd = fd
        port = UInt16(bigEndian: a.sin_port)
    }

    deinit { close(fd) }
}

/// An in-memory kernel whose table reads can be made to hang, as a stuck netlink call would.
private actor StallableIPVS: IPVSControlling {
    let fake = FakeIPVS()
    private(set) var stalled = false

    func stall(_ on: Bool) { stalled = on }

    private func waitWhileStalled() async {
        while stalled, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(50)) }
    }

    func info() async throws -> IPVSInfo { try await fake.info() }
    func table() async throws -> [ServiceEntry] {
        await waitWhileStalled()
        return try await fake.table()
    }
    func entry(for key: ServiceKey) async throws -> ServiceEntry { try await fake.entry(for: key) }
    func apply(_ operations: [IPVSOperation]) async throws -> Int { try await fake.apply(operations) }
    func timeouts() async throws -> Timeouts { try await fake.timeouts() }
    func daemons() async throws -> [SyncDaemon] { try await fake.daemons() }
}

@Suite("Status server: /status, /metrics, /healthz, /readyz and the page", .serialized)
struct StatusServerTests {
    /// One virtual server over a live loopback backend and a closed port, checked every 300 ms.
    static func plan(live: UInt16, dead: UInt16) -> LVSPlan {
        let timing = CheckTiming(delayLoop: .milliseconds(300), retry: 0, delayBeforeRetry: .milliseconds(100), warmup: .milliseconds(500))
        let rss = [(live, UInt32(3)), (dead, UInt32(2))].map { port, weight in
            RealServerSpec(destination: Destination(address: IPAddress("127.0.0.1")!, port: port, forwarding: .masquerade, weight: weight),
                           checks: [CheckSpec(kind: .tcp(ConnectionSettings(address: IPAddress("127.0.0.1")!, port: port, timeout: .seconds(1))),
                                              timing: timing)])
        }
        return LVSPlan(virtualServers: [VirtualServerSpec(
            service: Service(key: .address(.tcp, IPAddress("192.0.2.10")!, 80), scheduler: "wrr"), realServers: rss,
            sorryServer: Destination(address: IPAddress("203.0.113.5")!, port: 80, forwarding: .masquerade, weight: 1), quorum: 1)])
    }

    @Test("every endpoint against a running checker half: schema, exporter names, readiness, a stalled reconciler, the page in Chromium")
    func endpoints() async throws {
        let live = try Listener()
        let deadPort: UInt16 = try { let l = try Listener(); return l.port }()
        let ipvs = StallableIPVS()
        let checker = CheckerService(plan: Self.plan(live: live.port, dead: deadPort), ipvs: ipvs, differ: CheckerDaemon.differ,
                                     options: ReconcileOptions(interval: .milliseconds(300), driftCPUShare: nil))
        let sources = StatusSources(checker: checker, vrrp: nil, coordinator: nil, configFile: "/etc/keepalived/keepalived.conf",
                                    ipvs: ipvs)
        let liveness = Liveness(sources: sources, interval: .milliseconds(200), bound: .seconds(1))
        let status = try StatusService.bind(host: "127.0.0.1", port: 0, routes: StatusRoutes(sources: sources, liveness: liveness),
                                            logger: Logger(label: "test.status"))
        let base = "http://\(status.boundAddress)"
        let group = ServiceGroup(configuration: .init(services: [.init(service: checker), .init(service: status)],
                                                      logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        defer { running.cancel() }

        // Before the first verdicts (warm-up 0.5 s): not ready.
        let (early, earlyBody) = get(base + "/readyz")
        #expect(early == 503, "\(earlyBody)")
        var ready = 0
        for _ in 0..<100 where ready != 200 {
            ready = get(base + "/readyz").0
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(ready == 200, "ready once every checker has a verdict")
        try await Task.sleep(for: .milliseconds(700))

        // /status follows Docs/status.schema.json; /metrics parses with prometheus_client and has Vigil's names.
        let (rc, out) = Lab.checkStatus(base, ["--lvs"])
        #expect(rc == 0, "\(out)")
        let (code, body) = get(base + "/status")
        #expect(code == 200)
        let document = try StatusDocument.decoder.decode(StatusDocument.self, from: Data(body.utf8))
        #expect(document.schemaVersion == 1)
        let vs = try #require(document.virtualServers?.first)
        #expect(vs.key == "TCP 192.0.2.10:80" && vs.scheduler == "wrr" && vs.quorum.up && vs.sorryServer?.active == false)
        let up = try #require(vs.realServers.first { $0.port == Int(live.port) })
        let down = try #require(vs.realServers.first { $0.port == Int(deadPort) })
        #expect(up.alive && up.effectiveWeight == 3 && up.inIpvs && up.checkers.first?.lastResult == "success")
        #expect(up.checkers.first?.hasVerdict == true && (up.checkers.first?.nextCheckInSeconds ?? 9) <= 0.3)
        #expect(!down.alive && down.effectiveWeight == 0 && !down.inIpvs && down.configuredWeight == 2)
        #expect(down.checkers.first?.lastResult == "failure" && down.checkers.first?.reason?.isEmpty == false
                && (down.checkers.first?.consecutiveFailures ?? 0) >= 1, "\(String(describing: down.checkers.first))")

        let (_, metrics) = get(base + "/metrics")
        #expect(metrics.contains("vigil_real_server_up{service=\"TCP 192.0.2.10:80\",real_server=\"127.0.0.1:\(live.port)\"} 1")
                || metrics.contains("vigil_real_server_up{real_server=\"127.0.0.1:\(live.port)\",service=\"TCP 192.0.2.10:80\"} 1"), "\(metrics)")

        // A drift reconciler stuck in a kernel read: /healthz goes 503 within its interval plus the bound, and back.
        #expect(get(base + "/healthz").0 == 200)
        await ipvs.stall(true)
        var health = (0, "")
        for _ in 0..<60 where health.0 != 503 {
            try await Task.sleep(for: .milliseconds(100))
            health = get(base + "/healthz")
        }
        #expect(health.0 == 503 && health.1.contains("reconciler: stalled"), "\(health)")
        #expect(get(base + "/status").0 == 200, "/status still answers while the kernel read hangs")
        await ipvs.stall(false)
        for _ in 0..<60 where health.0 != 200 {
            try await Task.sleep(for: .milliseconds(100))
            health = get(base + "/healthz")
        }
        #expect(health.0 == 200, "\(health)")
        #expect(get(base + "/nope").0 == 404)
        #expect(Lab.httpGet(base + "/status", method: "POST").0 == 405, "no write operation over HTTP")

        try await page(base, live: "127.0.0.1:\(live.port)", dead: "127.0.0.1:\(deadPort)")
        await group.triggerGracefulShutdown()
        _ = try? await running.value
    }

    /// The page in headless Chromium: it shows the pool with each server's health; a screenshot is kept.
    func page(_ base: String, live: String, dead: String) async throws {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            Issue.record("chromium is not installed (apt-get install chromium): the status page was not checked")
            return
        }
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--virtual-time-budget=4000"]
        let (rc, dom) = Lab.capture(chromium, flags + ["--dump-dom", base + "/"])
        #expect(rc == 0, "\(dom.suffix(2000))")
        #expect(dom.contains("TCP 192.0.2.10:80") && dom.contains(live) && dom.contains(dead), "\(dom.suffix(3000))")
        #expect(dom.contains("<td>alive</td>") && dom.contains("<td>down</td>"), "\(dom.suffix(3000))")
        let shot = outputDirectory + "/status-page.png"
        try? FileManager.default.removeItem(atPath: shot)
        let (src, sout) = Lab.capture(chromium, flags + ["--window-size=1200,800", "--screenshot=\(shot)", base + "/"])
        #expect(src == 0 && FileManager.default.fileExists(atPath: shot), "\(sout.suffix(2000))")
    }
}
