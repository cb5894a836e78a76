import KeepalivedConfig
import VigilSupport

extension DoctorContext {
    /// `vrrp.INSTANCE.vrid`: another router already advertising this instance's VRID on its
    /// interface must agree on the VIPs, the version and the interval, or the two fight over it.
    mutating func checkAdvertisingPeers() {
        let instances = (configuration?.vrrpInstances ?? []).filter { $0.family == .inet && interface($0.interface)?.isUp == true }
        var order: [String] = []
        for i in instances where !order.contains(i.interface) { order.append(i.interface) }
        for name in order {
            let here = instances.filter { $0.interface == name }
            // One advert interval of the slowest instance, and a little more for jitter; at most 5 s.
            let seconds = min(5, (here.map(\.advertInterval).max() ?? 1) + 0.2)
            switch host.advertisements(on: name, for: .milliseconds(Int64(seconds * 1000))) {
            case .failed(let why):
                for i in here {
                    add(Finding(id: "vrrp.\(i.name).vrid", severity: .warning, check: "other routers with VRID \(i.virtualRouterID) on \(name)",
                                message: "cannot listen: \(why)", fix: "run vigil doctor as root (it needs CAP_NET_RAW to listen)"))
                }
            case .heard(let heard):
                let foreign = heard.filter { !isLocal($0.source) }
                for i in here { judge(i, foreign.filter { Int($0.advertisement.virtualRouterID) == i.virtualRouterID }, listened: seconds) }
            }
        }
    }

    private mutating func judge(_ i: VRRPInstance, _ heard: [ObservedAdvertisement], listened seconds: Double) {
        let id = "vrrp.\(i.name).vrid"
        let check = "other routers with VRID \(i.virtualRouterID) on \(i.interface)"
        var bySource: [IPAddress: ObservedAdvertisement] = [:]
        for h in heard { bySource[h.source] = h }
        if bySource.isEmpty {
            add(.ok(id, check, "none heard in \(seconds) s"))
            return
        }
        let mine = Set(i.virtualIPAddresses.map(\.address).filter { $0.family == .inet })
        let interval = Int((i.advertInterval * 100).rounded())
        for (source, h) in bySource.sorted(by: { $0.key < $1.key }) {
            let a = h.advertisement
            let theirs = Set(a.addresses)
            var problems: [String] = []
            var severity = Severity.ok
            if Int(a.version.rawValue) != i.version {
                problems.append("it speaks VRRPv\(a.version.rawValue), this instance v\(i.version)")
                severity = .error
            }
            if theirs != mine {
                let list = { (s: Set<IPAddress>) in s.sorted().map(\.description).joined(separator: " ") }
                problems.append("its VIPs are [\(list(theirs))], this instance's [\(list(mine))]")
                severity = .error
            }
            if Int(a.intervalCentiseconds) != interval {
                problems.append("its advert_int is \(Double(a.intervalCentiseconds) / 100) s, this instance's \(i.advertInterval) s")
                // VRRPv2 routers drop adverts with another interval (RFC 3768 section 7.1); v3 learns it.
                severity = max(severity, a.version.rawValue == 2 ? .error : .warning)
            }
            if problems.isEmpty {
                add(.ok(id, check, "\(source) advertises it with the same VIPs and interval (priority \(a.priority))"))
            } else {
                add(Finding(id: id, severity: severity, check: check,
                            message: "\(source) already advertises VRID \(i.virtualRouterID) with another configuration: " + problems.joined(separator: "; "),
                            fix: "give this cluster a virtual_router_id no other router on \(i.interface) uses (1-255), or make virtual_ipaddress, advert_int and version match \(source)'s"))
            }
        }
    }
}
