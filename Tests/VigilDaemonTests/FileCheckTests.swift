import Foundation
import HealthCheck
import IPVS
import KeepalivedConfig
import NIOPosix
import Testing
import VigilDaemon
import VigilSupport

@Suite("FILE_CHECK")
struct FileCheckTests {
    @Test func verdictsFollowKeepalivedsCheckFile() {
        func verdict(_ weight: Int, reverse: Bool = false, base: UInt32 = 10, _ value: Int64) -> CheckResult {
            FileChecker.verdict(FileCheckSettings(path: "/x", weight: weight, reverse: reverse, baseWeight: base), value: value)
        }
        #expect(verdict(1, 0) == .success(weight: 10))
        #expect(verdict(2, 5) == .success(weight: 20), "10 + 5 × 2")
        #expect(verdict(3, reverse: true, 2) == .success(weight: 4), "10 − 2 × 3")
        #expect(verdict(1, -50) == .success(weight: 0), "clamped to IPVS's 0")
        #expect(verdict(1000, 100) == .success(weight: 65535), "clamped to IPVS's 65535")
        #expect(!verdict(65535, -65535).isSuccess, "at or below -2^31 is a fault")
        #expect(verdict(0, 0) == .success(weight: nil) && !verdict(0, 3).isSuccess, "weight 0: non-zero fails")
        #expect(!verdict(0, reverse: true, 0).isSuccess && verdict(0, reverse: true, 3).isSuccess, "weight 0 reverse: zero fails")
    }

    @Test("writing the file changes the real server's IPVS weight and takes it out, seen through inotify")
    func fileDrivesTheRealServer() async throws {
        let dir = "/tmp/vigil-filecheck-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/rs-weight"
        try "0\n".write(toFile: path, atomically: false, encoding: .utf8)
        let loaded = ConfigLoader.parse(text: """
            track_file rs1 {
                file \(path)
                weight 5
            }
            track_file maint {
                file \(dir)/maintenance
                weight 0
            }
            virtual_server 192.0.2.10 80 {
                protocol TCP
                lvs_sched rr
                delay_loop 3600
                real_server 198.51.100.1 80 {
                    weight 10
                    FILE_CHECK {
                        track_file rs1
                    }
                }
                real_server 198.51.100.2 80 {
                    weight 7
                    FILE_CHECK {
                        track_file maint
                    }
                }
            }
            """, options: LoadOptions(hostName: "lab", checkScripts: false, followIncludes: false))
        #expect(!loaded.hasErrors && !loaded.diagnostics.contains { $0.code == .notSupported }, "\(loaded.diagnostics)")
        let config = try #require(loaded.configuration)
        #expect(config.virtualServers[0].realServers[0].checkers == [.file(FileCheck(trackFile: "rs1"))])
        let plan = LVSPlan(configuration: config)
        #expect(plan.allChecks.map(\.kind) == [.file(FileCheckSettings(path: path, weight: 5, baseWeight: 10)),
                                               .file(FileCheckSettings(path: dir + "/maintenance", weight: 0, baseWeight: 7))])
        let fake = FakeIPVS()
        let pool = try CheckPool(specs: plan.allChecks, group: MultiThreadedEventLoopGroup.singleton)
        let manager = LVSManager(plan: plan, pool: pool, ipvs: fake, differ: CheckerDaemon.differ)
        try await manager.start()
        let running = Task {
            await withTaskGroup(of: Void.self) { tasks in
                tasks.addTask { await pool.run() }
                tasks.addTask { for await event in pool.events { await manager.record(event) } }
                tasks.addTask { await manager.runApplyLoop() }
            }
        }
        let key = ServiceKey.address(.tcp, IPAddress("192.0.2.10")!, 80)
        func weights() async -> [String: UInt32] {
            guard let e = try? await fake.entry(for: key) else { return [:] }
            return Dictionary(uniqueKeysWithValues: e.destinations.map { ($0.address.description, $0.weight) })
        }
        /// The weights once they equal `expected` (or as they are after 3 s).
        func eventually(_ expected: [String: UInt32]) async -> [String: UInt32] {
            for _ in 0..<300 {
                let w = await weights()
                if w == expected { return w }
                try? await Task.sleep(for: .milliseconds(10))
            }
            return await weights()
        }
        #expect(await eventually(["198.51.100.1": 10, "198.51.100.2": 7]) == ["198.51.100.1": 10, "198.51.100.2": 7])
        try "4\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(await eventually(["198.51.100.1": 30, "198.51.100.2": 7]) == ["198.51.100.1": 30, "198.51.100.2": 7], "10 + 4 × 5, long before delay_loop")
        try "1\n".write(toFile: dir + "/maintenance", atomically: false, encoding: .utf8)
        #expect(await eventually(["198.51.100.1": 30]) == ["198.51.100.1": 30], "weight 0 and a non-zero value: the server goes")
        unlink(dir + "/maintenance")
        #expect(await eventually(["198.51.100.1": 30, "198.51.100.2": 7]) == ["198.51.100.1": 30, "198.51.100.2": 7], "deleted reads 0: it comes back")
        running.cancel()
        await running.value
    }
}
