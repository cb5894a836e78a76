#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import VigilTestSupport

/// A network namespace this test makes and deletes, with a veth pair: vd0 up at 192.0.2.1/24, vd1 down.
final class DoctorNamespace {
    let name = "vigil-doctor-\(getpid())-\(UInt32.random(in: 0..<1_000_000))"
    let scratch: String

    init() throws {
        scratch = NSTemporaryDirectory() + name
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        try ip(["netns", "add", name])
        try ip(["-n", name, "link", "set", "lo", "up"])
        try ip(["-n", name, "link", "add", "vd0", "type", "veth", "peer", "name", "vd1"])
        try ip(["-n", name, "addr", "add", "192.0.2.1/24", "dev", "vd0"])
        try ip(["-n", name, "link", "set", "vd0", "up"])
    }

    deinit {
        _ = Lab.run("/sbin/ip", ["netns", "del", name])
        try? FileManager.default.removeItem(atPath: scratch)
    }

    private func ip(_ arguments: [String]) throws {
        let (rc, out) = Lab.capture("/sbin/ip", arguments)
        if rc != 0 { throw DoctorTestError(message: "ip \(arguments.joined(separator: " ")): \(out)") }
    }

    /// Runs a program inside the namespace: exit status and output.
    func run(_ arguments: [String]) -> (Int32, String) {
        Lab.capture("/sbin/ip", ["netns", "exec", name] + arguments)
    }

    func write(_ file: String, _ text: String) throws -> String {
        let path = "\(scratch)/\(file)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

struct DoctorTestError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// The `vigil doctor` binary on this host, in a namespace it cannot harm: the findings a user reads.
@Suite("vigil doctor binary in a network namespace", .serialized, .requiresNamespaces, .tags(.namespaces))
struct DoctorBinaryTests {
    static let config = """
    vrrp_instance VI_D {
        state BACKUP
        interface vd0
        virtual_router_id 52
        priority 100
        advert_int 1
        unicast_src_ip 192.0.2.1
        unicast_peer {
            192.0.2.2
            203.0.113.9
        }
        track_interface {
            vd1
        }
        virtual_ipaddress {
            192.0.2.100/24
        }
    }
    vrrp_instance VI_GONE {
        state BACKUP
        interface vdmissing
        virtual_router_id 53
        priority 100
        virtual_ipaddress {
            192.0.2.101/24
        }
    }
    virtual_server 192.0.2.100 80 {
        lb_algo wrr
        lb_kind NAT
        protocol TCP
        real_server 198.51.100.1 80 {
            TCP_CHECK {
                connect_timeout 1
            }
        }
    }
    """

    /// `vigil doctor --json` in `ns`: its exit status and the findings by id.
    static func findings(_ ns: DoctorNamespace, _ extra: [String] = [], prefix: [String] = []) throws -> (Int32, [String: [String: Any]]) {
        let vigil = try #require(Lab.builtProduct("vigil"), "build vigil first: swift build --product vigil")
        let conf = try ns.write("keepalived.conf", config)
        let (rc, out) = ns.run(prefix + [vigil, "doctor", "-f", conf, "--json"] + extra)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], "not JSON: \(out)")
        let list = try #require(object["findings"] as? [[String: Any]])
        var byID: [String: [String: Any]] = [:]
        for f in list { byID[f["id"] as! String] = f }
        return (rc, byID)
    }

    @Test("A fresh namespace: no ip_vs here, ip_forward off, a missing, a down and a carrierless interface, an unroutable peer; exit 1")
    func freshNamespace() throws {
        let ns = try DoctorNamespace()
        let (rc, f) = try Self.findings(ns)
        #expect(rc == 1)
        if !Lab.hasIPVS {
            #expect(f["module.ip_vs"]?["severity"] as? String == "error")
            #expect((f["module.ip_vs"]?["fix"] as? String)?.hasPrefix("modprobe ip_vs") == true)
        }
        #expect(f["sysctl.ip_forward"]?["severity"] as? String == "error")
        #expect((f["sysctl.ip_forward"]?["fix"] as? String)?.hasPrefix("sysctl -w net.ipv4.ip_forward=1") == true)
        #expect(f["sysctl.ip_nonlocal_bind"]?["severity"] as? String == "warning")
        // A veth end is up but without carrier while its peer is down.
        #expect(f["interface.vd0"]?["severity"] as? String == "warning")
        #expect((f["interface.vd0"]?["message"] as? String)?.contains("no carrier") == true)
        #expect(f["interface.vd1"]?["severity"] as? String == "warning")
        #expect(f["interface.vd1"]?["fix"] as? String == "ip link set vd1 up")
        #expect(f["interface.vdmissing"]?["severity"] as? String == "error")
        #expect(f["vrrp.VI_D.peer.192.0.2.2"]?["severity"] as? String == "ok")
        #expect(f["vrrp.VI_D.peer.203.0.113.9"]?["severity"] as? String == "error")
        #expect(f["capability.net_admin"]?["severity"] as? String == "ok")
        #expect(f["status.address"]?["severity"] as? String == "ok")
    }

    @Test("Fixed with the printed commands, the namespace's own findings turn ok")
    func fixesApply() throws {
        let ns = try DoctorNamespace()
        let (_, before) = try Self.findings(ns)
        for id in ["sysctl.ip_forward", "sysctl.ip_nonlocal_bind", "interface.vd1", "vrrp.VI_D.peer.203.0.113.9"] {
            let fix = try #require(before[id]?["fix"] as? String)
            let command = String(fix.split(separator: "#").first!).split(separator: " ").map(String.init)
            let (rc, out) = ns.run(command)
            #expect(rc == 0, "\(fix): \(out)")
        }
        let (_, after) = try Self.findings(ns)
        for id in ["sysctl.ip_forward", "sysctl.ip_nonlocal_bind", "interface.vd0", "interface.vd1", "vrrp.VI_D.peer.203.0.113.9"] {
            #expect(after[id]?["severity"] as? String == "ok", "\(id): \(after[id] ?? [:])")
        }
    }

    @Test("Without CAP_NET_ADMIN and CAP_NET_RAW (setpriv), both are errors; a held status port is an error")
    func capabilitiesAndStatusPort() throws {
        let ns = try DoctorNamespace()
        let (_, dropped) = try Self.findings(ns, prefix: ["/usr/bin/setpriv", "--bounding-set=-net_admin,-net_raw",
                                                          "--inh-caps=-net_admin,-net_raw"])
        #expect(dropped["capability.net_admin"]?["severity"] as? String == "error")
        #expect(dropped["capability.net_raw"]?["severity"] as? String == "error")
        // A listener in the namespace on the status port (python3's socket module, one second).
        let vigil = try #require(Lab.builtProduct("vigil"))
        let conf = try ns.write("keepalived.conf", Self.config)
        let script = """
        import socket, subprocess, sys
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 9901)); s.listen(1)
        r = subprocess.run([sys.argv[1], "doctor", "-f", sys.argv[2]], capture_output=True, text=True)
        print(r.stdout)
        """
        let (_, out) = ns.run(["/usr/bin/python3", "-c", script, vigil, conf])
        #expect(out.contains("error   status.address"), "\(out)")
        #expect(out.contains("fix: ss -ltnp 'sport = :9901'"))
    }

    @Test("A router in another namespace advertising the same VRID with another VIP is an error once heard")
    func conflictingRouter() async throws {
        let ns = try DoctorNamespace()
        let peer = "\(ns.name)-peer"
        #expect(Lab.run("/sbin/ip", ["netns", "add", peer]) == 0)
        defer { _ = Lab.run("/sbin/ip", ["netns", "del", peer]) }
        for command in [["-n", ns.name, "link", "set", "vd1", "netns", peer], ["-n", peer, "addr", "add", "192.0.2.2/24", "dev", "vd1"],
                        ["-n", peer, "link", "set", "vd1", "up"], ["-n", peer, "link", "set", "lo", "up"]] {
            #expect(Lab.run("/sbin/ip", command) == 0, "ip \(command)")
        }
        let vigil = try #require(Lab.builtProduct("vigil"))
        let conf = try ns.write("peer.conf", """
        vrrp_instance OTHER {
            state MASTER
            interface vd1
            virtual_router_id 52
            priority 200
            advert_int 1
            virtual_ipaddress {
                192.0.2.222/32
            }
        }
        """)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: "/sbin/ip")
        daemon.arguments = ["netns", "exec", peer, vigil, "-n", "-G", "-P", "-f", conf, "--status-address", "none", "--control-socket", "none"]
        daemon.standardOutput = FileHandle.nullDevice
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        defer {
            daemon.terminate()
            daemon.waitUntilExit()
        }
        var finding: [String: Any] = [:]
        for _ in 0..<8 {
            let (_, f) = try Self.findings(ns)
            finding = f["vrrp.VI_D.vrid"] ?? [:]
            if finding["severity"] as? String == "error" { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(finding["severity"] as? String == "error", "\(finding)")
        #expect((finding["message"] as? String)?.contains("192.0.2.2 already advertises VRID 52") == true, "\(finding)")
        #expect((finding["message"] as? String)?.contains("[192.0.2.222]") == true, "\(finding)")
    }
}
