import VigilSupport

enum FullDaemonMode {
    /// Running both halves in one process is a later milestone: say so plainly and fail.
    static func run(_ options: VigilOptions) async -> Int32 {
        writeStandardError("vigil: running both halves in one process is not built yet: run `vigil -C` (checkers and IPVS) and `vigil -P` (VRRP)\n")
        return 2
    }
}
