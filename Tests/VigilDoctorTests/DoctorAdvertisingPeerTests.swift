import Testing
import KeepalivedConfig
import VigilDoctor
import VigilSupport
import struct VRRP.VRRPAdvertisement
import enum VRRP.VRRPVersion

@Suite("vigil doctor: another router on the same VRID")
struct DoctorAdvertisingPeerTests {
    static func advert(from source: String, vrid: UInt8 = 51, addresses: [String] = ["192.0.2.100"],
                       centiseconds: UInt16 = 100, version: VRRPVersion = .v2) -> ObservedAdvertisement {
        ObservedAdvertisement(source: IPAddress(source)!, advertisement: VRRPAdvertisement(
            version: version, virtualRouterID: vrid, priority: 150, intervalCentiseconds: centiseconds,
            addresses: addresses.map { IPAddress($0)! }, authentication: .none))
    }

    @Test("Nobody else on the VRID, or a peer with the same VIPs and interval: ok")
    func agreeing() {
        var host = FakeHost()
        #expect(doctor(vrrpConfig, host: host).severity("vrrp.VI_1.vrid") == .ok)
        host.heard["eth0"] = .heard([Self.advert(from: "192.0.2.2"), Self.advert(from: "192.0.2.3", vrid: 52, addresses: ["192.0.2.7"])])
        let report = doctor(vrrpConfig, host: host)
        #expect(report.severity("vrrp.VI_1.vrid") == .ok)
        #expect(report.only("vrrp.VI_1.vrid")?.message.contains("192.0.2.2 advertises it with the same VIPs") == true)
    }

    @Test("A peer on the same VRID with other VIPs is an error; another interval is an error in v2")
    func conflicting() {
        var host = FakeHost()
        host.heard["eth0"] = .heard([Self.advert(from: "192.0.2.9", addresses: ["192.0.2.200"])])
        let vips = doctor(vrrpConfig, host: host)
        #expect(vips.severity("vrrp.VI_1.vrid") == .error)
        #expect(vips.only("vrrp.VI_1.vrid")?.message.contains("its VIPs are [192.0.2.200]") == true)
        #expect(vips.only("vrrp.VI_1.vrid")?.fix?.contains("virtual_router_id") == true)
        #expect(vips.exitStatus == 1)
        host.heard["eth0"] = .heard([Self.advert(from: "192.0.2.9", centiseconds: 300)])
        #expect(doctor(vrrpConfig, host: host).severity("vrrp.VI_1.vrid") == .error)
    }

    @Test("Its own adverts (a vigil already running here) are not a peer; listening off or impossible is said so")
    func ownAndUnavailable() {
        var host = FakeHost()
        host.heard["eth0"] = .heard([Self.advert(from: "192.0.2.1", addresses: ["192.0.2.250"])])
        #expect(doctor(vrrpConfig, host: host).severity("vrrp.VI_1.vrid") == .ok)
        host.heard["eth0"] = .failed("raw IPPROTO_VRRP socket: Operation not permitted")
        #expect(doctor(vrrpConfig, host: host).severity("vrrp.VI_1.vrid") == .warning)
        #expect(doctor(vrrpConfig, host: host, options: DoctorOptions(listensForPeers: false)).findings("vrrp.VI_1.vrid").isEmpty)
    }
}
