import KeepalivedConfig
import VigilSupport

enum DumpConfigMode {
    /// `vigil --dump-config`: the resolved model as JSON on stdout; diagnostics on stderr; 1 on errors.
    static func run(_ options: VigilOptions) async -> Int32 {
        let result = ConfigLoader.load(path: options.file, configID: options.configID)
        let text = result.diagnostics.map { $0.description + "\n" }.joined()
        if !text.isEmpty { writeStandardError(text) }
        guard let configuration = result.configuration else { return 1 }
        do {
            writeStandardOutput(try configuration.jsonString() + "\n")
        } catch {
            writeStandardError("vigil: cannot encode the configuration as JSON: \(error)\n")
            return 1
        }
        return 0
    }
}
