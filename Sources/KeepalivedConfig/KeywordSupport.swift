/// A block of keepalived.conf whose keywords the resolver reads.
public enum KeywordBlock: String, Sendable, Hashable, CaseIterable, Comparable {
    case topLevel = "top level"
    case global = "global_defs"
    case vrrpScript = "vrrp_script"
    case trackFile = "track_file"
    case syncGroup = "vrrp_sync_group"
    case instance = "vrrp_instance"
    case authentication = "authentication"
    case virtualServer = "virtual_server"
    case realServer = "real_server"
    case tcpCheck = "TCP_CHECK"
    case httpGet = "HTTP_GET"
    case sslGet = "SSL_GET"
    case url = "url"
    case smtpCheck = "SMTP_CHECK"
    case smtpHost = "SMTP_CHECK host"
    case miscCheck = "MISC_CHECK"
    case dnsCheck = "DNS_CHECK"
    case udpCheck = "UDP_CHECK"
    case pingCheck = "PING_CHECK"
    case fileCheck = "FILE_CHECK"

    public static func < (a: KeywordBlock, b: KeywordBlock) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// The block of a checker kind.
    static func checker(_ kind: CheckerKind) -> KeywordBlock {
        switch kind {
        case .tcp: .tcpCheck
        case .http: .httpGet
        case .ssl: .sslGet
        case .smtp: .smtpCheck
        case .misc: .miscCheck
        case .dns: .dnsCheck
        case .udp: .udpCheck
        case .ping: .pingCheck
        case .file: .fileCheck
        }
    }
}

/// Where the runtime reads what a supported keyword configures: a source file under `Sources/`
/// and code in it that reads the keyword's model field (checked by a test).
public struct KeywordConsumer: Sendable, Hashable {
    public var file: String
    public var reads: String

    public init(_ file: String, _ reads: String) {
        self.file = file
        self.reads = reads
    }
}

/// What Vigil does with a keyword keepalived accepts.
public enum KeywordStatus: Sendable, Hashable {
    /// Implemented with keepalived's semantics; `consumer` is where the runtime acts on it.
    case supported(KeywordConsumer)
    /// Parsed and checked, then warned about at load: Vigil does not act on it, for `reason`.
    case notSupported(String)
    /// An error at load: running without it would do something other than the file says.
    case refused(String)
}

/// One keyword of keepalived.conf, its keepalived meaning and Vigil's status: the migration table.
public struct KeywordSupport: Sendable, Hashable {
    public var keyword: String
    public var blocks: [KeywordBlock]
    /// What keepalived 2.2.7 does with it (keepalived.conf(5)).
    public var keepalived: String
    public var status: KeywordStatus

    public init(_ keyword: String, _ blocks: [KeywordBlock], _ keepalived: String, _ status: KeywordStatus) {
        self.keyword = keyword
        self.blocks = blocks
        self.keepalived = keepalived
        self.status = status
    }

    /// The load-time diagnostic for a keyword that is not supported or refused.
    public var diagnosticMessage: String? {
        switch status {
        case .supported: nil
        case .notSupported(let why): "`\(keyword)` is accepted by keepalived but not supported by Vigil: \(why)"
        case .refused(let why): "`\(keyword)` is accepted by keepalived but refused by Vigil: \(why)"
        }
    }
}

// MARK: Reasons shared by many keywords

private enum Why {
    static let mail = "Vigil sends no e-mail alerts; use notify scripts"
    static let snmp = "Vigil has no SNMP agent; read `vigil ctl status` (Docs/status.md)"
    static let dbus = "Vigil has no D-Bus interface"
    static let processTuning = "Vigil runs as one process; set scheduling, affinity and memory locking with systemd (CPUAffinity=, Nice=, LimitMEMLOCK=)"
    static let processName = "Vigil runs as one process named vigil"
    static let netlinkBuffers = "Vigil sizes its own netlink buffers"
    static let bfd = "BFD is not implemented"
    static let firewall = "Vigil programs no iptables, ipsets or nftables rules"
    static let vmac = "VMAC (macvlan) interfaces are not implemented; the VIPs are added to `interface` with its own MAC, announced by gratuitous ARP / unsolicited NA"
    static let trackProcess = "process tracking is not implemented; use a vrrp_script that checks the process"
    static let reloadTuning = "Vigil reloads on SIGHUP or `vigil ctl reload` only"
    static let debugOnly = "keepalived debugging aid with no effect on the service"
    static let advertTuning = "Vigil follows RFC 3768/5798 advertisement rules without this tuning"
    static let garpTuning = "Vigil sends gratuitous ARP / NA on becoming master, on `garp_master_refresh` and after a lower-priority advert, without pauses between messages"
    static let strict = "strict mode (no authentication, receive-side checks, nftables `accept` rules) is not implemented"
    static let accept = "Vigil adds no firewall rules, so the VIPs always accept traffic (keepalived's non-strict default)"
    static let namespace = "Vigil runs in the network namespace it is started in; starting it in another one would program the wrong IPVS table and interfaces"
    static let staticConfig = "static addresses, routes and rules are not managed; configure them with the system's network configuration"
    static let bfdCheck = "BFD is not implemented; the real server's other checkers decide"
    static let notifyDeleted = "Vigil runs notify_stop for a removed instance"
    static let priorityNotify = "priority change notifications are not implemented"
    static let smtpAlert = "Vigil sends no e-mail alerts"
    static let logging = "Vigil logs each checker's state changes with their reasons, not every failure"
}

extension KeywordSupport {
    private static let vrrp = "VRRP/ConfigMapping.swift"
    private static let lvs = "HealthCheck/LVSPlan.swift"
    private static let fifo = "VigilDaemon/NotifyFIFOs.swift"
    private static let network: [KeywordBlock] = [.tcpCheck, .httpGet, .sslGet, .smtpCheck, .smtpHost, .dnsCheck, .udpCheck, .pingCheck]
    private static let timed: [KeywordBlock] = [.virtualServer, .realServer, .tcpCheck, .httpGet, .sslGet, .smtpCheck, .miscCheck,
                                                .dnsCheck, .udpCheck, .pingCheck]
    private static let https: [KeywordBlock] = [.httpGet, .sslGet]

    private static func s(_ file: String, _ reads: String) -> KeywordStatus { .supported(KeywordConsumer(file, reads)) }

    /// Every keyword the resolver accepts, with keepalived's meaning and Vigil's status.
    public static let all: [KeywordSupport] = topLevel + global + vrrpBlocks + lvsBlocks

    private static let topLevel: [KeywordSupport] = [
        .init("include", [.topLevel], "read other files (globs, relative to the including file)", s("KeepalivedConfig/Lexer.swift", "processInclude")),
        .init("includer", [.topLevel], "include; missing files are not an error (include_check readable)", s("KeepalivedConfig/Lexer.swift", "includeKeywords")),
        .init("includem", [.topLevel], "include; a pattern must match (include_check match)", s("KeepalivedConfig/Lexer.swift", "includeKeywords")),
        .init("includew", [.topLevel], "include; each wildcard must match (include_check wildcard_match)", s("KeepalivedConfig/Lexer.swift", "includeKeywords")),
        .init("includeb", [.topLevel], "include; each brace must match (include_check brace_match)", s("KeepalivedConfig/Lexer.swift", "includeKeywords")),
        .init("includea", [.topLevel], "include with all include_check checks", s("KeepalivedConfig/Lexer.swift", "includeKeywords")),
        .init("global_defs", [.topLevel], "global settings block", s(vrrp, "c.global")),
        .init("vrrp_script", [.topLevel], "a tracking script block", s(vrrp, "c.vrrpScripts")),
        .init("vrrp_sync_group", [.topLevel], "instances that change state together", s(vrrp, "c.vrrpSyncGroups")),
        .init("vrrp_instance", [.topLevel], "a VRRP virtual router", s(vrrp, "c.vrrpInstances")),
        .init("virtual_server_group", [.topLevel], "addresses, ranges and fwmarks sharing one virtual_server", s(lvs, "config.virtualServerGroup(named:")),
        .init("virtual_server", [.topLevel], "an IPVS service with its real servers", s(lvs, "config.virtualServers")),
        .init("track_file", [.topLevel], "a file whose number changes tracking priorities / weights", s(vrrp, "c.trackFiles")),
        .init("vrrp_track_file", [.topLevel], "old name of track_file", s(vrrp, "c.trackFiles")),
        .init("static_ipaddress", [.topLevel], "addresses added at start and kept", .notSupported(Why.staticConfig)),
        .init("static_routes", [.topLevel], "routes added at start and kept", .notSupported(Why.staticConfig)),
        .init("static_rules", [.topLevel], "policy rules added at start and kept", .notSupported(Why.staticConfig)),
        .init("vrrp_track_process", [.topLevel], "a process whose presence changes priorities", .notSupported(Why.trackProcess)),
        .init("track_process", [.topLevel], "old name of vrrp_track_process", .notSupported(Why.trackProcess)),
        .init("SSL", [.topLevel], "client certificate, key and CA for SSL_GET", .notSupported("SSL_GET presents no client certificate")),
        .init("linkbeat_interfaces", [.topLevel], "interfaces polled for link state", .notSupported("Vigil follows link state through netlink only")),
        .init("bfd_instance", [.topLevel], "a BFD session", .notSupported(Why.bfd)),
        .init("garp_group", [.topLevel], "gratuitous ARP schedule for a set of interfaces", .notSupported(Why.garpTuning)),
        .init("net_namespace", [.topLevel, .global], "run in a named network namespace", .refused(Why.namespace)),
        .init("net_namespace_ipvs", [.topLevel, .global], "program IPVS in a named network namespace", .refused(Why.namespace)),
        .init("namespace_with_ipsets", [.topLevel, .global], "use ipsets inside net_namespace", .notSupported(Why.firewall)),
        .init("instance", [.topLevel, .global], "instance name for pid files", .notSupported("Vigil's pid file is set on its command line")),
        .init("use_pid_dir", [.topLevel, .global], "pid files in /run/keepalived", .notSupported("Vigil's pid file is set on its command line")),
        .init("child_wait_time", [.topLevel], "time allowed for child processes to exit", .notSupported(Why.processName)),
        .init("static_track_group", [.topLevel], "a tracking group for static addresses", .notSupported(Why.staticConfig)),
        .init("track_group", [.topLevel], "old name of static_track_group", .notSupported(Why.staticConfig)),
        .init("linkbeat_use_polling", [.topLevel, .global, .instance], "poll link state (MII/ethtool) instead of netlink", .notSupported("Vigil follows link state through netlink only")),
    ]

    private static let global: [KeywordSupport] = [
        .init("router_id", [.global], "name of this machine in e-mail and SNMP", .notSupported(Why.mail)),
        .init("lvs_id", [.global], "old name of router_id", .notSupported(Why.mail)),
        .init("notification_email", [.global], "e-mail recipients of alerts", .notSupported(Why.mail)),
        .init("notification_email_from", [.global], "sender of alert e-mails", .notSupported(Why.mail)),
        .init("smtp_server", [.global], "SMTP relay for alerts", .notSupported(Why.mail)),
        .init("smtp_helo_name", [.global], "HELO name for alerts and SMTP_CHECK's default", s(lvs, "s.heloName")),
        .init("smtp_connect_timeout", [.global], "timeout talking to smtp_server", .notSupported(Why.mail)),
        .init("smtp_alert", [.global, .syncGroup, .instance, .virtualServer, .realServer], "send e-mail on state changes", .notSupported(Why.smtpAlert)),
        .init("smtp_alert_vrrp", [.global], "default smtp_alert of VRRP instances", .notSupported(Why.smtpAlert)),
        .init("smtp_alert_checker", [.global], "default smtp_alert of checkers", .notSupported(Why.smtpAlert)),
        .init("no_email_faults", [.global], "no e-mail for FAULT states", .notSupported(Why.smtpAlert)),
        .init("no_checker_emails", [.global], "checker e-mails only on real server state changes", .notSupported(Why.smtpAlert)),
        .init("script_user", [.global], "user (and group) scripts run as", s(vrrp, "c.global.scriptUser")),
        .init("enable_script_security", [.global], "refuse scripts writable by non-root users", s(vrrp, "c.global.enableScriptSecurity")),
        .init("script_security", [.global], "old name of enable_script_security", .notSupported("write `enable_script_security`")),
        .init("vrrp_version", [.global], "default VRRP version (2 or 3)", s(vrrp, "i.version")),
        .init("vrrp_strict", [.global], "RFC-strict VRRP: no authentication, VIP traffic dropped unless accept", .notSupported(Why.strict)),
        .init("vrrp_garp_master_delay", [.global], "default garp_master_delay", s(vrrp, "i.garp.masterDelay")),
        .init("vrrp_garp_master_repeat", [.global], "default garp_master_repeat", s(vrrp, "i.garp.masterRepeat")),
        .init("vrrp_garp_master_refresh", [.global], "default garp_master_refresh", s(vrrp, "i.garp.masterRefresh")),
        .init("vrrp_garp_master_refresh_repeat", [.global], "default garp_master_refresh_repeat", s(vrrp, "i.garp.masterRefreshRepeat")),
        .init("vrrp_garp_lower_prio_delay", [.global], "default garp_lower_prio_delay", s(vrrp, "i.garp.lowerPriorityDelay")),
        .init("vrrp_garp_lower_prio_repeat", [.global], "default garp_lower_prio_repeat", s(vrrp, "i.garp.lowerPriorityRepeat")),
        .init("vrrp_garp_interval", [.global, .instance], "pause between gratuitous ARPs", .notSupported(Why.garpTuning)),
        .init("vrrp_gna_interval", [.global], "pause between unsolicited neighbour advertisements", .notSupported(Why.garpTuning)),
        .init("vrrp_min_garp", [.global], "one gratuitous ARP, no refresh", .notSupported(Why.garpTuning)),
        .init("vrrp_garp_extra_if", [.global], "gratuitous ARP on every interface", .notSupported(Why.garpTuning)),
        .init("vrrp_mcast_group4", [.global], "IPv4 multicast group of adverts (224.0.0.18)", .notSupported("Vigil sends to the IANA group 224.0.0.18 (RFC 5798 §5.1.1.2)")),
        .init("vrrp_mcast_group6", [.global], "IPv6 multicast group of adverts (ff02::12)", .notSupported("Vigil sends to the IANA group ff02::12 (RFC 5798 §5.1.2.2)")),
        .init("lvs_timeouts", [.global], "IPVS tcp, tcpfin and udp timeouts", s(lvs, "config.global.lvsTimeouts")),
        .init("lvs_flush", [.global], "flush the IPVS table at start", s(lvs, "config.global.lvsFlush")),
        .init("lvs_flush_on_stop", [.global], "flush the IPVS table at exit", .notSupported("Vigil removes the services it added at exit, nothing else")),
        .init("lvs_sync_daemon", [.global], "IPVS connection-sync daemon tied to a VRRP instance", s("VigilDaemon/Daemon.swift", "global.lvsSyncDaemon")),
        .init("max_auto_priority", [.global], "realtime priority for the VRRP and checker processes", .notSupported(Why.processTuning)),
        .init("min_auto_priority_delay", [.global], "delay before raising to realtime priority", .notSupported(Why.processTuning)),
        .init("default_interface", [.global], "interface of instances without `interface`", s(vrrp, "interface: i.interface")),
        .init("dynamic_interfaces", [.global], "allow interfaces that appear later", .notSupported("Vigil waits for a missing interface in FAULT")),
        .init("checker_log_all_failures", [.global], "log every failed check", .notSupported(Why.logging)),
        .init("log_unknown_vrids", [.global], "log adverts for unknown VRIDs", .notSupported("Vigil drops them silently")),
    ] + [
        "bfd_cpu_affinity", "bfd_priority", "bfd_rlimit_rttime", "bfd_rt_priority", "bfd_no_swap", "checker_cpu_affinity",
        "checker_no_swap", "checker_priority", "checker_rlimit_rttime", "checker_rt_priority", "vrrp_cpu_affinity", "vrrp_no_swap",
        "vrrp_priority", "vrrp_rlimit_rttime", "vrrp_rt_priority",
    ].map { KeywordSupport($0, [.global], "scheduling of one keepalived process", .notSupported(Why.processTuning)) } + [
        "process_names", "process_name", "vrrp_process_name", "checker_process_name", "bfd_process_name",
    ].map { KeywordSupport($0, [.global], "names of keepalived's processes", .notSupported(Why.processName)) } + [
        "lvs_netlink_cmd_rcv_bufs", "lvs_netlink_cmd_rcv_bufs_force", "lvs_netlink_monitor_rcv_bufs",
        "lvs_netlink_monitor_rcv_bufs_force", "vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_cmd_rcv_bufs_force",
        "vrrp_netlink_monitor_rcv_bufs", "vrrp_netlink_monitor_rcv_bufs_force", "process_monitor_rcv_bufs",
        "process_monitor_rcv_bufs_force", "vrrp_rx_bufs_policy", "vrrp_rx_bufs_multiplier",
    ].map { KeywordSupport($0, [.global], "socket receive buffer size", .notSupported(Why.netlinkBuffers)) } + [
        .init("notify_fifo", [.global], "FIFO receiving VRRP and checker state lines", s(fifo, "global.notifyFIFO")),
        .init("notify_fifo_script", [.global], "reader of notify_fifo, started with its path", s(fifo, "fifo.script")),
        .init("vrrp_notify_fifo", [.global], "FIFO receiving VRRP state lines", s(fifo, "global.vrrpNotifyFIFO")),
        .init("vrrp_notify_fifo_script", [.global], "reader of vrrp_notify_fifo, started with its path", s(fifo, "fifo.script")),
        .init("lvs_notify_fifo", [.global], "FIFO receiving checker state lines", s(fifo, "global.lvsNotifyFIFO")),
        .init("lvs_notify_fifo_script", [.global], "reader of lvs_notify_fifo, started with its path", s(fifo, "fifo.script")),
        .init("fifo_write_vrrp_states_on_reload", [.global], "VRRP states written to the FIFOs again after a reload",
              s("VigilDaemon/ReloadCoordinator.swift", "fifoWriteVRRPStatesOnReload")),
    ] + [
        "enable_snmp_checker", "enable_snmp_rfc", "enable_snmp_rfcv2", "enable_snmp_rfcv3", "enable_snmp_vrrp",
        "enable_snmp_keepalived", "enable_traps", "snmp_socket",
    ].map { KeywordSupport($0, [.global], "SNMP agent and traps", .notSupported(Why.snmp)) } + [
        "enable_dbus", "dbus_service_name",
    ].map { KeywordSupport($0, [.global], "D-Bus interface", .notSupported(Why.dbus)) } + [
        "nftables", "nftables_counters", "nftables_ifindex", "nftables_ipvs", "nftables_ipvs_priority",
        "nftables_ipvs_start_fwmark", "nftables_priority", "vrrp_iptables", "vrrp_ipsets",
    ].map { KeywordSupport($0, [.global], "firewall rules for strict mode / no_accept", .notSupported(Why.firewall)) } + [
        .init("config_save_dir", [.global], "save configurations around reloads (debugging)", .notSupported(Why.debugOnly)),
        .init("tmp_config_directory", [.global], "where the configuration copy is kept", .notSupported(Why.debugOnly)),
        .init("data_use_instance", [.global], "instance name in data file names", .notSupported(Why.debugOnly)),
        .init("include_check", [.global], "default checks of include", .notSupported("use the includer/includem/includew/includeb/includea forms")),
        .init("disable_local_igmp", [.global], "no IGMP reports for the VRRP group", .notSupported(Why.advertTuning)),
        .init("random_seed", [.global], "seed of keepalived's random numbers (testing)", .notSupported(Why.debugOnly)),
        .init("reload_check_config", [.global], "check the new configuration before reloading", .notSupported("Vigil always checks before it reloads (`vigil -t` checks by hand)")),
        .init("reload_file", [.global], "file watched to trigger reloads", .notSupported(Why.reloadTuning)),
        .init("reload_repeat", [.global], "repeat a timed reload", .notSupported(Why.reloadTuning)),
        .init("reload_time_file", [.global], "file holding a reload time", .notSupported(Why.reloadTuning)),
        .init("rs_init_notifies", [.global], "notify real servers' initial state", .notSupported("Vigil runs notify_up/notify_down on changes only")),
        .init("startup_script", [.global], "run once at start", .notSupported("use ExecStartPre= in the systemd unit")),
        .init("startup_script_timeout", [.global], "timeout of startup_script", .notSupported("use ExecStartPre= in the systemd unit")),
        .init("shutdown_script", [.global], "run once at exit", .notSupported("use ExecStopPost= in the systemd unit")),
        .init("shutdown_script_timeout", [.global], "timeout of shutdown_script", .notSupported("use ExecStopPost= in the systemd unit")),
        .init("umask", [.global], "umask of created files", .notSupported("set UMask= in the systemd unit")),
        .init("vmac_prefix", [.global], "name prefix of VMAC interfaces", .notSupported(Why.vmac)),
        .init("vmac_addr_prefix", [.global], "name prefix of use_vmac_addr interfaces", .notSupported(Why.vmac)),
        .init("vrrp_check_unicast_src", [.global], "default check_unicast_src", s("VRRP/Runtime.swift", "instance.unicastPeers.contains(p.source)")),
        .init("vrrp_skip_check_adv_addr", [.global], "default skip_check_adv_addr", .notSupported(Why.advertTuning)),
        .init("vrrp_down_timer_adverts", [.global], "default down_timer_adverts", .notSupported(Why.advertTuning)),
        .init("vrrp_higher_prio_send_advert", [.global], "default higher_prio_send_advert", s(vrrp, "i.higherPrioritySendAdvert")),
        .init("vrrp_lower_prio_no_advert", [.global], "default lower_prio_no_advert", s(vrrp, "i.lowerPriorityNoAdvert")),
        .init("vrrp_notify_priority_changes", [.global], "default notify_priority_changes", .notSupported(Why.priorityNotify)),
        .init("vrrp_startup_delay", [.global], "wait before starting VRRP after boot", .notSupported("order Vigil after network-online.target in systemd")),
    ]

    private static let vrrpBlocks: [KeywordSupport] = [
        .init("script", [.vrrpScript], "the command run", s(vrrp, "command: s.script")),
        .init("interval", [.vrrpScript], "seconds between runs", s(vrrp, "s.interval")),
        .init("timeout", [.vrrpScript], "a run taking longer fails", s(vrrp, "s.timeout")),
        .init("weight", [.vrrpScript], "priority change while the script succeeds (fails with reverse)", s(vrrp, "s.weight")),
        .init("rise", [.vrrpScript], "successes needed to count as up", s(vrrp, "s.rise")),
        .init("fall", [.vrrpScript], "failures needed to count as down", s(vrrp, "s.fall")),
        .init("user", [.vrrpScript], "user (and group) the script runs as", s(vrrp, "s.user")),
        .init("init_fail", [.vrrpScript], "start in the failed state", s(vrrp, "s.initFail")),

        .init("file", [.trackFile], "the file whose number is read", s(vrrp, "path: def.file")),
        .init("weight", [.trackFile], "multiplier of the file's number (reverse negates)", s(vrrp, "def.weight")),
        .init("init_file", [.trackFile], "create the file at start [VALUE] [overwrite]", s(vrrp, "f.initialValue")),

        .init("group", [.syncGroup], "the member instances", s(vrrp, "members: g.group")),
        .init("notify_master", [.syncGroup, .instance], "run on becoming MASTER", s(vrrp, "master: n.master")),
        .init("notify_backup", [.syncGroup, .instance], "run on becoming BACKUP", s(vrrp, "backup: n.backup")),
        .init("notify_fault", [.syncGroup, .instance], "run on entering FAULT", s(vrrp, "fault: n.fault")),
        .init("notify_stop", [.syncGroup, .instance], "run when VRRP stops", s(vrrp, "stop: n.stop")),
        .init("notify", [.syncGroup, .instance], "run on every change with TYPE NAME STATE PRIORITY", s(vrrp, "generic: n.generic")),
        .init("notify_deleted", [.syncGroup, .instance], "notify with DELETED instead of STOP when removed by a reload", .notSupported(Why.notifyDeleted)),
        .init("notify_priority_changes", [.syncGroup, .instance], "notify on each priority change", .notSupported(Why.priorityNotify)),
        .init("track_interface", [.syncGroup], "interfaces every member tracks", s(vrrp, "g.trackInterfaces")),
        .init("track_script", [.syncGroup], "scripts every member tracks", s(vrrp, "g.trackScripts")),
        .init("track_file", [.syncGroup], "files every member tracks", s(vrrp, "g.trackFiles")),
        .init("track_process", [.syncGroup, .instance], "processes tracked", .notSupported(Why.trackProcess)),
        .init("track_bfd", [.syncGroup, .instance], "BFD sessions tracked", .notSupported(Why.bfd)),
        .init("global_tracking", [.syncGroup], "old name of sync_group_tracking_weight", s(vrrp, "group?.globalTracking")),
        .init("sync_group_tracking_weight", [.syncGroup], "members keep their tracking weights", s(vrrp, "group?.globalTracking")),

        .init("state", [.instance], "initial state MASTER or BACKUP", s(vrrp, "i.initialState")),
        .init("interface", [.instance], "interface the adverts use", s(vrrp, "interface: i.interface")),
        .init("virtual_router_id", [.instance], "the VRID 1–255", s(vrrp, "i.virtualRouterID")),
        .init("priority", [.instance], "priority 1–255", s(vrrp, "i.priority")),
        .init("advert_int", [.instance], "advertisement interval", s(vrrp, "i.advertInterval")),
        .init("version", [.instance], "VRRP version 2 or 3", s(vrrp, "i.version")),
        .init("nopreempt", [.instance], "a higher priority backup does not take over", s(vrrp, "i.preempt")),
        .init("preempt", [.instance], "a higher priority backup takes over (default)", s(vrrp, "i.preempt")),
        .init("preempt_delay", [.instance], "seconds before preempting after start", s(vrrp, "i.preemptDelay")),
        .init("authentication", [.instance], "VRRPv2 PASS or AH authentication", s(vrrp, "i.authentication")),
        .init("auth_type", [.authentication], "PASS or AH", s(vrrp, "a.type")),
        .init("auth_pass", [.authentication], "the password (8 characters)", s(vrrp, "a.password")),
        .init("mcast_src_ip", [.instance], "source address of multicast adverts", s(vrrp, "i.multicastSourceIP")),
        .init("unicast_src_ip", [.instance], "source address of unicast adverts", s(vrrp, "i.unicastSourceIP")),
        .init("unicast_peer", [.instance], "send adverts by unicast to these peers", s(vrrp, "i.unicastPeers")),
        .init("unicast_ttl", [.instance], "TTL of unicast adverts", .notSupported("unicast adverts carry TTL 255 (RFC 5798 §5.1.1.3), which peers require")),
        .init("virtual_ipaddress", [.instance], "the VIPs held by the master", s(vrrp, "i.virtualIPAddresses")),
        .init("virtual_ipaddress_excluded", [.instance], "VIPs held by the master but not advertised", s(vrrp, "i.virtualIPAddressesExcluded")),
        .init("virtual_routes", [.instance], "routes held by the master", s(vrrp, "i.virtualRoutes")),
        .init("virtual_rules", [.instance], "policy rules held by the master", .notSupported("virtual_rules are not implemented")),
        .init("track_interface", [.instance], "interfaces whose link state faults or reweights", s(vrrp, "i.trackInterfaces")),
        .init("track_script", [.instance], "vrrp_scripts that fault or reweight", s(vrrp, "i.trackScripts")),
        .init("track_file", [.instance], "track_files whose number reweights or faults", s(vrrp, "i.trackFiles")),
        .init("garp_master_delay", [.instance], "second burst of gratuitous ARP after becoming master", s(vrrp, "i.garp.masterDelay")),
        .init("garp_master_repeat", [.instance], "gratuitous ARPs per burst", s(vrrp, "i.garp.masterRepeat")),
        .init("garp_master_refresh", [.instance], "periodic gratuitous ARP while master", s(vrrp, "i.garp.masterRefresh")),
        .init("garp_master_refresh_repeat", [.instance], "gratuitous ARPs per refresh", s(vrrp, "i.garp.masterRefreshRepeat")),
        .init("garp_lower_prio_delay", [.instance], "second set of gratuitous ARPs after a lower priority advert", s(vrrp, "i.garp.lowerPriorityDelay")),
        .init("garp_lower_prio_repeat", [.instance], "gratuitous ARPs after a lower priority advert", s(vrrp, "i.garp.lowerPriorityRepeat")),
        .init("garp_interval", [.instance], "pause between gratuitous ARPs", .notSupported(Why.garpTuning)),
        .init("gna_interval", [.instance], "pause between unsolicited neighbour advertisements", .notSupported(Why.garpTuning)),
        .init("accept", [.instance], "accept traffic to the VIPs in strict mode", .notSupported(Why.accept)),
        .init("no_accept", [.instance], "drop traffic to the VIPs (nftables/iptables)", .notSupported(Why.accept)),
        .init("strict_mode", [.instance], "vrrp_strict for one instance", .notSupported(Why.strict)),
        .init("dont_track_primary", [.instance], "ignore link state of `interface`", s(vrrp, "i.dontTrackPrimary")),
        .init("use_vmac", [.instance], "a macvlan with the virtual MAC carries the VIPs", .notSupported(Why.vmac)),
        .init("vmac_xmit_base", [.instance], "send adverts from the base interface of the VMAC", .notSupported(Why.vmac)),
        .init("use_vmac_addr", [.instance], "the VMAC's MAC on the base interface", .notSupported(Why.vmac)),
        .init("use_ipvlan", [.instance], "an ipvlan interface carries the VIPs", .notSupported(Why.vmac)),
        .init("native_ipv6", [.instance], "an IPv6 instance without IPv6 VIPs", s(vrrp, "i.family")),
        .init("lvs_sync_daemon_interface", [.instance], "deprecated per-instance lvs_sync_daemon", s("VigilDaemon/Daemon.swift", "global.lvsSyncDaemon")),
        .init("check_unicast_src", [.instance], "accept unicast adverts only from unicast_peer", s("VRRP/Runtime.swift", "instance.unicastPeers.contains(p.source)")),
        .init("debug", [.instance], "debug level of the instance", .notSupported(Why.debugOnly)),
        .init("down_timer_adverts", [.instance], "missed adverts before master down", .notSupported(Why.advertTuning)),
        .init("higher_prio_send_advert", [.instance], "a master sends an advert before yielding to a higher priority", s(vrrp, "i.higherPrioritySendAdvert")),
        .init("lower_prio_no_advert", [.instance], "no advert in reply to a lower priority one", s(vrrp, "i.lowerPriorityNoAdvert")),
        .init("skip_check_adv_addr", [.instance], "do not compare advert addresses with ours", .notSupported(Why.advertTuning)),
        .init("old_unicast_checksum", [.instance], "pre-1.3.6 unicast checksum", .notSupported("Vigil computes RFC 5798 checksums only")),
        .init("kernel_rx_buf_size", [.instance], "receive buffer of the advert socket", .notSupported(Why.netlinkBuffers)),
        .init("garp_extra_if", [.instance], "gratuitous ARP on other interfaces", .notSupported(Why.garpTuning)),
        .init("mcast_dst_ip", [.instance], "multicast group of this instance", .notSupported("Vigil sends to the IANA groups 224.0.0.18 / ff02::12")),
        .init("notify_master_rx_lower_pri", [.instance], "run when a lower priority advert arrives as master", .notSupported(Why.priorityNotify)),
        .init("promote_secondaries", [.instance], "set promote_secondaries on the interface", .notSupported("set net.ipv4.conf.IF.promote_secondaries with sysctl")),
        .init("track_src_ip", [.instance], "FAULT when the source address disappears", .notSupported("not implemented")),
        .init("unicast_fault_no_peer", [.instance], "FAULT when unicast has no peers", .notSupported("not implemented")),
        .init("vrf", [.instance], "run the instance in a VRF", .notSupported("VRFs are not implemented")),
    ]

    private static let lvsBlocks: [KeywordSupport] = [
        .init("lvs_sched", [.virtualServer], "scheduler (rr, wlc, mh, …)", s(lvs, "vs.scheduler")),
        .init("lb_algo", [.virtualServer], "old name of lvs_sched", s(lvs, "vs.scheduler")),
        .init("lvs_method", [.virtualServer, .realServer], "forwarding method NAT, DR or TUN", s(lvs, "rs.forwardingMethod")),
        .init("lb_kind", [.virtualServer], "old name of lvs_method", s(lvs, "rs.forwardingMethod")),
        .init("protocol", [.virtualServer], "TCP, UDP or SCTP", s(lvs, "vs.protocol")),
        .init("persistence_timeout", [.virtualServer], "client affinity timeout", s(lvs, "vs.persistenceTimeout")),
        .init("persistence_granularity", [.virtualServer], "netmask of client affinity", s(lvs, "vs.persistenceGranularity")),
        .init("persistence_engine", [.virtualServer], "persistence engine (sip)", s(lvs, "vs.persistenceEngine")),
        .init("ops", [.virtualServer], "one-packet scheduling (UDP)", s(lvs, "vs.onePacketScheduling")),
        .init("flag-1", [.virtualServer], "scheduler flag 1", s(lvs, "vs.schedulerFlags.flag1")),
        .init("sh-fallback", [.virtualServer], "sh: fall back to another server", s(lvs, "vs.schedulerFlags.flag1")),
        .init("mh-fallback", [.virtualServer], "mh: fall back to another server", s(lvs, "vs.schedulerFlags.flag1")),
        .init("flag-2", [.virtualServer], "scheduler flag 2", s(lvs, "vs.schedulerFlags.flag2")),
        .init("sh-port", [.virtualServer], "sh: hash the source port too", s(lvs, "vs.schedulerFlags.flag2")),
        .init("mh-port", [.virtualServer], "mh: hash the source port too", s(lvs, "vs.schedulerFlags.flag2")),
        .init("flag-3", [.virtualServer], "scheduler flag 3", s(lvs, "vs.schedulerFlags.flag3")),
        .init("sorry_server", [.virtualServer], "server used when no real server is up", s(lvs, "vs.sorryServer")),
        .init("sorry_server_inhibit", [.virtualServer], "keep the sorry server at weight 0", s(lvs, "vs.sorryServer?.inhibit")),
        .init("sorry_server_lvs_method", [.virtualServer], "forwarding method of the sorry server", s(lvs, "$0.forwardingMethod")),
        .init("quorum", [.virtualServer], "weight sum needed for the service to be up", s(lvs, "vs.quorum")),
        .init("hysteresis", [.virtualServer], "margin around quorum", s(lvs, "vs.hysteresis")),
        .init("quorum_up", [.virtualServer], "run when quorum is gained", s(lvs, "vs.quorumUp")),
        .init("quorum_down", [.virtualServer], "run when quorum is lost", s(lvs, "vs.quorumDown")),
        .init("omega", [.virtualServer], "run quorum_down at exit", .notSupported("quorum scripts run on changes only")),
        .init("inhibit_on_failure", [.virtualServer, .realServer], "a failed real server gets weight 0 instead of removal", s(lvs, "rs.inhibitOnFailure")),
        .init("ha_suspend", [.virtualServer], "suspend checks while the VIP is not held", .notSupported("checks always run")),
        .init("virtualhost", [.virtualServer, .realServer, .httpGet, .sslGet, .url], "Host header of HTTP checks", s(lvs, "virtualHost: h.virtualhost ?? vs.virtualhost")),
        .init("ip_family", [.virtualServer], "address family of fwmark and group services", s(lvs, "vs.family")),
        .init("snmp_name", [.virtualServer, .realServer], "name in SNMP", .notSupported(Why.snmp)),
        .init("nat_mask", [.virtualServer], "obsolete; ignored by keepalived too", .notSupported("obsolete; keepalived ignores it too")),
        .init("real_server", [.virtualServer], "a real server of the service", s(lvs, "vs.realServers")),
        .init("delay_loop", timed, "seconds between checks", s(lvs, "t.delayLoop")),
        .init("retry", timed, "retries before a check fails", s(lvs, "t.retry")),
        .init("nb_get_retry", timed, "old name of retry", s(lvs, "t.retry")),
        .init("delay_before_retry", timed, "seconds before a retry", s(lvs, "t.delayBeforeRetry")),
        .init("connect_timeout", timed, "timeout of one check", s(lvs, "t.connectTimeout")),
        .init("warmup", timed, "random delay before the first check", s(lvs, "t.warmup")),
        .init("alpha", timed, "checkers start down", s(lvs, "t.alpha")),

        .init("weight", [.realServer], "IPVS weight", s(lvs, "rs.weight")),
        .init("notify_up", [.realServer], "run when the real server comes up", s(lvs, "rs.notifyUp")),
        .init("notify_down", [.realServer], "run when the real server goes down", s(lvs, "rs.notifyDown")),
        .init("uthreshold", [.realServer], "upper connection threshold", s(lvs, "rs.upperThreshold")),
        .init("lthreshold", [.realServer], "lower connection threshold", s(lvs, "rs.lowerThreshold")),
        .init("BFD_CHECK", [.realServer], "a BFD session as checker", .notSupported(Why.bfdCheck)),
        .init("TCP_CHECK", [.realServer], "TCP connect check", s(lvs, "case .tcp(let c)")),
        .init("HTTP_GET", [.realServer], "HTTP check", s(lvs, "case .http(let h)")),
        .init("SSL_GET", [.realServer], "HTTPS check", s(lvs, ".ssl(let h)")),
        .init("SMTP_CHECK", [.realServer], "SMTP greeting and HELO check", s(lvs, "case .smtp(let s)")),
        .init("MISC_CHECK", [.realServer], "external program check", s(lvs, "case .misc(let m)")),
        .init("DNS_CHECK", [.realServer], "DNS query check", s(lvs, "case .dns(let d)")),
        .init("UDP_CHECK", [.realServer], "UDP payload / reply check", s(lvs, "case .udp(let u)")),
        .init("PING_CHECK", [.realServer], "ICMP echo check", s(lvs, "case .ping(let p)")),
        .init("FILE_CHECK", [.realServer], "weight from a track_file", s(lvs, "case .file(let f)")),

        .init("connect_ip", network, "address checked", s(lvs, "c.connectIP")),
        .init("connect_port", network, "port checked", s(lvs, "c.connectPort")),
        .init("bindto", network, "source address of the check", s(lvs, "c.bindTo")),
        .init("bind_port", network, "source port of the check", s(lvs, "c.bindPort")),
        .init("bind_if", network, "interface the check is bound to (SO_BINDTODEVICE)", s(lvs, "c.bindInterface")),
        .init("fwmark", network, "firewall mark of the check's packets (SO_MARK)", s(lvs, "c.firewallMark")),
        .init("log_all_failures", network + [.miscCheck], "log every failure of this checker", .notSupported(Why.logging)),

        .init("url", https, "a path to fetch and what to expect", s(lvs, "h.urls")),
        .init("http_protocol", https, "1.0, 1.0C or 1.1", s(lvs, "h.httpProtocol")),
        .init("fast_recovery", https, "after a failure, check every delay_before_retry until up", .notSupported("checks keep the delay_loop rhythm")),
        .init("enable_sni", https, "send SNI", s(lvs, "h.enableSNI")),
        .init("verify_ca", [.sslGet], "Vigil: verify the certificate against this CA file", s(lvs, "h.verifyCA")),
        .init("verify_name", [.sslGet], "Vigil: name the certificate must carry", s(lvs, "h.verifyName")),
        .init("path", [.url], "request path", s(lvs, "$0.path")),
        .init("digest", [.url], "MD5 of the expected body", s(lvs, "$0.digest")),
        .init("status_code", [.url], "accepted status codes and ranges", s(lvs, "$0.statusCodes")),
        .init("regex", [.url], "PCRE2 pattern the body must match", s(lvs, "$0.regex.map")),
        .init("regex_no_match", [.url], "the body must not match regex", s(lvs, "u.regexNoMatch")),
        .init("regex_options", [.url], "PCRE2 options of regex", s(lvs, "u.regexOptions")),
        .init("regex_stack", [.url], "PCRE2 JIT stack size", .notSupported("Vigil matches without PCRE2's JIT, so there is no JIT stack to size")),
        .init("regex_min_offset", [.url], "first body offset where a match may start", s(lvs, "u.regexMinOffset")),
        .init("regex_max_offset", [.url], "last body offset where a match may start", s(lvs, "u.regexMaxOffset")),

        .init("helo_name", [.smtpCheck], "HELO name", s(lvs, "s.heloName")),
        .init("host", [.smtpCheck], "another server checked by this SMTP_CHECK", s(lvs, "s.hosts")),
        .init("misc_path", [.miscCheck], "the program run", s(lvs, "m.path")),
        .init("misc_timeout", [.miscCheck], "timeout of the program", s(lvs, "m.timeout")),
        .init("misc_dynamic", [.miscCheck], "exit code − 2 sets the weight", s(lvs, "m.dynamic")),
        .init("user", [.miscCheck], "user (and group) the program runs as", s(lvs, "m.user")),
        .init("type", [.dnsCheck], "query type", s(lvs, "d.type")),
        .init("name", [.dnsCheck], "query name", s(lvs, "d.name")),
        .init("payload", [.udpCheck], "hex datagram sent", s(lvs, "u.payload")),
        .init("require_reply", [.udpCheck], "a reply (matching HEX) is needed", s(lvs, "u.requireReply")),
        .init("min_reply_length", [.udpCheck], "shortest acceptable reply", s(lvs, "u.minimumReplyLength")),
        .init("max_reply_length", [.udpCheck], "longest acceptable reply", s(lvs, "u.maximumReplyLength")),
        .init("track_file", [.fileCheck], "the track_file read", s(lvs, "f.trackFile")),
        .init("dynamic", [.fileCheck], "documented: the file's number adjusts the weight (keepalived's code does so with any non-zero weight)",
              .notSupported("has no effect of its own: as in keepalived's check_file.c, a non-zero weight always adjusts the real server's weight")),
        .init("file", [.fileCheck], "old name of track_file", s(lvs, "f.trackFile")),
        .init("weight", [.fileCheck], "multiplier of the file's number (reverse negates)", s(lvs, "f.weight ?? def.weight")),
    ]

    private static let index: [KeywordBlock: [String: KeywordSupport]] = {
        var out: [KeywordBlock: [String: KeywordSupport]] = [:]
        for e in all {
            for b in e.blocks { out[b, default: [:]][e.keyword] = e }
        }
        return out
    }()

    /// The entry for `keyword` in `block`; nil when keepalived has no such keyword there.
    public static func entry(_ keyword: String, in block: KeywordBlock) -> KeywordSupport? { index[block]?[keyword] }

    /// Every keyword of `block`, in table order.
    public static func keywords(in block: KeywordBlock) -> [String] {
        all.filter { $0.blocks.contains(block) }.map(\.keyword)
    }
}

extension Context {
    /// Reports at load a keyword keepalived accepts that Vigil does not act on (a warning) or
    /// refuses (an error), with its reason; nothing for supported or unknown keywords.
    mutating func support(_ node: Node, in block: KeywordBlock) {
        guard let entry = KeywordSupport.entry(node.name, in: block), let message = entry.diagnosticMessage else { return }
        switch entry.status {
        case .supported: break
        case .notSupported: warning(.notSupported, message, at: node.location)
        case .refused: error(.refusedKeyword, message, at: node.location)
        }
    }

    /// Warns about a keyword keepalived does not accept in `block`, suggesting the nearest one it
    /// does; a keyword of the migration table is left to `support(_:in:)`.
    mutating func unknownKeyword(_ node: Node, in block: KeywordBlock) {
        if KeywordSupport.entry(node.name, in: block) != nil { return }
        unknownKeyword(node, in: block == .topLevel ? "the top level" : block.rawValue, known: KeywordSupport.keywords(in: block))
    }
}

extension KeywordSupport {
    /// Vigil's status as the migration table shows it.
    public var statusText: String {
        switch status {
        case .supported: "supported"
        case .notSupported(let why): "not supported (warning): \(why)"
        case .refused(let why): "refused (error): \(why)"
        }
    }

    /// The migration table of Docs/configuration.md: keyword | where | keepalived semantics | Vigil status.
    public static func markdownTable() -> String {
        func cell(_ s: String) -> String { s.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|") }
        var lines = ["| Keyword | Where | keepalived semantics | Vigil status |", "|---|---|---|---|"]
        let rows = all.sorted { a, b in
            a.blocks[0] != b.blocks[0] ? a.blocks[0] < b.blocks[0] : a.keyword < b.keyword
        }
        for e in rows {
            let blocks = e.blocks.map(\.rawValue).joined(separator: ", ")
            lines.append("| `\(cell(e.keyword))` | \(cell(blocks)) | \(cell(e.keepalived)) | \(cell(e.statusText)) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
