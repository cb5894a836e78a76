#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HealthCheck
import IPVS
import KeepalivedConfig
import Logging
import NIOPosix
import Synchronization
import Testing
import VRRP
import VigilTestSupport
@testable import VigilDaemon
import VigilSupport

/// The notify FIFOs as a reader sees them: which lines reach which FIFO, the reader script, reload.
@Suite("Notify FIFOs", .serialized)
struct NotifyFIFOTests {
    private let vip = ServiceKey.address(.tcp, IPAddress("192.0.2.10")!, 80)

    private func scratch() throws -> String {
        let dir = "/tmp/vigil-fifo-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A reader of the FIFO at `path` that never blocks.
    private func reader(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        try #require(fd >= 0, "\(path) is there to read")
        return fd
    }

    private func event(_ pool: CheckPool, _ plan: LVSPlan, rs: Int, up: Bool) -> ProbeEvent {
        ProbeEvent(probe: pool.index(of: plan.virtualServers[0].realServers[rs].checks[0])!,
                   result: up ? .success(weight: nil) : .failure("test"),
                   change: CheckerState.Change(becameUp: up, weight: nil, nextDelay: .seconds(1)), isUp: up)
    }

    @Test("checker up/down: RS and VS lines on notify_fifo and lvs_notify_fifo, none on the VRRP one")
    func checkerLines() async throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var global = GlobalDefinitions()
        global.notifyFIFO = NotifyFIFO(path: dir + "/all.fifo")
        global.vrrpNotifyFIFO = NotifyFIFO(path: dir + "/vrrp.fifo")
        global.lvsNotifyFIFO = NotifyFIFO(path: dir + "/lvs.fifo")
        let fifos = NotifyFIFOs(runsVRRP: false, runsCheckers: true)
        let changes = await fifos.apply(global)
        #expect(changes == ["notify_fifo \(dir)/all.fifo: opened", "lvs_notify_fifo \(dir)/lvs.fifo: opened"])
        #expect(access(dir + "/vrrp.fifo", F_OK) != 0, "the VRRP half does not run here: its FIFO is not made")
        let all = try reader(dir + "/all.fifo"), lvs = try reader(dir + "/lvs.fifo")
        defer { close(all); close(lvs) }

        let servers = ["192.0.2.21", "192.0.2.22"].map { a in
            RealServerSpec(destination: Destination(address: IPAddress(a)!, port: 8080, forwarding: .masquerade, weight: 1),
                           checks: [CheckSpec(kind: .tcp(ConnectionSettings(address: IPAddress(a)!, port: 8080)), timing: CheckTiming())])
        }
        let plan = LVSPlan(virtualServers: [VirtualServerSpec(service: Service(key: vip, scheduler: "rr"), realServers: servers, quorum: 2)])
        let pool = try CheckPool(specs: plan.allChecks, group: MultiThreadedEventLoopGroup.singleton)
        let manager = LVSManager(plan: plan, pool: pool, ipvs: FakeIPVS(), differ: CheckerDaemon.differ)
        await manager.onNotifyFIFOLine(fifos.lvs)
        try await manager.start()
        await manager.handle(event(pool, plan, rs: 0, up: false))
        await manager.handle(event(pool, plan, rs: 0, up: true))
        fifos.vrrp(#"INSTANCE "VI_1" MASTER 100"#)
        let expected = [
            "RS [192.0.2.21]:tcp:8080 [192.0.2.10]:tcp:80 DOWN", "VS [192.0.2.10]:tcp:80 DOWN",
            "RS [192.0.2.21]:tcp:8080 [192.0.2.10]:tcp:80 UP", "VS [192.0.2.10]:tcp:80 UP",
        ]
        #expect(Lab.availableLines(lvs) == expected)
        #expect(Lab.availableLines(all) == expected + [#"INSTANCE "VI_1" MASTER 100"#], "notify_fifo gets both halves' lines")
        await fifos.close()
        #expect(access(dir + "/all.fifo", F_OK) != 0 && access(dir + "/lvs.fifo", F_OK) != 0, "FIFOs Vigil made are removed")
    }

    @Test func fwmarkServicesAreNamedAsKeepalivedNamesThem() {
        var spec = VirtualServerSpec(service: Service(key: .firewallMark(7, .inet)), realServers: [
            RealServerSpec(destination: Destination(address: IPAddress("2001:db8::5")!, port: 53, forwarding: .masquerade, weight: 1)),
        ])
        spec.transport = IPVSProtocol.udp
        #expect(spec.fifoLine(realServer: 0, up: false) == "RS [2001:db8::5]:udp:53 FWM 7 DOWN")
        #expect(spec.fifoLine(quorumUp: true) == "VS FWM 7 UP")
    }

    @Test("the reader script gets the FIFO's path last, reads every line, keeps running over a reload and sees end of file at stop")
    func readerScriptAndReload() async throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let script = dir + "/reader.sh"
        try "#!/bin/sh\necho \"args: $*\" >> \(dir)/read.txt\nexec cat \"$2\" >> \(dir)/read.txt\n".write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let config = dir + "/keepalived.conf"
        try """
        global_defs {
          vrrp_notify_fifo \(dir)/vrrp.fifo
          vrrp_notify_fifo_script "\(script) --from-vigil"
          fifo_write_vrrp_states_on_reload
        }
        vrrp_instance VI_1 {
          interface lab0
          version 3
          virtual_router_id 51
          priority 100
          mcast_src_ip 192.0.2.11
          dont_track_primary
          advert_int 0.05
          virtual_ipaddress { 192.0.2.100 }
        }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let options = DaemonOptions(configFile: config)
        let loaded = try LoadedConfiguration.load(options, logger: Logger(label: "test"))
        let fifos = NotifyFIFOs(runsVRRP: true, runsCheckers: false)
        #expect(await fifos.apply(loaded.configuration.global) == ["vrrp_notify_fifo \(dir)/vrrp.fifo: opened, reader started"])
        let runtime = try VRRPRuntime(settings: loaded.vrrp, transport: SilentWire(), addresses: NoAddresses(), fifoLines: fifos.vrrp)
        let run = Task { try await runtime.run() }
        for _ in 0..<300 where await runtime.status.first?.state != .master { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await runtime.status.first?.state == .master)

        let coordinator = ReloadCoordinator(options: options, state: loaded, checker: nil, vrrp: VRRPService(runtime: runtime), sync: nil,
                                            fifos: fifos, notifier: SystemdNotifier(environment: [:]), logger: Logger(label: "test"))
        let outcome = await coordinator.reload(trigger: "test")
        #expect(outcome.result == .applied && outcome.changes == [], "an unchanged FIFO stays open and its reader keeps running")
        await runtime.stop()
        try await run.value
        await fifos.close()
        #expect(access(dir + "/vrrp.fifo", F_OK) != 0)
        let read = try String(contentsOfFile: dir + "/read.txt", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(read == [
            "args: --from-vigil \(dir)/vrrp.fifo",
            #"INSTANCE "VI_1" BACKUP 100"#, #"INSTANCE "VI_1" MASTER 100"#,
            #"INSTANCE "VI_1" MASTER 100"#,  // fifo_write_vrrp_states_on_reload
            #"INSTANCE "VI_1" STOP 100"#,
        ])
    }

    @Test("a changed FIFO path closes (and removes) the old one and opens the new one")
    func reloadMovesAFIFO() async throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifos = NotifyFIFOs(runsVRRP: true, runsCheckers: true)
        var global = GlobalDefinitions()
        global.vrrpNotifyFIFO = NotifyFIFO(path: dir + "/a.fifo")
        await fifos.apply(global)
        #expect(await fifos.apply(global) == [], "the same settings change nothing")
        global.vrrpNotifyFIFO = NotifyFIFO(path: dir + "/b.fifo")
        #expect(await fifos.apply(global) == ["vrrp_notify_fifo \(dir)/b.fifo: opened", "\(dir)/a.fifo: notify FIFO closed"])
        #expect(access(dir + "/a.fifo", F_OK) != 0 && access(dir + "/b.fifo", F_OK) == 0)
        global.vrrpNotifyFIFO = NotifyFIFO(path: "/nonexistent-vigil/c.fifo")
        let changes = await fifos.apply(global)
        #expect(changes.first?.hasPrefix("vrrp_notify_fifo /nonexistent-vigil/c.fifo: not opened: cannot create") == true)
        await fifos.close()
    }
}

/// A VRRP wire on which nobody else speaks.
private final class SilentWire: VRRPTransport, @unchecked Sendable {
    func open(instance: VRRPInstanceSettings, source: IPAddress, group: IPAddress) throws {}
    var interfaces: [String] { ["lab0"] }
    func receive(interface: String) -> VRRPReceivedPacket? {
        usleep(5_000)
        return nil
    }
    func receiveDescriptor(interface: String) -> Int32? { nil }
    func send(_ payload: [UInt8], instance: String, to destination: IPAddress) throws {}
    func source(of instance: String) -> IPAddress? { IPAddress("192.0.2.11") }
    func close(instance: String) {}
}

/// VIPs that go nowhere.
private struct NoAddresses: VRRPAddressManager {
    func add(_ instance: VRRPInstanceSettings) throws {}
    func remove(_ instance: VRRPInstanceSettings) throws {}
    func announce(_ instance: VRRPInstanceSettings, count: Int) throws {}
}
