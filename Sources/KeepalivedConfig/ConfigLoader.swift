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
        LoadResult(configuration: KeepalivedConfiguration(), diagnostics: [])
    }

    /// Parses configuration text; `fileName` names it in diagnostics and anchors relative includes.
    public static func parse(text: String, fileName: String = "<input>", options: LoadOptions = LoadOptions()) -> LoadResult {
        LoadResult(configuration: KeepalivedConfiguration(), diagnostics: [])
    }
}
