import ArgumentParser
import Foundation
import VigilDaemon
import VigilSupport

/// `vigil ctl`: talks to a running `vigil` over its control socket.
struct Ctl: AsyncParsableCommand {
    /// The name is spelled out: derived, ArgumentParser reflects on the type at every start of `vigil`.
    static let configuration = CommandConfiguration(
        commandName: "vigil ctl",
        abstract: "Ask a running vigil for its status, or steer it without a reload.",
        discussion: """
          VS and RS are ADDRESS:PORT or [IPv6]:PORT; -u: a UDP virtual server;
          -f MARK: a firewall-mark virtual server (then VS is left out).
            status                   the daemon's state, as GET /status has it
            reload                   as SIGHUP; answers with diagnostics and changes
            drain VS RS [--remove]   weight 0, connections finish; --remove: out
                                     of IPVS once its connections reach 0
            undrain VS RS            ends a drain
            weight VS RS N|clear     this weight instead of the configured one
            disable VS RS            maintenance: out whatever its checkers say
            enable VS RS             back at once if its checkers pass
            check VS RS              runs its checkers now
            vrrp INSTANCE priority N|restore
            vrrp INSTANCE backup     hands mastership over (priority 0, then 1)
          Overrides survive reloads and restarts (vigil --state-file).
          """)

    @Option(name: .customLong("socket"), help: "The daemon's control socket.")
    var socket: String = ControlService.defaultPath

    @Flag(name: .customLong("json"), help: "Print the daemon's answer as JSON.")
    var json = false

    @Flag(name: .customShort("u"), help: "The virtual server is UDP.")
    var udp = false

    @Option(name: .customShort("f"), help: ArgumentHelp("A firewall-mark virtual server.", valueName: "MARK"))
    var firewallMark: UInt32?

    @Flag(name: .customLong("remove"), help: "drain: remove the real server from IPVS once its connections reach 0.")
    var remove = false

    @Argument(help: "status, reload, drain, undrain, weight, disable, enable, check or vrrp")
    var command: String

    @Argument(help: "The command's servers or instance, and value.")
    var operands: [String] = []

    func run() async throws {
        let request: ControlRequest
        do throws(ControlRequest.UsageError) {
            request = try ControlRequest.parse(command: command, operands: operands, udp: udp, firewallMark: firewallMark, remove: remove)
        } catch {
            throw ValidationError(error.description)
        }
        let response: ControlResponse
        do {
            response = try ControlClient.send(request, to: socket)
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
                    let o = rs.override.map { " [\($0)]" } ?? ""
                    lines.append("  -> \(rs.key) \(rs.alive ? "alive" : "down") weight \(rs.effectiveWeight)/\(rs.configuredWeight)\(o)\(why)")
                }
            }
        }
        if let done = r.done { lines.append(done) }
        if let reload = r.reload {
            lines.append("reload \(reload.result): \(reload.changes.count) changes, \(reload.operations) IPVS operations")
            lines += reload.changes.map { "  \($0)" }
            lines += reload.diagnostics
        }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }
}
