import Foundation
import KeepalivedConfig
import Testing
import VigilTestSupport

/// Runs the built `vigil` binary as an operator would: `vigil -t` exit status and stderr, and
/// `vigil --dump-config` output. The test target does not link `vigil`; it only executes it.
enum VigilBinary {
    /// The built `vigil` (next to the test bundle, else `.build/debug/vigil`); nil when absent.
    static let path: String? = Lab.builtProduct("vigil")

    static var isBuilt: Bool { path != nil }

    struct Outcome {
        var status: Int32
        var standardOutput: String
        var standardError: String
        var errorLines: [String] { standardError.split(separator: "\n").map(String.init) }
    }

    /// Runs `vigil ARGS` in `directory` (so relative `-f` paths print as written) and collects its output.
    static func run(_ arguments: [String], in directory: String) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path!)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-command-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        // Files rather than pipes: a large JSON document cannot fill a pipe and stall the child.
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        return Outcome(status: process.terminationStatus,
                       standardOutput: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                       standardError: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }
}

@Suite("vigil command line (-t, --dump-config, option checks)",
       .enabled(if: VigilBinary.isBuilt, "vigil binary not built (run `swift build` first); looked next to the test bundle and in .build/debug"))
struct VigilCommandTests {
    static let warningsOnly = """
        virtual_server 192.0.2.10 80 {
            lvs_sched rr
            lvs_method NAT
            protocol TCP
            persistance_timeout 50
            real_server 198.51.100.1 80 {
                weight 1
                TCP_CHECK {
                    connect_timeout 3
                }
            }
        }

        """

    @Test("-t on a valid file exits 0 and says the configuration is OK")
    func validFile() throws {
        let outcome = try VigilBinary.run(["-t", "-f", "000-unicast-master.conf"], in: Fixtures.path("seeds"))
        #expect(outcome.status == 0)
        #expect(outcome.errorLines.last == "vigil: 000-unicast-master.conf: configuration OK (5 warnings)")
        #expect(outcome.errorLines.dropLast().allSatisfy { $0.contains("is accepted by keepalived but not supported by Vigil") }, "\(outcome.errorLines)")
    }

    @Test("-t with only warnings exits 0 and prints each warning compiler style")
    func warningsOnlyFile() throws {
        let directory = TemporaryDirectory()
        directory.write("warn.conf", Self.warningsOnly)
        let outcome = try VigilBinary.run(["-t", "-f", "warn.conf"], in: directory.path)
        #expect(outcome.status == 0)
        #expect(outcome.errorLines == [
            "warn.conf:5:5: warning: unknown keyword `persistance_timeout` in virtual_server; did you mean `persistence_timeout`? (ignored)",
            "vigil: warn.conf: configuration OK (1 warning)",
        ])
    }

    @Test("-t on an invalid file exits 1 with the exact FILE:LINE:COL: error line",
          arguments: ["priority-zero.conf", "unclosed-block.conf", "real-server-family-mismatch.conf"])
    func invalidFile(name: String) throws {
        let header = try String(contentsOfFile: Fixtures.path("invalid/" + name), encoding: .utf8)
            .split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
        let prefix = "# expect: "
        try #require(header.hasPrefix(prefix), "fixture \(name) has no `# expect:` header")
        let expected = String(header.dropFirst(prefix.count))
        let outcome = try VigilBinary.run(["-t", "-f", name], in: Fixtures.path("invalid"))
        #expect(outcome.status == 1)
        #expect(outcome.errorLines.contains(expected), "stderr:\n\(outcome.standardError)")
        #expect(outcome.errorLines.last?.hasPrefix("vigil: \(name): ") == true)
        #expect(outcome.errorLines.last?.hasSuffix("; configuration rejected") == true)
    }

    @Test("-t on a missing file exits 1 and names the file and the reason")
    func missingFile() throws {
        let directory = TemporaryDirectory()
        let outcome = try VigilBinary.run(["-t", "-f", "absent.conf"], in: directory.path)
        #expect(outcome.status == 1)
        #expect(outcome.errorLines == [
            "absent.conf:0:0: error: cannot read configuration file `absent.conf`: No such file or directory",
            "vigil: absent.conf: 1 error, 0 warnings; configuration rejected",
        ])
    }

    @Test("--dump-config prints JSON that decodes to the same model the library loads")
    func dumpConfig() throws {
        let outcome = try VigilBinary.run(["--dump-config", "-f", "000-unicast-master.conf", "-i", "lb1"], in: Fixtures.path("seeds"))
        #expect(outcome.status == 0)
        #expect(outcome.errorLines.allSatisfy { $0.contains("is accepted by keepalived but not supported by Vigil") }, "stderr:\n\(outcome.standardError)")
        let decoded = try KeepalivedConfiguration.fromJSON(outcome.standardOutput)
        let loaded = try #require(ConfigLoader.load(path: Fixtures.path("seeds/000-unicast-master.conf"), configID: "lb1").configuration)
        #expect(!decoded.vrrpInstances.isEmpty)
        #expect(decoded == loaded)
    }

    @Test("--dump-config on an invalid file exits 1 with no JSON on stdout")
    func dumpConfigInvalid() throws {
        let outcome = try VigilBinary.run(["--dump-config", "-f", "priority-zero.conf"], in: Fixtures.path("invalid"))
        #expect(outcome.status == 1)
        #expect(outcome.standardOutput.isEmpty)
        #expect(outcome.standardError.contains("priority-zero.conf:"))
    }

    @Test("--reconcile-interval out of range or not a number exits non-zero naming the flag and the range",
          arguments: ["0", "-1", "86401", "nan", "soon"])
    func reconcileIntervalRejected(value: String) throws {
        let directory = TemporaryDirectory()
        let outcome = try VigilBinary.run(["-C", "--reconcile-interval", value, "-f", "absent.conf"], in: directory.path)
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("--reconcile-interval"), "stderr:\n\(outcome.standardError)")
        #expect(outcome.standardError.contains("absent.conf") == false, "rejected before the file is read")
    }
}
