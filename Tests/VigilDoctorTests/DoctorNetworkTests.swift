import Foundation
import Testing
import KeepalivedConfig
import VigilDoctor
import VigilSupport

@Suite("vigil doctor: interfaces, peers, status address")
struct DoctorNetworkTests {
    @Test("The instance's interface: present and up is ok, missing and down are errors, no carrier a warning")
    func instanceInterface() {
        var host = FakeHost()
        #expect(doctor(vrrpConfig, host: host).severity("interface.eth0") == .ok)
        host.links[1].isRunning = false
        #expect(doctor(vrrpConfig, host: host).severity("interface.eth0") == .warning)
        host.links[1].isUp = false
        let down = doctor(vrrpConfig, host: host)
        #expect(down.severity("interface.eth0") == .error)
        #expect(down.only("interface.eth0")?.fix == "ip link set eth0 up")
        host.links.removeLast()
        let missing = doctor(vrrpConfig, host: host)
        #expect(missing.severity("interface.eth0") == .error)
        #expect(missing.exitStatus == 1)
    }

    @Test("A missing track_interface is a warning, not an error")
    func trackedInterface() {
        let config = vrrpConfig.replacingOccurrences(of: "advert_int 1", with: "advert_int 1\n    track_interface {\n        eth9\n    }")
        let report = doctor(config, host: FakeHost())
        #expect(report.severity("interface.eth9") == .warning)
        #expect(report.exitStatus == 0)
    }

    @Test("Multicast: the interface's MULTICAST flag, and an address to send from")
    func multicast() {
        var host = FakeHost()
        #expect(doctor(vrrpConfig, host: host).severity("vrrp.VI_1.multicast") == .ok)
        host.links[1].supportsMulticast = false
        let report = doctor(vrrpConfig, host: host)
        #expect(report.severity("vrrp.VI_1.multicast") == .error)
        #expect(report.only("vrrp.VI_1.multicast")?.fix?.hasPrefix("ip link set eth0 multicast on") == true)
        host.links[1].addresses = []
        #expect(doctor(vrrpConfig, host: host).severity("vrrp.VI_1.source") == .error)
    }

    static let unicast = vrrpConfig.replacingOccurrences(of: "advert_int 1", with: """
        advert_int 1
            unicast_src_ip 192.0.2.1
            unicast_peer {
                192.0.2.2
                192.0.2.3
            }
        """)

    @Test("Unicast peers: routed by the instance's interface is ok, elsewhere a warning, no route an error")
    func unicastPeers() {
        var host = FakeHost()
        var report = doctor(Self.unicast, host: host)
        #expect(report.severity("vrrp.VI_1.peer.192.0.2.2") == .ok)
        #expect(report.findings("vrrp.VI_1.multicast").isEmpty)
        host.routes[IPAddress("192.0.2.2")!] = .unreachable("connect: Network is unreachable")
        host.routes[IPAddress("192.0.2.3")!] = .via(interface: "eth1", source: IPAddress("203.0.113.1")!)
        report = doctor(Self.unicast, host: host)
        #expect(report.severity("vrrp.VI_1.peer.192.0.2.2") == .error)
        #expect(report.only("vrrp.VI_1.peer.192.0.2.2")?.fix == "ip route add 192.0.2.2/32 dev eth0")
        #expect(report.severity("vrrp.VI_1.peer.192.0.2.3") == .warning)
    }

    @Test("unicast_src_ip must be this host's; a peer that is this host is a warning")
    func unicastSource() {
        var host = FakeHost()
        #expect(doctor(Self.unicast, host: host).findings("vrrp.VI_1.unicast_src_ip").isEmpty)
        host.links[1].addresses = [IPAddress("192.0.2.2")!]
        let report = doctor(Self.unicast, host: host)
        #expect(report.severity("vrrp.VI_1.unicast_src_ip") == .error)
        #expect(report.severity("vrrp.VI_1.peer.192.0.2.2") == .warning)
    }

    @Test("The status address: free is ok, in use an error, none not probed")
    func statusAddress() {
        var host = FakeHost()
        #expect(doctor(natConfig, host: host).severity("status.address") == .ok)
        host.boundPorts[9901] = .inUse
        let report = doctor(natConfig, host: host)
        #expect(report.severity("status.address") == .error)
        #expect(report.only("status.address")?.fix?.hasPrefix("ss -ltnp 'sport = :9901'") == true)
        #expect(doctor(natConfig, host: host, options: DoctorOptions(statusAddress: nil)).severity("status.address") == .ok)
        host.boundPorts[9901] = .failed("bind: Cannot assign requested address")
        #expect(doctor(natConfig, host: host).severity("status.address") == .error)
    }

    @Test("--json: one object with config, counts and findings carrying id, severity, check, message and fix")
    func json() throws {
        var host = FakeHost()
        host.modules = ["ip_vs": .missing]
        let report = doctor(natConfig, host: host)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["config", "errors", "warnings", "findings"])
        #expect(object["errors"] as? Int == report.errors)
        let findings = try #require(object["findings"] as? [[String: Any]])
        let ipvs = try #require(findings.first { $0["id"] as? String == "module.ip_vs" })
        #expect(ipvs["severity"] as? String == "error")
        #expect((ipvs["fix"] as? String)?.hasPrefix("modprobe ip_vs") == true)
        #expect(ipvs["message"] is String && ipvs["check"] is String)
        #expect(try JSONDecoder().decode(DoctorReport.self, from: Data(report.json.utf8)) == report)
    }

    @Test("The text form prints each fix under its finding and ends with the verdict")
    func text() {
        var host = FakeHost()
        host.sysctls["net.ipv4.ip_forward"] = "0"
        let text = doctor(natConfig, host: host).text
        #expect(text.contains("error   sysctl.ip_forward"))
        #expect(text.contains("fix: sysctl -w net.ipv4.ip_forward=1"))
        #expect(text.hasSuffix("Vigil would not work as configured on this host\n"))
    }
}
