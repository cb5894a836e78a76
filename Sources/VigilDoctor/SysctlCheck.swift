import KeepalivedConfig
import VigilSupport

extension DoctorContext {
    /// `sysctl.*`: the kernel settings this configuration depends on.
    mutating func checkSysctls(usesSNAT: Bool) {
        guard configuration != nil else { return }
        checkForwarding()
        checkNonlocalBind()
        checkLocalDirectRouting()
        if usesSNAT {
            expect("net.ipv4.vs.conntrack", atLeast: 1, id: "sysctl.vs_conntrack", severity: .error,
                   why: "source NAT of IPVS traffic needs netfilter connection tracking of IPVS connections")
        }
    }

    /// NAT rewrites the replies on their way back through this host: it must forward.
    private mutating func checkForwarding() {
        let nat = virtualServerAddresses.filter { $0.server.forwardingMethod == .nat }
        guard !nat.isEmpty else { return }
        if nat.contains(where: { $0.address.address.family == .inet }) {
            expect("net.ipv4.ip_forward", atLeast: 1, id: "sysctl.ip_forward", severity: .error,
                   why: "NAT (lb_kind NAT) forwards the real servers' replies through this host")
        }
        if nat.contains(where: { $0.address.address.family == .inet6 }) {
            expect("net.ipv6.conf.all.forwarding", atLeast: 1, id: "sysctl.ipv6_forwarding", severity: .error,
                   why: "IPv6 NAT forwards the real servers' replies through this host")
        }
    }

    /// A virtual server on a VIP this node does not hold yet (it is backup, or not started).
    private mutating func checkNonlocalBind() {
        let vips = virtualAddresses
        let pending = virtualServerAddresses.map(\.address.address).filter { vips.contains($0) && !isLocal($0) }
        guard let first = pending.first else { return }
        let v4 = first.family == .inet
        expect(v4 ? "net.ipv4.ip_nonlocal_bind" : "net.ipv6.ip_nonlocal_bind", atLeast: 1,
               id: v4 ? "sysctl.ip_nonlocal_bind" : "sysctl.ipv6_nonlocal_bind", severity: .warning,
               why: "virtual server address \(first) is a VIP this host does not hold yet; a local service or checker binding it fails until it does")
    }

    /// DR with this host as one of the real servers: it must accept the VIP without answering ARP for it.
    private mutating func checkLocalDirectRouting() {
        var reported: Set<IPAddress> = []
        for (vs, address) in virtualServerAddresses where vs.forwardingMethod == .directRouting {
            guard let local = vs.realServers.first(where: { $0.forwardingMethod == .directRouting && isLocal($0.address.address) }),
                  address.address.family == .inet, reported.insert(address.address).inserted else { continue }
            let holder = interfaces.first { $0.addresses.contains(local.address.address) }?.name ?? "all"
            let why = "real server \(local.address) of \(Self.name(vs)) is this host (DR)"
            expect("net.ipv4.conf.all.arp_ignore", or: "net.ipv4.conf.\(holder).arp_ignore", atLeast: 1,
                   id: "sysctl.arp_ignore", severity: .warning, why: why + ": it must not answer ARP for the VIP on \(holder)")
            expect("net.ipv4.conf.all.arp_announce", or: "net.ipv4.conf.\(holder).arp_announce", atLeast: 2,
                   id: "sysctl.arp_announce", severity: .warning, why: why + ": it must not announce the VIP as an ARP source")
            let onLoopback = interface("lo")?.addresses.contains(address.address) ?? false
            if onLoopback {
                add(.ok("dr.vip_on_lo", "VIP \(address.address) on lo", "present (" + why + ")"))
            } else {
                add(Finding(id: "dr.vip_on_lo", severity: .warning, check: "VIP \(address.address) on lo",
                            message: "missing: \(why), and drops packets for the VIP while it is not VRRP master",
                            fix: "ip addr add \(address.address)/32 dev lo"))
            }
        }
    }

    /// One sysctl at or above a value. The kernel takes the larger of `all` and the interface's value
    /// for arp_ignore and arp_announce, hence the optional second name.
    private mutating func expect(_ name: String, or other: String? = nil, atLeast minimum: Int, id: String,
                                 severity: Severity, why: String) {
        let values = [name, other].compactMap { $0 }.map { ($0, host.sysctl($0).flatMap { Int($0) }) }
        let best = values.compactMap(\.1).max()
        let shown = values.map { "\($0.0) = \($0.1.map(String.init) ?? "absent")" }.joined(separator: ", ")
        if let best, best >= minimum {
            add(.ok(id, name, "\(shown) (\(why))"))
        } else {
            let absent = values.allSatisfy { $0.1 == nil }
            let fix = absent && name.hasPrefix("net.ipv4.vs.")
                ? "modprobe ip_vs && sysctl -w \(name)=\(minimum)"
                : "sysctl -w \(name)=\(minimum)   # persist it in /etc/sysctl.d/90-vigil.conf"
            add(Finding(id: id, severity: severity, check: name, message: "\(shown); \(why)", fix: fix))
        }
    }
}
