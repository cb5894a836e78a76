#if canImport(Glibc)
import Glibc
#endif
@testable import IPVS
import Testing
import VigilSupport

/// The in-memory table other layers test against answers like the kernel.
@Suite struct InMemoryIPVSTests {
    let web = ServiceKey.address(.tcp, Doc.vip, 80)

    @Test func behavesLikeTheKernelForEveryError() async throws {
        let ipvs = InMemoryIPVS()
        let d = Destination(address: Doc.real(2), port: 80)
        try await ipvs.apply([.addService(Service(key: web)), .addDestination(web, d)])
        let cases: [(IPVSOperation, IPVSErrorCode)] = [
            (.addService(Service(key: web)), .alreadyExists),
            (.addDestination(web, d), .alreadyExists),
            (.addService(Service(key: .firewallMark(1, .inet), scheduler: "nosuch")), .schedulerMissing),
            (.deleteService(.firewallMark(1, .inet)), .notFound),
            (.editDestination(web, Destination(address: Doc.real(3), port: 80)), .notFound),
            (.addDestination(web, Destination(address: Doc.real(4), port: 80, weight: 1 << 31)), .invalidArgument),
            (.addDestination(web, Destination(address: Doc.real6(4), port: 80, forwarding: .masquerade)), .invalidArgument),
            (.stopDaemon(.master), .notFound),
        ]
        for (op, code) in cases {
            let e = await #expect(throws: IPVSError.self) { try await ipvs.apply([op]) }
            #expect(e?.code == code, "\(op)")
            #expect(e?.context == op.context)
        }
        #expect(await ipvs.history.count == 2)
    }

    @Test func stopsAtTheFirstFailure() async throws {
        let ipvs = InMemoryIPVS()
        let e = await #expect(throws: IPVSError.self) {
            try await ipvs.apply([.addService(Service(key: web)), .addService(Service(key: web)), .flush])
        }
        #expect(e?.operationIndex == 1)
        #expect(e?.appliedCount == 1)
        #expect(try await ipvs.table().count == 1)
    }

    @Test func readsLookLikeKernelReadsAndDiffConverges() async throws {
        let ipvs = InMemoryIPVS()
        let desired = [ServiceEntry(service: Service(key: web, scheduler: "rr"), destinations: [Destination(address: Doc.real(1), port: 80)])]
        try await ipvs.apply(diff(actual: try await ipvs.table(), desired: desired, managed: [web]))
        let read = try await ipvs.entry(for: web)
        #expect(read.service.flags.contains(.hashed))
        #expect(read.destinations.first?.activeConnections == 0)
        #expect(diff(actual: try await ipvs.table(), desired: desired, managed: [web]).isEmpty)
        try await ipvs.apply([.setTimeouts(Timeouts(tcp: 0, tcpFin: 5, udp: 0))])
        #expect(try await ipvs.timeouts() == Timeouts(tcp: 900, tcpFin: 5, udp: 300))
        try await ipvs.apply([.startDaemon(SyncDaemon(role: .backup, interface: "eth0", syncID: 3))])
        #expect(try await ipvs.daemons().map(\.syncID) == [3])
    }
}
