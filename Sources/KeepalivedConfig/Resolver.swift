#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import VigilSupport

/// A script command found in the configuration, checked for existence and executability.
struct ScriptUse {
    var command: String
    var location: SourceLocation
    var what: String
}

/// Turns the statement tree into the resolved model, checking values and cross-references.
struct Resolver {
    var ctx = Context()
    var config = KeepalivedConfiguration()
    var global: GlobalDefinitions
    let options: LoadOptions
    var globalGarpSet: Set<String> = []
    var scriptNames: [String: SourceLocation] = [:]
    var instanceLocations: [String: SourceLocation] = [:]
    var vridOwners: [String: (String, SourceLocation)] = [:]
    var syncGroupLocations: [String: SourceLocation] = [:]
    var groupMemberLocations: [String: SourceLocation] = [:]
    var trackScriptReferences: [(Token, Int?)] = []
    var scriptUses: [ScriptUse] = []
    var syncDaemonLocation: SourceLocation?
    var warnedBlocks: Set<String> = []
    /// Virtual servers awaiting group resolution: index into config.virtualServers and the group token.
    var groupReferences: [(Int, Token)] = []
    var virtualServerKeys: [VirtualServerKey: SourceLocation] = [:]
    var fileCheckReferences: [(String, SourceLocation)] = []

    init(options: LoadOptions, hostName: String) {
        self.options = options
        self.global = GlobalDefinitions(routerID: hostName)
    }

    mutating func resolve(_ root: [Node]) -> KeepalivedConfiguration {
        // global_defs first: instances inherit from it wherever it appears.
        for node in root where node.name == "global_defs" { resolveGlobal(node) }
        config.global = global
        for node in root {
            ctx.support(node, in: .topLevel)
            switch node.name {
            case "global_defs": break
            case "vrrp_script": resolveVRRPScript(node)
            case "vrrp_sync_group": resolveSyncGroup(node)
            case "vrrp_instance": resolveInstance(node)
            case "virtual_server_group": resolveVirtualServerGroup(node)
            case "virtual_server": resolveVirtualServer(node)
            case "track_file", "vrrp_track_file": resolveTrackFile(node)
            default:
                if node.keyword.kind == .open { break } // anonymous block after an unexpected `{`, already reported
                ctx.unknownKeyword(node, in: .topLevel)
            }
        }
        crossCheck()
        return config
    }

    // MARK: Cross-references

    private mutating func crossCheck() {
        let defined = Set(config.vrrpScripts.map(\.name))
        for (token, _) in trackScriptReferences where !defined.contains(token.text) {
            var message = "track_script `\(token.text)` names no vrrp_script"
            if let s = Suggest.nearest(token.text, in: Array(defined)) { message += "; did you mean `\(s)`?" }
            ctx.error(.undefinedReference, message, at: token.location)
        }

        // Sync groups: members must exist; tracked script weights inside a group are ignored (keepalived warns).
        for gi in config.vrrpSyncGroups.indices {
            let group = config.vrrpSyncGroups[gi]
            let at = groupMemberLocations[group.name] ?? syncGroupLocations[group.name]!
            for member in group.group {
                guard let ii = config.vrrpInstances.firstIndex(where: { $0.name == member }) else {
                    ctx.error(.undefinedReference, "vrrp_sync_group `\(group.name)` names instance `\(member)`, which is not defined", at: at)
                    continue
                }
                config.vrrpInstances[ii].syncGroup = group.name
                if group.globalTracking { continue }
                for ti in config.vrrpInstances[ii].trackScripts.indices {
                    let t = config.vrrpInstances[ii].trackScripts[ti]
                    let weight = t.weight ?? config.vrrpScript(named: t.name)?.weight ?? 0
                    if weight != 0 {
                        ctx.warning(.syncGroupTrackWeight,
                                    "vrrp_instance `\(member)` is in sync group `\(group.name)`: weight \(weight) of tracked script `\(t.name)` is ignored (a failing script faults the group)",
                                    at: instanceLocations[member] ?? at)
                        config.vrrpInstances[ii].trackScripts[ti].weight = 0
                    }
                }
            }
        }

        if let d = global.lvsSyncDaemon, let at = syncDaemonLocation, !d.vrrpInstance.isEmpty,
           config.vrrpInstance(named: d.vrrpInstance) == nil {
            ctx.error(.undefinedReference, "lvs_sync_daemon names vrrp_instance `\(d.vrrpInstance)`, which is not defined", at: at)
        }

        // Virtual server groups.
        for (index, token) in groupReferences {
            guard let group = config.virtualServerGroup(named: token.text) else {
                var message = "virtual_server group `\(token.text)` names no virtual_server_group"
                if let s = Suggest.nearest(token.text, in: config.virtualServerGroups.map(\.name)) { message += "; did you mean `\(s)`?" }
                ctx.error(.undefinedReference, message, at: token.location)
                continue
            }
            if let family = group.entries.lazy.compactMap({ e -> AddressFamily? in
                switch e {
                case .address(let s): s.address.family
                case .range(let a, _, _): a.family
                case .firewallMark: nil
                }
            }).first {
                config.virtualServers[index].family = family
            }
        }

        // FILE_CHECK and track_file references.
        let files = Set(config.trackFiles.map(\.name))
        for (name, at) in fileCheckReferences where !files.contains(name) {
            ctx.error(.undefinedReference, "FILE_CHECK names track_file `\(name)`, which is not defined", at: at)
        }

        if options.checkScripts { checkScripts() }
    }

    // MARK: Scripts

    private mutating func checkScripts() {
        guard !scriptUses.isEmpty else { return }
        if !global.enableScriptSecurity {
            let first = scriptUses[0]
            ctx.warning(.scriptSecurity,
                        "scripts are configured but `enable_script_security` is not set in global_defs; keepalived logs SECURITY VIOLATION for scripts writable by non-root users",
                        at: first.location)
        }
        var checked: [String: Bool] = [:]
        for use in scriptUses {
            guard let program = Resolver.programName(use.command) else { continue }
            if checked[program] != nil { continue }
            checked[program] = true
            switch Resolver.locate(program) {
            case .found: break
            case .notFound:
                ctx.warning(.scriptNotFound, "\(use.what): script `\(program)` not found; it will fail when run", at: use.location)
            case .notExecutable(let path):
                ctx.warning(.scriptNotExecutable, "\(use.what): script `\(path)` is not executable", at: use.location)
            }
        }
    }

    /// The program a command line runs (its first word); nil for shell syntax Vigil cannot check.
    static func programName(_ command: String) -> String? {
        guard let first = command.split(whereSeparator: { $0 == " " || $0 == "\t" }).first else { return nil }
        let p = String(first)
        if p.hasPrefix("<") || p.hasPrefix("[") || p.hasPrefix("$") { return nil }
        return p
    }

    enum ScriptLocation { case found, notFound, notExecutable(String) }

    /// Finds a program as `execvp` would (absolute/relative path, else PATH plus sbin directories).
    static func locate(_ program: String) -> ScriptLocation {
        if program.contains("/") {
            if access(program, F_OK) != 0 { return .notFound }
            var st = stat()
            if stat(program, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { return .notExecutable(program) }
            return access(program, X_OK) == 0 ? .found : .notExecutable(program)
        }
        let path = (getenv("PATH").map { String(cString: $0) } ?? "") + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if access(candidate, X_OK) == 0 { return .found }
        }
        return .notFound
    }
}
