import Foundation
import KeepalivedConfig
import Testing
import VigilSupport
@testable import VRRP

@Suite("VRRP tracking and scripts")
struct TrackingTests {
    @Test func riseAndFallCountConsecutiveResults() {
        var t = VRRPScriptTracker(rise: 2, fall: 3)
        #expect(t.record(success: false) == nil)
        #expect(t.record(success: false) == nil)
        #expect(t.record(success: true) == nil, "a success resets the failure streak")
        #expect(t.record(success: false) == nil)
        #expect(t.record(success: false) == nil)
        #expect(t.record(success: false) == false)
        #expect(t.record(success: true) == nil)
        #expect(t.record(success: true) == true)
    }

    @Test func weightsFollowKeepalived() {
        // weight 0: failure faults the instance.
        #expect(trackingAdjustment(weight: 0, reverse: false, healthy: false) == (0, true))
        #expect(trackingAdjustment(weight: 0, reverse: false, healthy: true) == (0, false))
        // Positive weight: added while succeeding. Negative: added while failing.
        #expect(trackingAdjustment(weight: 20, reverse: false, healthy: true) == (20, false))
        #expect(trackingAdjustment(weight: 20, reverse: false, healthy: false) == (0, false))
        #expect(trackingAdjustment(weight: -20, reverse: false, healthy: false) == (-20, false))
        #expect(trackingAdjustment(weight: -20, reverse: false, healthy: true) == (0, false))
        // reverse: the direction flips.
        #expect(trackingAdjustment(weight: 20, reverse: true, healthy: true) == (-20, false))
        #expect(trackingAdjustment(weight: -20, reverse: true, healthy: false) == (20, false))
    }

    @Test func genericNotifyGetsKeepalivedsArguments() {
        #expect(genericNotifyArguments(group: false, name: "VI_1", state: .master, priority: 150) == ["INSTANCE", "VI_1", "MASTER", "150"])
        #expect(genericNotifyArguments(group: true, name: "G", state: .fault, priority: 0) == ["GROUP", "G", "FAULT", "0"])
        #expect(genericNotifyArguments(group: false, name: "VI_1", state: .stopped, priority: 100)[2] == "STOP")
    }

    @Test func scriptLinesSplitLikeKeepalived() {
        #expect(splitScriptCommand("/usr/bin/check --host '192.0.2.1' \"a b\"") == ["/usr/bin/check", "--host", "192.0.2.1", "a b"])
        #expect(splitScriptCommand("  killall -0 haproxy ") == ["killall", "-0", "haproxy"])
        #expect(splitScriptCommand("") == [])
    }

    @Test func scriptSecurityRefusesWritableScriptsAndDirectories() throws {
        let dir = "/tmp/vigil-sec-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o755)
        let script = dir + "/check.sh"
        FileManager.default.createFile(atPath: script, contents: Data("#!/bin/sh\n".utf8))
        chmod(script, 0o755)
        try checkScriptSecurity(path: script)
        chmod(script, 0o777)
        #expect(throws: ScriptSecurityError.self) { try checkScriptSecurity(path: script) }
        chmod(script, 0o755)
        chmod(dir, 0o777)
        #expect(throws: ScriptSecurityError.self) { try checkScriptSecurity(path: script) }
        chmod(dir, 0o755)
        chown(script, 65534, 65534)
        #expect(throws: ScriptSecurityError.self) { try checkScriptSecurity(path: script) }
        try checkScriptSecurity(path: script, runAsUID: 65534)
        #expect(throws: ScriptSecurityError.self) { try checkScriptSecurity(path: "relative.sh") }
    }
}

@Suite("keepalived.conf to VRRP settings")
struct ConfigMappingTests {
    private func settings(_ text: String) throws -> (VRRPSettings, [String]) {
        let r = ConfigLoader.parse(text: text, options: LoadOptions(hostName: "lab", checkScripts: false, followIncludes: false))
        #expect(!r.hasErrors, "\(r.errors)")
        let c = try #require(r.configuration)
        var warnings: [String] = []
        return (try VRRPSettings(configuration: c, warnings: &warnings), warnings)
    }

    @Test func mapsAnInstanceWithEveryCommonSetting() throws {
        let (s, _) = try settings("""
        vrrp_script chk {
            script "/bin/true"
            interval 2
            weight -30
            fall 3
            rise 2
        }
        vrrp_instance VI_1 {
            state MASTER
            interface eth0
            virtual_router_id 51
            priority 150
            advert_int 1
            nopreempt
            authentication {
                auth_type PASS
                auth_pass secret1234
            }
            unicast_src_ip 192.0.2.11
            unicast_peer {
                192.0.2.12
            }
            virtual_ipaddress {
                192.0.2.100/24 dev eth0 label eth0:vip
            }
            track_script {
                chk
            }
            notify "/usr/local/bin/notify.sh"
        }
        """)
        let i = try #require(s.instances.first)
        #expect(i.name == "VI_1" && i.version == .v2 && i.virtualRouterID == 51 && i.priority == 150)
        #expect(i.advertIntervalCentiseconds == 100 && !i.preempt && i.initialMaster)
        #expect(i.authentication == .password("secret12"), "auth_pass is truncated to 8 octets")
        #expect(i.sourceAddress == IPAddress("192.0.2.11") && i.unicastPeers == [IPAddress("192.0.2.12")!])
        #expect(i.virtualAddresses == [VRRPVirtualAddress(address: IPAddress("192.0.2.100")!, prefixLength: 24, device: "eth0", label: "eth0:vip")])
        #expect(i.trackScripts == [VRRPTrackedScript(name: "chk", weight: -30)], "the script's own weight applies")
        #expect(i.notify.generic == "/usr/local/bin/notify.sh")
        let chk = try #require(s.scripts.first)
        #expect(chk.interval == .seconds(2) && chk.fall == 3 && chk.rise == 2)
    }

    @Test func v3CentisecondIntervalsAndNoAuthentication() throws {
        let (s, warnings) = try settings("""
        vrrp_instance VI_6 {
            interface eth0
            virtual_router_id 7
            version 3
            advert_int 0.05
            authentication {
                auth_type PASS
                auth_pass x
            }
            virtual_ipaddress {
                192.0.2.100
            }
        }
        """)
        let i = try #require(s.instances.first)
        #expect(i.version == .v3 && i.advertIntervalCentiseconds == 5 && i.authentication == .none)
        _ = warnings
    }
}
