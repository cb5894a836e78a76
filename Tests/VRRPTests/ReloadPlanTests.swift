import Testing
import VigilSupport
@testable import VRRP

private func vip(_ last: Int) -> VRRPVirtualAddress { VRRPVirtualAddress(address: IPAddress("192.0.2.\(last)")!) }

private func instance(_ name: String, vrid: UInt8 = 51, priority: UInt8 = 100, vips: [Int] = [100],
                      tracks: [String] = []) -> VRRPInstanceSettings {
    VRRPInstanceSettings(name: name, virtualRouterID: vrid, priority: priority, interface: "eth0",
                         virtualAddresses: vips.map(vip), trackScripts: tracks.map { VRRPTrackedScript(name: $0, weight: 0) })
}

private let me = IPAddress("192.0.2.10")!
private let higherPeer = IPAddress("192.0.2.20")!
private func ms(_ v: Int64) -> Duration { .milliseconds(v) }

private func adv(_ priority: UInt8) -> VRRPAdvertisement {
    VRRPAdvertisement(version: .v2, virtualRouterID: 51, priority: priority, intervalCentiseconds: 100, addresses: [vip(100).address])
}

@Suite("VRRP reload plan (pure)")
struct ReloadPlanTests {
    @Test func reorderingTheFileChangesNothing() {
        let a = instance("VI_1"), b = instance("VI_2", vrid: 52, vips: [101])
        let plan = VRRPReloadPlan(old: VRRPSettings(instances: [a, b]), new: VRRPSettings(instances: [b, a]))
        #expect(plan.isEmpty)
        #expect(plan.kept == ["VI_2", "VI_1"])
        #expect(plan.report.instances.map(\.outcome) == [.kept, .kept])
    }

    @Test func aChangedPriorityIsAnInPlaceChangeWithItsLine() {
        let plan = VRRPReloadPlan(old: VRRPSettings(instances: [instance("VI_1")]),
                                  new: VRRPSettings(instances: [instance("VI_1", priority: 150)]))
        #expect(plan.changed == [VRRPInstanceChange(name: "VI_1", differences: [.priority(from: 100, to: 150)])])
        #expect(plan.restarted.isEmpty)
        #expect(plan.report["VI_1"]?.line == "VI_1: priority 100 -> 150")
        #expect(plan.report["VI_1"]?.outcome == .changed)
    }

    @Test func aChangedVIPListAddsAndRemovesOnlyTheDifference() {
        let plan = VRRPReloadPlan(old: VRRPSettings(instances: [instance("VI_1", vips: [100, 101])]),
                                  new: VRRPSettings(instances: [instance("VI_1", vips: [101, 102])]))
        let change = plan.changed.first
        #expect(change?.restarts == false)
        #expect(change?.addressDelta == VRRPAddressDelta(removed: [vip(100)], added: [vip(102)]))
        #expect(plan.report["VI_1"]?.line == "VI_1: virtual_ipaddress +192.0.2.102/32 -192.0.2.100/32")
    }

    @Test func reorderedVIPsChangeNoAddress() {
        let plan = VRRPReloadPlan(old: VRRPSettings(instances: [instance("VI_1", vips: [100, 101])]),
                                  new: VRRPSettings(instances: [instance("VI_1", vips: [101, 100])]))
        #expect(plan.changed.first?.addressDelta.isEmpty == true)
        #expect(plan.changed.first?.restarts == false)
    }

    @Test func addedAndRemovedInstancesByName() {
        let plan = VRRPReloadPlan(old: VRRPSettings(instances: [instance("VI_1"), instance("VI_OLD", vrid: 60)]),
                                  new: VRRPSettings(instances: [instance("VI_NEW", vrid: 61), instance("VI_1")]))
        #expect(plan.kept == ["VI_1"] && plan.added == ["VI_NEW"] && plan.removed == ["VI_OLD"])
        #expect(plan.report["VI_OLD"]?.outcome == .removed && plan.report["VI_NEW"]?.outcome == .added)
    }

    @Test func settingsThatCannotChangeInPlaceRestartTheInstanceOnly() {
        var changedVRID = instance("VI_1", vrid: 52)
        changedVRID.priority = 120
        var peers = instance("VI_2", vrid: 53)
        peers.unicastPeers = [IPAddress("192.0.2.30")!]
        var interval = instance("VI_3", vrid: 54)
        interval.advertIntervalCentiseconds = 200
        var auth = instance("VI_4", vrid: 55)
        auth.authentication = .password("secret")
        let old = VRRPSettings(instances: [instance("VI_1"), instance("VI_2", vrid: 53), instance("VI_3", vrid: 54),
                                           instance("VI_4", vrid: 55), instance("VI_5", vrid: 56)])
        let plan = VRRPReloadPlan(old: old, new: VRRPSettings(instances: [changedVRID, peers, interval, auth, instance("VI_5", vrid: 56)]))
        #expect(plan.restarted == ["VI_1", "VI_2", "VI_3", "VI_4"])
        #expect(plan.kept == ["VI_5"])
        let line = plan.report["VI_1"]?.line ?? ""
        #expect(line.contains("virtual_router_id 51 -> 52") && line.contains("priority 100 -> 120") && line.contains("restarted"))
        #expect(plan.report["VI_4"]?.line.contains("secret") == false, "passwords stay out of the log")
    }

    @Test func aVIPMovingBetweenInstancesIsARemovalAndAnAddition() {
        let old = VRRPSettings(instances: [instance("VI_1", vips: [100, 101]), instance("VI_2", vrid: 52, vips: [102])])
        let new = VRRPSettings(instances: [instance("VI_1", vips: [100]), instance("VI_2", vrid: 52, vips: [102, 101])])
        let plan = VRRPReloadPlan(old: old, new: new)
        #expect(plan.changed.map(\.addressDelta) == [VRRPAddressDelta(removed: [vip(101)]), VRRPAddressDelta(added: [vip(101)])])
    }

    @Test func scriptsAreKeyedByNameAndOnlyChangedOnesRestart() {
        let tracked = [instance("VI_1", tracks: ["chk_a", "chk_b", "chk_c"])]
        let old = VRRPSettings(instances: tracked, scripts: [
            VRRPScriptSettings(name: "chk_a", command: "/bin/true"),
            VRRPScriptSettings(name: "chk_b", command: "/bin/true"),
            VRRPScriptSettings(name: "chk_c", command: "/bin/true"),
        ])
        let new = VRRPSettings(instances: [instance("VI_1", tracks: ["chk_a", "chk_b", "chk_d"])], scripts: [
            VRRPScriptSettings(name: "chk_b", command: "/bin/false"),
            VRRPScriptSettings(name: "chk_a", command: "/bin/true", weight: 10),
            VRRPScriptSettings(name: "chk_d", command: "/bin/true"),
        ])
        let plan = VRRPReloadPlan(old: old, new: new)
        #expect(plan.keptScripts == ["chk_a"], "a weight is the trackers' business: the runs go on")
        #expect(Set(plan.stoppedScripts) == ["chk_b", "chk_c"])
        #expect(plan.startedScripts == ["chk_b", "chk_d"])
        #expect(plan.changed.first?.differences == [.tracking])
    }

    @Test func syncGroupMembershipChangesAreReported() {
        let instances = [instance("VI_1"), instance("VI_2", vrid: 52)]
        let plan = VRRPReloadPlan(old: VRRPSettings(instances: instances, syncGroups: [VRRPSyncGroupSettings(name: "G", members: ["VI_1"])]),
                                  new: VRRPSettings(instances: instances, syncGroups: [VRRPSyncGroupSettings(name: "G", members: ["VI_1", "VI_2"])]))
        #expect(plan.syncGroupChanges == ["sync group G: members VI_1 -> VI_1, VI_2"])
        #expect(plan.kept == ["VI_1", "VI_2"])
    }
}

@Suite("VRRP state machine across a reload")
struct ReconfigureTests {
    private func master(_ s: VRRPInstanceSettings = instance("VI_1")) -> VRRPInstanceMachine {
        var m = VRRPInstanceMachine(settings: s, primaryAddress: me)
        _ = m.start(now: .zero)
        _ = m.timerFired(now: ms(3700))
        return m
    }

    @Test func aMasterAdvertisesANewPriorityAtOnceWithoutATransition() {
        var m = master()
        #expect(m.state == .master && m.nextDeadline == ms(4700))
        let actions = m.reconfigure(instance("VI_1", priority: 150), priorityAdjustment: 0, now: ms(4200))
        #expect(actions == [.sendAdvertisement(priority: 150)])
        #expect(m.state == .master && m.nextDeadline == ms(5200), "the next advert counts from the immediate one")
    }

    @Test func anUnchangedPriorityOrAVIPChangeSendsNothingAndKeepsTheTimer() {
        var m = master()
        #expect(m.reconfigure(instance("VI_1", vips: [100, 101]), priorityAdjustment: 0, now: ms(4200)) == [])
        #expect(m.state == .master && m.nextDeadline == ms(4700))
        #expect(m.advertisement(priority: 100).addresses == [vip(100).address, vip(101).address])
    }

    @Test func aBackupJudgesTheNextAdvertisementByItsNewPriority() {
        var m = VRRPInstanceMachine(settings: instance("VI_1"), primaryAddress: me)
        _ = m.start(now: .zero)
        _ = m.received(adv(120), from: higherPeer, now: ms(1000))
        let deadline = m.nextDeadline
        #expect(m.reconfigure(instance("VI_1", priority: 150), priorityAdjustment: 0, now: ms(1500)) == [])
        #expect(m.state == .backup && m.nextDeadline == deadline, "no transition and the master-down timer runs on")
        // With preemption the lower master's adverts no longer hold it down: Master_Down_Timer takes over.
        #expect(m.received(adv(120), from: higherPeer, now: ms(2000)) == [])
        #expect(m.nextDeadline == deadline)
        #expect(m.timerFired(now: deadline!).contains(.transition(from: .backup, to: .master, priority: 150)))
    }

    @Test func aBackupGivenPriority255TakesOverAtOnce() {
        var m = VRRPInstanceMachine(settings: instance("VI_1"), primaryAddress: me)
        _ = m.start(now: .zero)
        let actions = m.reconfigure(instance("VI_1", priority: 255), priorityAdjustment: 0, now: ms(500))
        #expect(actions.first == .sendAdvertisement(priority: 255) && actions.contains(.addVirtualAddresses))
        #expect(m.state == .master)
    }

    @Test func untrackingTheFailingScriptLeavesFault() {
        var m = VRRPInstanceMachine(settings: instance("VI_1", tracks: ["chk"]), primaryAddress: me)
        _ = m.setFault(.script("chk"), true, now: .zero)
        _ = m.start(now: .zero)
        #expect(m.state == .fault)
        let actions = m.reconfigure(instance("VI_1"), priorityAdjustment: 0, now: ms(100))
        #expect(actions == [.transition(from: .fault, to: .backup, priority: 100)])
        #expect(m.faults.isEmpty)
    }

    @Test func theRouterCarriesMachinesOverByNameAndReformsSyncGroups() {
        let a = instance("VI_1"), b = instance("VI_2", vrid: 52, tracks: ["chk"])
        var router = VRRPRouterMachine([master(a), VRRPInstanceMachine(settings: b, primaryAddress: me)],
                                       syncGroups: [VRRPSyncGroupSettings(name: "G", members: ["VI_1", "VI_2"])])
        _ = router.apply("VI_2", now: ms(3800)) { $0.start(now: ms(3800)) }
        var out: [VRRPIndexedAction] = []
        router.apply(at: 1, now: ms(3900), into: &out) { $0.setFault(.script("chk"), true, now: ms(3900)) }
        #expect(router["VI_1"]?.state == .fault, "a member in fault faults its group")
        // New order, VI_1 out of the group: it leaves the group's fault without a restart.
        var next = router.reloaded([b, a], syncGroups: [], fresh: [])
        #expect(next.order == ["VI_2", "VI_1"])
        #expect(next["VI_2"]?.state == .fault && next["VI_1"]?.faults == [.syncGroup("G")])
        out = []
        next.reconcileSyncGroups(now: ms(4000), into: &out)
        #expect(next["VI_1"]?.state == .backup && next["VI_1"]?.faults.isEmpty == true)
        #expect(out.map(\.action) == [.transition(from: .fault, to: .backup, priority: 100)])
        let fresh = router.reloaded([a], syncGroups: [], fresh: ["VI_1"])
        #expect(fresh["VI_1"]?.state == .initialize, "a restarted instance gets a new machine")
    }
}
