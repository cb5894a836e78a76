import Foundation
import Testing
import VigilSupport
@testable import VRRP

/// Reloads of a running runtime, observed on the fake wire and the fake address manager.
@Suite("VRRP reload with a fake wire")
struct ReloadRuntimeTests {
    private let me = IPAddress("192.0.2.11")!

    private func vip(_ last: Int) -> VRRPVirtualAddress { VRRPVirtualAddress(address: IPAddress("192.0.2.\(last)")!) }

    /// A v3 instance on the fake wire; fast adverts unless `interval` says otherwise.
    private func instance(_ name: String = "VI_1", vrid: UInt8 = 51, priority: UInt8 = 100, interval: UInt16 = 5,
                          vips: [Int] = [100]) -> VRRPInstanceSettings {
        VRRPInstanceSettings(name: name, version: .v3, virtualRouterID: vrid, priority: priority, advertIntervalCentiseconds: interval,
                             interface: "lab0", virtualAddresses: vips.map(vip), sourceAddress: me,
                             gratuitous: VRRPGratuitousSettings(masterDelay: .zero), dontTrackPrimary: true)
    }

    private func wait(_ seconds: Double, _ condition: () async -> Bool) async -> Bool { await eventually(seconds, condition) }

    /// A running runtime whose instances are all master.
    private func running(_ settings: VRRPSettings) async throws -> (VRRPRuntime, FakeTransport, FakeAddresses, Task<Void, any Error>) {
        let wire = FakeTransport()
        let addresses = FakeAddresses()
        let runtime = try VRRPRuntime(settings: settings, transport: wire, addresses: addresses)
        let run = Task { try await runtime.run() }
        let names = settings.instances.map(\.name)
        #expect(await wait(10) { await runtime.status.filter { names.contains($0.name) }.allSatisfy { $0.state == .master } })
        return (runtime, wire, addresses, run)
    }

    private func state(_ runtime: VRRPRuntime, _ name: String) async -> VRRPState? {
        await runtime.status.first { $0.name == name }?.state
    }

    @Test func anUnchangedReloadSendsNoExtraAdvertNoGARPAndMakesNoTransition() async throws {
        // An address owner is master at once; 1 s adverts make a gap visible without timing the test tightly.
        let owner = instance(priority: 255, interval: 100)
        let other = instance("VI_2", vrid: 52, priority: 255, interval: 100, vips: [101])
        let (runtime, wire, addresses, run) = try await running(VRRPSettings(instances: [owner, other]))
        try await Task.sleep(for: .milliseconds(1200))
        let transitions = await runtime.counters.transitions
        let eventsBefore = addresses.events
        let sentBefore = wire.advertisements.count
        // The same instances in another order.
        let report = await runtime.reload(VRRPSettings(instances: [other, owner]))
        #expect(report.instances.map(\.outcome) == [.kept, .kept])
        #expect(report["VI_1"]?.line == "VI_1: unchanged")
        #expect(wire.advertisements.count <= sentBefore + 2, "the reload itself sends nothing (at most the two due adverts raced it)")
        try await Task.sleep(for: .milliseconds(2500))
        await runtime.stop()
        try await run.value
        let vi1 = wire.advertisements.filter { $0.instance == "VI_1" && $0.priority != 0 }
        let gaps = zip(vi1.dropFirst(), vi1).map { $0.at - $1.at }
        #expect(gaps.allSatisfy { $0 < .milliseconds(1900) }, "adverts kept their 1 s rhythm across the reload: \(gaps)")
        #expect(vi1.allSatisfy { $0.priority == 255 })
        let during = Array(addresses.events.dropFirst(eventsBefore.count).dropLast(2))
        #expect(during.isEmpty, "no address change and no gratuitous ARP: \(during)")
        #expect(addresses.events.suffix(2).allSatisfy { $0.hasPrefix("remove") }, "only the stop removed the VIPs")
        #expect(wire.closed.isEmpty && wire.opened == ["VI_1", "VI_2"], "no socket was reopened")
        // The stop's two STOP transitions are the only ones after the reload.
        #expect(await runtime.counters.transitions == transitions + 2)
    }

    @Test func aChangedPriorityIsAdvertisedAtOnceByTheMaster() async throws {
        let (runtime, wire, addresses, run) = try await running(VRRPSettings(instances: [instance(priority: 100)]))
        let transitions = await runtime.counters.transitions
        let eventsBefore = addresses.events.count
        let sentBefore = wire.advertisements.count
        let report = await runtime.reload(VRRPSettings(instances: [instance(priority: 150)]))
        let sentByReload = wire.advertisements.dropFirst(sentBefore)
        #expect(report["VI_1"]?.line == "VI_1: priority 100 -> 150" && report["VI_1"]?.outcome == .changed)
        #expect(sentByReload.first?.priority == 150, "the reload sent the new priority before returning")
        #expect(sentByReload.allSatisfy { $0.priority == 150 })
        let status = await runtime.status.first
        #expect(status?.state == .master && status?.effectivePriority == 150)
        #expect(await runtime.counters.transitions == transitions, "no transition")
        #expect(addresses.events.count == eventsBefore, "no address change, no gratuitous ARP")
        await runtime.stop()
        try await run.value
    }

    @Test func aChangedVIPListAddsAndRemovesOnlyTheDifference() async throws {
        let (runtime, wire, addresses, run) = try await running(VRRPSettings(instances: [instance(vips: [100, 101])]))
        let transitions = await runtime.counters.transitions
        let eventsBefore = addresses.events.count
        let report = await runtime.reload(VRRPSettings(instances: [instance(vips: [101, 102])]))
        #expect(report["VI_1"]?.outcome == .changed)
        #expect(Array(addresses.events.dropFirst(eventsBefore)) == ["remove 192.0.2.100/32", "add 192.0.2.102/32", "announce 5 192.0.2.102/32"])
        #expect(addresses.addresses == ["192.0.2.101/32", "192.0.2.102/32"])
        #expect(await runtime.counters.transitions == transitions)
        // The adverts name the new list from the next one on.
        let count = wire.advertisements.count
        #expect(await wait(2) { wire.advertisements.count > count + 1 })
        let last = try #require(wire.advertisements.last)
        let adv = try VRRPCodec.decode(last.payload, source: me, destination: VRRPConstants.multicastV4, ttl: 255)
        #expect(adv.addresses == [vip(101).address, vip(102).address])
        await runtime.stop()
        try await run.value
    }

    @Test func aRemovedInstanceReleasesWithPriorityZeroAndItsSocketsGo() async throws {
        let (runtime, wire, addresses, run) = try await running(VRRPSettings(instances: [instance(), instance("VI_2", vrid: 52, vips: [101])]))
        let sentBefore = wire.advertisements.count
        let eventsBefore = addresses.events.count
        let report = await runtime.reload(VRRPSettings(instances: [instance()]))
        #expect(report["VI_2"]?.outcome == .removed && report["VI_1"]?.outcome == .kept)
        let vi2 = wire.advertisements.dropFirst(sentBefore).filter { $0.instance == "VI_2" }
        #expect(vi2.map(\.priority) == [0], "one priority-0 advert, then silence")
        #expect(Array(addresses.events.dropFirst(eventsBefore)) == ["remove 192.0.2.101/32"])
        #expect(wire.closed == ["VI_2"])
        #expect(await runtime.status.map(\.name) == ["VI_1"])
        try await Task.sleep(for: .milliseconds(300))
        #expect(wire.advertisements.dropFirst(sentBefore).filter { $0.instance == "VI_2" }.count == 1)
        await runtime.stop()
        try await run.value
    }

    @Test func aVIPMovesBetweenInstancesInOneReloadRemovalFirst() async throws {
        let (runtime, _, addresses, run) = try await running(VRRPSettings(instances: [
            instance(vips: [100, 101]), instance("VI_2", vrid: 52, vips: [102]),
        ]))
        let eventsBefore = addresses.events.count
        _ = await runtime.reload(VRRPSettings(instances: [instance(vips: [100]), instance("VI_2", vrid: 52, vips: [102, 101])]))
        let events = Array(addresses.events.dropFirst(eventsBefore))
        #expect(events == ["remove 192.0.2.101/32", "add 192.0.2.101/32", "announce 5 192.0.2.101/32"])
        #expect(addresses.addresses == ["192.0.2.100/32", "192.0.2.101/32", "192.0.2.102/32"])
        await runtime.stop()
        try await run.value
    }

    @Test func anUnchangedScriptKeepsItsVerdictAndAChangedOneStartsAgain() async throws {
        func settings(priority: UInt8, command: String) -> VRRPSettings {
            var i = instance(priority: priority)
            i.trackScripts = [VRRPTrackedScript(name: "chk", weight: -50)]
            return VRRPSettings(instances: [i], scripts: [VRRPScriptSettings(name: "chk", command: command, interval: .milliseconds(200))])
        }
        let (runtime, _, _, run) = try await running(settings(priority: 150, command: "/bin/false"))
        #expect(await wait(5) { await runtime.status.first?.effectivePriority == 100 }, "the failing script takes 50 off")
        let kept = await runtime.reload(settings(priority: 200, command: "/bin/false"))
        #expect(kept.other.isEmpty, "nothing said about the unchanged script: \(kept.other)")
        #expect(await runtime.status.first?.effectivePriority == 150, "its failing verdict still applies right after the reload")
        let changed = await runtime.reload(settings(priority: 200, command: "/bin/true"))
        #expect(changed.other == ["vrrp_script chk: changed, restarted with its initial verdict"])
        #expect(await runtime.status.first?.effectivePriority == 200, "a restarted script starts from its initial verdict (OK)")
        #expect(await wait(2) { await runtime.status.first?.effectivePriority == 200 })
        await runtime.stop()
        try await run.value
    }

    @Test func aNewInstanceStartsAndAChangedVRIDRestartsOnlyThatInstance() async throws {
        let (runtime, wire, _, run) = try await running(VRRPSettings(instances: [instance(), instance("VI_2", vrid: 52, vips: [101])]))
        let sentBefore = wire.advertisements.count
        let report = await runtime.reload(VRRPSettings(instances: [
            instance(), instance("VI_2", vrid: 53, vips: [101]), instance("VI_3", vrid: 54, vips: [102]),
        ]))
        #expect(report["VI_2"]?.outcome == .restarted && report["VI_2"]?.line.contains("virtual_router_id 52 -> 53") == true)
        #expect(report["VI_3"]?.outcome == .added && report["VI_1"]?.outcome == .kept)
        #expect(wire.closed == ["VI_2"] && wire.opened.suffix(2) == ["VI_2", "VI_3"])
        #expect(wire.advertisements.dropFirst(sentBefore).first { $0.instance == "VI_2" }?.priority == 0, "released first")
        #expect(await wait(5) {
            let states = await runtime.status.map(\.state)
            return states == [.master, .master, .master]
        })
        let vrids = Set(wire.advertisements.dropFirst(sentBefore).filter { $0.instance == "VI_2" && $0.priority != 0 }.map { $0.payload[1] })
        #expect(vrids == [53])
        await runtime.stop()
        try await run.value
    }
}
