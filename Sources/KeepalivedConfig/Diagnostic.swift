/// A position in a configuration file: the path as given (or as the `include` produced it), 1-based line and column.
public struct SourceLocation: Sendable, Codable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    /// 1-based column, counted in Unicode scalars.
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// A stable, machine-readable identifier for each kind of diagnostic.
public enum DiagnosticCode: String, Sendable, Codable, Hashable, CaseIterable {
    // Errors.
    case unreadableFile = "unreadable-file"
    case includeCycle = "include-cycle"
    case unbalancedBraces = "unbalanced-braces"
    case missingArgument = "missing-argument"
    case invalidNumber = "invalid-number"
    case valueOutOfRange = "value-out-of-range"
    case invalidAddress = "invalid-address"
    case invalidValue = "invalid-value"
    case unknownScheduler = "unknown-scheduler"
    case unknownForwardingMethod = "unknown-forwarding-method"
    case missingRequired = "missing-required"
    case duplicateName = "duplicate-name"
    case duplicateVirtualRouterID = "duplicate-virtual-router-id"
    case undefinedReference = "undefined-reference"
    case missingBlock = "missing-block"
    case loopbackInterface = "loopback-interface"
    /// A keyword keepalived accepts that Vigil refuses to run with (see the migration table).
    case refusedKeyword = "refused-keyword"
    // Warnings.
    case unknownKeyword = "unknown-keyword"
    case deprecatedKeyword = "deprecated-keyword"
    case defaultApplied = "default-applied"
    case scriptNotFound = "script-not-found"
    case scriptNotExecutable = "script-not-executable"
    case scriptSecurity = "script-security"
    case syncGroupTrackWeight = "sync-group-track-weight"
    case valueAdjusted = "value-adjusted"
    case unexpectedArgument = "unexpected-argument"
    case unexpectedBlock = "unexpected-block"
    case emptyInclude = "empty-include"
    case undefinedVariable = "undefined-variable"
    case ignoredSetting = "ignored-setting"
    /// A keyword keepalived accepts that Vigil does not act on (see the migration table).
    case notSupported = "not-supported"
}

/// One error or warning about a configuration, printed compiler style.
public struct Diagnostic: Sendable, Codable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Codable, Hashable {
        case error
        case warning
    }

    public var severity: Severity
    public var code: DiagnosticCode
    public var message: String
    /// The file as given on the command line, or the included file's path for included text.
    public var file: String
    public var line: Int
    public var column: Int

    public init(severity: Severity, code: DiagnosticCode, message: String, file: String, line: Int, column: Int) {
        self.severity = severity
        self.code = code
        self.message = message
        self.file = file
        self.line = line
        self.column = column
    }

    public init(_ severity: Severity, _ code: DiagnosticCode, _ message: String, at location: SourceLocation) {
        self.init(severity: severity, code: code, message: message, file: location.file, line: location.line,
                  column: location.column)
    }

    public var location: SourceLocation { SourceLocation(file: file, line: line, column: column) }

    /// `FILE:LINE:COL: error: MESSAGE` (or `warning:`).
    public var description: String { "\(file):\(line):\(column): \(severity.rawValue): \(message)" }
}

/// The outcome of loading a configuration: the resolved model when it can run, and every diagnostic.
public struct LoadResult: Sendable {
    /// The resolved configuration; nil when any error was found (nothing half-applied).
    public var configuration: KeepalivedConfiguration?
    /// Errors and warnings in source order (per file, as read).
    public var diagnostics: [Diagnostic]

    public init(configuration: KeepalivedConfiguration?, diagnostics: [Diagnostic]) {
        self.configuration = configuration
        self.diagnostics = diagnostics
    }

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// keepalived's `-e` (`--all-config`): an `include` that matches no file is an error, and
    /// the configuration is not runnable.
    public func requiringIncludedFiles() -> LoadResult {
        var result = self
        var promoted = false
        for i in result.diagnostics.indices where result.diagnostics[i].code == .emptyInclude {
            result.diagnostics[i].severity = .error
            result.diagnostics[i].message += " (an error with -e)"
            promoted = true
        }
        if promoted { result.configuration = nil }
        return result
    }
}

/// A failure to load a configuration, carrying every diagnostic (for callers that prefer `throws`).
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]

    public init(diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

    public var description: String {
        diagnostics.filter { $0.severity == .error }.map(\.description).joined(separator: "\n")
    }
}
