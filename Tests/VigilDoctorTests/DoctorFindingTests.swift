import Foundation
import Testing
import KeepalivedConfig
import VigilDoctor
import VigilSupport

@Suite("vigil doctor: configuration, capabilities, modules")
struct DoctorBasicsTests {
    @Test("A configuration vigil -t accepts is ok; a rejected one is an error with the exit status 1")
    func configuration() {
        let good = doctor(natConfig, host: FakeHost())
        #expect(good.severity("config") == .ok)
        #expect(good.exitStatus == 0)
        let bad = doctor("virtual_server 192.0.2.10 80 {\n lb_kind BOGUS\n", host: FakeHost())
        #expect(bad.severity("config") == .error)
        #expect(bad.only("config")?.fix == "vigil -t -f test.conf   # every diagnostic with its line")
        #expect(bad.exitStatus == 1)
    }

    @Test("CAP_NET_ADMIN missing is an error when IPVS is configured; CAP_NET_RAW only when VRRP or PING_CHECK needs it")
    func capabilities() {
        #expect(doctor(natConfig, host: FakeHost()).severity("capability.net_admin") == .ok)
        var host = FakeHost()
        host.capabilities = 1 << 13
        let report = doctor(natConfig, host: host)
        #expect(report.severity("capability.net_admin") == .error)
        #expect(report.only("capability.net_admin")?.fix?.contains("setcap cap_net_admin,cap_net_raw+ep") == true)
        host.capabilities = 1 << 12
        #expect(doctor(natConfig, host: host).severity("capability.net_raw") == .ok)
        #expect(doctor(vrrpConfig, host: host).severity("capability.net_raw") == .error)
    }

    @Test("ip_vs and each configured scheduler: loaded, built in or installed is ok; missing is an error fixed by modprobe")
    func modules() {
        var host = FakeHost()
        host.modules = ["ip_vs": .loaded, "ip_vs_wrr": .loadable]
        var report = doctor(natConfig, host: host)
        #expect(report.severity("module.ip_vs") == .ok)
        #expect(report.severity("module.ip_vs_wrr") == .ok)
        host.modules = ["ip_vs": .builtIn, "ip_vs_wrr": .missing]
        report = doctor(natConfig, host: host)
        #expect(report.severity("module.ip_vs") == .ok)
        #expect(report.severity("module.ip_vs_wrr") == .error)
        #expect(report.only("module.ip_vs_wrr")?.fix?.hasPrefix("modprobe ip_vs_wrr") == true)
        host.modules = ["ip_vs": .missing]
        report = doctor(natConfig, host: host)
        #expect(report.severity("module.ip_vs") == .error)
        #expect(report.only("module.ip_vs")?.message.contains("6.1.0-test") == true)
        #expect(report.exitStatus == 1)
    }

    @Test("A VRRP-only configuration needs no IPVS module")
    func vrrpOnlyNeedsNoIPVS() {
        var host = FakeHost()
        host.modules = ["ip_vs": .missing]
        let report = doctor(vrrpConfig, host: host)
        #expect(report.severity("module.ip_vs") == .ok)
        #expect(report.exitStatus == 0)
    }
}

@Suite("vigil doctor: sysctls")
struct DoctorSysctlTests {
    @Test("NAT needs net.ipv4.ip_forward=1: 0 is an error with the sysctl -w fix, 1 is ok, DR does not ask")
    func ipForward() {
        var host = FakeHost()
        #expect(doctor(natConfig, host: host).severity("sysctl.ip_forward") == .ok)
        host.sysctls["net.ipv4.ip_forward"] = "0"
        let report = doctor(natConfig, host: host)
        #expect(report.severity("sysctl.ip_forward") == .error)
        #expect(report.only("sysctl.ip_forward")?.fix?.hasPrefix("sysctl -w net.ipv4.ip_forward=1") == true)
        let dr = natConfig.replacingOccurrences(of: "lb_kind NAT", with: "lb_kind DR")
        #expect(doctor(dr, host: host).findings("sysctl.ip_forward").isEmpty)
    }

    @Test("A virtual server on a VIP this host does not hold yet warns without ip_nonlocal_bind; a held VIP does not ask")
    func nonlocalBind() {
        let config = vrrpConfig + natConfig.replacingOccurrences(of: "192.0.2.10 80", with: "192.0.2.100 80")
        var host = FakeHost()
        #expect(doctor(config, host: host).severity("sysctl.ip_nonlocal_bind") == .ok)
        host.sysctls["net.ipv4.ip_nonlocal_bind"] = "0"
        let report = doctor(config, host: host)
        #expect(report.severity("sysctl.ip_nonlocal_bind") == .warning)
        #expect(report.only("sysctl.ip_nonlocal_bind")?.fix?.hasPrefix("sysctl -w net.ipv4.ip_nonlocal_bind=1") == true)
        host.links[1].addresses.append(IPAddress("192.0.2.100")!)
        #expect(doctor(config, host: host).findings("sysctl.ip_nonlocal_bind").isEmpty)
    }

    static let localDR = """
    virtual_server 192.0.2.100 6443 {
        lb_algo rr
        lb_kind DR
        protocol TCP
        real_server 192.0.2.1 6443 {
            TCP_CHECK {
                connect_timeout 1
            }
        }
    }
    """

    @Test("DR with this host as a real server: arp_ignore, arp_announce and the VIP on lo, each warned with its fix")
    func localDirectRouting() {
        var host = FakeHost()
        host.links[0].addresses.append(IPAddress("192.0.2.100")!)
        var report = doctor(Self.localDR, host: host)
        #expect(report.severity("sysctl.arp_ignore") == .ok)
        #expect(report.severity("sysctl.arp_announce") == .ok)
        #expect(report.severity("dr.vip_on_lo") == .ok)
        host.links[0].addresses.removeLast()
        host.sysctls["net.ipv4.conf.all.arp_ignore"] = "0"
        host.sysctls["net.ipv4.conf.all.arp_announce"] = "0"
        report = doctor(Self.localDR, host: host)
        #expect(report.severity("sysctl.arp_ignore") == .warning)
        #expect(report.only("sysctl.arp_ignore")?.fix?.hasPrefix("sysctl -w net.ipv4.conf.all.arp_ignore=1") == true)
        #expect(report.severity("sysctl.arp_announce") == .warning)
        #expect(report.only("sysctl.arp_announce")?.fix?.hasPrefix("sysctl -w net.ipv4.conf.all.arp_announce=2") == true)
        #expect(report.only("dr.vip_on_lo")?.fix == "ip addr add 192.0.2.100/32 dev lo")
        // The kernel takes the larger of `all` and the interface's value.
        host.sysctls["net.ipv4.conf.eth0.arp_ignore"] = "1"
        #expect(doctor(Self.localDR, host: host).severity("sysctl.arp_ignore") == .ok)
    }

    @Test("DR to real servers elsewhere asks nothing about ARP")
    func remoteDirectRouting() {
        let remote = Self.localDR.replacingOccurrences(of: "real_server 192.0.2.1 ", with: "real_server 192.0.2.7 ")
        let report = doctor(remote, host: FakeHost())
        #expect(report.findings("sysctl.arp_ignore").isEmpty)
        #expect(report.findings("dr.vip_on_lo").isEmpty)
    }

    @Test("With SNAT, net.ipv4.vs.conntrack=0 or absent is an error; without SNAT it is not checked")
    func conntrack() {
        var host = FakeHost()
        let snat = DoctorOptions(usesSNAT: true)
        #expect(doctor(natConfig, host: host, options: snat).severity("sysctl.vs_conntrack") == .ok)
        host.sysctls["net.ipv4.vs.conntrack"] = "0"
        #expect(doctor(natConfig, host: host, options: snat).only("sysctl.vs_conntrack")?.fix?.hasPrefix("sysctl -w net.ipv4.vs.conntrack=1") == true)
        host.sysctls["net.ipv4.vs.conntrack"] = nil
        let absent = doctor(natConfig, host: host, options: snat)
        #expect(absent.severity("sysctl.vs_conntrack") == .error)
        #expect(absent.only("sysctl.vs_conntrack")?.fix == "modprobe ip_vs && sysctl -w net.ipv4.vs.conntrack=1")
        #expect(doctor(natConfig, host: host).findings("sysctl.vs_conntrack").isEmpty)
    }
}
