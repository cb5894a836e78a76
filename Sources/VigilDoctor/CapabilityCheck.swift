import KeepalivedConfig

/// A Linux capability Vigil needs, by its bit in `CapEff`.
enum Capability: Int, CaseIterable {
    /// `CAP_NET_ADMIN` (12): IPVS over generic netlink, VIPs, routes, the sync daemon.
    case netAdmin = 12
    /// `CAP_NET_RAW` (13): the VRRP socket (IP protocol 112), gratuitous ARP, PING_CHECK.
    case netRaw = 13

    var name: String { self == .netAdmin ? "CAP_NET_ADMIN" : "CAP_NET_RAW" }
    var id: String { self == .netAdmin ? "capability.net_admin" : "capability.net_raw" }
}

extension DoctorContext {
    /// `capability.*`: the effective set holds what the configuration needs.
    mutating func checkCapabilities() {
        guard let effective = host.effectiveCapabilities() else {
            add(Finding(id: "capability", severity: .warning, check: "capabilities",
                        message: "cannot read CapEff from /proc/self/status", fix: "mount -t proc proc /proc"))
            return
        }
        for capability in Capability.allCases {
            let held = effective & (1 << UInt64(capability.rawValue)) != 0
            let needed = isNeeded(capability)
            if held {
                add(.ok(capability.id, capability.name, "in the effective set"))
            } else if let why = needed {
                add(Finding(id: capability.id, severity: .error, check: capability.name,
                            message: "not in the effective set (CapEff \(String(effective, radix: 16))); needed for \(why)",
                            fix: "run vigil as root, or grant it: setcap cap_net_admin,cap_net_raw+ep /usr/sbin/vigil (or AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW in the unit)"))
            } else {
                add(.ok(capability.id, capability.name, "not in the effective set, and nothing configured needs it"))
            }
        }
    }

    /// Why the configuration needs a capability; nil when it does not (an unreadable configuration needs both).
    private func isNeeded(_ capability: Capability) -> String? {
        guard let c = configuration else { return "Vigil's IPVS and VRRP halves" }
        switch capability {
        case .netAdmin:
            if !c.virtualServers.isEmpty { return "programming IPVS" }
            if !c.vrrpInstances.isEmpty { return "adding the VIPs" }
            return nil
        case .netRaw:
            if !c.vrrpInstances.isEmpty { return "the VRRP socket" }
            let pings = c.virtualServers.contains { $0.realServers.contains { $0.checkers.contains { $0.kind == .ping } } }
            return pings ? "PING_CHECK" : nil
        }
    }
}
