import ArgumentParser
import Foundation
import VigilDaemon
import VigilSupport

/// `vigil ctl`: talks to a running `vigil` over its control socket.
struct Ctl: AsyncParsableCommand {
    /// The name is spelled out: derived, ArgumentParser reflects on the type at every start of `vigil`.
    static let configuration = CommandConfiguration(
        commandName: "vigil ctl",
        abstract: "Ask a running vigil: status (its state, as GET /status shows it) or reload (as SIGHUP, answering with the diagnostics and the changes applied).")

    @Option(name: .customLong("socket"), help: "The daemon's control socket.")
    var socket: String = ControlService.defaultPath

    @Flag(name: .customLong("json"), help: "Print the daemon's answer as JSON.")
    var json = false

    @Argument(help: "status or reload")
    var command: String

    func run() async throws {
        guard ["status", "reload"].contains(command) else {
            throw ValidationError("unknown command \(command): expected status or reload")
        }
        let response: ControlResponse
        do {
            response = try ControlClient.send(ControlRequest(command: command), to: socket)
        } catch {
            writeStandardError("vigil ctl: \(error)\n")
            throw ExitCode(1)
        }
        if json {
            let data = (try? StatusDocument.encoder.encode(response)) ?? Data()
            writeStandardOutput(String(decoding: data, as: UTF8.self) + "\n")
        } else {
            writeStandardOutput(Self.text(response))
        }
        if !response.ok {
            if let error = response.error { writeStandardError("vigil ctl: \(error)\n") }
            throw ExitCode(1)
        }
    }

    /// A person's reading of an answer: one line per instance, virtual and real server.
    static func text(_ r: ControlResponse) -> String {
        var lines: [String] = []
        if let s = r.status {
            lines.append("vigil pid \(s.daemon.pid), \(s.daemon.configFile), up \(Int(s.daemon.uptimeSeconds)) s, reloads \(s.daemon.reloads.applied) applied, \(s.daemon.reloads.refused) refused")
            for i in s.vrrp?.instances ?? [] {
                lines.append("VRRP \(i.name) \(i.state) priority \(i.effectivePriority)/\(i.configuredPriority) on \(i.interface) VRID \(i.virtualRouterId): \(i.virtualAddresses.joined(separator: ", "))")
            }
            for vs in s.virtualServers ?? [] {
                lines.append("\(vs.key) \(vs.scheduler) quorum \(vs.quorum.up ? "up" : "down") (\(vs.quorum.liveWeight)/\(vs.quorum.required))"
                             + (vs.sorryServer?.active == true ? ", sorry server active" : ""))
                for rs in vs.realServers {
                    let why = rs.checkers.compactMap(\.reason).first.map { ": \($0)" } ?? ""
                    lines.append("  -> \(rs.key) \(rs.alive ? "alive" : "down") weight \(rs.effectiveWeight)/\(rs.configuredWeight)\(why)")
                }
            }
        }
        if let reload = r.reload {
            lines.append("reload \(reload.result): \(reload.changes.count) changes, \(reload.operations) IPVS operations")
            lines += reload.changes.map { "  \($0)" }
            lines += reload.diagnostics
        }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }
}
