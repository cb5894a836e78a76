import IPVS
import VigilSupport

/// Renders `ipvsctl watch`: the table with per-second rates computed from two snapshots.
public struct WatchRenderer: Sendable {
    public var printer: IPVSAdmPrinter

    public init(names: any NameResolving) {
        printer = IPVSAdmPrinter(names: names)
    }

    /// One frame. Rates are the counter increase since `previous` divided by `interval`
    /// seconds; on the first frame (no previous snapshot) the kernel's own rate estimates are shown.
    public func frame(previous: [ServiceEntry]?, current: [ServiceEntry], interval: Double, title: String) -> String {
        var out = title + "\n"
        out += "Prot LocalAddress:Port".leftPadded(to: 33) + " "
            + ["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS", "ActConn", "InActConn"].map { $0.rightPadded(to: 9) }
            .joined(separator: " ") + "\n"
        out += "  -> RemoteAddress:Port           Forward Weight\n"
        var before: [ServiceKey: ServiceEntry] = [:]
        for e in previous ?? [] { before[e.service.key] = e }
        for entry in IPVSAdmOrder.sorted(current) {
            let old = before[entry.service.key]
            let rates = self.rates(old?.service.statistics, entry.service.statistics, interval: interval)
            let active = entry.destinations.reduce(UInt64(0)) { $0 + UInt64($1.activeConnections ?? 0) }
            let inactive = entry.destinations.reduce(UInt64(0)) { $0 + UInt64($1.inactiveConnections ?? 0) }
            out += printer.listServiceName(entry.service.key).leftPadded(to: 33) + " "
                + (rates + [active, inactive]).map { String($0).rightPadded(to: 9) }.joined(separator: " ") + "\n"
            var oldDests: [DestinationKey: Destination] = [:]
            for d in old?.destinations ?? [] { oldDests[d.key] = d }
            for d in IPVSAdmOrder.sorted(entry.destinations) {
                let r = self.rates(oldDests[d.key]?.statistics, d.statistics, interval: interval)
                var name = printer.addressPort(d.address, d.port, nil)
                if d.address.family != .inet6 { name = name.truncated(to: 28) }
                out += "  -> " + name.leftPadded(to: 28) + " "
                    + (r + [UInt64(d.activeConnections ?? 0), UInt64(d.inactiveConnections ?? 0)])
                    .map { String($0).rightPadded(to: 9) }.joined(separator: " ")
                    + " " + printer.forwardingName(d.forwarding).leftPadded(to: 7) + " " + String(d.weight) + "\n"
            }
        }
        return out
    }

    /// [cps, inPPS, outPPS, inBPS, outBPS] from counter deltas, or the kernel's estimates.
    func rates(_ old: Statistics?, _ new: Statistics?, interval: Double) -> [UInt64] {
        let n = new ?? Statistics()
        guard let o = old, interval > 0 else { return [n.cps, n.inPPS, n.outPPS, n.inBPS, n.outBPS] }
        func rate(_ a: UInt64, _ b: UInt64) -> UInt64 {
            b >= a ? UInt64((Double(b - a) / interval).rounded()) : 0
        }
        return [rate(o.connections, n.connections), rate(o.inPackets, n.inPackets), rate(o.outPackets, n.outPackets),
                rate(o.inBytes, n.inBytes), rate(o.outBytes, n.outBytes)]
    }
}
