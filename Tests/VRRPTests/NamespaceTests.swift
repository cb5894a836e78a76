#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import VigilTestSupport

/// One `vrrp_instance` for the lab, written as keepalived.conf text.
struct LabInstance {
    var priority = 100
    var version = 2
    var advert = "1"
    var vrid = 51
    var vip = "192.0.2.100"
    var password: String?
    /// With a password: `auth_type AH` instead of `PASS`.
    var authenticationHeader = false
    var unicastSource: String?
    var peers: [String] = []
    var preempt = true
    var extra = ""
    var globalExtra = ""

    var text: String {
        var s = "global_defs {\n    router_id lab\n\(globalExtra)}\n\(extraTopLevel)"
        s += """
        vrrp_instance VI_1 {
            state BACKUP
            interface eth0
            virtual_router_id \(vrid)
            priority \(priority)
            advert_int \(advert)
            version \(version)
            garp_master_delay 0

        """
        if !preempt { s += "    nopreempt\n" }
        if let p = password {
            s += "    authentication {\n        auth_type \(authenticationHeader ? "AH" : "PASS")\n        auth_pass \(p)\n    }\n"
        }
        if let u = unicastSource { s += "    unicast_src_ip \(u)\n" }
        if !peers.isEmpty { s += "    unicast_peer {\n" + peers.map { "        \($0)\n" }.joined() + "    }\n" }
        s += extra
        s += "    virtual_ipaddress {\n        \(vip)/\(vip.contains(":") ? 128 : 32)\n    }\n}\n"
        return s
    }

    var extraTopLevel = ""
}

/// Starts Vigil or keepalived nodes in a lab and tracks their processes.
final class VRRPLabRun: @unchecked Sendable {
    let lab: NamespaceLab
    private var procs: [Int: Process] = [:]
    private var keepalivedNodes: Set<Int> = []
    private var starts = 0

    init(nodes: Int) throws { lab = try NamespaceLab(nodes: nodes) }

    func vigil(_ n: Int, _ instance: LabInstance) throws {
        let binary = try #require(NamespaceLab.vigilBinary, "build the vigil binary first (swift build)")
        let conf = try lab.write("vigil\(n).conf", instance.text)
        procs[n] = try lab.start(n, [binary, "-P", "-n", "-l", "-f", conf], log: "vigil\(n).log")
    }

    func keepalived(_ n: Int, _ instance: LabInstance) throws {
        let conf = try lab.write("ka\(n).conf", instance.text)
        let dir = lab.directory.path
        starts += 1
        // Fresh pid files per start: keepalived refuses to start over a SIGKILLed run's files.
        procs[n] = try lab.start(n, ["keepalived", "-n", "-l", "-P", "-f", conf, "-p", "\(dir)/ka\(n)-\(starts).pid",
                                     "-r", "\(dir)/ka\(n)-\(starts)-vrrp.pid"], log: "ka\(n).log")
        keepalivedNodes.insert(n)
    }

    func signal(_ n: Int, _ sig: Int32) {
        guard let p = procs[n] else { return }
        if keepalivedNodes.contains(n), sig == SIGKILL {
            // `ip netns exec keepalived` forks a VRRP child: kill the whole namespace's processes.
            let pids = NamespaceLab.capture("/usr/sbin/ip", ["netns", "pids", lab.node(n)]).1.split(whereSeparator: \.isNewline)
            for pid in pids { if let v = Int32(pid) { kill(v, SIGKILL) } }
        }
        lab.signal(p, sig)
    }

    /// Waits until exactly `node` (among `nodes`) holds the VIP; returns the holders seen last.
    var defaultVIP = "192.0.2.100"

    func expectHolder(_ node: Int, among nodes: [Int], vip: String? = nil, within seconds: Double,
                      _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        let vip = vip ?? defaultVIP
        let ok = lab.wait(seconds: seconds) { lab.holders(of: vip, among: nodes) == [node] }
        let logs = nodes.map { "node \($0):\n" + lab.log("vigil\($0).log") + lab.log("ka\($0).log") }.joined(separator: "\n")
        #expect(ok, "expected node \(node) alone to hold \(vip), holders: \(lab.holders(of: vip, among: nodes)) \(comment.map { "(\($0))" } ?? "")\n\(logs)",
                sourceLocation: sourceLocation)
    }

    /// Removes a stale VIP a SIGKILLed node left (as its next start would).
    func clearVIP(_ n: Int, vip: String? = nil) {
        let vip = vip ?? defaultVIP
        _ = NamespaceLab.capture("/usr/sbin/ip", ["-n", lab.node(n), "addr", "del", "\(vip)/\(vip.contains(":") ? 128 : 32)", "dev", "eth0"])
    }

    /// SIGKILLs node `killed`, removes the VIP it leaves behind, and expects `holder` to take over.
    func sigkill(_ killed: Int, thenExpect holder: Int, among nodes: [Int], within seconds: Double,
                 _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        signal(killed, SIGKILL)
        clearVIP(killed)
        expectHolder(holder, among: nodes, within: seconds, comment, sourceLocation: sourceLocation)
    }

    func tearDown() { lab.tearDown() }
}

@Suite("VRRP in network namespaces", .serialized, .tags(.namespaces), .requiresNamespaces)
struct NamespaceTests {
    /// Two Vigil nodes running `low` (node 1) and `low` at priority 200 (node 2): node 2 is
    /// elected, node 1 takes over when node 2 is SIGKILLed, and node 2 preempts back on restart.
    private func failOverAndPreemptBack(_ low: LabInstance) throws {
        let run = try VRRPLabRun(nodes: 2)
        defer { run.tearDown() }
        var high = low
        high.priority = 200
        try run.vigil(1, low)
        try run.vigil(2, high)
        run.expectHolder(2, among: [1, 2], within: 8)
        run.sigkill(2, thenExpect: 1, among: [1, 2], within: 6, "after SIGKILL of the master")
        try run.vigil(2, high)
        run.expectHolder(2, among: [1, 2], within: 8, "the higher priority preempts back")
    }

    @Test func twoNodesElectTheHigherPriorityFailOverOnSIGKILLAndPreemptBack() throws {
        try failOverAndPreemptBack(LabInstance(priority: 100, password: "secret"))
    }

    /// With AH the restarted node's counter starts at 0; it learns node 1's sequence before it preempts.
    @Test func ahBetweenVigilNodesFailsOverAndPreemptsBack() throws {
        try failOverAndPreemptBack(LabInstance(priority: 100, password: "secret", authenticationHeader: true))
    }

    @Test func sigtermHandsOverAtOnceWithPriorityZero() throws {
        let run = try VRRPLabRun(nodes: 2)
        defer { run.tearDown() }
        let a = LabInstance(priority: 100, version: 3, advert: "1")
        var b = a
        b.priority = 200
        try run.vigil(1, a)
        try run.vigil(2, b)
        run.expectHolder(2, among: [1, 2], within: 8)
        run.signal(2, SIGTERM)
        // Master_Down_Interval would be 3.6 s; priority 0 makes the backup take over after Skew_Time (0.6 s).
        run.expectHolder(1, among: [1, 2], within: 2, "graceful stop releases the VIP and hands over within skew")
    }

    @Test func threeNodesElectAndFailOverInPriorityOrder() throws {
        let run = try VRRPLabRun(nodes: 3)
        defer { run.tearDown() }
        for (n, p) in [(1, 100), (2, 150), (3, 200)] {
            try run.vigil(n, LabInstance(priority: p, version: 3, advert: "0.1"))
        }
        run.expectHolder(3, among: [1, 2, 3], within: 5)
        run.sigkill(3, thenExpect: 2, among: [1, 2, 3], within: 3, "the next highest takes over")
        run.sigkill(2, thenExpect: 1, among: [1, 2, 3], within: 3)
    }

    @Test func unicastPeersWork() throws {
        let run = try VRRPLabRun(nodes: 2)
        defer { run.tearDown() }
        var a = LabInstance(priority: 100, version: 3, advert: "0.1", unicastSource: "192.0.2.11", peers: ["192.0.2.12"])
        var b = LabInstance(priority: 200, version: 3, advert: "0.1", unicastSource: "192.0.2.12", peers: ["192.0.2.11"])
        a.vrid = 52
        b.vrid = 52
        try run.vigil(1, a)
        try run.vigil(2, b)
        run.expectHolder(2, among: [1, 2], within: 5)
        run.sigkill(2, thenExpect: 1, among: [1, 2], within: 3)
    }

    @Test func v3OverIPv6FailsOverAndPreemptsBack() throws {
        let run = try VRRPLabRun(nodes: 2)
        defer { run.tearDown() }
        run.defaultVIP = "2001:db8::100"
        let a = LabInstance(priority: 100, version: 3, advert: "0.1", vrid: 61, vip: "2001:db8::100")
        var b = a
        b.priority = 200
        try run.vigil(1, a)
        try run.vigil(2, b)
        run.expectHolder(2, among: [1, 2], within: 5)
        run.sigkill(2, thenExpect: 1, among: [1, 2], within: 3)
        try run.vigil(2, b)
        run.expectHolder(2, among: [1, 2], within: 5)
    }

    @Test func nopreemptKeepsTheCurrentMaster() throws {
        let run = try VRRPLabRun(nodes: 2)
        defer { run.tearDown() }
        try run.vigil(1, LabInstance(priority: 100, version: 3, advert: "0.1", preempt: false))
        run.expectHolder(1, among: [1, 2], within: 5)
        try run.vigil(2, LabInstance(priority: 200, version: 3, advert: "0.1", preempt: false))
        Thread.sleep(forTimeInterval: 2)
        run.expectHolder(1, among: [1, 2], within: 1, "a nopreempt higher-priority backup does not take over")
    }

    @Test func aFailingScriptLowersPriorityAndTheBackupTakesOver() throws {
        let run = try VRRPLabRun(nodes: 2)
        defer { run.tearDown() }
        let flag = run.lab.directory.appendingPathComponent("healthy").path
        _ = FileManager.default.createFile(atPath: flag, contents: nil)
        let script = try run.lab.write("check.sh", "#!/bin/sh\ntest -e \(flag)\n", mode: 0o755)
        var b = LabInstance(priority: 200, version: 3, advert: "0.1")
        b.extraTopLevel = "vrrp_script chk {\n    script \"\(script)\"\n    interval 0.2\n    weight -150\n    fall 1\n    rise 1\n}\n"
        b.extra = "    track_script {\n        chk\n    }\n"
        try run.vigil(1, LabInstance(priority: 100, version: 3, advert: "0.1"))
        try run.vigil(2, b)
        run.expectHolder(2, among: [1, 2], within: 5)
        try FileManager.default.removeItem(atPath: flag)
        run.expectHolder(1, among: [1, 2], within: 4, "priority 200 - 150 = 50 loses to 100")
        _ = FileManager.default.createFile(atPath: flag, contents: nil)
        run.expectHolder(2, among: [1, 2], within: 4, "recovers and preempts back")
    }

    @Test func aDownedInterfaceFaultsTheMaster() throws {
        let run = try VRRPLabRun(nodes: 2)
        defer { run.tearDown() }
        try run.vigil(1, LabInstance(priority: 100, version: 3, advert: "0.1"))
        try run.vigil(2, LabInstance(priority: 200, version: 3, advert: "0.1"))
        run.expectHolder(2, among: [1, 2], within: 5)
        try run.lab.ip(["-n", run.lab.node(2), "link", "set", "eth0", "down"])
        run.expectHolder(1, among: [1, 2], within: 3, "the master's interface went down")
        #expect(run.lab.wait(seconds: 3) { run.lab.log("vigil2.log").contains("FAULT") }, "node 2 enters FAULT")
        try run.lab.ip(["-n", run.lab.node(2), "link", "set", "eth0", "up"])
        run.expectHolder(2, among: [1, 2], within: 5, "back up: leaves FAULT and preempts")
    }

    /// Starts tshark on the observer (node 0) printing "epoch<TAB>source MAC<TAB>ARP sender IP" per ARP frame.
    private func observeARP(_ run: VRRPLabRun) throws -> Bool {
        try run.lab.start(0, ["tshark", "-i", "eth0", "-n", "-l", "-f", "arp", "-T", "fields",
                              "-e", "frame.time_epoch", "-e", "eth.src", "-e", "arp.src.proto_ipv4"], log: "arp.log", tracked: false)
        return run.lab.wait(seconds: 15) { run.lab.log("arp.log").contains("Capturing on") }
    }

    /// Gratuitous ARPs for `vip` from `mac` seen by the observer, as epoch times.
    private func garps(_ run: VRRPLabRun, from mac: String, vip: String = "192.0.2.100") -> [Double] {
        run.lab.log("arp.log").split(whereSeparator: \.isNewline).compactMap { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count >= 3, f[1] == mac, f[2] == vip else { return nil }
            return Double(f[0])
        }
    }

    private func mac(_ run: VRRPLabRun, _ n: Int) -> String {
        let out = NamespaceLab.capture("/usr/sbin/ip", ["-n", run.lab.node(n), "-o", "link", "show", "eth0"]).1
        guard let r = out.range(of: "link/ether ") else { return "" }
        return String(out[r.upperBound...].prefix(17))
    }

    @Test(.enabled(if: Lab.which("tshark") != nil, "tshark is not installed (make setup)")) func garpMasterRefreshRepeatsGratuitousARPsWhileMaster() throws {
        let run = try VRRPLabRun(nodes: 1)
        defer { run.tearDown() }
        try #require(try observeARP(run), "tshark did not start capturing: \(run.lab.log("arp.log"))")
        var a = LabInstance(priority: 150, version: 3, advert: "0.1")
        a.extra = "    garp_master_repeat 3\n    garp_master_refresh 1\n    garp_master_refresh_repeat 2\n"
        try run.vigil(1, a)
        run.expectHolder(1, among: [1], within: 5)
        let node1 = mac(run, 1)
        // The initial burst, then at least three refreshes.
        #expect(run.lab.wait(seconds: 10) { bursts(garps(run, from: node1)).count >= 4 }, "\(run.lab.log("arp.log"))")
        let seen = bursts(garps(run, from: node1))
        #expect(seen.first?.count == 3, "garp_master_repeat 3 on becoming master: \(seen)")
        for b in seen.dropFirst().dropLast() { #expect(b.count == 2, "garp_master_refresh_repeat 2 per refresh: \(seen)") }
        for (x, y) in zip(seen, seen.dropFirst()) {
            #expect(y[0] - x[0] >= 0.9, "refreshes are garp_master_refresh (1 s) apart: \(seen)")
        }
        // No refresh once it is no longer master.
        run.signal(1, SIGTERM)
        let stopped = Date().timeIntervalSince1970
        Thread.sleep(forTimeInterval: 2.5)
        #expect(garps(run, from: node1).filter { $0 > stopped + 0.2 }.isEmpty, "refreshes stop with mastership")
    }

    /// Groups GARP times into bursts (a gap of more than 0.5 s starts a new one).
    private func bursts(_ times: [Double]) -> [[Double]] {
        var out: [[Double]] = []
        for t in times {
            if let last = out.last?.last, t - last <= 0.5 { out[out.count - 1].append(t) } else { out.append([t]) }
        }
        return out
    }

    /// track_interface with a weight: downing the interface lowers the advertised priority and moves mastership.
    private func trackInterfaceWeightMovesMastership(keepalivedPeer: Bool) throws {
        let run = try VRRPLabRun(nodes: 2)
        defer { run.tearDown() }
        // A second interface on node 1 to track: a veth pair inside the namespace (trk0 up while trk1 is up).
        let n1 = run.lab.node(1)
        try run.lab.ip(["-n", n1, "link", "add", "trk0", "type", "veth", "peer", "name", "trk1"])
        try run.lab.ip(["-n", n1, "link", "set", "trk1", "up"])
        try run.lab.ip(["-n", n1, "link", "set", "trk0", "up"])
        var a = LabInstance(priority: 200, version: 3, advert: "0.1")
        a.extra = "    track_interface {\n        trk0 weight -150\n    }\n"
        let b = LabInstance(priority: 100, version: 3, advert: "0.1")
        try run.vigil(1, a)
        if keepalivedPeer { try run.keepalived(2, b) } else { try run.vigil(2, b) }
        run.expectHolder(1, among: [1, 2], within: 5)
        try run.lab.ip(["-n", n1, "link", "set", "trk0", "down"])
        run.expectHolder(2, among: [1, 2], within: 4, "trk0 down: 200 - 150 = 50 loses to 100")
        #expect(!run.lab.log("vigil1.log").contains("FAULT"), "with a weight a down interface is no fault")
        try run.lab.ip(["-n", n1, "link", "set", "trk0", "up"])
        run.expectHolder(1, among: [1, 2], within: 4, "trk0 up: back to 200, preempts")
    }

    @Test func trackInterfaceWeightMovesMastership() throws {
        try trackInterfaceWeightMovesMastership(keepalivedPeer: false)
    }

    @Test(.requiresKeepalived, .tags(.reference)) func trackInterfaceWeightMovesMastershipAgainstKeepalived() throws {
        try trackInterfaceWeightMovesMastership(keepalivedPeer: true)
    }

    @Test func notifyScriptsRunInOrderWithKeepalivedsArguments() throws {
        let run = try VRRPLabRun(nodes: 2)
        defer { run.tearDown() }
        let out = run.lab.directory.appendingPathComponent("notify.log").path
        let script = try run.lab.write("notify.sh", "#!/bin/sh\necho \"$*\" >> \(out)\n", mode: 0o755)
        let master = try run.lab.write("master.sh", "#!/bin/sh\nsleep 0.3\necho master-script >> \(out)\n", mode: 0o755)
        var a = LabInstance(priority: 150, version: 3, advert: "0.1")
        a.extra = "    notify \(script)\n    notify_master \(master)\n"
        try run.vigil(1, a)
        run.expectHolder(1, among: [1], within: 5)
        run.signal(1, SIGTERM)
        let expected = ["INSTANCE VI_1 BACKUP 150", "master-script", "INSTANCE VI_1 MASTER 150", "INSTANCE VI_1 STOP 150"]
        let ok = run.lab.wait(seconds: 5) {
            ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) == expected
        }
        #expect(ok, "notify log: \((try? String(contentsOfFile: out, encoding: .utf8)) ?? "")")
        #expect(run.lab.holders(of: "192.0.2.100", among: [1]).isEmpty, "SIGTERM releases the VIP")
    }

    @Test func staleVIPsFromACrashedRunAreRemovedAtStart() throws {
        let run = try VRRPLabRun(nodes: 2)
        defer { run.tearDown() }
        try run.lab.ip(["-n", run.lab.node(1), "addr", "add", "192.0.2.100/32", "dev", "eth0"])
        try run.vigil(1, LabInstance(priority: 100, version: 3, advert: "0.1"))
        try run.vigil(2, LabInstance(priority: 200, version: 3, advert: "0.1"))
        run.expectHolder(2, among: [1, 2], within: 5, "the backup dropped the address a crashed run left")
    }

    @Test func syncGroupMembersFaultTogether() throws {
        let run = try VRRPLabRun(nodes: 2)
        defer { run.tearDown() }
        let flag = run.lab.directory.appendingPathComponent("healthy").path
        _ = FileManager.default.createFile(atPath: flag, contents: nil)
        let script = try run.lab.write("check.sh", "#!/bin/sh\ntest -e \(flag)\n", mode: 0o755)
        func config(_ priority: Int, track: Bool) -> String {
            var s = "vrrp_script chk {\n    script \"\(script)\"\n    interval 0.2\n}\n"
            s += "vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n}\n"
            for (name, vrid, vip) in [("VI_1", 51, "192.0.2.100"), ("VI_2", 52, "192.0.2.101")] {
                s += "vrrp_instance \(name) {\n    interface eth0\n    virtual_router_id \(vrid)\n    priority \(priority)\n"
                s += "    advert_int 0.1\n    version 3\n    virtual_ipaddress {\n        \(vip)/32\n    }\n"
                if track && name == "VI_2" { s += "    track_script {\n        chk\n    }\n" }
                s += "}\n"
            }
            return s
        }
        let binary = try #require(NamespaceLab.vigilBinary)
        for (n, p) in [(1, 100), (2, 200)] {
            let conf = try run.lab.write("sync\(n).conf", config(p, track: n == 2))
            try run.lab.start(n, [binary, "-P", "-n", "-l", "-f", conf], log: "vigil\(n).log")
        }
        run.expectHolder(2, among: [1, 2], within: 5)
        run.expectHolder(2, among: [1, 2], vip: "192.0.2.101", within: 5)
        try FileManager.default.removeItem(atPath: flag)
        // Only VI_2 tracks the script, but the whole group goes to FAULT on node 2.
        run.expectHolder(1, among: [1, 2], within: 4, "VI_1 follows its sync group")
        run.expectHolder(1, among: [1, 2], vip: "192.0.2.101", within: 4)
    }

    @Test func mismatchedPasswordsAndVRIDsDoNotInterfere() throws {
        let run = try VRRPLabRun(nodes: 2)
        defer { run.tearDown() }
        try run.vigil(1, LabInstance(priority: 100, password: "one"))
        var b = LabInstance(priority: 200, vip: "192.0.2.101", password: "two")
        b.vrid = 51
        try run.vigil(2, b)
        // Both drop each other's packets, so each is master of its own VIP.
        run.expectHolder(1, among: [1], within: 8)
        run.expectHolder(2, among: [2], vip: "192.0.2.101", within: 8)
    }
}

@Suite("VRRP interoperability with keepalived", .serialized, .tags(.namespaces, .reference), .requiresNamespaces, .requiresKeepalived)
struct KeepalivedInteropTests {
    private func pair(vigilPriority: Int, keepalivedPriority: Int, base: LabInstance, unicast: Bool = false) throws {
        let run = try VRRPLabRun(nodes: 2)
        defer { run.tearDown() }
        run.defaultVIP = base.vip
        var v = base
        v.priority = vigilPriority
        var k = base
        k.priority = keepalivedPriority
        if unicast {
            v.unicastSource = "192.0.2.11"
            v.peers = ["192.0.2.12"]
            k.unicastSource = "192.0.2.12"
            k.peers = ["192.0.2.11"]
        }
        try run.vigil(1, v)
        try run.keepalived(2, k)
        let master = vigilPriority > keepalivedPriority ? 1 : 2
        let backup = 3 - master
        run.expectHolder(master, among: [1, 2], within: 8)
        // And the VIP moves to the other implementation when the master dies.
        run.signal(master, SIGKILL)
        run.clearVIP(master)
        run.expectHolder(backup, among: [1, 2], within: 6, "failover to the other implementation")
        if master == 1 { try run.vigil(1, v) } else { try run.keepalived(2, k) }
        run.expectHolder(master, among: [1, 2], within: 8, "the higher priority preempts back")
        if base.authenticationHeader {
            let log = run.lab.log("ka2.log")
            #expect(!log.contains("IPSEC-AH : invalid") && !log.contains("already processed"),
                    "keepalived accepted every AH advert Vigil sent:\n\(log)")
        }
    }

    @Test func v2WithPasswordVigilMaster() throws {
        try pair(vigilPriority: 200, keepalivedPriority: 100, base: LabInstance(password: "secret12"))
    }

    @Test func v2WithPasswordKeepalivedMaster() throws {
        try pair(vigilPriority: 100, keepalivedPriority: 200, base: LabInstance(password: "secret12"))
    }

    @Test func v3MulticastBothWays() throws {
        try pair(vigilPriority: 200, keepalivedPriority: 100, base: LabInstance(version: 3, advert: "0.1"))
        try pair(vigilPriority: 100, keepalivedPriority: 200, base: LabInstance(version: 3, advert: "0.1"))
    }

    @Test func v3UnicastBothWays() throws {
        try pair(vigilPriority: 200, keepalivedPriority: 100, base: LabInstance(version: 3, advert: "0.1"), unicast: true)
        try pair(vigilPriority: 100, keepalivedPriority: 200, base: LabInstance(version: 3, advert: "0.1"), unicast: true)
    }

    @Test func v3OverIPv6BothWays() throws {
        let base = LabInstance(version: 3, advert: "0.1", vrid: 61, vip: "2001:db8::100")
        try pair(vigilPriority: 200, keepalivedPriority: 100, base: base)
        try pair(vigilPriority: 100, keepalivedPriority: 200, base: base)
    }

    @Test func v2UnicastKeepalivedMaster() throws {
        try pair(vigilPriority: 100, keepalivedPriority: 200, base: LabInstance(password: "pw"), unicast: true)
    }

    @Test func v2WithAHVigilMaster() throws {
        try pair(vigilPriority: 200, keepalivedPriority: 100, base: LabInstance(password: "secret12", authenticationHeader: true))
    }

    @Test func v2WithAHKeepalivedMaster() throws {
        try pair(vigilPriority: 100, keepalivedPriority: 200, base: LabInstance(password: "secret12", authenticationHeader: true))
    }

    @Test func v2WithAHUnicastBothWays() throws {
        let base = LabInstance(password: "pw", authenticationHeader: true)
        try pair(vigilPriority: 200, keepalivedPriority: 100, base: base, unicast: true)
        try pair(vigilPriority: 100, keepalivedPriority: 200, base: base, unicast: true)
    }

    @Test func mismatchedAHKeyDisturbsNeither() throws {
        let run = try VRRPLabRun(nodes: 2)
        defer { run.tearDown() }
        // Same VRID and VIP: only the ICV tells the adverts apart, so each side must drop the other's.
        try run.vigil(1, LabInstance(priority: 100, password: "one", authenticationHeader: true))
        try run.keepalived(2, LabInstance(priority: 200, password: "two", authenticationHeader: true))
        run.expectHolder(1, among: [1], within: 8, "Vigil ignores keepalived's adverts signed with another key")
        run.expectHolder(2, among: [2], within: 8, "keepalived ignores Vigil's")
        #expect(run.lab.log("ka2.log").contains("IPSEC-AH : invalid"), "keepalived saw and rejected Vigil's ICV")
        // And AH against PASS is an auth type mismatch for both.
        run.tearDown()
        let run2 = try VRRPLabRun(nodes: 2)
        defer { run2.tearDown() }
        try run2.vigil(1, LabInstance(priority: 100, password: "secret12", authenticationHeader: true))
        try run2.keepalived(2, LabInstance(priority: 200, password: "secret12"))
        run2.expectHolder(1, among: [1], within: 8, "Vigil (AH) ignores keepalived's PASS adverts")
        run2.expectHolder(2, among: [2], within: 8, "keepalived (PASS) ignores Vigil's AH adverts")
    }

    @Test func mismatchedAuthOrVRIDDisturbsNeither() throws {
        let run = try VRRPLabRun(nodes: 2)
        defer { run.tearDown() }
        try run.vigil(1, LabInstance(priority: 100, password: "one"))
        try run.keepalived(2, LabInstance(priority: 200, vip: "192.0.2.101", password: "two"))
        run.expectHolder(1, among: [1], within: 8, "Vigil ignores keepalived's wrong password")
        run.expectHolder(2, among: [2], vip: "192.0.2.101", within: 8, "keepalived ignores Vigil's")
        run.tearDown()
        let run2 = try VRRPLabRun(nodes: 2)
        defer { run2.tearDown() }
        try run2.vigil(1, LabInstance(priority: 100, version: 3, advert: "0.1", vrid: 60))
        try run2.keepalived(2, LabInstance(priority: 200, version: 3, advert: "0.1", vrid: 61, vip: "192.0.2.101"))
        run2.expectHolder(1, among: [1], within: 5, "different VRIDs are separate routers")
        run2.expectHolder(2, among: [2], vip: "192.0.2.101", within: 5)
    }
}
