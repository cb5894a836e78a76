#if canImport(Glibc)
import Glibc
#endif
import Testing
import VigilSupport
import VigilTestSupport
@testable import VRRP

@Suite("VRRP raw sockets on loopback", .serialized, .tags(.namespaces), .requiresNamespaces)
struct RawTransportTests {
    private let loopback = IPAddress("127.0.0.1")!

    @Test("a received advertisement carries the kernel's receive time, which the Master_Down timer counts from")
    func receivedPacketsCarryTheKernelsReceiveTime() throws {
        let transport = RawVRRPTransport()
        let instance = VRRPInstanceSettings(name: "VI_T", version: .v3, virtualRouterID: 77, interface: "lo",
                                            virtualAddresses: [VRRPVirtualAddress(address: IPAddress("192.0.2.77")!)],
                                            sourceAddress: loopback, unicastPeers: [loopback])
        try transport.open(instance: instance, source: loopback, group: VRRPConstants.multicastV4)
        let adv = VRRPAdvertisement(version: .v3, virtualRouterID: 77, priority: 123, intervalCentiseconds: 100,
                                    addresses: [IPAddress("192.0.2.77")!])
        let payload = VRRPCodec.encode(adv, source: loopback, destination: loopback)
        try transport.send(payload, instance: "VI_T", to: loopback)
        var received: VRRPReceivedPacket?
        for _ in 0..<10 {
            // Blocks at most 200 ms each.
            if let p = transport.receive(interface: "lo"), p.payload == payload {
                received = p
                break
            }
        }
        let p = try #require(received, "the unicast advertisement came back on lo")
        let stamp = try #require(p.kernelTimestamp, "the kernel time-stamped it")
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        let age = .seconds(wall.tv_sec) + .nanoseconds(wall.tv_nsec) - stamp
        #expect(age >= .zero && age < .seconds(1), "received \(age) ago")
    }
}
