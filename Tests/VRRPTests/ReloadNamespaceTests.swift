#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KeepalivedConfig
import Testing
import VigilTestSupport
@testable import VRRP

/// The lab directory a ``ReloadLabNode`` runs in (set only inside a lab namespace).
private let labNodeDirectory = ProcessInfo.processInfo.environment["VIGIL_VRRP_RELOAD_NODE"]

/// A VRRP node for ``ReloadNamespaceTests``: this test binary started again inside a lab namespace.
///
/// `vigil -P` has no reload yet (SIGHUP belongs to the daemon), so the node runs the runtime
/// itself and takes its orders from files in the lab directory: `reload` names a configuration
/// to reload (the report goes to `report`, first line the reload's epoch time), `stop` ends it.
@Suite("VRRP reload lab node")
struct ReloadLabNode {
    private static func settings(_ path: String) throws -> VRRPSettings {
        let result = ConfigLoader.load(path: path, configID: nil)
        guard !result.hasErrors, let c = result.configuration else {
            throw LabError(message: "\(path): \(result.diagnostics.map(\.description).joined(separator: "; "))")
        }
        var warnings: [String] = []
        return try VRRPSettings(configuration: c, warnings: &warnings)
    }

    @Test(.enabled(if: labNodeDirectory != nil, "runs only inside a lab namespace, started by the reload namespace test"))
    func node() async throws {
        let dir = try #require(labNodeDirectory)
        let runtime = try VRRPRuntime(settings: try Self.settings("\(dir)/node.conf"), addresses: try KernelAddressManager())
        let run = Task { try await runtime.run() }
        let end = ContinuousClock.now + .seconds(150)
        while ContinuousClock.now < end, access("\(dir)/stop", F_OK) != 0 {
            if let path = try? String(contentsOfFile: "\(dir)/reload", encoding: .utf8) {
                unlink("\(dir)/reload")
                let at = Date().timeIntervalSince1970
                let report = await runtime.reload(try Self.settings(path.trimmingCharacters(in: .whitespacesAndNewlines)))
                try (["\(at)"] + report.lines).joined(separator: "\n").write(toFile: "\(dir)/report", atomically: true, encoding: .utf8)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        await runtime.stop()
        try await run.value
    }
}

/// One VRRP frame or gratuitous ARP the observer saw.
private struct Seen {
    var time: Double
    var source: String
    /// VRRP priority; nil for ARP.
    var priority: Int?
}

@Suite("VRRP reload against keepalived", .serialized, .tags(.namespaces, .reference), .requiresNamespaces, .requiresKeepalived,
       .enabled(if: Lab.which("tshark") != nil, "tshark is not installed (make setup)"))
struct ReloadNamespaceTests {
    private func config(priority: Int) -> String { LabInstance(priority: priority).text }

    /// Reloads node 1 with `text`; returns the reload's epoch time and the report lines.
    private func reload(_ lab: NamespaceLab, _ text: String, name: String) throws -> (at: Double, lines: [String]) {
        let path = try lab.write(name, text)
        unlink(lab.directory.appendingPathComponent("report").path)
        _ = try lab.write("reload", path)
        #expect(lab.wait(seconds: 10) { !lab.log("report").isEmpty }, "the node did not reload:\n\(lab.log("vigil1.log"))")
        let lines = lab.log("report").split(separator: "\n").map(String.init)
        return (Double(lines.first ?? "") ?? 0, Array(lines.dropFirst()))
    }

    private func seen(_ lab: NamespaceLab) -> [Seen] {
        lab.log("capture.log").split(whereSeparator: \.isNewline).compactMap { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 4, let t = Double(f[0]) else { return nil }
            if !f[3].isEmpty { return Seen(time: t, source: f[3], priority: nil) }  // ARP sender
            return Seen(time: t, source: f[1], priority: Int(f[2]))
        }
    }

    @Test func anUnchangedReloadMovesNothingAndAChangedPriorityMovesMastership() throws {
        let binary = try #require(readlinkSelf(), "no test binary to start the node from")
        let run = try VRRPLabRun(nodes: 2)
        defer { run.tearDown() }
        let lab = run.lab
        try lab.start(0, ["tshark", "-i", "eth0", "-n", "-l", "-f", "arp or ip proto 112", "-T", "fields",
                          "-e", "frame.time_epoch", "-e", "ip.src", "-e", "vrrp.prio", "-e", "arp.src.proto_ipv4"],
                      log: "capture.log", tracked: false)
        try #require(lab.wait(seconds: 15) { lab.log("capture.log").contains("Capturing on") }, "tshark did not start: \(lab.log("capture.log"))")

        _ = try lab.write("node.conf", config(priority: 150))
        let node = Process()
        node.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        node.arguments = ["netns", "exec", lab.node(1), binary, "--testing-library", "swift-testing", "--filter", "ReloadLabNode"]
        node.environment = ProcessInfo.processInfo.environment.merging(["VIGIL_VRRP_RELOAD_NODE": lab.directory.path]) { $1 }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: try lab.write("vigil1.log", "")))
        node.standardOutput = log
        node.standardError = log
        try node.run()
        defer {
            _ = try? lab.write("stop", "")
            for _ in 0..<100 where node.isRunning { usleep(50_000) }
        }
        try run.keepalived(2, LabInstance(priority: 100))
        run.expectHolder(1, among: [1, 2], within: 10, "Vigil at 150 is master over keepalived at 100")
        Thread.sleep(forTimeInterval: 2)

        // Unchanged (another file name, same text): nothing moves, nothing is re-announced.
        let same = try reload(lab, config(priority: 150), name: "renamed.conf")
        #expect(same.lines == ["VI_1: unchanged"])
        Thread.sleep(forTimeInterval: 3)
        var frames = seen(lab)
        let vigil = frames.filter { $0.source == lab.address(1) && $0.priority != nil }
        let around = vigil.filter { $0.time > same.at - 2.5 && $0.time < same.at + 2.5 }
        let gaps = zip(around.dropFirst(), around).map { $0.time - $1.time }
        #expect(!around.isEmpty && gaps.allSatisfy { $0 < 1.9 }, "Vigil's adverts kept their rhythm across the reload: \(gaps)")
        #expect(around.allSatisfy { $0.priority == 150 }, "no priority 0, no other priority")
        #expect(!frames.contains { $0.priority == nil && $0.source == "192.0.2.100" && $0.time > same.at },
                "no gratuitous ARP after an unchanged reload")
        #expect(!frames.contains { $0.source == lab.address(2) && $0.priority != nil && $0.time > same.at - 2.5 },
                "keepalived stayed backup")
        #expect(lab.holders(of: "192.0.2.100", among: [1, 2]) == [1])

        // Priority 150 -> 50: the next advert says 50 at once, and keepalived (100) takes over.
        let lower = try reload(lab, config(priority: 50), name: "lower.conf")
        #expect(lower.lines == ["VI_1: priority 150 -> 50"])
        run.expectHolder(2, among: [1, 2], within: 8, "keepalived preempts the master that lowered its priority")
        frames = seen(lab)
        let fromVigil = frames.filter { $0.source == lab.address(1) && $0.priority != nil }
        let lastBefore = fromVigil.last { $0.time < lower.at }
        let firstAfter = fromVigil.first { $0.time > lower.at }
        #expect(lastBefore?.priority == 150 && firstAfter?.priority == 50)
        if let a = lastBefore?.time, let b = firstAfter?.time {
            #expect(b - a < 0.95, "the new priority went out with the reload, before the 1 s interval was up")
        }
        #expect(lab.log("ka2.log").contains("Entering MASTER STATE"))

        // Priority 50 -> 200: the backup preempts keepalived again.
        let higher = try reload(lab, config(priority: 200), name: "higher.conf")
        #expect(higher.lines == ["VI_1: priority 50 -> 200"])
        run.expectHolder(1, among: [1, 2], within: 8, "Vigil's backup preempts once its priority is higher")
    }
}

/// This test binary (the node is started from it).
private func readlinkSelf() -> String? { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") }
