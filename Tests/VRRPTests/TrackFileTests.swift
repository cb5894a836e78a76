import Foundation
import KeepalivedConfig
import Testing
import VigilSupport
@testable import VRRP

@Suite("track_file")
struct TrackFileTests {
    private let me = IPAddress("192.0.2.11")!
    private let vip = IPAddress("192.0.2.100")!

    private func scratch() throws -> String {
        let dir = "/tmp/vigil-trackfile-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Writes `text` to a temporary file and renames it over `path`, as tools that update state files do.
    private func replace(_ path: String, _ text: String) throws {
        try text.write(toFile: path + ".tmp", atomically: false, encoding: .utf8)
        rename(path + ".tmp", path)
    }

    @Test func weightsFollowKeepalivedsVRRPRules() {
        let plain = VRRPTrackedFile(name: "f", path: "/x", weight: 1)
        #expect(plain.effect(of: 0) == (0, false))
        #expect(plain.effect(of: 20) == (20, false))
        #expect(plain.effect(of: -30) == (-30, false))
        #expect(plain.effect(of: 300) == (253, false), "the product is clamped to 253")
        #expect(plain.effect(of: -254) == (0, true), "-254 is FAULT")
        #expect(VRRPTrackedFile(name: "f", path: "/x", weight: 10).effect(of: -30) == (0, true), "-300 clamps to -254: FAULT")
        #expect(VRRPTrackedFile(name: "f", path: "/x", weight: 5, reverse: true).effect(of: 4) == (-20, false))
        let zero = VRRPTrackedFile(name: "f", path: "/x", weight: 0)
        #expect(zero.effect(of: 0) == (0, false) && zero.effect(of: 7) == (0, true), "weight 0: non-zero is FAULT")
        let zeroReverse = VRRPTrackedFile(name: "f", path: "/x", weight: 0, reverse: true)
        #expect(zeroReverse.effect(of: 0) == (0, true) && zeroReverse.effect(of: 7) == (0, false), "weight 0 reverse: zero is FAULT")
    }

    @Test func valuesAreReadAsStrtolDoesAndInitFileWritesOnce() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/state"
        #expect(trackedFileValue(path) == 0, "a missing file is 0")
        try initialiseTrackedFile(path, value: 7, overwrite: false)
        #expect(trackedFileValue(path) == 7)
        try initialiseTrackedFile(path, value: 9, overwrite: false)
        #expect(trackedFileValue(path) == 7, "without overwrite an existing file is kept")
        try initialiseTrackedFile(path, value: 9, overwrite: true)
        #expect(trackedFileValue(path) == 9)
        for (text, value) in [("  -12 trailing\n", Int64(-12)), ("0x10", 16), ("010", 8), ("abc", 0), ("", 0)] {
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            #expect(trackedFileValue(path) == value, "\(text)")
        }
    }

    @Test func configurationMapsFilesGroupsAndInitFile() throws {
        let r = ConfigLoader.parse(text: """
            track_file state {
                file /run/lb/state
                weight 5 reverse
                init_file 3 overwrite
            }
            vrrp_track_file maint {
                file /run/lb/maint
                weight 0
            }
            vrrp_instance A {
                interface eth0
                virtual_router_id 1
                track_file {
                    state
                    maint weight 2
                }
            }
            vrrp_instance B {
                interface eth0
                virtual_router_id 2
            }
            vrrp_sync_group G {
                group {
                    B
                }
                track_file {
                    state
                }
            }
            """, options: LoadOptions(hostName: "lab", checkScripts: false, followIncludes: false))
        #expect(!r.hasErrors && !r.diagnostics.contains { $0.code == .notSupported }, "\(r.diagnostics)")
        let c = try #require(r.configuration)
        #expect(c.trackFiles == [TrackFile(name: "state", file: "/run/lb/state", weight: 5, reverse: true, initialValue: 3, overwrite: true),
                                 TrackFile(name: "maint", file: "/run/lb/maint", weight: 0)])
        var warnings: [String] = []
        let s = try VRRPSettings(configuration: c, warnings: &warnings)
        #expect(s.instances[0].trackFiles == [VRRPTrackedFile(name: "state", path: "/run/lb/state", weight: 5, reverse: true),
                                              VRRPTrackedFile(name: "maint", path: "/run/lb/maint", weight: 2)])
        #expect(s.instances[1].trackFiles == [VRRPTrackedFile(name: "state", path: "/run/lb/state", weight: 0, reverse: true)],
                "a sync group's track_file applies to its members, weight 0 without sync_group_tracking_weight")
        #expect(warnings.contains { $0.contains("B: tracking weights are ignored in sync group G") })
        #expect(s.fileInitialisations == [VRRPFileInitialisation(path: "/run/lb/state", value: 3, overwrite: true)])
    }

    @Test func writingTheFileChangesTheAdvertisedPriorityAndFaultsTheInstance() async throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/weight"
        let instance = VRRPInstanceSettings(
            name: "VI_1", version: .v3, virtualRouterID: 51, priority: 100, advertIntervalCentiseconds: 5, interface: "lab0",
            virtualAddresses: [VRRPVirtualAddress(address: vip)], sourceAddress: me,
            trackFiles: [VRRPTrackedFile(name: "w", path: path, weight: 2)],
            gratuitous: VRRPGratuitousSettings(masterDelay: .zero), dontTrackPrimary: true)
        let wire = FakeTransport()
        let addresses = FakeAddresses()
        let runtime = try VRRPRuntime(settings: VRRPSettings(instances: [instance], fileInitialisations: [VRRPFileInitialisation(path: path, value: 5)]),
                                      transport: wire, addresses: addresses)
        let run = Task { try await runtime.run() }
        #expect(await eventually(3) { await runtime.status.first?.state == .master })
        #expect(await eventually(2) { wire.sentPriorities.last == 110 }, "init_file wrote 5: 100 + 5 × 2")

        try "20\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(await eventually(3) { wire.sentPriorities.last == 140 }, "written in place: 100 + 20 × 2")

        try replace(path, "-127")
        #expect(await eventually(3) { await runtime.status.first?.state == .fault }, "renamed in: -127 × 2 = -254 is FAULT")
        #expect(await eventually(2) { !addresses.addresses.contains("192.0.2.100/32") }, "the VIP is released")

        unlink(path)
        #expect(await eventually(5) { await runtime.status.first?.state == .master }, "deleted: the value is 0, the instance comes back")
        #expect(await eventually(2) { wire.sentPriorities.last == 100 })
        await runtime.stop()
        try await run.value
    }
}
