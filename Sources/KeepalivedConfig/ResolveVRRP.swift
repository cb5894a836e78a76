import VigilSupport

/// Keyword lists of the VRRP blocks (for suggestions and tests), from the migration table.
enum Keywords {
    static var global: [String] { KeywordSupport.keywords(in: .global) }
    static var vrrpScript: [String] { KeywordSupport.keywords(in: .vrrpScript) }
    static var syncGroup: [String] { KeywordSupport.keywords(in: .syncGroup) }
    static var instance: [String] { KeywordSupport.keywords(in: .instance) }
    static var trackFile: [String] { KeywordSupport.keywords(in: .trackFile) }
}

extension Resolver {
    // MARK: global_defs

    mutating func resolveGlobal(_ node: Node) {
        guard let children = ctx.block(node) else { return }
        var g = global
        var fifos = FIFOKeywords()
        for child in children {
            ctx.support(child, in: .global)
            switch child.name {
            case "notify_fifo", "vrrp_notify_fifo", "lvs_notify_fifo":
                fifos.path(child, &ctx)
            case "notify_fifo_script", "vrrp_notify_fifo_script", "lvs_notify_fifo_script":
                if let script = fifos.script(child, &ctx) {
                    scriptUses.append(ScriptUse(command: script.command, location: child.arguments[0].location, what: "`\(child.name)`"))
                }
            case "fifo_write_vrrp_states_on_reload":
                ctx.noExtraArguments(child, count: 0)
                g.fifoWriteVRRPStatesOnReload = true
            case "router_id", "lvs_id":
                if child.name == "lvs_id" { ctx.deprecated(child, replacement: "router_id") }
                if let v = ctx.word(child, expected: "a router name") { g.routerID = v }
            case "notification_email":
                if let block = child.children {
                    for entry in block {
                        g.notificationEmail.append(entry.name)
                        g.notificationEmail.append(contentsOf: entry.arguments.map(\.text))
                    }
                } else {
                    g.notificationEmail.append(contentsOf: child.arguments.map(\.text))
                }
            case "notification_email_from":
                g.notificationEmailFrom = ctx.word(child, expected: "an e-mail address")
            case "smtp_server":
                guard let a = ctx.address(child) else { break }
                var port: UInt16 = 25
                if child.arguments.count > 1, let p = ctx.port(child.arguments[1], for: child.name) { port = p }
                ctx.noExtraArguments(child, count: 2)
                g.smtpServer = SocketAddress(a, port)
            case "smtp_helo_name":
                g.smtpHeloName = ctx.word(child, expected: "a host name")
            case "smtp_connect_timeout":
                if let v = ctx.seconds(child, in: 1...Context.maximumSeconds) { g.smtpConnectTimeout = v }
            case "script_user":
                guard let u = ctx.argument(child, expected: "a user name") else { break }
                g.scriptUser = u.text
                g.scriptGroup = child.arguments.count > 1 ? child.arguments[1].text : nil
                ctx.noExtraArguments(child, count: 2)
            case "enable_script_security":
                g.enableScriptSecurity = ctx.bool(child)
            case "vrrp_version":
                if let v = ctx.integer(child, in: 2...3) { g.vrrpVersion = v }
            case "vrrp_strict":
                g.vrrpStrict = ctx.bool(child)
            case "vrrp_lower_prio_no_advert":
                g.vrrpLowerPriorityNoAdvert = ctx.bool(child)
            case "vrrp_higher_prio_send_advert":
                g.vrrpHigherPrioritySendAdvert = ctx.bool(child)
            case "vrrp_garp_master_delay":
                if let v = ctx.seconds(child) { g.garp.masterDelay = v; globalGarpSet.insert("lower_delay_default") }
            case "vrrp_garp_master_repeat":
                if let v = ctx.integer(child, in: 1...Int(Int32.max)) { g.garp.masterRepeat = v; globalGarpSet.insert("lower_repeat_default") }
            case "vrrp_garp_master_refresh":
                if let v = ctx.seconds(child) { g.garp.masterRefresh = v }
            case "vrrp_garp_master_refresh_repeat":
                if let v = ctx.integer(child, in: 1...Int(Int32.max)) { g.garp.masterRefreshRepeat = v }
            case "vrrp_garp_lower_prio_delay":
                if let v = ctx.seconds(child) { g.garp.lowerPriorityDelay = v; globalGarpSet.insert("lower_delay") }
            case "vrrp_garp_lower_prio_repeat":
                if let v = ctx.integer(child, in: 1...Int(Int32.max)) { g.garp.lowerPriorityRepeat = v; globalGarpSet.insert("lower_repeat") }
            case "vrrp_garp_interval":
                if let v = ctx.seconds(child, in: 0...1000) { g.garp.interval = v }
            case "vrrp_gna_interval":
                if let v = ctx.seconds(child, in: 0...1000) { g.garp.neighbourAdvertisementInterval = v }
            case "vrrp_mcast_group4":
                if let a = ctx.address(child) {
                    if a.family == .inet { g.vrrpMulticastGroup4 = a } else {
                        ctx.error(.invalidAddress, "`vrrp_mcast_group4` expects an IPv4 address, not `\(a)`", at: child.arguments[0].location)
                    }
                }
            case "vrrp_mcast_group6":
                if let a = ctx.address(child) {
                    if a.family == .inet6 { g.vrrpMulticastGroup6 = a } else {
                        ctx.error(.invalidAddress, "`vrrp_mcast_group6` expects an IPv6 address, not `\(a)`", at: child.arguments[0].location)
                    }
                }
            case "lvs_timeouts":
                g.lvsTimeouts = resolveLVSTimeouts(child)
            case "lvs_flush":
                g.lvsFlush = ctx.bool(child)
            case "lvs_sync_daemon":
                g.lvsSyncDaemon = resolveSyncDaemon(child)
            case "max_auto_priority":
                if child.arguments.isEmpty { g.maxAutoPriority = -1 } else if let v = ctx.integer(child, in: -1...99) {
                    g.maxAutoPriority = v
                }
            default:
                if KeywordSupport.entry(child.name, in: .global) != nil {
                    g.otherSettings[child.name] = child.arguments.map(\.text).joined(separator: " ")
                } else {
                    ctx.unknownKeyword(child, in: .global)
                }
            }
            if child.name != "notification_email" { ctx.noBlock(child) }
        }
        (g.notifyFIFO, g.vrrpNotifyFIFO, g.lvsNotifyFIFO) = fifos.resolved(&ctx)
        // keepalived: lower-priority garp settings default to the master ones.
        if !globalGarpSet.contains("lower_delay") { g.garp.lowerPriorityDelay = g.garp.masterDelay }
        if !globalGarpSet.contains("lower_repeat") { g.garp.lowerPriorityRepeat = g.garp.masterRepeat }
        global = g
    }

    /// The notify FIFO keywords of one `global_defs`, gathered before they are paired up.
    private struct FIFOKeywords {
        var paths: [String: (fifo: NotifyFIFO, at: SourceLocation)] = [:]
        var scripts: [String: (script: NotifyFIFOScript, at: SourceLocation)] = [:]

        /// `[vrrp_|lvs_]notify_fifo PATH [USER [GROUP]]`; a repeat is ignored, as keepalived does.
        mutating func path(_ node: Node, _ ctx: inout Context) {
            guard let path = ctx.argument(node, expected: "a FIFO path [user [group]]") else { return }
            ctx.noExtraArguments(node, count: 3)
            if let first = paths[node.name] {
                ctx.warning(.ignoredSetting, "`\(node.name)` already given at \(first.at); `\(path.text)` ignored", at: node.location)
                return
            }
            guard !path.text.isEmpty else {
                ctx.error(.invalidValue, "`\(node.name)` expects a FIFO path, not an empty string", at: path.location)
                return
            }
            let args = node.arguments
            paths[node.name] = (NotifyFIFO(path: path.text, user: args.count > 1 ? args[1].text : nil,
                                           group: args.count > 2 ? args[2].text : nil), node.location)
        }

        /// `[vrrp_|lvs_]notify_fifo_script COMMAND [USER [GROUP]]`.
        mutating func script(_ node: Node, _ ctx: inout Context) -> NotifyFIFOScript? {
            guard let command = ctx.argument(node, expected: "a command [user [group]]") else { return nil }
            ctx.noExtraArguments(node, count: 3)
            if let first = scripts[node.name] {
                ctx.warning(.ignoredSetting, "`\(node.name)` already given at \(first.at); `\(command.text)` ignored", at: node.location)
                return nil
            }
            let args = node.arguments
            let script = NotifyFIFOScript(command: command.text, user: args.count > 1 ? args[1].text : nil,
                                          group: args.count > 2 ? args[2].text : nil)
            scripts[node.name] = (script, node.location)
            return script
        }

        /// The three FIFOs with their scripts; a script without its FIFO, and two FIFOs on one
        /// path, are reported.
        func resolved(_ ctx: inout Context) -> (NotifyFIFO?, NotifyFIFO?, NotifyFIFO?) {
            var out: [NotifyFIFO?] = []
            var byPath: [String: String] = [:]
            for kind in ["notify_fifo", "vrrp_notify_fifo", "lvs_notify_fifo"] {
                let script = scripts[kind + "_script"]
                guard var entry = paths[kind] else {
                    if let script {
                        ctx.warning(.ignoredSetting, "`\(kind)_script` without `\(kind)` does nothing (ignored)", at: script.at)
                    }
                    out.append(nil)
                    continue
                }
                if let other = byPath[entry.fifo.path] {
                    ctx.error(.invalidValue, "`\(kind)` names the same FIFO as `\(other)` (`\(entry.fifo.path)`); each FIFO needs its own path",
                              at: entry.at)
                    out.append(nil)
                    continue
                }
                byPath[entry.fifo.path] = kind
                entry.fifo.script = script?.script
                out.append(entry.fifo)
            }
            return (out[0], out[1], out[2])
        }
    }

    private mutating func resolveLVSTimeouts(_ node: Node) -> LVSTimeouts? {
        var t = global.lvsTimeouts ?? LVSTimeouts()
        var i = 0
        let args = node.arguments
        if args.isEmpty { _ = ctx.argument(node, expected: "`tcp N`, `tcpfin N` and/or `udp N`") }
        while i < args.count {
            let key = args[i]
            guard i + 1 < args.count else {
                ctx.error(.missingArgument, "`lvs_timeouts \(key.text)` expects a number of seconds", at: key.location)
                break
            }
            let value = ctx.seconds(args[i + 1], for: "lvs_timeouts \(key.text)", in: 0...Context.maximumSeconds)
            switch key.text {
            case "tcp": t.tcp = value
            case "tcpfin": t.tcpFin = value
            case "udp": t.udp = value
            default:
                ctx.error(.invalidValue, "`lvs_timeouts` expects `tcp`, `tcpfin` or `udp`, not `\(key.text)`", at: key.location)
            }
            i += 2
        }
        return t
    }

    private mutating func resolveSyncDaemon(_ node: Node) -> LVSSyncDaemon? {
        let args = node.arguments
        guard let interface = ctx.argument(node, 0, expected: "an interface and a VRRP instance name") else { return nil }
        var d = LVSSyncDaemon(interface: interface.text, vrrpInstance: "")
        var i = 1
        if i < args.count, !["id", "maxlen", "port", "ttl", "group"].contains(args[i].text) {
            d.vrrpInstance = args[i].text
            i += 1
        }
        while i < args.count {
            let key = args[i]
            guard i + 1 < args.count else {
                ctx.error(.missingArgument, "`lvs_sync_daemon \(key.text)` expects a value", at: key.location)
                break
            }
            let v = args[i + 1]
            switch key.text {
            case "id": d.syncID = ctx.integer(v, for: "lvs_sync_daemon id", in: 0...255) ?? 0
            case "maxlen": d.maxLength = ctx.integer(v, for: "lvs_sync_daemon maxlen", in: 1...65507)
            case "port": d.port = ctx.port(v, for: "lvs_sync_daemon port")
            case "ttl": d.ttl = ctx.integer(v, for: "lvs_sync_daemon ttl", in: 1...255)
            case "group": d.group = ctx.address(v, for: "lvs_sync_daemon group")
            default:
                ctx.error(.invalidValue, "`lvs_sync_daemon` expects id, maxlen, port, ttl or group, not `\(key.text)`", at: key.location)
            }
            i += 2
        }
        syncDaemonLocation = node.location
        return d
    }

    // MARK: vrrp_script

    mutating func resolveVRRPScript(_ node: Node) {
        guard let name = ctx.argument(node, expected: "a script name") else { return }
        guard let children = ctx.block(node) else { return }
        var s = VRRPScript(name: name.text)
        var timeoutSet = false
        var hasScript = false
        for child in children {
            ctx.noBlock(child)
            ctx.support(child, in: .vrrpScript)
            switch child.name {
            case "script":
                if let v = ctx.text(child, expected: "a command") {
                    s.script = v
                    hasScript = true
                    scriptUses.append(ScriptUse(command: v, location: child.arguments[0].location, what: "vrrp_script \(name.text)"))
                }
            case "interval":
                if let v = ctx.seconds(child, in: 0.000001...Context.maximumSeconds) { s.interval = v }
            case "timeout":
                if let v = ctx.seconds(child, in: 0.000001...Context.maximumSeconds) { s.timeout = v; timeoutSet = true }
            case "weight":
                if let v = ctx.integer(child, in: -253...253, checkExtra: false) { s.weight = v }
                if child.arguments.count > 1 {
                    if child.arguments[1].text == "reverse" { s.weightReverse = true } else {
                        ctx.error(.invalidValue, "`weight` expects `reverse` after the number, not `\(child.arguments[1].text)`", at: child.arguments[1].location)
                    }
                }
                ctx.noExtraArguments(child, count: 2)
            case "rise":
                if let v = ctx.integer(child, in: 1...Int(Int32.max)) { s.rise = v }
            case "fall":
                if let v = ctx.integer(child, in: 1...Int(Int32.max)) { s.fall = v }
            case "user":
                if let u = ctx.argument(child, expected: "a user name") {
                    s.user = u.text
                    s.group = child.arguments.count > 1 ? child.arguments[1].text : nil
                    ctx.noExtraArguments(child, count: 2)
                }
            case "init_fail":
                s.initFail = ctx.bool(child)
            default:
                ctx.unknownKeyword(child, in: .vrrpScript)
            }
        }
        if !timeoutSet { s.timeout = s.interval }
        if !hasScript {
            ctx.error(.missingRequired, "vrrp_script `\(name.text)` has no `script`", at: node.location)
        }
        if scriptNames[name.text] != nil {
            ctx.error(.duplicateName, "vrrp_script `\(name.text)` is already defined at line \(scriptNames[name.text]!.line)", at: name.location)
            return
        }
        scriptNames[name.text] = name.location
        config.vrrpScripts.append(s)
    }

    // MARK: track_file

    mutating func resolveTrackFile(_ node: Node) {
        guard let name = ctx.argument(node, expected: "a name") else { return }
        guard let children = ctx.block(node) else { return }
        var t = TrackFile(name: name.text)
        for child in children {
            ctx.noBlock(child)
            ctx.support(child, in: .trackFile)
            switch child.name {
            case "file":
                if let v = ctx.word(child, expected: "a file path") { t.file = v }
            case "weight":
                if let v = ctx.integer(child, in: -254...254, checkExtra: false) { t.weight = v }
                if child.arguments.count > 1, child.arguments[1].text == "reverse" { t.reverse = true }
            case "init_file":
                t.initialValue = 0
                for arg in child.arguments {
                    if arg.text == "overwrite" {
                        t.overwrite = true
                    } else if let v = ctx.integer(arg, for: "init_file", in: -2_147_483_647...2_147_483_647) {
                        t.initialValue = v
                    }
                }
            default:
                ctx.unknownKeyword(child, in: .trackFile)
            }
        }
        if t.file.isEmpty { ctx.error(.missingRequired, "track_file `\(name.text)` has no `file`", at: node.location) }
        config.trackFiles.append(t)
    }

    // MARK: tracking lists

    struct TrackEntry {
        var name: Token
        var weight: Int?
        var reverse: Bool
    }

    /// `track_script { NAME [weight N [reverse]] ... }` (and the one-line form), likewise for interfaces and files.
    mutating func trackEntries(_ node: Node) -> [TrackEntry] {
        var out: [TrackEntry] = []
        func parse(_ name: Token, _ rest: ArraySlice<Token>, ctx: inout Context) -> TrackEntry {
            var e = TrackEntry(name: name, weight: nil, reverse: false)
            var i = rest.startIndex
            while i < rest.endIndex {
                let t = rest[i]
                if t.text == "weight" {
                    if i + 1 < rest.endIndex {
                        e.weight = ctx.integer(rest[i + 1], for: "weight", in: -254...254)
                        i += 2
                        continue
                    }
                    ctx.error(.missingArgument, "`weight` expects an integer in -254–254", at: t.location)
                } else if t.text == "reverse" {
                    e.reverse = true
                } else if t.text == "noreverse" {
                    e.reverse = false
                } else {
                    ctx.warning(.unexpectedArgument, "unexpected `\(t.text)` after `\(name.text)` (expected `weight N [reverse]`; ignored)", at: t.location)
                }
                i += 1
            }
            return e
        }
        if let block = node.children {
            for entry in block {
                out.append(parse(entry.keyword, ArraySlice(entry.arguments), ctx: &ctx))
            }
        } else if let first = node.arguments.first {
            out.append(parse(first, ArraySlice(node.arguments.dropFirst()), ctx: &ctx))
        } else {
            _ = ctx.block(node)
        }
        return out
    }

    // MARK: vrrp_sync_group

    mutating func resolveSyncGroup(_ node: Node) {
        guard let name = ctx.argument(node, expected: "a group name") else { return }
        guard let children = ctx.block(node) else { return }
        var g = VRRPSyncGroup(name: name.text)
        var scriptRefs: [TrackEntry] = []
        for child in children {
            ctx.support(child, in: .syncGroup)
            switch child.name {
            case "group":
                if let block = ctx.block(child) {
                    for entry in block {
                        g.group.append(entry.name)
                        g.group.append(contentsOf: entry.arguments.map(\.text))
                    }
                }
                groupMemberLocations[name.text] = child.location
            case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify":
                ctx.noBlock(child)
                if let v = ctx.text(child, expected: "a command") {
                    scriptUses.append(ScriptUse(command: v, location: child.arguments[0].location, what: "`\(child.name)`"))
                    switch child.name {
                    case "notify_master": g.notify.master = v
                    case "notify_backup": g.notify.backup = v
                    case "notify_fault": g.notify.fault = v
                    case "notify_stop": g.notify.stop = v
                    default: g.notify.generic = v
                    }
                }
            case "track_interface":
                g.trackInterfaces = trackEntries(child).map { TrackedInterface(name: $0.name.text, weight: $0.weight, reverse: $0.reverse) }
            case "track_script":
                let entries = trackEntries(child)
                scriptRefs += entries
                g.trackScripts = entries.map { TrackedScript(name: $0.name.text, weight: $0.weight, reverse: $0.reverse) }
            case "track_file":
                g.trackFiles = trackEntries(child).map { TrackedFile(name: $0.name.text, weight: $0.weight, reverse: $0.reverse) }
            case "smtp_alert":
                g.smtpAlert = ctx.bool(child)
            case "global_tracking":
                ctx.deprecated(child, replacement: "sync_group_tracking_weight")
                g.globalTracking = true
            case "sync_group_tracking_weight":
                g.globalTracking = true
            default:
                ctx.unknownKeyword(child, in: .syncGroup)
            }
        }
        trackScriptReferences += scriptRefs.map { ($0.name, $0.weight) }
        if g.group.isEmpty {
            ctx.error(.missingRequired, "vrrp_sync_group `\(name.text)` has no `group { ... }` of instances", at: node.location)
        }
        syncGroupLocations[name.text] = name.location
        config.vrrpSyncGroups.append(g)
    }

    // MARK: vrrp_instance

    mutating func resolveInstance(_ node: Node) {
        guard let name = ctx.argument(node, expected: "an instance name") else { return }
        guard let children = ctx.block(node) else { return }
        var v = VRRPInstance(name: name.text)
        var advert: Token?
        var version: Int?
        var strict: Bool?
        var lowerNoAdvert: Bool?, higherSendAdvert: Bool?
        var accept: Bool?
        var hasVRID = false
        var interfaceToken: Token?
        var garp = global.garp
        var lowerDelaySet = false
        var lowerRepeatSet = false
        var nativeIPv6 = false
        for child in children {
            let isList = ["authentication", "unicast_peer", "virtual_ipaddress", "virtual_ipaddress_excluded",
                          "virtual_routes", "track_interface", "track_script", "track_file", "virtual_rules",
                          "track_process", "track_bfd"].contains(child.name)
            if !isList { ctx.noBlock(child) }
            ctx.support(child, in: .instance)
            switch child.name {
            case "state":
                guard let t = ctx.argument(child, expected: "MASTER or BACKUP") else { break }
                ctx.noExtraArguments(child, count: 1)
                switch t.text.uppercased() {
                case "MASTER": v.initialState = .master
                case "BACKUP", "SLAVE": v.initialState = .backup
                default:
                    ctx.error(.invalidValue, "`state` expects MASTER or BACKUP, not `\(t.text)`", at: t.location)
                }
            case "interface":
                if let t = ctx.argument(child, expected: "an interface name") {
                    ctx.noExtraArguments(child, count: 1)
                    v.interface = t.text
                    interfaceToken = t
                }
            case "virtual_router_id":
                if let id = ctx.integer(child, in: 1...255) { v.virtualRouterID = id }
                hasVRID = true
            case "priority":
                if let p = ctx.integer(child, in: 1...255) { v.priority = p }
            case "advert_int":
                advert = ctx.argument(child, expected: "an interval in seconds")
                ctx.noExtraArguments(child, count: 1)
            case "version":
                version = ctx.integer(child, in: 2...3)
            case "nopreempt":
                v.preempt = false
            case "preempt":
                v.preempt = ctx.bool(child)
            case "preempt_delay":
                if let d = ctx.seconds(child, in: 0...1000) { v.preemptDelay = d }
            case "authentication":
                v.authentication = resolveAuthentication(child)
            case "mcast_src_ip":
                v.multicastSourceIP = ctx.address(child)
                ctx.noExtraArguments(child, count: 1)
            case "unicast_src_ip":
                v.unicastSourceIP = ctx.address(child)
                ctx.noExtraArguments(child, count: 1)
            case "unicast_peer":
                if let block = ctx.block(child) {
                    for entry in block {
                        if let a = ctx.address(entry.keyword, for: "unicast_peer") { v.unicastPeers.append(a) }
                    }
                }
            case "unicast_ttl":
                if let t = ctx.integer(child, in: 1...255) { v.unicastTTL = t }
            case "virtual_ipaddress":
                if let block = ctx.block(child) { v.virtualIPAddresses = block.compactMap { virtualIP($0) } }
            case "virtual_ipaddress_excluded":
                if let block = ctx.block(child) { v.virtualIPAddressesExcluded = block.compactMap { virtualIP($0) } }
            case "virtual_routes":
                if let block = ctx.block(child) { v.virtualRoutes = block.compactMap { virtualRoute($0) } }
            case "track_interface":
                v.trackInterfaces = trackEntries(child).map { TrackedInterface(name: $0.name.text, weight: $0.weight, reverse: $0.reverse) }
            case "track_script":
                let entries = trackEntries(child)
                trackScriptReferences += entries.map { ($0.name, $0.weight) }
                v.trackScripts = entries.map { TrackedScript(name: $0.name.text, weight: $0.weight, reverse: $0.reverse) }
            case "track_file":
                v.trackFiles = trackEntries(child).map { TrackedFile(name: $0.name.text, weight: $0.weight, reverse: $0.reverse) }
            case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify":
                if let cmd = ctx.text(child, expected: "a command") {
                    scriptUses.append(ScriptUse(command: cmd, location: child.arguments[0].location, what: "`\(child.name)`"))
                    switch child.name {
                    case "notify_master": v.notify.master = cmd
                    case "notify_backup": v.notify.backup = cmd
                    case "notify_fault": v.notify.fault = cmd
                    case "notify_stop": v.notify.stop = cmd
                    default: v.notify.generic = cmd
                    }
                }
            case "garp_master_delay":
                if let d = ctx.seconds(child, in: 0...255) { garp.masterDelay = d }
            case "garp_master_repeat":
                if let r = ctx.integer(child, in: 1...255) { garp.masterRepeat = r }
            case "garp_master_refresh":
                if let d = ctx.seconds(child) { garp.masterRefresh = d }
            case "garp_master_refresh_repeat":
                if let r = ctx.integer(child, in: 1...255) { garp.masterRefreshRepeat = r }
            case "garp_lower_prio_delay":
                if let d = ctx.seconds(child, in: 0...255) { garp.lowerPriorityDelay = d; lowerDelaySet = true }
            case "garp_lower_prio_repeat":
                if let r = ctx.integer(child, in: 1...255) { garp.lowerPriorityRepeat = r; lowerRepeatSet = true }
            case "garp_interval", "vrrp_garp_interval":
                if let d = ctx.seconds(child, in: 0...1000) { garp.interval = d }
            case "gna_interval":
                if let d = ctx.seconds(child, in: 0...1000) { garp.neighbourAdvertisementInterval = d }
            case "accept":
                accept = ctx.bool(child)
            case "no_accept":
                accept = false
            case "strict_mode":
                strict = ctx.bool(child)
            case "dont_track_primary":
                v.dontTrackPrimary = true
            case "lower_prio_no_advert":
                lowerNoAdvert = ctx.bool(child)
            case "higher_prio_send_advert":
                higherSendAdvert = ctx.bool(child)
            case "lvs_sync_daemon_interface":
                // keepalived 1.x's per-instance form, still accepted by 2.2.7 with a warning.
                guard let t = ctx.argument(child, expected: "an interface name") else { break }
                ctx.noExtraArguments(child, count: 1)
                if global.lvsSyncDaemon == nil {
                    ctx.warning(.deprecatedKeyword, "`lvs_sync_daemon_interface` is deprecated; use `lvs_sync_daemon \(t.text) \(name.text)` in global_defs (taken as that)", at: child.location)
                    global.lvsSyncDaemon = LVSSyncDaemon(interface: t.text, vrrpInstance: name.text)
                    config.global.lvsSyncDaemon = global.lvsSyncDaemon
                    syncDaemonLocation = child.location
                } else {
                    ctx.warning(.deprecatedKeyword, "`lvs_sync_daemon_interface` is deprecated and ignored: an `lvs_sync_daemon` is already configured", at: child.location)
                }
            case "use_vmac":
                v.useVMAC = child.arguments.first?.text ?? ""
            case "smtp_alert":
                v.smtpAlert = ctx.bool(child)
            case "native_ipv6":
                nativeIPv6 = true
            default:
                ctx.unknownKeyword(child, in: .instance)
            }
        }
        // Effective settings.
        v.version = version ?? global.vrrpVersion
        v.strictMode = strict ?? global.vrrpStrict
        v.lowerPriorityNoAdvert = lowerNoAdvert ?? global.vrrpLowerPriorityNoAdvert
        v.higherPrioritySendAdvert = higherSendAdvert ?? global.vrrpHigherPrioritySendAdvert
        v.accept = accept ?? !v.strictMode
        if !lowerDelaySet && !globalGarpSet.contains("lower_delay") { garp.lowerPriorityDelay = garp.masterDelay }
        if !lowerRepeatSet && !globalGarpSet.contains("lower_repeat") { garp.lowerPriorityRepeat = garp.masterRepeat }
        v.garp = garp
        if nativeIPv6 || v.virtualIPAddresses.first?.address.family == .inet6 { v.family = .inet6 }
        if let a = advert { v.advertInterval = advertInterval(a, version: v.version, instance: name.text) ?? 1 }

        if !hasVRID {
            ctx.error(.missingRequired, "vrrp_instance `\(name.text)`: the virtual router id must be set (`virtual_router_id 1–255`)", at: node.location)
        }
        if interfaceToken == nil, let fallback = global.otherSettings["default_interface"], !fallback.isEmpty {
            v.interface = fallback
        } else if interfaceToken == nil {
            ctx.error(.missingRequired, "vrrp_instance `\(name.text)` has no `interface`", at: node.location)
        } else if let t = interfaceToken, t.text == "lo" {
            ctx.error(.loopbackInterface, "vrrp_instance `\(name.text)` cannot run on the loopback interface `lo`", at: t.location)
        }
        if v.strictMode, v.authentication != nil {
            ctx.warning(.ignoredSetting, "vrrp_instance `\(name.text)`: strict mode does not allow authentication (ignored)", at: node.location)
            v.authentication = nil
        }
        if v.version == 3, v.authentication != nil {
            ctx.warning(.ignoredSetting, "vrrp_instance `\(name.text)`: VRRPv3 has no authentication (RFC 5798 §9); `authentication` ignored", at: node.location)
            v.authentication = nil
        }
        if let previous = instanceLocations[name.text] {
            ctx.error(.duplicateName, "vrrp_instance `\(name.text)` is already defined at \(previous.file):\(previous.line)", at: name.location)
            return
        }
        instanceLocations[name.text] = name.location
        if hasVRID, v.virtualRouterID > 0, !v.interface.isEmpty {
            let key = "\(v.interface)/\(v.family)/\(v.virtualRouterID)"
            if let (otherName, otherLocation) = vridOwners[key] {
                ctx.error(.duplicateVirtualRouterID,
                          "vrrp_instance `\(name.text)` uses virtual_router_id \(v.virtualRouterID) on \(v.interface), already used by `\(otherName)` at \(otherLocation.file):\(otherLocation.line)",
                          at: name.location)
            } else {
                vridOwners[key] = (name.text, name.location)
            }
        }
        config.vrrpInstances.append(v)
    }

    private mutating func advertInterval(_ t: Token, version: Int, instance: String) -> Seconds? {
        if version == 2 {
            guard let d = ctx.seconds(t, for: "advert_int", in: 0...Context.maximumSeconds) else { return nil }
            guard (1...255).contains(d) else {
                ctx.error(.valueOutOfRange, "`advert_int` value \(t.text) is out of range for VRRPv2 (expected 1–255 whole seconds, RFC 3768 §5.3.7; use `version 3` for sub-second adverts)", at: t.location)
                return nil
            }
            if d != d.rounded() {
                let r = d.rounded()
                ctx.warning(.valueAdjusted, "vrrp_instance `\(instance)`: VRRPv2 advert_int \(t.text) is not a whole number of seconds (RFC 3768 §5.3.7); using \(Int(r))", at: t.location)
                return r
            }
            return d
        }
        guard let d = ctx.seconds(t, for: "advert_int", in: 0...Context.maximumSeconds) else { return nil }
        guard (0.01...40.95).contains(d) else {
            ctx.error(.valueOutOfRange, "`advert_int` value \(t.text) is out of range for VRRPv3 (expected 0.01–40.95 seconds, RFC 5798 §5.2.7)", at: t.location)
            return nil
        }
        let cs = (d * 100).rounded() / 100
        if abs(cs - d) > 1e-9 {
            ctx.warning(.valueAdjusted, "vrrp_instance `\(instance)`: VRRPv3 advert_int \(t.text) is rounded to centiseconds (RFC 5798 §5.2.7); using \(cs)", at: t.location)
        }
        return cs
    }

    private mutating func resolveAuthentication(_ node: Node) -> VRRPAuthentication? {
        guard let block = ctx.block(node) else { return nil }
        var type: VRRPAuthentication.Kind?
        var password: String?
        var passToken: Token?
        for child in block {
            ctx.noBlock(child)
            ctx.support(child, in: .authentication)
            switch child.name {
            case "auth_type":
                guard let t = ctx.argument(child, expected: "PASS or AH") else { break }
                switch t.text.uppercased() {
                case "PASS": type = .pass
                case "AH": type = .ah
                default: ctx.error(.invalidValue, "`auth_type` expects PASS or AH, not `\(t.text)`", at: t.location)
                }
            case "auth_pass":
                if let t = ctx.argument(child, expected: "a password") {
                    passToken = t
                    password = child.arguments.map(\.text).joined(separator: " ")
                }
            default:
                ctx.unknownKeyword(child, in: .authentication)
            }
        }
        guard var pw = password else {
            if type != nil { ctx.error(.missingRequired, "`authentication` has no `auth_pass`", at: node.location) }
            return nil
        }
        if pw.utf8.count > 8, let t = passToken {
            ctx.warning(.valueAdjusted, "`auth_pass` is longer than 8 characters; truncated to 8 as keepalived does (RFC 2338 §5.3.10)", at: t.location)
            pw = String(decoding: Array(pw.utf8.prefix(8)), as: UTF8.self)
        }
        return VRRPAuthentication(type: type ?? .pass, password: pw)
    }

    /// `ADDR[/LEN] [brd IP] [dev IF] [scope S] [label L] [flags...]`.
    private mutating func virtualIP(_ node: Node) -> VirtualIPAddress? {
        let first = node.keyword
        var text = first.text
        var prefix: Int?
        if let slash = text.firstIndex(of: "/") {
            let len = text[text.index(after: slash)...]
            text = String(text[..<slash])
            guard let p = Int(len) else {
                ctx.error(.invalidAddress, "invalid prefix length `\(len)` in virtual address `\(first.text)`", at: first.location)
                return nil
            }
            prefix = p
        }
        guard let address = IPAddress(text) else {
            ctx.error(.invalidAddress, "`virtual_ipaddress` expects an IP address[/prefix], not `\(first.text)`", at: first.location)
            return nil
        }
        let maxPrefix = address.family == .inet ? 32 : 128
        if let p = prefix, !(0...maxPrefix).contains(p) {
            ctx.error(.valueOutOfRange, "prefix length \(p) of `\(first.text)` is out of range (expected 0–\(maxPrefix))", at: first.location)
            return nil
        }
        var vip = VirtualIPAddress(address: address, prefixLength: prefix)
        let args = node.arguments
        var i = 0
        while i < args.count {
            let key = args[i].text
            let needsValue = ["brd", "dev", "scope", "label", "broadcast", "preferred_lft", "track_group"].contains(key)
            if needsValue {
                guard i + 1 < args.count else {
                    ctx.error(.missingArgument, "`\(key)` in virtual address `\(first.text)` expects a value", at: args[i].location)
                    break
                }
                let value = args[i + 1]
                switch key {
                case "brd", "broadcast":
                    if value.text != "+" && value.text != "-" { vip.broadcast = ctx.address(value, for: "brd") }
                case "dev": vip.device = value.text
                case "scope": vip.scope = value.text
                case "label": vip.label = value.text
                default: vip.flags.append("\(key) \(value.text)")
                }
                i += 2
            } else {
                vip.flags.append(key)
                i += 1
            }
        }
        return vip
    }

    private mutating func virtualRoute(_ node: Node) -> VirtualRoute? {
        let words = [node.keyword] + node.arguments
        var route = VirtualRoute(destination: nil, prefixLength: 0, words: words.map(\.text))
        var i = 0
        var haveDestination = false
        let types: Set<String> = ["blackhole", "unreachable", "prohibit", "throw", "local", "broadcast", "anycast", "multicast", "unicast", "nat"]
        func prefixed(_ t: Token) -> (IPAddress, Int)? {
            var s = t.text
            var len: Int?
            if let slash = s.firstIndex(of: "/") {
                len = Int(s[s.index(after: slash)...])
                s = String(s[..<slash])
                if len == nil { return nil }
            }
            guard let a = IPAddress(s) else { return nil }
            return (a, len ?? (a.family == .inet ? 32 : 128))
        }
        while i < words.count {
            let w = words[i]
            let next: Token? = i + 1 < words.count ? words[i + 1] : nil
            switch w.text {
            case "src":
                if let n = next { route.source = ctx.address(n, for: "src") }
                i += 2
            case "to":
                i += 1
            case "via", "gw":
                if let n = next { route.gateway = ctx.address(n, for: w.text) }
                i += 2
            case "dev", "oif":
                route.device = next?.text
                i += 2
            case "scope":
                route.scope = next?.text
                i += 2
            case "table":
                route.table = next?.text
                i += 2
            case "metric", "preference", "priority":
                if let n = next { route.metric = ctx.integer(n, for: w.text, in: 0...Int(UInt32.max)) }
                i += 2
            case "default" where !haveDestination:
                haveDestination = true
                i += 1
            case "or", "protocol", "tos", "dsfield", "realms", "mtu", "advmss", "rtt", "rttvar", "reordering", "window",
                 "cwnd", "ssthresh", "initcwnd", "initrwnd", "features", "quickack", "congctl", "pref", "fastopen_no_cookie",
                 "rto_min", "hoplimit", "expires", "encap", "nexthop", "weight", "no_track", "onlink", "track_group":
                i += (w.text == "no_track" || w.text == "onlink") ? 1 : 2
            default:
                if types.contains(w.text) && !haveDestination {
                    route.type = w.text
                    i += 1
                } else if !haveDestination, let (a, len) = prefixed(w) {
                    route.destination = a
                    route.prefixLength = len
                    haveDestination = true
                    i += 1
                } else if !haveDestination {
                    ctx.error(.invalidAddress, "`virtual_routes` expects a destination address[/prefix], not `\(w.text)`", at: w.location)
                    return nil
                } else {
                    i += 1
                }
            }
        }
        if !haveDestination {
            ctx.error(.missingArgument, "virtual route has no destination", at: node.location)
            return nil
        }
        return route
    }
}
