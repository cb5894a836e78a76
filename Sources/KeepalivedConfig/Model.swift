import VigilSupport

/// A duration in seconds. keepalived accepts fractional values for most timers (e.g. `advert_int 0.5`).
public typealias Seconds = Double

/// A whole keepalived.conf, resolved: every default filled in and every inherited setting copied down.
///
/// Consumers read effective values directly: a real server's checker timers, a virtual server's
/// protocol and scheduler, a VRRP instance's version and advert interval. Order follows the file.
public struct KeepalivedConfiguration: Sendable, Codable, Hashable {
    /// `global_defs`.
    public var global: GlobalDefinitions
    /// `vrrp_script` blocks.
    public var vrrpScripts: [VRRPScript]
    /// `vrrp_sync_group` blocks.
    public var vrrpSyncGroups: [VRRPSyncGroup]
    /// `vrrp_instance` blocks.
    public var vrrpInstances: [VRRPInstance]
    /// `virtual_server_group` blocks.
    public var virtualServerGroups: [VirtualServerGroup]
    /// `virtual_server` blocks.
    public var virtualServers: [VirtualServer]
    /// `track_file` / `vrrp_track_file` blocks.
    public var trackFiles: [TrackFile]

    public init(
        global: GlobalDefinitions = GlobalDefinitions(),
        vrrpScripts: [VRRPScript] = [],
        vrrpSyncGroups: [VRRPSyncGroup] = [],
        vrrpInstances: [VRRPInstance] = [],
        virtualServerGroups: [VirtualServerGroup] = [],
        virtualServers: [VirtualServer] = [],
        trackFiles: [TrackFile] = []
    ) {
        self.global = global
        self.vrrpScripts = vrrpScripts
        self.vrrpSyncGroups = vrrpSyncGroups
        self.vrrpInstances = vrrpInstances
        self.virtualServerGroups = virtualServerGroups
        self.virtualServers = virtualServers
        self.trackFiles = trackFiles
    }

    /// The `vrrp_script` with this name, if defined.
    public func vrrpScript(named name: String) -> VRRPScript? { vrrpScripts.first { $0.name == name } }
    /// The `vrrp_instance` with this name, if defined.
    public func vrrpInstance(named name: String) -> VRRPInstance? { vrrpInstances.first { $0.name == name } }
    /// The `virtual_server_group` with this name, if defined.
    public func virtualServerGroup(named name: String) -> VirtualServerGroup? {
        virtualServerGroups.first { $0.name == name }
    }
}

// MARK: - global_defs

/// `global_defs`: identity, notification e-mail, script security, VRRP defaults and LVS settings.
public struct GlobalDefinitions: Sendable, Codable, Hashable {
    /// `router_id`; resolved to the host name when absent (as keepalived does).
    public var routerID: String
    /// `notification_email { ... }` recipients.
    public var notificationEmail: [String]
    /// `notification_email_from`; nil when absent (keepalived then builds `keepalived@<host>`).
    public var notificationEmailFrom: String?
    /// `smtp_server IP [PORT]`; port defaults to 25.
    public var smtpServer: SocketAddress?
    /// `smtp_helo_name`; nil when absent.
    public var smtpHeloName: String?
    /// `smtp_connect_timeout` (seconds, default 30).
    public var smtpConnectTimeout: Seconds
    /// `script_user USER [GROUP]`: user scripts run as; nil means keepalived's default (`keepalived_script` or root).
    public var scriptUser: String?
    /// The group given with `script_user`, if any.
    public var scriptGroup: String?
    /// `enable_script_security`.
    public var enableScriptSecurity: Bool
    /// `vrrp_version` (2 or 3, default 2): the default for instances that do not set `version`.
    public var vrrpVersion: Int
    /// `vrrp_strict`.
    public var vrrpStrict: Bool
    /// `vrrp_lower_prio_no_advert` / `vrrp_higher_prio_send_advert`: the instances' defaults.
    public var vrrpLowerPriorityNoAdvert = false
    public var vrrpHigherPrioritySendAdvert = false
    /// `vrrp_garp_*` / `vrrp_gna_*` defaults inherited by every instance.
    public var garp: GratuitousARPSettings
    /// `vrrp_mcast_group4` (default 224.0.0.18, RFC 5798 §5.1.1.2).
    public var vrrpMulticastGroup4: IPAddress
    /// `vrrp_mcast_group6` (default ff02::12, RFC 5798 §5.1.2.2).
    public var vrrpMulticastGroup6: IPAddress
    /// `lvs_timeouts tcp N tcpfin N udp N`.
    public var lvsTimeouts: LVSTimeouts?
    /// `lvs_flush`: flush the whole IPVS table at start-up.
    public var lvsFlush: Bool
    /// `lvs_sync_daemon INTERFACE VRRP_INSTANCE [id N] [maxlen N] [port N] [ttl N] [group IP]`.
    public var lvsSyncDaemon: LVSSyncDaemon?
    /// `max_auto_priority [N]` (accepted; recorded, -1 when given without a value).
    public var maxAutoPriority: Int?
    /// `notify_fifo` (and `notify_fifo_script`): VRRP and checker state lines.
    public var notifyFIFO: NotifyFIFO?
    /// `vrrp_notify_fifo` (and `vrrp_notify_fifo_script`): VRRP state lines only.
    public var vrrpNotifyFIFO: NotifyFIFO?
    /// `lvs_notify_fifo` (and `lvs_notify_fifo_script`): checker state lines only.
    public var lvsNotifyFIFO: NotifyFIFO?
    /// `fifo_write_vrrp_states_on_reload`: every VRRP state written again after a reload.
    public var fifoWriteVRRPStatesOnReload = false
    /// Other recognised `global_defs` keywords that Vigil accepts without acting on, keyword → rest of line.
    public var otherSettings: [String: String]

    public init(
        routerID: String = "",
        notificationEmail: [String] = [],
        notificationEmailFrom: String? = nil,
        smtpServer: SocketAddress? = nil,
        smtpHeloName: String? = nil,
        smtpConnectTimeout: Seconds = 30,
        scriptUser: String? = nil,
        scriptGroup: String? = nil,
        enableScriptSecurity: Bool = false,
        vrrpVersion: Int = 2,
        vrrpStrict: Bool = false,
        garp: GratuitousARPSettings = GratuitousARPSettings(),
        vrrpMulticastGroup4: IPAddress = IPAddress("224.0.0.18")!,
        vrrpMulticastGroup6: IPAddress = IPAddress("ff02::12")!,
        lvsTimeouts: LVSTimeouts? = nil,
        lvsFlush: Bool = false,
        lvsSyncDaemon: LVSSyncDaemon? = nil,
        maxAutoPriority: Int? = nil,
        otherSettings: [String: String] = [:]
    ) {
        self.routerID = routerID
        self.notificationEmail = notificationEmail
        self.notificationEmailFrom = notificationEmailFrom
        self.smtpServer = smtpServer
        self.smtpHeloName = smtpHeloName
        self.smtpConnectTimeout = smtpConnectTimeout
        self.scriptUser = scriptUser
        self.scriptGroup = scriptGroup
        self.enableScriptSecurity = enableScriptSecurity
        self.vrrpVersion = vrrpVersion
        self.vrrpStrict = vrrpStrict
        self.garp = garp
        self.vrrpMulticastGroup4 = vrrpMulticastGroup4
        self.vrrpMulticastGroup6 = vrrpMulticastGroup6
        self.lvsTimeouts = lvsTimeouts
        self.lvsFlush = lvsFlush
        self.lvsSyncDaemon = lvsSyncDaemon
        self.maxAutoPriority = maxAutoPriority
        self.otherSettings = otherSettings
    }
}

/// A notify FIFO of `global_defs`: `notify_fifo PATH [USER [GROUP]]` and its reader script.
public struct NotifyFIFO: Sendable, Codable, Hashable {
    /// The FIFO's path; created (mode 0600) when it does not exist.
    public var path: String
    /// Owner given for a FIFO Vigil creates; nil means `script_user` (else root).
    public var user: String?
    public var group: String?
    /// `*_notify_fifo_script COMMAND [USER [GROUP]]`: started with the FIFO's path as last argument.
    public var script: NotifyFIFOScript?

    public init(path: String, user: String? = nil, group: String? = nil, script: NotifyFIFOScript? = nil) {
        self.path = path
        self.user = user
        self.group = group
        self.script = script
    }
}

/// The reader a notify FIFO's `*_notify_fifo_script` starts.
public struct NotifyFIFOScript: Sendable, Codable, Hashable {
    /// The command line (a quoted string may carry arguments).
    public var command: String
    /// User (and group) it runs as; nil means `script_user`.
    public var user: String?
    public var group: String?

    public init(command: String, user: String? = nil, group: String? = nil) {
        self.command = command
        self.user = user
        self.group = group
    }
}

/// Gratuitous ARP / unsolicited neighbour advertisement timing, globally (`vrrp_garp_*`) or per instance (`garp_*`).
public struct GratuitousARPSettings: Sendable, Codable, Hashable {
    /// `garp_master_delay`: delay before the second burst after becoming master (seconds, default 5).
    public var masterDelay: Seconds
    /// `garp_master_repeat`: messages per burst (default 5).
    public var masterRepeat: Int
    /// `garp_master_refresh`: periodic refresh while master (seconds, 0 = off, the default).
    public var masterRefresh: Seconds
    /// `garp_master_refresh_repeat`: messages per refresh (default 1).
    public var masterRefreshRepeat: Int
    /// `garp_lower_prio_delay`: delay after seeing a lower-priority advert (default: `masterDelay`).
    public var lowerPriorityDelay: Seconds
    /// `garp_lower_prio_repeat`: messages sent then (default: `masterRepeat`).
    public var lowerPriorityRepeat: Int
    /// `garp_interval`: gap between gratuitous ARPs (seconds, default 0).
    public var interval: Seconds
    /// `gna_interval`: gap between unsolicited neighbour advertisements (seconds, default 0).
    public var neighbourAdvertisementInterval: Seconds

    public init(
        masterDelay: Seconds = 5, masterRepeat: Int = 5, masterRefresh: Seconds = 0, masterRefreshRepeat: Int = 1,
        lowerPriorityDelay: Seconds = 5, lowerPriorityRepeat: Int = 5, interval: Seconds = 0,
        neighbourAdvertisementInterval: Seconds = 0
    ) {
        self.masterDelay = masterDelay
        self.masterRepeat = masterRepeat
        self.masterRefresh = masterRefresh
        self.masterRefreshRepeat = masterRefreshRepeat
        self.lowerPriorityDelay = lowerPriorityDelay
        self.lowerPriorityRepeat = lowerPriorityRepeat
        self.interval = interval
        self.neighbourAdvertisementInterval = neighbourAdvertisementInterval
    }
}

/// `lvs_timeouts`: IPVS connection timeouts (seconds); nil leaves the kernel's value.
public struct LVSTimeouts: Sendable, Codable, Hashable {
    public var tcp: Seconds?
    public var tcpFin: Seconds?
    public var udp: Seconds?

    public init(tcp: Seconds? = nil, tcpFin: Seconds? = nil, udp: Seconds? = nil) {
        self.tcp = tcp
        self.tcpFin = tcpFin
        self.udp = udp
    }
}

/// `lvs_sync_daemon`: the IPVS connection-sync daemon, tied to a VRRP instance's state.
public struct LVSSyncDaemon: Sendable, Codable, Hashable {
    public var interface: String
    /// The VRRP instance whose state decides master/backup sync.
    public var vrrpInstance: String
    /// `id` (sync id, 0–255, default 0).
    public var syncID: Int
    /// `maxlen` (bytes), nil for the kernel default.
    public var maxLength: Int?
    /// `port`, nil for the kernel default (8848).
    public var port: UInt16?
    /// `ttl`, nil for the kernel default.
    public var ttl: Int?
    /// `group` multicast address, nil for the kernel default.
    public var group: IPAddress?

    public init(interface: String, vrrpInstance: String, syncID: Int = 0, maxLength: Int? = nil,
                port: UInt16? = nil, ttl: Int? = nil, group: IPAddress? = nil) {
        self.interface = interface
        self.vrrpInstance = vrrpInstance
        self.syncID = syncID
        self.maxLength = maxLength
        self.port = port
        self.ttl = ttl
        self.group = group
    }
}

// MARK: - VRRP

/// `vrrp_script NAME { ... }`: a command run periodically whose exit status adjusts priority or faults instances.
public struct VRRPScript: Sendable, Codable, Hashable {
    public var name: String
    /// `script`: the command line (quotes removed), run through keepalived's word splitting.
    public var script: String
    /// `interval` (seconds, default 1).
    public var interval: Seconds
    /// `timeout` (seconds); resolved to `interval` when absent, as keepalived does.
    public var timeout: Seconds
    /// `weight` (-253…253, default 0): priority change. 0 means the script faults the instance when failing.
    public var weight: Int
    /// `weight N reverse`: apply the weight when the script fails rather than when it succeeds.
    public var weightReverse: Bool
    /// `rise` (default 1): consecutive successes to become OK.
    public var rise: Int
    /// `fall` (default 1): consecutive failures to become KO.
    public var fall: Int
    /// `user USER [GROUP]`; nil means `global.scriptUser`.
    public var user: String?
    public var group: String?
    /// `init_fail`: start in the failed state.
    public var initFail: Bool

    public init(name: String, script: String = "", interval: Seconds = 1, timeout: Seconds = 1, weight: Int = 0,
                weightReverse: Bool = false, rise: Int = 1, fall: Int = 1, user: String? = nil, group: String? = nil,
                initFail: Bool = false) {
        self.name = name
        self.script = script
        self.interval = interval
        self.timeout = timeout
        self.weight = weight
        self.weightReverse = weightReverse
        self.rise = rise
        self.fall = fall
        self.user = user
        self.group = group
        self.initFail = initFail
    }
}

/// A `track_script` entry: a script name with an optional weight override.
public struct TrackedScript: Sendable, Codable, Hashable {
    public var name: String
    /// Weight given on the `track_script` line; nil means the script's own weight.
    public var weight: Int?
    /// `weight N reverse` on the tracking line.
    public var reverse: Bool

    public init(name: String, weight: Int? = nil, reverse: Bool = false) {
        self.name = name
        self.weight = weight
        self.reverse = reverse
    }
}

/// A `track_interface` entry: an interface with an optional weight (no weight: instance faults when down).
public struct TrackedInterface: Sendable, Codable, Hashable {
    public var name: String
    public var weight: Int?
    public var reverse: Bool

    public init(name: String, weight: Int? = nil, reverse: Bool = false) {
        self.name = name
        self.weight = weight
        self.reverse = reverse
    }
}

/// A `track_file` entry in an instance, sync group or FILE_CHECK.
public struct TrackedFile: Sendable, Codable, Hashable {
    public var name: String
    public var weight: Int?
    public var reverse: Bool

    public init(name: String, weight: Int? = nil, reverse: Bool = false) {
        self.name = name
        self.weight = weight
        self.reverse = reverse
    }
}

/// `track_file NAME { file PATH; weight N [reverse]; init_file [VALUE] [overwrite] }`.
public struct TrackFile: Sendable, Codable, Hashable {
    public var name: String
    public var file: String
    /// Default weight (default 1).
    public var weight: Int
    public var reverse: Bool
    /// `init_file [VALUE] [overwrite]`: the value written at start (nil: no init_file).
    public var initialValue: Int?
    /// `overwrite`: the value replaces an existing file's content too.
    public var overwrite: Bool

    public init(name: String, file: String = "", weight: Int = 1, reverse: Bool = false, initialValue: Int? = nil,
                overwrite: Bool = false) {
        self.name = name
        self.file = file
        self.weight = weight
        self.reverse = reverse
        self.initialValue = initialValue
        self.overwrite = overwrite
    }
}

/// Notification commands run on state changes (`notify_master`, `notify_backup`, `notify_fault`, `notify_stop`, `notify`).
public struct VRRPNotify: Sendable, Codable, Hashable {
    public var master: String?
    public var backup: String?
    public var fault: String?
    public var stop: String?
    /// `notify`: called with type, name, state and priority arguments.
    public var generic: String?

    public init(master: String? = nil, backup: String? = nil, fault: String? = nil, stop: String? = nil,
                generic: String? = nil) {
        self.master = master
        self.backup = backup
        self.fault = fault
        self.stop = stop
        self.generic = generic
    }
}

/// `vrrp_sync_group NAME { group { ... } ... }`: instances that change state together.
public struct VRRPSyncGroup: Sendable, Codable, Hashable {
    public var name: String
    /// Member instance names.
    public var group: [String]
    public var notify: VRRPNotify
    public var trackInterfaces: [TrackedInterface]
    public var trackScripts: [TrackedScript]
    public var trackFiles: [TrackedFile]
    /// `smtp_alert`.
    public var smtpAlert: Bool
    /// `global_tracking` (deprecated in keepalived, accepted).
    public var globalTracking: Bool

    public init(name: String, group: [String] = [], notify: VRRPNotify = VRRPNotify(),
                trackInterfaces: [TrackedInterface] = [], trackScripts: [TrackedScript] = [],
                trackFiles: [TrackedFile] = [], smtpAlert: Bool = false, globalTracking: Bool = false) {
        self.name = name
        self.group = group
        self.notify = notify
        self.trackInterfaces = trackInterfaces
        self.trackScripts = trackScripts
        self.trackFiles = trackFiles
        self.smtpAlert = smtpAlert
        self.globalTracking = globalTracking
    }
}

/// Initial VRRP state requested by `state`.
public enum VRRPInitialState: String, Sendable, Codable, Hashable {
    case master = "MASTER"
    case backup = "BACKUP"
}

/// VRRP authentication (`authentication { auth_type PASS|AH; auth_pass SECRET }`), RFC 2338 §5.3.6; removed in RFC 3768.
public struct VRRPAuthentication: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable, Hashable {
        /// Simple text password (RFC 2338 §5.3.6.1 type 1).
        case pass = "PASS"
        /// IPsec AH (RFC 2338 §5.3.6.1 type 2).
        case ah = "AH"
    }

    public var type: Kind
    /// The password, truncated to 8 bytes as keepalived does (RFC 2338 §5.3.10).
    public var password: String

    public init(type: Kind, password: String) {
        self.type = type
        self.password = password
    }
}

/// One `virtual_ipaddress` line: `ADDR[/LEN] [brd IP] [dev IF] [scope S] [label L] ...`.
public struct VirtualIPAddress: Sendable, Codable, Hashable {
    public var address: IPAddress
    /// Prefix length; defaults to 32 (IPv4) or 128 (IPv6).
    public var prefixLength: Int
    /// `brd`.
    public var broadcast: IPAddress?
    /// `dev`; nil means the instance's interface.
    public var device: String?
    /// `scope` (e.g. global, host, link, site), nil for the kernel default.
    public var scope: String?
    /// `label`.
    public var label: String?
    /// `no_track` / `noprefixroute` and other flags, as written.
    public var flags: [String]

    public init(address: IPAddress, prefixLength: Int? = nil, broadcast: IPAddress? = nil, device: String? = nil,
                scope: String? = nil, label: String? = nil, flags: [String] = []) {
        self.address = address
        self.prefixLength = prefixLength ?? (address.family == .inet ? 32 : 128)
        self.broadcast = broadcast
        self.device = device
        self.scope = scope
        self.label = label
        self.flags = flags
    }
}

/// One `virtual_routes` line: `[src IP] [to] DEST[/LEN] [via|gw IP] [dev IF] [scope S] [table T] [metric N] ...`.
public struct VirtualRoute: Sendable, Codable, Hashable {
    /// Destination address; nil for `default`.
    public var destination: IPAddress?
    public var prefixLength: Int
    public var source: IPAddress?
    public var gateway: IPAddress?
    public var device: String?
    public var scope: String?
    public var table: String?
    public var metric: Int?
    /// Route type when given (`blackhole`, `unreachable`, `prohibit`, ...).
    public var type: String?
    /// The line's words as written, for anything not modelled above.
    public var words: [String]

    public init(destination: IPAddress?, prefixLength: Int, source: IPAddress? = nil, gateway: IPAddress? = nil,
                device: String? = nil, scope: String? = nil, table: String? = nil, metric: Int? = nil,
                type: String? = nil, words: [String] = []) {
        self.destination = destination
        self.prefixLength = prefixLength
        self.source = source
        self.gateway = gateway
        self.device = device
        self.scope = scope
        self.table = table
        self.metric = metric
        self.type = type
        self.words = words
    }
}

/// `vrrp_instance NAME { ... }`, resolved: version, advert interval, garp timing and strictness filled in.
public struct VRRPInstance: Sendable, Codable, Hashable {
    public var name: String
    /// `state` (default BACKUP).
    public var initialState: VRRPInitialState
    /// `interface` (required).
    public var interface: String
    /// `virtual_router_id` (1–255, required).
    public var virtualRouterID: Int
    /// `priority` (1–255, default 100).
    public var priority: Int
    /// Effective advertisement interval in seconds: `advert_int` or 1. Whole seconds for v2 (RFC 3768 §5.3.7),
    /// centiseconds 0.01–40.95 for v3 (RFC 5798 §5.2.7).
    public var advertInterval: Seconds
    /// Effective VRRP version: `version`, else `global.vrrpVersion`, else 2.
    public var version: Int
    /// Address family of the instance, from its virtual addresses (`native_ipv6` forces inet6).
    public var family: AddressFamily
    /// False with `nopreempt`.
    public var preempt: Bool
    /// `preempt_delay` (seconds, 0–1000, default 0).
    public var preemptDelay: Seconds
    public var authentication: VRRPAuthentication?
    /// `mcast_src_ip`.
    public var multicastSourceIP: IPAddress?
    /// `unicast_src_ip`.
    public var unicastSourceIP: IPAddress?
    /// `unicast_peer { ... }`; non-empty means unicast mode.
    public var unicastPeers: [IPAddress]
    /// `unicast_ttl` (1–255, default 255).
    public var unicastTTL: Int
    public var virtualIPAddresses: [VirtualIPAddress]
    public var virtualIPAddressesExcluded: [VirtualIPAddress]
    public var virtualRoutes: [VirtualRoute]
    public var trackInterfaces: [TrackedInterface]
    public var trackScripts: [TrackedScript]
    public var trackFiles: [TrackedFile]
    public var notify: VRRPNotify
    /// Effective gratuitous ARP timing (`garp_*`, defaulting to `global_defs`' `vrrp_garp_*`).
    public var garp: GratuitousARPSettings
    /// Effective accept mode: `accept` / `no_accept`; default true unless strict mode.
    public var accept: Bool
    /// Effective strict mode: `strict_mode`, else `global.vrrpStrict`.
    public var strictMode: Bool
    /// `dont_track_primary`.
    public var dontTrackPrimary: Bool
    /// `lower_prio_no_advert`: a master does not answer a lower-priority advert with its own.
    public var lowerPriorityNoAdvert = false
    /// `higher_prio_send_advert`: a master sends an advert before yielding to a higher priority.
    public var higherPrioritySendAdvert = false
    /// `use_vmac [NAME]`: nil without VMAC; empty string for the default name.
    public var useVMAC: String?
    /// `smtp_alert`.
    public var smtpAlert: Bool
    /// The sync group this instance belongs to, if any (resolved from `vrrp_sync_group`).
    public var syncGroup: String?

    public init(name: String, initialState: VRRPInitialState = .backup, interface: String = "",
                virtualRouterID: Int = 0, priority: Int = 100, advertInterval: Seconds = 1, version: Int = 2,
                family: AddressFamily = .inet, preempt: Bool = true, preemptDelay: Seconds = 0,
                authentication: VRRPAuthentication? = nil, multicastSourceIP: IPAddress? = nil,
                unicastSourceIP: IPAddress? = nil, unicastPeers: [IPAddress] = [], unicastTTL: Int = 255,
                virtualIPAddresses: [VirtualIPAddress] = [], virtualIPAddressesExcluded: [VirtualIPAddress] = [],
                virtualRoutes: [VirtualRoute] = [], trackInterfaces: [TrackedInterface] = [],
                trackScripts: [TrackedScript] = [], trackFiles: [TrackedFile] = [], notify: VRRPNotify = VRRPNotify(),
                garp: GratuitousARPSettings = GratuitousARPSettings(), accept: Bool = true, strictMode: Bool = false,
                dontTrackPrimary: Bool = false, useVMAC: String? = nil, smtpAlert: Bool = false,
                syncGroup: String? = nil) {
        self.name = name
        self.initialState = initialState
        self.interface = interface
        self.virtualRouterID = virtualRouterID
        self.priority = priority
        self.advertInterval = advertInterval
        self.version = version
        self.family = family
        self.preempt = preempt
        self.preemptDelay = preemptDelay
        self.authentication = authentication
        self.multicastSourceIP = multicastSourceIP
        self.unicastSourceIP = unicastSourceIP
        self.unicastPeers = unicastPeers
        self.unicastTTL = unicastTTL
        self.virtualIPAddresses = virtualIPAddresses
        self.virtualIPAddressesExcluded = virtualIPAddressesExcluded
        self.virtualRoutes = virtualRoutes
        self.trackInterfaces = trackInterfaces
        self.trackScripts = trackScripts
        self.trackFiles = trackFiles
        self.notify = notify
        self.garp = garp
        self.accept = accept
        self.strictMode = strictMode
        self.dontTrackPrimary = dontTrackPrimary
        self.useVMAC = useVMAC
        self.smtpAlert = smtpAlert
        self.syncGroup = syncGroup
    }
}

// MARK: - LVS

/// IPVS forwarding method (`lb_kind` / `lvs_method`).
public enum ForwardingMethod: String, Sendable, Codable, Hashable, CaseIterable {
    /// Masquerading (`NAT`).
    case nat = "NAT"
    /// Direct routing (`DR`).
    case directRouting = "DR"
    /// IP-in-IP tunnelling (`TUN`).
    case tunnel = "TUN"
}

/// Transport protocol of a virtual service (`protocol`).
public enum TransportProtocol: String, Sendable, Codable, Hashable, CaseIterable {
    case tcp = "TCP"
    case udp = "UDP"
    case sctp = "SCTP"
}

/// IPVS scheduler flags (`ops`, `sh-port`/`flag-2`, `sh-fallback`/`flag-1`, `mh-port`, `mh-fallback`, `flag-3`).
public struct SchedulerFlags: Sendable, Codable, Hashable {
    /// `IP_VS_SVC_F_SCHED1`: sh-fallback / mh-fallback.
    public var flag1: Bool
    /// `IP_VS_SVC_F_SCHED2`: sh-port / mh-port.
    public var flag2: Bool
    /// `IP_VS_SVC_F_SCHED3`.
    public var flag3: Bool

    public init(flag1: Bool = false, flag2: Bool = false, flag3: Bool = false) {
        self.flag1 = flag1
        self.flag2 = flag2
        self.flag3 = flag3
    }
}

/// How a virtual server is addressed.
public enum VirtualServerAddress: Sendable, Hashable {
    /// `virtual_server IP PORT`.
    case socket(SocketAddress)
    /// `virtual_server fwmark N`.
    case firewallMark(UInt32)
    /// `virtual_server group NAME`.
    case group(String)
}

/// One entry of a `virtual_server_group`.
public enum VirtualServerGroupEntry: Sendable, Hashable {
    /// `IP PORT`.
    case address(SocketAddress)
    /// `A.B.C.D-E PORT`: addresses `first` through `last` inclusive, all on `port`.
    case range(first: IPAddress, last: IPAddress, port: UInt16)
    /// `fwmark N`.
    case firewallMark(UInt32)
}

/// `virtual_server_group NAME { ... }`.
public struct VirtualServerGroup: Sendable, Codable, Hashable {
    public var name: String
    public var entries: [VirtualServerGroupEntry]

    public init(name: String, entries: [VirtualServerGroupEntry] = []) {
        self.name = name
        self.entries = entries
    }
}

/// Checker timing shared by every checker kind, resolved checker → real server → virtual server → default.
public struct CheckerTiming: Sendable, Codable, Hashable {
    /// `delay_loop`: seconds between checks (default 60).
    public var delayLoop: Seconds
    /// `retry` (legacy `nb_get_retry`): failures beyond the first before DOWN (default 1;
    /// MISC_CHECK 0).
    public var retry: Int
    /// `delay_before_retry`: seconds between a failure and its retry (default 1).
    public var delayBeforeRetry: Seconds
    /// `connect_timeout`: seconds (default 5).
    public var connectTimeout: Seconds
    /// `warmup`: first check after a random delay in [0, warmup] (default: `delayLoop`).
    public var warmup: Seconds
    /// `alpha`: start failed (server not added until checks pass).
    public var alpha: Bool

    public init(delayLoop: Seconds = 60, retry: Int = 1, delayBeforeRetry: Seconds = 1, connectTimeout: Seconds = 5,
                warmup: Seconds = 60, alpha: Bool = false) {
        self.delayLoop = delayLoop
        self.retry = retry
        self.delayBeforeRetry = delayBeforeRetry
        self.connectTimeout = connectTimeout
        self.warmup = warmup
        self.alpha = alpha
    }
}

/// Where a checker connects and from where; defaults resolved to the real server's address and port.
public struct CheckerConnection: Sendable, Codable, Hashable {
    /// `connect_ip` (default: the real server's address).
    public var connectIP: IPAddress
    /// `connect_port` (default: the real server's port; 25 for SMTP hosts without one).
    public var connectPort: UInt16
    /// `bindto`.
    public var bindTo: IPAddress?
    /// `bind_port`.
    public var bindPort: UInt16?
    /// `bind_if`.
    public var bindInterface: String?
    /// `fwmark` set on the checker's socket (SO_MARK).
    public var firewallMark: UInt32?

    public init(connectIP: IPAddress, connectPort: UInt16, bindTo: IPAddress? = nil, bindPort: UInt16? = nil,
                bindInterface: String? = nil, firewallMark: UInt32? = nil) {
        self.connectIP = connectIP
        self.connectPort = connectPort
        self.bindTo = bindTo
        self.bindPort = bindPort
        self.bindInterface = bindInterface
        self.firewallMark = firewallMark
    }

    /// The connection target as an address and port.
    public var target: SocketAddress { SocketAddress(connectIP, connectPort) }
}

/// An inclusive range of HTTP status codes, e.g. `200-299`.
public struct HTTPStatusRange: Sendable, Codable, Hashable {
    public var lower: Int
    public var upper: Int

    public init(_ lower: Int, _ upper: Int) {
        self.lower = lower
        self.upper = upper
    }

    public func contains(_ code: Int) -> Bool { code >= lower && code <= upper }
}

/// One `url { ... }` block of HTTP_GET / SSL_GET.
public struct HTTPURL: Sendable, Codable, Hashable {
    /// `path` (request target).
    public var path: String
    /// `status_code` lists and ranges; resolved to `[200-299]` when absent.
    public var statusCodes: [HTTPStatusRange]
    /// `digest`: lower-case hex MD5 of the body.
    public var digest: String?
    /// `virtualhost` (Host header); nil means the checker's.
    public var virtualhost: String?
    /// `regex`: a PCRE2 pattern the body must match, if given.
    public var regex: String?
    /// `regex_no_match`: the body must not match `regex`.
    public var regexNoMatch: Bool
    /// `regex_options`: PCRE2 compile options by keepalived's names (``HTTPURL/regexOptionNames``).
    public var regexOptions: [String]
    /// `regex_min_offset` / `regex_max_offset`: where in the body a match may start (inclusive).
    public var regexMinOffset: Int?
    public var regexMaxOffset: Int?

    /// keepalived's `regex_options` words, each a PCRE2 compile option (PCRE2_CASELESS for `caseless`, ...).
    public static let regexOptionNames: [String] = [
        "allow_empty_class", "alt_bsux", "auto_callout", "caseless", "dollar_endonly", "dotall", "dupnames", "extended",
        "firstline", "match_unset_backref", "multiline", "never_ucp", "never_utf", "no_auto_capture", "no_auto_possess",
        "no_dotstar_anchor", "no_start_optimize", "ucp", "ungreedy", "utf", "never_backslash_c", "alt_circumflex",
        "alt_verbnames", "use_offset_limit",
    ]

    public init(path: String, statusCodes: [HTTPStatusRange] = [HTTPStatusRange(200, 299)], digest: String? = nil,
                virtualhost: String? = nil, regex: String? = nil, regexNoMatch: Bool = false, regexOptions: [String] = [],
                regexMinOffset: Int? = nil, regexMaxOffset: Int? = nil) {
        self.path = path
        self.statusCodes = statusCodes
        self.digest = digest
        self.virtualhost = virtualhost
        self.regex = regex
        self.regexNoMatch = regexNoMatch
        self.regexOptions = regexOptions
        self.regexMinOffset = regexMinOffset
        self.regexMaxOffset = regexMaxOffset
    }

    /// True when `code` is an accepted status.
    public func accepts(statusCode code: Int) -> Bool { statusCodes.contains { $0.contains(code) } }
}

/// `TCP_CHECK { ... }`.
public struct TCPCheck: Sendable, Codable, Hashable {
    public var timing: CheckerTiming
    public var connection: CheckerConnection

    public init(timing: CheckerTiming, connection: CheckerConnection) {
        self.timing = timing
        self.connection = connection
    }
}

/// `HTTP_GET { ... }` and `SSL_GET { ... }`.
public struct HTTPCheck: Sendable, Codable, Hashable {
    public var timing: CheckerTiming
    public var connection: CheckerConnection
    /// True for SSL_GET.
    public var useTLS: Bool
    public var urls: [HTTPURL]
    /// `http_protocol` (`1.0`, `1.0C`, `1.1`; default `1.0`).
    public var httpProtocol: String
    /// `virtualhost`; nil means the virtual server's `virtualhost`, already resolved here.
    public var virtualhost: String?
    /// `enable_sni` (SSL_GET).
    public var enableSNI: Bool
    /// `fast_recovery`.
    public var fastRecovery: Bool
    /// `verify_ca` (SSL_GET, Vigil extension): PEM file of CA certificates the server's chain must lead to.
    public var verifyCA: String?
    /// `verify_name` (SSL_GET, Vigil extension): name the certificate must carry; defaults to the virtual host.
    public var verifyName: String?

    public init(timing: CheckerTiming, connection: CheckerConnection, useTLS: Bool, urls: [HTTPURL] = [],
                httpProtocol: String = "1.0", virtualhost: String? = nil, enableSNI: Bool = false,
                fastRecovery: Bool = false, verifyCA: String? = nil, verifyName: String? = nil) {
        self.verifyCA = verifyCA
        self.verifyName = verifyName
        self.timing = timing
        self.connection = connection
        self.useTLS = useTLS
        self.urls = urls
        self.httpProtocol = httpProtocol
        self.virtualhost = virtualhost
        self.enableSNI = enableSNI
        self.fastRecovery = fastRecovery
    }
}

/// `SMTP_CHECK { ... }`; legacy `host { ... }` blocks become extra connections.
public struct SMTPCheck: Sendable, Codable, Hashable {
    public var timing: CheckerTiming
    /// The checker's own connection (port defaults to 25).
    public var connection: CheckerConnection
    /// `helo_name` (default: `global.smtpHeloName`, else `smtpchecker.keepalived.org`).
    public var heloName: String
    /// Legacy `host { connect_ip; connect_port; bindto }` blocks, each checked in turn.
    public var hosts: [CheckerConnection]

    public init(timing: CheckerTiming, connection: CheckerConnection, heloName: String = "smtpchecker.keepalived.org",
                hosts: [CheckerConnection] = []) {
        self.timing = timing
        self.connection = connection
        self.heloName = heloName
        self.hosts = hosts
    }
}

/// `MISC_CHECK { ... }`.
public struct MiscCheck: Sendable, Codable, Hashable {
    public var timing: CheckerTiming
    /// `misc_path`: command line to run.
    public var path: String
    /// `misc_timeout` (seconds); resolved to `timing.delayLoop` when absent.
    public var timeout: Seconds
    /// `misc_dynamic`: exit status 2..255 sets weight = status - 2.
    public var dynamic: Bool
    /// `user USER [GROUP]`; nil means `global.scriptUser`.
    public var user: String?
    public var group: String?

    public init(timing: CheckerTiming, path: String, timeout: Seconds, dynamic: Bool = false, user: String? = nil,
                group: String? = nil) {
        self.timing = timing
        self.path = path
        self.timeout = timeout
        self.dynamic = dynamic
        self.user = user
        self.group = group
    }
}

/// `DNS_CHECK { ... }`.
public struct DNSCheck: Sendable, Codable, Hashable {
    public var timing: CheckerTiming
    public var connection: CheckerConnection
    /// `type` (default SOA).
    public var type: String
    /// `name` (default ".").
    public var name: String

    public init(timing: CheckerTiming, connection: CheckerConnection, type: String = "SOA", name: String = ".") {
        self.timing = timing
        self.connection = connection
        self.type = type
        self.name = name
    }

    /// The query type is `queryType` in JSON, since `type` tags the checker kind.
    private enum CodingKeys: String, CodingKey {
        case timing, connection, name
        case type = "queryType"
    }
}

/// `UDP_CHECK { ... }`.
public struct UDPCheck: Sendable, Codable, Hashable {
    public var timing: CheckerTiming
    public var connection: CheckerConnection
    /// `payload` as hex text (valid ``HexPattern`` text without wildcards), if given.
    public var payload: String?
    /// `require_reply [HEX]`.
    public var requireReply: Bool
    /// The reply pattern of `require_reply`, as hex text (``HexPattern`` with wildcards), if given.
    public var replyData: String?
    /// `min_reply_length` / `max_reply_length`; nil means keepalived's defaults.
    public var minimumReplyLength: Int?
    public var maximumReplyLength: Int?

    /// keepalived's `min_reply_length` when none is given.
    public static let defaultMinimumReplyLength = 0
    /// keepalived's `max_reply_length` when none is given (UINT8_MAX in check_udp.c).
    public static let defaultMaximumReplyLength = 255

    public init(timing: CheckerTiming, connection: CheckerConnection, payload: String? = nil, requireReply: Bool = false,
                replyData: String? = nil, minimumReplyLength: Int? = nil, maximumReplyLength: Int? = nil) {
        self.timing = timing
        self.connection = connection
        self.payload = payload
        self.requireReply = requireReply
        self.replyData = replyData
        self.minimumReplyLength = minimumReplyLength
        self.maximumReplyLength = maximumReplyLength
    }
}

/// `PING_CHECK { ... }`.
public struct PingCheck: Sendable, Codable, Hashable {
    public var timing: CheckerTiming
    public var connection: CheckerConnection

    public init(timing: CheckerTiming, connection: CheckerConnection) {
        self.timing = timing
        self.connection = connection
    }
}

/// `FILE_CHECK { track_file NAME; weight N [reverse] }` (parsed into the model).
public struct FileCheck: Sendable, Codable, Hashable {
    /// The `track_file` block named.
    public var trackFile: String
    public var weight: Int?
    public var reverse: Bool
    /// `dynamic`: the file's number (times the weight) sets the real server's weight.
    public var dynamic: Bool

    public init(trackFile: String, weight: Int? = nil, reverse: Bool = false, dynamic: Bool = false) {
        self.trackFile = trackFile
        self.weight = weight
        self.reverse = reverse
        self.dynamic = dynamic
    }
}

/// The kind of a checker, spelled as in keepalived.conf.
public enum CheckerKind: String, Sendable, Codable, Hashable, CaseIterable {
    case tcp = "TCP_CHECK"
    case http = "HTTP_GET"
    case ssl = "SSL_GET"
    case smtp = "SMTP_CHECK"
    case misc = "MISC_CHECK"
    case dns = "DNS_CHECK"
    case udp = "UDP_CHECK"
    case ping = "PING_CHECK"
    case file = "FILE_CHECK"
}

/// One health checker of a real server, with its resolved settings.
public enum Checker: Sendable, Hashable {
    case tcp(TCPCheck)
    /// HTTP_GET (payload `useTLS == false`).
    case http(HTTPCheck)
    /// SSL_GET (payload `useTLS == true`).
    case ssl(HTTPCheck)
    case smtp(SMTPCheck)
    case misc(MiscCheck)
    case dns(DNSCheck)
    case udp(UDPCheck)
    case ping(PingCheck)
    case file(FileCheck)

    public var kind: CheckerKind {
        switch self {
        case .tcp: .tcp
        case .http: .http
        case .ssl: .ssl
        case .smtp: .smtp
        case .misc: .misc
        case .dns: .dns
        case .udp: .udp
        case .ping: .ping
        case .file: .file
        }
    }

    /// Effective timing; nil for FILE_CHECK, which is not polled.
    public var timing: CheckerTiming? {
        switch self {
        case .tcp(let c): c.timing
        case .http(let c), .ssl(let c): c.timing
        case .smtp(let c): c.timing
        case .misc(let c): c.timing
        case .dns(let c): c.timing
        case .udp(let c): c.timing
        case .ping(let c): c.timing
        case .file: nil
        }
    }
}

/// `real_server IP [PORT] { ... }`, resolved against its virtual server.
public struct RealServer: Sendable, Codable, Hashable {
    /// Address and port; the port defaults to the virtual server's (0 for fwmark services).
    public var address: SocketAddress
    /// `weight` (default 1).
    public var weight: Int
    /// Effective forwarding method: `lvs_method` here, else the virtual server's.
    public var forwardingMethod: ForwardingMethod
    /// Effective `inhibit_on_failure`: set weight 0 instead of removing on failure.
    public var inhibitOnFailure: Bool
    /// `notify_up`.
    public var notifyUp: String?
    /// `notify_down`.
    public var notifyDown: String?
    /// `uthreshold` (0 = none).
    public var upperThreshold: UInt32
    /// `lthreshold` (0 = none).
    public var lowerThreshold: UInt32
    /// Effective timers for this server's checkers, before any checker's own override.
    public var timing: CheckerTiming
    public var checkers: [Checker]
    /// `smtp_alert`.
    public var smtpAlert: Bool?

    public init(address: SocketAddress, weight: Int = 1, forwardingMethod: ForwardingMethod = .nat,
                inhibitOnFailure: Bool = false, notifyUp: String? = nil, notifyDown: String? = nil,
                upperThreshold: UInt32 = 0, lowerThreshold: UInt32 = 0, timing: CheckerTiming = CheckerTiming(),
                checkers: [Checker] = [], smtpAlert: Bool? = nil) {
        self.address = address
        self.weight = weight
        self.forwardingMethod = forwardingMethod
        self.inhibitOnFailure = inhibitOnFailure
        self.notifyUp = notifyUp
        self.notifyDown = notifyDown
        self.upperThreshold = upperThreshold
        self.lowerThreshold = lowerThreshold
        self.timing = timing
        self.checkers = checkers
        self.smtpAlert = smtpAlert
    }
}

/// `sorry_server IP PORT` with its options.
public struct SorryServer: Sendable, Codable, Hashable {
    public var address: SocketAddress
    /// `sorry_server_lvs_method`; resolved to the virtual server's method.
    public var forwardingMethod: ForwardingMethod
    /// `sorry_server_inhibit`: keep it at weight 0 instead of deleting it when quorum returns.
    public var inhibit: Bool

    public init(address: SocketAddress, forwardingMethod: ForwardingMethod = .nat, inhibit: Bool = false) {
        self.address = address
        self.forwardingMethod = forwardingMethod
        self.inhibit = inhibit
    }
}

/// `virtual_server (IP PORT | fwmark N | group NAME) { ... }`, resolved.
public struct VirtualServer: Sendable, Codable, Hashable {
    public var address: VirtualServerAddress
    /// Effective address family: `ip_family`, else the address's, else the group's, else inet.
    public var family: AddressFamily
    /// Effective `protocol` (default TCP, with a warning; see Docs/configuration.md).
    public var `protocol`: TransportProtocol
    /// Effective scheduler (`lvs_sched` / `lb_algo`; default `wlc`, with a warning).
    public var scheduler: String
    /// Effective forwarding method (`lvs_method` / `lb_kind`; default NAT).
    public var forwardingMethod: ForwardingMethod
    /// `persistence_timeout` (seconds); nil when not persistent. Set to 360 when only a granularity is given.
    public var persistenceTimeout: UInt32?
    /// `persistence_granularity` netmask.
    public var persistenceGranularity: IPAddress?
    /// `persistence_engine` (e.g. `sip`).
    public var persistenceEngine: String?
    /// `ops`: one-packet scheduling (UDP only).
    public var onePacketScheduling: Bool
    public var schedulerFlags: SchedulerFlags
    public var sorryServer: SorryServer?
    /// `quorum` (default 1).
    public var quorum: UInt32
    /// `hysteresis` (default 0).
    public var hysteresis: UInt32
    /// `quorum_up` command.
    public var quorumUp: String?
    /// `quorum_down` command.
    public var quorumDown: String?
    /// Timers set at this level (inherited by real servers and checkers).
    public var timing: CheckerTiming
    /// `omega`: run quorum_down at shutdown.
    public var omega: Bool
    /// `inhibit_on_failure` at this level (inherited by real servers).
    public var inhibitOnFailure: Bool
    /// `ha_suspend`: suspend checks while the VRRP instance owning the VIP is not master.
    public var haSuspend: Bool
    /// `virtualhost` (inherited by HTTP/SSL checkers).
    public var virtualhost: String?
    /// `smtp_alert`.
    public var smtpAlert: Bool?
    public var realServers: [RealServer]

    public init(address: VirtualServerAddress, family: AddressFamily = .inet, protocol: TransportProtocol = .tcp,
                scheduler: String = "wlc", forwardingMethod: ForwardingMethod = .nat, persistenceTimeout: UInt32? = nil,
                persistenceGranularity: IPAddress? = nil, persistenceEngine: String? = nil,
                onePacketScheduling: Bool = false, schedulerFlags: SchedulerFlags = SchedulerFlags(),
                sorryServer: SorryServer? = nil, quorum: UInt32 = 1, hysteresis: UInt32 = 0, quorumUp: String? = nil,
                quorumDown: String? = nil, timing: CheckerTiming = CheckerTiming(), omega: Bool = false,
                inhibitOnFailure: Bool = false, haSuspend: Bool = false, virtualhost: String? = nil,
                smtpAlert: Bool? = nil, realServers: [RealServer] = []) {
        self.address = address
        self.family = family
        self.protocol = `protocol`
        self.scheduler = scheduler
        self.forwardingMethod = forwardingMethod
        self.persistenceTimeout = persistenceTimeout
        self.persistenceGranularity = persistenceGranularity
        self.persistenceEngine = persistenceEngine
        self.onePacketScheduling = onePacketScheduling
        self.schedulerFlags = schedulerFlags
        self.sorryServer = sorryServer
        self.quorum = quorum
        self.hysteresis = hysteresis
        self.quorumUp = quorumUp
        self.quorumDown = quorumDown
        self.timing = timing
        self.omega = omega
        self.inhibitOnFailure = inhibitOnFailure
        self.haSuspend = haSuspend
        self.virtualhost = virtualhost
        self.smtpAlert = smtpAlert
        self.realServers = realServers
    }

    /// IPVS scheduler names Vigil accepts (the kernel's `ip_vs_*` scheduler modules).
    public static let schedulers: [String] = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq",
                                              "fo", "ovf", "mh", "twos"]
}
