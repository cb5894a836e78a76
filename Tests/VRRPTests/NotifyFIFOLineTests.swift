import Foundation
import Synchronization
import Testing
import VigilSupport
@testable import VRRP

/// The lines the VRRP half hands to the notify FIFOs, as a FIFO reader reads them.
@Suite("VRRP notify FIFO lines")
struct NotifyFIFOLineTests {
    private let me = IPAddress("192.0.2.11")!
    private let peer = IPAddress("192.0.2.12")!
    private let vip = IPAddress("192.0.2.100")!

    /// Lines received, in order.
    final class Lines: Sendable {
        private let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        func append(_ line: String) { lines.withLock { $0.append(line) } }
    }

    @Test func keepalivedsLineFormat() {
        #expect(vrrpFIFOLine(group: false, name: "VI_1", state: .master, priority: 100) == #"INSTANCE "VI_1" MASTER 100"#)
        #expect(vrrpFIFOLine(group: true, name: "G1", state: .backup, priority: 100) == #"GROUP "G1" BACKUP 0"#)
        #expect(vrrpFIFOLine(group: false, name: "VI 2", state: .stopped, priority: 90) == #"INSTANCE "VI 2" STOP 90"#)
    }

    @Test("MASTER, BACKUP, FAULT and STOP: one line per instance transition, then the group's")
    func everyTransitionIsALine() async throws {
        let dir = NSTemporaryDirectory() + "vigil-fifo-lines-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/fault"
        let instance = VRRPInstanceSettings(
            name: "VI_1", version: .v3, virtualRouterID: 51, priority: 100, advertIntervalCentiseconds: 5, interface: "lab0",
            virtualAddresses: [VRRPVirtualAddress(address: vip)], sourceAddress: me,
            trackFiles: [VRRPTrackedFile(name: "f", path: path, weight: 0)],
            gratuitous: VRRPGratuitousSettings(masterDelay: .zero), dontTrackPrimary: true)
        let lines = Lines()
        let wire = FakeTransport()
        let runtime = try VRRPRuntime(settings: VRRPSettings(instances: [instance], syncGroups: [VRRPSyncGroupSettings(name: "G1", members: ["VI_1"])]),
                                      transport: wire, addresses: FakeAddresses(), fifoLines: lines.append)
        let run = Task { try await runtime.run() }
        #expect(await eventually(3) { await runtime.status.first?.state == .master })
        #expect(await runtime.currentFIFOLines() == [#"INSTANCE "VI_1" MASTER 100"#, #"GROUP "G1" MASTER 0"#])

        // A higher priority master speaks once: BACKUP, and MASTER again when it stays silent.
        let higher = VRRPCodec.encode(VRRPAdvertisement(version: .v3, virtualRouterID: 51, priority: 200, intervalCentiseconds: 5,
                                                        addresses: [vip]), source: peer, destination: VRRPConstants.multicastV4)
        wire.inject(VRRPReceivedPacket(payload: higher, source: peer, destination: VRRPConstants.multicastV4, ttl: 255, interface: "lab0"))
        #expect(await eventually(3) { lines.all.count >= 8 })

        try "1\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(await eventually(3) { await runtime.status.first?.state == .fault })
        unlink(path)
        #expect(await eventually(5) { lines.all.count >= 14 })
        await runtime.stop()
        try await run.value
        #expect(lines.all == [
            #"INSTANCE "VI_1" BACKUP 100"#, #"GROUP "G1" BACKUP 0"#,
            #"INSTANCE "VI_1" MASTER 100"#, #"GROUP "G1" MASTER 0"#,
            #"INSTANCE "VI_1" BACKUP 100"#, #"GROUP "G1" BACKUP 0"#,
            #"INSTANCE "VI_1" MASTER 100"#, #"GROUP "G1" MASTER 0"#,
            #"INSTANCE "VI_1" FAULT 100"#, #"GROUP "G1" FAULT 0"#,
            #"INSTANCE "VI_1" BACKUP 100"#, #"GROUP "G1" BACKUP 0"#,
            #"INSTANCE "VI_1" MASTER 100"#, #"GROUP "G1" MASTER 0"#,
            #"INSTANCE "VI_1" STOP 100"#, #"GROUP "G1" STOP 0"#,
        ])
    }
}
