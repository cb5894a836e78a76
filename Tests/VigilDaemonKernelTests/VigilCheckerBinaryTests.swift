import Foundation
import Testing
import VigilTestSupport

/// The `vigil -C` binary as an operator runs it: output and exit status, signals, `-I`.
@Suite("vigil -C binary against the kernel's IPVS", .serialized, .requiresIPVS, .tags(.ipvsKernel))
struct VigilCheckerBinaryTests {
    /// A running `vigil` (or, given `executable`, another daemon such as keepalived) whose log goes to a file.
    final class Daemon {
        let process = Process()
        let log: String

        init(_ arguments: [String], log: String, executable: String? = nil, environment: [String: String] = [:]) throws {
            let program = try executable ?? #require(Lab.builtProduct("vigil"), "build the vigil binary first (swift build)")
            self.log = log
            FileManager.default.createFile(atPath: log, contents: nil)
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = arguments
            if !environment.isEmpty {
                process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
        }

        /// Sends `signal` and waits (without blocking a thread) for the exit status.
        func stop(_ signal: Int32 = SIGTERM, within seconds: Double = 15) async -> Int32? {
            kill(process.processIdentifier, signal)
            return await exitStatus(within: seconds)
        }

        func exitStatus(within seconds: Double) async -> Int32? {
            let deadline = ContinuousClock.now + .seconds(seconds)
            while process.isRunning, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                return nil
            }
            return process.terminationStatus
        }

        var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    }

    @Test("installs the file's table, follows TCP and HTTP backends, releases on SIGTERM; -I keeps it; a broken file applies nothing")
    func binary() async throws {
        shell("/usr/sbin/ipvsadm", ["-C"])
        defer { shell("/usr/sbin/ipvsadm", ["-C"]) }
        shell("/usr/sbin/ipvsadm", ["-A", "-t", "192.0.2.200:80", "-s", "rr"])   // another tool's service
        let tcp = try await Backend(), web = try await Backend(http: true)
        defer { Task { await tcp.kill(); await web.kill() } }
        let scratch = NSTemporaryDirectory() + "vigil-bin-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let conf = "\(scratch)/keepalived.conf"
        try """
        virtual_server 192.0.2.10 80 {
            delay_loop 1
            lb_algo wrr
            lb_kind NAT
            protocol TCP
            real_server 127.0.0.1 \(tcp.port) {
                weight 2
                TCP_CHECK {
                    connect_timeout 1
                    retry 0
                    warmup 0
                }
            }
            real_server 127.0.0.1 \(web.port) {
                weight 1
                HTTP_GET {
                    url {
                        path /health
                        status_code 200
                    }
                    connect_timeout 1
                    retry 0
                    warmup 0
                }
            }
        }
        """.write(toFile: conf, atomically: true, encoding: .utf8)
        let T = "127.0.0.1:\(tcp.port)", W = "127.0.0.1:\(web.port)"

        let first = try Daemon(["-C", "-n", "-l", "-f", conf], log: "\(scratch)/first.log")
        #expect(await eventually("both installed") { $0["TCP 192.0.2.10:80"] == [T: 2, W: 1] }, "\(first.output.suffix(3000))")
        await web.kill()
        #expect(await eventually("HTTP backend removed") { $0["TCP 192.0.2.10:80"] == [T: 2] }, "\(first.output.suffix(3000))")
        try await web.restore()
        #expect(await eventually("HTTP backend back") { $0["TCP 192.0.2.10:80"] == [T: 2, W: 1] }, "\(first.output.suffix(3000))")
        await tcp.kill()
        #expect(await eventually("TCP backend removed") { $0["TCP 192.0.2.10:80"] == [W: 1] }, "\(first.output.suffix(3000))")
        try await tcp.restore()
        #expect(await eventually("TCP backend back") { $0["TCP 192.0.2.10:80"] == [T: 2, W: 1] }, "\(first.output.suffix(3000))")
        #expect(await first.stop() == 0, "\(first.output)")
        #expect(ipvsadmTable().keys.sorted() == ["TCP 192.0.2.200:80"], "SIGTERM releases only Vigil's service")
        #expect(first.output.contains("HTTP_GET \(W) down"), "the log names what went down: \(first.output)")

        let kept = try Daemon(["-C", "-n", "-l", "-I", "--reconcile-interval", "0.5", "-f", conf], log: "\(scratch)/kept.log")
        #expect(await eventually("installed again") { $0["TCP 192.0.2.10:80"] == [T: 2, W: 1] }, "\(kept.output.suffix(3000))")
        // Two deletions in a row, each repaired within 2.5 s: only a 0.5 s interval can do that
        // (at the default 5 s, the second repair comes about 5 s after the first).
        for round in 1...2 {
            shell("/usr/sbin/ipvsadm", ["-d", "-t", "192.0.2.10:80", "-r", T])
            #expect(await eventually("drift repair \(round) at --reconcile-interval 0.5", within: 2.5) { $0["TCP 192.0.2.10:80"] == [T: 2, W: 1] },
                    "\(kept.output.suffix(3000))")
        }
        #expect(await kept.stop() == 0, "\(kept.output)")
        #expect(ipvsadmTable()["TCP 192.0.2.10:80"] == [T: 2, W: 1], "-I leaves the table in place")

        shell("/usr/sbin/ipvsadm", ["-C"])
        let broken = "\(scratch)/broken.conf"
        try "virtual_server 192.0.2.11 80 {\n    lb_algo rr\n    real_server 127.0.0.1 notaport {\n    }\n}\n"
            .write(toFile: broken, atomically: true, encoding: .utf8)
        let bad = try Daemon(["-C", "-n", "-l", "-f", broken], log: "\(scratch)/broken.log")
        let status = await bad.exitStatus(within: 15)
        #expect(status != nil && status != 0)
        #expect(bad.output.contains("broken.conf:3:"), "the error names file and line: \(bad.output)")
        #expect(ipvsadmTable().isEmpty, "nothing applied from a broken file")
    }
}
