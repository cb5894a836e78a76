import KeepalivedConfig
import VigilSupport

extension DoctorContext {
    /// `vrrp.NAME.*`: each instance can send its advertisements, to its unicast peers or by multicast.
    mutating func checkPeers() {
        for instance in configuration?.vrrpInstances ?? [] {
            guard let link = interface(instance.interface) else { continue }
            let family = instance.family
            let prefix = "vrrp.\(instance.name)"
            let own = link.addresses.filter { $0.family == family }
            if own.isEmpty {
                add(Finding(id: "\(prefix).source", severity: .error, check: "source address of vrrp_instance \(instance.name)",
                            message: "\(instance.interface) has no \(family) address to send advertisements from",
                            fix: "ip addr add ADDRESS/PREFIX dev \(instance.interface)"))
            }
            if let source = instance.unicastSourceIP, !isLocal(source) {
                add(Finding(id: "\(prefix).unicast_src_ip", severity: .error, check: "unicast_src_ip of \(instance.name)",
                            message: "\(source) is not an address of this host",
                            fix: "ip addr add \(source)/\(source.family == .inet ? 24 : 64) dev \(instance.interface)   # or correct unicast_src_ip"))
            }
            if instance.unicastPeers.isEmpty {
                if link.supportsMulticast {
                    add(.ok("\(prefix).multicast", "multicast on \(instance.interface)", "\(instance.interface) has MULTICAST set"))
                } else {
                    add(Finding(id: "\(prefix).multicast", severity: .error, check: "multicast on \(instance.interface)",
                                message: "\(instance.interface) does not have MULTICAST set; advertisements to \(family == .inet ? "224.0.0.18" : "ff02::12") cannot leave it",
                                fix: "ip link set \(instance.interface) multicast on   # or configure unicast_peer"))
                }
                continue
            }
            for peer in instance.unicastPeers {
                let id = "\(prefix).peer.\(peer)"
                let check = "route to unicast_peer \(peer) of \(instance.name)"
                if isLocal(peer) {
                    add(Finding(id: id, severity: .warning, check: check,
                                message: "\(peer) is an address of this host: this node would advertise to itself",
                                fix: "remove unicast_peer \(peer) from this host's configuration"))
                    continue
                }
                switch host.route(to: peer) {
                case .unreachable(let why):
                    add(Finding(id: id, severity: .error, check: check, message: "no route (\(why))",
                                fix: "ip route add \(peer)/\(peer.family == .inet ? 32 : 128) dev \(instance.interface)"))
                case .via(let name, let source) where name != nil && name != instance.interface:
                    add(Finding(id: id, severity: .warning, check: check,
                                message: "routed from \(source) on \(name!), not \(instance.interface): adverts leave by \(instance.interface) and replies may return elsewhere",
                                fix: "ip route add \(peer)/\(peer.family == .inet ? 32 : 128) dev \(instance.interface)"))
                case .via(_, let source):
                    add(.ok(id, check, "routed from \(source)"))
                }
            }
        }
    }
}
