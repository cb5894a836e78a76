import KeepalivedConfig

extension DoctorContext {
    /// `config`: the file loads and resolves (the same verdict as `vigil -t`).
    mutating func checkConfiguration(_ load: LoadResult, path: String) {
        let errors = load.errors
        if errors.isEmpty {
            add(.ok("config", "configuration", "loads with \(load.warnings.count) warning\(load.warnings.count == 1 ? "" : "s") (as `vigil -t`)"))
            return
        }
        let shown = errors.prefix(3).map(\.description).joined(separator: "; ")
        add(Finding(id: "config", severity: .error, check: "configuration",
                    message: "rejected with \(errors.count) error\(errors.count == 1 ? "" : "s"): \(shown); only the host checks that need no configuration ran",
                    fix: "vigil -t -f \(path)   # every diagnostic with its line"))
    }
}
