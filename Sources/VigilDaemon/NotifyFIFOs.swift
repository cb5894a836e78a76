import KeepalivedConfig
import Logging
import Synchronization
import VRRP
import VigilSupport

/// One notify FIFO as the daemon runs it: `global_defs`' entry with `script_user` applied.
struct NotifyFIFOSettings: Sendable, Hashable {
    var path: String
    var owner: String?
    var ownerGroup: String?
    /// Program, arguments and the FIFO's path last, as keepalived passes it.
    var script: [String]?
    var scriptUser: String?
    var scriptGroup: String?

    init(_ fifo: NotifyFIFO, global: GlobalDefinitions) {
        path = fifo.path
        owner = fifo.user ?? global.scriptUser
        ownerGroup = fifo.user == nil ? global.scriptGroup : fifo.group
        if let s = fifo.script {
            let words = splitScriptCommand(s.command)
            script = words.isEmpty ? nil : words + [fifo.path]
            scriptUser = s.user ?? global.scriptUser
            scriptGroup = s.user == nil ? global.scriptGroup : s.group
        }
    }
}

/// The notify FIFOs of `global_defs` (`notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo`) and
/// their reader scripts: the one owner of the open FIFOs and the running scripts.
///
/// The VRRP half's lines go to `notify_fifo` and `vrrp_notify_fifo`, the checker half's to
/// `notify_fifo` and `lvs_notify_fifo`; a FIFO of a half that does not run is not opened. Writes
/// never block (``NotifyFIFOWriter``); a full pipe drops lines with one warning until a line
/// gets through again.
final class NotifyFIFOs: Sendable {
    enum Kind: String, Sendable, CaseIterable {
        case all = "notify_fifo"
        case vrrp = "vrrp_notify_fifo"
        case lvs = "lvs_notify_fifo"
    }

    private struct Open {
        var settings: NotifyFIFOSettings
        var writer: NotifyFIFOWriter
        var script: RunningProgram?
    }

    private struct State {
        var open: [Kind: Open] = [:]
        /// FIFOs whose last line was dropped (warned about once).
        var dropping: Set<Kind> = []
    }

    private let state = Mutex(State())
    private let runsVRRP: Bool
    private let runsCheckers: Bool
    private let logger: Logger

    init(runsVRRP: Bool, runsCheckers: Bool, logger: Logger = Logger(label: "vigil.fifo")) {
        self.runsVRRP = runsVRRP
        self.runsCheckers = runsCheckers
        self.logger = logger
    }

    /// A VRRP state line.
    func vrrp(_ line: String) { write(line, to: [.all, .vrrp]) }

    /// A checker (LVS) state line.
    func lvs(_ line: String) { write(line, to: [.all, .lvs]) }

    private func write(_ line: String, to kinds: [Kind]) {
        for kind in kinds {
            let outcome: (NotifyFIFOWrite, String)? = state.withLock { s in
                guard let o = s.open[kind] else { return nil }
                let r = o.writer.write(line)
                if r == .written {
                    s.dropping.remove(kind)
                    return nil
                }
                return s.dropping.insert(kind).inserted ? (r, o.settings.path) : nil
            }
            guard let (r, path) = outcome else { continue }
            switch r {
            case .droppedFull: logger.warning("\(kind.rawValue) \(path) is full (no reader keeping up): dropping lines until it drains, first `\(line)`")
            case .failed(let e): logger.warning("\(kind.rawValue) \(path): write failed (\(e)): dropping `\(line)`")
            case .written, .closed: break
            }
        }
    }

    /// Opens, closes or re-opens each FIFO so that what runs matches `global` (start and reload):
    /// an unchanged FIFO stays open and its script keeps running. Returns one line per change.
    @discardableResult
    func apply(_ global: GlobalDefinitions) async -> [String] {
        var wanted: [Kind: NotifyFIFOSettings] = [:]
        if let f = global.notifyFIFO { wanted[.all] = NotifyFIFOSettings(f, global: global) }
        if runsVRRP, let f = global.vrrpNotifyFIFO { wanted[.vrrp] = NotifyFIFOSettings(f, global: global) }
        if runsCheckers, let f = global.lvsNotifyFIFO { wanted[.lvs] = NotifyFIFOSettings(f, global: global) }
        var changes: [String] = []
        let stale = state.withLock { s -> [Open] in
            var out: [Open] = []
            for kind in Kind.allCases where s.open[kind] != nil && s.open[kind]!.settings != wanted[kind] {
                out.append(s.open.removeValue(forKey: kind)!)
                s.dropping.remove(kind)
            }
            return out
        }
        for o in stale { await Self.close(o) }
        for kind in Kind.allCases {
            guard let settings = wanted[kind], state.withLock({ $0.open[kind] == nil }) else { continue }
            let writer: NotifyFIFOWriter
            do {
                writer = try NotifyFIFOWriter(path: settings.path, user: settings.owner, group: settings.ownerGroup)
            } catch {
                logger.error("\(kind.rawValue): \(error); no lines are written to it")
                changes.append("\(kind.rawValue) \(settings.path): not opened: \(error.message)")
                continue
            }
            let script = await startScript(kind, settings, global: global)
            state.withLock { $0.open[kind] = Open(settings: settings, writer: writer, script: script) }
            changes.append("\(kind.rawValue) \(settings.path): opened\(script == nil ? "" : ", reader started")")
        }
        let removed = stale.filter { o in !wanted.values.contains { $0.path == o.settings.path } }
        changes += removed.map { "\($0.settings.path): notify FIFO closed" }
        return changes
    }

    private func startScript(_ kind: Kind, _ settings: NotifyFIFOSettings, global: GlobalDefinitions) async -> RunningProgram? {
        guard let command = settings.script else { return nil }
        if global.enableScriptSecurity {
            do {
                try checkScriptSecurity(path: command[0])
            } catch {
                logger.error("\(kind.rawValue)_script: \(error)")
                return nil
            }
        }
        switch await ProgramRunner.start(command, user: settings.scriptUser, group: settings.scriptGroup) {
        case .success(let p):
            logger.info("\(kind.rawValue)_script \(command.joined(separator: " ")) started (pid \(p.pid))")
            return p
        case .failure(let e):
            logger.error("\(kind.rawValue)_script not started: \(e)")
            return nil
        }
    }

    /// Stops every reader script and closes every FIFO (those Vigil created are removed).
    func close() async {
        let all = state.withLock { s -> [Open] in
            defer { s.open = [:] }
            return Array(s.open.values)
        }
        for o in all { await Self.close(o) }
    }

    /// Closes the FIFO, then lets its reader finish what is buffered (it sees end of file once
    /// no writer is left) for up to a second before ending it.
    private static func close(_ o: Open) async {
        o.writer.close()
        await o.script?.stop(patience: .seconds(1))
    }
}
