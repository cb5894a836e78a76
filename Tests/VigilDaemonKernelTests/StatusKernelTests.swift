import Foundation
import Testing
import VigilTestSupport

/// The status server of a `vigil` running both halves against the kernel: what `/status` and
/// `/metrics` say follows VRRP and the IPVS table.
@Suite("vigil status server against the kernel", .serialized, .requiresIPVS, .tags(.ipvsKernel))
struct StatusKernelTests {
    typealias Daemon = VigilCheckerBinaryTests.Daemon

    @Test("/status follows its schema and /metrics has the exporters' names; a server taken down shows in both and in IPVS within one check")
    func statusFollowsKernel() async throws {
        shell("/usr/sbin/ipvsadm", ["-C"])
        defer { shell("/usr/sbin/ipvsadm", ["-C"]) }
        shell("/sbin/ip", ["link", "add", "vgs0", "type", "veth", "peer", "name", "vgs1"])
        defer { shell("/sbin/ip", ["link", "del", "vgs0"]) }
        shell("/sbin/ip", ["addr", "add", "198.51.100.1/24", "dev", "vgs0"])
        shell("/sbin/ip", ["link", "set", "vgs0", "up"])
        shell("/sbin/ip", ["link", "set", "vgs1", "up"])
        let stays = try await Backend(), goes = try await Backend()
        defer { Task { await stays.kill(); await goes.kill() } }
        let scratch = NSTemporaryDirectory() + "vigil-status-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let conf = "\(scratch)/keepalived.conf"
        try """
        vrrp_instance VI_S {
            interface vgs0
            virtual_router_id 61
            priority 150
            advert_int 1
            virtual_ipaddress {
                192.0.2.41/32
            }
        }
        virtual_server 192.0.2.41 80 {
            delay_loop 1
            lvs_sched wrr
            lvs_method NAT
            protocol TCP
            real_server 127.0.0.1 \(stays.port) {
                weight 3
                TCP_CHECK {
                    connect_timeout 1
                    retry 0
                    warmup 0
                }
            }
            real_server 127.0.0.1 \(goes.port) {
                weight 2
                TCP_CHECK {
                    connect_timeout 1
                    retry 0
                    warmup 0
                }
            }
        }
        """.write(toFile: conf, atomically: true, encoding: .utf8)
        let base = "http://127.0.0.1:9911"
        let daemon = try Daemon(["-n", "-l", "-G", "-f", conf, "--status-address", "127.0.0.1:9911"], log: "\(scratch)/vigil.log")
        #expect(await eventually("service installed", within: 45) { $0["TCP 192.0.2.41:80"]?.count == 2 }, "\(daemon.output.suffix(3000))")
        var ready = 0
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, ready != 200 {
            ready = Lab.httpGet(base + "/readyz").0
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(ready == 200, "ready once VRRP left INIT and every checker has a verdict: \(daemon.output.suffix(2000))")
        // The instance becomes master after its Master_Down interval (about 3.6 s).
        var master = false
        let masterDeadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < masterDeadline, !master {
            master = Lab.httpGet(base + "/status").1.contains("\"state\" : \"MASTER\"")
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(master, "\(Lab.httpGet(base + "/status").1)")

        let (rc, out) = Lab.checkStatus(base, ["--vrrp", "--lvs", "--kernel"])
        #expect(rc == 0, "\(out.suffix(3000))")
        let read = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        let metrics = read?["metrics"] as? [String: Double] ?? [:]
        #expect(metrics["keepalived_vrrp_state{iname=\"VI_S\",intf=\"vgs0\",ip_address=\"192.0.2.41\",vrid=\"61\"}"] == 2, "\(metrics.keys.sorted())")
        #expect((metrics["keepalived_advertisements_sent_total{iname=\"VI_S\",intf=\"vgs0\",state=\"MASTER\",vrid=\"61\"}"] ?? 0) >= 1)
        #expect(metrics["node_ipvs_backend_weight{local_address=\"192.0.2.41\",local_mark=\"\",local_port=\"80\",proto=\"TCP\",remote_address=\"127.0.0.1\",remote_port=\"\(goes.port)\"}"] == 2,
                "\(metrics.keys.filter { $0.hasPrefix("node_ipvs") })")

        // One backend goes away: one failed check (retry 0) takes it out of IPVS, /status and /metrics.
        await goes.kill()
        #expect(await eventually("the dead server leaves IPVS", within: 10) { $0["TCP 192.0.2.41:80"]?.count == 1 })
        let (_, after) = Lab.checkStatus(base, ["--lvs", "--kernel"])
        let afterRead = try JSONSerialization.jsonObject(with: Data(after.utf8)) as? [String: Any]
        let afterMetrics = afterRead?["metrics"] as? [String: Double] ?? [:]
        #expect(afterMetrics["vigil_real_server_up{real_server=\"127.0.0.1:\(goes.port)\",service=\"TCP 192.0.2.41:80\"}"] == 0, "\(afterMetrics)")
        #expect(afterMetrics["vigil_real_server_up{real_server=\"127.0.0.1:\(stays.port)\",service=\"TCP 192.0.2.41:80\"}"] == 1)
        #expect(!afterMetrics.keys.contains { $0.contains("remote_port=\"\(goes.port)\"") }, "no kernel series for a server not in IPVS")
        let servers = ((afterRead?["status"] as? [String: Any])?["virtual_servers"] as? [[String: Any]])?.first?["real_servers"] as? [[String: Any]] ?? []
        let gone = servers.first { ($0["port"] as? Int) == Int(goes.port) }
        #expect(gone?["alive"] as? Bool == false && gone?["in_ipvs"] as? Bool == false, "\(servers)")
        #expect(await daemon.stop() == 0, "\(daemon.output.suffix(2000))")
    }
}
