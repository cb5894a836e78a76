import Foundation
import KeepalivedConfig

/// Paths to the package's fixtures and small helpers shared by the tests.
enum Fixtures {
    /// `<package>/Fixtures/config`.
    static let configDirectory: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures/config").path
    }()

    static func path(_ relative: String) -> String { configDirectory + "/" + relative }

    static func files(in directory: String, suffix: String) -> [String] {
        let dir = path(directory)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasSuffix(suffix) }.sorted()
    }

    /// Loads a fixture with a fixed host name so results do not depend on the machine.
    static func load(_ relative: String, configID: String? = nil) -> LoadResult {
        ConfigLoader.load(path: path(relative), options: LoadOptions(configID: configID, hostName: "lb1.example.net"))
    }
}

/// Parses inline text with a fixed host name and no script checks unless asked.
func parse(_ text: String, configID: String? = nil, checkScripts: Bool = false, fileName: String = "test.conf") -> LoadResult {
    ConfigLoader.parse(text: text, fileName: fileName,
                       options: LoadOptions(configID: configID, hostName: "lb1.example.net", checkScripts: checkScripts))
}

extension LoadResult {
    /// Diagnostics as `LINE:COL: severity: message` (file dropped), for compact assertions.
    var rendered: [String] { diagnostics.map { "\($0.line):\($0.column): \($0.severity.rawValue): \($0.message)" } }
    var codes: [DiagnosticCode] { diagnostics.map(\.code) }
    /// `rendered` without the migration table's not-supported warnings.
    var renderedSupported: [String] {
        diagnostics.filter { $0.code != .notSupported }.map { "\($0.line):\($0.column): \($0.severity.rawValue): \($0.message)" }
    }
}

/// A scratch directory under /tmp removed at deinit.
final class TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "vigil-config-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ relative: String, _ text: String, executable: Bool = false) {
        let full = path + "/" + relative
        try? FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: full, contents: Data(text.utf8),
                                       attributes: [.posixPermissions: executable ? 0o755 : 0o644])
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
