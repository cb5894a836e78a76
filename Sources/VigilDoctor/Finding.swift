import Foundation

/// How much a finding matters: an error stops Vigil (or part of the configuration) from working.
public enum Severity: String, Sendable, Hashable, Codable, Comparable {
    case ok
    case warning
    case error

    private var rank: Int {
        switch self {
        case .ok: 0
        case .warning: 1
        case .error: 2
        }
    }

    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// One result of `vigil doctor`: what was checked, what was found, and the command that fixes it.
public struct Finding: Sendable, Hashable, Codable {
    /// Stable identifier: the check's kind, then its subject (e.g. `module.ip_vs_wrr`, `interface.eth1`).
    public var id: String
    public var severity: Severity
    /// What was checked, e.g. "IPVS scheduler module for virtual_server 192.0.2.10:80".
    public var check: String
    /// What was found.
    public var message: String
    /// The exact command (or edit) that fixes it; nil when nothing needs fixing.
    public var fix: String?

    public init(id: String, severity: Severity, check: String, message: String, fix: String? = nil) {
        self.id = id
        self.severity = severity
        self.check = check
        self.message = message
        self.fix = fix
    }

    static func ok(_ id: String, _ check: String, _ message: String) -> Finding {
        Finding(id: id, severity: .ok, check: check, message: message)
    }
}

/// Everything `vigil doctor` found, in check order; the JSON shape is documented in Docs/doctor.md.
public struct DoctorReport: Sendable, Hashable, Codable {
    /// The configuration file read.
    public var config: String
    public var errors: Int
    public var warnings: Int
    public var findings: [Finding]

    public init(config: String, findings: [Finding]) {
        self.config = config
        self.findings = findings
        self.errors = findings.filter { $0.severity == .error }.count
        self.warnings = findings.filter { $0.severity == .warning }.count
    }

    /// The process exit status: 1 when any finding is an error, else 0.
    public var exitStatus: Int32 { errors > 0 ? 1 : 0 }

    /// The findings with the given id (tests and callers look findings up by id).
    public func findings(_ id: String) -> [Finding] { findings.filter { $0.id == id } }

    /// The `--json` form: one object, keys sorted, one line.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// The terminal form: one line per finding, its fix indented below, then a summary line.
    public var text: String {
        var out = "vigil doctor: \(config)\n"
        let width = min(40, findings.map(\.id.count).max() ?? 0)
        for f in findings {
            let sev = f.severity.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)
            let id = f.id.count < width ? f.id.padding(toLength: width, withPad: " ", startingAt: 0) : f.id
            out += "  \(sev) \(id)  \(f.check): \(f.message)\n"
            if let fix = f.fix { out += "          fix: \(fix)\n" }
        }
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        let verdict = errors > 0 ? "Vigil would not work as configured on this host" : "nothing stops Vigil on this host"
        out += "vigil doctor: \(plural(errors, "error")), \(plural(warnings, "warning")), \(findings.count - errors - warnings) ok: \(verdict)\n"
        return out
    }

    // The JSON keys, in the documented order.
    enum CodingKeys: String, CodingKey { case config, errors, warnings, findings }
}
