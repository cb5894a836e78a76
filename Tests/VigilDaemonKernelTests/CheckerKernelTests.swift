import Foundation
import HealthCheck
import IPVS
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing
import VigilDaemon
import VigilSupport
import VigilTestSupport

/// `ipvsadm -Ln` as service → destination → weight.
func ipvsadmTable() -> [String: [String: UInt32]] {
    var table: [String: [String: UInt32]] = [:]
    var current: String?
    for line in shell("/usr/sbin/ipvsadm", ["-Ln"]).split(separator: "\n") {
        let f = line.split(separator: " ", omittingEmptySubsequences: true)
        if line.hasPrefix("TCP") || line.hasPrefix("UDP") || line.hasPrefix("FWM") {
            current = "\(f[0]) \(f[1])"
            table[current!] = [:]
        } else if line.hasPrefix("  ->"), f.count >= 4, let w = UInt32(f[3]), let c = current {
            table[c]![String(f[1])] = w
        }
    }
    return table
}

@discardableResult
func shell(_ exe: String, _ args: [String]) -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return "" }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

/// Polls until `condition` holds on the `ipvsadm -Ln` table (at most `seconds`).
func eventually(_ what: String, within seconds: Double = 15, _ condition: ([String: [String: UInt32]]) -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if condition(ipvsadmTable()) { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("timed out waiting for: \(what); table: \(ipvsadmTable())")
    return false
}

/// A loopback TCP listener that can be killed and restored on the same port. With `http`, each
/// connection gets `HTTP/1.0 200 OK` and a short body, else it is closed at once.
final class Backend: @unchecked Sendable {
    let port: UInt16
    let http: Bool
    private var channel: (any Channel)?
    private let accepted = Counter()

    final class Counter: Sendable {
        let value = Mutex(0)
    }

    init(http: Bool = false) async throws {
        self.http = http
        let ch = try await Self.listen(0, http: http, accepted: accepted)
        port = UInt16(ch.localAddress!.port!)
        channel = ch
    }

    /// Connections accepted so far: one per check.
    var connections: Int { accepted.value.withLock { $0 } }

    static func listen(_ port: Int, http: Bool, accepted: Counter) async throws -> any Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                accepted.value.withLock { $0 += 1 }
                guard http else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(AnswerOK()) }
            }
            .bind(host: "127.0.0.1", port: port).get()
    }

    func kill() async { try? await channel?.close(); channel = nil }
    func restore() async throws { channel = try await Self.listen(Int(port), http: http, accepted: accepted) }
}

/// Answers every request (in fact, every connection) with `200 OK` and closes.
private final class AnswerOK: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelActive(context: ChannelHandlerContext) {
        let answer = context.channel.allocator.buffer(string: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
        context.writeAndFlush(wrapOutboundOut(answer)).whenComplete { _ in context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

private let loopback = IPAddress("127.0.0.1")!
private let fast = CheckTiming(delayLoop: .milliseconds(200), retry: 0, delayBeforeRetry: .milliseconds(100), warmup: .zero)

private func tcpServer(_ b: Backend, weight: UInt32 = 1, inhibit: Bool = false) -> RealServerSpec {
    RealServerSpec(destination: Destination(address: loopback, port: b.port, forwarding: .masquerade, weight: weight),
                   checks: [CheckSpec(kind: .tcp(ConnectionSettings(address: loopback, port: b.port, timeout: .milliseconds(500))), timing: fast)],
                   inhibitOnFailure: inhibit)
}

private func vs(_ n: Int) -> ServiceKey { .address(.tcp, IPAddress("192.0.2.\(n)")!, 80) }

@Suite("vigil -C against the kernel's IPVS", .serialized, .requiresIPVS, .tags(.ipvsKernel))
struct CheckerKernelTests {
    @Test("backends dying and returning change ipvsadm -Ln as configured; drift is repaired; stop releases")
    func lifecycle() async throws {
        shell("/usr/sbin/ipvsadm", ["-C"])
        shell("/usr/sbin/ipvsadm", ["-A", "-t", "192.0.2.200:80", "-s", "rr"])   // another tool's service
        defer { shell("/usr/sbin/ipvsadm", ["-C"]) }
        let a = try await Backend(), b = try await Backend(), c = try await Backend()
        let e = try await Backend(), f = try await Backend()
        let scratch = NSTemporaryDirectory() + "vigil-kt-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let codeFile = "\(scratch)/code"
        try "0".write(toFile: codeFile, atomically: true, encoding: .utf8)
        let script = "\(scratch)/misc.sh"
        try "#!/bin/sh\nexit $(cat \"$1\")\n".write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let sorry = Destination(address: loopback, port: 9, forwarding: .masquerade, weight: 1)
        let misc = RealServerSpec(destination: Destination(address: loopback, port: 7, forwarding: .masquerade, weight: 3),
                                  checks: [CheckSpec(kind: .misc(MiscCheckSettings(arguments: [script, codeFile], timeout: .seconds(2), dynamic: true)), timing: fast)])
        let plan = LVSPlan(virtualServers: [
            VirtualServerSpec(service: Service(key: vs(1), scheduler: "rr"), realServers: [tcpServer(a), tcpServer(b)]),
            VirtualServerSpec(service: Service(key: vs(2), scheduler: "wrr"), realServers: [tcpServer(c, weight: 5, inhibit: true)]),
            VirtualServerSpec(service: Service(key: vs(3), scheduler: "wlc"), realServers: [misc]),
            VirtualServerSpec(service: Service(key: vs(4), scheduler: "rr"), realServers: [tcpServer(e), tcpServer(f)],
                              sorryServer: sorry, quorum: 2),
            // Same backend and check as virtual server 1: shares its probe.
            VirtualServerSpec(service: Service(key: vs(5), scheduler: "rr"), realServers: [tcpServer(a)]),
        ])
        // Pacing is off: under emulation a debug-build pass costs enough CPU to stretch the
        // interval past this test's windows; the pacing itself is tested in LVSManagerTests ("drift repair in the background").
        let service = try CheckerDaemon.service(plan: plan, options: ReconcileOptions(interval: .seconds(1), driftCPUShare: nil))
        let group = ServiceGroup(services: [service], logger: Logger(label: "kernel-test"))
        let run = Task { try await group.run() }

        let A = "127.0.0.1:\(a.port)", B = "127.0.0.1:\(b.port)", C = "127.0.0.1:\(c.port)"
        let E = "127.0.0.1:\(e.port)", F = "127.0.0.1:\(f.port)"
        #expect(await eventually("all installed") { t in
            t["TCP 192.0.2.1:80"] == [A: 1, B: 1] && t["TCP 192.0.2.2:80"] == [C: 5] && t["TCP 192.0.2.3:80"] == ["127.0.0.1:7": 3]
                && t["TCP 192.0.2.4:80"] == [E: 1, F: 1] && t["TCP 192.0.2.5:80"] == [A: 1] && t["TCP 192.0.2.200:80"] == [:]
        })
        // Removal, in both virtual servers sharing the backend.
        await a.kill()
        #expect(await eventually("A removed") { $0["TCP 192.0.2.1:80"] == [B: 1] && $0["TCP 192.0.2.5:80"] == [:] })
        try await a.restore()
        #expect(await eventually("A back") { $0["TCP 192.0.2.1:80"] == [A: 1, B: 1] && $0["TCP 192.0.2.5:80"] == [A: 1] })
        // inhibit_on_failure: weight 0.
        await c.kill()
        #expect(await eventually("C at weight 0") { $0["TCP 192.0.2.2:80"] == [C: 0] })
        try await c.restore()
        #expect(await eventually("C at weight 5") { $0["TCP 192.0.2.2:80"] == [C: 5] })
        // misc_dynamic: exit 9 → weight 7; exit 1 → removed; exit 0 → up, weight unchanged (7).
        try "9".write(toFile: codeFile, atomically: true, encoding: .utf8)
        #expect(await eventually("misc weight 7") { $0["TCP 192.0.2.3:80"] == ["127.0.0.1:7": 7] })
        try "1".write(toFile: codeFile, atomically: true, encoding: .utf8)
        #expect(await eventually("misc removed") { $0["TCP 192.0.2.3:80"] == [:] })
        try "0".write(toFile: codeFile, atomically: true, encoding: .utf8)
        #expect(await eventually("misc back at 7") { $0["TCP 192.0.2.3:80"] == ["127.0.0.1:7": 7] })
        // Quorum 2 of 2: losing one backend swaps in the sorry server.
        await e.kill()
        #expect(await eventually("sorry in") { $0["TCP 192.0.2.4:80"] == ["127.0.0.1:9": 1] })
        try await e.restore()
        #expect(await eventually("sorry out") { $0["TCP 192.0.2.4:80"] == [E: 1, F: 1] })
        // Drift: an operator deletes a live server, then clears everything.
        // The repair may land before a read-back could see the gap, so only the delete's own
        // success is checked here (ipvsadm -d prints nothing on success).
        #expect(shell("/bin/sh", ["-c", "/usr/sbin/ipvsadm -d -t 192.0.2.1:80 -r \(B) 2>&1 && echo deleted"]) == "deleted\n")
        #expect(await eventually("B restored after ipvsadm -d", within: 5) { $0["TCP 192.0.2.1:80"] == [A: 1, B: 1] })
        shell("/usr/sbin/ipvsadm", ["-C"])
        #expect(await eventually("table restored after ipvsadm -C", within: 5) { $0["TCP 192.0.2.1:80"] == [A: 1, B: 1] && $0["TCP 192.0.2.4:80"] == [E: 1, F: 1] })

        // Graceful stop releases Vigil's services and leaves others' alone.
        shell("/usr/sbin/ipvsadm", ["-A", "-t", "192.0.2.200:80", "-s", "rr"])
        await group.triggerGracefulShutdown()
        _ = try? await run.value
        let after = ipvsadmTable()
        #expect(after.keys.sorted() == ["TCP 192.0.2.200:80"])
        for backend in [a, b, c, e, f] { await backend.kill() }
    }
}
