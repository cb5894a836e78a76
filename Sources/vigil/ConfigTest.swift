import KeepalivedConfig
import VigilSupport

enum ConfigTestMode {
    /// `vigil -t`: prints diagnostics compiler style; 0 when the configuration can run, 1 on errors.
    static func run(_ options: VigilOptions) async -> Int32 {
        let result = ConfigLoader.load(path: options.file, configID: options.configID)
        var text = ""
        for d in result.diagnostics { text += d.description + "\n" }
        let errors = result.errors.count
        let warnings = result.warnings.count
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        if errors > 0 {
            text += "vigil: \(options.file): \(plural(errors, "error")), \(plural(warnings, "warning")); configuration rejected\n"
        } else {
            text += "vigil: \(options.file): configuration OK (\(plural(warnings, "warning")))\n"
        }
        writeStandardError(text)
        return errors > 0 ? 1 : 0
    }
}
