import Foundation
import Testing
import VigilTestSupport

/// `make demo`'s scenarios as tests: the demo script runs quietly (`--check`) with the debug
/// `vigil`, and these tests assert on what its client saw and on the directors' IPVS tables, as
/// recorded in its summary (one JSON object per step).
/// Two demo runs cost about 20 minutes of emulated VM time and have not yet passed whole in this
/// lab: off unless VIGIL_DEMO_TESTS=1, so `make test` stays within CI's budget meanwhile.
@Suite("make demo: two vigil directors, three backends, a client (NAT and DR)", .serialized, .requiresIPVS, .tags(.ipvsKernel),
       .enabled(if: ProcessInfo.processInfo.environment["VIGIL_DEMO_TESTS"] == "1",
                "the demo scenarios run only with VIGIL_DEMO_TESTS=1 (about 20 minutes of lab-VM time)"))
struct DemoKernelTests {
    /// One step of the demo's summary.
    struct Step: Decodable {
        struct Check: Decodable {
            var check: String
            var ok: Bool?
        }

        struct Facts: Decodable {
            struct Session: Decodable {
                var connections: Int
                var broken: Int
                var backends: [String]
            }

            var holder: String?
            var sync_daemon: String?
            var session: Session?
            var reload_line: String?
        }

        var step: Int
        var result: String
        var counts: [String: Int]
        var failures: Int
        /// The master's `ipvsadm -Ln` at the end of the step: service → destination → weight and method.
        var table: [String: [String: Destination]]
        var facts: Facts
        var checks: [Check]

        struct Destination: Decodable, Equatable {
            var weight: Int
            var forward: String
        }

        /// The web service's destinations as address → weight.
        var web: [String: Int] {
            (table["TCP 192.0.2.100:80"] ?? [:]).reduce(into: [:]) { $0[String($1.key.split(separator: ":")[0])] = $1.value.weight }
        }
    }

    static let web = ["198.51.100.11", "198.51.100.12", "198.51.100.13"]
    static let sorry = "198.51.100.20"

    /// Runs the demo script in `mode`; returns its steps (by number) and its output.
    func runDemo(_ mode: String) async throws -> ([Int: Step], String, Int32) {
        let vigil = try #require(Lab.builtProduct("vigil"), "build the vigil binary first (swift build)")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let scratch = "/run/vigil-demo-test-\(getpid())-\(mode)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let summary = "\(scratch)/summary.jsonl", log = "\(scratch)/output"
        FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["\(root)/Scripts/demo/demo.sh", "--mode", mode, "--check", "--summary", summary]
        process.environment = ProcessInfo.processInfo.environment.merging(["VIGIL": vigil]) { _, new in new }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = ContinuousClock.now + .seconds(600)
        while process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(250))
        }
        if process.isRunning { process.interrupt() }
        process.waitUntilExit()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let lines = ((try? String(contentsOfFile: summary, encoding: .utf8)) ?? "").split(separator: "\n")
        var steps: [Int: Step] = [:]
        for line in lines {
            let step = try JSONDecoder().decode(Step.self, from: Data(line.utf8))
            steps[step.step] = step
        }
        return (steps, output, process.terminationStatus)
    }

    @Test("share, backend down, sorry server, recovery, weight reload, broken reload, master killed and restarted",
          arguments: ["nat", "dr"])
    func demo(mode: String) async throws {
        let (steps, output, status) = try await runDemo(mode)
        let context = Comment(rawValue: "\(mode) demo output:\n\(output.suffix(6000))")
        #expect(status == 0, context)
        #expect(steps.keys.sorted() == Array(1...8), context)
        for (n, step) in steps.sorted(by: { $0.key < $1.key }) {
            #expect(step.result != "fail", "step \(n): \(step.checks.filter { $0.ok == false }.map(\.check))")
        }
        let forward = mode == "nat" ? "Masq" : "Route"
        let all = Dictionary(uniqueKeysWithValues: Self.web.map { ($0, 1) })

        if let s = steps[1] {
            #expect(Set(s.counts.keys) == ["web1", "web2", "web3"] && s.failures == 0, "the client saw all three: \(s.counts)")
            #expect(s.web == all)
            #expect(s.table["TCP 192.0.2.100:80"]?.values.allSatisfy { $0.forward == forward } == true, "\(s.table)")
        }
        if let s = steps[2] {
            #expect(s.counts["web1"] == nil && s.counts["web2", default: 0] > 0 && s.counts["web3", default: 0] > 0, "\(s.counts)")
            #expect(s.web == [Self.web[1]: 1, Self.web[2]: 1], "web1 left the kernel table")
        }
        if let s = steps[3] {
            #expect(s.counts.keys.sorted() == ["sorry"] && s.failures == 0, "only the sorry server answered: \(s.counts)")
            #expect(s.web == [Self.sorry: 1])
        }
        if let s = steps[4] {
            #expect(Set(s.counts.keys) == ["web1", "web2", "web3"] && s.failures == 0, "\(s.counts)")
            #expect(s.web == all)
        }
        if let s = steps[5] {
            #expect(s.facts.reload_line?.contains("1 IPVS operations") == true, "\(s.facts.reload_line ?? "no reload line")")
            #expect(s.web == [Self.web[0]: 1, Self.web[1]: 1, Self.web[2]: 3])
            #expect(s.counts["web3", default: 0] > s.counts["web1", default: 0] + s.counts["web2", default: 0] - 4, "web3 carries ~3/5: \(s.counts)")
        }
        if let s = steps[6], let before = steps[5] {
            #expect(s.facts.reload_line?.contains("Reload refused") == true)
            #expect(s.table == before.table, "a refused reload changes nothing in the kernel")
            #expect(s.failures == 0)
        }
        if let s = steps[7] {
            #expect(s.facts.holder == "dir2", "the backup holds both VIPs")
            if s.facts.sync_daemon == "yes" {
                #expect(s.facts.session?.broken == 0, "the echo session survived the failover: \(String(describing: s.facts.session))")
            }
        }
        if let s = steps[8] {
            #expect(s.facts.holder == "dir1", "the restarted director preempts back")
            #expect(s.web == [Self.web[0]: 1, Self.web[1]: 1, Self.web[2]: 3], "the restarted director's table")
        }
    }
}
