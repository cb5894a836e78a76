import KeepalivedConfig

extension DoctorContext {
    /// Each interface the configuration names, with why and how much a missing or down one matters.
    var usedInterfaces: [(name: String, use: String, severity: Severity)] {
        guard let c = configuration else { return [] }
        var out: [(String, String, Severity)] = []
        for i in c.vrrpInstances {
            out.append((i.interface, "interface of vrrp_instance \(i.name)", .error))
            for vip in i.virtualIPAddresses { if let dev = vip.device { out.append((dev, "dev of VIP \(vip.address) in \(i.name)", .error)) } }
            for t in i.trackInterfaces { out.append((t.name, "track_interface of \(i.name)", .warning)) }
            for r in i.virtualRoutes { if let dev = r.device { out.append((dev, "dev of a virtual_route in \(i.name)", .warning)) } }
        }
        for g in c.vrrpSyncGroups { for t in g.trackInterfaces { out.append((t.name, "track_interface of vrrp_sync_group \(g.name)", .warning)) } }
        if let sync = c.global.lvsSyncDaemon { out.append((sync.interface, "lvs_sync_daemon interface", .error)) }
        for vs in c.virtualServers {
            for rs in vs.realServers {
                for checker in rs.checkers {
                    if let dev = Self.connection(checker)?.bindInterface {
                        out.append((dev, "bind_if of a \(checker.kind.rawValue) of \(rs.address)", .warning))
                    }
                }
            }
        }
        return out
    }

    /// `interface.NAME`: every configured interface exists and is up (keepalived -t fails on a missing one).
    mutating func checkInterfaces() {
        var order: [String] = []
        var grouped: [String: (name: String, use: String, severity: Severity)] = [:]
        for use in usedInterfaces {
            if let known = grouped[use.name] {
                if !known.use.contains(use.use) { grouped[use.name]!.use += ", " + use.use }
                grouped[use.name]!.severity = max(known.severity, use.severity)
            } else {
                order.append(use.name)
                grouped[use.name] = use
            }
        }
        for use in order.compactMap({ grouped[$0] }) {
            let id = "interface.\(use.name)"
            guard let found = interface(use.name) else {
                add(Finding(id: id, severity: use.severity, check: use.use,
                            message: "no interface \(use.name) on this host (keepalived -t rejects this; vigil -t does not)",
                            fix: "create it or correct the name: ip link show   # lists this host's interfaces"))
                continue
            }
            if !found.isUp {
                add(Finding(id: id, severity: use.severity, check: use.use, message: "\(use.name) is down",
                            fix: "ip link set \(use.name) up"))
            } else if !found.isRunning {
                add(Finding(id: id, severity: .warning, check: use.use,
                            message: "\(use.name) is up but has no carrier (an instance on it enters FAULT)",
                            fix: "connect the link: ip link show \(use.name)   # shows NO-CARRIER"))
            } else {
                add(.ok(id, use.use, "\(use.name) is present and up"))
            }
        }
    }

    static func connection(_ checker: Checker) -> CheckerConnection? {
        switch checker {
        case .tcp(let c): c.connection
        case .http(let c), .ssl(let c): c.connection
        case .smtp(let c): c.connection
        case .dns(let c): c.connection
        case .udp(let c): c.connection
        case .ping(let c): c.connection
        case .misc, .file: nil
        }
    }
}
