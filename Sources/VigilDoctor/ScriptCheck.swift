import KeepalivedConfig

/// One command line the configuration runs, and who runs it.
struct ScriptUse: Hashable {
    var command: String
    var what: String
    var user: String?
}

extension DoctorContext {
    /// Every script the configuration can run: vrrp_script, notify*, MISC_CHECK, quorum_up/down, notify_up/down.
    var scriptUses: [ScriptUse] {
        guard let c = configuration else { return [] }
        var out: [ScriptUse] = []
        func notify(_ n: VRRPNotify, _ owner: String) {
            for (key, command) in [("notify_master", n.master), ("notify_backup", n.backup), ("notify_fault", n.fault),
                                   ("notify_stop", n.stop), ("notify", n.generic)] {
                if let command { out.append(ScriptUse(command: command, what: "\(key) of \(owner)", user: nil)) }
            }
        }
        for s in c.vrrpScripts { out.append(ScriptUse(command: s.script, what: "vrrp_script \(s.name)", user: s.user)) }
        for i in c.vrrpInstances { notify(i.notify, "vrrp_instance \(i.name)") }
        for g in c.vrrpSyncGroups { notify(g.notify, "vrrp_sync_group \(g.name)") }
        for vs in c.virtualServers {
            let name = Self.name(vs)
            if let q = vs.quorumUp { out.append(ScriptUse(command: q, what: "quorum_up of \(name)", user: nil)) }
            if let q = vs.quorumDown { out.append(ScriptUse(command: q, what: "quorum_down of \(name)", user: nil)) }
            for rs in vs.realServers {
                if let n = rs.notifyUp { out.append(ScriptUse(command: n, what: "notify_up of \(rs.address)", user: nil)) }
                if let n = rs.notifyDown { out.append(ScriptUse(command: n, what: "notify_down of \(rs.address)", user: nil)) }
                for case .misc(let m) in rs.checkers {
                    out.append(ScriptUse(command: m.path, what: "MISC_CHECK of \(rs.address)", user: m.user))
                }
            }
        }
        return out
    }

    /// `script.PATH`: each script exists, is executable and passes keepalived's script security rule.
    mutating func checkScripts() {
        guard let c = configuration else { return }
        let uses = scriptUses
        guard !uses.isEmpty else { return }
        let secure = c.global.enableScriptSecurity
        if secure {
            add(.ok("script.security", "enable_script_security", "set: scripts failing the ownership rule are refused"))
        } else {
            add(Finding(id: "script.security", severity: .warning, check: "enable_script_security",
                        message: "not set in global_defs: scripts run even when users other than root can change them",
                        fix: "add `enable_script_security` to global_defs (then every script below must pass)"))
        }
        var seen: Set<String> = []
        for use in uses {
            guard let program = splitScriptCommand(use.command).first,
                  !program.hasPrefix("<"), !program.hasPrefix("["), !program.hasPrefix("$"),
                  seen.insert(program).inserted else { continue }
            let check = "script of \(use.what)"
            guard let (path, status) = locate(program) else {
                add(Finding(id: "script.\(program)", severity: .error, check: check,
                            message: "`\(program)` not found\(program.contains("/") ? "" : " in PATH"); it fails every time it runs",
                            fix: "install -o root -g root -m 0755 YOUR_SCRIPT \(program.contains("/") ? program : "/usr/local/sbin/" + program)"))
                continue
            }
            let id = "script.\(path)"
            if !status.isRegularFile || !status.isExecutable {
                add(Finding(id: id, severity: .error, check: check,
                            message: "\(path) is \(status.isRegularFile ? "not executable" : "not a regular file")",
                            fix: status.isRegularFile ? "chmod 0755 \(path)" : "point \(use.what) at an executable file"))
                continue
            }
            let uid = (use.user ?? c.global.scriptUser).flatMap { host.userID($0) } ?? 0
            if let reason = scriptSecurityViolation(path: path, runAsUID: uid, status: { host.fileStatus($0)?.ownership }) {
                let culprit = reason.components(separatedBy: " is ").first ?? path
                let fix = reason.contains("owned by") ? "chown root:root \(culprit)" : "chmod go-w \(culprit)"
                add(Finding(id: id, severity: secure ? .error : .warning, check: check,
                            message: secure ? "refused under enable_script_security: \(reason)" : "unsafe (\(reason)); enable_script_security would refuse it",
                            fix: fix))
            } else {
                add(.ok(id, check, "\(path) is executable and owned by root, not writable by others"))
            }
        }
    }

    /// A program as `execvp` finds it: a path as given, else the first executable in PATH.
    private func locate(_ program: String) -> (String, FileStatus)? {
        if program.contains("/") { return host.fileStatus(program).map { (program, $0) } }
        for dir in host.searchPath {
            let candidate = "\(dir)/\(program)"
            if let status = host.fileStatus(candidate), status.isRegularFile, status.isExecutable { return (candidate, status) }
        }
        return nil
    }
}
