#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Settings for loading a configuration.
public struct LoadOptions: Sendable {
    /// The config id selecting `@ID` lines (`vigil -i`); nil means the short host name.
    public var configID: String?
    /// The host name used for `router_id` and the default config id; nil means `gethostname(2)`.
    public var hostName: String?
    /// Check that scripts exist and are executable (warnings). Off for pure parsing (fuzzing).
    public var checkScripts: Bool
    /// Follow `include` directives. Off for pure parsing of untrusted text (fuzzing).
    public var followIncludes: Bool

    public init(configID: String? = nil, hostName: String? = nil, checkScripts: Bool = true, followIncludes: Bool = true) {
        self.configID = configID
        self.hostName = hostName
        self.checkScripts = checkScripts
        self.followIncludes = followIncludes
    }
}

/// The entry point: reads keepalived.conf (with includes), checks it, and resolves the typed model.
public enum ConfigLoader {
    /// Loads the file at `path`; `configID` selects `@ID` lines (nil: the short host name).
    public static func load(path: String, configID: String? = nil) -> LoadResult {
        load(path: path, options: LoadOptions(configID: configID))
    }

    /// Loads the file at `path` with explicit options.
    public static func load(path: String, options: LoadOptions) -> LoadResult {
        run(options: options) { $0.processFile(path: path) }
    }

    /// Parses configuration text; `fileName` names it in diagnostics and anchors relative includes.
    public static func parse(text: String, fileName: String = "<input>", options: LoadOptions = LoadOptions()) -> LoadResult {
        run(options: options) { $0.processText(Array(text.utf8), file: fileName) }
    }

    /// Parses raw bytes (invalid UTF-8 is replaced), as the fuzzer feeds them.
    public static func parse(bytes: [UInt8], fileName: String = "<input>", options: LoadOptions = LoadOptions()) -> LoadResult {
        run(options: options) { $0.processText(bytes, file: fileName) }
    }

    private static func run(options: LoadOptions, _ feed: (inout Preprocessor) -> Void) -> LoadResult {
        let host = options.hostName ?? hostName()
        let configID = options.configID ?? shortHostName(host)
        let builder = TreeBuilder()
        var pre = Preprocessor(options: options, configID: configID, builder: builder)
        feed(&pre)
        builder.finish()
        var resolver = Resolver(options: options, hostName: host)
        let configuration = resolver.resolve(builder.root)
        let diagnostics = pre.diagnostics + builder.diagnostics + resolver.ctx.diagnostics
        let sorted = order(diagnostics)
        let failed = sorted.contains { $0.severity == .error }
        return LoadResult(configuration: failed ? nil : configuration, diagnostics: sorted)
    }

    /// Orders diagnostics by file (in first-seen order), then line and column.
    private static func order(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        var fileOrder: [String: Int] = [:]
        for d in diagnostics where fileOrder[d.file] == nil { fileOrder[d.file] = fileOrder.count }
        return diagnostics.enumerated().sorted { a, b in
            let (x, y) = (a.element, b.element)
            if x.file != y.file { return fileOrder[x.file]! < fileOrder[y.file]! }
            if x.line != y.line { return x.line < y.line }
            if x.column != y.column { return x.column < y.column }
            return a.offset < b.offset
        }.map(\.element)
    }

    /// `gethostname(2)`, or "localhost" when it fails.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The host name up to its first dot (keepalived's default config id).
    public static func shortHostName(_ host: String) -> String {
        String(host.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }
}
