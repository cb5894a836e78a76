import Foundation
import Logging
import ServiceLifecycle
import Testing
import VigilDaemon
import VigilTestSupport

@Suite("Control socket and vigil ctl", .serialized)
struct ControlSocketTests {
    @Test("status answers over a root-only socket; bad requests get a specific error; a non-root client is refused")
    func statusAndRefusals() async throws {
        let path = NSTemporaryDirectory() + "vigil-ctl-\(getpid())/control.sock"
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let sources = StatusSources(checker: nil, vrrp: nil, coordinator: nil, configFile: "/etc/keepalived/keepalived.conf", ipvs: nil)
        let control = try ControlService.bind(path: path, commands: ControlCommands(sources: sources, coordinator: nil),
                                              logger: Logger(label: "test.control"))
        let group = ServiceGroup(configuration: .init(services: [.init(service: control)], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        defer { running.cancel() }

        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600, "the socket is root-only")
        let status = try ControlClient.send(ControlRequest(command: "status"), to: path)
        #expect(status.ok && status.status?.daemon.configFile == "/etc/keepalived/keepalived.conf" && status.status?.schemaVersion == 1)
        let unknown = try ControlClient.send(ControlRequest(command: "explode"), to: path)
        #expect(!unknown.ok && unknown.error == "unknown command explode: expected one of status, reload, drain, undrain, weight, disable, enable, check, vrrp")
        let reload = try ControlClient.send(ControlRequest(command: "reload"), to: path)
        #expect(!reload.ok && reload.error?.contains("no configuration") == true)

        let vigil = try #require(Lab.builtProduct("vigil"), "build the vigil binary first (swift build)")
        let (rc, out) = Lab.capture(vigil, ["ctl", "--socket", path, "status"])
        #expect(rc == 0 && out.contains("vigil pid \(getpid())"), "\(out)")
        if getuid() == 0, let runuser = Lab.which("runuser") {
            let (nrc, nout) = Lab.capture(runuser, ["-u", "nobody", "--", vigil, "ctl", "--socket", path, "status"])
            #expect(nrc == 1 && nout.contains("root-only"), "\(nout)")
        }
        let (brc, bout) = Lab.capture(vigil, ["ctl", "--socket", path, "frobnicate"])
        #expect(brc != 0 && bout.contains("unknown command frobnicate"), "\(bout)")
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        #expect(!FileManager.default.fileExists(atPath: path), "the socket is removed on shutdown")
    }
}
