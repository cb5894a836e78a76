import IPVS
import KeepalivedConfig
import Logging
import Testing
import VRRP
@testable import VigilDaemon

@Suite("Connection sync follows the VRRP instance")
struct ConnectionSyncTests {
    let settings = LVSSyncDaemon(interface: "eth1", vrrpInstance: "VI_1", syncID: 7)

    @Test("backup daemon while not master, master daemon while master, the other stopped first; nothing when unchanged")
    func follows() async throws {
        let fake = FakeIPVS()
        let sync = ConnectionSync(plan: ConnectionSyncPlan(settings), ipvs: fake, logger: Logger(label: "test"))
        await sync.start()
        await sync.follow(.backup)
        #expect(await fake.syncDaemons.map(\.role) == [.backup])
        #expect(await fake.syncDaemons.first?.syncID == 7)
        await sync.follow(.master)
        #expect(await fake.syncDaemons.map(\.role) == [.master])
        let applied = await fake.applied.count
        await sync.follow(.master)
        #expect(await fake.applied.count == applied, "a steady state issues nothing, though the kernel reports its defaults")
        await sync.follow(.fault)
        #expect(await fake.syncDaemons.map(\.role) == [.backup])
        await sync.stopAll(reason: "test")
        #expect(await fake.syncDaemons.isEmpty)
    }

    @Test("a reload that changes the sync id restarts the daemon; one that removes the setting stops it")
    func reload() async throws {
        let fake = FakeIPVS()
        let sync = ConnectionSync(plan: ConnectionSyncPlan(settings), ipvs: fake, logger: Logger(label: "test"))
        await sync.follow(.master)
        var changed = settings
        changed.syncID = 9
        #expect(await sync.update(ConnectionSyncPlan(changed)))
        #expect(await !sync.update(ConnectionSyncPlan(changed)))
        await sync.follow(.master)
        #expect(await fake.syncDaemons.map(\.syncID) == [9])
        #expect(await sync.update(nil))
        await sync.follow(.master)
        #expect(await fake.syncDaemons.isEmpty)
    }

    @Test("without lvs_sync_daemon, daemons another tool started are left alone")
    func notConfigured() async throws {
        let fake = FakeIPVS()
        try await fake.apply([.startDaemon(SyncDaemon(role: .backup, interface: "eth0"))])
        let sync = ConnectionSync(plan: nil, ipvs: fake, logger: Logger(label: "test"))
        await sync.start()
        await sync.follow(.master)
        await sync.stopAll(reason: "test")
        #expect(await fake.syncDaemons.map(\.interface) == ["eth0"])
    }
}
