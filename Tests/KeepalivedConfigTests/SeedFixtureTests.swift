import Foundation
import KeepalivedConfig
import Testing
import VigilSupport

/// The keepalived.conf files published in the seed documents load, with the values a user would expect.
@Suite struct SeedFixtureTests {
    @Test func everySeedFixtureLoadsWithoutErrors() {
        let files = Fixtures.files(in: "seeds", suffix: ".conf")
        #expect(files.count == 11)
        for f in files {
            let r = Fixtures.load("seeds/" + f)
            #expect(!r.hasErrors, "\(f): \(r.rendered)")
            #expect(r.configuration != nil)
        }
    }

    @Test func unicastMasterWithChineseComments() throws {
        let r = Fixtures.load("seeds/000-unicast-master.conf")
        #expect(r.renderedSupported.isEmpty, "\(r.rendered)")
        #expect(r.diagnostics.filter { $0.code == .notSupported }.map(\.line) == [4, 7, 8, 9, 10], "e-mail settings and router_id")
        let c = try #require(r.configuration)
        #expect(c.global.routerID == "km12-01")
        #expect(c.global.notificationEmail == ["root@localhost"])
        #expect(c.global.notificationEmailFrom == "keepalived@localhost")
        #expect(c.global.smtpServer == SocketAddress(IPAddress("127.0.0.1")!, 25))
        #expect(c.global.smtpConnectTimeout == 30)
        let v = try #require(c.vrrpInstances.first)
        #expect(c.vrrpInstances.count == 1)
        #expect(v.name == "VI_1")
        #expect(v.initialState == .master)
        #expect(v.interface == "eth0")
        #expect(v.virtualRouterID == 6)
        #expect(v.priority == 100)
        #expect(v.advertInterval == 1)
        #expect(v.version == 2)
        #expect(v.preempt)
        #expect(v.authentication == VRRPAuthentication(type: .pass, password: "571f97b2"))
        #expect(v.unicastSourceIP == IPAddress("10.42.13.20"))
        #expect(v.unicastPeers == [IPAddress("10.42.43.17")!, IPAddress("10.42.150.22")!])
        #expect(v.virtualIPAddresses == [VirtualIPAddress(address: IPAddress("10.42.79.10")!, prefixLength: 16)])
    }

    @Test func unicastBackup() throws {
        let c = try #require(Fixtures.load("seeds/000-unicast-backup.conf").configuration)
        let v = try #require(c.vrrpInstances.first)
        #expect(c.global.routerID == "km12-02")
        #expect(v.initialState == .backup)
        #expect(v.priority == 80)
        #expect(v.unicastSourceIP == IPAddress("10.42.43.17"))
        #expect(v.unicastPeers.map(\.description) == ["10.42.150.22", "10.42.13.20"])
        #expect(v.virtualIPAddresses.map { "\($0.address)/\($0.prefixLength)" } == ["10.42.79.20/16"])
    }

    @Test func sealosTemplateRendersToTheCommittedFixtures() throws {
        let template = try String(contentsOfFile: Fixtures.path("seeds/001-sealos.conf.j2"), encoding: .utf8)
        let body = template.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)[1]
        func render(_ values: [String: String]) -> String {
            var out = String(body)
            for (k, v) in values { out = out.replacingOccurrences(of: "{{ \(k) }}", with: v) }
            return out
        }
        for (file, lb, priority) in [("001-sealos-master.conf", "MASTER", "100"), ("001-sealos-backup.conf", "BACKUP", "80")] {
            let rendered = try String(contentsOfFile: Fixtures.path("seeds/" + file), encoding: .utf8)
            let expected = render(["lb": lb, "ansible_default_ipv4.interface": "eth0", "priority": priority, "vip": "10.1.86.209"])
            #expect(String(rendered.split(separator: "\n", maxSplits: 1)[1]) == expected)
        }
    }

    @Test func sealosMasterTracksHaproxyWithNegativeWeight() throws {
        let r = Fixtures.load("seeds/001-sealos-master.conf")
        let c = try #require(r.configuration)
        #expect(c.global.routerID == "kubernetes")
        let s = try #require(c.vrrpScript(named: "Checkhaproxy"))
        #expect(s.script == "/etc/keepalived/check_haproxy.sh")
        #expect(s.interval == 3)
        #expect(s.timeout == 3)
        #expect(s.weight == -25)
        #expect(s.rise == 1 && s.fall == 1)
        let v = try #require(c.vrrpInstance(named: "VI_1"))
        #expect(v.initialState == .master)
        #expect(v.virtualRouterID == 100)
        #expect(v.priority == 100)
        #expect(v.trackScripts == [TrackedScript(name: "Checkhaproxy")])
        // auth_pass "kubernetes" is 10 characters: truncated to 8 with a warning, as keepalived does.
        #expect(v.authentication?.password == "kubernet")
        #expect(r.codes.contains(.valueAdjusted))
        #expect(r.codes.contains(.scriptNotFound))
        #expect(r.codes.contains(.scriptSecurity))
        #expect(v.virtualIPAddresses.map(\.address.description) == ["10.1.86.209"])
    }

    @Test func sealosBackup() throws {
        let c = try #require(Fixtures.load("seeds/001-sealos-backup.conf").configuration)
        let v = try #require(c.vrrpInstances.first)
        #expect(v.initialState == .backup)
        #expect(v.priority == 80)
    }

    @Test func slideFragmentsTrackScriptsAndInterfacesWithWeights() throws {
        let r = Fixtures.load("seeds/002-magedu-slides.conf")
        let c = try #require(r.configuration)
        #expect(c.vrrpScripts.map(\.name) == ["chk_sshd", "chk_http_port", "chk_haproxy", "chk_maintenance_down"])
        let sshd = try #require(c.vrrpScript(named: "chk_sshd"))
        #expect(sshd.script == "killall -0 sshd")
        #expect(sshd.interval == 2 && sshd.weight == -4 && sshd.fall == 2 && sshd.rise == 2)
        #expect(c.vrrpScript(named: "chk_http_port")?.script == "</dev/tcp/127.0.0.1/80")
        #expect(c.vrrpScript(named: "chk_maintenance_down")?.script == "[[-f /etc/keepalived/down]] && exit 1 || exit 0")
        let v = try #require(c.vrrpInstances.first)
        #expect(v.trackInterfaces == [TrackedInterface(name: "eth1", weight: 2), TrackedInterface(name: "eth2", weight: -2),
                                      TrackedInterface(name: "eth3")])
        #expect(v.trackScripts == [TrackedScript(name: "chk_sshd"), TrackedScript(name: "chk_haproxy", weight: 2),
                                   TrackedScript(name: "chk_http_port"), TrackedScript(name: "chk_maintenance_down")])
        let vip = try #require(v.virtualIPAddresses.first)
        #expect(vip.address == IPAddress("172.16.100.1") && vip.prefixLength == 16)
        #expect(vip.device == "eth0" && vip.label == "eth0:0")
        #expect(v.notify.master == "/etc/keepalived/notify.sh master")
        #expect(v.notify.backup == "/etc/keepalived/notify.sh backup")
        #expect(v.notify.fault == "/etc/keepalived/notify.sh fault")
        #expect(v.authentication?.password == "magedu.c")
    }

    @Test func openshiftLVSLoadsDespiteLegacyKeywords() throws {
        let r = Fixtures.load("seeds/003-openshift-lvs.conf")
        let c = try #require(r.configuration)
        // keepalived 2.2.7 rejects nb_get_retry and nat_mask; Vigil loads them with deprecation warnings.
        let deprecations = r.diagnostics.filter { $0.code == .deprecatedKeyword }.map(\.message)
        #expect(deprecations == [
            "`lb_algo` is deprecated; use `lvs_sched`",
            "`lb_kind` is deprecated; use `lvs_method`",
            "`nb_get_retry` is deprecated; use `retry`",
            "`nb_get_retry` is deprecated; use `retry`",
            "`nb_get_retry` is deprecated; use `retry`",
        ])
        #expect(r.diagnostics.allSatisfy { $0.severity == .warning })
        #expect(c.global.routerID == "LVS_DEVEL")
        #expect(c.global.notificationEmail == ["receiver@example.com"])
        let v = try #require(c.vrrpInstances.first)
        #expect(v.virtualRouterID == 51 && v.priority == 100 && v.authentication?.password == "1111")
        #expect(v.virtualIPAddresses.map(\.address.description) == ["192.168.0.250"])

        let vs = try #require(c.virtualServers.first)
        #expect(vs.address == .socket(SocketAddress(IPAddress("192.168.232.206")!, 8443)))
        #expect(vs.protocol == .tcp)
        #expect(vs.scheduler == "wlc")
        #expect(vs.forwardingMethod == .directRouting)
        #expect(vs.persistenceTimeout == 50)
        #expect(vs.timing.delayLoop == 6)
        #expect(vs.realServers.map(\.address.description) == ["192.168.0.2:8443", "192.168.0.3:8443", "192.168.0.4:8443"])
        for rs in vs.realServers {
            #expect(rs.weight == 1)
            #expect(rs.forwardingMethod == .directRouting)
            guard case .tcp(let check) = try #require(rs.checkers.first) else {
                Issue.record("expected TCP_CHECK")
                continue
            }
            #expect(check.connection.connectPort == 8443)
            #expect(check.connection.connectIP == rs.address.address)
            #expect(check.timing == CheckerTiming(delayLoop: 6, retry: 3, delayBeforeRetry: 3, connectTimeout: 10, warmup: 6, alpha: false))
        }
    }

    @Test func openshiftCheckerFragments() throws {
        let r = Fixtures.load("seeds/003-openshift-checkers.conf")
        let c = try #require(r.configuration)
        let rs = try #require(c.virtualServers.first?.realServers)
        #expect(rs.map { $0.checkers.first?.kind } == [.tcp, .http, .ssl, .misc, .smtp])
        guard case .tcp(let tcp) = rs[0].checkers[0] else { Issue.record("TCP"); return }
        #expect(tcp.connection.connectPort == 6500)
        guard case .http(let http) = rs[1].checkers[0] else { Issue.record("HTTP"); return }
        #expect(http.urls == [HTTPURL(path: "/", statusCodes: [HTTPStatusRange(200, 200)])])
        #expect(!http.useTLS)
        #expect(http.timing.connectTimeout == 3 && http.timing.retry == 3 && http.timing.delayBeforeRetry == 3)
        guard case .ssl(let ssl) = rs[2].checkers[0] else { Issue.record("SSL"); return }
        #expect(ssl.useTLS && ssl.urls.first?.path == "/")
        guard case .misc(let misc) = rs[3].checkers[0] else { Issue.record("MISC"); return }
        #expect(misc.path == "/etc/keepalived/misc_check.sh https://192.168.0.2:6500/check_status")
        #expect(misc.timeout == 10 && misc.dynamic)
        #expect(misc.timing.retry == 0, "MISC_CHECK retry defaults to 0")
        guard case .smtp(let smtp) = rs[4].checkers[0] else { Issue.record("SMTP"); return }
        #expect(smtp.heloName == "hello")
        #expect(smtp.hosts == [CheckerConnection(connectIP: IPAddress("192.168.0.3")!, connectPort: 25)])
        #expect(smtp.connection.connectPort == 25)
        #expect(smtp.timing.connectTimeout == 5 && smtp.timing.retry == 3 && smtp.timing.delayBeforeRetry == 3)
    }

    @Test func activeActivePair() throws {
        let master = try #require(Fixtures.load("seeds/004-active-active-master.conf").configuration)
        let backup = try #require(Fixtures.load("seeds/004-active-active-backup.conf").configuration)
        #expect(master.global.routerID == "proxy-master")
        #expect(backup.global.routerID == "proxy-backup")
        let script = try #require(master.vrrpScript(named: "chk_haproxy"))
        #expect(script.interval == 10 && script.weight == 0)
        #expect(master.vrrpInstances.map { "\($0.name) \($0.initialState.rawValue) \($0.virtualRouterID) \($0.priority)" }
                == ["VI_1 MASTER 51 100", "VI_2 BACKUP 61 50"])
        #expect(backup.vrrpInstances.map { "\($0.name) \($0.initialState.rawValue) \($0.virtualRouterID) \($0.priority)" }
                == ["VI_1 BACKUP 51 50", "VI_2 MASTER 61 100"])
        #expect(master.vrrpInstances[0].trackScripts == [TrackedScript(name: "chk_haproxy")])
        #expect(master.vrrpInstances[1].trackScripts.isEmpty)
        #expect(backup.vrrpInstances[1].trackScripts == [TrackedScript(name: "chk_haproxy")])
        #expect(master.vrrpInstances[0].virtualIPAddresses.map(\.address.description) == ["192.168.1.10"])
    }

    @Test func activePassivePair() throws {
        let master = try #require(Fixtures.load("seeds/004-active-passive-master.conf").configuration)
        let backup = try #require(Fixtures.load("seeds/004-active-passive-backup.conf").configuration)
        #expect(master.vrrpInstances.map(\.interface) == ["ens192"])
        #expect(backup.vrrpInstances.map(\.interface) == ["eth0"])
        #expect(master.vrrpInstances[0].virtualIPAddresses == backup.vrrpInstances[0].virtualIPAddresses)
        #expect(backup.vrrpInstances[0].priority == 50)
    }
}
