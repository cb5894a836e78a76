import KeepalivedConfig
import VigilSupport

/// A configuration the VRRP half cannot run, with where it is (instance or script name).
public struct VRRPConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var context: String
    public var message: String

    public init(_ context: String, _ message: String) {
        self.context = context
        self.message = message
    }

    public var description: String { "\(context): \(message)" }
}

extension VRRPSettings {
    /// Maps keepalived.conf's resolved model onto the VRRP layer's own settings.
    ///
    /// Throws on what the model allows but this layer cannot run (e.g. a v2 IPv6 instance);
    /// `warnings` receives what is accepted but ignored.
    public init(configuration c: KeepalivedConfiguration, warnings: inout [String]) throws(VRRPConfigurationError) {
        var instances: [VRRPInstanceSettings] = []
        for i in c.vrrpInstances {
            instances.append(try VRRPInstanceSettings(i, configuration: c, warnings: &warnings))
        }
        let tracked = Set(instances.flatMap { $0.trackFiles.map(\.name) })
        let initialisations = c.trackFiles.compactMap { f -> VRRPFileInitialisation? in
            guard tracked.contains(f.name), let v = f.initialValue else { return nil }
            return VRRPFileInitialisation(path: f.file, value: Int64(v), overwrite: f.overwrite)
        }
        let scripts = c.vrrpScripts.map { s in
            VRRPScriptSettings(name: s.name, command: s.script, interval: duration(s.interval),
                               timeout: s.timeout > 0 ? duration(s.timeout) : nil, rise: s.rise, fall: s.fall,
                               weight: s.weight, reverse: s.weightReverse, user: s.user, group: s.group,
                               initiallyFailed: s.initFail)
        }
        let groups = c.vrrpSyncGroups.map { g in
            VRRPSyncGroupSettings(name: g.name, members: g.group, notify: VRRPNotifyScripts(g.notify))
        }
        self.init(instances: instances, scripts: scripts, syncGroups: groups, fileInitialisations: initialisations,
                  scriptSecurity: c.global.enableScriptSecurity, scriptUser: c.global.scriptUser,
                  scriptGroup: c.global.scriptGroup)
    }
}

extension VRRPNotifyScripts {
    init(_ n: VRRPNotify) {
        self.init(master: n.master, backup: n.backup, fault: n.fault, stop: n.stop, generic: n.generic)
    }
}

/// Seconds (possibly fractional) as a duration, rounded to the microsecond.
func duration(_ s: Seconds) -> Duration { .microseconds(Int64((s * 1_000_000).rounded())) }

extension VRRPInstanceSettings {
    /// One `vrrp_instance`, with scripts' default weights resolved from their `vrrp_script` blocks.
    public init(_ i: VRRPInstance, configuration c: KeepalivedConfiguration, warnings: inout [String]) throws(VRRPConfigurationError) {
        guard let version = VRRPVersion(rawValue: UInt8(clamping: i.version)) else {
            throw VRRPConfigurationError(i.name, "version \(i.version) is not 2 or 3")
        }
        guard (1...255).contains(i.virtualRouterID) else {
            throw VRRPConfigurationError(i.name, "virtual_router_id \(i.virtualRouterID) is outside 1-255")
        }
        guard (1...255).contains(i.priority) else {
            throw VRRPConfigurationError(i.name, "priority \(i.priority) is outside 1-255")
        }
        if version == .v2 && i.family == .inet6 {
            throw VRRPConfigurationError(i.name, "VRRPv2 is IPv4 only (RFC 3768); use version 3 for IPv6")
        }
        let centis = UInt16(clamping: Int((i.advertInterval * 100).rounded()))
        let interval = version == .v2 ? max(100, centis / 100 * 100) : min(max(1, centis), VRRPConstants.maxV3IntervalCentiseconds)
        var auth = VRRPAuthentication.none
        if let a = i.authentication {
            if version == .v3 {
                warnings.append("\(i.name): authentication is not part of VRRPv3 (RFC 5798 section 9); ignored")
            } else {
                switch a.type {
                case .pass: auth = .password(a.password)
                case .ah: auth = .authenticationHeader(a.password)
                }
            }
        }
        func vip(_ v: VirtualIPAddress) -> VRRPVirtualAddress {
            VRRPVirtualAddress(address: v.address, prefixLength: UInt8(clamping: v.prefixLength), device: v.device,
                               label: v.label, broadcast: v.broadcast, scope: scopeNumber(v.scope))
        }
        var routes: [VRRPVirtualRoute] = []
        for r in i.virtualRoutes {
            guard let d = r.destination else {
                warnings.append("\(i.name): default virtual_routes are not supported yet; ignored")
                continue
            }
            routes.append(VRRPVirtualRoute(destination: d, prefixLength: UInt8(clamping: r.prefixLength),
                                           gateway: r.gateway, device: r.device, source: r.source))
        }
        let ownScripts = i.trackScripts.map { t in
            let def = c.vrrpScript(named: t.name)
            return VRRPTrackedScript(name: t.name, weight: t.weight ?? def?.weight ?? 0,
                                     reverse: t.weight != nil ? t.reverse : (def?.weightReverse ?? false))
        }
        // A sync group's trackers apply to every member; inside a group, weights apply only with
        // sync_group_tracking_weight (keepalived: otherwise weight 0, a failure faults the group).
        let group = i.syncGroup.flatMap { name in c.vrrpSyncGroups.first { $0.name == name } }
        let groupWeights = group?.globalTracking ?? true
        var scripts = ownScripts
        var trackedInterfaces = i.trackInterfaces.map { VRRPTrackedInterface(name: $0.name, weight: $0.weight ?? 0, reverse: $0.reverse) }
        var files: [VRRPTrackedFile] = []
        func file(_ t: TrackedFile) -> VRRPTrackedFile? {
            guard let def = c.trackFiles.first(where: { $0.name == t.name }) else { return nil }
            return VRRPTrackedFile(name: t.name, path: def.file, weight: t.weight ?? def.weight,
                                   reverse: t.weight != nil ? t.reverse : def.reverse)
        }
        files = i.trackFiles.compactMap(file)
        if let g = group {
            for t in g.trackScripts where !scripts.contains(where: { $0.name == t.name }) {
                let def = c.vrrpScript(named: t.name)
                scripts.append(VRRPTrackedScript(name: t.name, weight: t.weight ?? def?.weight ?? 0,
                                                 reverse: t.weight != nil ? t.reverse : (def?.weightReverse ?? false)))
            }
            for t in g.trackInterfaces where !trackedInterfaces.contains(where: { $0.name == t.name }) {
                trackedInterfaces.append(VRRPTrackedInterface(name: t.name, weight: t.weight ?? 0, reverse: t.reverse))
            }
            for t in g.trackFiles where !files.contains(where: { $0.name == t.name }) {
                if let f = file(t) { files.append(f) }
            }
        }
        if !groupWeights {
            if files.contains(where: { $0.weight != 0 }) || trackedInterfaces.contains(where: { $0.weight != 0 })
                || scripts.contains(where: { $0.weight != 0 }) {
                warnings.append("\(i.name): tracking weights are ignored in sync group \(group!.name) without sync_group_tracking_weight; a tracked failure faults the group")
            }
            for k in files.indices { files[k].weight = 0 }
            for k in trackedInterfaces.indices { trackedInterfaces[k].weight = 0 }
            for k in scripts.indices { scripts[k].weight = 0 }
        }
        if i.useVMAC != nil { warnings.append("\(i.name): use_vmac is not supported yet; ignored") }
        self.init(
            name: i.name, version: version, virtualRouterID: UInt8(i.virtualRouterID), priority: UInt8(i.priority),
            advertIntervalCentiseconds: interval, interface: i.interface, initialMaster: i.initialState == .master,
            preempt: i.preempt, preemptDelay: duration(i.preemptDelay), authentication: auth,
            virtualAddresses: i.virtualIPAddresses.map(vip), excludedAddresses: i.virtualIPAddressesExcluded.map(vip),
            virtualRoutes: routes, sourceAddress: i.unicastPeers.isEmpty ? (i.multicastSourceIP ?? i.unicastSourceIP) : (i.unicastSourceIP ?? i.multicastSourceIP),
            unicastPeers: i.unicastPeers, trackScripts: scripts,
            trackInterfaces: trackedInterfaces, trackFiles: files, notify: VRRPNotifyScripts(i.notify),
            gratuitous: VRRPGratuitousSettings(
                masterDelay: duration(i.garp.masterDelay), masterRepeat: i.garp.masterRepeat,
                masterRefresh: i.garp.masterRefresh > 0 ? duration(i.garp.masterRefresh) : nil,
                refreshRepeat: i.garp.masterRefreshRepeat,
                lowerPriorityRepeat: i.garp.lowerPriorityRepeat, lowerPriorityDelay: duration(i.garp.lowerPriorityDelay)),
            dontTrackPrimary: i.dontTrackPrimary)
        lowerPriorityNoAdvert = i.lowerPriorityNoAdvert
        higherPrioritySendAdvert = i.higherPrioritySendAdvert
    }
}

/// rtnetlink scope numbers for `scope` words (iproute2's names).
func scopeNumber(_ word: String?) -> UInt8 {
    switch word {
    case "host": 254
    case "link": 253
    case "site": 200
    case "nowhere": 255
    case let w? where UInt8(w) != nil: UInt8(w)!
    default: 0
    }
}
