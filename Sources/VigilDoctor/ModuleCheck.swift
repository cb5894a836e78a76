import KeepalivedConfig

extension DoctorContext {
    /// `module.ip_vs` and `module.ip_vs_SCHED`: IPVS and every configured scheduler can be used.
    mutating func checkModules() {
        let servers = configuration?.virtualServers ?? []
        if configuration != nil && servers.isEmpty {
            add(.ok("module.ip_vs", "IPVS kernel module", "no virtual_server configured: IPVS is not needed"))
            return
        }
        checkModule("ip_vs", what: "IPVS kernel module", severity: .error)
        var seen: Set<String> = []
        for vs in servers where seen.insert(vs.scheduler).inserted {
            checkModule("ip_vs_\(vs.scheduler)", what: "scheduler \(vs.scheduler) for \(Self.name(vs))", severity: .error)
        }
    }

    private mutating func checkModule(_ name: String, what: String, severity: Severity) {
        let id = "module.\(name)"
        switch host.module(name) {
        case .loaded: add(.ok(id, what, "\(name) is loaded"))
        case .builtIn: add(.ok(id, what, "\(name) is built into kernel \(host.kernelRelease)"))
        case .loadable:
            add(.ok(id, what, "\(name) is installed for kernel \(host.kernelRelease); the kernel loads it on first use (or: modprobe \(name))"))
        case .missing:
            add(Finding(id: id, severity: severity, check: what,
                        message: "\(name) is not loaded, not built in and not installed for kernel \(host.kernelRelease)",
                        fix: "modprobe \(name)   # needs the kernel's modules package, e.g. apt-get install linux-image-$(uname -r)"))
        }
    }
}
