import Foundation
import Testing
import VigilSupport
@testable import VRRP

/// A wire in memory: records what is sent and lets a test inject packets.
final class FakeTransport: VRRPTransport, @unchecked Sendable {
    /// One advertisement sent.
    struct Sent {
        var payload: [UInt8]
        var to: IPAddress
        var instance: String
        var at: ContinuousClock.Instant
        var priority: UInt8 { payload[2] }
    }

    private let lock = NSLock()
    private var sent: [Sent] = []
    private var inbox: [VRRPReceivedPacket] = []
    private var sources: [String: IPAddress] = [:]
    private var opens: [String] = []
    private var closes: [String] = []

    func open(instance: VRRPInstanceSettings, source: IPAddress, group: IPAddress) throws {
        lock.withLock {
            sources[instance.name] = source
            opens.append(instance.name)
        }
    }

    func close(instance: String) {
        lock.withLock {
            sources[instance] = nil
            closes.append(instance)
        }
    }

    var interfaces: [String] { ["lab0"] }

    func receive(interface: String) -> VRRPReceivedPacket? {
        if let p = lock.withLock({ inbox.isEmpty ? nil : inbox.removeFirst() }) { return p }
        usleep(5_000)
        return nil
    }

    func send(_ payload: [UInt8], instance: String, to destination: IPAddress) throws {
        lock.withLock { sent.append(Sent(payload: payload, to: destination, instance: instance, at: .now)) }
    }

    func source(of instance: String) -> IPAddress? { lock.withLock { sources[instance] } }

    func inject(_ p: VRRPReceivedPacket) { lock.withLock { inbox.append(p) } }

    /// Everything sent so far.
    var sentPayloads: [[UInt8]] { lock.withLock { sent.map(\.payload) } }

    /// Priorities of the advertisements sent so far.
    var sentPriorities: [UInt8] { lock.withLock { sent.map(\.priority) } }

    /// Every advertisement sent so far, with its instance and time.
    var advertisements: [Sent] { lock.withLock { sent } }

    /// Instances opened and closed, in order.
    var opened: [String] { lock.withLock { opens } }
    var closed: [String] { lock.withLock { closes } }
}

/// Records what the runtime does to addresses: "add|remove|announce N" and the addresses, and
/// which addresses are held.
final class FakeAddresses: VRRPAddressManager, @unchecked Sendable {
    private let lock = NSLock()
    private var log: [String] = []
    private var held: Set<String> = []

    private func list(_ i: VRRPInstanceSettings) -> [String] { (i.virtualAddresses + i.excludedAddresses).map(\.description) }

    func add(_ instance: VRRPInstanceSettings) throws {
        lock.withLock {
            log.append((["add"] + list(instance)).joined(separator: " "))
            held.formUnion(list(instance))
        }
    }

    func remove(_ instance: VRRPInstanceSettings) throws {
        lock.withLock {
            log.append((["remove"] + list(instance)).joined(separator: " "))
            held.subtract(list(instance))
        }
    }

    func announce(_ instance: VRRPInstanceSettings, count: Int) throws {
        lock.withLock { log.append((["announce \(count)"] + list(instance)).joined(separator: " ")) }
    }

    var events: [String] { lock.withLock { log } }

    /// The addresses currently added ("192.0.2.100/32").
    var addresses: Set<String> { lock.withLock { held } }
}

/// Polls `condition` every 10 ms for up to `seconds`; whether it held.
func eventually(_ seconds: Double, _ condition: () async -> Bool) async -> Bool {
    for _ in 0..<Int(seconds * 100) {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return await condition()
}

@Suite("VRRP runtime with a fake wire")
struct RuntimeTests {
    private let me = IPAddress("192.0.2.11")!
    private let peer = IPAddress("192.0.2.12")!
    private let vip = IPAddress("192.0.2.100")!

    private func instance(priority: UInt8, interval: UInt16 = 5) -> VRRPInstanceSettings {
        VRRPInstanceSettings(name: "VI_1", version: .v3, virtualRouterID: 51, priority: priority, advertIntervalCentiseconds: interval,
                             interface: "lab0", virtualAddresses: [VRRPVirtualAddress(address: vip)], sourceAddress: me,
                             gratuitous: VRRPGratuitousSettings(masterDelay: .zero), dontTrackPrimary: true)
    }

    private func wait(_ seconds: Double, _ condition: () async -> Bool) async -> Bool { await eventually(seconds, condition) }

    @Test func becomesMasterAddsAnnouncesAndReleasesWithPriorityZeroOnStop() async throws {
        let wire = FakeTransport()
        let addresses = FakeAddresses()
        let runtime = try VRRPRuntime(settings: VRRPSettings(instances: [instance(priority: 100)]), transport: wire, addresses: addresses)
        let run = Task { try await runtime.run() }
        #expect(await wait(3) { await runtime.status.first?.state == .master })
        #expect(addresses.events.prefix(3) == ["remove 192.0.2.100/32", "add 192.0.2.100/32", "announce 5 192.0.2.100/32"],
                "stale VIPs go first, then add and GARP")
        #expect(await wait(1) { wire.sentPriorities.count >= 3 }, "a master keeps advertising")
        await runtime.stop()
        try await run.value
        #expect(wire.sentPriorities.last == 0, "the last advertisement says priority 0")
        #expect(wire.sentPriorities.dropLast().allSatisfy { $0 == 100 })
        // Re-sent advertisements (kept encoded while the priority holds) and the priority-0 one all verify.
        for payload in wire.sentPayloads {
            let adv = try VRRPCodec.decode(payload, source: me, destination: VRRPConstants.multicastV4, ttl: 255)
            #expect(adv.virtualRouterID == 51 && adv.addresses == [vip] && adv.intervalCentiseconds == 5)
        }
        #expect(addresses.events.last == "remove 192.0.2.100/32")
    }

    @Test("a master hearing a lower-priority advert re-announces its VIPs at once and again after garp_lower_prio_delay")
    func lowerPriorityAdvertReannounces() async throws {
        let wire = FakeTransport()
        let addresses = FakeAddresses()
        var settings = instance(priority: 150)
        settings.gratuitous = VRRPGratuitousSettings(masterDelay: .zero, lowerPriorityRepeat: 2, lowerPriorityDelay: .milliseconds(300))
        let runtime = try VRRPRuntime(settings: VRRPSettings(instances: [settings]), transport: wire, addresses: addresses)
        let run = Task { try await runtime.run() }
        #expect(await wait(3) { await runtime.status.first?.state == .master })
        #expect(!addresses.events.contains { $0.hasPrefix("announce 2") })
        let lower = VRRPCodec.encode(VRRPAdvertisement(version: .v3, virtualRouterID: 51, priority: 100, intervalCentiseconds: 5,
                                                       addresses: [vip]), source: peer, destination: VRRPConstants.multicastV4)
        wire.inject(VRRPReceivedPacket(payload: lower, source: peer, destination: VRRPConstants.multicastV4, ttl: 255, interface: "lab0"))
        #expect(await wait(2) { addresses.events.filter { $0 == "announce 2 192.0.2.100/32" }.count == 1 }, "\(addresses.events)")
        #expect(await wait(2) { addresses.events.filter { $0 == "announce 2 192.0.2.100/32" }.count == 2 }, "the second set: \(addresses.events)")
        #expect(await runtime.status.first?.state == .master, "a lower priority does not move the master")
        await runtime.stop()
        try await run.value
    }

    @Test("STATS_CLEAR zeroes the counters and keeps the transitions")
    func clearStatistics() async throws {
        let wire = FakeTransport()
        let runtime = try VRRPRuntime(settings: VRRPSettings(instances: [instance(priority: 100)]), transport: wire, addresses: FakeAddresses())
        let run = Task { try await runtime.run() }
        #expect(await wait(3) { await (runtime.activity["VI_1"]?.advertisementsSent ?? 0) >= 2 })
        await runtime.clearStatistics()
        let cleared = await runtime.activity["VI_1"]
        #expect((cleared?.advertisementsSent ?? 9) <= 1 && cleared?.becameMaster == 0)
        #expect(cleared?.lastTransition?.to == .master && (cleared?.transitions ?? 0) >= 1)
        await runtime.stop()
        try await run.value
    }

    @Test func aHigherPriorityPeerKeepsItBackupAndBadPacketsAreCounted() async throws {
        let wire = FakeTransport()
        let addresses = FakeAddresses()
        // 1 s adverts: Master_Down_Interval is 3.6 s, so a loaded machine cannot fake a missing master.
        let runtime = try VRRPRuntime(settings: VRRPSettings(instances: [instance(priority: 100, interval: 100)]), transport: wire, addresses: addresses)
        let run = Task { try await runtime.run() }
        let good = VRRPCodec.encode(VRRPAdvertisement(version: .v3, virtualRouterID: 51, priority: 200, intervalCentiseconds: 100,
                                                      addresses: [vip]), source: peer, destination: VRRPConstants.multicastV4)
        var corrupt = good
        corrupt[7] ^= 0xFF
        // Feed only once the runtime listens: on a loaded machine its task may start late, and
        // adverts injected before then would be lost, letting Master_Down_Interval expire.
        for _ in 0..<200 where await runtime.status.first?.state != .backup {
            try await Task.sleep(for: .milliseconds(50))
        }
        // The peer is a thread of its own: a Task would share the cooperative pool with every other
        // suite running in parallel, and a starved pool would silence the "peer" for seconds.
        let peerDone = DispatchSemaphore(value: 0)
        let corruptPacket = corrupt
        let feeder = Thread {
            for _ in 0..<45 {
                for (payload, ttl) in [(good, UInt8(255)), (corruptPacket, 255), (good, 64)] {
                    wire.inject(VRRPReceivedPacket(payload: payload, source: peer, destination: VRRPConstants.multicastV4,
                                                   ttl: ttl, interface: "lab0"))
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
            peerDone.signal()
        }
        feeder.start()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { peerDone.wait(); c.resume() }
        }
        let status = await runtime.status.first
        #expect(status?.state == .backup && status?.masterAddress == peer)
        let counters = await runtime.counters
        #expect(counters.dropped[.badChecksum, default: 0] > 0 && counters.dropped[.badTTL, default: 0] > 0)
        #expect(!addresses.events.contains { $0.hasPrefix("add") })
        await runtime.stop()
        try await run.value
    }
}

@Suite("vigil -P command line")
struct VRRPCommandLineTests {
    private func run(_ config: String) throws -> (Int32, String) {
        let binary = try #require(NamespaceLab.vigilBinary, "build the vigil binary first (swift build)")
        let path = "/tmp/vigil-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).conf"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        return NamespaceLab.capture(binary, ["-P", "-n", "-l", "-f", path])
    }

    @Test func aBrokenFileStartsNothingAndExitsNonZero() throws {
        let (status, output) = try run("vrrp_instance VI_1 {\n    interface eth0\n    priority 100\n}\n")
        #expect(status == 1)
        #expect(output.contains("virtual router id") || output.contains("virtual_router_id"), "\(output)")
        #expect(output.contains("nothing started"))
    }

    @Test func aFileWithoutInstancesSaysSo() throws {
        let (status, output) = try run("global_defs {\n    router_id x\n}\n")
        #expect(status == 1 && output.contains("no vrrp_instance"), "\(output)")
    }
}
