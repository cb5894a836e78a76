import VigilSupport

enum ConfigTestMode {
    /// Not built yet: reports that plainly and fails.
    static func run(_ options: VigilOptions) async -> Int32 {
        writeStandardError("vigil: this mode is not implemented yet\n")
        return 2
    }
}
