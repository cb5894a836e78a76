#if canImport(Glibc)
import Glibc
#endif
@testable import IPVS
import Testing
import VigilSupport
import VigilTestSupport

/// The client's request logic (pipelining, sequence matching, dumps, errors) against an
/// in-memory kernel, so it runs anywhere.
@Suite struct ClientFakeKernelTests {
    let kernel = FakeKernel()

    func client(depth: Int = 64) -> IPVSClient { IPVSClient(transport: kernel, pipelineDepth: depth) }

    func table(_ services: Int, _ destinations: Int) -> [IPVSOperation] {
        var ops: [IPVSOperation] = []
        for s in 0..<services {
            let key = ServiceKey.address(.tcp, Doc.vip, UInt16(1000 + s))
            ops.append(.addService(Service(key: key, scheduler: "rr")))
            for d in 0..<destinations {
                ops.append(.addDestination(key, Destination(address: Doc.real(d + 1), port: 80, weight: UInt32(d))))
            }
        }
        return ops
    }

    @Test(arguments: [1, 7, 64, 5000])
    func applyPipelinesInBatchesOfTheDepth(depth: Int) async throws {
        let ops = table(20, 10)
        let applied = try await client(depth: depth).apply(ops)
        #expect(applied == 220)
        #expect(kernel.processed == ops)
        #expect(kernel.sent.count == (220 + depth - 1) / depth, "one datagram per batch")
    }

    @Test func batchesAlsoRespectTheSendLimit() async throws {
        kernel.sendLimitBytes = 1000
        let ops = table(10, 10)
        try await client(depth: 1000).apply(ops)
        #expect(kernel.processed == ops)
        #expect(kernel.sent.count > 1)
        #expect(kernel.sent.allSatisfy { $0.count <= 1000 })
    }

    @Test func listingReadsEveryDatagramOfMultiPartDumps() async throws {
        kernel.messagesPerDatagram = 2
        try await client().apply(table(25, 7))
        let listed = try await client().table()
        #expect(listed.count == 25)
        #expect(listed.allSatisfy { $0.destinations.count == 7 })
        #expect(listed.first?.destinations.first?.activeConnections == 3)
        #expect(listed.first?.service.statistics?.connections == 5_000_000_000)
    }

    @Test func straysWithOtherSequenceNumbersAreSkipped() async throws {
        kernel.injectStrays = true
        let c = client(depth: 4)
        #expect(try await c.apply(table(3, 3)) == 12)
        #expect(try await c.table().map(\.destinations.count) == [3, 3, 3])
        #expect(try await c.info().connectionTableSize == 4096)
        #expect(try await c.entry(for: .address(.tcp, Doc.vip, 1001)).destinations.count == 3)
    }

    @Test func applyReportsTheFirstFailureByIndexAndContext() async throws {
        var ops = table(2, 2)
        ops.insert(.addDestination(.address(.tcp, Doc.vip, 1000), Destination(address: Doc.real(1), port: 80)), at: 3)
        let e = await #expect(throws: IPVSError.self) { try await client(depth: 100).apply(ops) }
        #expect(e?.code == .alreadyExists)
        #expect(e?.operationIndex == 3)
        #expect(e?.context == "TCP 192.0.2.1:1000 -> 198.51.100.1:80")
        #expect(e?.appliedCount == 6, "the batch was in flight: everything else was applied")
        #expect(e?.errno == EEXIST)
    }

    @Test func depthOneStopsExactlyAtTheFailure() async throws {
        let ops: [IPVSOperation] = [
            .addService(Service(key: .firewallMark(1, .inet))),
            .addService(Service(key: .firewallMark(2, .inet), scheduler: "nosuch")),
            .addService(Service(key: .firewallMark(3, .inet))),
        ]
        let e = await #expect(throws: IPVSError.self) { try await client(depth: 1).apply(ops) }
        #expect(e?.code == .schedulerMissing)
        #expect(e?.message.contains("'nosuch'") == true)
        #expect(e?.operationIndex == 1)
        #expect(e?.appliedCount == 1)
        #expect(kernel.services.map(\.service.key) == [.firewallMark(1, .inet)])
    }

    @Test func missingServiceOnReadIsNotFound() async throws {
        let e = await #expect(throws: IPVSError.self) { try await client().entry(for: .address(.udp, Doc.vip, 53)) }
        #expect(e?.code == .notFound)
        #expect(e?.context == "UDP 192.0.2.1:53")
    }

    @Test func emptyApplySendsNothing() async throws {
        #expect(try await client().apply([]) == 0)
        #expect(kernel.sent.isEmpty)
    }

    @Test func concurrentCallersEachGetTheirOwnAnswer() async throws {
        let c = client()
        try await c.apply(table(8, 0))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<8 {
                group.addTask {
                    let key = ServiceKey.address(.tcp, Doc.vip, UInt16(1000 + t))
                    for i in 0..<10 {
                        try await c.apply([.addDestination(key, Destination(address: Doc.real(i + 1), port: UInt16(t)))])
                        let e = try await c.entry(for: key)
                        #expect(e.destinations.count == i + 1)
                        #expect(e.destinations.allSatisfy { $0.port == UInt16(t) })
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    @Test(.enabled(if: !Lab.hasIPVS, "this kernel has IPVS, so it cannot show the missing-module error"))
    func kernelWithoutIPVSSaysHowToLoadIt() throws {
        #expect(throws: IPVSError(code: .notAvailable, message: "IPVS is not available in this kernel: load it with `modprobe ip_vs`")) {
            _ = try IPVSClient()
        }
    }

    @Test func missingNamespaceIsNotFound() throws {
        let e = #expect(throws: IPVSError.self) { _ = try IPVSClient(networkNamespace: "/run/netns/vigil-does-not-exist") }
        #expect(e?.code == .notFound)
        #expect(e?.context == "/run/netns/vigil-does-not-exist")
    }
}
