#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import VigilTestSupport

/// One configuration with a `vrrp_notify_fifo` run by Debian's keepalived and by `vigil -P`, each
/// in a namespace of its own: a reader of each FIFO must read the same lines.
@Suite("notify FIFO lines: Vigil beside keepalived for the same configuration", .serialized,
       .tags(.namespaces, .reference), .requiresNamespaces, .requiresKeepalived)
struct KeepalivedFIFOTests {
    static func config(fifo: String) -> String {
        """
        global_defs {
            router_id fifo
            vrrp_notify_fifo \(fifo)
        }
        vrrp_instance VI_1 {
            interface kf0
            virtual_router_id 71
            priority 100
            advert_int 1
            virtual_ipaddress {
                192.0.2.71/32
            }
        }
        vrrp_instance VI_2 {
            interface kf0
            virtual_router_id 72
            priority 90
            advert_int 1
            virtual_ipaddress {
                192.0.2.72/32
            }
        }
        """
    }

    /// Runs `command` (config path appended) in a fresh namespace until both instances hold their
    /// VIPs, stops it with SIGTERM and returns what a reader of the FIFO read.
    static func fifoLines(_ name: String, _ command: [String]) async throws -> [String] {
        let ns = "vgf\(name)\(getpid() % 10000)"
        let scratch = NSTemporaryDirectory() + ns
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let fifo = scratch + "/vrrp.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        defer { close(reader) }
        let conf = scratch + "/keepalived.conf"
        try config(fifo: fifo).write(toFile: conf, atomically: true, encoding: .utf8)
        defer { Lab.run("/sbin/ip", ["netns", "del", ns]) }
        #expect(Lab.vethNamespace(ns, interface: "kf0", peer: "kf1", address: "198.51.100.7/24") == [])
        let p = try Lab.startInNamespace(ns, command + ["-f", conf])
        var masters = false
        for _ in 0..<150 where !masters {
            try await Task.sleep(for: .milliseconds(100))
            let shown = Lab.capture("/sbin/ip", ["-n", ns, "-4", "addr", "show", "dev", "kf0"]).1
            masters = shown.contains("192.0.2.71/32") && shown.contains("192.0.2.72/32")
        }
        #expect(masters, "\(name) took both VIPs")
        try await Task.sleep(for: .milliseconds(500))
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        let lines = Lab.availableLines(reader)
        #expect(access(fifo, F_OK) == 0, "\(name) leaves a FIFO it did not create")
        return lines
    }

    @Test("start, takeover and stop write the same lines to vrrp_notify_fifo")
    func sameLines() async throws {
        let vigil = try #require(Lab.builtProduct("vigil"))
        let reference = try await Self.fifoLines("k", ["keepalived", "-P", "-n", "-l", "-p", "/run/vigil-fifo-test-\(getpid()).pid",
                                                        "-r", "/run/vigil-fifo-test-\(getpid()).vrrp.pid"])
        let ours = try await Self.fifoLines("v", [vigil, "-P", "-n", "-l", "--status-address", "none", "--control-socket", "none"])
        #expect(reference == [
            #"INSTANCE "VI_1" BACKUP 100"#, #"INSTANCE "VI_2" BACKUP 90"#,
            #"INSTANCE "VI_1" MASTER 100"#, #"INSTANCE "VI_2" MASTER 90"#,
            #"INSTANCE "VI_1" STOP 100"#, #"INSTANCE "VI_2" STOP 90"#,
        ], "keepalived 2.2.7's lines")
        #expect(ours == reference)
    }
}
