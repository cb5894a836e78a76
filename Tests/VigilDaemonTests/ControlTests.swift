import Foundation
import HealthCheck
import IPVS
import Logging
import ServiceLifecycle
import Testing
import VigilSupport
@testable import VigilDaemon

/// A checker half on a fake kernel with its control socket and state file in a scratch folder.
private struct ControlRig {
    let folder: String
    let fake = FakeIPVS()
    var socket: String { folder + "/control.sock" }
    var stateFile: String { folder + "/overrides.json" }

    static let vs = ServiceKey.address(.tcp, IPAddress("192.0.2.10")!, 80)
    static let deadPort: UInt16 = 9

    init() {
        folder = NSTemporaryDirectory() + "vigil-ctl-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    /// Two real servers without checkers (always alive), weights 3 and 2, and a third whose TCP
    /// check (to a closed port) runs only once an hour unless asked.
    static func plan(reversed: Bool = false) -> LVSPlan {
        var rss = [(1, UInt32(3)), (2, UInt32(2))].map { n, w in
            RealServerSpec(destination: Destination(address: IPAddress("198.51.100.\(n)")!, port: 80, forwarding: .masquerade, weight: w))
        }
        let hourly = CheckTiming(delayLoop: .seconds(3600), retry: 0, warmup: .seconds(3600))
        rss.append(RealServerSpec(destination: Destination(address: IPAddress("127.0.0.1")!, port: deadPort, forwarding: .masquerade, weight: 1),
                                  checks: [CheckSpec(kind: .tcp(ConnectionSettings(address: IPAddress("127.0.0.1")!, port: deadPort, timeout: .seconds(1))),
                                                     timing: hourly)]))
        if reversed { rss.reverse() }
        return LVSPlan(virtualServers: [VirtualServerSpec(service: Service(key: vs, scheduler: "wrr"), realServers: rss, quorum: 1)])
    }

    /// Starts the checker half and the control socket; returns them and the group's task.
    func start() async throws -> (CheckerService, Task<Void, Error>) {
        let checker = CheckerService(plan: Self.plan(), ipvs: fake, differ: CheckerDaemon.differ,
                                     options: ReconcileOptions(interval: .seconds(60), driftCPUShare: nil, drainPoll: .milliseconds(100)),
                                     overrideStore: OverrideStore(path: stateFile))
        let sources = StatusSources(checker: checker, vrrp: nil, coordinator: nil, configFile: "test.conf", ipvs: fake,
                                    minimumRefresh: .zero)
        let control = try ControlService.bind(path: socket, commands: ControlCommands(sources: sources, coordinator: nil),
                                              logger: Logger(label: "test.control"))
        let group = ServiceGroup(configuration: .init(services: [.init(service: checker), .init(service: control)],
                                                      logger: Logger(label: "test")))
        let task = Task { try await group.run() }
        await checker.started()
        return (checker, task)
    }

    /// The weights of the service's destinations in the fake kernel, by `ADDRESS:PORT`.
    func weights() async -> [String: UInt32] {
        let entries = (try? await fake.table()) ?? []
        return Dictionary(uniqueKeysWithValues: (entries.first { $0.service.key == Self.vs }?.destinations ?? []).map { ($0.key.description, $0.weight) })
    }

    func ctl(_ words: String...) throws -> ControlResponse {
        let request = try ControlRequest.parse(command: words[0], operands: words.dropFirst().filter { $0 != "--remove" },
                                               remove: words.contains("--remove"))
        return try ControlClient.send(request, to: socket)
    }
}

@Suite("vigil ctl: drain, weight, maintenance and check-now without a reload", .serialized)
struct ControlTests {
    @Test("drain and weight reach the kernel, errors change nothing, overrides survive a reload and a restart")
    func overrides() async throws {
        let rig = ControlRig()
        defer { try? FileManager.default.removeItem(atPath: rig.folder) }
        var (checker, task) = try await rig.start()
        #expect(await rig.weights() == ["198.51.100.1:80": 3, "198.51.100.2:80": 2, "127.0.0.1:9": 1])

        let drained = try rig.ctl("drain", "192.0.2.10:80", "198.51.100.1:80")
        #expect(drained.ok && drained.done == "TCP 192.0.2.10:80: real server 198.51.100.1:80 draining (vigil ctl)")
        let weighted = try rig.ctl("weight", "192.0.2.10:80", "198.51.100.2:80", "7")
        #expect(weighted.ok)
        #expect(await rig.weights() == ["198.51.100.1:80": 0, "198.51.100.2:80": 7, "127.0.0.1:9": 1])

        // Unknown virtual server, a real server not in it, the wrong protocol: refused, nothing moves.
        let unknown = try rig.ctl("drain", "192.0.2.99:80", "198.51.100.1:80")
        #expect(!unknown.ok && unknown.error == "unknown virtual server TCP 192.0.2.99:80 (configured: TCP 192.0.2.10:80)")
        let stranger = try rig.ctl("disable", "192.0.2.10:80", "198.51.100.77:80")
        #expect(!stranger.ok && stranger.error?.hasPrefix("real server 198.51.100.77:80 is not in TCP 192.0.2.10:80") == true)
        let udp = try ControlClient.send(ControlRequest.parse(command: "drain", operands: ["192.0.2.10:80", "198.51.100.1:80"], udp: true), to: rig.socket)
        #expect(!udp.ok && udp.error?.contains("UDP 192.0.2.10:80") == true)
        let notDisabled = try rig.ctl("enable", "192.0.2.10:80", "198.51.100.1:80")
        #expect(!notDisabled.ok && notDisabled.error?.contains("is not disabled (draining)") == true)
        #expect(await rig.weights() == ["198.51.100.1:80": 0, "198.51.100.2:80": 7, "127.0.0.1:9": 1])

        // Shown in the status, as `vigil ctl status` prints it.
        let status = try rig.ctl("status")
        let rss = status.status?.virtualServers?.first?.realServers ?? []
        #expect(rss.first { $0.key == "198.51.100.1:80" }?.override == "draining")
        #expect(rss.first { $0.key == "198.51.100.2:80" }?.override == "weight 7")
        #expect(rss.first { $0.key == "198.51.100.2:80" }?.effectiveWeight == 7)

        // A reload of the same servers in another order keeps both overrides.
        let report = try #require(try await checker.reload(plan: ControlRig.plan(reversed: true)))
        #expect(report.operations.isEmpty)
        #expect(await rig.weights() == ["198.51.100.1:80": 0, "198.51.100.2:80": 7, "127.0.0.1:9": 1])

        // A restart reads them back from the state file.
        let saved = try OverrideStore(path: rig.stateFile).load()
        #expect(saved == [ControlRig.vs: [DestinationKey(IPAddress("198.51.100.1")!, 80): .drain(removeWhenIdle: false),
                                          DestinationKey(IPAddress("198.51.100.2")!, 80): .weight(7)]])
        task.cancel()
        _ = try? await task.value
        await rig.fake.set([])
        (checker, task) = try await rig.start()
        #expect(await rig.weights() == ["198.51.100.1:80": 0, "198.51.100.2:80": 7, "127.0.0.1:9": 1])

        // Cleared, they go back to the configuration; the state file goes with the last one.
        #expect(try rig.ctl("undrain", "192.0.2.10:80", "198.51.100.1:80").ok)
        #expect(try rig.ctl("weight", "192.0.2.10:80", "198.51.100.2:80", "clear").ok)
        #expect(await rig.weights() == ["198.51.100.1:80": 3, "198.51.100.2:80": 2, "127.0.0.1:9": 1])
        #expect(!FileManager.default.fileExists(atPath: rig.stateFile))
        task.cancel()
        _ = try? await task.value
    }

    @Test("disable takes a server out whatever its checkers say and enable brings it back; check runs a checker now")
    func maintenanceAndCheck() async throws {
        let rig = ControlRig()
        defer { try? FileManager.default.removeItem(atPath: rig.folder) }
        let (_, task) = try await rig.start()
        #expect(try rig.ctl("disable", "192.0.2.10:80", "198.51.100.2:80").ok)
        #expect(await rig.weights() == ["198.51.100.1:80": 3, "127.0.0.1:9": 1])
        #expect(try rig.ctl("enable", "192.0.2.10:80", "198.51.100.2:80").ok)
        #expect(await rig.weights() == ["198.51.100.1:80": 3, "198.51.100.2:80": 2, "127.0.0.1:9": 1])

        // The hourly checker of 127.0.0.1:9 has not run; asked, it runs at once and finds the port closed.
        let none = try rig.ctl("check", "192.0.2.10:80", "198.51.100.1:80")
        #expect(!none.ok && none.error == "check: TCP 192.0.2.10:80 -> 198.51.100.1:80 has no checkers")
        let check = try rig.ctl("check", "192.0.2.10:80", "127.0.0.1:9")
        #expect(check.ok)
        var gone = false
        for _ in 0..<50 where !gone {
            try await Task.sleep(for: .milliseconds(100))
            gone = await rig.weights()["127.0.0.1:9"] == nil
        }
        #expect(gone, "the checker ran at once and its failure took the server out")
        task.cancel()
        _ = try? await task.value
    }

    @Test("drain --remove: weight 0 while connections last, out of IPVS once they reach 0, back with undrain")
    func drainRemove() async throws {
        let rig = ControlRig()
        defer { try? FileManager.default.removeItem(atPath: rig.folder) }
        let (_, task) = try await rig.start()
        let rs = DestinationKey(IPAddress("198.51.100.1")!, 80)
        await rig.fake.setConnections(ControlRig.vs, rs, active: 4)
        #expect(try rig.ctl("drain", "192.0.2.10:80", "198.51.100.1:80", "--remove").ok)
        try await Task.sleep(for: .milliseconds(400))
        #expect(await rig.weights()["198.51.100.1:80"] == 0, "still there while 4 connections last")
        await rig.fake.setConnections(ControlRig.vs, rs, active: 0)
        var gone = false
        for _ in 0..<30 where !gone {
            try await Task.sleep(for: .milliseconds(100))
            gone = await rig.weights()["198.51.100.1:80"] == nil
        }
        #expect(gone)
        let status = try rig.ctl("status")
        #expect(status.status?.virtualServers?.first?.realServers.first { $0.key == "198.51.100.1:80" }?.override == "drained (removed)")
        #expect(try rig.ctl("undrain", "192.0.2.10:80", "198.51.100.1:80").ok)
        #expect(await rig.weights()["198.51.100.1:80"] == 3)
        task.cancel()
        _ = try? await task.value
    }
}

@Suite("vigil ctl's command line")
struct ControlCommandLineTests {
    @Test("servers, -u, -f MARK, weights and VRRP requests parse; wrong ones say what was expected")
    func parse() throws {
        let drain = try ControlRequest.parse(command: "drain", operands: ["[2001:db8::1]:443", "[2001:db8::21]:443"], udp: true, remove: true)
        #expect(drain == ControlRequest(command: "drain", virtualServer: "[2001:db8::1]:443", udp: true, realServer: "[2001:db8::21]:443", removeWhenIdle: true))
        #expect(try ControlRequest.parse(command: "weight", operands: ["198.51.100.1:80", "0"], firewallMark: 7)
                == ControlRequest(command: "weight", firewallMark: 7, realServer: "198.51.100.1:80", weight: 0))
        #expect(try ControlRequest.parse(command: "vrrp", operands: ["VI_1", "backup"]) == ControlRequest(command: "vrrp", instance: "VI_1", backup: true))
        #expect(try ControlRequest.parse(command: "vrrp", operands: ["VI_1", "priority", "restore"]) == ControlRequest(command: "vrrp", instance: "VI_1"))

        func refused(_ command: String, _ operands: [String], remove: Bool = false) -> String {
            do throws(ControlRequest.UsageError) {
                _ = try ControlRequest.parse(command: command, operands: operands, remove: remove)
                return ""
            } catch { return error.description }
        }
        #expect(refused("weight", ["192.0.2.1:80", "198.51.100.1:80", "70000"]) == "weight 70000: expected 0 to 65535 or clear")
        #expect(refused("drain", ["192.0.2.1", "198.51.100.1:80"]) == "virtual server 192.0.2.1: expected ADDRESS:PORT or [IPv6]:PORT")
        #expect(refused("drain", ["192.0.2.1:80"]) == "drain: expected drain VS RS")
        #expect(refused("undrain", ["192.0.2.1:80", "198.51.100.1:80"], remove: true) == "--remove goes with drain only")
        #expect(refused("vrrp", ["VI_1", "priority", "255"]) == "vrrp VI_1 priority 255: expected 1 to 254 or restore")
        #expect(refused("bogus", []).hasPrefix("unknown command bogus: expected one of status, reload, drain"))
    }
}

@Suite("The overrides' state file")
struct OverrideStoreTests {
    @Test("a file that is not Vigil's is refused with its path and left alone; a missing one means no overrides")
    func badFile() throws {
        let path = NSTemporaryDirectory() + "vigil-state-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json"
        defer { unlink(path) }
        #expect(try OverrideStore(path: path).load().isEmpty)
        try "{\"version\": 1, \"overrides\": [{\"virtualServer\": 3}]}".write(toFile: path, atomically: true, encoding: .utf8)
        do throws(OverrideStore.LoadError) {
            _ = try OverrideStore(path: path).load()
            Issue.record("a broken state file was accepted")
        } catch {
            #expect(error.description.hasPrefix("\(path): not a Vigil state file"))
        }
        #expect(FileManager.default.fileExists(atPath: path))
    }
}
