import Foundation
import Testing
import VigilTestSupport

/// One VRRP configuration run by keepalived and by `vigil -P`, each in a namespace of its own;
/// the dumps their signals write are compared.
@Suite("keepalived's signal dumps: Vigil beside keepalived for the same configuration", .serialized,
       .tags(.namespaces, .reference), .requiresNamespaces, .requiresKeepalived)
struct KeepalivedDumpTests {
    static let config = """
    global_defs {
        router_id dumps
    }
    vrrp_script chk_ok {
        script "/usr/bin/true"
        interval 1
    }
    vrrp_instance VI_1 {
        interface kd0
        virtual_router_id 61
        priority 150
        advert_int 1
        track_script {
            chk_ok
        }
        virtual_ipaddress {
            192.0.2.61/32
            192.0.2.62/32
        }
    }
    """

    static let files = ["/tmp/keepalived.stats", "/tmp/keepalived.json", "/tmp/keepalived.data"]

    /// Runs `command` (with the config's path appended) in a fresh namespace until it is master,
    /// sends USR2, the JSON signal and USR1 to the pid `pid()` finds, and returns the three files.
    static func dumps(_ name: String, _ command: [String], pid: (Process) -> Int32) async throws -> [String: String] {
        let ns = "vgd\(name)\(getpid() % 10000)"
        let scratch = NSTemporaryDirectory() + ns
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let conf = scratch + "/keepalived.conf"
        try config.write(toFile: conf, atomically: true, encoding: .utf8)
        defer { Lab.run("/sbin/ip", ["netns", "del", ns]) }
        #expect(Lab.vethNamespace(ns, interface: "kd0", peer: "kd1", address: "198.51.100.5/24") == [])
        for f in files { unlink(f) }
        let p = try Lab.startInNamespace(ns, command + ["-f", conf])
        defer {
            kill(p.processIdentifier, SIGTERM)
            p.waitUntilExit()
        }
        var master = false
        for _ in 0..<150 where !master {
            try await Task.sleep(for: .milliseconds(100))
            master = Lab.capture("/sbin/ip", ["-n", ns, "-4", "addr", "show", "dev", "kd0"]).1.contains("192.0.2.62/32")
        }
        #expect(master, "\(name) took the VIPs")
        try await Task.sleep(for: .milliseconds(1500))
        let target = pid(p)
        for s in [SIGUSR2, 36, SIGUSR1] { kill(target, s) }
        var out: [String: String] = [:]
        for _ in 0..<50 where out.count < files.count {
            try await Task.sleep(for: .milliseconds(100))
            for f in files where out[f] == nil {
                if let text = try? String(contentsOfFile: f, encoding: .utf8), !text.isEmpty { out[f] = text }
            }
        }
        for f in files { unlink(f) }
        return out
    }

    /// The lines mehdy/keepalived-exporter reads from the data dump: in the VRRP Topology and
    /// VRRP Scripts sections.
    static func exporterLines(_ data: String) -> [String] {
        let keys = ["VRRP Instance", "State", "Wantstate", "Interface", "Gratuitous ARP delay", "Virtual Router ID", "VRRP Script", "Status"]
        var inVIPs = false
        var section = ""
        return data.split(separator: "\n").compactMap { line -> String? in
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("------<") { section = text; return nil }
            guard section == "------< VRRP Topology >------" || section == "------< VRRP Scripts >------" else { return nil }
            if text.hasPrefix("Virtual IP (") { inVIPs = true; return text }
            if inVIPs, line.hasPrefix("     ") { return text }
            inVIPs = false
            guard let key = text.split(separator: "=").first?.trimmingCharacters(in: .whitespaces), keys.contains(key) else { return nil }
            // "State = idle" of a script and the instance's "State" both count.
            return line.hasPrefix(" ") ? text : nil
        }
    }

    @Test("the statistics, JSON and data dumps have keepalived's layout, keys and values")
    func dumps() async throws {
        let vigil = try #require(Lab.builtProduct("vigil"))
        let keepalivedPid = "/run/vigil-dump-test-\(getpid()).vrrp.pid"
        let reference = try await Self.dumps("k", ["keepalived", "-P", "-n", "-l", "-p", "/run/vigil-dump-test-\(getpid()).pid", "-r", keepalivedPid]) { _ in
            Int32((try? String(contentsOfFile: keepalivedPid, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        }
        let ours = try await Self.dumps("v", [vigil, "-P", "-n", "-l", "-G", "--status-address", "none", "--control-socket", "none"]) { $0.processIdentifier }
        #expect(reference.count == 3 && ours.count == 3, "keepalived wrote \(reference.keys.sorted()), vigil \(ours.keys.sorted())")

        // Statistics: the same text once the counts that depend on timing are masked.
        func masked(_ s: String?) -> String {
            (s ?? "").split(separator: "\n", omittingEmptySubsequences: false).map { line in
                line.hasSuffix(": 0") || line.hasSuffix(": 1") || !(line.last?.isNumber ?? false) ? String(line)
                    : String(line[..<(line.lastIndex(of: ":") ?? line.endIndex)]) + ": N"
            }.joined(separator: "\n")
        }
        #expect(masked(ours["/tmp/keepalived.stats"]) == masked(reference["/tmp/keepalived.stats"]))

        // JSON: the same keys in data and stats; the configuration's and state's values equal.
        func instances(_ s: String?) throws -> [[String: [String: Any]]] {
            try #require(try JSONSerialization.jsonObject(with: Data((s ?? "[]").utf8)) as? [[String: [String: Any]]])
        }
        let k = try #require(try instances(reference["/tmp/keepalived.json"]).first)
        let v = try #require(try instances(ours["/tmp/keepalived.json"]).first)
        #expect(Set(v["data"]!.keys) == Set(k["data"]!.keys), "data keys: vigil \(Set(v["data"]!.keys).symmetricDifference(Set(k["data"]!.keys)))")
        #expect(Set(v["stats"]!.keys) == Set(k["stats"]!.keys))
        for key in ["iname", "ifp_ifname", "vrid", "base_priority", "effective_priority", "state", "wantstate", "version", "vips", "vipset",
                    "garp_delay", "garp_rep", "garp_refresh", "garp_refresh_rep", "garp_lower_prio_delay", "garp_lower_prio_rep",
                    "adver_int", "master_adver_int", "nopreempt", "preempt_delay", "auth_type", "dont_track_primary", "accept", "track_script"] {
            #expect("\(v["data"]![key]!)" == "\(k["data"]![key]!)", "data.\(key): vigil \(v["data"]![key]!), keepalived \(k["data"]![key]!)")
        }
        for key in ["become_master", "release_master", "advert_rcvd", "pri_zero_rcvd", "pri_zero_sent", "packet_len_err", "ip_ttl_err"] {
            #expect("\(v["stats"]![key]!)" == "\(k["stats"]![key]!)", "stats.\(key)")
        }

        // Data: every line the exporter reads is the same.
        #expect(Self.exporterLines(ours["/tmp/keepalived.data"] ?? "") == Self.exporterLines(reference["/tmp/keepalived.data"] ?? ""))
    }
}
