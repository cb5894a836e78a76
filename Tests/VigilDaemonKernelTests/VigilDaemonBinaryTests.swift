import Foundation
import Testing
import VigilTestSupport

/// A unix datagram socket standing in for systemd's `$NOTIFY_SOCKET`: collects what Vigil sends.
final class NotifySocket: @unchecked Sendable {
    let path: String
    private let fd: Int32

    /// Binds under /run: in the lab VM /tmp is shared over 9p, where unix sockets cannot be bound.
    init() throws {
        path = "/run/vigil-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    private var received: [String] = []

    /// Every message so far, first `KEY=VALUE` of each (READY=1, RELOADING=1, STOPPING=1, WATCHDOG=1).
    var messages: [String] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            let text = String(decoding: buffer[..<n], as: UTF8.self)
            received.append(text.split(separator: "\n").first.map(String.init) ?? text)
        }
        return received
    }

    func waitFor(_ message: String, count: Int = 1, within seconds: Double = 30) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if messages.filter({ $0 == message }).count >= count { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}

/// `vigil` without `-C`/`-P`, as systemd runs it: reload by SIGHUP, notify protocol, pid file.
@Suite("vigil daemon binary: reload, lifecycle, restart", .serialized, .requiresIPVS, .tags(.ipvsKernel))
struct VigilDaemonBinaryTests {
    typealias Daemon = VigilCheckerBinaryTests.Daemon

    /// A virtual server over three loopback backends; `weights` and `timeouts` per backend, in
    /// the order `order` lists them. delay_loop 10 s: after the first checks none is due for
    /// 10 s, so any check inside that window is one a reload caused.
    static func config(_ backends: [Backend], weights: [UInt32], timeouts: [Int], order: [Int], scheduler: String = "wrr") -> String {
        var text = """
        virtual_server 192.0.2.30 80 {
            delay_loop 10
            lvs_sched \(scheduler)
            lvs_method NAT
            protocol TCP

        """
        for i in order {
            text += """
                real_server 127.0.0.1 \(backends[i].port) {
                    weight \(weights[i])
                    TCP_CHECK {
                        connect_timeout \(timeouts[i])
                        retry 0
                        warmup 0
                    }
                }

            """
        }
        return text + "}\n"
    }

    @Test("SIGHUP applies only the difference, refuses a broken file, notifies systemd; SIGTERM releases and removes the pid file")
    func reload() async throws {
        shell("/usr/sbin/ipvsadm", ["-C"])
        defer { shell("/usr/sbin/ipvsadm", ["-C"]) }
        let backends = [try await Backend(), try await Backend(), try await Backend()]
        defer { Task { for b in backends { await b.kill() } } }
        let scratch = NSTemporaryDirectory() + "vigil-daemon-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let conf = "\(scratch)/keepalived.conf"
        let pidFile = "/run/vigil-test-\(getpid()).pid"
        let notify = try NotifySocket()
        let (a, b, c) = ("127.0.0.1:\(backends[0].port)", "127.0.0.1:\(backends[1].port)", "127.0.0.1:\(backends[2].port)")
        let service = "TCP 192.0.2.30:80"
        func write(_ text: String) throws { try text.write(toFile: conf, atomically: true, encoding: .utf8) }
        try write(Self.config(backends, weights: [1, 2, 3], timeouts: [1, 1, 1], order: [0, 1, 2]))

        let daemon = try Daemon(["-n", "-l", "-G", "-f", conf, "-p", pidFile], log: "\(scratch)/vigil.log",
                                environment: ["NOTIFY_SOCKET": notify.path])
        #expect(await eventually("installed") { $0[service] == [a: 1, b: 2, c: 3] }, "\(daemon.output.suffix(3000))")
        #expect(await notify.waitFor("READY=1"), "READY=1 once started: \(notify.messages)")
        #expect((try? String(contentsOfFile: pidFile, encoding: .utf8)) == "\(daemon.process.processIdentifier)\n", "the pid file holds the pid")
        // The first checks have run (warmup 0); from now on any check is one a reload caused.
        try await Task.sleep(for: .seconds(1))
        let checksAtStart = backends.map(\.connections)
        #expect(checksAtStart.allSatisfy { $0 >= 1 }, "each backend was checked once at start: \(checksAtStart)")

        func hangUp(expecting line: String, count: Int) async -> Bool {
            kill(daemon.process.processIdentifier, SIGHUP)
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                if daemon.output.components(separatedBy: line).count - 1 >= count { return true }
                try? await Task.sleep(for: .milliseconds(100))
            }
            Issue.record("no `\(line)` after SIGHUP: \(daemon.output.suffix(3000))")
            return false
        }

        // The same servers in another order: nothing moves, no check runs.
        try write(Self.config(backends, weights: [1, 2, 3], timeouts: [1, 1, 1], order: [2, 0, 1]))
        #expect(await hangUp(expecting: "Reload finished: no changes, 0 IPVS operations", count: 1))
        #expect(await notify.waitFor("READY=1", count: 2), "RELOADING=1 then READY=1: \(notify.messages)")
        #expect(notify.messages.contains("RELOADING=1"))
        #expect(ipvsadmTable()[service] == [a: 1, b: 2, c: 3])

        // One changed weight: one destination edit, still no check.
        try write(Self.config(backends, weights: [1, 5, 3], timeouts: [1, 1, 1], order: [2, 0, 1]))
        #expect(await hangUp(expecting: "1 changes, 1 IPVS operations", count: 1))
        #expect(ipvsadmTable()[service] == [a: 1, b: 5, c: 3])
        #expect(backends.map(\.connections) == checksAtStart, "unchanged checkers ran no extra check: \(backends.map(\.connections)) vs \(checksAtStart)")

        // A changed checker on the third server: only that one is checked again, nothing else moves.
        try write(Self.config(backends, weights: [1, 5, 3], timeouts: [1, 1, 2], order: [2, 0, 1]))
        #expect(await hangUp(expecting: "checkers changed", count: 1))
        try await Task.sleep(for: .seconds(2))
        let afterCheckerChange = backends.map(\.connections)
        #expect(afterCheckerChange[0] == checksAtStart[0] && afterCheckerChange[1] == checksAtStart[1], "\(afterCheckerChange) vs \(checksAtStart)")
        #expect(afterCheckerChange[2] == checksAtStart[2] + 1, "the new checker ran its first check: \(afterCheckerChange) vs \(checksAtStart)")
        #expect(ipvsadmTable()[service] == [a: 1, b: 5, c: 3])

        // A broken file: refused with file and line, everything stays, the daemon keeps running.
        try write("virtual_server 192.0.2.30 80 {\n    lvs_sched rr\n    real_server 127.0.0.1 notaport {\n    }\n}\n")
        #expect(await hangUp(expecting: "Reload refused", count: 1))
        #expect(daemon.output.contains("keepalived.conf:3:"), "the error names file and line")
        #expect(daemon.process.isRunning)
        #expect(ipvsadmTable()[service] == [a: 1, b: 5, c: 3])

        // A removed real server drains (no connections: gone at the next look) and a new scheduler is an edit.
        try write(Self.config(backends, weights: [1, 5, 3], timeouts: [1, 1, 2], order: [2, 1], scheduler: "wlc"))
        #expect(await hangUp(expecting: "drained", count: 1))
        #expect(await eventually("first server drained and removed") { $0[service] == [b: 5, c: 3] })
        #expect(shell("/usr/sbin/ipvsadm", ["-Ln"]).contains("192.0.2.30:80 wlc"))

        #expect(await daemon.stop() == 0, "\(daemon.output.suffix(2000))")
        #expect(ipvsadmTable()[service] == nil, "SIGTERM releases the service")
        #expect(notify.messages.last == "STOPPING=1", "\(notify.messages)")
        #expect(!FileManager.default.fileExists(atPath: pidFile), "the pid file is removed at exit")
    }

    @Test("after SIGKILL a restart converges from the kernel's table without removing live servers")
    func restartAfterKill() async throws {
        shell("/usr/sbin/ipvsadm", ["-C"])
        defer { shell("/usr/sbin/ipvsadm", ["-C"]) }
        let backends = [try await Backend(), try await Backend(), try await Backend()]
        defer { Task { for b in backends { await b.kill() } } }
        let scratch = NSTemporaryDirectory() + "vigil-restart-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let conf = "\(scratch)/keepalived.conf"
        try Self.config(backends, weights: [1, 2, 3], timeouts: [1, 1, 1], order: [0, 1, 2]).write(toFile: conf, atomically: true, encoding: .utf8)
        let service = "TCP 192.0.2.30:80"
        let want = Dictionary(uniqueKeysWithValues: zip(backends.map { "127.0.0.1:\($0.port)" }, [UInt32(1), 2, 3]))

        let first = try Daemon(["-n", "-l", "-G", "-f", conf], log: "\(scratch)/first.log")
        #expect(await eventually("installed") { $0[service] == want }, "\(first.output.suffix(3000))")
        #expect(await first.stop(SIGKILL) != 0)
        #expect(ipvsadmTable()[service] == want, "SIGKILL leaves the table as it was")

        let second = try Daemon(["-n", "-l", "-G", "-f", conf], log: "\(scratch)/second.log")
        // Until the restarted daemon has finished starting, every live server stays in IPVS.
        let deadline = ContinuousClock.now + .seconds(30)
        var samples = 0
        while ContinuousClock.now < deadline, !second.output.contains("started:") {
            let table = ipvsadmTable()[service]
            #expect(table == want, "a live server went missing during the restart: \(String(describing: table))")
            samples += 1
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(second.output.contains("started:"), "\(second.output.suffix(3000))")
        #expect(samples > 0)
        #expect(!second.output.contains("removed"), "nothing removed at restart: \(second.output)")
        #expect(!second.output.contains("flushed"))
        #expect(await second.stop() == 0)
    }

    @Test("both halves in one process: VRRP takes the VIP, the sync daemon runs as backup then master, SIGTERM releases VIP, IPVS and daemon")
    func bothHalvesWithConnectionSync() async throws {
        shell("/usr/sbin/ipvsadm", ["-C"])
        shell("/usr/sbin/ipvsadm", ["--stop-daemon", "master"])
        shell("/usr/sbin/ipvsadm", ["--stop-daemon", "backup"])
        defer { shell("/usr/sbin/ipvsadm", ["-C"]) }
        // A veth pair: VRRP needs an interface with an IPv4 address (the loopback is refused).
        shell("/sbin/ip", ["link", "add", "vgl0", "type", "veth", "peer", "name", "vgl1"])
        defer { shell("/sbin/ip", ["link", "del", "vgl0"]) }
        shell("/sbin/ip", ["addr", "add", "198.51.100.1/24", "dev", "vgl0"])
        shell("/sbin/ip", ["link", "set", "vgl0", "up"])
        shell("/sbin/ip", ["link", "set", "vgl1", "up"])
        let backend = try await Backend()
        defer { Task { await backend.kill() } }
        let scratch = NSTemporaryDirectory() + "vigil-both-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let conf = "\(scratch)/keepalived.conf"
        try """
        global_defs {
            lvs_sync_daemon vgl0 VI_1 id 5
        }
        vrrp_instance VI_1 {
            interface vgl0
            virtual_router_id 51
            priority 200
            advert_int 1
            virtual_ipaddress {
                192.0.2.40/32
            }
        }
        virtual_server 192.0.2.40 80 {
            delay_loop 2
            lvs_sched rr
            lvs_method NAT
            protocol TCP
            real_server 127.0.0.1 \(backend.port) {
                TCP_CHECK {
                    connect_timeout 1
                    warmup 0
                }
            }
        }
        """.write(toFile: conf, atomically: true, encoding: .utf8)
        let daemon = try Daemon(["-n", "-l", "-G", "-f", conf], log: "\(scratch)/vigil.log")
        func daemons() -> String { shell("/usr/sbin/ipvsadm", ["-L", "--daemon"]) }
        func vipHeld() -> Bool { shell("/sbin/ip", ["-4", "addr", "show", "dev", "vgl0"]).contains("192.0.2.40/32") }
        #expect(await eventually("service installed", within: 45) { $0["TCP 192.0.2.40:80"]?.count == 1 }, "\(daemon.output.suffix(3000))")
        var sawBackup = false
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, !vipHeld() {
            if daemons().contains("backup sync daemon (mcast=vgl0, syncid=5") { sawBackup = true }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(vipHeld(), "the VIP is taken: \(daemon.output.suffix(3000))")
        // The backup phase lasts one Master_Down interval (about 3.2 s): seen in the kernel or, on a slow start, in the log.
        #expect(sawBackup || daemon.output.contains("started sync daemon backup on vgl0 (VI_1 is BACKUP)"),
                "a backup sync daemon ran before the instance became master: \(daemon.output.suffix(2000))")
        let masterDeadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < masterDeadline, !daemons().contains("master sync daemon") {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(daemons().contains("master sync daemon (mcast=vgl0, syncid=5"), "\(daemons())")
        #expect(!daemons().contains("backup sync daemon"), "the backup daemon stopped when the master started: \(daemons())")
        #expect(await daemon.stop() == 0, "\(daemon.output.suffix(2000))")
        #expect(!vipHeld(), "SIGTERM releases the VIP")
        #expect(ipvsadmTable()["TCP 192.0.2.40:80"] == nil, "SIGTERM releases the service")
        #expect(!daemons().contains("sync daemon"), "SIGTERM stops the sync daemon: \(daemons())")
    }

    @Test("vigil ctl against the kernel: drain and weight reach IPVS and outlive SIGHUP and a restart; vrrp backup releases the VIP; errors exit 1")
    func control() async throws {
        shell("/usr/sbin/ipvsadm", ["-C"])
        defer { shell("/usr/sbin/ipvsadm", ["-C"]) }
        shell("/sbin/ip", ["link", "add", "vgc0", "type", "veth", "peer", "name", "vgc1"])
        defer { shell("/sbin/ip", ["link", "del", "vgc0"]) }
        shell("/sbin/ip", ["addr", "add", "198.51.100.1/24", "dev", "vgc0"])
        shell("/sbin/ip", ["link", "set", "vgc0", "up"])
        shell("/sbin/ip", ["link", "set", "vgc1", "up"])
        let backends = [try await Backend(), try await Backend()]
        defer { Task { for b in backends { await b.kill() } } }
        let scratch = NSTemporaryDirectory() + "vigil-ctl-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let conf = "\(scratch)/keepalived.conf", stateFile = "\(scratch)/overrides.json"
        // Unix sockets cannot be bound on the 9p share: the control socket goes under /run.
        let socket = "/run/vigil-ctl-\(getpid()).sock"
        try """
        vrrp_instance VI_1 {
            interface vgc0
            virtual_router_id 52
            priority 200
            advert_int 1
            virtual_ipaddress {
                192.0.2.41/32
            }
        }
        virtual_server 192.0.2.41 80 {
            delay_loop 2
            lvs_sched wrr
            lvs_method NAT
            protocol TCP
        \(backends.map { "    real_server 127.0.0.1 \($0.port) {\n        weight 3\n        TCP_CHECK {\n            connect_timeout 1\n            warmup 0\n        }\n    }" }.joined(separator: "\n"))
        }
        """.write(toFile: conf, atomically: true, encoding: .utf8)
        let service = "TCP 192.0.2.41:80"
        let (a, b) = ("127.0.0.1:\(backends[0].port)", "127.0.0.1:\(backends[1].port)")
        let vigil = try #require(Lab.builtProduct("vigil"))
        func ctl(_ words: String...) -> (Int32, String) { Lab.capture(vigil, ["ctl", "--socket", socket] + words) }
        func vipHeld() -> Bool { shell("/sbin/ip", ["-4", "addr", "show", "dev", "vgc0"]).contains("192.0.2.41/32") }
        let arguments = ["-n", "-l", "-G", "-f", conf, "--control-socket", socket, "--state-file", stateFile, "--status-address", "none"]

        var daemon = try Daemon(arguments, log: "\(scratch)/vigil.log")
        #expect(await eventually("installed", within: 45) { $0[service] == [a: 3, b: 3] }, "\(daemon.output.suffix(3000))")
        let (drainStatus, drainOut) = ctl("drain", "192.0.2.41:80", a)
        #expect(drainStatus == 0 && drainOut.contains("real server \(a) draining (vigil ctl)"), "\(drainOut)")
        #expect(ctl("weight", "192.0.2.41:80", b, "5").0 == 0)
        #expect(ipvsadmTable()[service] == [a: 0, b: 5], "the overrides are in the kernel at once")
        #expect(daemon.output.contains("real server \(a) draining (vigil ctl)"), "the override is logged")

        let (unknownStatus, unknownOut) = ctl("drain", "192.0.2.99:80", a)
        #expect(unknownStatus == 1 && unknownOut.contains("unknown virtual server TCP 192.0.2.99:80"), "\(unknownOut)")
        let (instanceStatus, instanceOut) = ctl("vrrp", "VI_9", "priority", "10")
        #expect(instanceStatus == 1 && instanceOut.contains("VRRP instance VI_9 not found (instances: VI_1)"), "\(instanceOut)")
        #expect(ipvsadmTable()[service] == [a: 0, b: 5], "a refused request changes nothing")

        // SIGHUP of the same file keeps them.
        kill(daemon.process.processIdentifier, SIGHUP)
        let reloaded = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < reloaded, !daemon.output.contains("Reload finished") { try await Task.sleep(for: .milliseconds(100)) }
        #expect(daemon.output.contains("Reload finished: no changes, 0 IPVS operations"), "\(daemon.output.suffix(2000))")
        #expect(ipvsadmTable()[service] == [a: 0, b: 5])

        // The VIP is held; `vrrp VI_1 backup` gives it up at once (with no other router on the link
        // it takes it back after its Master_Down_Interval, as VRRP must).
        let held = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < held, !vipHeld() { try await Task.sleep(for: .milliseconds(100)) }
        #expect(vipHeld(), "\(daemon.output.suffix(2000))")
        let (backupStatus, backupOut) = ctl("vrrp", "VI_1", "backup")
        #expect(backupStatus == 0 && backupOut.contains("handing mastership over"), "\(backupOut)")
        #expect(!vipHeld(), "the VIP is released when the answer comes")
        #expect(daemon.output.contains("VRRP_Instance(VI_1) Entering BACKUP STATE") || daemon.output.contains("MASTER -> BACKUP"),
                "\(daemon.output.suffix(2000))")

        // A restart reads the overrides back from the state file.
        #expect(await daemon.stop() == 0)
        daemon = try Daemon(arguments, log: "\(scratch)/vigil-2.log")
        #expect(await eventually("installed again", within: 45) { $0[service] == [a: 0, b: 5] }, "\(daemon.output.suffix(3000))")
        #expect(daemon.output.contains("(kept from before the restart)"))
        #expect(ctl("undrain", "192.0.2.41:80", a).0 == 0)
        #expect(ctl("weight", "192.0.2.41:80", b, "clear").0 == 0)
        #expect(ipvsadmTable()[service] == [a: 3, b: 3])
        #expect(!FileManager.default.fileExists(atPath: stateFile), "no override left: no state file")
        #expect(await daemon.stop() == 0)
    }
}
