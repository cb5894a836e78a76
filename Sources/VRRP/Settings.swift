import VigilSupport

/// A `virtual_ipaddress` entry: the address and how it is put on the interface.
public struct VRRPVirtualAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    public var address: IPAddress
    /// Prefix length (default 32 for IPv4, 128 for IPv6, as keepalived).
    public var prefixLength: UInt8
    /// `dev`: interface to add it to; `nil` means the instance's interface.
    public var device: String?
    /// `label`: IPv4 address label (e.g. `eth0:vip`).
    public var label: String?
    /// `brd`: IPv4 broadcast address.
    public var broadcast: IPAddress?
    /// `scope`: rtnetlink scope number (0 global, 253 link, 254 host).
    public var scope: UInt8

    public init(address: IPAddress, prefixLength: UInt8? = nil, device: String? = nil, label: String? = nil,
                broadcast: IPAddress? = nil, scope: UInt8 = 0) {
        self.address = address
        self.prefixLength = prefixLength ?? (address.family == .inet ? 32 : 128)
        self.device = device
        self.label = label
        self.broadcast = broadcast
        self.scope = scope
    }

    public var description: String { "\(address)/\(prefixLength)" + (device.map { " dev \($0)" } ?? "") }
}

/// A `virtual_routes` entry.
public struct VRRPVirtualRoute: Sendable, Hashable, Codable {
    public var destination: IPAddress
    public var prefixLength: UInt8
    public var gateway: IPAddress?
    public var device: String?
    public var source: IPAddress?

    public init(destination: IPAddress, prefixLength: UInt8, gateway: IPAddress? = nil, device: String? = nil, source: IPAddress? = nil) {
        self.destination = destination
        self.prefixLength = prefixLength
        self.gateway = gateway
        self.device = device
        self.source = source
    }
}

/// A script tracked by an instance with its weight (`track_script`).
public struct VRRPTrackedScript: Sendable, Hashable, Codable {
    public var name: String
    /// 0: failure puts the instance in FAULT. Positive: added while the script succeeds.
    /// Negative: added while it fails.
    public var weight: Int
    /// `reverse`: the weight applies inverted (keepalived 2.x `weight N reverse`).
    public var reverse: Bool

    public init(name: String, weight: Int, reverse: Bool = false) {
        self.name = name
        self.weight = weight
        self.reverse = reverse
    }
}

/// A tracked interface (`track_interface`).
public struct VRRPTrackedInterface: Sendable, Hashable, Codable {
    public var name: String
    /// 0: down puts the instance in FAULT; otherwise added to the priority while down if negative,
    /// while up if positive (keepalived semantics).
    public var weight: Int
    public var reverse: Bool

    public init(name: String, weight: Int = 0, reverse: Bool = false) {
        self.name = name
        self.weight = weight
        self.reverse = reverse
    }
}

/// A tracked file (`track_file`): keepalived's weight semantics on the number the file holds.
public struct VRRPTrackedFile: Sendable, Hashable, Codable {
    /// The `track_file` block's name.
    public var name: String
    public var path: String
    /// The multiplier of the file's value; 0: a non-zero value puts the instance in FAULT.
    public var weight: Int
    /// `reverse`: the product is negated (with weight 0: a zero value is the fault).
    public var reverse: Bool

    public init(name: String, path: String, weight: Int = 1, reverse: Bool = false) {
        self.name = name
        self.path = path
        self.weight = weight
        self.reverse = reverse
    }

    /// The priority change and fault for the file's `value` (keepalived's vrrp_track.c): the
    /// value is clamped to ±254, multiplied by the weight (negated with reverse) and clamped to
    /// -254...253; -254 is FAULT.
    public func effect(of value: Int64) -> (adjustment: Int, fault: Bool) {
        let v = min(254, max(-254, value))
        if weight == 0 { return (0, (v != 0) != reverse) }
        let product = min(253, max(-254, v * Int64(weight) * (reverse ? -1 : 1)))
        return product == -254 ? (0, true) : (Int(product), false)
    }
}

/// A `track_file` block's start-up action (`init_file [VALUE] [overwrite]`).
public struct VRRPFileInitialisation: Sendable, Hashable, Codable {
    public var path: String
    public var value: Int64
    public var overwrite: Bool

    public init(path: String, value: Int64 = 0, overwrite: Bool = false) {
        self.path = path
        self.value = value
        self.overwrite = overwrite
    }
}

/// Notification scripts of an instance or a sync group.
public struct VRRPNotifyScripts: Sendable, Hashable, Codable {
    public var master: String?
    public var backup: String?
    public var fault: String?
    public var stop: String?
    /// Generic `notify`: called with `INSTANCE|GROUP name state priority`.
    public var generic: String?

    public init(master: String? = nil, backup: String? = nil, fault: String? = nil, stop: String? = nil, generic: String? = nil) {
        self.master = master
        self.backup = backup
        self.fault = fault
        self.stop = stop
        self.generic = generic
    }

    public var isEmpty: Bool { master == nil && backup == nil && fault == nil && stop == nil && generic == nil }
}

/// Garp timing (`garp_master_delay`, `garp_master_repeat`, `garp_master_refresh`).
public struct VRRPGratuitousSettings: Sendable, Hashable, Codable {
    /// Delay before the second burst after becoming master (keepalived default 5 s; 0 = none).
    public var masterDelay: Duration
    /// Announcements per burst (default 5).
    public var masterRepeat: Int
    /// Periodic refresh while master (`nil` = none).
    public var masterRefresh: Duration?
    /// Announcements per refresh (default 1).
    public var refreshRepeat: Int
    /// `garp_lower_prio_repeat`: announcements a master sends when it receives a lower-priority
    /// advertisement (another router that thinks it is master), at once and again after
    /// ``lowerPriorityDelay`` (keepalived's defaults: the master burst's count and delay).
    public var lowerPriorityRepeat: Int
    /// `garp_lower_prio_delay`: delay of the second set (0 = none).
    public var lowerPriorityDelay: Duration

    public init(masterDelay: Duration = .seconds(5), masterRepeat: Int = 5, masterRefresh: Duration? = nil, refreshRepeat: Int = 1,
                lowerPriorityRepeat: Int = 5, lowerPriorityDelay: Duration = .seconds(5)) {
        self.masterDelay = masterDelay
        self.masterRepeat = masterRepeat
        self.masterRefresh = masterRefresh
        self.refreshRepeat = refreshRepeat
        self.lowerPriorityRepeat = lowerPriorityRepeat
        self.lowerPriorityDelay = lowerPriorityDelay
    }
}

/// Everything one VRRP instance needs, independent of keepalived.conf's spelling.
public struct VRRPInstanceSettings: Sendable, Hashable, Codable {
    public var name: String
    public var version: VRRPVersion
    public var virtualRouterID: UInt8
    /// Configured priority 1...255 (255 = address owner).
    public var priority: UInt8
    /// `advert_int` in centiseconds (v2: a multiple of 100).
    public var advertIntervalCentiseconds: UInt16
    public var interface: String
    /// `state MASTER` in the configuration (keepalived treats it as a hint only).
    public var initialMaster: Bool
    /// `preempt` (default true); `nopreempt` sets false.
    public var preempt: Bool
    /// `preempt_delay`.
    public var preemptDelay: Duration
    public var authentication: VRRPAuthentication
    public var virtualAddresses: [VRRPVirtualAddress]
    /// `virtual_ipaddress_excluded`: added and removed like VIPs, not advertised.
    public var excludedAddresses: [VRRPVirtualAddress]
    public var virtualRoutes: [VRRPVirtualRoute]
    /// `mcast_src_ip` / `unicast_src_ip`; `nil` = the interface's primary address.
    public var sourceAddress: IPAddress?
    /// `unicast_peer`; empty = multicast.
    public var unicastPeers: [IPAddress]
    public var trackScripts: [VRRPTrackedScript]
    public var trackInterfaces: [VRRPTrackedInterface]
    public var trackFiles: [VRRPTrackedFile]
    public var notify: VRRPNotifyScripts
    public var gratuitous: VRRPGratuitousSettings
    /// `dont_track_primary`: ignore the instance interface's own link state.
    public var dontTrackPrimary: Bool
    /// `lower_prio_no_advert`: a master hearing a lower priority does not answer with an advert
    /// (keepalived's default answers; RFC 5798 section 6.4.3 discards).
    public var lowerPriorityNoAdvert = false
    /// `higher_prio_send_advert`: a master yielding to a higher priority sends one advert first.
    public var higherPrioritySendAdvert = false

    public init(
        name: String, version: VRRPVersion = .v2, virtualRouterID: UInt8, priority: UInt8 = 100,
        advertIntervalCentiseconds: UInt16 = 100, interface: String, initialMaster: Bool = false,
        preempt: Bool = true, preemptDelay: Duration = .zero, authentication: VRRPAuthentication = .none,
        virtualAddresses: [VRRPVirtualAddress] = [], excludedAddresses: [VRRPVirtualAddress] = [],
        virtualRoutes: [VRRPVirtualRoute] = [], sourceAddress: IPAddress? = nil, unicastPeers: [IPAddress] = [],
        trackScripts: [VRRPTrackedScript] = [], trackInterfaces: [VRRPTrackedInterface] = [],
        trackFiles: [VRRPTrackedFile] = [], notify: VRRPNotifyScripts = .init(), gratuitous: VRRPGratuitousSettings = .init(), dontTrackPrimary: Bool = false
    ) {
        self.name = name
        self.version = version
        self.virtualRouterID = virtualRouterID
        self.priority = priority
        self.advertIntervalCentiseconds = advertIntervalCentiseconds
        self.interface = interface
        self.initialMaster = initialMaster
        self.preempt = preempt
        self.preemptDelay = preemptDelay
        self.authentication = authentication
        self.virtualAddresses = virtualAddresses
        self.excludedAddresses = excludedAddresses
        self.virtualRoutes = virtualRoutes
        self.sourceAddress = sourceAddress
        self.unicastPeers = unicastPeers
        self.trackScripts = trackScripts
        self.trackInterfaces = trackInterfaces
        self.trackFiles = trackFiles
        self.notify = notify
        self.gratuitous = gratuitous
        self.dontTrackPrimary = dontTrackPrimary
    }

    /// The address family of the instance (from its first VIP; IPv4 when none).
    public var family: AddressFamily { virtualAddresses.first?.address.family ?? .inet }

    /// The receive checks for this instance.
    public var receiveFilter: VRRPReceiveFilter {
        VRRPReceiveFilter(version: version, virtualRouterID: virtualRouterID,
                          authentication: version == .v2 ? authentication : .none,
                          intervalCentiseconds: advertIntervalCentiseconds,
                          addresses: virtualAddresses.map(\.address))
    }
}

/// A `vrrp_script` block.
public struct VRRPScriptSettings: Sendable, Hashable, Codable {
    public var name: String
    /// The command line (split on white space, quotes honoured, as keepalived does).
    public var command: String
    public var interval: Duration
    public var timeout: Duration?
    /// Successes needed to become OK (`rise`, default 1).
    public var rise: Int
    /// Failures needed to become failed (`fall`, default 1).
    public var fall: Int
    /// Default weight for instances that track it without their own.
    public var weight: Int
    public var reverse: Bool
    /// `user USER [GROUP]`.
    public var user: String?
    public var group: String?
    /// `init_fail`: the script starts in the failed state.
    public var initiallyFailed: Bool

    public init(name: String, command: String, interval: Duration = .seconds(1), timeout: Duration? = nil,
                rise: Int = 1, fall: Int = 1, weight: Int = 0, reverse: Bool = false, user: String? = nil, group: String? = nil,
                initiallyFailed: Bool = false) {
        self.name = name
        self.command = command
        self.interval = interval
        self.timeout = timeout
        self.rise = rise
        self.fall = fall
        self.weight = weight
        self.reverse = reverse
        self.user = user
        self.group = group
        self.initiallyFailed = initiallyFailed
    }
}

/// A `vrrp_sync_group`.
public struct VRRPSyncGroupSettings: Sendable, Hashable, Codable {
    public var name: String
    public var members: [String]
    public var notify: VRRPNotifyScripts

    public init(name: String, members: [String], notify: VRRPNotifyScripts = .init()) {
        self.name = name
        self.members = members
        self.notify = notify
    }
}

/// The whole VRRP half of a configuration.
public struct VRRPSettings: Sendable, Hashable, Codable {
    public var instances: [VRRPInstanceSettings]
    public var scripts: [VRRPScriptSettings]
    public var syncGroups: [VRRPSyncGroupSettings]
    /// `init_file` of the tracked files, done at start.
    public var fileInitialisations: [VRRPFileInitialisation]
    /// `enable_script_security`.
    public var scriptSecurity: Bool
    /// `script_user` (global default user for scripts).
    public var scriptUser: String?
    public var scriptGroup: String?

    public init(instances: [VRRPInstanceSettings] = [], scripts: [VRRPScriptSettings] = [],
                syncGroups: [VRRPSyncGroupSettings] = [], fileInitialisations: [VRRPFileInitialisation] = [],
                scriptSecurity: Bool = false, scriptUser: String? = nil, scriptGroup: String? = nil) {
        self.instances = instances
        self.scripts = scripts
        self.syncGroups = syncGroups
        self.fileInitialisations = fileInitialisations
        self.scriptSecurity = scriptSecurity
        self.scriptUser = scriptUser
        self.scriptGroup = scriptGroup
    }
}
